"""CLIP-IQA: reports itself unavailable without a checkpoint; with one (a tiny random open_clip model) the plumbing works."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from modeling.methods import MethodUnavailable, TrainContext, method_make
from modeling.methods.clipiqa import ClipIqa
from tests.modeling.tiny_videos import tiny_videos


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

    reference, checkpoint, config = tiny_clip
    arch = config.stem  # open_clip names an added architecture by its config file
    method = method_make("clipiqa", {"checkpoint": str(checkpoint), "model_config": str(config), "arch": arch})
    assert method.unavailable() is None
    videos, frames = tiny_videos(tmp_path / "crops", n=4, frames=6)
    ids = sorted(videos)
    report = method.fit(TrainContext(frames=frames, mos=videos, reasons={}, work=tmp_path / "work"), ids)
    assert report["zero_shot"] and report["weights"][0]["file"] == str(checkpoint)
    pred = method.predict(frames, ids)
    assert pred.shape == (4,) and ((pred > 0) & (pred < 1)).all()

    # The same number computed independently with open_clip's own preprocessing on the reference model.
    _, _, preprocess = open_clip.create_model_and_transforms(arch)
    tokens = open_clip.get_tokenizer(arch)(["High realism face images.", "Low realism face images."])
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
