"""A torch dataset of videos as frame tensors, for the methods that fine-tune a backbone.

An item is (frames F x 3 x S x S float, normalised for the backbone; MOS as a float32 tensor, NaN
where the MOS is not given; the item's index into `ids`). F is the policy's frame count (clips
flattened in order; in training one clip's L for clips:LxK), the same for every video, so the
default collate stacks a batch to B x F x 3 x S x S. In training (`train=True`) each epoch draws a fresh view where the policy has
one (modeling.data.sampling: a random crop per segment for even:N, one random clip for clips:LxK),
reproducibly from (seed, epoch, index) in any worker or process; `set_epoch` moves to the next.
`flip`: in training a random horizontal flip of the whole item (p = 0.5); outside training every
item flipped (a second pass over the test set for flip test-time augmentation).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from modeling.archs.backbones import BackboneSpec, images_to_tensor
from modeling.data.sources import FrameSource

from .sampling import SamplingPolicy, crops_load, frames_select, policy_parse


class VideoFramesDataset(Dataset):
    """Videos `ids` as (frames, MOS, index) items; see the module docstring."""

    def __init__(self, frames: FrameSource, ids: Sequence[str], mos: Mapping[str, float] | None,
                 policy: str | SamplingPolicy, spec: BackboneSpec, train: bool = True, flip: bool = False, seed: int = 0):
        self.frames = frames
        self.ids = list(ids)
        self.mos = mos
        self.policy = policy_parse(policy)
        self.spec = spec
        self.train = train
        self.flip = flip
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def label(self, index: int) -> float:
        value = self.mos.get(self.ids[index]) if self.mos is not None else None
        return float(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else math.nan

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        video = self.ids[index]
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.train else None
        selected = [p for clip in frames_select(self.frames(video), self.policy, rng=rng) for p in clip]
        x = images_to_tensor(crops_load(selected), self.spec)
        if self.flip and (not self.train or rng.random() < 0.5):
            x = torch.flip(x, dims=[-1])
        return x, torch.tensor(self.label(index), dtype=torch.float32), index
