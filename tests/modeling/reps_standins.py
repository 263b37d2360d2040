"""TEST-ONLY stand-ins for helper reps' modules (HELPERS.md's agreed interfaces), used while they are not on main.

`install(monkeypatch)` puts a stand-in in sys.modules for each agreed module that does not import;
once the real modules are merged, the real ones are used and the integrator deletes this file.
The stand-ins are tiny and honest: a 2-layer conv net as the backbone, a text encoder that maps
each text to a fixed pseudo-random unit vector (seeded by the text's hash), features computed
from the crops on disk.
"""
from __future__ import annotations

import hashlib
import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

STANDIN_SIZE = 16
STANDIN_DIM = 12
STANDIN_TEXT_DIM = 8


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    weights: str | None
    weights_sha256: str | None
    input_size: int
    mean: tuple
    std: tuple
    dim: int


def backbone_build(name, *, weights="auto"):
    torch.manual_seed(1234)  # the stand-in's "pretrained" weights: the same every time
    module = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                           nn.Conv2d(8, STANDIN_DIM, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    spec = BackboneSpec(name=name, weights=None, weights_sha256=None, input_size=STANDIN_SIZE,
                        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), dim=STANDIN_DIM)
    return module, spec


def images_to_tensor(images: np.ndarray, spec) -> torch.Tensor:
    x = torch.from_numpy(np.stack([np.asarray(Image.fromarray(im).resize((spec.input_size, spec.input_size))) for im in images]))
    x = x.permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(spec.mean).view(1, 3, 1, 1)) / torch.tensor(spec.std).view(1, 3, 1, 1)


def crops_load(paths, size=None) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])


def frames_select(paths, policy):
    return [[p] for p in paths]


@torch.no_grad()
def features_cached(backbone, spec, frames, ids, *, policy, cache_root, device, progress=None, batch_size=64):
    backbone.eval().to(device)
    out = {}
    for k, video in enumerate(ids):
        out[video] = backbone(images_to_tensor(crops_load(frames(video)), spec).to(device)).cpu().numpy().astype(np.float32)
        if progress:
            progress("features", k + 1, len(ids))
    return out


class VideoFramesDataset(torch.utils.data.Dataset):
    def __init__(self, frames, ids, mos, policy, spec, train=True, flip=False):
        self.frames, self.ids, self.mos, self.spec = frames, list(ids), mos, spec

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        video = self.ids[index]
        mos = float(self.mos[video]) if self.mos is not None else float("nan")
        return images_to_tensor(crops_load(self.frames(video)), self.spec), mos, index


class FakeTextEncoder:
    """Each text -> a fixed unit vector drawn from a generator seeded by the text's SHA-256."""

    dim = STANDIN_TEXT_DIM

    def __init__(self):
        self.calls = 0

    def encode(self, texts) -> torch.Tensor:
        self.calls += 1
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            rows.append(v / np.linalg.norm(v))
        return torch.tensor(np.array(rows), dtype=torch.float32).reshape(len(texts), self.dim)


def text_encoder_build(name="minilm", checkpoint=None):
    return FakeTextEncoder()


def text_embeddings_cached(encoder, texts, cache_root) -> np.ndarray:
    return encoder.encode(list(texts)).numpy()


STANDINS = {
    "modeling.archs.backbones": {"BackboneSpec": BackboneSpec, "backbone_build": backbone_build, "images_to_tensor": images_to_tensor},
    "modeling.archs.text": {"text_encoder_build": text_encoder_build, "text_embeddings_cached": text_embeddings_cached},
    "modeling.data.cache": {"features_cached": features_cached},
    "modeling.data.datasets": {"VideoFramesDataset": VideoFramesDataset},
    "modeling.data.sampling": {"frames_select": frames_select, "crops_load": crops_load},
}


def install(monkeypatch) -> list[str]:
    """Stand in for each agreed module that is missing; returns the names stood in for."""
    missing = []
    for name, attrs in STANDINS.items():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            monkeypatch.setitem(sys.modules, name, module)
            missing.append(name)
    return missing


def crops_write(folder: Path, video: str, colours: np.ndarray) -> list[Path]:
    """Write a video's face crops (16 x 16 PNGs, one per colour row, plus texture) and return their paths."""
    folder = folder / video
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(video.encode()).digest()[:4], "little"))
    for k, colour in enumerate(colours):
        image = np.clip(np.asarray(colour)[None, None, :] + rng.normal(0, 8, (STANDIN_SIZE, STANDIN_SIZE, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{k:06d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths
