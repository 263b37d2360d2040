"""Stand-ins for the modules other helpers own, installed only when the real ones are absent (tests only).

The fine-tuning tests code against the agreed interfaces (/work/wt/HELPERS.md): modeling.losses
(daclip), modeling.archs.backbones, modeling.data.sampling, modeling.data.cache and modeling.weights (reps). Until
those branches are merged these small, independent implementations take their place; once the real
modules exist `install()` leaves them alone and the tests run against them. The integrator removes
this file after the merge.
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
import torch.nn.functional as F
from PIL import Image
from torch import nn


def _losses() -> types.ModuleType:
    mod = types.ModuleType("modeling.losses")

    def norm_in_norm(pred, target):
        p, q = pred - pred.mean(), target - target.mean()
        return (p / p.norm().clamp_min(1e-8) - q / q.norm().clamp_min(1e-8)).abs().sum() / len(pred)

    def kl_batch(pred, target):
        w_p, log_p = F.softmax(pred, 0), F.log_softmax(pred, 0)
        return (w_p * (log_p - F.log_softmax(target, 0))).sum()

    def plcc_loss(pred, target):
        p, q = pred - pred.mean(), target - target.mean()
        return 1 - ((p * q).sum() / (p.norm() * q.norm()).clamp_min(1e-8)).abs()

    def rank_loss(pred, target):
        dq = target[:, None] - target[None, :]
        dp = pred[:, None] - pred[None, :]
        return F.relu(dq.abs() - torch.sign(dq) * dp).mean()

    def mae(pred, target):
        return (pred - target).abs().mean()

    def rmse(pred, target):
        return ((pred - target) ** 2).mean().clamp_min(1e-12).sqrt()

    for fn in (norm_in_norm, kl_batch, plcc_loss, rank_loss, mae, rmse):
        setattr(mod, fn.__name__, fn)
    return mod


def _backbones() -> types.ModuleType:
    mod = types.ModuleType("modeling.archs.backbones")

    @dataclass(frozen=True)
    class BackboneSpec:
        name: str
        weights: str | None
        weights_sha256: str | None
        input_size: int
        mean: tuple
        std: tuple
        dim: int

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x):
            return F.adaptive_avg_pool2d(F.relu(self.bn(self.conv(x))), 1).flatten(1)

    def backbone_build(name, *, weights="auto", input_size=None, **timm_kwargs):
        model = Tiny()
        sha = None
        if weights not in (None, "auto"):
            from safetensors.torch import load_file

            model.load_state_dict(load_file(str(weights)))
            sha = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
        else:
            weights = None
        return model, BackboneSpec(name, None if weights is None else str(weights), sha, input_size or 32, (0.5,) * 3, (0.5,) * 3, 8)

    def images_to_tensor(images, spec):
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
        x = F.interpolate(x, size=(spec.input_size, spec.input_size), mode="bilinear", align_corners=False)
        return (x - torch.tensor(spec.mean)[:, None, None]) / torch.tensor(spec.std)[:, None, None]

    mod.BackboneSpec, mod.backbone_build, mod.images_to_tensor = BackboneSpec, backbone_build, images_to_tensor
    return mod


def _sampling() -> types.ModuleType:
    mod = types.ModuleType("modeling.data.sampling")

    def frames_select(paths, policy):
        paths = list(paths)
        n = len(paths)
        kind, _, arg = policy.partition(":")
        if kind == "all":
            return [[p] for p in paths]
        if kind == "even":
            k = int(arg)
            return [[paths[int(i)]] for i in np.linspace(0, n - 1, k).round()]
        if kind == "positions":
            return [[paths[min(n - 1, int(float(f) * n))]] for f in arg.split(",")]
        if kind == "clips":
            length, count = map(int, arg.split("x"))
            starts = np.linspace(0, max(0, n - length), count).round().astype(int)
            return [[paths[min(n - 1, s + j)] for j in range(length)] for s in starts]
        raise ValueError(policy)

    def crops_load(paths, size=None):
        images = []
        for p in paths:
            image = Image.open(p).convert("RGB")
            if size:
                image = image.resize((size, size))
            images.append(np.asarray(image))
        return np.stack(images)

    mod.frames_select, mod.crops_load = frames_select, crops_load
    return mod


def _cache() -> types.ModuleType:
    mod = types.ModuleType("modeling.data.cache")

    def features_cached(backbone, spec, frames, ids, *, policy, cache_root, device, progress=None, batch_size=64):
        from modeling.archs.backbones import images_to_tensor
        from modeling.data.sampling import crops_load, frames_select

        out = {}
        backbone.eval().to(device)
        for done, video in enumerate(ids):
            clips = frames_select(frames(video), policy)
            flat = [p for clip in clips for p in clip]
            key = hashlib.sha256(repr((spec.name, spec.weights_sha256, spec.input_size, policy,
                                       [(p.name, p.stat().st_size) for p in flat])).encode()).hexdigest()[:16]
            path = Path(cache_root) / key / f"{video}.npy"
            if path.is_file():
                out[video] = np.load(path)
            else:
                with torch.no_grad():
                    out[video] = backbone(images_to_tensor(crops_load(flat), spec).to(device)).cpu().numpy().astype(np.float32)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, out[video])
            if progress:
                progress("features", done + 1, len(ids))
        return out

    mod.features_cached = features_cached
    return mod


def _weights() -> types.ModuleType:
    mod = types.ModuleType("modeling.weights")

    def file_sha256(path):
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    mod.file_sha256 = file_sha256
    return mod


STANDINS = {
    "modeling.weights": _weights,
    "modeling.losses": _losses,
    "modeling.archs.backbones": _backbones,
    "modeling.data.sampling": _sampling,
    "modeling.data.cache": _cache,
}


def install() -> list[str]:
    """Put a stand-in in place of each agreed module that cannot be imported; returns the names stood in for."""
    stood_in = []
    for name, make in STANDINS.items():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            module = make()
            sys.modules[name] = module
            parent, _, leaf = name.rpartition(".")
            setattr(importlib.import_module(parent), leaf, module)
            stood_in.append(name)
    return stood_in
