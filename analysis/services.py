"""State changes of the analysis app: starting runs, executing and recording their stages, exclusions.

A run moves queued -> running -> completed, or -> failed at the stage that raised. Stage outputs
are stored one row per stage, so a stage re-run after a worker crash simply overwrites its row.
The ratings frame is loaded once per run and kept in a pickle in the run's work folder, which the
stages of the run read (workers on several hosts share that folder as a volume).
"""
from __future__ import annotations

import pickle
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.errors import ApplicationError
from annotation.models import Annotator, Campaign

from . import pipeline, selectors
from .models import AnalysisRun, AnnotatorExclusion, StageResult

LOAD, STORE = "load", "store"
ALL_STAGES = (LOAD, *pipeline.STAGE_NAMES, STORE)


def run_work_dir(run_id: int) -> Path:
    return Path(settings.ANALYSIS_WORK_DIR) / f"run-{run_id}"


@transaction.atomic
def analysis_run_start(
    *, campaign: Campaign, trigger: str = AnalysisRun.Trigger.DASHBOARD, user=None, parameters: dict | None = None, enqueue=None
) -> AnalysisRun:
    """Create the next version of the campaign's analysis and queue its stages once committed.

    `enqueue(run_id)` queues the stages; the default is `tasks.enqueue_run` with the project's app.
    """
    try:
        params = pipeline.Parameters.from_dict(parameters)
    except (TypeError, ValueError) as exc:
        raise ApplicationError("bad_parameters", f"The analysis parameters are not valid: {exc}.")
    # Serializes version numbers; NO KEY: a new annotator's insert (its foreign-key check) need not wait.
    Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    last = AnalysisRun.objects.filter(campaign=campaign).order_by("-version").values_list("version", flat=True).first()
    run = AnalysisRun.objects.create(
        campaign=campaign,
        version=(last or 0) + 1,
        trigger=trigger,
        parameters=params.as_dict(),
        code_version=pipeline.code_version(),
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    if enqueue is None:
        from .tasks import enqueue_run as enqueue  # tasks import services; imported here to keep the cycle one-way
    transaction.on_commit(lambda: enqueue(run.pk))
    return run


def run_stage_execute(*, run_id: int, stage: str) -> None:
    """Execute one stage of a run (idempotent). A failed run's remaining stages do nothing."""
    run = AnalysisRun.objects.select_related("campaign").get(pk=run_id)
    if run.status in (AnalysisRun.Status.FAILED, AnalysisRun.Status.COMPLETED):
        return
    AnalysisRun.objects.filter(pk=run_id).update(
        status=AnalysisRun.Status.RUNNING, stage=stage, started_at=run.started_at or timezone.now()
    )
    started = time.perf_counter()
    work = run_work_dir(run_id)
    if stage == LOAD:
        frame = selectors.campaign_ratings_frame(run.campaign)
        _frame_save(work, frame)
        last = selectors.campaign_last_rating_at(run.campaign)
        output = {"inputs": {
            "ratings": int(len(frame)),
            "qualified_ratings": int(frame["qualified"].sum()) if len(frame) else 0,
            "annotators": int(frame["annotator"].nunique()) if len(frame) else 0,
            "videos": int(frame["video"].nunique()) if len(frame) else 0,
            "excluded_annotators": len(selectors.campaign_excluded_annotators(run.campaign)),
            "last_rating_at": last.isoformat() if last else None,
        }}
        AnalysisRun.objects.filter(pk=run_id).update(inputs=output["inputs"])
    elif stage == STORE:
        results = selectors.run_results(run)
        output = {}
        AnalysisRun.objects.filter(pk=run_id).update(
            status=AnalysisRun.Status.COMPLETED, stage="", summary=pipeline.summary(results), finished_at=timezone.now()
        )
        shutil.rmtree(work, ignore_errors=True)
    else:
        params = pipeline.Parameters.from_dict(run.parameters)
        frame = _frame_load(work, with_text=pipeline.stage_named(stage).needs_text)
        if frame.empty:
            raise ApplicationError("no_ratings", "This campaign has no ratings of regular videos yet; nothing to analyse.")
        output = pipeline.run_stage(stage, frame, params)
    StageResult.objects.update_or_create(
        run_id=run_id, stage=stage, defaults={"output": output, "seconds": round(time.perf_counter() - started, 4)}
    )


def _frame_save(work: Path, frame) -> None:
    """Keep the run's ratings for its stages: texts apart, since only one stage reads them."""
    work.mkdir(parents=True, exist_ok=True)
    text = [c for c in pipeline.TEXT_COLUMNS if c in frame.columns]
    for name, part in (("core", frame.drop(columns=text)), ("text", frame[text])):
        tmp = work / f"{name}.pkl.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(part, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(work / f"{name}.pkl")


def _frame_load(work: Path, *, with_text: bool):
    with open(work / "core.pkl", "rb") as handle:
        frame = pickle.load(handle)
    if with_text:
        with open(work / "text.pkl", "rb") as handle:
            frame = frame.join(pickle.load(handle))
    return frame


def run_fail(*, run_id: int, stage: str, error: str) -> None:
    AnalysisRun.objects.filter(pk=run_id).exclude(status=AnalysisRun.Status.COMPLETED).update(
        status=AnalysisRun.Status.FAILED, stage=stage, error=error[:5000], finished_at=timezone.now()
    )
    shutil.rmtree(run_work_dir(run_id), ignore_errors=True)


def run_progress(run: AnalysisRun) -> dict:
    done = run.stage_results.count()
    return {
        "id": run.pk, "version": run.version, "status": run.status, "stage": run.stage,
        "done": done, "total": len(ALL_STAGES), "error": run.error,
    }


@transaction.atomic
def exclusion_add(*, campaign: Campaign, annotator: Annotator, user=None, reason: str = "") -> AnnotatorExclusion:
    if annotator.campaign_id != campaign.pk:
        raise ApplicationError("wrong_campaign", "This annotator belongs to another campaign.")
    exclusion, _ = AnnotatorExclusion.objects.get_or_create(
        campaign=campaign, annotator=annotator, defaults={"reason": reason[:300], "created_by": user}
    )
    return exclusion


@transaction.atomic
def exclusion_remove(*, campaign: Campaign, annotator: Annotator) -> None:
    AnnotatorExclusion.objects.filter(campaign=campaign, annotator=annotator).delete()


def campaigns_needing_analysis() -> list[Campaign]:
    """Open campaigns whose newest rating is newer than what their latest run saw."""
    due = []
    for campaign in Campaign.objects.filter(is_open=True):
        last = selectors.campaign_last_rating_at(campaign)
        if last is None:
            continue
        run = AnalysisRun.objects.filter(campaign=campaign).exclude(status=AnalysisRun.Status.FAILED).order_by("-version").first()
        if run is None or (run.status == AnalysisRun.Status.COMPLETED and (run.inputs.get("last_rating_at") or "") < last.isoformat()):
            due.append(campaign)
    return due
