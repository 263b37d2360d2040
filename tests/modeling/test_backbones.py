"""Backbones by timm name: which weights they hold, the features they give, and the input they expect."""
from __future__ import annotations

import numpy as np
import pytest
import timm
import torch

from annotation.errors import ApplicationError
from modeling import weights
from modeling.archs.backbones import backbone_build, images_to_tensor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def features(model, x):
    with torch.inference_mode():
        return model.eval()(x)


def test_a_file_gives_timms_pooled_features(offline_weights):
    path = offline_weights / "tf_efficientnet_lite0.safetensors"
    model, spec = backbone_build("tf_efficientnet_lite0", weights=path)
    assert (spec.weights, spec.dim, spec.input_size, spec.mean, spec.std) == (str(path), 1280, 224, (0.5,) * 3, (0.5,) * 3)
    assert spec.weights_sha256 == weights.weights_record("tf_efficientnet_lite0", offline_weights)["sha256"]
    classifier = timm.create_model("tf_efficientnet_lite0", checkpoint_path=str(path)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = classifier.forward_head(classifier.forward_features(x), pre_logits=True)
    got = features(model, x)
    assert got.shape == (2, 1280) and torch.allclose(got, expected, atol=1e-5)


def test_auto_takes_the_fetched_file_else_random(weights_dir, tmp_path, monkeypatch):
    model, spec = backbone_build("mobilenetv2_100")
    record = weights.weights_record("mobilenetv2_100")
    assert spec.weights == str(weights_dir / "mobilenetv2_100.safetensors") and spec.weights_sha256 == record["sha256"]
    assert spec.mean == (0.485, 0.456, 0.406) and spec.dim == 1280
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)  # nothing fetched there
    random_model, random_spec = backbone_build("mobilenetv2_100")
    assert random_spec.weights is None and random_spec.weights_sha256 is None and not random_spec.pretrained
    x = torch.randn(1, 3, 32, 32)
    assert not torch.allclose(features(model, x), features(random_model, x))
    _, none_spec = backbone_build("resnet18", weights=None)
    assert none_spec.weights is None and none_spec.dim == 512


def test_a_torch_checkpoint_with_a_ddp_prefix_loads_the_same(offline_weights, tmp_path):
    path = offline_weights / "tf_efficientnet_lite0.safetensors"
    from safetensors.torch import load_file

    pth = tmp_path / "lite0.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in load_file(str(path)).items()}}, pth)
    a, _ = backbone_build("tf_efficientnet_lite0", weights=path)
    b, spec = backbone_build("tf_efficientnet_lite0", weights=pth)
    x = torch.randn(1, 3, 48, 48)
    assert torch.equal(features(a, x), features(b, x)) and spec.weights_sha256 == weights.file_sha256(pth)


def test_wrong_weights_and_names_are_refused(offline_weights, tmp_path):
    with pytest.raises(ApplicationError) as exc:
        backbone_build("tf_efficientnet_lite0", weights=offline_weights / "mobilenetv2_100.safetensors")
    assert exc.value.code == "weights_mismatch"
    with pytest.raises(ApplicationError) as exc:
        backbone_build("tf_efficientnet_lite0", weights=tmp_path / "absent.pth")
    assert exc.value.code == "weights_missing"
    with pytest.raises(ApplicationError) as exc:
        backbone_build("no_such_net")
    assert exc.value.code == "unknown_backbone"


def test_images_to_tensor_resizes_and_normalises():
    _, spec = backbone_build("tf_efficientnet_lite0", weights=None, input_size=32)
    images = np.zeros((2, 64, 64, 3), np.uint8)
    images[0] = 255
    images[1, :, :, 0] = 51  # 0.2 of full scale in red
    x = images_to_tensor(images, spec)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert torch.allclose(x[0], torch.ones(3, 32, 32)) and torch.allclose(x[1, 0], torch.full((32, 32), -0.6))
    assert torch.allclose(x[1, 1:], torch.full((2, 32, 32), -1.0))
    same = images_to_tensor(images[:, :32, :32], spec)
    assert torch.equal(same[1], x[1])  # constant picture: resizing changes nothing
