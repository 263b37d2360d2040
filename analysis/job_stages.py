"""The analysis as a job kind of the runner: load -> the pipeline's stages -> store, over one campaign.

`load` reads the campaign's ratings through annotation's published frame and keeps them as a
Parquet artifact of the job; each pipeline stage reads that file (the reasons' texts only where
needed: Parquet reads single columns) and stores its JSON output as the run's StageResult, which
the dashboards read; `store` writes the run's summary and removes the ratings file. Every stage
overwrites what it writes, so a stage run again after a worker crash leaves one result.
"""
from __future__ import annotations

import time

from django.db import transaction

from annotation import contract
from annotation.errors import ApplicationError
from jobs.registry import JobKind, Stage
from jobs.services import StageContext

from . import pipeline, selectors, withdrawals
from .models import AnalysisRun, StageResult

LOAD, STORE = "load", "store"
RATINGS = "ratings"  # the artifact holding the run's ratings frame


def _run_of(ctx: StageContext) -> AnalysisRun:
    return AnalysisRun.objects.select_related("campaign", "job").get(job_id=ctx.job.pk)


def _output_store(run: AnalysisRun, stage: str, output: dict, started: float) -> None:
    """Store a stage's output, under the run's row lock and without annotators who withdrew since
    the run started (the stage may have read their ratings before the withdrawal rewrote the run)."""
    with transaction.atomic():
        AnalysisRun.objects.select_for_update().filter(pk=run.pk).first()
        StageResult.objects.update_or_create(
            run=run, stage=stage, defaults={"output": withdrawals.output_without_withdrawn(run, output),
                                            "seconds": round(time.perf_counter() - started, 4)}
        )


def stage_load(ctx: StageContext) -> None:
    """Read the campaign's ratings (exclusions removed) into the job's artifacts; record what was read."""
    started = time.perf_counter()
    run = _run_of(ctx)
    excluded = selectors.campaign_excluded_annotators(run.campaign)
    frame = selectors.campaign_pipeline_frame(run.campaign, exclude=excluded)
    with transaction.atomic():  # as _output_store: a withdrawal since the read is not written back
        AnalysisRun.objects.select_for_update().filter(pk=run.pk).first()
        frame = withdrawals.frame_without_withdrawn(run, frame)
        ctx.artifacts.frame_write(RATINGS, frame)
    last = contract.campaign_last_rating_at(run.campaign)
    inputs = {
        "ratings": int(len(frame)),
        "qualified_ratings": int(frame["qualified"].sum()) if len(frame) else 0,
        "annotators": int(frame["annotator"].nunique()) if len(frame) else 0,
        "videos": int(frame["video"].nunique()) if len(frame) else 0,
        "excluded_annotators": len(excluded),
        "last_rating_at": last.isoformat() if last else None,
    }
    ctx.inputs_record(inputs)
    _output_store(run, LOAD, {"inputs": inputs}, started)


def _pipeline_stage(step: pipeline.Stage):
    def run_step(ctx: StageContext) -> None:
        started = time.perf_counter()
        run = _run_of(ctx)
        columns = None
        if not step.needs_text:
            columns = [c for c in ctx.artifacts.frame_columns(RATINGS) if c not in pipeline.TEXT_COLUMNS]
        ratings = ctx.artifacts.frame_read(RATINGS, columns=columns)
        if ratings.empty:
            raise ApplicationError("no_ratings", "This campaign has no ratings of regular videos yet; nothing to analyse.")
        _output_store(run, step.name, pipeline.run_stage(step.name, ratings, ctx.params), started)

    run_step.__name__ = f"stage_{step.name}"
    run_step.__doc__ = f"The pipeline's {step.name} stage over the job's ratings; its output stored as the run's StageResult."
    return run_step


def stage_store(ctx: StageContext) -> None:
    """Write the run's headline numbers from its stored stage outputs; drop the ratings file."""
    started = time.perf_counter()
    run = _run_of(ctx)
    ctx.summary_record(pipeline.summary(selectors.run_results(run)))
    _output_store(run, STORE, {}, started)
    ctx.artifacts.clear()


ANALYSIS = JobKind(
    name="analysis",
    stages=(Stage(LOAD, stage_load), *(Stage(s.name, _pipeline_stage(s)) for s in pipeline.STAGES), Stage(STORE, stage_store)),
    parameters=pipeline.Parameters,
    code_version=pipeline.code_version,
)
STAGE_NAMES = ANALYSIS.stage_names
