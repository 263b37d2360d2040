"""Hand-crafted NSS features: the distribution fits on samples of known distributions, MSCN and GM-LOG
against independent scipy computations, and the features' response to blur, noise and motion."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage, special, stats

from modeling.features import handcrafted as hc

from .nss_images import degrade, pink_image


@pytest.mark.parametrize("shape", [0.7, 1.5, 2.5])
def test_ggd_fit_recovers_a_generalised_gaussian(shape):
    x = stats.gennorm.rvs(shape, scale=3.0, size=60_000, random_state=np.random.default_rng(1))
    fitted, var = hc.ggd_fit(x)
    assert abs(fitted - shape) < 0.1
    assert var == pytest.approx(stats.gennorm.var(shape, scale=3.0), rel=0.05)


@pytest.mark.parametrize(("shape", "left", "right"), [(1.5, 1.0, 2.0), (0.8, 2.0, 1.0), (2.0, 1.0, 1.0)])
def test_aggd_fit_recovers_an_asymmetric_generalised_gaussian(shape, left, right):
    rng = np.random.default_rng(2)
    # An AGGD sample: |gennorm| scaled by the side's scale, a side chosen with probability proportional to it.
    magnitude = np.abs(stats.gennorm.rvs(shape, size=80_000, random_state=rng))
    x = np.where(rng.random(magnitude.size) < left / (left + right), -left * magnitude, right * magnitude)
    fitted, mean, lvar, rvar = hc.aggd_fit(x)
    second_moment = special.gamma(3 / shape) / special.gamma(1 / shape)  # E[g^2] of a unit-scale GGD
    assert abs(fitted - shape) < 0.1
    assert lvar == pytest.approx(left**2 * second_moment, rel=0.05)
    assert rvar == pytest.approx(right**2 * second_moment, rel=0.05)
    assert mean == pytest.approx(x.mean(), abs=0.03)


def test_fits_are_vectorised_over_leading_axes():
    rng = np.random.default_rng(3)
    x = rng.laplace(size=(3, 5000)) * np.array([[1.0], [2.0], [0.5]])
    batched = hc.aggd_fit(x)
    for row in range(3):
        single = hc.aggd_fit(x[row])
        assert [float(b[row]) for b in batched] == [float(s) for s in single]


def test_a_constant_sample_has_zero_parameters_and_no_nan():
    assert [float(v) for v in hc.ggd_fit(np.zeros(100))] == [0.0, 0.0]
    assert [float(v) for v in hc.aggd_fit(np.zeros(100))] == [0.0, 0.0, 0.0, 0.0]
    one_sided = hc.aggd_fit(np.abs(np.random.default_rng(4).normal(size=1000)))
    assert np.all(np.isfinite(one_sided)) and one_sided[2] == 0.0


def test_mscn_matches_an_independent_scipy_computation():
    image = pink_image(48, seed=5)
    kernel = np.exp(-np.arange(-3, 4) ** 2 / (2 * (7 / 6) ** 2))
    window = np.outer(kernel, kernel) / np.outer(kernel, kernel).sum()
    mu = ndimage.correlate(image, window, mode="nearest")  # MATLAB imfilter 'replicate'
    sigma = np.sqrt(np.abs(ndimage.correlate(image**2, window, mode="nearest") - mu**2))
    np.testing.assert_allclose(hc.mscn(image), (image - mu) / (sigma + 1), atol=1e-9)


def test_gmlog_matches_an_independent_histogram_computation():
    image = pink_image(40, seed=6)
    gx = ndimage.correlate(image, hc._DX, mode="mirror")
    gy = ndimage.correlate(image, hc._DY, mode="mirror")
    gm = np.hypot(gx, gy) / 2.5
    lg = np.abs(ndimage.correlate(image, hc._LOG, mode="mirror"))
    norm = np.sqrt(ndimage.gaussian_filter((gm**2 + lg**2) / 2, 1.0, mode="mirror", truncate=3.0)) + 0.2
    g, l = (gm / norm)[2:-2, 2:-2].ravel(), (lg / norm)[2:-2, 2:-2].ravel()
    edges = np.r_[-np.inf, np.arange(1, 10) * 0.2, np.inf]
    joint, _, _ = np.histogram2d(g, l, bins=[edges, edges])
    joint /= joint.sum()
    pg, pl = joint.sum(1), joint.sum(0)
    qg = (joint / (pl + 1e-4)).sum(1)
    ql = (joint / (pg[:, None] + 1e-4)).sum(0)
    expected = np.concatenate([pg, pl, qg / qg.sum(), ql / ql.sum()])
    np.testing.assert_allclose(hc.gmlog_features(image[None])[0], expected, atol=1e-9)


def test_gmlog_kernels_are_the_references():
    assert hc._LOG.sum() == pytest.approx(0, abs=1e-12)
    assert np.abs(hc._LOG).sum() == pytest.approx(1)
    np.testing.assert_allclose(hc._DY, hc._DX.T)
    assert hc._DX.shape == (5, 5) and np.abs(hc._DX).sum() == pytest.approx(1)


def test_names_match_the_vectors():
    assert len(hc.FRAME_NAMES) == 76 and len(set(hc.FEATURE_NAMES)) == len(hc.FEATURE_NAMES) == 192
    crops = [degrade(pink_image(32, seed=s)) for s in range(3)]
    assert hc.frame_features(crops[0]).shape == (len(hc.FRAME_NAMES),)
    assert hc.video_features(crops).shape == (len(hc.FEATURE_NAMES),)


def test_rgb_and_grey_crops_give_the_same_features():
    rgb = np.random.default_rng(7).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(hc.frame_features(rgb), hc.frame_features(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))


def test_blur_lowers_and_noise_raises_the_mscn_variances():
    image = pink_image(96, seed=8)
    names = hc.FRAME_NAMES
    features = {kind: dict(zip(names, hc.frame_features(degrade(image, **kw))))
                for kind, kw in {"clean": {}, "blur": {"blur": 2.0}, "noise": {"noise": 15.0, "seed": 1}}.items()}
    for name in ("brisque_s1_mscn_var", "brisque_s1_h_lvar", "brisque_s1_h_rvar", "brisque_s1_v_rvar",
                 "brisque_s2_mscn_var"):
        assert features["blur"][name] < features["clean"][name] < features["noise"][name], name
    # Blur takes more from the Laplacian than from the gradient: after the joint normalisation the
    # |LOG| levels fall (mean level 4.9 -> 2.7 on this image) while the GM levels rise.
    levels = np.arange(1, 11)
    for kind in features:
        features[kind]["log_level"] = sum(levels[i] * features[kind][f"gmlog_log_p{i + 1:02d}"] for i in range(10))
        features[kind]["gm_level"] = sum(levels[i] * features[kind][f"gmlog_gm_p{i + 1:02d}"] for i in range(10))
    assert features["blur"]["log_level"] < features["clean"]["log_level"] - 1
    assert features["blur"]["gm_level"] > features["clean"]["gm_level"]


def test_a_static_video_has_zero_temporal_features_and_a_moving_one_does_not():
    frame = degrade(pink_image(48, seed=9))
    temporal = [i for i, n in enumerate(hc.FEATURE_NAMES) if n.startswith("diff_")]
    assert len(temporal) == 40
    static = hc.video_features([frame] * 4)
    assert np.all(static[temporal] == 0)
    frame_std = [i for i, n in enumerate(hc.FEATURE_NAMES) if n.endswith("_std") and not n.startswith("diff_")]
    assert np.all(static[frame_std] == 0)
    moving = hc.video_features([np.roll(frame, k, axis=1) for k in range(4)])
    assert moving[hc.FEATURE_NAMES.index("diff_abs_mean_mean")] > 1
    assert moving[hc.FEATURE_NAMES.index("diff_mscn_var_mean")] > 0
    # One crop: no pair to compare, so no temporal signal either.
    assert np.all(hc.video_features([frame])[temporal] == 0)


def test_crops_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        hc.video_features([np.zeros((32, 32), np.uint8), np.zeros((30, 30), np.uint8)])


def test_stacks_and_chunks_give_each_crops_own_numbers():
    crops = [degrade(pink_image(40, seed=20 + k), noise=k) for k in range(5)]  # 5 crops: chunks of CHUNK and a rest
    singles = np.stack([hc.frame_features(c) for c in crops])
    np.testing.assert_allclose(hc.frames_features(crops), singles, rtol=1e-12, atol=1e-12)
    stack = np.stack([hc.gray(c) for c in crops])
    pairs = np.stack([hc.pairs_features(stack[k:k + 2])[0] for k in range(4)])
    np.testing.assert_allclose(hc.pairs_features(stack), pairs, rtol=1e-12, atol=1e-12)
