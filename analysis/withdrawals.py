"""After a consent withdrawal: no per-annotator row of the person survives in analysis results or exports.

`annotation.services.annotator_withdraw` deletes the person's rows and sends
`annotation.signals.annotator_withdrawn` in its transaction; `results_of_withdrawn_remove` (its
receiver, connected in apps.py) then, in the same transaction:

- rewrites every analysis run of the campaign without the person: each stage's stored output loses
  the rows of its per-annotator tables (the subject model's annotators, the groups' false-negative
  rates with demographics, the reasons flagged with their texts, the flagged share per annotator),
  and the run's artifacts (the ratings Parquet of a run still going) lose the person's ratings. The
  aggregates (MOS, SOS, split-half consistency, group tests) are left as computed: they describe
  videos and groups, not the person, and recomputing them is a new run. A run whose data may have
  held the person counts them in `AnalysisRun.withdrawn_after`; the dashboard then says that its
  aggregates still include withdrawn annotators and that a new run gives exact statistics;
- deletes the files of the exports that may hold the person's ratings (selectors.
  withdrawal_affected_exports): an export is a dataset whose manifest carries the SHA-256 of every
  file and that others may have copied and checked, so it is not rewritten behind their back but
  removed, and the withdrawals page says so (make a new export); an export still running is failed
  (jobs.services.job_fail removes its files).

A stage of a run that was going when the person withdrew may have read their ratings before the
deletion: it writes its output (and the load stage its ratings file) under the run's row lock, which
the receiver takes too, and leaves out annotators withdrawn since the run started
(`output_without_withdrawn`), so the rows cannot come back behind the rewrite.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from django.db.models import F

from annotation.models import Annotator, Campaign, Withdrawal
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.artifacts import FRAME_SUFFIX, JSON_SUFFIX, ArtifactStore
from jobs.models import Job

from .models import AnalysisRun, StageResult

# The column that names the annotator in the pipeline's per-annotator tables and ratings frames.
ANNOTATOR = "annotator"


# --- Pure: the person's rows out of a stage output ----------------------------------------------


def _is_table(value) -> bool:
    """A columnar table of a stage output: {column: list}, all of one length, one column "annotator"."""
    if not isinstance(value, dict) or not isinstance(value.get(ANNOTATOR), list):
        return False
    n = len(value[ANNOTATOR])
    return all(isinstance(column, list) and len(column) == n for column in value.values())


def annotator_ids_in(value) -> set[int]:
    """Every annotator id of the per-annotator tables anywhere in a stage output."""
    if _is_table(value):
        return {int(a) for a in value[ANNOTATOR] if a is not None}
    if isinstance(value, dict):
        return set().union(*(annotator_ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(annotator_ids_in(v) for v in value if isinstance(v, (dict, list)))) if value else set()
    return set()


def without_annotators(value, ids: Iterable[int]):
    """A stage output without the rows of annotators `ids` in any of its per-annotator tables.

    Returns (the output, rows removed); the output is a new object where anything was removed."""
    gone = {int(i) for i in ids}
    if not gone:
        return value, 0
    if _is_table(value):
        keep = [i for i, a in enumerate(value[ANNOTATOR]) if a is None or int(a) not in gone]
        removed = len(value[ANNOTATOR]) - len(keep)
        if not removed:
            return value, 0
        return {name: [column[i] for i in keep] for name, column in value.items()}, removed
    if isinstance(value, dict):
        out, removed = {}, 0
        for key, item in value.items():
            out[key], n = without_annotators(item, gone)
            removed += n
        return (out, removed) if removed else (value, 0)
    if isinstance(value, list):
        items = [without_annotators(item, gone) for item in value]
        removed = sum(n for _, n in items)
        return ([item for item, _ in items], removed) if removed else (value, 0)
    return value, 0


# --- The run's stages: what they write leaves out the withdrawn ------------------------------------


def _withdrawn_since(campaign: Campaign, since: datetime | None) -> bool:
    return Withdrawal.objects.filter(campaign=campaign, withdrawn_at__gte=since).exists() if since else False


def _gone(ids: set[int]) -> set[int]:
    return ids - set(Annotator.objects.filter(pk__in=ids).values_list("pk", flat=True))


def output_without_withdrawn(run: AnalysisRun, output: dict) -> dict:
    """A stage's output without annotators who withdrew since the run started (one cheap query
    when no one did). Called under the run's row lock (job_stages)."""
    if not _withdrawn_since(run.campaign, run.job.created_at):
        return output
    return without_annotators(output, _gone(annotator_ids_in(output)))[0]


def frame_without_withdrawn(run: AnalysisRun, frame: pd.DataFrame) -> pd.DataFrame:
    """A ratings frame without the ratings of annotators who withdrew since the run started."""
    if ANNOTATOR not in frame.columns or not _withdrawn_since(run.campaign, run.job.created_at):
        return frame
    gone = _gone({int(a) for a in frame[ANNOTATOR].unique()})
    return frame[~frame[ANNOTATOR].astype("int64").isin(gone)] if gone else frame


def _artifacts_rewrite(store: ArtifactStore, annotator_id: int) -> int:
    """The job's Parquet and JSON artifacts without the annotator's rows; returns rows removed."""
    removed = 0
    for name in store.names():
        stem = name.rsplit(".", 1)[0]
        if name.endswith(FRAME_SUFFIX):
            if ANNOTATOR not in store.frame_columns(stem):
                continue
            frame = store.frame_read(stem)
            mine = frame[ANNOTATOR].astype("int64") == annotator_id
            if mine.any():
                store.frame_write(stem, frame[~mine])
                removed += int(mine.sum())
        elif name.endswith(JSON_SUFFIX):
            data, n = without_annotators(store.json_read(stem), [annotator_id])
            if n:
                store.json_write(stem, data)
                removed += n
    return removed


# --- The receiver ------------------------------------------------------------------------------------


def results_of_withdrawn_remove(*, withdrawal: Withdrawal, annotator_id: int, **_) -> dict:
    """Remove the withdrawn annotator's rows from the campaign's analysis runs and its exports (see
    the module's docstring). Runs inside the withdrawal's transaction. Returns what it did:
    {"runs_rewritten": [versions], "rows_removed": n, "exports_deleted": [versions], "exports_failed": [versions]}."""
    from .selectors import EXPORT_KIND, withdrawal_affected_exports, withdrawal_affected_runs

    campaign = withdrawal.campaign
    affected = set(withdrawal_affected_runs(withdrawal).values_list("pk", flat=True))
    rewritten, rows = [], 0
    runs = (AnalysisRun.objects.select_for_update(of=("self",)).filter(campaign=campaign)
            .select_related("job").order_by("pk"))
    for run in runs:
        removed = 0
        for result in StageResult.objects.filter(run=run):
            output, n = without_annotators(result.output, [annotator_id])
            if n:
                result.output = output
                result.save(update_fields=["output"])
                removed += n
        removed += _artifacts_rewrite(ArtifactStore.for_job(run.job), annotator_id)
        if removed or run.pk in affected:
            AnalysisRun.objects.filter(pk=run.pk).update(withdrawn_after=F("withdrawn_after") + 1)
            rewritten.append(run.version)
        rows += removed
    deleted = []
    for job in withdrawal_affected_exports(withdrawal):
        store = ArtifactStore.for_job(job)
        if store.folder.exists():
            store.clear()
            deleted.append(job.version)
    failed = []
    going = Job.objects.filter(kind=EXPORT_KIND, subject=job_selectors.campaign_subject(campaign.pk),
                               status__in=[Job.Status.QUEUED, Job.Status.RUNNING], created_at__lt=withdrawal.withdrawn_at)
    for job in going:
        job_services.job_fail(job_id=job.pk, stage=job.stage or "queue",
                              error="An annotator withdrew consent while this export was being made; make a new export.")
        failed.append(job.version)
    return {"runs_rewritten": rewritten, "rows_removed": rows, "exports_deleted": deleted, "exports_failed": failed}
