"""Run Netflix sureal (the reference implementation) on long-format ratings, for side-by-side tests."""
from __future__ import annotations

import contextlib
import io
import types
import warnings
from typing import Any

import numpy as np
import pandas as pd


def sureal_dataset(ratings: pd.DataFrame) -> types.SimpleNamespace:
    """A sureal dataset object: one dis_video per video with `os` = {subject: score or [repeats]}.

    Videos are in sorted order and subjects are sorted by sureal itself, the same order as ours.
    Repeated ratings of a video by a subject become a list (sureal's repetition axis), in row order.
    """
    content = ratings.groupby("video")["content"].first() if "content" in ratings else None
    dataset = types.SimpleNamespace()
    contents = sorted(set(content.tolist())) if content is not None else [0]
    dataset.ref_videos = [{"content_id": int(c), "path": f"ref_{c}"} for c in contents]
    dataset.dis_videos = []
    for video, rows in ratings.groupby("video", sort=True):
        opinion: dict[Any, Any] = {}
        for subject, score in zip(rows["annotator"].tolist(), rows["score"].tolist()):
            if subject in opinion:
                previous = opinion[subject]
                opinion[subject] = (previous if isinstance(previous, list) else [previous]) + [float(score)]
            else:
                opinion[subject] = float(score)
        dataset.dis_videos.append(
            {
                "content_id": int(content[video]) if content is not None else 0,
                "asset_id": video,
                "path": f"dis_{video}",
                "os": opinion,
            }
        )
    return dataset


def run_sureal(model_name: str, ratings: pd.DataFrame, **kwargs: Any) -> dict[str, Any]:
    """sureal's `model_name` (a class in sureal.subjective_model) run on the ratings, output silenced."""
    from sureal import subjective_model
    from sureal.dataset_reader import RawDatasetReader

    model_class = getattr(subjective_model, model_name)
    reader = RawDatasetReader(sureal_dataset(ratings))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_class(reader).run_modeling(**kwargs)


def as_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
