"""Face-swap methods of the demo study and the artifact operators that draw them.

A method puts identity B's inner face (brows to chin) onto identity A's video, following A's pose
and expression, with its own artifact profile: which kinds of artifact it leaves (realism.ARTIFACT_KINDS)
and how strongly. Each video of a method varies its strengths around the profile, by a factor the
method shares on both videos of a pair (the same tool works better on some pairs than on others)
and one of its own, so that within a method realism still varies (a within-method SD of about
0.5 on the dream catalog). The catalog is a modeling benchmark too: every kind is left by at
least three methods and no two methods' profiles are close (`method_catalog`). Real videos are
A's own performance, untouched.

`render_clip` yields the frames of one clip; it needs no Django and runs in worker processes.
"""
from __future__ import annotations

import functools
import math
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.stats import beta

from annotation.media import ffmpeg_exe

from .faces import Scene, Take, identity_make, take_make
from .realism import ARTIFACT_KINDS, EXPONENT, R_MAX, WEIGHTS

# How often each kind appears in a method's profile (blur, seams and colour are the common ones).
KIND_FREQUENCY: Mapping[str, float] = {
    "seam": 1.4, "color": 1.3, "blur": 1.5, "flicker": 1.2, "jitter": 0.9, "ghosting": 0.8, "blocking": 0.6,
    "mosaic": 0.4, "stiff_mouth": 0.9, "misalign": 0.8, "frame_drop": 0.5, "noise": 0.6,
}
KINDS_PER_METHOD = {1: 0.25, 2: 0.4, 3: 0.25, 4: 0.1}  # how many kinds a profile starts with (more if capped)

# The catalog is a benchmark for realism models (DOMAIN.md section 3 holds out 8 of the 35 methods), so:
# every kind is left by at least this many fake methods, so that a held-out split rarely holds a kind
# no training method has (fewer when the catalog is too small: `kind_quota`) ...
MIN_METHODS_PER_KIND = 3
# ... no two methods leave nearly the same artifacts: the Euclidean distance between two profiles
# (strength vectors over the 12 kinds) is at least this (seed 2025's dream catalog had two pairs of
# methods 0.02 apart before; a near-flawless method's strengths are 0.1-0.2, so a larger minimum
# would forbid two near-flawless methods) ...
MIN_PROFILE_DISTANCE = 0.2
PROFILE_TRIES = 400  # draws of a profile before the farthest one is taken
# ... and a method's videos differ: each strength of a video is its profile's times a log-normal factor
# of its own (PER_VIDEO_SPREAD) and one the method shares on both videos of a pair (PER_PAIR_SPREAD: the
# same tool works better on some pairs than on others), capped at 1. Before, only the first, at 0.2: the
# dream plan's within-method SD of realism was 0.24 (8.6% of the fakes' realism variance), now 0.51 (29%).
PER_VIDEO_SPREAD = 0.45
PER_PAIR_SPREAD = 0.25
_SPREAD_DRAWS = 512  # fixed draws of those factors over which a profile's mean realism is computed


@dataclass(frozen=True)
class Method:
    """A face-swap method (or, with `is_real`, a source of real videos) and its artifact profile.

    The profile is the median video's strengths; the method's mean realism over its videos
    (`mean_realism`) is the realism it was drawn for.
    """

    name: str
    is_real: bool = False
    profile: Mapping[str, float] = field(default_factory=dict)

    def pair_factor(self, rng: np.random.Generator) -> float:
        """The factor this method's strengths share on both videos of one identity pair."""
        return math.exp(rng.normal(0.0, PER_PAIR_SPREAD)) if self.profile else 1.0

    def strengths_for_video(self, rng: np.random.Generator, pair_factor: float = 1.0) -> dict[str, float]:
        """The artifact strengths of one video of this method (on a pair with this `pair_factor`)."""
        return {
            kind: round(float(np.clip(s * pair_factor * math.exp(rng.normal(0.0, PER_VIDEO_SPREAD)), 0.0, 1.0)), 4)
            for kind, s in self.profile.items()
        }


@functools.lru_cache(maxsize=16)
def _spread_factors(kinds: int) -> np.ndarray:
    """Fixed draws (_SPREAD_DRAWS x kinds) of a video's strength factors: pair factor times own factor."""
    rng = np.random.default_rng([kinds, 1520])
    pair = rng.normal(0.0, PER_PAIR_SPREAD, size=(_SPREAD_DRAWS, 1))
    own = rng.normal(0.0, PER_VIDEO_SPREAD, size=(_SPREAD_DRAWS, kinds))
    factors = np.exp(pair + own)
    factors.flags.writeable = False
    return factors


def mean_realism(profile: Mapping[str, float]) -> float:
    """The mean latent realism of a method's videos, over the per-pair and per-video spread of its strengths."""
    if not profile:
        return R_MAX
    kinds = sorted(profile)
    strengths = np.minimum(np.array([profile[k] for k in kinds]) * _spread_factors(len(kinds)), 1.0)
    load = (strengths ** EXPONENT) @ np.array([WEIGHTS[k] for k in kinds])
    return float(np.mean(1.0 + (R_MAX - 1.0) * np.exp(-load)))


def profile_distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Euclidean distance between two profiles as strength vectors over every kind (absent: 0)."""
    return math.sqrt(sum((a.get(k, 0.0) - b.get(k, 0.0)) ** 2 for k in set(a) | set(b)))


def kind_quota(fake: int) -> int:
    """How many fake methods each kind needs: MIN_METHODS_PER_KIND, or fewer for a small catalog.

    The quota takes at most two kinds per method on average (profiles start with 2.2), so that it
    shapes the draw instead of replacing it: the small study's 8 methods give every kind once.
    """
    return min(MIN_METHODS_PER_KIND, 2 * fake // len(ARTIFACT_KINDS))


def _profile_for(realism: float, rng: np.random.Generator, *, weights: Mapping[str, float] = KIND_FREQUENCY,
                 include: Sequence[str] = ()) -> dict[str, float]:
    """Random artifact kinds (with `include` among them) whose strengths give a mean realism of about `realism`.

    Kinds are drawn with probabilities proportional to `weights`; the strengths are random in ratio,
    scaled together so that `mean_realism` is `realism`. When even full strength is not enough,
    the method gets one more kind.
    """
    kinds = list(ARTIFACT_KINDS)
    n = max(int(rng.choice(list(KINDS_PER_METHOD), p=list(KINDS_PER_METHOD.values()))), len(include))
    while True:
        others = [k for k in kinds if k not in include]
        p = np.array([weights[k] for k in others])
        chosen = list(include) + [str(k) for k in rng.choice(others, size=n - len(include), replace=False, p=p / p.sum())]
        raw = {k: float(rng.uniform(0.35, 1.0)) for k in chosen}
        top = 1.0 / min(raw.values())  # the factor that puts every strength at 1

        def scaled(c: float) -> dict[str, float]:
            return {k: min(1.0, s * c) for k, s in raw.items()}

        if mean_realism(scaled(top)) <= realism + 0.05 or n == len(kinds):
            low, high = 0.0, top
            for _ in range(50):  # mean_realism falls as c grows
                mid = (low + high) / 2
                low, high = (mid, high) if mean_realism(scaled(mid)) > realism else (low, mid)
            return {k: round(s, 3) for k, s in sorted(scaled(high).items())}
        n += 1  # capped at full strength: this method needs one more kind of artifact


def method_catalog(*, fake: int = 35, real: int = 3, very_poor: int = 2, seed: int = 0) -> list[Method]:
    """`fake` face-swap methods (of which `very_poor` are gold-1 checker candidates) and `real` real sources.

    The mean realism of the other fake methods follows the paper's MOS histogram in shape: most
    methods moderate to relatively high, a tail down to about 1.6. Profiles are drawn one after the
    other: kinds that have not reached `kind_quota` yet are three times as likely, and a kind is
    forced in when every remaining method is needed for it; a profile closer than
    MIN_PROFILE_DISTANCE to an earlier one is drawn again. Method names are neutral (fs01, ...) and
    in random order, so a name says nothing about quality.
    """
    if not 0 <= very_poor <= fake:
        raise ValueError("very_poor must be between 0 and the number of fake methods")
    rng = np.random.default_rng([seed, 2024])
    regular = fake - very_poor
    # Quantiles of Beta(1.8, 1.3) spread between 1.6 and R_MAX - 0.25.
    quantiles = (np.arange(regular) + 0.5) / max(regular, 1)
    targets = list(1.6 + (R_MAX - 0.25 - 1.6) * beta.ppf(quantiles, 1.8, 1.3))
    targets += list(rng.uniform(1.12, 1.3, size=very_poor))
    order = rng.permutation(len(targets))
    quota = kind_quota(fake)
    counts = dict.fromkeys(ARTIFACT_KINDS, 0)
    profiles: list[dict[str, float]] = []
    for i, j in enumerate(order):
        left = len(order) - i
        include = [k for k in ARTIFACT_KINDS if quota - counts[k] >= left]
        weights = {k: f * (3.0 if counts[k] < quota else 1.0) for k, f in KIND_FREQUENCY.items()}
        best, best_distance = None, -1.0
        for _ in range(PROFILE_TRIES):
            profile = _profile_for(targets[j], rng, weights=weights, include=include)
            distance = min((profile_distance(profile, other) for other in profiles), default=math.inf)
            if distance > best_distance:
                best, best_distance = profile, distance
            if distance >= MIN_PROFILE_DISTANCE:
                break
        profiles.append(best)
        for k in best:
            counts[k] += 1
    methods = [Method(f"fs{i + 1:02d}", profile=profile) for i, profile in enumerate(profiles)]
    methods += [Method(f"real{i + 1}", is_real=True) for i in range(real)]
    return methods


# --- Rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip, picklable for worker processes."""

    name: str
    target: int  # identity index whose video it is (A)
    source: int | None  # identity index whose face is put on it (B); None for a real video
    strengths: Mapping[str, float]
    take_seed: int  # the performance (blinks, speech, head motion)
    artifact_seed: int  # the random parts of the artifacts (shake path, flicker, tint)
    identity_seed: int
    width: int = 640
    height: int = 360
    fps: int = 25
    seconds: float = 3.0

    @property
    def frames(self) -> int:
        return max(int(round(self.seconds * self.fps)), 1)


# Colour shifts a poor colour transfer leaves (BGR, at full strength): reddish, greenish, yellowish, pale, dark.
_TINTS = np.array([[-18, -8, 38], [-10, 30, -12], [-30, 18, 26], [30, 30, 30], [-34, -30, -26]], np.float32)


def render_clip(spec: ClipSpec) -> Iterator[np.ndarray]:
    """The frames (uint8 BGR) of one clip: A's real video, or B's face swapped onto it with the artifacts."""
    a_scene = Scene(identity_make(spec.target, seed=spec.identity_seed), width=spec.width, height=spec.height)
    take = take_make(frames=spec.frames, fps=spec.fps, seed=spec.take_seed)
    if spec.source is None:
        for t in range(take.frames):
            yield a_scene.frame(take, t)[0]
        return
    b_scene = Scene(identity_make(spec.source, seed=spec.identity_seed), width=spec.width, height=spec.height)
    yield from _Swap(a_scene, b_scene, take, spec).frames()


class _Swap:
    """One face-swap clip: the per-clip constants of each artifact, then frame after frame."""

    def __init__(self, a: Scene, b: Scene, take: Take, spec: ClipSpec):
        self.a, self.b, self.take = a, b, take
        s = {kind: float(spec.strengths.get(kind, 0.0)) for kind in ARTIFACT_KINDS}
        self.s = s
        rng = np.random.default_rng(spec.artifact_seed)
        self.rng = rng
        k = a.k
        n = take.frames
        # misalign: a constant shift, turn and scale of the face against the head.
        direction = rng.uniform(0, 2 * np.pi)
        self.mis_offset = (s["misalign"] * 7 * math.cos(direction), s["misalign"] * 7 * math.sin(direction))
        self.mis_angle = s["misalign"] * 6 * float(rng.choice([-1, 1]))
        self.mis_zoom = 1 + s["misalign"] * 0.07 * float(rng.choice([-1, 1]))
        # jitter: a shaky offset per frame (partly smoothed, with occasional jumps).
        shake = rng.normal(0, 1, size=(n, 3))
        shake[1:] = 0.5 * shake[1:] + 0.5 * shake[:-1]
        self.jitter = (shake * s["jitter"] * np.array([4.0, 4.0, 3.0])).tolist()
        # flicker: a brightness gain held for 1-3 frames.
        hold = np.repeat(rng.uniform(-1, 1, size=n), rng.integers(1, 4, size=n))[:n]
        self.gain = (1 + 0.3 * s["flicker"] * hold).tolist()
        # color: a tint and a contrast change that the colour transfer failed to remove.
        self.tint = _TINTS[rng.integers(0, len(_TINTS))] * s["color"]
        self.contrast = 1 + 0.35 * s["color"] * float(rng.choice([-1, 1]))
        # seam: a hard mask edge and a visible line; a good method feathers the edge widely.
        mask = a.inner_mask
        self.mask = cv2.GaussianBlur(mask, (0, 0), ((1 - s["seam"]) * 7 + 0.7) * k)
        self.seam_line = s["seam"] * 55 * float(rng.choice([-1, 1]))
        self.skin_shift = (a.identity.skin - b.identity.skin).astype(np.float32)
        self.blur_sigma = s["blur"] * 3.2 * k
        self.mosaic_block = max(2, int(round((2 + 9 * s["mosaic"]) * k)))
        self.jpeg_quality = int(round(60 - 56 * s["blocking"]))
        self.noise_sd = 24 * s["noise"]
        self.ghost = 0.55 * s["ghosting"]
        self.drop_p = 0.3 * s["frame_drop"]

    def face(self, t: int) -> np.ndarray:
        """B's face with A's expression, colour-transferred to A's skin, with the canvas-level artifacts."""
        take, s = self.take, self.s
        stiff = s["stiff_mouth"]
        face = self.b.face_base.copy()
        self.b.features(face, mouth=0.15 * stiff + take.mouth[t] * (1 - 0.9 * stiff), blink=take.blink[t],
                        brow=take.brow[t] * (1 - 0.8 * stiff))
        f = face.astype(np.float32) + self.skin_shift
        if s["color"] > 0:
            f = ((f - 128) * self.contrast + 128 + self.tint).astype(np.float32)
        if self.ghost > 0:
            own = self.a.face_base.copy()
            self.a.features(own, mouth=take.mouth[t], blink=take.blink[t], brow=take.brow[t])
            f = cv2.addWeighted(f, 1 - self.ghost, own.astype(np.float32), self.ghost, 0)
        if s["flicker"] > 0:
            f *= self.gain[t]
        if self.blur_sigma > 0.3:
            f = cv2.GaussianBlur(f, (0, 0), self.blur_sigma)
        return np.clip(f, 0, 255).astype(np.uint8)

    def frames(self) -> Iterator[np.ndarray]:
        a, take, s = self.a, self.take, self.s
        previous: np.ndarray | None = None
        freeze = 0
        for t in range(take.frames):
            if freeze > 0 and previous is not None:
                freeze -= 1
                yield previous
                continue
            img, _ = a.frame(take, t)
            jx, jy, ja = self.jitter[t]
            m = a.pose_matrix(take, t, offset=(self.mis_offset[0] + jx, self.mis_offset[1] + jy),
                              angle=self.mis_angle + ja, zoom=self.mis_zoom)
            box = a.box(m)
            alpha = a.warp(self.mask, m, box)
            a.paste(img, a.warp(self.face(t), m, box), alpha, box)
            self.region_artifacts(img, alpha, box, previous)
            if previous is not None and self.drop_p > 0 and self.rng.random() < self.drop_p:
                freeze = int(self.rng.integers(1, 4))
            previous = img
            yield img

    def region_artifacts(self, img: np.ndarray, alpha: np.ndarray, box, previous: np.ndarray | None) -> None:
        """Artifacts drawn in the frame around the pasted face: seam line, trails, noise, blocks, mosaic."""
        s = self.s
        x0, y0, x1, y1 = box
        roi = img[y0:y1, x0:x1]
        touched = False
        f = roi.astype(np.float32)
        a3 = alpha[..., None]
        if s["seam"] > 0:
            ring = 4 * alpha * (1 - alpha)
            f += (ring * self.seam_line)[..., None]
            touched = True
        if self.ghost > 0 and previous is not None:
            trail = previous[y0:y1, x0:x1].astype(np.float32)
            w = a3 * (0.6 * self.ghost)
            f = f * (1 - w) + trail * w
            touched = True
        if self.noise_sd > 0:
            grain = np.empty(f.shape, np.float32)
            cv2.randn(grain, 0, self.noise_sd)
            f += grain * a3
            touched = True
        if touched:
            roi = np.clip(f, 0, 255).astype(np.uint8)
        if s["blocking"] > 0:
            ok, data = cv2.imencode(".jpg", roi, [cv2.IMWRITE_JPEG_QUALITY, max(self.jpeg_quality, 2)])
            blocky = cv2.imdecode(data, cv2.IMREAD_COLOR)
            roi = cv2.blendLinear(blocky, roi, np.ascontiguousarray(alpha), np.ascontiguousarray(1 - alpha))
        if s["mosaic"] > 0:
            h, w = roi.shape[:2]
            small = cv2.resize(roi, (max(w // self.mosaic_block, 1), max(h // self.mosaic_block, 1)), interpolation=cv2.INTER_AREA)
            tiles = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
            weight = np.ascontiguousarray(alpha * min(1.0, 0.35 + s["mosaic"]))
            roi = cv2.blendLinear(tiles, roi, weight, 1 - weight)
        img[y0:y1, x0:x1] = roi



def clip_write(spec: ClipSpec, path: str) -> str:
    """Render `spec` and encode it to an H.264 MP4 at `path` (near-lossless: the ingest transcodes it again).

    Runs in a worker process: one ffmpeg thread, the pool gives the parallelism.
    """
    args = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{spec.width}x{spec.height}", "-r", str(spec.fps), "-i", "-",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", "-threads", "1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "mp4", path,
    ]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for frame in render_clip(spec):
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    except BrokenPipeError:
        pass  # ffmpeg stopped early; its stderr says why
    _, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {spec.name}: {stderr.decode('utf-8', 'replace').strip()[-500:]}")
    return path
