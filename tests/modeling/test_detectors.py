"""The detector registry, and each installed detector finding the demo study's drawn faces where the renderer put them."""
from __future__ import annotations

import numpy as np
import pytest

from annotation.errors import ApplicationError
from demo.faces import CENTER, Scene, identity_make, take_make
from demo.swaps import ClipSpec, render_clip
from modeling.frames import detectors
from modeling.frames.detectors import DETECTORS, Face, detector_class, face_main

SEED = 7


def test_the_registry_names_every_detector_and_refuses_a_second_of_a_name():
    assert {"yunet", "haar", "mtcnn"} <= set(DETECTORS)

    class Another(detectors.Haar):
        name = "haar"

    with pytest.raises(ValueError, match="already registered"):
        detectors.register(Another)
    assert DETECTORS["haar"] is detectors.Haar


def test_unknown_and_missing_detectors_are_clear_errors(monkeypatch):
    with pytest.raises(ApplicationError) as unknown:
        detector_class("retinaface")
    assert unknown.value.code == "unknown_detector" and "yunet" in unknown.value.message
    monkeypatch.setattr(detectors.YuNet, "available", classmethod(lambda cls: False))
    with pytest.raises(ApplicationError) as missing:
        detector_class("yunet")
    assert missing.value.code == "detector_unavailable" and "yuface" in missing.value.message


def test_auto_takes_the_first_installed_in_order(monkeypatch):
    installed = [name for name in detectors.AUTO_ORDER if DETECTORS[name].available()]
    assert detector_class("auto").name == installed[0]
    monkeypatch.setattr(detectors.YuNet, "available", classmethod(lambda cls: False))
    monkeypatch.setattr(detectors.Mtcnn, "available", classmethod(lambda cls: False))
    assert detector_class("auto") is detectors.Haar


def test_yuface_is_the_default_where_it_is_installed():
    pytest.importorskip("yuface")
    assert detector_class("auto") is detectors.YuNet
    assert detectors.YuNet.version() == "yuface 2023.5.1"


def test_face_main_is_the_largest_then_the_surest():
    small_sure, large = Face((0, 0, 10, 10), 0.99), Face((50, 50, 40, 40), 0.6)
    assert face_main([small_sure, large]) is large
    surer = Face((10, 10, 40, 40), 0.9)
    assert face_main([large, surer]) is surer
    assert face_main([]) is None


def _frame_and_truth(target: int, *, width: int, height: int, t: int = 0):
    """Frame `t` of identity `target`'s real video and where the renderer put the face: its centre
    (the face ellipse's centre mapped by the head pose) and its half height, in pixels."""
    spec = ClipSpec(name="t.mp4", target=target, source=None, strengths={}, take_seed=target + 11, artifact_seed=0,
                    identity_seed=SEED, width=width, height=height, seconds=0.2)
    frame = list(render_clip(spec))[t]
    scene = Scene(identity_make(target, seed=SEED), width=width, height=height)
    take = take_make(frames=spec.frames, fps=spec.fps, seed=target + 11)
    # The pose maps the head image, whose pixels are canvas units times k, into the frame.
    centre = scene.pose_matrix(take, t) @ np.array([CENTER[0] * scene.k, CENTER[1] * scene.k, 1.0])
    return frame, centre, scene.identity.face_h * scene.k


def _installed(name: str):
    if not DETECTORS[name].available():
        pytest.skip(f"{DETECTORS[name].package} is not installed here")
    return DETECTORS[name]()


@pytest.mark.parametrize("name", ["yunet", "haar", "mtcnn"])
@pytest.mark.parametrize("size", [(640, 360), (1280, 720)], ids=["360p", "720p-downscaled"])
def test_each_detector_finds_the_drawn_face_where_it_was_drawn(name, size):
    """Four identities (two skin tones apart each); 720p frames go through the downscaling and back."""
    detector = _installed(name)
    for target in (0, 3, 4, 7):
        frame, (cx, cy), half_height = _frame_and_truth(target, width=size[0], height=size[1])
        face = face_main(detector.detect(frame))
        assert face is not None, f"{name} found no face of identity {target}"
        x, y, w, h = face.box
        assert x < cx < x + w and y < cy < y + h, f"{name}: box {face.box} misses the face centre {(cx, cy)}"
        assert 0.5 * half_height < h < 3 * half_height, f"{name}: box height {h} for a face of half height {half_height}"


@pytest.mark.parametrize("name", ["yunet", "haar", "mtcnn"])
def test_no_face_in_a_flat_frame(name):
    detector = _installed(name)
    assert detector.detect(np.full((360, 640, 3), 128, np.uint8)) == []
