"""CLIP-IQA: reports itself unavailable without a checkpoint; with one (a tiny random open_clip model) the plumbing works."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.modeling import standins_finetune

standins_finetune.install()

from modeling.methods import MethodUnavailable, TrainContext, method_make  # noqa: E402
from modeling.methods.clipiqa import ClipIqa  # noqa: E402
from tests.modeling.tiny_videos import tiny_videos  # noqa: E402

TINY_ARCH = "TinyCLIP-dream-test"
TINY_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A random-weight open_clip model of TINY_CONFIG saved as a checkpoint: (model config path, checkpoint path, model)."""
    import open_clip

    folder = tmp_path_factory.mktemp("clip")
    config = folder / f"{TINY_ARCH}.json"
    config.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_ARCH).eval()
    torch.save(model.state_dict(), folder / "tiny.pt")
    return config, folder / "tiny.pt", model


def test_without_a_checkpoint_it_reports_itself_unavailable_and_gives_no_numbers(tmp_path):
    method = method_make("clipiqa")
    assert "checkpoint" in method.unavailable()
    videos, frames = tiny_videos(tmp_path / "crops", n=4, frames=3)
    ctx = TrainContext(frames=frames, mos=videos, reasons={}, work=tmp_path / "work")
    with pytest.raises(MethodUnavailable) as err:
        method.fit(ctx, sorted(videos))
    assert err.value.code == "method_unavailable" and err.value.status == 409
    with pytest.raises(MethodUnavailable):
        method.predict(frames, sorted(videos))
    assert "does not exist" in method_make("clipiqa", {"checkpoint": str(tmp_path / "missing.pt")}).unavailable()


def test_with_a_checkpoint_it_scores_the_positive_prompts_probability(tmp_path, tiny_clip):
    import open_clip

    config, checkpoint, reference = tiny_clip
    method = method_make("clipiqa", {"checkpoint": str(checkpoint), "model_config": str(config), "arch": TINY_ARCH})
    assert method.unavailable() is None
    videos, frames = tiny_videos(tmp_path / "crops", n=4, frames=6)
    ids = sorted(videos)
    report = method.fit(TrainContext(frames=frames, mos=videos, reasons={}, work=tmp_path / "work"), ids)
    assert report["zero_shot"] and report["weights"][0]["file"] == str(checkpoint)
    pred = method.predict(frames, ids)
    assert pred.shape == (4,) and ((pred > 0) & (pred < 1)).all()

    # The same number computed independently with open_clip's own preprocessing on the reference model.
    _, _, preprocess = open_clip.create_model_and_transforms(TINY_ARCH)
    tokens = open_clip.get_tokenizer(TINY_ARCH)(["High realism face images.", "Low realism face images."])
    crops = frames(ids[2])
    with torch.no_grad():
        image = reference.encode_image(torch.stack([preprocess(Image.open(p).convert("RGB")) for p in crops]))
        text = reference.encode_text(tokens)
        image, text = image / image.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
        expected = torch.softmax(100 * image @ text.T, dim=-1)[:, 0].mean().item()
    assert method.config["policy"] == "even:8"  # 8 evenly spaced of 6 crops: every crop, two of them twice
    from modeling.data.sampling import crops_load, frames_select

    chosen = [p for clip in frames_select(crops, "even:8") for p in clip]
    np.testing.assert_allclose(np.mean(method.frame_scores(crops_load(chosen))), pred[2], rtol=1e-6)
    np.testing.assert_allclose(np.mean(method.frame_scores(crops_load(crops))), expected, rtol=1e-4, atol=1e-6)

    method.save(tmp_path / "saved")
    np.testing.assert_allclose(ClipIqa.load(tmp_path / "saved").predict(frames, ids), pred, rtol=1e-6)
