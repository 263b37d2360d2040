"""The analysis pipeline as named stages over one ratings frame; no Django, no Celery.

The job runner runs these stages one Celery task each for a campaign stored in the database
(`job_stages.py`, the analysis job kind); `manage.py analyze_ratings` runs them in a row for a CSV from anywhere. Each stage takes
the ratings (every attempt of regular videos, exclusions already removed) and the parameters, and
returns a JSON-ready dict, so a stage can be re-run alone after a crash and its output stored as is.

Which ratings each statistic uses follows the paper: the dataset's MOS, the consistency, the group
tests and the subject models use qualified sessions only ("after rectification"); the SOS fit is
reported both over every attempt (before) and over qualified ones (after).
"""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .stats import consistency, groups, opinion, reasons, sos, subjects
from .stats._ratings import NotEnoughData

# The columns a ratings frame may carry; only the first three are required.
RATING_COLUMNS = (
    "video", "annotator", "score", "attempt", "qualified", "is_fake", "seconds", "age", "gender",
    "education", "prior_knowledge", "reason", "typed_reason", "content", "day",
)
GROUP_ATTRIBUTES = ("age", "gender", "education", "prior_knowledge")


@dataclass(frozen=True)
class Parameters:
    """Everything a run's numbers depend on besides the ratings (stored with every run)."""

    confidence: float = 0.95
    consistency_repetitions: int = 10
    consistency_sizes: tuple[int, ...] = ()  # empty: a log-spaced default up to half the pool
    seed: int = 0
    time_quantiles: int = 4
    content_ambiguity: bool = False
    top_words: int = 60
    min_reason_words: int = 3

    @classmethod
    def from_dict(cls, data: dict | None) -> Parameters:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown analysis parameter(s): {', '.join(sorted(unknown))}")
        if "consistency_sizes" in data:
            data["consistency_sizes"] = tuple(int(k) for k in data["consistency_sizes"])
        return cls(**data)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["consistency_sizes"] = list(self.consistency_sizes)
        return data


def _clean(value):
    """JSON-ready: NaN and infinities become None, numpy scalars plain numbers, arrays lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _clean_array(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _clean_array(values: np.ndarray) -> list:
    """A numeric column as a JSON-ready list in a few C passes; other dtypes value by value.

    Stage outputs hold a value per annotator and per video; one Python call per value took about
    1 s of the subjects stage at ten times DREAM scale (measured), a third of the stage.
    """
    if values.dtype.kind == "f":
        out = values.astype(object)  # Python floats
        out[~np.isfinite(values)] = None
        return out.tolist()
    if values.dtype.kind in "iub":
        return values.tolist()
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # texts: only NaN to clean
        out = values.astype(object)
        out[pd.isna(values)] = None
        return out.tolist()
    return [_clean(v) for v in values.tolist()]


def _columns(frame: pd.DataFrame, index_name: str) -> dict:
    """A frame as {column: array}, index included (lists once `_clean`ed): compact and easy to plot or write as CSV."""
    out = frame.reset_index().rename(columns={"index": index_name})
    return {c: out[c].to_numpy() for c in out.columns}


CORE_COLUMNS = ("video", "annotator", "score")
# A stage whose statistic the data cannot support returns its empty result and, under its name with
# this suffix, the reason; `summary` lists them as not available.
UNAVAILABLE = "_unavailable"


def qualified_only(ratings: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The ratings of qualified attempts (all of them when there is no `qualified` column).

    With `columns`, only those that are present are kept, selected before the rows are, so a
    statistic that reads three columns does not copy the others (texts are the heavy ones).
    """
    if columns is not None:
        ratings = ratings[[c for c in dict.fromkeys([*columns, "qualified"]) if c in ratings.columns]]
    if "qualified" not in ratings.columns:
        return ratings
    return ratings[ratings["qualified"].astype(bool)]


# --- Stages -----------------------------------------------------------------------------------


def stage_videos(ratings: pd.DataFrame, params: Parameters) -> dict:
    per_video = opinion.opinion_scores(qualified_only(ratings, CORE_COLUMNS), confidence=params.confidence)
    per_video.index.name = "video"
    return {"videos": _columns(per_video, "video")}


def stage_sos(ratings: pd.DataFrame, params: Parameters) -> dict:
    before = sos.sos_scatter(ratings)
    after = sos.sos_scatter(qualified_only(ratings, CORE_COLUMNS))
    fit_before = sos.sos_fit(before["mos"].to_numpy(), before["variance"].to_numpy())
    fit_after = sos.sos_fit(after["mos"].to_numpy(), after["variance"].to_numpy())
    return {
        "sos": {
            "before": asdict(fit_before),
            "after": asdict(fit_after),
            "scatter_before": _columns(before, "video"),
            "scatter_after": _columns(after, "video"),
        }
    }


def stage_consistency(ratings: pd.DataFrame, params: Parameters) -> dict:
    try:
        table = consistency.split_half_consistency(
            qualified_only(ratings, CORE_COLUMNS),
            group_sizes=params.consistency_sizes or None,
            repetitions=params.consistency_repetitions,
            seed=params.seed,
        )
    except NotEnoughData as exc:  # reported as not available, not a failed run
        return {"consistency": {}, "consistency" + UNAVAILABLE: str(exc)}
    return {"consistency": {c: table[c].tolist() for c in table.columns}}


def stage_groups(ratings: pd.DataFrame, params: Parameters) -> dict:
    qualified = qualified_only(ratings, [*CORE_COLUMNS, "is_fake", "seconds", *GROUP_ATTRIBUTES])
    if "is_fake" not in qualified.columns:
        return {"groups": {"fnr": {}, "tests": {}}}
    fnr = groups.false_negative_rates(qualified)
    present = [a for a in GROUP_ATTRIBUTES if a in qualified.columns]
    if present:
        fnr = fnr.join(groups.annotator_attributes(qualified, present))
    if "seconds" in qualified.columns:
        fnr = fnr.join(qualified.groupby("annotator")["seconds"].mean().rename("mean_seconds"))
        fnr = fnr.join(groups.time_groups(qualified, quantiles=params.time_quantiles).rename("time_group").astype(str))
    tests = groups.fnr_group_tests(qualified, attributes=present, time_quantiles=params.time_quantiles if "seconds" in qualified.columns else None)
    return {"groups": {"fnr": _columns(fnr, "annotator"), "tests": {k: asdict(v) for k, v in tests.items()}}}


def stage_subjects(ratings: pd.DataFrame, params: Parameters) -> dict:
    qualified = qualified_only(ratings, [*CORE_COLUMNS, "content"])
    rejection = subjects.bt500_rejection(qualified)
    p913 = subjects.mos_model(qualified, remove_bias=True)
    content_aware = params.content_ambiguity and "content" in qualified.columns
    mle = subjects.mle_model(qualified, content_aware=content_aware)
    annotators = mle.subjects_frame().join(rejection.frame()[["rejected", "share", "balance"]], how="outer")
    annotators = annotators.join(pd.Series(p913.subject_bias, index=p913.subjects, name="p913_bias"), how="outer")
    annotators.index.name = "annotator"
    videos = mle.videos_frame().join(p913.frame()[["mos"]].rename(columns={"mos": "p913_mos"}), how="outer")
    videos.index.name = "video"
    return {
        "subjects": {
            "annotators": _columns(annotators, "annotator"),
            "videos": _columns(videos, "video"),
            "mle": {"model": mle.model, "iterations": mle.n_iterations, "converged": mle.converged,
                    "loglikelihood": mle.loglikelihood, "aic": mle.aic, "bic": mle.bic},
            "bt500_rejected": int(np.sum(rejection.rejected)),
        }
    }


def stage_reasons(ratings: pd.DataFrame, params: Parameters) -> dict:
    if "reason" not in ratings.columns:
        return {"reasons": {}}
    qualified = qualified_only(ratings, [*CORE_COLUMNS, *TEXT_COLUMNS]).reset_index(drop=True)
    # Each text column is normalized and matched once (per distinct text) for all its statistics.
    stored = reasons.corpus(qualified["reason"])
    words = reasons.word_frequencies(stored).head(params.top_words)
    shares = reasons.category_shares(stored)
    per_video = reasons.category_vectors(qualified, texts=stored)
    typed = qualified.assign(reason=qualified["typed_reason"]) if "typed_reason" in qualified.columns else qualified
    typed_texts = reasons.corpus(typed["reason"]) if "typed_reason" in qualified.columns else stored
    flags = reasons.suspicious_reasons(typed, texts=typed_texts, min_words=params.min_reason_words)
    flagged = typed.loc[flags["suspicious"].to_numpy(), ["video", "annotator", "score", "reason"]].join(
        flags.loc[flags["suspicious"].to_numpy(), ["too_short", "pasted", "contradicts_grade"]]
    )
    per_annotator = flags.assign(annotator=typed["annotator"]).groupby("annotator")["suspicious"].mean()
    return {
        "reasons": {
            "words": {c: words[c].to_numpy() for c in ("word", "count", "share")},
            "category_shares": {"category": list(shares.index), "share": shares.tolist()},
            "video_categories": _columns(per_video, "video"),
            "flagged": {c: flagged[c].to_numpy() for c in flagged.columns},
            "flagged_share_by_annotator": _columns(per_annotator.rename("flagged_share").to_frame(), "annotator"),
        }
    }


TEXT_COLUMNS = ("reason", "typed_reason")


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[pd.DataFrame, Parameters], dict]
    # Only the reasons stage reads the texts, by far the heaviest columns to load between tasks.
    needs_text: bool = False


STAGES: tuple[Stage, ...] = (
    Stage("videos", stage_videos),
    Stage("sos", stage_sos),
    Stage("consistency", stage_consistency),
    Stage("groups", stage_groups),
    Stage("subjects", stage_subjects),
    Stage("reasons", stage_reasons, needs_text=True),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(f"no analysis stage {name!r} (stages: {', '.join(STAGE_NAMES)})")


def run_stage(name: str, ratings: pd.DataFrame, params: Parameters) -> dict:
    return _clean(stage_named(name).run(ratings, params))


@dataclass
class PipelineResult:
    results: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def run_all(ratings: pd.DataFrame, params: Parameters, *, progress: Callable[[Iterable], Iterable] = lambda it: it) -> PipelineResult:
    """Every stage in order, in this process (the CSV path and the in-process fallback)."""
    out = PipelineResult()
    for stage in progress(STAGES):
        started = time.perf_counter()
        out.results.update(run_stage(stage.name, ratings, params))
        out.seconds[stage.name] = round(time.perf_counter() - started, 4)
    return out


def summary(results: dict) -> dict:
    """The headline numbers of a run (what summary.json and the dashboard header show)."""
    videos = results.get("videos", {})
    mos = [m for m in videos.get("mos", []) if m is not None]
    tests = results.get("groups", {}).get("tests", {})
    consistency_rows = results.get("consistency", {})
    return {
        "videos": len(videos.get("video", [])),
        "mean_mos": float(np.mean(mos)) if mos else None,
        "sos_a_before": results.get("sos", {}).get("before", {}).get("a"),
        "sos_a_after": results.get("sos", {}).get("after", {}).get("a"),
        "split_half": [dict(zip(consistency_rows, row)) for row in zip(*consistency_rows.values())] if consistency_rows else [],
        "kruskal": {name: {"h": t["h"], "p": t["p"], "effect": t["effect"], "n": t["n"]} for name, t in tests.items()},
        "category_shares": dict(zip(results.get("reasons", {}).get("category_shares", {}).get("category", []),
                                    results.get("reasons", {}).get("category_shares", {}).get("share", []))),
        "bt500_rejected": results.get("subjects", {}).get("bt500_rejected"),
        "not_available": {key[: -len(UNAVAILABLE)]: reason for key, reason in results.items() if key.endswith(UNAVAILABLE)},
    }


def code_version() -> str:
    """A fingerprint of the code that computes the numbers, stored with every run."""
    digest = hashlib.sha1()
    here = Path(__file__).resolve().parent
    for path in sorted([here / "pipeline.py", *(here / "stats").rglob("*.py")]):
        digest.update(str(path.relative_to(here)).encode())
        digest.update(path.read_bytes())
    return f"analysis-{digest.hexdigest()[:12]}"
