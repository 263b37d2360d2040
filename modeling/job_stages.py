"""Training and benchmarks as job kinds of the runner ("train", "benchmark"), on their own Celery queue.

Both read a completed export job's folder (analysis.export) and run on settings.TRAINING_QUEUE,
which only the training workers consume (config/settings.py). Their stages:

    frames      make the face crops the export lacks (modeling.frames.extract, under a lock per export)
    train       modeling.protocol.split_run, the model folder written by modeling.serving.model_save
                under MODELS_ROOT/<name>
    register    the TrainedModel row of the job (one per job: a stage run again updates it)
    benchmark   modeling.protocol.benchmark into the job's folder (resumable: a worker killed midway
                leaves its finished rows, which the stage run again reuses); Table II and V as
                the job's `table2` and `rows` artifacts, and the reports beside them

Progress goes to the job's summary as it happens ({"progress": {"stage", "done", "total"}}, at
most a write a second), so the API and the dashboard show it live.
"""
from __future__ import annotations

import fcntl
import functools
import re
import shutil
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from analysis.export import selectors as export_selectors
from annotation.errors import ApplicationError
from jobs.models import Job
from jobs.registry import JobKind, Stage
from jobs.services import StageContext

from .data.export import ExportData
from .frames.extract import DONE_MARKER, FRAMES_DIR, FrameSettings, export_frames_extract

TRAIN, BENCHMARK = "train", "benchmark"
CONFIG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
MAX_CONFIGS, MAX_SPLITS = 30, 100
DEVICE = re.compile(r"^(auto|cpu|cuda(:\d{1,2})?)$")
PROGRESS_EVERY_S = 1.0


def _whole(name: str, value, *, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be a whole number from {low}{f' to {high}' if high is not None else ''}, got {value!r}")
    return value


def _config(value) -> str:
    if not isinstance(value, str) or not CONFIG_NAME.match(value):
        raise ValueError(f"a configuration is the name of one of modeling/configs/*.json, got {value!r}")
    return value


def _common(data: Mapping) -> dict:
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
        raise ValueError(f"overrides must be an object of configuration keys and values, got {overrides!r}")
    device = data.get("device", "auto")
    if not isinstance(device, str) or not DEVICE.match(device):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return {"export_job": _whole("export_job", data.get("export_job"), low=1), "overrides": overrides, "device": device,
            "seed": _whole("seed", data.get("seed", 0), high=2**32 - 1)}


def _known(data: Mapping, cls) -> None:
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class TrainParameters:
    """Train configuration `config` on split `split` of the export of job `export_job`; `name` names the model (default: made up)."""

    export_job: int
    config: str
    split: int = 0
    overrides: dict = field(default_factory=dict)
    device: str = "auto"
    seed: int = 0
    name: str = ""

    @classmethod
    def from_dict(cls, data: dict | None) -> TrainParameters:
        data = dict(data or {})
        _known(data, cls)
        name = data.get("name", "")
        if not isinstance(name, str) or (name and not CONFIG_NAME.match(name)):
            raise ValueError(f"name must be lowercase letters, digits, '_' or '-', got {name!r}")
        return cls(config=_config(data.get("config")), split=_whole("split", data.get("split", 0), high=MAX_SPLITS - 1), name=name,
                   **_common(data))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchmarkParameters:
    """Every configuration of `configs` on every split of `splits` of the export of job `export_job`."""

    export_job: int
    configs: tuple[str, ...]
    splits: tuple[int, ...] = tuple(range(10))
    overrides: dict = field(default_factory=dict)
    device: str = "auto"
    seed: int = 0
    explain: bool = True

    @classmethod
    def from_dict(cls, data: dict | None) -> BenchmarkParameters:
        data = dict(data or {})
        _known(data, cls)
        configs, splits = data.get("configs"), data.get("splits", list(range(10)))
        if not isinstance(configs, (list, tuple)) or not 1 <= len(configs) <= MAX_CONFIGS:
            raise ValueError(f"configs must be a list of 1 to {MAX_CONFIGS} configuration names")
        if not isinstance(splits, (list, tuple)) or not 1 <= len(splits) <= MAX_SPLITS:
            raise ValueError(f"splits must be a list of 1 to {MAX_SPLITS} split numbers")
        if not isinstance(data.get("explain", True), bool):
            raise ValueError("explain must be true or false")
        configs = tuple(dict.fromkeys(_config(c) for c in configs))
        splits = tuple(dict.fromkeys(_whole("a split", k, high=MAX_SPLITS - 1) for k in splits))
        return cls(configs=configs, splits=splits, explain=data.get("explain", True), **_common(data))

    def as_dict(self) -> dict:
        return {**asdict(self), "configs": list(self.configs), "splits": list(self.splits)}


# --- what the stages share ----------------------------------------------------------------------


def export_of(params) -> tuple[Job, ExportData]:
    """The export job the parameters name and its folder, read; ApplicationError when it is not a completed export."""
    job = Job.objects.filter(pk=params.export_job, kind=export_selectors.KIND).first()
    if job is None or job.status != Job.Status.COMPLETED:
        raise ApplicationError("export_not_ready", f"Job {params.export_job} is not a completed dataset export.", status=409)
    return job, ExportData.read(export_selectors.export_folder(job))


class Progress:
    """A job's live progress on its summary: the latest (stage, done, total), written at most once a second (and at each end)."""

    def __init__(self, ctx: StageContext, **extra):
        self.ctx, self.extra, self.last = ctx, extra, 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        self.ctx.summary_record({**(self.ctx.job.summary or {}), **self.extra, "progress": {"stage": stage, "done": done, "total": total}})


@contextmanager
def _export_lock(folder: Path):
    """Hold an exclusive lock on the export's crops while they are made (two jobs on one export take turns)."""
    (folder / FRAMES_DIR).mkdir(exist_ok=True)
    with open(folder / FRAMES_DIR / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def frames_missing(export: ExportData) -> list[str]:
    """The export's videos without complete crops."""
    return [v for v in export.videos.index if not (export.folder / FRAMES_DIR / v / DONE_MARKER).is_file()]


def stage_frames(ctx: StageContext) -> None:
    """Crop the export's videos that have no crops yet (auto detector, the export command's defaults)."""
    _, export = export_of(ctx.params)
    if not frames_missing(export):
        return
    if not (export.folder / "videos").is_dir():
        raise ApplicationError("no_frames", "The export has neither face crops nor its videos: build an export with the videos, "
                                            "or run manage.py extract_frames on its folder.", status=409)
    progress = Progress(ctx)
    with _export_lock(export.folder):
        missing = frames_missing(export)  # another job may have made them while this one waited
        if missing:
            def counted(iterable, total):
                for done, item in enumerate(iterable, start=1):
                    yield item
                    progress("frames", done, total)

            outcome = export_frames_extract(export.folder, settings=FrameSettings.for_detector("auto"), workers=1, progress=counted)
            if outcome.failed:
                name, why = next(iter(sorted(outcome.failed.items())))
                raise ApplicationError("no_frames", f"{len(outcome.failed)} video(s) could not be cropped, e.g. {name}: {why}")


def model_name(params: TrainParameters, job: Job) -> str:
    """The model's folder name: the one asked for, else <config>-split<k>-job<id> (the same when a stage runs again)."""
    return params.name or f"{params.config}-split{params.split}-job{job.pk}"


def stage_train(ctx: StageContext) -> None:
    from .protocol import split_run
    from .serving import model_save

    params: TrainParameters = ctx.params
    _, export = export_of(params)
    name = model_name(params, ctx.job)
    folder = Path(settings.MODELS_ROOT) / name
    run = split_run(export, params.config, params.split, overrides=params.overrides, device=params.device, seed=params.seed,
                    work=ctx.artifacts.folder / "work", progress=Progress(ctx))
    model_save(folder, run, export, name=name)
    shutil.rmtree(run.work, ignore_errors=True)
    ctx.summary_record({"model": name, "metrics": run.row["metrics"], "seconds": run.row["seconds"], "device": run.row["device"]})


def stage_register(ctx: StageContext) -> None:
    from . import services
    from .serving import MODEL_FILE

    params: TrainParameters = ctx.params
    export_job, export = export_of(params)
    folder = Path(settings.MODELS_ROOT) / model_name(params, ctx.job)
    model = services.model_register(folder=folder, export=export, export_job=export_job, user=ctx.job.requested_by, job=ctx.job)
    ctx.summary_record({**(ctx.job.summary or {}), "model_id": model.pk, "model_file": str(folder / MODEL_FILE)})


def stage_benchmark(ctx: StageContext) -> None:
    from . import protocol, reports

    params: BenchmarkParameters = ctx.params
    _, export = export_of(params)
    finished: list[dict] = []
    progress = Progress(ctx)

    def on_row(row: dict) -> None:
        finished.append({"config": row["config"], "split": row["split"], "avr": row["metrics"]["avr"]})
        progress.extra["finished"] = finished

    result = protocol.benchmark(export, list(params.configs), list(params.splits), out=ctx.artifacts.folder, overrides=params.overrides,
                                device=params.device, seed=params.seed, explain=params.explain, progress=progress, on_row=on_row)
    ctx.artifacts.json_write("rows", [{k: v for k, v in row.items() if k != "predictions"} for row in result.rows])
    table = reports.table2(result.rows)
    ctx.artifacts.json_write("table2", reports.records(table))
    ctx.summary_record({
        "rows": len(result.rows), "computed": result.computed, "unavailable": result.unavailable, "failed": result.failed,
        "table2": [{"config": r["config"], "splits": r["splits"], "avr": r["avr_mean"], "avr_std": r["avr_std"]}
                   for r in reports.records(table)],
    })


def _code_version() -> str:
    import hashlib

    here = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted([*here.glob("*.py"), *(here / "methods").glob("*.py"), *(here / "configs").glob("*.json")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"modeling-{digest.hexdigest()[:12]}"


@functools.cache
def kinds() -> tuple[JobKind, JobKind]:
    """The two kinds, on settings.TRAINING_QUEUE (read once, when the app is ready; the same objects after)."""
    queue = settings.TRAINING_QUEUE
    train = JobKind(name=TRAIN, stages=(Stage("frames", stage_frames), Stage("train", stage_train), Stage("register", stage_register)),
                    parameters=TrainParameters, code_version=_code_version, queue=queue)
    benchmark = JobKind(name=BENCHMARK, stages=(Stage("frames", stage_frames), Stage("benchmark", stage_benchmark)),
                        parameters=BenchmarkParameters, code_version=_code_version, queue=queue)
    return train, benchmark
