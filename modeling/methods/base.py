"""What every realism method offers, the registry of methods, and their configuration files.

A method learns video -> MOS from the training videos of one split and predicts any video from
its face crops. It sees videos only through a `TrainContext`: the crops by video id
(`FrameSource`), the training labels (MOS and reasons) of the ids it is given, and a scratch
folder for resumable checkpoints and cached features. `predict` is given crops only, never a label,
so a test video's MOS or reasons cannot reach a prediction (tests/modeling/test_protocol.py).
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from annotation.errors import ApplicationError
from modeling.data.sources import FrameSource, Progress

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
# A configuration file's keys that are not settings: which method, which file, what it is.
PASSIVE_KEYS = ("method", "config", "description")


class MethodUnavailable(ApplicationError):
    """The method cannot run here (a checkpoint it needs was not given); it reports that instead of numbers."""

    def __init__(self, message: str):
        super().__init__("method_unavailable", message, status=409)


@dataclass
class TrainContext:
    """What a method may read while it trains: crops, the training labels, a device, a seed and a folder."""

    frames: FrameSource
    mos: Mapping[str, float]  # training videos only
    reasons: Mapping[str, Sequence[str]]  # training videos only
    work: Path  # scratch: checkpoints (resumable), cached features
    device: str = "cpu"
    seed: int = 0
    progress: Progress = field(default=lambda stage, done, total: None)
    cache_root: Path | None = None  # where frozen-backbone features are cached (modeling.data.cache)
    # The training videos' 37-share category vectors (ExportData.categories) and their column names:
    # what an explaining method shows of the training videos it retrieves.
    categories: Mapping[str, Sequence[float]] = field(default_factory=dict)
    category_columns: tuple[str, ...] = ()


class Method:
    """Base of every method. Subclasses set `name` and implement fit, predict, state and from_state."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, config: Mapping[str, Any]):
        self.config = dict(config)

    def unavailable(self) -> str | None:
        """Why this method cannot run with its config here, or None when it can."""
        return None

    def fit(self, ctx: TrainContext, train_ids: Sequence[str]) -> dict:
        """Learn from `train_ids` (their MOS and reasons are in ctx); returns what happened (epochs, losses, best epoch)."""
        raise NotImplementedError

    def predict(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        """Predicted MOS of each video in `ids`, from its crops only."""
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        """Write the trained state under `folder` (weights as safetensors, config and the rest as JSON)."""
        raise NotImplementedError

    @classmethod
    def load(cls, folder: Path) -> Method:
        raise NotImplementedError

    def weights_used(self) -> list[dict]:
        """The pretrained files this method started from: [{"name", "file", "sha256"}] (empty: from scratch or none)."""
        return []


MOS_SCALE = (1.0, 5.0)  # the five grades (annotation.models.GRADES): a MOS lies between the lowest and the highest


def linear_calibration(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(a, b) with a * score + b the least-squares fit of the MOS on the training videos: Norm-in-Norm and
    KL leave the scores' scale and offset free, so a calibrated score reads on the 1..5 scale. It is monotone
    increasing (a > 0 when the scores correlate positively), so PLCC and SRCC are unchanged."""
    scores, truth = np.asarray(scores, np.float64), np.asarray(truth, np.float64)
    if len(scores) < 2 or np.ptp(scores) == 0:
        return 0.0, float(np.mean(truth)) if len(truth) else 0.0
    a, b = np.polyfit(scores, truth, 1)
    return float(a), float(b)


def mos_scaled(scores, calibration: tuple[float, float]) -> np.ndarray:
    """Scores calibrated to the MOS scale and bounded by it. A head on frozen features extrapolates on
    frames unlike any training frame (benchmark split 0: DA-CLIP gave -35 for a video of MOS 1.29, HUST
    96.8; a handful of such videos took Test-1's PLCC from 0.74 to 0.37 for DA-CLIP and from 0.72 to 0.04
    for HUST), and no MOS lies outside the grades."""
    a, b = calibration
    return np.clip(a * np.asarray(scores, np.float64) + b, *MOS_SCALE)


METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: add a method under its `name`; a taken name is refused."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in METHODS and METHODS[cls.name] is not cls:
        raise ValueError(f"a method named {cls.name!r} is already registered")
    METHODS[cls.name] = cls
    return cls


def config_path(name: str) -> Path:
    """Where configuration `name` is: modeling/configs/<name>.json, or `name` itself when it is a .json file's path
    (a configuration of one's own, or a test's, without adding it to the shipped ones)."""
    return Path(name) if name.endswith(".json") else CONFIG_DIR / f"{name}.json"


def config_name(name: str) -> str:
    """The name a configuration is reported under: its file's stem."""
    return config_path(name).stem


def config_load(name: str) -> dict:
    """The config file of a configuration name (see config_path); its "method" names the class."""
    path = config_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
        raise ApplicationError("unknown_method", f"No configuration named {name!r}. Known: {known}.", status=400)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApplicationError("bad_config", f"The configuration {path} is not valid JSON: {exc}.", status=400)


def method_make(name: str, overrides: Mapping[str, Any] | None = None) -> Method:
    """The method of configuration `name` with `overrides` applied on top of its config file."""
    config = config_load(name)
    config.update(overrides or {})
    config["config"] = config_name(name)
    cls = METHODS.get(config.get("method", name))
    if cls is None:
        raise ApplicationError("unknown_method", f"Configuration {name!r} names no registered method ({config.get('method')!r}).", status=400)
    return cls(config)


# --- a method's settings from its configuration ---------------------------------------------------

Settings = TypeVar("Settings")


def settings_from_mapping(cls: type[Settings], mapping: Mapping[str, Any], *, what: str) -> Settings:
    """The settings dataclass `cls` of a configuration (file + overrides), its values checked against the fields.

    Refused with ApplicationError("bad_config") naming `what` (e.g. "DA-CLIP"): a key that is no field
    (a typo must not silently become the default; PASSIVE_KEYS excepted), a field without a default
    that is missing, a value that is not of its field's annotated type (value_fits). JSON lists become
    tuples where the field is a tuple. Rules between fields (ranges, names) are the caller's.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(mapping) - set(fields) - set(PASSIVE_KEYS))
    if unknown:
        raise ApplicationError("bad_config", f"{what} has no setting {', '.join(unknown)}; its settings are {', '.join(sorted(fields))}.")
    missing = [name for name, f in fields.items() if name not in mapping
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ApplicationError("bad_config", f"{what} needs the setting(s) {', '.join(missing)}.")
    values = {}
    for name, value in mapping.items():
        if name not in fields:
            continue
        if not value_fits(value, hints[name]):
            raise ApplicationError("bad_config", f"{what}'s {name} must be {type_text(hints[name])}, not {value!r}.")
        values[name] = tuple(value) if typing.get_origin(hints[name]) is tuple else value
    return cls(**values)


def value_fits(value: Any, hint: Any) -> bool:
    """Whether a configuration value (parsed JSON) is of the annotated type: bool is not a number, an int
    is a float, a float must be finite, containers are checked item by item."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(value_fits(value, arg) for arg in args)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list):
        return isinstance(value, (list, tuple)) and all(value_fits(item, args[0]) for item in value)
    if origin in (Mapping, dict):
        return isinstance(value, Mapping) and all(value_fits(k, args[0]) and value_fits(v, args[1]) for k, v in value.items())
    raise TypeError(f"settings of type {hint} are not checked; add the type to value_fits")


def type_text(hint: Any) -> str:
    """A type annotation in the words of a configuration file (JSON)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_text(arg) for arg in args)
    if origin in (tuple, list):
        return f"a list ({type_text(args[0])} each)"
    if origin in (Mapping, dict):
        return f"an object ({type_text(args[1])} per key)"
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", type(None): "null"}
    return words.get(hint, str(hint))


# --- the validation videos -------------------------------------------------------------------------

def validation_split(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(training rows, validation rows) of rows 0..n-1: a seeded random `fraction` held out to choose the best
    epoch or hyper-parameters (the paper's 80/20 split of the training set). None at fraction 0; else at
    least 2 (PLCC and SRCC need two videos) as long as 2 are left to train on. Both lists sorted."""
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_val = 0 if fraction == 0 else min(n - 2, max(2, round(fraction * n)))
    return sorted(order[n_val:]), sorted(order[:n_val])
