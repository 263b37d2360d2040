"""Regression heads of the fine-tuning baselines: frames of a view pooled, an MLP to one score, views averaged.

A video is seen as V views (a frame, or a clip of consecutive frames) of F frames each. A view's
frame features are pooled over its frames (mean, or mean and std concatenated as UNILJ does, seed
001 eq. 1-2), the head scores each view, and the video's score is the mean over its views: 3 frames
(OPDAI), 20 frames (HUST) or 10 clips (UNILJ) at test time, and their horizontal flips where the
method averages them too.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

POOLINGS = ("mean", "mean_std")


def frames_pool(features: torch.Tensor, pooling: str, dim: int = -2) -> torch.Tensor:
    """Pool frame features over `dim`: "mean", or "mean_std" = [mean, std] concatenated (twice the width).

    The std is the unbiased one of seed 001 eq. 2 (n - 1); a single frame has std 0, not NaN.
    """
    mean = features.mean(dim=dim)
    if pooling == "mean":
        return mean
    if pooling == "mean_std":
        frames = features.shape[dim]
        std = features.std(dim=dim, correction=1) if frames > 1 else torch.zeros_like(mean)
        return torch.cat([mean, std], dim=-1)
    raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")


class MLPHead(nn.Module):
    """in_dim -> hidden... -> 1 with ReLU; dropout on the input and after each hidden layer (UNILJ: 2D-512-256-64-1)."""

    def __init__(self, in_dim: int, hidden: Sequence[int] = (), dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x)).squeeze(-1)


class FeatureNorm(nn.Module):
    """A fixed affine map of frame features, (x - mean) / std, with mean and std taken from the training
    features (buffers, not learnt; identity until set). Frozen features of a pretrained network differ
    in scale by orders of magnitude between channels; standardised, one learning rate suits every weight."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, features: torch.Tensor) -> None:
        """Set mean and std from rows of features (N x dim); a constant channel keeps std 1e-6 (no division by 0)."""
        features = features.double()
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0, correction=0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ViewRegressor(nn.Module):
    """Backbone (or none: the input is already frame features) -> frames pooled per view -> head -> mean over views.

    forward(x): x is B x V x F x 3 x S x S images, or B x V x F x D features when `backbone` is None;
    returns B scores. `norm` standardises the frame features (identity unless fitted). `bn_frozen` keeps the backbone's BatchNorm statistics as pretrained while the
    rest trains: with the small batches of fine-tuning (UNILJ trains with 2 videos) batch
    statistics are noise, and frozen ones make a DDP run equal to one process.
    """

    def __init__(self, backbone: nn.Module | None, dim: int, *, pooling: str = "mean", hidden: Sequence[int] = (),
                 dropout: float = 0.0, bn_frozen: bool = True):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
        self.backbone = backbone
        self.pooling = pooling
        self.bn_frozen = bn_frozen
        self.norm = FeatureNorm(dim)
        self.head = MLPHead(dim * (2 if pooling == "mean_std" else 1), hidden, dropout)

    def train(self, mode: bool = True) -> ViewRegressor:
        super().train(mode)
        if mode and self.bn_frozen and self.backbone is not None:
            for module in self.backbone.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, views, frames = x.shape[:3]
        if self.backbone is not None:
            x = self.backbone(x.flatten(0, 2)).reshape(batch, views, frames, -1)
        pooled = frames_pool(self.norm(x), self.pooling, dim=2)  # B x V x D'
        return self.head(pooled).mean(dim=1)
