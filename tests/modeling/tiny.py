"""A tiny real method and a tiny export folder for the protocol, registry, job and API tests.

The method is ridge regression on each video's mean crop brightness and contrast (closed form in
NumPy, weights saved as safetensors), with nearest-training-video explanations; it records every
video id its fit touched, so a test can check that training read no test video. It is registered
only inside the `tiny_method` fixture's lifetime.

The export has 4 identity pairs x 4 methods, one video each, whose crops' brightness follows the
MOS (so the ridge learns something real), two splits, ratings with reasons, a category vector per
video, frames/<video>/*.png with done.json, frames/manifest.json and a manifest.json.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from analysis.export.videostats import CATEGORY_COLUMNS
from modeling.frames.extract import DONE_MARKER, FRAMES_DIR
from modeling.methods.base import METHODS, Method, TrainContext

NAME = "tiny_ridge"
PAIRS = ("p0", "p1", "p2", "p3")
KINDS = ("m0", "m1", "m2", "m3")
# split k: (training pairs, training methods)
SPLITS = ((("p0", "p1"), ("m0", "m1")), (("p2", "p3"), ("m1", "m2")))
CROP = 16
FRAMES_SETTINGS = {"detector": "haar", "detector_version": "test", "size": CROP, "margin": 0.25, "step": 6, "image_format": "png"}


def _features(paths: Sequence[Path]) -> np.ndarray:
    """Mean brightness and contrast of a video's crops, scaled to about 0..1."""
    pixels = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255 for p in paths])
    return np.array([pixels.mean(), pixels.std()])


class TinyRidge(Method):
    name = NAME
    description = "ridge regression on mean crop brightness and contrast (tests only)"

    def __init__(self, config):
        super().__init__(config)
        self.coef = None
        self.train_ids: list[str] = []
        self.train_features = None
        self.train_reasons: dict[str, list[str]] = {}
        self.touched: set[str] = set()  # every id fit read a crop or a label of

    def unavailable(self):
        return self.config.get("unavailable_because")

    def fit(self, ctx: TrainContext, train_ids):
        rows = []
        for video in train_ids:
            self.touched.add(video)
            rows.append(_features(ctx.frames(video)))
            ctx.progress("fit", len(rows), len(train_ids))
        if self.config.get("peek"):  # a cheating method: reads a video it was not given
            ctx.frames(self.config["peek"])
        x = np.column_stack([np.ones(len(rows)), np.array(rows)])
        y = np.array([ctx.mos[v] for v in train_ids])
        alpha = float(self.config.get("alpha", 1e-3))
        self.coef = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ y)
        self.train_ids, self.train_features = list(train_ids), np.array(rows)
        self.train_reasons = {v: list(ctx.reasons.get(v, [])) for v in train_ids}
        (ctx.work / "checkpoint.txt").write_text("fitted")
        return {"train_rmse": float(np.sqrt(np.mean((x @ self.coef - y) ** 2))), "videos": len(train_ids)}

    def predict(self, frames, ids, *, device="cpu", cache_root=None):
        x = np.array([_features(frames(v)) for v in ids]).reshape(len(ids), 2)
        if self.config.get("diverge"):  # a training that blew up
            return np.full(len(ids), np.nan)
        return np.column_stack([np.ones(len(ids)), x]) @ self.coef

    def explain(self, frames, ids, *, k=5, device="cpu", cache_root=None):
        out = []
        for video in ids:
            distance = np.linalg.norm(self.train_features - _features(frames(video)), axis=1)
            order = np.argsort(distance, kind="stable")[:k]
            out.append({"neighbours": [{"video": self.train_ids[i], "similarity": float(-distance[i]),
                                        "reasons": self.train_reasons[self.train_ids[i]]} for i in order]})
        return out

    def save(self, folder: Path):
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({"coef": self.coef, "train_features": self.train_features}, str(folder / "weights.safetensors"))
        (folder / "state.json").write_text(json.dumps({"config": self.config, "train_ids": self.train_ids, "train_reasons": self.train_reasons}))

    @classmethod
    def load(cls, folder: Path):
        from safetensors.numpy import load_file

        state = json.loads((folder / "state.json").read_text())
        method = cls(state["config"])
        tensors = load_file(str(folder / "weights.safetensors"))
        method.coef, method.train_features = tensors["coef"], tensors["train_features"]
        method.train_ids, method.train_reasons = state["train_ids"], state["train_reasons"]
        return method


@pytest.fixture
def tiny_method():
    """TinyRidge registered for the test's duration only."""
    METHODS[NAME] = TinyRidge
    yield TinyRidge
    METHODS.pop(NAME, None)


@pytest.fixture
def tiny_configs(tiny_method, tmp_path, monkeypatch) -> Path:
    """The shipped configurations replaced by the tiny method's: tiny_ridge, and tiny_off (unavailable)."""
    from modeling.methods import base

    folder = tmp_path / "configs"
    folder.mkdir()
    tiny_config(folder)
    tiny_config(folder, name="tiny_off", unavailable_because="no checkpoint given")
    monkeypatch.setattr(base, "CONFIG_DIR", folder)
    return folder


def tiny_config(folder: Path, name: str = NAME, **values) -> str:
    """A configuration file of the tiny method in `folder`; returns its path (method_make takes it)."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"method": NAME, "alpha": 1e-3, **values}))
    return str(path)


def tiny_export(folder: Path, *, seed: int = 0) -> Path:
    """Write the tiny export into `folder` (see the module's docstring); returns it."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    videos = []
    for i, pair in enumerate(PAIRS):
        for j, kind in enumerate(KINDS):
            name = f"v{hashlib.sha1(f'{pair}{kind}'.encode()).hexdigest()[:16]}"
            mos = float(np.clip(1 + 4 * rng.random(), 1, 5))
            videos.append({"video": name, "file": f"{name}.mp4", "role": "regular", "identity_pair": pair, "method": kind,
                           "is_real": False, "gold_score": "", "mos": round(mos, 3), "sos": 0.5, "n": 4, "ci_low": mos - 0.5,
                           "ci_high": mos + 0.5})
    table = pd.DataFrame(videos)
    shares = rng.random((len(table), len(CATEGORY_COLUMNS))).round(3)
    table = pd.concat([table, pd.DataFrame(shares, columns=list(CATEGORY_COLUMNS))], axis=1)
    table.to_csv(folder / "videos.csv", index=False)
    ratings = [{"video": v["video"], "annotator": f"a{n}", "score": 3, "reason": f"reason {n} of {v['video']}"} for v in videos for n in range(2)]
    ratings.append({"video": videos[0]["video"], "annotator": "a9", "score": 1, "reason": "'=looks fake"})  # csvsafe's apostrophe
    pd.DataFrame(ratings).to_csv(folder / "ratings.csv", index=False)
    for k, (pairs, kinds) in enumerate(SPLITS):
        sets = {"train": table[table.identity_pair.isin(pairs) & table.method.isin(kinds)],
                "test1": table[~table.identity_pair.isin(pairs) & table.method.isin(kinds)],
                "test2": table[table.identity_pair.isin(pairs) & ~table.method.isin(kinds)],
                "test3": table[~table.identity_pair.isin(pairs) & ~table.method.isin(kinds)]}
        (folder / "splits" / str(k)).mkdir(parents=True, exist_ok=True)
        for name, rows in sets.items():
            rows[["video", "file", "identity_pair", "method", "is_real", "mos", "sos", "n"]].to_csv(folder / "splits" / str(k) / f"{name}.csv", index=False)
        (folder / "splits" / str(k) / "split.json").write_text(json.dumps({"index": k, "train_pairs": pairs, "train_methods": kinds}))
    for v in videos:
        crops = folder / FRAMES_DIR / v["video"]
        crops.mkdir(parents=True, exist_ok=True)
        level = 30 + 40 * v["mos"] + rng.normal(0, 25)  # brightness follows the MOS, loosely
        for index in (0, 6):
            image = np.clip(level + rng.normal(0, 8, (CROP, CROP, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(crops / f"{index:06d}.png"), image)
        (crops / DONE_MARKER).write_text(json.dumps({"settings": FRAMES_SETTINGS, "video": {"name": v["video"], "frames": 2}}))
    (folder / FRAMES_DIR / "manifest.json").write_text(json.dumps({"settings": FRAMES_SETTINGS}))
    files = {p.relative_to(folder).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted(folder.rglob("*")) if p.is_file() and FRAMES_DIR not in p.parts}
    (folder / "manifest.json").write_text(json.dumps({"format": "dream-export/1", "campaign": {"slug": "tiny"},
                                                      "export": {"version": 1}, "files": files}))
    return folder


@pytest.fixture(scope="session")
def pattern_clip() -> Path:
    """A real 0.52-s, 160x96 H.264 clip (13 frames, no face: every crop is the frame's centre), made once."""
    from annotation import media
    from tests.conftest import TEST_VAR

    path = TEST_VAR / "modeling-clips" / "pattern_160x96_13f.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.mp4")
        media.make_test_pattern(tmp, seed=5, seconds=0.52, size=(160, 96), fps=25)
        tmp.replace(path)
    return path
