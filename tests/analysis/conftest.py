"""Fixtures of the analysis tests: the shared real opinion-score datasets as long-format ratings.

These tests exercise pure functions only; none asks for the `db` fixture, so pytest-django never
sets up a database for them.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest



def _shared_datasets() -> Path:
    """The nearest `shared/datasets` above the checkout: beside the main checkout, and beside a
    worktree's parent folder (/work/wt/<name>), where the sureal comparisons would otherwise skip."""
    for folder in Path(__file__).resolve().parents[2:]:
        if (folder / "shared" / "datasets").is_dir():
            return folder / "shared" / "datasets"
    return Path(__file__).resolve().parents[3] / "shared" / "datasets"


DATASETS = _shared_datasets()
SHARED = {"nflx": "nflx_public_opinion_scores.csv", "vqeghd3": "vqeghd3_opinion_scores.csv"}


def load_shared(name: str) -> pd.DataFrame:
    """One row per rating: video, annotator, score, content (the file's video_id, subject, content_id)."""
    path = DATASETS / SHARED[name]
    if not path.exists():
        pytest.skip(f"shared dataset {path} is not there")
    raw = pd.read_csv(path)
    return pd.DataFrame(
        {"video": raw["video_id"], "annotator": raw["subject"], "score": raw["score"], "content": raw["content_id"]}
    )


@pytest.fixture(params=sorted(SHARED), scope="session")
def shared_ratings(request: pytest.FixtureRequest) -> tuple[str, pd.DataFrame]:
    return request.param, load_shared(request.param)
