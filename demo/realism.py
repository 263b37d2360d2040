"""The ground truth of the demo study: artifact kinds, the latent-realism function and the gold rule.

A synthetic video's latent realism is the grade an attentive, unbiased viewer with no prior
knowledge of deepfakes would give it on average, on the continuous 1-5 scale:

    R = 1 + (R_MAX - 1) * exp(-D),   D = sum_k WEIGHTS[k] * s_k ** EXPONENT

where s_k in [0, 1] is the strength of artifact kind k in the video (0: absent). A video with no
artifact (a real video, or a flawless swap) has R = R_MAX: even a real video does not get a sure 5
from people who were just told that some videos are fake. The exponent above 1 makes faint
artifacts count for little, as perceptual thresholds do; the weights say how much each kind hurts
at full strength (flicker, mosaic and ghosting most, noise least). The function is stored with each
video (demo.models.SyntheticTruth) and never shown to annotators. docs/synthetic_study.md
documents it with the crowd model.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

# The artifact kinds a face-swap method of the demo study can have (swaps.py draws each).
ARTIFACT_KINDS: tuple[str, ...] = (
    "seam",  # a visible blending boundary around the swapped face
    "color",  # colour / contrast mismatch between the swapped face and the rest of the head
    "blur",  # the swapped face is blurred
    "flicker",  # the face's brightness changes from frame to frame
    "jitter",  # the face shakes against the head
    "ghosting",  # the original face shows through, and motion leaves trails
    "blocking",  # compression blocks in the face
    "mosaic",  # pixelated patches
    "stiff_mouth",  # the mouth hardly follows the speech
    "misalign",  # the face is shifted, turned or scaled against the head
    "frame_drop",  # frames are repeated, so the video stutters
    "noise",  # grain in the face
)

WEIGHTS: Mapping[str, float] = {
    "seam": 1.3,
    "color": 1.1,
    "blur": 1.2,
    "flicker": 1.6,
    "jitter": 1.4,
    "ghosting": 1.5,
    "blocking": 1.0,
    "mosaic": 1.8,
    "stiff_mouth": 0.8,
    "misalign": 1.4,
    "frame_drop": 1.0,
    "noise": 0.7,
}
EXPONENT = 1.5
R_MAX = 4.7

# Checker candidates: every real video (gold 5) and every fake this poor (gold 1).
GOLD1_MAX_REALISM = 1.5

assert set(WEIGHTS) == set(ARTIFACT_KINDS)


def artifact_load(strengths: Mapping[str, float]) -> float:
    """D of the module docstring: how much the artifacts of a video weigh together."""
    unknown = set(strengths) - set(WEIGHTS)
    if unknown:
        raise ValueError(f"unknown artifact kinds {sorted(unknown)}; known: {', '.join(ARTIFACT_KINDS)}")
    return sum(WEIGHTS[k] * min(max(s, 0.0), 1.0) ** EXPONENT for k, s in strengths.items())


def latent_realism(strengths: Mapping[str, float]) -> float:
    """The latent realism in [1, R_MAX] of a video with these artifact strengths."""
    return 1.0 + (R_MAX - 1.0) * math.exp(-artifact_load(strengths))


def load_for_realism(realism: float) -> float:
    """The inverse: the artifact load D that gives `realism` (used to build methods of a chosen realism)."""
    if not 1.0 < realism <= R_MAX:
        raise ValueError(f"realism must be in (1, {R_MAX}], got {realism}")
    return -math.log((realism - 1.0) / (R_MAX - 1.0))


def gold_score(*, is_real: bool, realism: float) -> int | None:
    """5 for a real video, 1 for a very poor fake, None for a video that cannot serve as a checker."""
    if is_real:
        return 5
    if realism <= GOLD1_MAX_REALISM:
        return 1
    return None
