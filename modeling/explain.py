"""Textual explanation by retrieval in DA-CLIP's shared space (the paper's section V-E, Table V).

For a query video, the K training videos whose text embeddings (the mean of their reasons'
embeddings) are closest by cosine to the query's visual embedding are its explanation: their
reasons, and the mean of their 37-share category vectors (ExportData.categories: the share of a
video's descriptions that hit each place / artifact / extent category). Scored as Table V: the
RMSE between that mean vector and the query's own category vector, averaged over the test videos,
for K = 1, 3, ..., 13 and for random-1 (one training video drawn at random per query), overall and
per axis (place, artifact, extent). The paper: random-1 0.099, top-1 0.083, top-11 0.063.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

TABLE_V_KS = (1, 3, 5, 7, 9, 11, 13)
AXES = ("place", "artifact", "extent")  # the category columns' prefixes (analysis.export.videostats.CATEGORY_COLUMNS)


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(queries: np.ndarray, index: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, similarities), each Q x k: the k index rows of highest cosine similarity to each query,
    most similar first (ties: the lower row first). k is capped at the index size."""
    similarity = unit_rows(queries) @ unit_rows(index).T
    k = min(k, similarity.shape[1])
    rows = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return rows, np.take_along_axis(similarity, rows, axis=1)


def explanation_rmse(pred_vectors, true_vectors) -> float:
    """The mean over videos of the RMSE between a video's predicted and true category vectors (V x C each)."""
    pred, true = np.atleast_2d(np.asarray(pred_vectors, np.float64)), np.atleast_2d(np.asarray(true_vectors, np.float64))
    return float(np.mean(np.sqrt(np.mean((pred - true) ** 2, axis=1))))


def axis_columns(columns: Sequence[str]) -> dict[str, list[int]]:
    """Column positions of each group of Table V: all, and each axis by its prefix."""
    groups = {"all": list(range(len(columns)))}
    for axis in AXES:
        groups[axis] = [i for i, c in enumerate(columns) if c.startswith(f"{axis}_")]
    return groups


INDEX_REASONS = 5  # reasons kept per training video for serving: its most frequent distinct ones


def reasons_kept(reasons: Sequence[str], n: int = INDEX_REASONS) -> list[str]:
    """A video's `n` most frequent distinct reasons (ties: first given first): what an explanation quotes.

    A DREAM video has about 90 reasons, many alike; keeping five of each training video keeps a
    1,000-video model's folder under 1 MB while quoting what most people wrote."""
    counts: dict[str, int] = {}
    for reason in reasons:
        text = str(reason).strip()
        if text:
            counts[text] = counts.get(text, 0) + 1
    return [text for text, _ in sorted(counts.items(), key=lambda item: -item[1])[:n]]


@dataclass
class ExplanationIndex:
    """What the explanation retrieves from: the training videos, their mean reason embeddings (N x d),
    their category vectors (N x 37, columns named) and their reasons."""

    ids: list[str]
    text: np.ndarray
    categories: np.ndarray
    columns: tuple[str, ...]
    reasons: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, method) -> ExplanationIndex:
        """The index a trained (or loaded) DA-CLIP keeps: its training videos, their mean reason embeddings,
        category vectors and a few reasons each (the model folder holds all of it, so serving needs no export)."""
        if method.index_text is None or not method.index_ids:
            raise ValueError("the model has no explanation index (train it, or load a saved DA-CLIP)")
        return cls(ids=list(method.index_ids), text=np.asarray(method.index_text), categories=np.asarray(method.index_categories),
                   columns=tuple(method.index_columns), reasons=method.index_reasons)


@dataclass(frozen=True)
class Explanation:
    """One video's explanation: the retrieved training videos (most similar first) with their
    similarities and reasons, and the mean category vector, by column name."""

    neighbours: list[str]
    similarities: list[float]
    reasons: list[str]
    categories: dict[str, float]


def explain(index: ExplanationIndex, visual: np.ndarray, k: int = 11) -> list[Explanation]:
    """The top-k explanation of each query (rows of `visual`, the model's visual embeddings)."""
    rows, similarity = nearest(visual, index.text, k)
    out = []
    for its_rows, its_similarity in zip(rows, similarity):
        videos = [index.ids[r] for r in its_rows]
        mean = index.categories[its_rows].mean(axis=0)
        out.append(Explanation(neighbours=videos, similarities=[float(s) for s in its_similarity],
                               reasons=[reason for v in videos for reason in index.reasons.get(v, [])],
                               categories=dict(zip(index.columns, map(float, mean)))))
    return out


def table_v(neighbours: np.ndarray, index_categories: np.ndarray, true_categories: np.ndarray, columns: Sequence[str], *,
            ks: Sequence[int] = TABLE_V_KS, random_draws: int = 10, seed: int = 0) -> list[dict]:
    """Table V for a set of test videos from their retrieved training videos: one row per strategy
    (random-1, then top-K for each K), with the mean RMSE over the videos overall ("all") and per axis.

    `neighbours` (Q x at least max(ks)) holds, per test video, rows of `index_categories` (the
    training videos' share vectors), nearest first. Random-1 draws one training video per query,
    `random_draws` times; its row gives the mean over the draws and their standard deviation
    (<group>_std), as the paper's ± does. The top-K vector is the plain mean of the K neighbours'
    share vectors (each video counts once, whatever its number of ratings). Test videos without a
    category vector (NaN: no descriptions) are left out.
    """
    true = np.asarray(true_categories, np.float64)
    keep = ~np.isnan(true).any(axis=1)
    neighbours, true = np.asarray(neighbours)[keep], true[keep]
    index_categories = np.asarray(index_categories, np.float64)
    groups = axis_columns(columns)

    def scores(pred: np.ndarray) -> dict[str, float]:
        return {name: explanation_rmse(pred[:, cols], true[:, cols]) for name, cols in groups.items() if cols}

    rng = np.random.default_rng(seed)
    draws = [scores(index_categories[rng.integers(0, len(index_categories), len(true))]) for _ in range(random_draws)]
    random_row = {"strategy": "random-1"}
    for name in draws[0]:
        values = [d[name] for d in draws]
        random_row[name], random_row[f"{name}_std"] = float(np.mean(values)), float(np.std(values))
    table = [random_row]
    for k in ks:
        table.append({"strategy": f"top-{k}", **scores(index_categories[neighbours[:, :k]].mean(axis=1))})
    return table


def explanation_table(visual: np.ndarray, index_text: np.ndarray, index_categories: np.ndarray, true_categories: np.ndarray,
                      columns: Sequence[str], *, ks: Sequence[int] = TABLE_V_KS, random_draws: int = 10, seed: int = 0) -> list[dict]:
    """Table V of visual embeddings retrieving by cosine from the training videos' text embeddings (see table_v)."""
    rows, _ = nearest(visual, index_text, max(ks))
    return table_v(rows, index_categories, true_categories, columns, ks=ks, random_draws=random_draws, seed=seed)
