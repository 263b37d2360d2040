"""The paper's protocol (section V-A): train a method on one split's training videos and score it on Test-1/2/3; every method x split.

No Django: it runs wherever the export folder is (a GPU machine with the folder copied to it).

What keeps the test sets out of training is here, in one place: `split_run` hands the method a
TrainContext whose MOS and reasons hold the split's training videos only, and whose frame source
refuses (ApplicationError "split_leak") the crops of any other video; the test sets are predicted
afterwards from crops alone, and their MOS is read only to score the predictions
(tests/modeling/test_protocol.py records every id the training touched).

A benchmark stores each finished (configuration, split) as rows/<config>/split-<k>.json under its
output folder, with what makes it that run (the configuration after overrides, the export's
manifest SHA-256, the split, the seed): run again, it computes only what is missing or changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from annotation.errors import ApplicationError

from . import metrics
from .explain import table_v
from .data.export import TEST_SETS, ExportData
from .methods.base import FrameSource, Method, MethodUnavailable, Progress, TrainContext, method_make

ROOT = Path(__file__).resolve().parent.parent
# Frozen-backbone features cached across splits and methods (modeling.data.cache keys them by backbone,
# weights and frame set); settings-independent like the weights folder, so a GPU machine without the
# platform's settings finds it too.
CACHE_DIR = Path(os.environ.get("DREAM_CACHE_DIR", ROOT / "var" / "cache"))
ROWS_DIR = "rows"
EXPLAIN_KS = tuple(range(1, 14))  # the paper's Table V: K = 1 ... 13
ROW_FORMAT = "dream-split-run/1"


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def device_resolve(device: str = "auto") -> str:
    """"auto" -> "cuda" when a CUDA device is present, else "cpu"; "cuda" / "cuda:N" refused clearly without one."""
    if device not in ("auto", "cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ApplicationError("bad_device", f"The device must be auto, cpu, cuda or cuda:N, not {device!r}.")
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ApplicationError("no_cuda", f"The device {device} was asked for, but this machine has no CUDA device; use --device cpu or auto.")
    return device


def environment() -> dict:
    """What a result depends on besides its inputs: the torch version (None without torch), Python, the CUDA device."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is in requirements.txt
        return {"torch": None, "python": platform.python_version()}
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"torch": torch.__version__, "python": platform.python_version(), "cuda_device": cuda}


def seeds_set(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (a method should still draw from its own, seeded by ctx.seed)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)


def frames_limited(frames: FrameSource, allowed: Iterable[str], *, why: str) -> FrameSource:
    """`frames` for the ids in `allowed` only; any other id raises ApplicationError("split_leak")."""
    allowed = frozenset(allowed)

    def source(video: str):
        if video not in allowed:
            raise ApplicationError("split_leak", f"The crops of video {video} were asked for {why}; only the split's training videos may be read there.")
        return frames(video)

    return source


@dataclass
class SplitRun:
    """A trained method and its row: the metrics of Table II for one split, the seconds, and what made it (JSON-ready)."""

    method: Method
    row: dict
    predictions: dict[str, dict[str, float]] = field(default_factory=dict)  # test set -> video -> predicted MOS
    work: Path | None = None  # the run's scratch folder: its checkpoints, of no use once the model is saved or the row stored


def split_run(export: ExportData, config_name: str, k: int, *, overrides: Mapping[str, Any] | None = None, device: str = "auto",
              work: Path, seed: int = 0, progress: Progress | None = None, cache_root: Path | None = None,
              frames: FrameSource | None = None, explain: bool = True) -> SplitRun:
    """Train configuration `config_name` on split k's training videos and score it on its three test sets.

    The method's scratch folder (its resumable checkpoints) is work/<config>-split<k>-<run_key>:
    a run with other inputs never resumes this one's checkpoint. `cache_root` is where frozen
    features are cached (default CACHE_DIR); `frames` the crops by video id (default: the export's
    frames/). Raises MethodUnavailable when the method cannot run here (e.g. CLIP-IQA without a
    checkpoint), ApplicationError for a missing split or crops. With `explain` and a method that
    can explain, the row also holds the explanation error of Table V (`explanation_scores`).
    """
    progress = progress or _quiet
    device = device_resolve(device)
    method = method_make(config_name, overrides)
    reason = method.unavailable()
    if reason:
        raise MethodUnavailable(reason)
    split = export.split(k)
    frames = frames or export.frame_paths
    cache_root = Path(cache_root) if cache_root is not None else CACHE_DIR
    train = list(split.train)
    if not train:
        raise ApplicationError("bad_split", f"Split {k} has no training videos.")
    mos = dict(zip(train, export.mos(train).tolist()))
    reasons = export.reasons
    key = run_key(method.config, export.manifest_sha256, k, seed)
    columns = export.category_columns
    ctx = TrainContext(
        frames=frames_limited(frames, train, why="while training"), mos=mos, reasons={v: list(reasons[v]) for v in train},
        work=Path(work) / f"{method.config['config']}-split{k}-{key}", device=device, seed=seed, progress=progress, cache_root=cache_root,
        categories=dict(zip(train, export.categories(train))) if columns else {}, category_columns=columns,
    )
    ctx.work.mkdir(parents=True, exist_ok=True)
    seeds_set(seed)
    started = time.perf_counter()
    info = method.fit(ctx, train) or {}
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predictions: dict[str, dict[str, float]] = {}
    scored = {}
    for name in TEST_SETS:
        ids = list(split.sets[name])
        progress("predict", TEST_SETS.index(name), len(TEST_SETS))
        if not ids:
            pred = np.zeros(0)
        elif getattr(method, "reads_test_reasons", False):
            # DA-CLIP-T, the paper's reference row: by its definition the text branch scores the test
            # videos' reasons. The one place a test video's labels reach a method, after its training.
            pred = np.asarray(method.predict_text([reasons[v] for v in ids], device=device, cache_root=cache_root), dtype=np.float64)
        else:
            pred = np.asarray(method.predict(frames, ids, device=device, cache_root=cache_root), dtype=np.float64)
        if pred.shape != (len(ids),):
            raise ApplicationError("bad_prediction", f"{method.name} predicted {pred.shape} values for {len(ids)} videos of {name}.")
        if not np.isfinite(pred).all():
            raise ApplicationError("bad_prediction", f"{method.name} predicted NaN or infinity for {int((~np.isfinite(pred)).sum())} "
                                                     f"videos of {name} (did the training diverge? see its losses in the work folder).")
        predictions[name] = dict(zip(ids, pred.tolist()))
        scored[name] = (pred, export.mos(ids))
    progress("predict", len(TEST_SETS), len(TEST_SETS))
    predict_seconds = time.perf_counter() - started
    row = {
        "format": ROW_FORMAT,
        "config": method.config["config"], "method": method.name, "split": k, "seed": seed, "device": device,
        "config_values": method.config, "export_sha256": export.manifest_sha256,
        "export": _export_identity(export),
        "weights_used": method.weights_used(),
        "videos": {name: len(ids) for name, ids in split.sets.items()},
        "metrics": metrics.split_metrics(scored),
        "seconds": {"fit": round(fit_seconds, 3), "predict": round(predict_seconds, 3)},
        "info": _jsonable(info),
        **environment(),
    }
    if explain and callable(getattr(method, "explain", None)) and export.category_columns:
        started = time.perf_counter()
        test_ids = [v for name in TEST_SETS for v in split.sets[name]]
        row["explanation"] = explanation_scores(method, export, frames, train, test_ids, device=device, cache_root=cache_root, seed=seed)
        row["seconds"]["explain"] = round(time.perf_counter() - started, 3)
    return SplitRun(method=method, row=row, predictions=predictions, work=ctx.work)


def run_key(config_values: Mapping, export_sha256: str, k: int, seed: int) -> str:
    """16 hex digits naming a run by its inputs: the configuration after overrides, the export, the split, the seed."""
    text = json.dumps({"config": config_values, "export": export_sha256, "split": k, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def explanation_scores(method: Method, export: ExportData, frames: FrameSource, train: Sequence[str], ids: Sequence[str], *,
                       ks: Sequence[int] = EXPLAIN_KS, device: str = "cpu", cache_root: Path | None = None, seed: int = 0) -> dict[str, float]:
    """Table V for one split: RMSE of explained against true category vectors of the videos `ids`, per K, and random-1.

    `method.explain(frames, ids, k=K, ...)` gives, per video, its nearest training videos
    ("neighbours": [{"video": id, ...}], nearest first); explain.table_v scores the mean category
    vector of the first K of them against the video's own (overall, over all 37 shares) and random-1
    (one training video per query, drawn 10 times, seeded). Keys: "random-1", "1"..."13".
    """
    if not ids:
        return {}
    explained = method.explain(frames, list(ids), k=max(ks), device=device, cache_root=cache_root)
    position = {v: i for i, v in enumerate(train)}
    neighbours = [[n["video"] for n in item["neighbours"]] for item in explained]
    unknown = {v for row in neighbours for v in row} - set(position)
    if unknown:
        raise ApplicationError("split_leak", f"{method.name} explained with videos that are not training videos: {sorted(unknown)[:3]}.")
    rows = np.array([[position[v] for v in row] for row in neighbours])
    table = table_v(rows, export.categories(train), export.categories(ids), export.category_columns, ks=ks, seed=seed)
    return {row["strategy"].removeprefix("top-"): row["all"] for row in table}


def _export_identity(export: ExportData) -> dict:
    manifest = export.manifest
    return {"folder": str(export.folder), "campaign": (manifest.get("campaign") or {}).get("slug"),
            "version": (manifest.get("export") or {}).get("version")}


def _jsonable(value):
    """Fit info as JSON: NumPy numbers and arrays as Python ones, NaN as None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # a torch tensor
        return _jsonable(value.tolist())
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --- every method x split ---------------------------------------------------------------------


def splits_parse(text: str) -> list[int]:
    """"0-9" -> [0..9]; "0,2,5" and "0-2,7" likewise; ApplicationError("bad_splits") otherwise."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ApplicationError("bad_splits", f"Splits are numbers and ranges such as 0-9 or 0,2,5; {text!r} is not.")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ApplicationError("bad_splits", f"The range {part} runs backwards.")
        out.extend(i for i in range(first, last + 1) if i not in out)
    return out


def row_path(out: Path, config: str, k: int) -> Path:
    return Path(out) / ROWS_DIR / config / f"split-{k}.json"


def row_read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def row_write(path: Path, row: dict) -> None:
    """Write a row atomically (a killed run leaves the old row or none, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(row, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(path)


def row_matches(row: dict | None, *, config_values: dict, export_sha256: str, k: int, seed: int) -> bool:
    """Whether a stored row is the run these inputs would make (so it is not computed again)."""
    return bool(row) and row.get("format") == ROW_FORMAT and row.get("config_values") == config_values \
        and row.get("export_sha256") == export_sha256 and row.get("split") == k and row.get("seed") == seed and "metrics" in row


@dataclass
class BenchmarkResult:
    rows: list[dict]  # one per finished (configuration, split), in the order asked for
    unavailable: dict[str, str]  # configuration -> why it cannot run here
    failed: dict[str, str]  # "<configuration> split <k>" -> why that run stopped (the others went on)
    computed: int  # rows computed by this call (the others were stored)
    folder: Path


def benchmark(export: ExportData, configs: Sequence[str], splits: Sequence[int], *, out: Path,
              overrides: Mapping[str, Any] | None = None, device: str = "auto", seed: int = 0,
              progress: Progress | None = None, cache_root: Path | None = None, explain: bool = True,
              on_row: Callable[[dict], None] | None = None,
              config_overrides: Mapping[str, Mapping[str, Any]] | None = None) -> BenchmarkResult:
    """Every configuration x split, resumable, and the reports (reports.report_write) in `out`.

    A configuration that cannot run here (MethodUnavailable) is reported as such, not scored; a run
    that stops with an ApplicationError (NaN predictions, missing crops) is listed in `failed` and
    the others go on (run again, it is tried again). A split leak stops everything. `config_overrides[config]`
    is applied on top of `overrides` for that configuration only (bench/modeling.py's CPU settings).
    `progress("benchmark", done, total)` counts (configuration, split) pairs; the inner stages of a
    run report under their own names. `on_row(row)` hears each finished row (a job's summary).
    """
    from . import reports

    progress = progress or _quiet
    out = Path(out)
    device = device_resolve(device)
    rows: list[dict] = []
    unavailable: dict[str, str] = {}
    failed: dict[str, str] = {}
    computed = 0
    total = len(configs) * len(splits)
    per_config = {config: {**(overrides or {}), **((config_overrides or {}).get(config) or {})} for config in configs}
    methods = [method_make(config, per_config[config]) for config in configs]  # every name and split checked before any training
    for k in splits:
        export.split(k)
    # Split by split, every configuration within one: a run stopped early leaves every configuration
    # scored on the same first splits, so their means compare like with like.
    for name, method in ((m.config["config"], m) for m in methods):
        reason = method.unavailable()
        if reason:
            unavailable[name] = reason
    done = 0
    for k in splits:
        for config, method in zip(configs, methods):
            name = method.config["config"]
            done += 1
            if name in unavailable:
                progress("benchmark", done, total)
                continue
            path = row_path(out, name, k)
            stored = row_read(path)
            if row_matches(stored, config_values=method.config, export_sha256=export.manifest_sha256, k=k, seed=seed):
                row = stored
            else:
                try:
                    run = split_run(export, config, k, overrides=per_config[config], device=device, work=out / "work", seed=seed,
                                    progress=progress, cache_root=cache_root, explain=explain)
                except MethodUnavailable as exc:
                    unavailable[name] = exc.message
                    progress("benchmark", done, total)
                    continue
                except ApplicationError as exc:
                    if exc.code == "split_leak":
                        raise  # a method that reads test videos is a bug to fix, not a run to skip
                    failed[f"{name} split {k}"] = exc.message
                    progress("benchmark", done, total)
                    continue
                row = {**run.row, "predictions": run.predictions}
                row_write(path, row)
                shutil.rmtree(run.work, ignore_errors=True)  # the row is what a rerun reuses
                computed += 1
            rows.append(row)
            if on_row is not None:
                on_row(row)
            progress("benchmark", done, total)
    meta = {"export_sha256": export.manifest_sha256, "export": _export_identity(export), "configs": list(configs),
            "splits": list(splits), "seed": seed, "device": device, "overrides": dict(overrides or {}),
            "config_overrides": {c: dict(v) for c, v in (config_overrides or {}).items()},
            "unavailable": unavailable, "failed": failed, **environment()}
    reports.report_write(out, rows, meta)
    return BenchmarkResult(rows=rows, unavailable=unavailable, failed=failed, computed=computed, folder=out)
