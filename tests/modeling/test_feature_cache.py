"""Cached frozen-backbone features: equal to a fresh computation, never recomputed, keyed by weights and crops."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from modeling.archs.backbones import backbone_build, images_to_tensor
from modeling.data.cache import features_cached, model_key
from modeling.data.sampling import crops_load, frames_select

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class ForwardCount:
    """Counts the frames the backbone really computes (a forward hook on the real module)."""

    def __init__(self, model):
        self.frames = 0
        model.register_forward_hook(lambda module, args, output: setattr(self, "frames", self.frames + args[0].shape[0]))


@pytest.fixture
def lite0(offline_weights):
    torch.set_num_threads(1)
    model, spec = backbone_build("tf_efficientnet_lite0", weights=offline_weights / "tf_efficientnet_lite0.safetensors", input_size=32)
    return model, spec


def direct(model, spec, paths):
    """The features computed plainly, crop by crop (no batching, no cache)."""
    model.eval()
    with torch.inference_mode():
        return np.concatenate([model(images_to_tensor(crops_load([p]), spec)).numpy() for p in paths])


def test_cached_features_equal_a_fresh_computation_and_a_rerun_computes_nothing(lite0, tiny_crops, tmp_path):
    model, spec = lite0
    count = ForwardCount(model)
    ids = ["vid_a", "vid_b", "vid_c"]
    seen = []
    out = features_cached(model, spec, tiny_crops.__getitem__, ids, policy="even:4", cache_root=tmp_path / "cache",
                          batch_size=5, progress=lambda stage, done, total: seen.append((done, total)))
    assert list(out) == ids and all(out[v].shape == (4, 1280) and out[v].dtype == np.float32 for v in ids)
    # Every crop of each video once (the cache holds policy "all"; even:4 picks rows of it).
    assert count.frames == sum(len(tiny_crops[v]) for v in ids)
    assert seen[-1] == (3, 3) and model.training  # its mode is given back
    for v in ids:
        expected = direct(model, spec, [p for clip in frames_select(tiny_crops[v], "even:4") for p in clip])
        np.testing.assert_allclose(out[v], expected, rtol=1e-4, atol=1e-5)

    files = sorted((tmp_path / "cache").rglob("*.npy"))
    mtimes, computed = [f.stat().st_mtime_ns for f in files], count.frames
    again = features_cached(model, spec, tiny_crops.__getitem__, ["vid_b", "vid_a"], policy="even:4", cache_root=tmp_path / "cache")
    assert count.frames == computed and [f.stat().st_mtime_ns for f in files] == mtimes  # another split's ids: read, not computed
    assert list(again) == ["vid_b", "vid_a"] and all(np.array_equal(again[v], out[v]) for v in again)
    # Another method's policy reads the same files: nothing computed, its rows picked from them.
    clips = features_cached(model, spec, tiny_crops.__getitem__, ids, policy="clips:2x2", cache_root=tmp_path / "cache")
    assert count.frames == computed and len(list((tmp_path / "cache").rglob("*.npy"))) == len(files)
    for v in ids:
        expected = direct(model, spec, [p for clip in frames_select(tiny_crops[v], "clips:2x2") for p in clip])
        np.testing.assert_allclose(clips[v], expected, rtol=1e-4, atol=1e-5)


def test_mirrored_crops_have_their_own_entries(lite0, tiny_crops, tmp_path):
    model, spec = lite0
    plain = features_cached(model, spec, tiny_crops.__getitem__, ["vid_a"], policy="even:2", cache_root=tmp_path / "cache")
    mirrored = features_cached(model, spec, tiny_crops.__getitem__, ["vid_a"], policy="even:2", cache_root=tmp_path / "cache", flip=True)
    selected = [p for clip in frames_select(tiny_crops["vid_a"], "even:2") for p in clip]
    model.eval()
    with torch.inference_mode():
        expected = np.concatenate([model(images_to_tensor(np.ascontiguousarray(crops_load([p])[:, :, ::-1]), spec)).numpy() for p in selected])
    np.testing.assert_allclose(mirrored["vid_a"], expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(mirrored["vid_a"], plain["vid_a"])


def test_changed_crops_are_recomputed_and_only_they(lite0, tiny_crops, tmp_path):
    model, spec = lite0
    count = ForwardCount(model)
    features_cached(model, spec, tiny_crops.__getitem__, ["vid_a", "vid_b"], policy="all", cache_root=tmp_path / "cache")
    assert count.frames == 19
    path = tiny_crops["vid_b"][2]
    cv2.imwrite(str(path), np.zeros((40, 40, 3), np.uint8))  # re-extracted: another file size
    out = features_cached(model, spec, tiny_crops.__getitem__, ["vid_a", "vid_b"], policy="all", cache_root=tmp_path / "cache")
    assert count.frames == 19 + 7  # vid_b's 7 crops again, none of vid_a's
    np.testing.assert_allclose(out["vid_b"][2], direct(model, spec, [path])[0], rtol=1e-4, atol=1e-5)


def test_keys_change_with_weights_policy_and_size(lite0, offline_weights):
    _, spec = lite0
    key = model_key(spec, "even:4")[0]
    assert model_key(spec, "even:4")[0] == key and model_key(spec, " even: 4")[0] == key
    assert model_key(spec, "even:5")[0] != key and model_key(spec, "clips:2x2")[0] != key
    _, bigger = backbone_build("tf_efficientnet_lite0", weights=offline_weights / "tf_efficientnet_lite0.safetensors", input_size=48)
    assert model_key(bigger, "even:4")[0] != key
    _, random_spec = backbone_build("tf_efficientnet_lite0", weights=None, input_size=32)
    assert model_key(random_spec, "even:4", "0" * 64)[0] != key


def test_random_weights_are_keyed_by_their_tensors(tiny_crops, tmp_path):
    torch.manual_seed(0)
    a, spec = backbone_build("tf_efficientnet_lite0", weights=None, input_size=32)
    b, _ = backbone_build("tf_efficientnet_lite0", weights=None, input_size=32)  # another random draw
    fa = features_cached(a, spec, tiny_crops.__getitem__, ["vid_c"], policy="all", cache_root=tmp_path / "cache")
    count = ForwardCount(b)
    fb = features_cached(b, spec, tiny_crops.__getitem__, ["vid_c"], policy="all", cache_root=tmp_path / "cache")
    assert count.frames == 3 and not np.allclose(fa["vid_c"], fb["vid_c"])
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_clip_policies_flatten_their_clips(lite0, tiny_crops, tmp_path):
    model, spec = lite0
    out = features_cached(model, spec, tiny_crops.__getitem__, ["vid_a"], policy="clips:3x2", cache_root=tmp_path / "cache")
    selected = [p for clip in frames_select(tiny_crops["vid_a"], "clips:3x2") for p in clip]
    assert out["vid_a"].shape == (6, 1280)
    np.testing.assert_allclose(out["vid_a"], direct(model, spec, selected), rtol=1e-4, atol=1e-5)
