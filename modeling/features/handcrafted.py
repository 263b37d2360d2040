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

`frame_features(crop)` gives the 76 per-frame features (FRAME_NAMES) of one crop, grey or RGB
uint8; `video_features(crops)` pools them by mean and std over the frames (DOMAIN.md: the paper's
video features) and appends the mean and std over the pairs of the 20 temporal ones:
2 x 76 + 2 x 20 = 192 columns, named by FEATURE_NAMES. Inside, the maps are stacks (frames x H x W)
and the fits are vectorised over frames and neighbour products; about 5.6 ms of CPU per 224-px crop,
temporal pair included. A video of one crop, or a static one, has
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
# The families a configuration can pick (the paper's BRISQUE row is "brisque" alone), by name prefix.
FEATURE_GROUPS = {"brisque": "brisque_", "gmlog": "gmlog_", "temporal": "diff_"}


def feature_columns(groups) -> np.ndarray:
    """Indices into FEATURE_NAMES of the columns of these groups (names of FEATURE_GROUPS), in FEATURE_NAMES order."""
    unknown = set(groups) - set(FEATURE_GROUPS)
    if unknown or not groups:
        raise ValueError(f"feature groups must be some of {', '.join(FEATURE_GROUPS)}, got {sorted(groups)}")
    prefixes = tuple(FEATURE_GROUPS[g] for g in groups)
    return np.array([i for i, name in enumerate(FEATURE_NAMES) if name.startswith(prefixes)])


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


# ---- per-frame features, computed on stacks (frames x H x W) ----
# OpenCV filters every channel of an H x W x C array in one call, so a stack of crops goes through each
# filter at once as channels (4x faster for the MSCN blur alone: 0.10 against 0.41 ms per 224-px crop).
# But a whole video's maps leave the CPU cache: video_features on 21 crops of 224 px took 5.7 / 5.6 /
# 7.0 / 7.2 / 9.4 ms per crop (CPU time, best of 9) in stacks of 1 / 2 / 4 / 8 / all 21 crops. Two it is.
CHUNK = 2


def _channels(stack: np.ndarray, op) -> np.ndarray:
    """op applied to the frames of `stack` (frames x H x W) as the channels of one image; back as frames x h x w."""
    out = op(np.ascontiguousarray(stack.transpose(1, 2, 0)))
    return out.reshape(out.shape[0], out.shape[1], len(stack)).transpose(2, 0, 1)


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


def _mscn_blur(stack: np.ndarray) -> np.ndarray:
    return _channels(stack, lambda a: cv2.GaussianBlur(a, (MSCN_WINDOW, MSCN_WINDOW), MSCN_SIGMA,
                                                       borderType=cv2.BORDER_REPLICATE))


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean subtracted contrast normalised coefficients of a float image (H x W) or stack (frames x H x W),
    with replicated borders as the reference's imfilter."""
    stack = image[None] if image.ndim == 2 else image
    mu = _mscn_blur(stack)
    sigma = np.sqrt(np.abs(_mscn_blur(stack * stack) - mu * mu))
    out = (stack - mu) / (sigma + MSCN_C)
    return out[0] if image.ndim == 2 else out


def _brisque_scale(stack: np.ndarray) -> np.ndarray:
    """The 18 BRISQUE features of one scale for each frame (frames x 18): GGD of the MSCN map, AGGD of each
    neighbour product."""
    m = mscn(stack)
    n = len(stack)
    products = np.empty((n, len(PAIR_SHIFTS)) + stack.shape[1:])
    for k, shift in enumerate(PAIR_SHIFTS.values()):
        np.multiply(m, np.roll(m, shift, axis=(1, 2)), out=products[:, k])
    shape, var = ggd_fit(m.reshape(n, -1))
    fits = np.stack(aggd_fit(products.reshape(n, len(PAIR_SHIFTS), -1)), axis=2)  # frames x pairs x 4
    return np.concatenate([shape[:, None], var[:, None], fits.reshape(n, -1)], axis=1)


def brisque_features(stack: np.ndarray) -> np.ndarray:
    """BRISQUE's 36 features of each frame of a float stack (frames x H x W, 0-255): 18 at full, 18 at half size."""
    height, width = stack.shape[1:]
    size = ((width + 1) // 2, (height + 1) // 2)
    half = _channels(stack, lambda a: cv2.resize(a, size, interpolation=cv2.INTER_AREA))
    return np.concatenate([_brisque_scale(stack), _brisque_scale(half)], axis=1)


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


def _filter(stack: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _channels(stack, lambda a: cv2.filter2D(a, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT_101))


def gmlog_features(stack: np.ndarray) -> np.ndarray:
    """GM-LOG's 40 features of each frame of a float stack (frames x H x W, 0-255): marginals of the normalised
    gradient magnitude and |LOG| (10 levels each), then the dependency profiles GM-given-LOG and LOG-given-GM."""
    n = len(stack)
    gx, gy = _filter(stack, _DX), _filter(stack, _DY)
    gm = np.sqrt(gx * gx + gy * gy) / GMLOG_RATIO
    lg = np.abs(_filter(stack, _LOG))
    energy = _channels((gm * gm + lg * lg) / 2, lambda a: cv2.GaussianBlur(
        a, (_NORM_WINDOW, _NORM_WINDOW), _NORM_SIGMA, borderType=cv2.BORDER_REFLECT_101))
    norm = np.sqrt(energy) + GMLOG_C0
    b = GMLOG_BORDER if min(stack.shape[1:]) > 2 * GMLOG_BORDER + 1 else 0
    inner = (slice(None), slice(b, stack.shape[1] - b), slice(b, stack.shape[2] - b))
    # Level k (1..10) holds values in ((k - 1) 0.2, k 0.2]; 0 joins level 1 and anything above 2 level 10.
    qg = np.clip(np.ceil(gm[inner] / norm[inner] / GMLOG_STEP), 1, GMLOG_LEVELS).astype(np.intp) - 1
    ql = np.clip(np.ceil(lg[inner] / norm[inner] / GMLOG_STEP), 1, GMLOG_LEVELS).astype(np.intp) - 1
    cells = GMLOG_LEVELS * GMLOG_LEVELS
    index = (qg * GMLOG_LEVELS + ql).reshape(n, -1) + cells * np.arange(n)[:, None]
    joint = np.bincount(index.ravel(), minlength=n * cells).reshape(n, GMLOG_LEVELS, GMLOG_LEVELS).astype(np.float64)
    joint /= joint.sum(axis=(1, 2), keepdims=True)  # per frame; rows: GM level, columns: LOG level
    p_gm, p_log = joint.sum(axis=2), joint.sum(axis=1)
    gm_given_log = (joint / (p_log[:, None, :] + GMLOG_ALPHA)).sum(axis=2)
    log_given_gm = (joint / (p_gm[:, :, None] + GMLOG_ALPHA)).sum(axis=1)
    return np.concatenate([p_gm, p_log, gm_given_log / gm_given_log.sum(axis=1, keepdims=True),
                           log_given_gm / log_given_gm.sum(axis=1, keepdims=True)], axis=1)


def _stack(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Grey float stack (frames x H x W) of crops (grey or RGB uint8), refused when their sizes differ."""
    grays = [gray(c) for c in crops]
    if not grays:
        raise ValueError("a video needs at least one crop")
    sizes = {g.shape for g in grays}
    if len(sizes) > 1:
        raise ValueError(f"a video's crops differ in size: {sorted(sizes)}")
    return np.stack(grays)


def frames_features(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """The 76 per-frame features (FRAME_NAMES) of each crop (frames x 76); crops grey or RGB uint8, one size."""
    return _stack_features(_stack(crops))


def _stack_features(stack: np.ndarray) -> np.ndarray:
    return np.concatenate([np.concatenate([brisque_features(part), gmlog_features(part)], axis=1)
                           for part in np.split(stack, range(CHUNK, len(stack), CHUNK))])


def frame_features(image: np.ndarray) -> np.ndarray:
    """The 76 per-frame features (FRAME_NAMES) of one crop: grey (H x W) or RGB uint8 (H x W x 3)."""
    return frames_features([image])[0]


# ---- temporal features and the video vector ----

def pairs_features(stack: np.ndarray) -> np.ndarray:
    """The 20 temporal features (TEMPORAL_PAIR_NAMES) of each pair of consecutive frames of a grey float stack
    ((frames - 1) x 20): mean and std of the absolute difference, BRISQUE's full-size statistics of the difference."""
    rows = []
    for start in range(0, len(stack) - 1, CHUNK):
        part = stack[start:start + CHUNK + 1]
        diff = part[1:] - part[:-1]
        magnitude = np.abs(diff).reshape(len(diff), -1)
        rows.append(np.concatenate([magnitude.mean(axis=1)[:, None], magnitude.std(axis=1)[:, None],
                                    _brisque_scale(diff)], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, len(TEMPORAL_PAIR_NAMES)))


def video_features(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """One video's feature vector (FEATURE_NAMES) from its crops in frame order (grey or RGB uint8, one size):
    mean and std over frames of the per-frame features, then mean and std over consecutive pairs of the
    temporal ones (all 0 for a single crop)."""
    stack = _stack(crops)
    frames = _stack_features(stack)
    pairs = pairs_features(stack) if len(stack) > 1 else np.zeros((1, len(TEMPORAL_PAIR_NAMES)))
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0), pairs.mean(axis=0), pairs.std(axis=0)])
