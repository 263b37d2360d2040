"""State changes of the dataset exports: starting one (a job of kind "export"), and running one in this process."""
from __future__ import annotations

from collections.abc import Callable

from annotation import contract
from annotation.errors import ApplicationError
from annotation.models import Campaign
from jobs import services as job_services
from jobs.models import Job

from ..services import campaign_subject
from . import splits
from .parameters import ExportParameters
from .stages import EXPORT, REAL_METHOD, ROLES, progress_to


def export_start(*, campaign: Campaign, parameters: dict | None = None, user=None, enqueue=None) -> Job:
    """Create the next version of the campaign's export and queue its stages once the transaction commits.

    Returns the job (queued). Refused with ApplicationError: ill-typed or unknown parameters
    ("bad_parameters"), and splits the campaign's videos cannot give ("bad_splits": fewer than
    two identity pairs or methods, or training counts that hold none out). `enqueue(job_id)`
    queues the stages; the default is the job runner's (Celery, or in-process without a broker).
    """
    try:
        params = ExportParameters.from_dict(parameters)
    except (TypeError, ValueError) as exc:
        raise ApplicationError("bad_parameters", f"The export parameters are not valid: {exc}.")
    if params.splits:
        _splits_check(campaign, params)
    return job_services.job_create(kind=EXPORT.name, subject=campaign_subject(campaign), parameters=params.as_dict(),
                                   user=user, enqueue=enqueue)


def _splits_check(campaign: Campaign, params: ExportParameters) -> None:
    """Refuse at once what the splits stage would fail on, judged on all the campaign's videos (rated or not)."""
    videos = contract.campaign_videos_frame(campaign)
    videos = videos[videos["role"].isin([str(r) for r in ROLES])]
    methods = videos["method"].astype(str).where(videos["method"].astype(str) != "", videos["is_real"].map({True: REAL_METHOD, False: ""}))
    within = (videos["identity_pair"].astype(str) != "") & (methods != "")
    pairs, kinds = videos.loc[within, "identity_pair"].astype(str).nunique(), methods[within].nunique()
    for what, count, asked, share in (("identity pairs", pairs, params.train_pairs, (splits.PAPER_TRAIN_PAIRS, splits.PAPER_PAIRS)),
                                       ("methods", kinds, params.train_methods, (splits.PAPER_TRAIN_METHODS, splits.PAPER_METHODS))):
        if count < 2:
            raise ApplicationError("bad_splits", f"The campaign's videos have {count} {what}; a split needs at least two. "
                                                 "Export with 0 splits, or label the videos.")
        if asked is not None and asked >= count:
            raise ApplicationError("bad_splits", f"Training on {asked} of {count} {what} holds none out; choose at most {count - 1}.")


def export_run_here(job: Job, *, report: Callable[[str, int], None] | None = None,
                    on_stage: Callable[[str], None] | None = None) -> Job:
    """Run every stage of an export job in this process, in order (no broker: `manage.py export_dataset`).

    Returns the job, reloaded. A stage that raises marks the job failed (its files removed) and
    the error propagates. `report(stage, amount)` hears the work inside stages (ratings read,
    files copied); `on_stage(name)` is called as each stage starts.
    """
    with progress_to(report or (lambda stage, amount: None)):
        return job_services.job_run_here(job, on_stage=on_stage)


def export_progress(job: Job) -> dict:
    """How far an export got: id, version, status, stage, stages done of total, error."""
    return job_services.job_progress(job)
