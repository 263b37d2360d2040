"""Subject models against Netflix sureal run side by side on the same ratings (shared real datasets)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats.subjects import bt500_rejection, mle_model, mos_model
from tests.analysis.conftest import load_shared
from tests.analysis.sureal_reference import as_array, run_sureal

TOL = 1e-3


def close(ours: np.ndarray, reference: object, tol: float = TOL) -> None:
    reference = as_array(reference)
    assert ours.shape == reference.shape
    finite = np.isfinite(reference)
    assert np.array_equal(finite, np.isfinite(ours)), "different cells are undefined"
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=0, atol=tol)


def with_missing(ratings: pd.DataFrame, share: float = 0.3, seed: int = 7) -> pd.DataFrame:
    """Drop a random share of the ratings: a sparse design like DREAM's (NaN cells in sureal)."""
    rng = np.random.default_rng(seed)
    return ratings.loc[rng.random(len(ratings)) >= share].reset_index(drop=True)


def with_repeats(ratings: pd.DataFrame, share: float = 0.15, seed: int = 11) -> pd.DataFrame:
    """Add a second rating (a re-annotation, one grade off at random) for a share of the cells."""
    rng = np.random.default_rng(seed)
    again = ratings.loc[rng.random(len(ratings)) < share].copy()
    again["score"] = np.clip(again["score"] + rng.choice([-1.0, 0.0, 1.0], size=len(again)), 1, 5)
    return pd.concat([ratings, again], ignore_index=True)


MOS_MODELS = [
    ("MosModel", {}),
    ("SubjrejMosModel", {"reject_subjects": True}),
    ("BiasremvMosModel", {"remove_bias": True}),
    ("BiasremvSubjrejMosModel", {"remove_bias": True, "reject_subjects": True}),
]


def check_mos_family(ratings: pd.DataFrame, model: str, options: dict) -> None:
    reference = run_sureal(model, ratings)
    ours = mos_model(ratings, **options)
    close(ours.mos, reference["quality_scores"])
    close(ours.mos - ours.mos_ci_low, reference["quality_scores_ci95"][0])
    close(ours.mos_ci_high - ours.mos, reference["quality_scores_ci95"][1])
    close(ours.mos_std, reference["quality_scores_std"])
    close(ours.sos, reference["quality_ambiguity"])
    assert ours.loglikelihood == pytest.approx(reference["loglikelihood"], abs=TOL)
    assert ours.aic == pytest.approx(reference["aic"], abs=TOL)
    assert ours.bic == pytest.approx(reference["bic"], abs=TOL)
    if options.get("remove_bias"):
        close(ours.subject_bias, reference["observer_bias"])
    if options.get("reject_subjects"):
        assert ours.rejection is not None
        assert ours.rejection.rejected.tolist() == list(reference["observer_rejected"])
        close(ours.rejection.share, reference["observer_rejected_1st_stats"])
        close(ours.rejection.balance, reference["observer_rejected_2nd_stats"])


@pytest.mark.parametrize("model,options", MOS_MODELS, ids=[m for m, _ in MOS_MODELS])
def test_mos_family_matches_sureal(shared_ratings, model, options):
    _, ratings = shared_ratings
    check_mos_family(ratings, model, options)


@pytest.mark.parametrize("model,options", MOS_MODELS, ids=[m for m, _ in MOS_MODELS])
@pytest.mark.parametrize("design", ["missing", "repeats"])
def test_mos_family_matches_sureal_on_sparse_and_repeated_designs(model, options, design):
    ratings = load_shared("nflx")
    ratings = with_missing(ratings) if design == "missing" else with_repeats(ratings)
    check_mos_family(ratings, model, options)


def test_bt500_rejects_subjects_on_the_shared_datasets(shared_ratings):
    # A regression guard that the rule is not vacuous on real data: sureal rejects one subject in
    # each dataset (asserted equal to ours above); BT.500 after P.913 bias removal rejects more.
    name, ratings = shared_ratings
    assert bt500_rejection(ratings).rejected.sum() == 1
    assert mos_model(ratings, remove_bias=True, reject_subjects=True).rejection.rejected.sum() == {"nflx": 4, "vqeghd3": 2}[name]


def check_mle(ratings: pd.DataFrame, content_aware: bool) -> None:
    model = "MaximumLikelihoodEstimationModel" if content_aware else "MaximumLikelihoodEstimationModelContentOblivious"
    reference = run_sureal(model, ratings)
    ours = mle_model(ratings, content_aware=content_aware)
    assert ours.n_iterations == reference["num_iter"]
    close(ours.quality, reference["quality_scores"])
    close(ours.quality - ours.quality_ci_low, reference["quality_scores_ci95"][0])
    close(ours.quality_ci_high - ours.quality, reference["quality_scores_ci95"][1])
    close(ours.subject_bias, reference["observer_bias"])
    close(ours.subject_bias - ours.subject_bias_ci_low, reference["observer_bias_ci95"][0])
    close(ours.subject_bias_ci_high - ours.subject_bias, reference["observer_bias_ci95"][1])
    close(ours.subject_inconsistency, reference["observer_inconsistency"])
    close(ours.subject_inconsistency - ours.subject_inconsistency_ci_low, reference["observer_inconsistency_ci95"][0])
    close(ours.subject_inconsistency_ci_high - ours.subject_inconsistency, reference["observer_inconsistency_ci95"][1])
    assert ours.loglikelihood == pytest.approx(reference["loglikelihood"], abs=TOL)
    assert ours.aic == pytest.approx(reference["aic"], abs=TOL)
    if content_aware:
        close(ours.content_ambiguity, reference["content_ambiguity"])
        close(ours.content_ambiguity - ours.content_ambiguity_ci_low, reference["content_ambiguity_ci95"][0])
    else:
        assert "content_ambiguity" not in reference
        assert np.isnan(ours.content_ambiguity).all()


@pytest.mark.parametrize("content_aware", [False, True], ids=["MLE_CO", "MLE"])
def test_mle_matches_sureal(shared_ratings, content_aware):
    _, ratings = shared_ratings
    check_mle(ratings, content_aware)


@pytest.mark.parametrize("design", ["missing", "repeats"])
def test_mle_content_oblivious_matches_sureal_on_sparse_and_repeated_designs(design):
    ratings = load_shared("vqeghd3")
    ratings = with_missing(ratings) if design == "missing" else with_repeats(ratings)
    check_mle(ratings, content_aware=False)


def test_undamped_content_oblivious_lands_on_sureal_estimates(shared_ratings):
    _, ratings = shared_ratings
    reference = run_sureal("MaximumLikelihoodEstimationModelContentOblivious", ratings)
    fast = mle_model(ratings, content_aware=False, refresh_rate=1.0)
    assert fast.converged and fast.n_iterations < 30
    close(fast.quality, reference["quality_scores"])
    close(fast.subject_bias, reference["observer_bias"])
    close(fast.subject_inconsistency, reference["observer_inconsistency"])


def test_content_oblivious_is_the_model_without_ambiguity():
    # In sureal, MaximumLikelihoodEstimationModel (TYPE "MLE") is the content-aware one and
    # ...ContentOblivious ("MLE_CO") fixes a_c = 0; with a_c free the fit can only be as good or better.
    ratings = load_shared("vqeghd3")
    full, oblivious = mle_model(ratings, content_aware=True), mle_model(ratings, content_aware=False)
    assert (full.model, oblivious.model) == ("MLE", "MLE_CO")
    assert full.loglikelihood >= oblivious.loglikelihood
    assert (full.content_ambiguity >= 0).all() and len(full.content_ambiguity) == 8
    # Without a content column every video is its own content: one ambiguity per video.
    per_video = mle_model(ratings.drop(columns="content"), content_aware=True, max_iterations=50)
    assert len(per_video.content_ambiguity) == ratings["video"].nunique()


def test_mle_recovers_planted_subject_bias_and_inconsistency():
    # Independent of sureal: synthetic ratings with known bias and inconsistency per subject.
    rng = np.random.default_rng(3)
    n_videos, n_subjects = 120, 40
    quality = rng.uniform(1.5, 4.5, n_videos)
    bias = rng.normal(0, 0.4, n_subjects)
    bias -= bias.mean()
    noise = rng.uniform(0.2, 1.0, n_subjects)
    video, subject = np.meshgrid(np.arange(n_videos), np.arange(n_subjects), indexing="ij")
    score = quality[video] + bias[subject] + rng.normal(size=video.shape) * noise[subject]
    ratings = pd.DataFrame({"video": video.ravel(), "annotator": subject.ravel(), "score": score.ravel()})
    result = mle_model(ratings, content_aware=False)
    assert result.converged
    assert np.corrcoef(result.subject_bias, bias)[0, 1] > 0.98
    assert np.corrcoef(result.subject_inconsistency, noise)[0, 1] > 0.95
    np.testing.assert_allclose(result.quality, quality, atol=0.25)


def test_per_rated_share_rejects_in_a_sparse_design():
    # 100 videos; subject 99 rates only two of them, once at the bottom and once at the top of a
    # bell-shaped (kurtosis 2.5, mean 3, sigma 1) set of scores, so both are 2-sigma outliers.
    # sureal's share is 2 outliers / 100 videos = 0.02 (kept); per_rated=True gives 2 / 2 (rejected).
    bell = [2.0] * 4 + [3.0] * 6 + [4.0] * 4  # the 14 regular subjects' usual scores
    rows = []
    for video in range(100):
        scores = bell + [3.0]
        if video == 0:
            scores = bell + [5.0]  # subject 14 at the top while subject 99 is at the bottom
            rows.append((video, 99, 1.0))
        if video == 1:
            scores = bell + [1.0]
            rows.append((video, 99, 5.0))
        rows.extend((video, subject, score) for subject, score in enumerate(scores))
    ratings = pd.DataFrame(rows, columns=["video", "annotator", "score"])
    reference = run_sureal("SubjrejMosModel", ratings)
    assert not any(reference["observer_rejected"])
    assert not bt500_rejection(ratings).rejected.any()
    per_rated = bt500_rejection(ratings, per_rated=True)
    assert per_rated.subjects[per_rated.rejected].tolist() == [99]


@pytest.mark.parametrize("finite", [True, False], ids=["sparse-products", "per-rating-nansum"])
def test_mle_iteration_sums_equal_the_sums_over_ratings(finite):
    # The MLE's per-iteration sums, checked against the same sums taken rating by rating with
    # pandas (which skips NaN like sureal's nansum), on a sparse design with repeated ratings.
    from analysis.stats.subjects import _CellSums

    rng = np.random.default_rng(5)
    n_units, n_videos, n = 30, 40, 500
    unit, video = rng.integers(0, n_units, n), rng.integers(0, n_videos, n)
    unit[:n_units], video[:n_videos] = np.arange(n_units), np.arange(n_videos)  # every unit and video rated
    score = rng.integers(1, 6, n).astype(float)
    x_e, b_u, w_u = rng.uniform(1, 5, n_videos), rng.normal(0, 0.4, n_units), rng.uniform(0.5, 3, n_units)
    if not finite:
        x_e[3], b_u[4], w_u[5] = np.nan, np.nan, np.inf
    cells = _CellSums(unit, video, score, n_units, n_videos)
    ratings = pd.DataFrame({"unit": unit, "video": video, "x": score})
    residual = ratings["x"] - x_e[video]
    by_unit = lambda values: values.groupby(ratings["unit"]).sum().reindex(range(n_units)).to_numpy()  # noqa: E731
    by_video = lambda values: values.groupby(ratings["video"]).sum().reindex(range(n_videos)).to_numpy()  # noqa: E731

    r, rr = cells.residual_sum(x_e)
    np.testing.assert_allclose(r, by_unit(residual), rtol=1e-12, atol=1e-12)
    squared = cells.squared_residual_sum(x_e, b_u, r, rr)
    np.testing.assert_allclose(squared, by_unit((residual - b_u[unit]) ** 2), rtol=1e-12, atol=1e-10)
    weights, weighted = cells.video_weights(w_u, b_u)
    w = pd.Series(w_u[unit])
    np.testing.assert_allclose(weights, by_video(w), rtol=1e-12)
    np.testing.assert_allclose(weighted, by_video((ratings["x"] - b_u[unit]) * w), rtol=1e-12, atol=1e-12)
