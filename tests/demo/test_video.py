"""The demo study's pictures: drawn identities that a Haar cascade finds, and each artifact visible in the frames."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from demo.faces import SKIN_TONES, Scene, identity_make, take_make
from demo.realism import ARTIFACT_KINDS
from demo.swaps import ClipSpec, render_clip

SEED = 7
SIZE = dict(width=640, height=360)


def clip(target=0, source=1, strengths=None, seconds=1.0, **size) -> list[np.ndarray]:
    spec = ClipSpec(name="t.mp4", target=target, source=source, strengths=strengths or {}, take_seed=target + 11,
                    artifact_seed=target + 13, identity_seed=SEED, seconds=seconds, **(size or SIZE))
    return list(render_clip(spec))


def face_box(frames_like: np.ndarray, target: int = 0) -> tuple[slice, slice]:
    """The inner-face region of the target's head in frame 0 (for measuring artifacts there)."""
    scene = Scene(identity_make(target, seed=SEED), **SIZE)
    take = take_make(frames=1, fps=25, seed=target + 11)
    m = scene.pose_matrix(take, 0)
    cx, cy = m @ np.array([128.0, 140.0, 1.0])
    half = int(45 * scene.k)
    return slice(int(cy) - half, int(cy) + half), slice(int(cx) - half, int(cx) + half)


def test_identities_differ_and_pairs_match():
    people = [identity_make(i, seed=SEED) for i in range(8)]
    assert len({(p.face_w, p.skin_tone, p.hair_style, p.hair_color, p.eye_color, p.background) for p in people}) == 8
    for a, b in zip(people[::2], people[1::2]):
        assert a.presentation == b.presentation and abs(a.skin_tone - b.skin_tone) == 1
    assert {p.presentation for p in people} == {"woman", "man"}
    tones = {identity_make(i, seed=SEED).skin_tone for i in range(40)}
    assert min(tones) <= 1 and max(tones) >= len(SKIN_TONES) - 2, "a study spans light to dark skin"
    assert identity_make(3, seed=SEED) == identity_make(3, seed=SEED)


def test_takes_blink_talk_and_move():
    take = take_make(frames=125, fps=25, seed=1)
    assert take.blink.max() == 1.0 and (take.blink > 0.5).sum() < 20
    assert take.mouth.max() > 0.6 and (take.mouth < 0.1).any()
    assert np.ptp(take.dx) > 2 and np.ptp(take.angle) > 1


@pytest.fixture(scope="module")
def cascade():
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def test_haar_cascade_finds_the_faces_in_most_frames(cascade):
    """Real videos and mild swaps of twelve identities, every 5th frame of one second each.

    Strong blur or mosaic hides a face from the cascade as it would a real one; the study's
    faces themselves must be found.
    """
    found = total = 0
    for target in range(12):
        source = None if target % 2 == 0 else target - 1
        strengths = {} if source is None else {"seam": 0.3, "color": 0.2}
        for frame in clip(target, source, strengths)[::5]:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            found += len(cascade.detectMultiScale(gray, 1.1, 5, minSize=(60, 60))) > 0
            total += 1
    assert found / total >= 0.85, f"faces found in {found} of {total} frames"


def sharpness(region: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_each_artifact_changes_the_face_region():
    real = clip(seconds=0.4)
    rows, cols = face_box(real[0])
    for kind in ARTIFACT_KINDS:
        weak, strong = clip(strengths={kind: 0.2}, seconds=0.4), clip(strengths={kind: 1.0}, seconds=0.4)
        assert len(strong) == len(real) == 10 and strong[0].shape == (360, 640, 3) and strong[0].dtype == np.uint8
        if kind == "frame_drop":
            repeats = sum(np.array_equal(a, b) for a, b in zip(strong, strong[1:]))
            assert repeats >= 1, "dropped frames repeat the previous one"
            continue
        change_strong = np.abs(strong[3][rows, cols].astype(float) - weak[3][rows, cols]).mean()
        assert change_strong > 1.0, f"{kind} at full strength differs from weak ({change_strong:.2f})"


def test_blur_and_flicker_measurably():
    base, blurred = clip(strengths={"seam": 0.05}, seconds=0.4), clip(strengths={"blur": 1.0}, seconds=0.4)
    rows, cols = face_box(base[0])
    assert sharpness(blurred[2][rows, cols]) < 0.5 * sharpness(base[2][rows, cols])
    steady, flicker = clip(strengths={"seam": 0.05}, seconds=1.0), clip(strengths={"flicker": 1.0}, seconds=1.0)
    spread = lambda frames: np.std([f[rows, cols].mean() for f in frames])  # noqa: E731
    assert spread(flicker) > 2 * spread(steady)


def test_real_clip_has_no_swap_and_is_deterministic():
    a, b = clip(2, None, seconds=0.2), clip(2, None, seconds=0.2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    swapped = clip(2, 3, {}, seconds=0.2)
    assert not np.array_equal(a[0], swapped[0]), "a flawless swap still shows the other person's face"
