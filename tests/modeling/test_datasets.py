"""The fine-tuning dataset: the policy's frames as normalised tensors, labels, fresh training views, flips."""
from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from modeling.archs.backbones import BackboneSpec, images_to_tensor
from modeling.data.datasets import VideoFramesDataset
from modeling.data.sampling import crops_load

SPEC = BackboneSpec(name="test", weights=None, weights_sha256=None, input_size=32, mean=(0.5,) * 3, std=(0.5,) * 3, dim=0)


def test_items_are_the_policys_frames_with_their_mos(tiny_crops):
    ids = ["vid_a", "vid_b", "vid_c"]
    data = VideoFramesDataset(tiny_crops.__getitem__, ids, {"vid_a": 3.5, "vid_b": 1.25}, "positions:0.25,0.5,0.75", SPEC, train=False)
    x, mos, index = data[0]
    a = tiny_crops["vid_a"]  # 12 crops: positions 0.25, 0.5, 0.75 are crops 3, 6 and 8 (round(p * 11))
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and index == 0 and mos.item() == 3.5
    assert torch.equal(x, images_to_tensor(crops_load([a[3], a[6], a[8]]), SPEC))
    assert math.isnan(data[2][1].item())  # no MOS given for vid_c
    x, mos, index = next(iter(DataLoader(data, batch_size=3)))
    assert x.shape == (3, 3, 3, 32, 32) and index.tolist() == [0, 1, 2] and mos[1].item() == 1.25
    unlabelled = VideoFramesDataset(tiny_crops.__getitem__, ids, None, "even:2", SPEC, train=False)
    assert math.isnan(unlabelled[0][1].item())


def test_training_views_are_reproducible_and_change_with_the_epoch(tiny_crops):
    data = VideoFramesDataset(tiny_crops.__getitem__, ["vid_a"], None, "clips:3x4", SPEC, train=True, seed=3)
    first = data[0][0]
    assert first.shape == (3, 3, 32, 32)  # one random clip of 3 in training
    assert torch.equal(first, data[0][0])
    views = set()
    for epoch in range(8):
        data.set_epoch(epoch)
        views.add(data[0][0].sum().item())
    assert len(views) > 2
    assert VideoFramesDataset(tiny_crops.__getitem__, ["vid_a"], None, "clips:3x4", SPEC, train=False)[0][0].shape == (12, 3, 32, 32)


def test_flips(tiny_crops):
    plain = VideoFramesDataset(tiny_crops.__getitem__, ["vid_b"], None, "all", SPEC, train=False)[0][0]
    flipped = VideoFramesDataset(tiny_crops.__getitem__, ["vid_b"], None, "all", SPEC, train=False, flip=True)[0][0]
    assert torch.equal(flipped, plain.flip(-1)) and not torch.equal(flipped, plain)
    data = VideoFramesDataset(tiny_crops.__getitem__, ["vid_b"], None, "all", SPEC, train=True, flip=True)
    outcomes = []
    for epoch in range(16):
        data.set_epoch(epoch)
        x = data[0][0]
        assert torch.equal(x, plain) or torch.equal(x, plain.flip(-1))
        outcomes.append(torch.equal(x, plain))
    assert 0 < sum(outcomes) < 16  # sometimes flipped, sometimes not
