"""Natural-scene-statistics features of face crops: BRISQUE, GM-LOG and frame differences, pooled per video.

The paper's hand-crafted baselines (DOMAIN.md section 4) feed an RBF SVR with features that
measure how far a picture's local statistics are from those of undistorted natural images:

- BRISQUE (Mittal, Moorthy, Bovik 2012), 36 features, as the authors' reference
  (brisque_feature.m): the MSCN map (mean subtracted, contrast normalised with a 7x7 Gaussian
  window of sigma 7/6, C = 1, on 0-255 grey levels), a GGD fit of it (shape, variance) and
  AGGD fits (shape, mean, left variance, right variance) of its four neighbour products
  (horizontal, vertical and the two diagonals, with the reference's circular shift), at full and
  half size (half: OpenCV's area average, where the reference uses MATLAB's antialiased bicubic).
- GM-LOG (Xue, Mou, Zhang, Bovik, Feng 2014), 40 features, the reference's M3 set
  (Grad_LOG_CP_TIP.m) at one scale: Gaussian-derivative gradient magnitude and |Laplacian of
  Gaussian| (sigma 0.5), their joint adaptive normalisation (local Gaussian energy, sigma 1, plus
  0.2), each quantised into 10 levels of width 0.2; kept are both marginal distributions and both
  dependency profiles (the conditional probabilities of one map given the other, summed and
  normalised): 4 x 10. Dropped: the reference's 2-pixel border cut is kept, its zero padding is
  not (borders are reflected, so a crop's edge is not a false edge); nothing else.
- Temporal, 20 per pair of consecutive sampled crops: the mean and std of the absolute
  difference, and the BRISQUE statistics (GGD of the MSCN map, AGGD of its four products) of the
  signed difference map at full size. Frame drops, flicker and jitter show up here.

`video_features` pools the 76 per-frame features by mean and std over the frames (DOMAIN.md: the
paper's video features) and appends the mean and std over the pairs of the 20 temporal ones:
2 x 76 + 2 x 20 = 192 columns, named by FEATURE_NAMES. A video of one crop, or a static one, has
all temporal features 0. A constant map has no distribution to fit: its fitted parameters are 0.

Bump FEATURES_VERSION whenever a number any of these functions returns changes: it keys the cache.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy.special import gammaln

FEATURES_VERSION = 1

MSCN_WINDOW = 7
MSCN_SIGMA = 7 / 6
MSCN_C = 1.0
# (rows, columns) of the reference's circshift for the neighbour products H, V, D1, D2.
PAIR_SHIFTS = {"h": (0, 1), "v": (1, 0), "d1": (1, 1), "d2": (-1, 1)}

GMLOG_SIGMA = 0.5
GMLOG_RATIO = 2.5  # the reference's average GM / LOG ratio on LIVE, which puts both maps on one scale
GMLOG_C0 = 0.2  # 4 * 0.05 in the reference: keeps flat regions from being amplified into noise
GMLOG_STEP = 0.2
GMLOG_LEVELS = 10
GMLOG_ALPHA = 1e-4  # keeps an empty conditioning bin from dividing by zero
GMLOG_BORDER = 2

# The reference estimators search shapes 0.2:0.001:10 for the one whose moment ratio is nearest.
SHAPES = np.linspace(0.2, 10.0, 9801)
# rho(a) = Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2 = E[x^2] / E[|x|]^2 of a GGD of shape a; it falls as a grows.
_RHO = np.exp(gammaln(1 / SHAPES) + gammaln(3 / SHAPES) - 2 * gammaln(2 / SHAPES))


def _ggd_names(prefix: str) -> list[str]:
    return [f"{prefix}_shape", f"{prefix}_var"]


def _aggd_names(prefix: str) -> list[str]:
    return [f"{prefix}_shape", f"{prefix}_mean", f"{prefix}_lvar", f"{prefix}_rvar"]


def _brisque_names(prefix: str) -> list[str]:
    names = _ggd_names(f"{prefix}_mscn")
    for pair in PAIR_SHIFTS:
        names += _aggd_names(f"{prefix}_{pair}")
    return names


BRISQUE_NAMES = _brisque_names("brisque_s1") + _brisque_names("brisque_s2")
GMLOG_NAMES = (
    [f"gmlog_gm_p{i:02d}" for i in range(1, GMLOG_LEVELS + 1)]
    + [f"gmlog_log_p{i:02d}" for i in range(1, GMLOG_LEVELS + 1)]
    + [f"gmlog_gm_given_log_{i:02d}" for i in range(1, GMLOG_LEVELS + 1)]
    + [f"gmlog_log_given_gm_{i:02d}" for i in range(1, GMLOG_LEVELS + 1)]
)
FRAME_NAMES = BRISQUE_NAMES + GMLOG_NAMES
TEMPORAL_PAIR_NAMES = ["diff_abs_mean", "diff_abs_std"] + _brisque_names("diff")
FEATURE_NAMES = (
    [f"{n}_mean" for n in FRAME_NAMES] + [f"{n}_std" for n in FRAME_NAMES]
    + [f"{n}_mean" for n in TEMPORAL_PAIR_NAMES] + [f"{n}_std" for n in TEMPORAL_PAIR_NAMES]
)


# ---- distribution fits (vectorised over leading axes; the last axis holds the samples) ----

def _nearest_shape(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """SHAPES[i] with table[i] nearest each value (table increasing; the lower index on a tie, as MATLAB's min)."""
    values = np.asarray(values, dtype=np.float64)
    hi = np.clip(np.searchsorted(table, values), 1, len(table) - 1)
    lo = hi - 1
    take_lo = np.abs(values - table[lo]) <= np.abs(table[hi] - values)
    return SHAPES[np.where(take_lo, lo, hi)]


def ggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-mean generalised Gaussian fit by moment matching (BRISQUE's estimateggdparam): (shape, variance).

    The shape is the grid value whose E[x^2] / E[|x|]^2 is nearest the sample's; the variance is
    E[x^2]. An all-zero sample gives (0, 0)."""
    x = np.asarray(x, dtype=np.float64)
    var = np.mean(x * x, axis=-1)
    abs_mean = np.mean(np.abs(x), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = var / (abs_mean * abs_mean)
    # _RHO falls with the shape: search its negation, which rises.
    shape = _nearest_shape(-_RHO, -np.nan_to_num(rho, nan=0.0))
    return np.where(var > 0, shape, 0.0), var


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit (BRISQUE's estimateaggdparam): (shape, mean, left variance, right variance).

    Left / right variance: the mean square of the negative / positive samples (zeros are on
    neither side, as in the reference). The shape matches the sample's E[|x|]^2 / E[x^2],
    corrected for the asymmetry; the mean is the AGGD's, (right std - left std) Gamma(2/a) /
    sqrt(Gamma(1/a) Gamma(3/a)). An all-zero sample gives zeros."""
    x = np.asarray(x, dtype=np.float64)
    pos, neg = np.maximum(x, 0.0), np.minimum(x, 0.0)
    pos_sq, neg_sq = np.vecdot(pos, pos), np.vecdot(neg, neg)
    n_pos, n_neg = np.count_nonzero(pos, axis=-1), np.count_nonzero(neg, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lvar = np.where(n_neg > 0, neg_sq / np.maximum(n_neg, 1), 0.0)
        rvar = np.where(n_pos > 0, pos_sq / np.maximum(n_pos, 1), 0.0)
        l, r = np.sqrt(lvar), np.sqrt(rvar)
        mean_sq = (pos_sq + neg_sq) / x.shape[-1]
        rhat = ((pos.sum(axis=-1) - neg.sum(axis=-1)) / x.shape[-1]) ** 2 / mean_sq
        # The reference's rhat (g^3 + 1)(g + 1) / (g^2 + 1)^2 with g = l / r, multiplied through by
        # r^4 so that a sample with no positive values still has a ratio.
        rnorm = rhat * (l**3 + r**3) * (l + r) / (l * l + r * r) ** 2
    shape = _nearest_shape(1 / _RHO, np.nan_to_num(rnorm, nan=0.0))
    mean = (r - l) * np.exp(gammaln(2 / shape) - 0.5 * (gammaln(1 / shape) + gammaln(3 / shape)))
    degenerate = ~(mean_sq > 0)
    return (np.where(degenerate, 0.0, shape), np.where(degenerate, 0.0, mean), lvar, rvar)


# ---- per-frame features ----

def gray(image: np.ndarray) -> np.ndarray:
    """Grey levels 0-255 (float64) of an RGB uint8 image (ITU-R 601 luma, rounded to uint8 as MATLAB's
    rgb2gray), or of a 2-D image as given."""
    image = np.asarray(image)
    if image.ndim == 3:
        if image.shape[2] != 3:
            raise ValueError(f"expected an RGB image (H x W x 3), got shape {image.shape}")
        image = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    elif image.ndim != 2:
        raise ValueError(f"expected a grey (H x W) or RGB (H x W x 3) image, got shape {image.shape}")
    return image.astype(np.float64)


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean subtracted contrast normalised coefficients of a 2-D float image (replicated borders, as imfilter's)."""
    mu = cv2.GaussianBlur(image, (MSCN_WINDOW, MSCN_WINDOW), MSCN_SIGMA, borderType=cv2.BORDER_REPLICATE)
    second = cv2.GaussianBlur(image * image, (MSCN_WINDOW, MSCN_WINDOW), MSCN_SIGMA, borderType=cv2.BORDER_REPLICATE)
    sigma = np.sqrt(np.abs(second - mu * mu))
    return (image - mu) / (sigma + MSCN_C)


def _brisque_scale(image: np.ndarray) -> np.ndarray:
    """The 18 BRISQUE features of one scale: GGD of the MSCN map, AGGD of each neighbour product."""
    m = mscn(image)
    products = np.stack([m * np.roll(m, shift, axis=(0, 1)) for shift in PAIR_SHIFTS.values()])
    shape, var = ggd_fit(m.ravel())
    fits = np.stack(aggd_fit(products.reshape(len(PAIR_SHIFTS), -1)), axis=1)  # pairs x (shape, mean, lvar, rvar)
    return np.concatenate([[shape, var], fits.ravel()])


def brisque_features(image: np.ndarray) -> np.ndarray:
    """BRISQUE's 36 features of a 2-D float image (0-255): 18 at full size, 18 at half size."""
    height, width = image.shape
    half = cv2.resize(image, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)
    return np.concatenate([_brisque_scale(image), _brisque_scale(half)])


def _gaussian_2d(size: int, sigma: float) -> np.ndarray:
    g = cv2.getGaussianKernel(size, sigma, cv2.CV_64F)
    return g @ g.T


def _gmlog_kernels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference's 5x5 Gaussian-derivative (x, y) and LOG kernels, each normalised by the sum of its magnitudes."""
    reach = int(np.ceil(3 * GMLOG_SIGMA))
    g = _gaussian_2d(2 * reach + 3, GMLOG_SIGMA)
    dx = g[1:-1, 1:-1] - g[1:-1, 2:]
    dy = g[1:-1, 1:-1] - g[2:, 1:-1]
    # fspecial('log'): a normalised Gaussian times (r^2 - 2 s^2) / s^4, made to sum to zero.
    ax = np.arange(-reach, reach + 1, dtype=np.float64)
    r2 = ax[:, None] ** 2 + ax[None, :] ** 2
    h = np.exp(-r2 / (2 * GMLOG_SIGMA**2))
    h /= h.sum()
    log = h * (r2 - 2 * GMLOG_SIGMA**2) / GMLOG_SIGMA**4
    log -= log.mean()
    return dx / np.abs(dx).sum(), dy / np.abs(dy).sum(), log / np.abs(log).sum()


_DX, _DY, _LOG = _gmlog_kernels()
_NORM_SIGMA = 2 * GMLOG_SIGMA
_NORM_WINDOW = 2 * int(np.ceil(3 * _NORM_SIGMA)) + 1


def gmlog_features(image: np.ndarray) -> np.ndarray:
    """GM-LOG's 40 features of a 2-D float image (0-255): marginals of the normalised gradient magnitude
    and |LOG| (10 levels each), then the dependency profiles GM-given-LOG and LOG-given-GM."""
    gx = cv2.filter2D(image, cv2.CV_64F, _DX, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.filter2D(image, cv2.CV_64F, _DY, borderType=cv2.BORDER_REFLECT_101)
    gm = np.sqrt(gx * gx + gy * gy) / GMLOG_RATIO
    lg = np.abs(cv2.filter2D(image, cv2.CV_64F, _LOG, borderType=cv2.BORDER_REFLECT_101))
    energy = cv2.GaussianBlur((gm * gm + lg * lg) / 2, (_NORM_WINDOW, _NORM_WINDOW), _NORM_SIGMA,
                              borderType=cv2.BORDER_REFLECT_101)
    norm = np.sqrt(energy) + GMLOG_C0
    b = GMLOG_BORDER
    inner = (slice(b, -b), slice(b, -b)) if min(image.shape) > 2 * b + 1 else (slice(None), slice(None))
    # Level k (1..10) holds values in ((k - 1) 0.2, k 0.2]; 0 joins level 1 and anything above 2 level 10.
    qg = np.clip(np.ceil(gm[inner] / norm[inner] / GMLOG_STEP), 1, GMLOG_LEVELS).astype(np.intp) - 1
    ql = np.clip(np.ceil(lg[inner] / norm[inner] / GMLOG_STEP), 1, GMLOG_LEVELS).astype(np.intp) - 1
    joint = np.bincount((qg * GMLOG_LEVELS + ql).ravel(), minlength=GMLOG_LEVELS**2).reshape(GMLOG_LEVELS, GMLOG_LEVELS)
    joint = joint / joint.sum()  # rows: GM level, columns: LOG level
    p_gm, p_log = joint.sum(axis=1), joint.sum(axis=0)
    gm_given_log = (joint / (p_log[None, :] + GMLOG_ALPHA)).sum(axis=1)
    log_given_gm = (joint / (p_gm[:, None] + GMLOG_ALPHA)).sum(axis=0)
    return np.concatenate([p_gm, p_log, gm_given_log / gm_given_log.sum(), log_given_gm / log_given_gm.sum()])


def frame_features(image: np.ndarray) -> np.ndarray:
    """The 76 per-frame features (FRAME_NAMES) of a crop: grey (H x W) or RGB uint8 (H x W x 3)."""
    g = gray(image)
    return np.concatenate([brisque_features(g), gmlog_features(g)])


# ---- temporal features and the video vector ----

def pair_features(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The 20 temporal features (TEMPORAL_PAIR_NAMES) of two consecutive grey crops of one size."""
    if previous.shape != current.shape:
        raise ValueError(f"consecutive crops differ in size: {previous.shape} and {current.shape}")
    diff = current - previous
    magnitude = np.abs(diff)
    return np.concatenate([[magnitude.mean(), magnitude.std()], _brisque_scale(diff)])


def video_features(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """One video's feature vector (FEATURE_NAMES) from its crops in frame order (grey or RGB uint8, one size):
    mean and std over frames of frame_features, then mean and std over consecutive pairs of pair_features."""
    grays = [gray(c) for c in crops]
    if not grays:
        raise ValueError("a video needs at least one crop")
    frames = np.stack([np.concatenate([brisque_features(g), gmlog_features(g)]) for g in grays])
    if len(grays) > 1:
        pairs = np.stack([pair_features(a, b) for a, b in zip(grays[:-1], grays[1:])])
    else:
        pairs = np.zeros((1, len(TEMPORAL_PAIR_NAMES)))
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0), pairs.mean(axis=0), pairs.std(axis=0)])
