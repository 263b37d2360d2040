"""Feature + SVR baselines (the paper's BRISQUE ... DFGC-1st rows): video features -> standardised -> RBF SVR.

As the paper (DOMAIN.md section 4): one feature vector per video (hand-crafted NSS features, or a
frozen pretrained backbone's frame features mean+std pooled), an RBF support vector regressor whose
C and gamma are chosen on a random 20% of the training videos (fit on the other 80%, scored by
PLCC + SRCC), then refit on all of them with the best pair. The validation draw uses the run's seed;
libsvm itself has no randomness, so a seed gives one model.

The configs search C over 2^-3 .. 2^7 and gamma over 2^-6 .. 2^2 times 1 / (number of features),
every second power of 2 as libsvm's grid.py steps: search and refit take 1.8 s of CPU for 750
training videos of 192 features, 11 s for 2,560 (random data). Two choices the paper leaves open: gamma is searched as a multiple of 1 / (number of features)
(1 is scikit-learn's "scale" on standardised features), so one grid suits 192 hand-crafted and 2,560
deep features; and the MOS is standardised before the fit (and the prediction mapped back), so
epsilon (0.1) means a tenth of the training MOS's spread whatever the rating scale.

The trained model is kept and saved as plain arrays (the scaler's mean and scale, support vectors,
dual coefficients, intercept, gamma) and predicts as the RBF kernel sum itself: the saved files are
JSON and an npz read with allow_pickle=False, so loading a model cannot run code, and a loaded model
predicts bit for bit what the trained one did.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from annotation.errors import ApplicationError
from modeling.features.cache import handcrafted_cached
from modeling.features.handcrafted import FEATURE_GROUPS, FEATURE_NAMES, FEATURES_VERSION, feature_columns
from modeling.metrics import plcc, srcc

from .base import FrameSource, Method, Progress, TrainContext, register, validation_split

FEATURE_KINDS = ("nss", "deep")
EPSILON = 0.1
VALIDATION_FRACTION = 0.2
# On two validation videos PLCC and SRCC are +-1: every pair that orders them right ties and the
# first (smallest C and gamma, a nearly constant model) would win. With fewer than three (fewer than
# 13 training videos at 20%) the grid's middle pair is used instead, and the report says so.
MIN_VALIDATION_VIDEOS = 3
CONFIG_KEYS = {"method", "config", "description", "features", "groups", "frames", "backbone", "C", "gamma_scale",
               "epsilon", "val_fraction", "batch_size"}
STATE_JSON = "svr.json"
STATE_ARRAYS = "svr.npz"


@dataclass(frozen=True)
class SVRSettings:
    """An SVR configuration, checked: which features, which frames, the grids and the validation share."""

    features: str
    c_grid: tuple[float, ...]  # the config's "C"
    gamma_scale_grid: tuple[float, ...]  # the config's "gamma_scale": gamma = gamma_scale / number of features
    groups: tuple[str, ...] = tuple(FEATURE_GROUPS)  # hand-crafted families ("nss" only)
    frames: str = "all"
    backbone: str | None = None
    epsilon: float = EPSILON
    val_fraction: float = VALIDATION_FRACTION
    batch_size: int = 64

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SVRSettings:
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ApplicationError("bad_config", f"The SVR configuration has unknown keys: {', '.join(sorted(unknown))}. "
                                   f"Known: {', '.join(sorted(CONFIG_KEYS))}.")
        features = config.get("features")
        if features not in FEATURE_KINDS:
            raise ApplicationError("bad_config", f"An SVR configuration needs \"features\": one of {', '.join(FEATURE_KINDS)}.")
        missing = {"C", "gamma_scale"} - set(config)
        if missing:
            raise ApplicationError("bad_config", f"An SVR configuration needs the grids {', '.join(sorted(missing))}: lists of positive numbers.")
        if features == "deep" and not config.get("backbone"):
            raise ApplicationError("bad_config", "Deep-feature SVR needs \"backbone\": a timm model name.")
        groups = tuple(config.get("groups", FEATURE_GROUPS))
        if features == "deep" and "groups" in config:
            raise ApplicationError("bad_config", "\"groups\" picks hand-crafted feature families; a deep-feature SVR has none.")
        if not groups or set(groups) - set(FEATURE_GROUPS):
            raise ApplicationError("bad_config", f"\"groups\" must be a non-empty list of {', '.join(FEATURE_GROUPS)}.")
        settings = cls(
            features=features,
            groups=groups,
            frames=str(config.get("frames", "all")),
            backbone=config.get("backbone") if features == "deep" else None,
            c_grid=tuple(float(c) for c in config["C"]),
            gamma_scale_grid=tuple(float(g) for g in config["gamma_scale"]),
            epsilon=float(config.get("epsilon", EPSILON)),
            val_fraction=float(config.get("val_fraction", VALIDATION_FRACTION)),
            batch_size=int(config.get("batch_size", 64)),
        )
        grids = settings.c_grid + settings.gamma_scale_grid
        if not settings.c_grid or not settings.gamma_scale_grid or not all(math.isfinite(v) and v > 0 for v in grids):
            raise ApplicationError("bad_config", "\"C\" and \"gamma_scale\" must be non-empty lists of positive numbers.")
        if not 0 < settings.val_fraction < 1 or settings.epsilon < 0:
            raise ApplicationError("bad_config", "\"val_fraction\" must lie between 0 and 1 and \"epsilon\" must not be negative.")
        return settings


@dataclass(frozen=True)
class RBFModel:
    """A fitted standardiser + RBF SVR as plain arrays; `predict` is the kernel sum, no scikit-learn object."""

    mean: np.ndarray  # (features,) the scaler's
    scale: np.ndarray  # (features,)
    support: np.ndarray  # (support vectors, features), standardised
    dual: np.ndarray  # (support vectors,)
    intercept: float
    gamma: float
    y_mean: float  # the MOS standardisation, undone after the kernel sum
    y_scale: float

    def decision(self, features: np.ndarray) -> np.ndarray:
        """sum_i dual_i exp(-gamma |z - sv_i|^2) + intercept for each standardised row z (libsvm's decision value)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        sq = (np.einsum("ij,ij->i", z, z)[:, None] + np.einsum("ij,ij->i", self.support, self.support)[None, :]
              - 2.0 * z @ self.support.T)
        return np.exp(-self.gamma * np.maximum(sq, 0.0)) @ self.dual + self.intercept

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted MOS of each row of `features` (videos x features)."""
        return self.y_mean + self.y_scale * self.decision(features)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "support": self.support, "dual": self.dual,
                "scalars": np.array([self.intercept, self.gamma, self.y_mean, self.y_scale])}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> RBFModel:
        intercept, gamma, y_mean, y_scale = (float(v) for v in arrays["scalars"])
        return cls(mean=arrays["mean"], scale=arrays["scale"], support=arrays["support"], dual=arrays["dual"],
                   intercept=intercept, gamma=gamma, y_mean=y_mean, y_scale=y_scale)


def rbf_fit(features: np.ndarray, mos: np.ndarray, *, c: float, gamma_scale: float, epsilon: float = EPSILON) -> tuple[RBFModel, SVR]:
    """Standardise the features and the MOS, fit scikit-learn's RBF SVR, and return it as an RBFModel (and the SVR)."""
    features, mos = np.asarray(features, dtype=np.float64), np.asarray(mos, dtype=np.float64)
    scaler = StandardScaler().fit(features)
    y_mean, y_scale = float(mos.mean()), float(mos.std()) or 1.0
    gamma = gamma_scale / features.shape[1]
    svr = SVR(kernel="rbf", C=c, gamma=gamma, epsilon=epsilon).fit(scaler.transform(features), (mos - y_mean) / y_scale)
    model = RBFModel(mean=scaler.mean_.copy(), scale=scaler.scale_.copy(), support=svr.support_vectors_.copy(),
                     dual=svr.dual_coef_.ravel().copy(), intercept=float(svr.intercept_[0]), gamma=gamma,
                     y_mean=y_mean, y_scale=y_scale)
    return model, svr


def svr_train(features: np.ndarray, mos: np.ndarray, settings: SVRSettings, *, seed: int,
              progress: Progress | None = None) -> tuple[RBFModel, dict]:
    """The paper's protocol: C and gamma by PLCC + SRCC on a random `val_fraction` of the videos (fit on the
    rest), then the best pair refit on all of them. Returns the model and a report of the search."""
    features, mos = np.asarray(features, dtype=np.float64), np.asarray(mos, dtype=np.float64)
    n = len(mos)
    if n < 2 or np.ptp(mos) == 0:
        raise ApplicationError("too_few_videos", "An SVR needs at least two training videos with different MOS.")
    pairs = [(c, g) for c in settings.c_grid for g in settings.gamma_scale_grid]
    report: dict[str, Any] = {"videos": n, "features": int(features.shape[1])}
    n_val = round(settings.val_fraction * n)
    if n_val >= MIN_VALIDATION_VIDEOS and n - n_val >= 2:
        # Every method's validation draw; with n_val >= 3 and 2 left to fit it holds out exactly n_val videos.
        fit, val = (np.array(rows, dtype=int) for rows in validation_split(n, settings.val_fraction, seed))
        grid = []
        for done, (c, g) in enumerate(pairs):
            model, _ = rbf_fit(features[fit], mos[fit], c=c, gamma_scale=g, epsilon=settings.epsilon)
            pred = model.predict(features[val])
            grid.append({"C": c, "gamma_scale": g, "plcc": plcc(pred, mos[val]), "srcc": srcc(pred, mos[val])})
            if progress is not None:
                progress("svr grid", done + 1, len(pairs))
        # The first best in grid order on a tie (smaller C, then smaller gamma: the smoother model).
        best = max(grid, key=lambda row: row["plcc"] + row["srcc"])
        c, g = best["C"], best["gamma_scale"]
        report["search"] = {"validation_videos": int(n_val), "validation_index": val.tolist(), "seed": seed,
                            "best": best, "grid": grid}
    else:
        c, g = settings.c_grid[len(settings.c_grid) // 2], settings.gamma_scale_grid[len(settings.gamma_scale_grid) // 2]
        report["search"] = {"skipped": f"{n_val} validation videos (fewer than {MIN_VALIDATION_VIDEOS}): the grids' middle pair"}
    model, svr = rbf_fit(features, mos, c=c, gamma_scale=g, epsilon=settings.epsilon)
    report.update({"C": c, "gamma_scale": g, "gamma": model.gamma, "epsilon": settings.epsilon,
                   "support_vectors": int(len(model.dual))})
    return model, report


@register
class SVRMethod(Method):
    """Hand-crafted ("nss") or frozen-backbone ("deep") video features through a grid-searched RBF SVR."""

    name: ClassVar[str] = "svr"
    description: ClassVar[str] = "Feature + RBF SVR baseline (BRISQUE / GM-LOG / temporal NSS features, or frozen deep features)."

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.settings = SVRSettings.from_config(self.config)
        self.model: RBFModel | None = None
        self.report: dict = {}
        self._backbone = None  # (module, spec) once built: fit and predict share it
        self._weights: list[dict] = []

    # ---- features ----

    def unavailable(self) -> str | None:
        if self.settings.features != "deep":
            return None
        from modeling.weights import weights_file  # lazy, as the deep path's other imports (torch)

        if weights_file(self.settings.backbone) is None:
            return (f"The pretrained {self.settings.backbone} weights are not here: run `python manage.py fetch_weights "
                    f"{self.settings.backbone}` (an SVR on a random network's features measures nothing).")
        return None

    def features(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None,
                 progress: Progress | None = None) -> np.ndarray:
        """The video feature matrix (ids x features) this method's SVR reads."""
        if self.settings.features == "nss":
            table = handcrafted_cached(frames, ids, policy=self.settings.frames, cache_root=cache_root, progress=progress)
            return table[:, feature_columns(self.settings.groups)]
        return self._deep_features(frames, ids, device=device, cache_root=cache_root, progress=progress)

    def _deep_features(self, frames: FrameSource, ids: Sequence[str], *, device: str, cache_root: Path | None,
                       progress: Progress | None) -> np.ndarray:
        # Imported here: the hand-crafted configuration runs without torch (an import of seconds).
        from modeling.archs.backbones import backbone_build
        from modeling.data.cache import features_cached

        if self._backbone is None:
            self._backbone = backbone_build(self.settings.backbone, weights="auto")
            spec = self._backbone[1]
            self._weights = [{"name": spec.name, "file": str(spec.weights), "sha256": spec.weights_sha256}] if spec.weights else []
        backbone, spec = self._backbone
        expected = self.report.get("weights_sha256")
        if self.model is not None and expected and spec.weights_sha256 != expected:
            raise ApplicationError("weights_changed", f"This SVR was trained on {spec.name} features from weights "
                                   f"{expected[:12]}, but the weights here are {str(spec.weights_sha256)[:12]}: retrain it.")
        with tempfile.TemporaryDirectory() as scratch:  # used only when no cache folder is given
            per_video = features_cached(backbone, spec, frames, list(ids), policy=self.settings.frames,
                                        cache_root=Path(cache_root) if cache_root is not None else Path(scratch),
                                        device=device, progress=progress, batch_size=self.settings.batch_size)
        return np.stack([np.concatenate([per_video[v].mean(axis=0), per_video[v].std(axis=0)]) for v in ids]).astype(np.float64)

    def _nss_names(self) -> list[str]:
        return [FEATURE_NAMES[i] for i in feature_columns(self.settings.groups)]

    # ---- Method ----

    def fit(self, ctx: TrainContext, train_ids: Sequence[str]) -> dict:
        started = time.perf_counter()
        cache_root = ctx.cache_root if ctx.cache_root is not None else ctx.work / "features"
        features = self.features(ctx.frames, train_ids, device=ctx.device, cache_root=cache_root, progress=ctx.progress)
        featured = time.perf_counter()
        mos = np.array([ctx.mos[v] for v in train_ids], dtype=np.float64)
        self.model, report = svr_train(features, mos, self.settings, seed=ctx.seed, progress=ctx.progress)
        if "validation_index" in report["search"]:
            report["search"]["validation_ids"] = [train_ids[i] for i in report["search"].pop("validation_index")]
        report["seconds"] = {"features": round(featured - started, 3), "svr": round(time.perf_counter() - featured, 3)}
        if self.settings.features == "deep":
            report["weights_sha256"] = self._backbone[1].weights_sha256
        self.report = report
        return report

    def predict(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        if self.model is None:
            raise ApplicationError("model_not_trained", "This SVR has not been trained or loaded.")
        return self.model.predict(self.features(frames, ids, device=device, cache_root=cache_root))

    def weights_used(self) -> list[dict]:
        return list(self._weights) or list(self.report.get("weights_used", []))

    def save(self, folder: Path) -> None:
        if self.model is None:
            raise ApplicationError("model_not_trained", "This SVR has not been trained: nothing to save.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        feature_info: dict[str, Any] = {"kind": self.settings.features, "count": int(self.model.mean.shape[0])}
        if self.settings.features == "nss":
            feature_info.update(version=FEATURES_VERSION, names=self._nss_names())
        else:
            feature_info.update(backbone=self.settings.backbone, weights_sha256=self.report.get("weights_sha256"))
        state = {"method": self.name, "config": self.config, "features": feature_info,
                 "report": self.report | {"weights_used": self.weights_used()}}
        np.savez(folder / STATE_ARRAYS, **self.model.arrays())
        (folder / STATE_JSON).write_text(json.dumps(state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SVRMethod:
        folder = Path(folder)
        if not (folder / STATE_JSON).is_file() or not (folder / STATE_ARRAYS).is_file():
            raise ApplicationError("bad_model", f"{folder} holds no saved SVR ({STATE_JSON} and {STATE_ARRAYS}).")
        state = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        if state.get("method") != cls.name:
            raise ApplicationError("bad_model", f"{folder} holds a {state.get('method')!r} model, not an SVR.")
        method = cls(state["config"])
        info = state["features"]
        if info["kind"] == "nss" and (info.get("version") != FEATURES_VERSION or info.get("names") != method._nss_names()):
            raise ApplicationError("model_outdated", f"This SVR was trained on hand-crafted features version "
                                   f"{info.get('version')}; this code computes version {FEATURES_VERSION}: retrain it.")
        with np.load(folder / STATE_ARRAYS, allow_pickle=False) as arrays:
            method.model = RBFModel.from_arrays({k: arrays[k] for k in arrays.files})
        method.report = state["report"]
        return method
