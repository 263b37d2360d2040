"""A trained model as a folder, and scoring new videos with it through the export's own probe, frames and face crop.

The predict command and the API both call it. A model folder holds

    model.json   what made it: the split run's row (configuration, metrics, export manifest SHA-256,
                 split, seed, pretrained weights used, device, torch) and the export's crop settings;
                 written last, so a folder without it is incomplete
    method/      the method's own files (Method.save: weights as safetensors, the rest as JSON)

A new video is probed (annotation.media.probe: the ingest's refusals, same codes), then cropped
by modeling.frames.extract.video_frames_extract with the crop settings of the export the model
was trained on (detector, size, margin, step, format), into a temporary folder removed afterwards;
the model sees those crops only, as it saw the export's.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from analysis.export.videostats import CATEGORY_COLUMNS
from annotation import media
from annotation.errors import ApplicationError
from annotation.ingest import MAX_FRAME_PIXELS

from .data.export import ExportData
from .frames import detectors
from .frames.extract import FrameSettings, video_frames_extract
from .methods.base import METHODS, Method
from .protocol import SplitRun, device_resolve

MODEL_FILE = "model.json"
METHOD_DIR = "method"
MODEL_FORMAT = "dream-model/1"
EXPLAIN_K = 5


def model_save(folder: Path, run: SplitRun, export: ExportData, *, name: str) -> dict:
    """Write a trained split run as a model folder (method files first, model.json last); returns model.json's record."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / METHOD_DIR, ignore_errors=True)
    run.method.save(folder / METHOD_DIR)
    try:
        frames = export.frames_settings
    except ApplicationError:
        frames = {}
    record = {"format": MODEL_FORMAT, "name": name, "method": run.method.name, "config": run.row["config"],
              "split": run.row["split"], "row": run.row, "frames": frames}
    tmp = folder / f".{MODEL_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(folder / MODEL_FILE)
    return record


@dataclass
class LoadedModel:
    folder: Path
    record: dict
    method: Method

    @property
    def name(self) -> str:
        return self.record.get("name") or self.folder.name

    @cached_property
    def can_explain(self) -> bool:
        return callable(getattr(self.method, "explain", None))


def model_load(folder: Path) -> LoadedModel:
    """The model in `folder`; ApplicationError "model_missing" (no complete folder) or "unknown_method" (its method is not installed)."""
    folder = Path(folder)
    try:
        record = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ApplicationError("model_missing", f"{folder} holds no complete model (no readable {MODEL_FILE}); train it again.", status=409)
    cls = METHODS.get(record.get("method", ""))
    if cls is None:
        raise ApplicationError("unknown_method", f"The model's method {record.get('method')!r} is not installed here.", status=409)
    return LoadedModel(folder=folder, record=record, method=cls.load(folder / METHOD_DIR))


def crop_settings(frames: Mapping) -> FrameSettings:
    """The crop settings of the model's export; its detector when installed here, else the best installed one."""
    detector = frames.get("detector", "auto")
    if detector not in detectors.DETECTORS or not detectors.DETECTORS[detector].available():
        detector = "auto"
    options = {key: frames[key] for key in ("size", "margin", "step", "image_format") if key in frames}
    return FrameSettings.for_detector(detector, **options)


def video_crops(video: Path, folder: Path, settings: FrameSettings) -> tuple[list[Path], dict]:
    """Probe `video` and crop it into `folder`; returns the crops in frame order and what the crop found.

    Raises media.MediaError (not a video, damaged, empty) as the ingest would, and
    ApplicationError("video_too_large") for frames larger than the ingest takes (annotation.ingest.MAX_FRAME_PIXELS).
    """
    info = media.probe(video)
    if info.width * info.height > MAX_FRAME_PIXELS:
        raise ApplicationError("video_too_large", f"The video is {info.width}x{info.height}; scale it down to 1920x1080 (as the DREAM videos are).")
    made = video_frames_extract(Path(video), Path(folder), settings)
    crops = sorted(p for p in Path(folder).iterdir() if p.suffix in (".png", ".jpg") and p.stem.isdigit())
    if not crops:
        raise ApplicationError("no_frames", "No frame could be decoded from the video.")
    return crops, {"frames": made.frames, "faces_detected": made.detected, "duration_s": info.duration_s,
                   "width": info.width, "height": info.height}


def videos_predict(model: LoadedModel, videos: Sequence[Path], *, names: Sequence[str] | None = None, device: str = "auto",
                   k: int = EXPLAIN_K, progress=None) -> list[dict]:
    """Score each video: {"video", "score", "frames", "faces_detected", ...} and, when the method can explain,
    "explanation": its top-K training videos with their reasons and the 37-share category vector.

    A video that cannot be used gets {"video", "code", "error"} instead; the others are still scored.
    `progress(stage, done, total)` hears the crops and the prediction.
    """
    device = device_resolve(device)
    names = list(names) if names is not None else [str(v) for v in videos]
    settings = crop_settings(model.record.get("frames") or {})
    results: list[dict] = [{"video": name} for name in names]
    with tempfile.TemporaryDirectory(prefix="dream-predict-") as tmp:
        crops: dict[str, list[Path]] = {}
        for i, video in enumerate(videos):
            try:
                crops[str(i)], facts = video_crops(Path(video), Path(tmp) / str(i), settings)
                results[i].update(facts)
            except media.MediaError as exc:
                results[i].update(code=exc.code, error=str(exc).split("\nffmpeg said:")[0].replace(str(video), names[i]))
            except ApplicationError as exc:
                results[i].update(code=exc.code, error=exc.message)
            if progress is not None:
                progress("crops", i + 1, len(videos))
        ids = list(crops)
        if ids:
            scores = np.asarray(model.method.predict(crops.__getitem__, ids, device=device, cache_root=None), dtype=np.float64)
            explained = model.method.explain(crops.__getitem__, ids, k=k, device=device, cache_root=None) if model.can_explain else None
            for j, vid in enumerate(ids):
                result = results[int(vid)]
                result.update(score=float(scores[j]), model=model.name, detector=settings.detector)
                if explained is not None:
                    result["explanation"] = explanation_json(explained[j], k)
        if progress is not None:
            progress("predict", 1, 1)
    return results


def explanation_json(item: Mapping, k: int) -> dict:
    """A method's explanation of one video as JSON: the top-K training videos (id, similarity, reasons) and the
    category vector by name: the method's own when it gives one, else the shares of the retrieved reasons."""
    neighbours = [{"video": n["video"], "similarity": _number(n.get("similarity")), "reasons": list(n.get("reasons") or [])}
                  for n in list(item.get("neighbours") or [])[:k]]
    vector = item.get("categories")
    if vector is None:
        from analysis.stats.reasons import category_shares

        texts = [reason for n in neighbours for reason in n["reasons"]]
        vector = category_shares(texts).to_numpy() if texts else np.zeros(len(CATEGORY_COLUMNS))
    if isinstance(vector, Mapping):  # by column name (DA-CLIP's): in the export's column order
        vector = [vector.get(c, np.nan) for c in CATEGORY_COLUMNS]
    vector = np.asarray(vector, dtype=np.float64)
    return {"neighbours": neighbours, "categories": {c: _number(v) for c, v in zip(CATEGORY_COLUMNS, vector)}}


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
