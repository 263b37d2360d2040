"""Read-only queries of the analysis app: ratings as the pipeline's frame, runs and their results, monitor data.

Ratings are read through annotation's published frame (annotation.contract), never its tables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotation import checkers, contract
from annotation.models import AnnotationSession, Attempt, Campaign, Rating, Video, Withdrawal
from annotation.selectors import records
from jobs import selectors as job_selectors
from jobs.models import Job

from .models import AnalysisRun, AnnotatorExclusion

# The contract's columns the pipeline reads, under the pipeline's names (analysis.pipeline.RATING_COLUMNS).
_PIPELINE_NAMES = {
    "video": "video",
    "annotator": "annotator",
    "score": "score",
    "attempt": "attempt",
    "qualified": "qualified",
    "is_real": "is_fake",  # negated below
    "seconds_spent": "seconds",
    "age_group": "age",
    "gender": "gender",
    "education": "education",
    "prior_knowledge": "prior_knowledge",
    "reason": "reason",
    "typed_reason": "typed_reason",
    "identity_pair": "content",
    "created_at": "day",  # its date, below
}


def campaign_excluded_annotators(campaign: Campaign) -> list[int]:
    return list(AnnotatorExclusion.objects.filter(campaign=campaign).values_list("annotator_id", flat=True))


def annotator_exclusion(campaign: Campaign, annotator) -> AnnotatorExclusion | None:
    """The annotator's exclusion from the campaign's analyses, or None when they are included."""
    return AnnotatorExclusion.objects.filter(campaign=campaign, annotator=annotator).first()


def campaign_pipeline_frame(campaign: Campaign, *, exclude: list[int] | None = None) -> pd.DataFrame:
    """Every rating of the campaign's regular videos, all attempts, one row each, under the pipeline's column names.

    Returns the frame the analysis stages take (analysis.pipeline.RATING_COLUMNS): excluded
    annotators' ratings left out (the campaign's exclusions unless `exclude` names others).
    """
    exclude = campaign_excluded_annotators(campaign) if exclude is None else exclude
    ratings = contract.campaign_ratings_frame(
        campaign, roles=[Video.Role.REGULAR], exclude_annotators=exclude, columns=list(_PIPELINE_NAMES)
    )
    frame = ratings.rename(columns=_PIPELINE_NAMES)
    frame["is_fake"] = ~frame["is_fake"].to_numpy(dtype=bool)
    # The day of each rating as text, a calendar day in the server's time zone as every per-day count
    # (`_day`); computed per distinct day, not per rating.
    local = frame["day"].dt.tz_convert(timezone.get_default_timezone_name()).dt.normalize()
    frame["day"] = pd.Categorical(local).rename_categories(lambda day: day.strftime("%Y-%m-%d"))
    return frame


def campaign_latest_run(campaign: Campaign, *, completed: bool = True) -> AnalysisRun | None:
    """The campaign's newest run (completed ones only, by default), with its job, or None."""
    runs = AnalysisRun.objects.filter(campaign=campaign).select_related("job")
    if completed:
        runs = runs.filter(job__status=AnalysisRun.Status.COMPLETED)
    return runs.order_by("-job__version").first()


def campaign_runs_query(campaign: Campaign) -> QuerySet[AnalysisRun]:
    """Every run of the campaign, newest first, with its job."""
    return AnalysisRun.objects.filter(campaign=campaign).select_related("job").order_by("-job__version")


def campaign_runs(campaign: Campaign, *, limit: int = 10) -> list[AnalysisRun]:
    """The campaign's newest runs, newest first, with their jobs."""
    return list(campaign_runs_query(campaign)[:limit])


def campaign_run(campaign: Campaign, version: int) -> AnalysisRun | None:
    """The campaign's run of that version, with its job, or None."""
    return campaign_runs_query(campaign).filter(job__version=version).first()


def run_results(run: AnalysisRun) -> dict:
    """The merged outputs of a run's stages."""
    merged: dict = {}
    for output in run.stage_results.values_list("output", flat=True):
        merged.update(output)
    return merged


def run_stage_seconds(run: AnalysisRun) -> dict[str, float]:
    """Seconds of each finished stage of the run, in stage order (as the job runner recorded them)."""
    return job_selectors.job_stage_seconds(run.job)


# The job kind of dataset exports; an export's subject is its campaign's, "campaign:<id>", as an analysis's.
EXPORT_KIND = "export"


def withdrawal_affected_exports(withdrawal: Withdrawal) -> QuerySet[Job]:
    """The completed exports of the withdrawal's campaign that may hold the annotator's data, oldest first.

    Those that finished after the annotator's first rating and had started before the withdrawal:
    an export running at that moment may have read their ratings before they were deleted. None
    when the annotator had no rating.
    """
    if withdrawal.first_rating_at is None:
        return Job.objects.none()
    return Job.objects.filter(
        kind=EXPORT_KIND, subject=f"campaign:{withdrawal.campaign_id}", status=Job.Status.COMPLETED,
        finished_at__gte=withdrawal.first_rating_at, started_at__lt=withdrawal.withdrawn_at,
    ).order_by("version")


def withdrawal_affected_runs(withdrawal: Withdrawal) -> QuerySet[AnalysisRun]:
    """The analysis runs of the withdrawal's campaign that may have held the annotator's data, oldest
    first: made before the withdrawal and not finished before the annotator's first rating (the
    exports' rule; a run still going counts). analysis.withdrawals rewrote them without the person."""
    if withdrawal.first_rating_at is None:
        return AnalysisRun.objects.none()
    return (AnalysisRun.objects.filter(campaign_id=withdrawal.campaign_id, job__created_at__lt=withdrawal.withdrawn_at)
            .filter(Q(job__finished_at__isnull=True) | Q(job__finished_at__gte=withdrawal.first_rating_at))
            .select_related("job").order_by("job__version"))


def campaign_withdrawals(campaign: Campaign) -> list[tuple[Withdrawal, list[Job], list[AnalysisRun]]]:
    """The campaign's withdrawals, newest first, each with the exports (their files deleted) and the
    analysis runs (rewritten without the person) it affected."""
    withdrawals = Withdrawal.objects.filter(campaign=campaign).select_related("requested_by").order_by("-withdrawn_at")
    return [(w, list(withdrawal_affected_exports(w)), list(withdrawal_affected_runs(w))) for w in withdrawals]


def video_labels(campaign: Campaign) -> pd.DataFrame:
    """Researcher-side labels of the campaign's videos, indexed by video id."""
    return contract.campaign_videos_frame(campaign)[["source_name", "identity_pair", "method", "is_real", "role"]]


# --- Live monitor -----------------------------------------------------------------------------


# Every per-day count of the dashboards uses these days: calendar days in the server's time zone
# (settings.TIME_ZONE, also the zone of every page's dates), whatever zone a request activated.
def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_default_timezone())


def monitor_activity_per_day(campaign: Campaign) -> pd.DataFrame:
    """Per calendar day (`_day`), every day from the first to the last with activity, zeros included:
    sessions started, attempts finished, and of those the qualified and the disqualified ones.

    One definition for every per-day chart: an event counts on the day it happened. A session counts
    on the day it started; an attempt on the day the annotator finished it (abandoned attempts, closed
    by the idle timeout, are not finished ones and count nowhere). A session qualifies when its
    qualifying attempt finishes, so `qualified` is both the day's qualified attempts and its newly
    qualified sessions. Columns: day (date), sessions_started, finished, qualified, disqualified,
    disqualification_rate (NaN on a day without finished attempts).
    """
    started = dict(
        AnnotationSession.objects.filter(campaign=campaign).annotate(day=_day("started_at"))
        .values("day").annotate(n=Count("id")).order_by().values_list("day", "n")
    )
    finished = {
        day: (qualified, disqualified)
        for day, qualified, disqualified in Attempt.objects.filter(
            session__campaign=campaign, outcome__in=[Attempt.Outcome.QUALIFIED, Attempt.Outcome.DISQUALIFIED],
            finished_at__isnull=False,
        ).annotate(day=_day("finished_at")).values("day").annotate(
            qualified=Count("id", filter=Q(outcome=Attempt.Outcome.QUALIFIED)),
            disqualified=Count("id", filter=Q(outcome=Attempt.Outcome.DISQUALIFIED)),
        ).order_by().values_list("day", "qualified", "disqualified")
    }
    columns = ["day", "sessions_started", "finished", "qualified", "disqualified", "disqualification_rate"]
    days = set(started) | set(finished)
    if not days:
        return pd.DataFrame(columns=columns)
    every_day = pd.date_range(min(days), max(days), freq="D").date
    frame = pd.DataFrame({
        "day": every_day,
        "sessions_started": [started.get(day, 0) for day in every_day],
        "qualified": [finished.get(day, (0, 0))[0] for day in every_day],
        "disqualified": [finished.get(day, (0, 0))[1] for day in every_day],
    })
    frame["finished"] = frame["qualified"] + frame["disqualified"]
    frame["disqualification_rate"] = frame["disqualified"] / frame["finished"].where(frame["finished"] > 0)
    return frame[columns]


def monitor_checker_accuracy(campaign: Campaign) -> pd.DataFrame:
    """Per annotator: checkers rated, and the share passed by the checker rule (annotation.checkers)."""
    frame = contract.campaign_ratings_frame(campaign, roles=[Video.Role.CHECKER], columns=["annotator", "score", "gold_score"])
    if frame.empty:
        return pd.DataFrame(columns=["annotator", "checkers", "accuracy"])
    frame["hit"] = ~checkers.checker_misses(frame["score"], frame["gold_score"], campaign.checker_tolerance)
    return frame.groupby("annotator").agg(checkers=("hit", "size"), accuracy=("hit", "mean")).reset_index()


def monitor_ratings_per_video(campaign: Campaign) -> pd.DataFrame:
    rows = (
        campaign.videos.filter(role=Video.Role.REGULAR)
        .annotate(qualified=Count("ratings", filter=Q(ratings__attempt__outcome=Attempt.Outcome.QUALIFIED)))
        .values_list("id", "qualified")
    )
    return pd.DataFrame.from_records(list(rows), columns=["video", "qualified"])


def monitor_seconds_per_video(campaign: Campaign) -> pd.Series:
    """Seconds from delivery to submit of every rating of a regular video."""
    frame = contract.campaign_ratings_frame(campaign, roles=[Video.Role.REGULAR], columns=["seconds_spent"])
    return frame["seconds_spent"].rename("seconds").astype(float)


def chart_context(campaign: Campaign, *, monitor: bool):
    """The inputs of the dashboards' charts: the latest completed run's results, and live queries."""
    from .figures import Context

    run = campaign_latest_run(campaign)
    frames = {}
    if monitor:
        frames = {
            "ratings_per_video": monitor_ratings_per_video(campaign),
            "activity_per_day": monitor_activity_per_day(campaign),
            "checker_accuracy": monitor_checker_accuracy(campaign),
            "seconds_per_video": monitor_seconds_per_video(campaign),
        }
    return run, Context(results=run_results(run) if run else {}, monitor=frames, target=campaign.target_ratings_per_video,
                        labels=demographic_labels())


def demographic_labels() -> dict[str, dict[str, str]]:
    """The demographics form's answers per attribute (the pipeline's names), value -> label, in the form's
    order: what annotators saw and chose from, so figures name groups with the same words. Labels are
    plain strings in the active language (staff pages and jobs: English), not the form's lazy ones."""
    from annotation.forms import DemographicsForm

    form = DemographicsForm()
    return {name: {value: str(label) for value, label in form.fields[field].choices} for field, name in _PIPELINE_NAMES.items() if field in form.fields}


# --- One video's page -------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoRecord:
    """A video with every rating it got (all attempts), and its opinion score over those the analysis keeps."""

    video: Video
    ratings: list[Rating]  # with attempt and session, in rating order
    excluded: frozenset[int]  # annotators excluded from the campaign's analyses
    kept: int  # ratings in qualified attempts of included annotators: what the MOS below is over
    mos: float | None
    sos: float | None


def video_record(campaign: Campaign, video_id: int) -> VideoRecord | None:
    """The campaign's video of that id with its ratings and reasons, or None when it has no such video.

    The MOS and SOS are live, over the ratings the analysis would keep (qualified attempts, excluded
    annotators left out), so they match the next run, not necessarily the latest one.
    """
    video = campaign.videos.filter(pk=video_id).first()
    if video is None:
        return None
    ratings = list(records.campaign_ratings(campaign).filter(video=video))
    excluded = frozenset(campaign_excluded_annotators(campaign))
    kept = np.array([r.score for r in ratings
                     if r.attempt.outcome == Attempt.Outcome.QUALIFIED and r.attempt.session.annotator_id not in excluded], dtype=float)
    return VideoRecord(
        video=video, ratings=ratings, excluded=excluded, kept=int(kept.size),
        mos=float(kept.mean()) if kept.size else None,
        sos=float(kept.std(ddof=1)) if kept.size > 1 else None,
    )
