"""Image backbones by timm name, with pretrained weights from a local file only, and what they expect as input.

`backbone_build` returns the network as a pooled-feature extractor (timm with num_classes=0:
forward(B x 3 x S x S) -> B x D) and a `BackboneSpec` saying which weights it holds, so a report
and a feature cache can name them. Weights are never downloaded: "auto" takes the file that
`manage.py fetch_weights` converted for this name (modeling.weights), else the network starts from
random initialisation and the spec says so (weights None); a path loads a timm-named state dict
(safetensors or a torch file); None is random initialisation.
"""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from annotation.errors import ApplicationError
from modeling import weights as offline

logger = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class BackboneSpec:
    """A built backbone's identity and input: its timm name, weights file (None: random init) and SHA-256,
    the square input side in pixels, the normalisation mean/std (RGB, on 0-1 pixels) and the feature size."""

    name: str
    weights: str | None
    weights_sha256: str | None
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dim: int

    @property
    def pretrained(self) -> bool:
        return self.weights is not None

    def as_dict(self) -> dict:
        return asdict(self)


def state_dict_read(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file or a torch file (.pth/.pt/.bin, tensors only).

    Unwraps the usual checkpoint shapes ({"state_dict": ...}, {"model": ...}) and the "module."
    prefix DistributedDataParallel adds.
    """
    path = Path(path)
    if not path.is_file():
        raise ApplicationError("weights_missing", f"No weights file at {path}.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file, or a pickle that holds more than tensors
        raise ApplicationError("bad_weights", f"{path} is not a readable state dict ({exc}).") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ApplicationError("bad_weights", f"{path} does not hold a state dict of tensors.")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _weights_load(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    """Load a timm-named state dict into the headless model: every backbone tensor must be there; of the
    rest only the classifier (not part of a feature extractor) may be left over."""
    classifier = model.pretrained_cfg.get("classifier") or "classifier"
    classifiers = classifier if isinstance(classifier, (list, tuple)) else (classifier,)
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes that do not fit
        raise ApplicationError("weights_mismatch", f"{path} does not fit {name}: {str(exc).splitlines()[-1].strip()}") from exc
    extra = [k for k in result.unexpected_keys if not any(k.startswith(c + ".") for c in classifiers)]
    if result.missing_keys or extra:
        missing = ", ".join(result.missing_keys[:3]) or "none"
        raise ApplicationError("weights_mismatch", f"{path} is not a {name} state dict with timm's names "
                               f"(missing {missing}; unexpected {', '.join(extra[:3]) or 'none'}).")


def backbone_build(name: str, *, weights: str | os.PathLike[str] | None = AUTO, input_size: int | None = None,
                   **timm_kwargs) -> tuple[torch.nn.Module, BackboneSpec]:
    """The timm network `name` as a pooled-feature extractor, and its spec.

    weights: "auto" (the fetched offline file for this name, else random init), None (random init), or
    a path to a timm-named state dict. input_size: the square side fed to it (default: the resolution
    the weights were trained at, from the fetched file's record or timm's pretrained config).
    Mean/std: the fetched file's (its source's preprocessing), else timm's pretrained config for the
    name (0.5 for the TF EfficientNet-Lite family). Extra keywords go to timm.create_model
    (drop_rate, drop_path_rate...). The module is returned in train mode; call eval() for frozen features.
    """
    import timm

    if not timm.is_model(name):
        raise ApplicationError("unknown_backbone", f"timm has no architecture named {name!r} (timm.list_models() lists them).")
    record = None
    if isinstance(weights, str) and weights == AUTO:
        path = offline.weights_file(name)
        if path is None and name in offline.WEIGHTS:
            logger.warning("No fetched weights for %s under %s: random initialisation (run `manage.py fetch_weights %s`).",
                           name, offline.WEIGHTS_DIR, name)
        record = offline.weights_record(name) if path else None
    else:
        path = Path(weights) if weights is not None else None
    model = timm.create_model(name, pretrained=False, num_classes=0, **timm_kwargs)
    sha256 = None
    if path is not None:
        _weights_load(model, state_dict_read(path), path, name)
        sha256 = record["sha256"] if record else offline.file_sha256(path)
    cfg = model.pretrained_cfg
    mean = tuple(record["mean"]) if record else tuple(cfg.get("mean", offline.IMAGENET_MEAN))
    std = tuple(record["std"]) if record else tuple(cfg.get("std", offline.IMAGENET_STD))
    size = input_size or (record["input_size"] if record else int(cfg.get("input_size", (3, 224, 224))[-1]))
    spec = BackboneSpec(name=name, weights=str(path) if path else None, weights_sha256=sha256, input_size=int(size),
                        mean=mean, std=std, dim=int(model.num_features))
    return model, spec


def images_to_tensor(images: np.ndarray | torch.Tensor, spec: BackboneSpec, *, device: str | torch.device | None = None) -> torch.Tensor:
    """uint8 RGB images N x H x W x 3 -> float N x 3 x S x S for the backbone: resized to spec.input_size
    (antialiased bilinear, skipped at the same size) and normalised with spec.mean / spec.std.
    `device`: where the work happens (resizing on the GPU when the batch goes there anyway)."""
    x = torch.as_tensor(np.ascontiguousarray(images) if isinstance(images, np.ndarray) else images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected N x H x W x 3 RGB images, got shape {tuple(x.shape)}")
    x = x.to(device=device).permute(0, 3, 1, 2).float().div_(255.0)
    size = spec.input_size
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp_(0.0, 1.0)
    mean = torch.tensor(spec.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std
