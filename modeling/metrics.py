"""The paper's evaluation (section V-A, Table II): PLCC and SRCC per test set, their averages and `avr`. No torch.

PLCC is computed on the raw predictions (the paper reports no logistic mapping), SRCC on ranks;
both are scipy's, and a constant prediction has no correlation: it scores 0, not NaN, so a model
that learned nothing ranks below one that learned a little instead of breaking the average.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from modeling.data.export import TEST_SETS


def plcc(pred, truth) -> float:
    """Pearson's linear correlation of predictions and MOS (0 when either is constant or fewer than 2 videos)."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(truth) == 0:
        return 0.0
    return float(stats.pearsonr(pred, truth).statistic)


def srcc(pred, truth) -> float:
    """Spearman's rank correlation of predictions and MOS (0 when either is constant or fewer than 2 videos)."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(truth) == 0:
        return 0.0
    return float(stats.spearmanr(pred, truth).statistic)


def rmse(pred, truth) -> float:
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def split_metrics(predictions: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> dict[str, float]:
    """Table II's columns for one split from {test set: (predictions, MOS)}.

    Returns plcc_<set> and srcc_<set> for test1..test3, plcc_avr and srcc_avr (their means over the
    three sets) and avr = (plcc_avr + srcc_avr) / 2.
    """
    row: dict[str, float] = {}
    for name in TEST_SETS:
        pred, truth = predictions[name]
        row[f"plcc_{name}"] = plcc(pred, truth)
        row[f"srcc_{name}"] = srcc(pred, truth)
    row["plcc_avr"] = float(np.mean([row[f"plcc_{n}"] for n in TEST_SETS]))
    row["srcc_avr"] = float(np.mean([row[f"srcc_{n}"] for n in TEST_SETS]))
    row["avr"] = (row["plcc_avr"] + row["srcc_avr"]) / 2
    return row


METRIC_COLUMNS = tuple(
    [f"{m}_{n}" for n in TEST_SETS for m in ("plcc", "srcc")] + ["plcc_avr", "srcc_avr", "avr"]
)
