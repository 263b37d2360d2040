"""The fine-tuning baselines of the paper's Table II (DOMAIN.md section 4): OPDAI, HUST and UNILJ.

Each is a backbone, a regression head and a batch loss, differing in which frames a video shows
the model and how its views are averaged:
- "opdai": Norm-in-Norm + KL loss; 3 frames at 0.25 / 0.5 / 0.75 of the video; the horizontal
  flips averaged in at test time (and used as augmentation in training);
- "hust": MAE + 0.5 PLCC loss + 1.0 margin rank loss; 20 evenly spaced frames, averaged at test;
- "unilj": clips of 5 consecutive frames, mean + std pooled features, MLP head 2D-512-256-64-1 with
  dropout 0.1, RMSE loss; 10 clips averaged at test (seed 001, section 3-4).
The paper's backbones (Swin-V2, ConvNeXt) have no offline weights here (DOMAIN.md section 5): the
configs default to timm's tf_efficientnet_lite0 with the pretrained file `fetch_weights` converts;
any timm name and a local weights file can be configured ("backbone", "weights").

`"freeze_backbone": true` trains only the head on frame features cached on disk
(modeling.data.cache), which is what a CPU can afford for ten splits; fine-tuning the whole
network is for a GPU. Training: AdamW, the best epoch on a seeded 80/20 split of the training set
(highest (PLCC + SRCC) / 2 on the 20%, the paper's own criterion), a resumable checkpoint after
every epoch under ctx.work (safetensors: weights, optimizer state, history), the same code under
`torchrun` with DistributedDataParallel (modeling.distributed).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset

from annotation.errors import ApplicationError
from modeling import losses
from modeling.archs.backbones import BackboneSpec, backbone_build, images_to_tensor
from modeling.archs.heads import POOLINGS, ViewRegressor
from modeling.data.cache import features_cached, frameset_digest
from modeling.data.sampling import crops_load, frames_select
from modeling.files import atomic_write
from modeling.distributed import (DistEnv, barrier, dist_env, dist_sampler, dist_setup, dist_wrap, gather, gather_indexed,
                                  gather_with_grad, is_main, unwrap)
from modeling.metrics import plcc, srcc

from .base import FrameSource, Method, TrainContext, linear_calibration, mos_scaled, register, settings_from_mapping, validation_split

# The batch losses a config may combine, by the names modeling.losses gives them.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    name: getattr(losses, name) for name in ("norm_in_norm", "kl_batch", "plcc_loss", "rank_loss", "mae", "rmse")
}
STATE_FILE = "model.safetensors"
CONFIG_FILE = "method.json"


@dataclass(frozen=True)
class FinetuneConfig:
    """A fine-tuning baseline's configuration; a key it does not know is refused (a typo must not become a default)."""

    policy: str  # frames_select policy of the test-time views: "positions:0.25,0.5,0.75", "even:20", "clips:5x10"
    loss: Mapping[str, float]  # loss name (LOSSES) -> weight
    train_views: int = 1  # views drawn per video per training step (with replacement when a video has fewer)
    flip: bool = False  # horizontal flips: random in training, averaged with the originals at test
    pooling: str = "mean"  # over a view's frames: "mean" or "mean_std"
    hidden: tuple[int, ...] = ()  # hidden widths of the MLP head (() = linear)
    dropout: float = 0.0
    backbone: str = "tf_efficientnet_lite0"  # any timm name
    weights: str | None = "auto"  # "auto" (the fetched pretrained file), a local file, or None (random init)
    input_size: int | None = None  # override the backbone's input size (None: its pretrained size)
    freeze_backbone: bool = False  # True: train the head on cached frozen features
    standardise: bool = True  # frozen features centred and scaled on the training frames (FeatureNorm)
    bn_frozen: bool = True  # keep the backbone's BatchNorm statistics while fine-tuning
    epochs: int = 30
    batch_size: int = 16  # global batch (videos), split over the processes under torchrun
    lr: float = 1e-4  # backbone
    head_lr: float = 1e-3
    weight_decay: float = 1e-2
    val_fraction: float = 0.2
    workers: int | None = None  # DataLoader processes loading crops when fine-tuning (None: 0 on the CPU, up to 8 on CUDA)
    amp: bool = True  # bfloat16 autocast on CUDA (nothing on the CPU)
    feature_batch: int = 64

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> FinetuneConfig:
        cfg = settings_from_mapping(cls, config, what="A fine-tuning method")
        bad = sorted(set(cfg.loss) - set(LOSSES))
        if bad or not cfg.loss:
            raise ApplicationError("bad_config", f"Unknown loss(es) {', '.join(bad) or '(none given)'}; known: {', '.join(LOSSES)}.")
        if cfg.pooling not in POOLINGS:
            raise ApplicationError("bad_config", f"Unknown pooling {cfg.pooling!r}; known: {', '.join(POOLINGS)}.")
        if not 0 < cfg.val_fraction < 1 or cfg.epochs < 1 or cfg.batch_size < 2 or cfg.train_views < 1:
            raise ApplicationError("bad_config", "val_fraction must lie in (0, 1), epochs >= 1, batch_size >= 2 and train_views >= 1.")
        return cfg


def loss_combined(weights: Mapping[str, float]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The weighted sum of the named batch losses, as a function of (predictions, MOS)."""
    terms = [(LOSSES[name], float(w)) for name, w in weights.items() if float(w) != 0.0]

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * fn(pred, target) for fn, w in terms)

    return loss


def holdout_split(ids: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(fit, validation) ids: base.validation_split of the sorted ids (at least 2 videos each side)."""
    ids = sorted(ids)
    if len(ids) < 4:
        raise ApplicationError("too_few_videos", f"Fine-tuning needs at least 4 training videos (2 to fit, 2 to choose the best epoch); it got {len(ids)}.")
    fit, val = validation_split(len(ids), fraction, seed)
    return [ids[i] for i in fit], [ids[i] for i in val]


def views_choose(n_views: int, *, train: bool, train_views: int, flip: bool, seed: int, epoch: int, item: int) -> list[tuple[int, bool]]:
    """The (view, flipped) pairs item `item` shows the model.

    Training: `train_views` views drawn at random (with replacement only when the video has fewer),
    each flipped with probability 1/2 when `flip`; the draw depends on (seed, epoch, item) alone, so
    every process of a DDP run and a resumed run draw what one uninterrupted process draws.
    Test: every view, then every view flipped when `flip` (the test-time augmentation).
    """
    if not train:
        return [(v, False) for v in range(n_views)] + ([(v, True) for v in range(n_views)] if flip else [])
    rng = np.random.default_rng([seed, epoch, item])
    views = rng.choice(n_views, size=train_views, replace=n_views < train_views)
    flips = rng.random(train_views) < 0.5 if flip else np.zeros(train_views, dtype=bool)
    return [(int(v), bool(f)) for v, f in zip(views, flips)]


class ViewsDataset(Dataset):
    """Item i: (views x frames x ... tensor, MOS or NaN, i) for one video, images or cached features.

    `load(i, pairs)` returns the stacked views of item i for (view, flipped) pairs; `n_views[i]` is
    how many views the video has. `epoch` is set by the trainer before each epoch (the draw's seed).
    """

    def __init__(self, load: Callable[[int, list[tuple[int, bool]]], torch.Tensor], n_views: Sequence[int],
                 mos: Sequence[float] | None, *, train: bool, train_views: int, flip: bool, seed: int):
        self.load, self.n_views = load, list(n_views)
        self.mos = np.full(len(self.n_views), np.nan) if mos is None else np.asarray(mos, dtype=np.float64)
        self.train, self.train_views, self.flip, self.seed, self.epoch = train, train_views, flip, seed, 0

    def __len__(self) -> int:
        return len(self.n_views)

    def __getitem__(self, i: int):
        pairs = views_choose(self.n_views[i], train=self.train, train_views=self.train_views, flip=self.flip,
                             seed=self.seed, epoch=self.epoch, item=i)
        return self.load(i, pairs), torch.tensor(self.mos[i], dtype=torch.float32), i


class ImageViews:
    """Loads a video's views as images: crops of each clip, resized and normalised for the backbone (picklable)."""

    def __init__(self, clips: Sequence[Sequence[Sequence[Path]]], spec: BackboneSpec):
        self.clips, self.spec = [[list(map(Path, c)) for c in v] for v in clips], spec

    def __call__(self, i: int, pairs: list[tuple[int, bool]]) -> torch.Tensor:
        views = []
        for view, flipped in pairs:
            images = crops_load(self.clips[i][view])
            if flipped:
                images = images[:, :, ::-1]
            views.append(images_to_tensor(np.ascontiguousarray(images), self.spec))
        return torch.stack(views)  # V x F x 3 x S x S


class FeatureViews:
    """Serves a video's views from precomputed frame features: plain[i] (and flipped[i]) are V x F x D arrays."""

    def __init__(self, plain: Sequence[np.ndarray], flipped: Sequence[np.ndarray] | None):
        self.plain, self.flipped = plain, flipped

    def __call__(self, i: int, pairs: list[tuple[int, bool]]) -> torch.Tensor:
        return torch.from_numpy(np.stack([(self.flipped if f else self.plain)[i][v] for v, f in pairs]))


@dataclass
class FitState:
    """Where training stands; written with every checkpoint so a stopped run continues where it was."""

    epoch: int = 0  # epochs completed
    best_epoch: int = 0
    best_score: float = -math.inf
    history: list[dict] = field(default_factory=list)


class Finetune(Method):
    """A backbone + view head trained end to end (or head only on frozen features); the three baselines' common code."""

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.cfg = FinetuneConfig.from_mapping(self.config)
        self.calibration = (1.0, 0.0)  # raw head outputs -> the MOS scale, fitted after training (base.linear_calibration)
        self.model: ViewRegressor | None = None
        self.backbone: nn.Module | None = None  # the frozen feature extractor when freeze_backbone
        self.spec: BackboneSpec | None = None

    # -- building -------------------------------------------------------------------------------
    def _build(self, weights: str | None, mos_mean: float) -> None:
        backbone, self.spec = backbone_build(self.cfg.backbone, weights=weights, input_size=self.cfg.input_size)
        if self.cfg.freeze_backbone:
            self.backbone = backbone.eval().requires_grad_(False)
            backbone = None
        self.model = ViewRegressor(backbone, self.spec.dim, pooling=self.cfg.pooling, hidden=self.cfg.hidden,
                                   dropout=self.cfg.dropout, bn_frozen=self.cfg.bn_frozen)
        # Start the output at the training mean: an absolute loss (MAE, RMSE) then need not first learn the offset.
        nn.init.constant_(self.model.head.out.bias, mos_mean)

    def weights_used(self) -> list[dict]:
        if self.spec is None or not self.spec.weights:
            return []
        return [{"name": self.spec.name, "file": str(self.spec.weights), "sha256": self.spec.weights_sha256}]

    # -- data -----------------------------------------------------------------------------------
    def _clips(self, frames: FrameSource, ids: Sequence[str]) -> list[list[list[Path]]]:
        return [[list(clip) for clip in frames_select(frames(video), self.cfg.policy)] for video in ids]

    def _features(self, frames: FrameSource, ids: Sequence[str], clips: list[list[list[Path]]], *, device: str,
                  cache_root: Path | None, flipped: bool, progress=None) -> list[np.ndarray]:
        """Frozen-backbone features per video as V x F x D arrays: cached on disk (modeling.data.cache, the
        mirrored crops under their own key) when a cache_root is given, computed here without one."""
        backbone = self.backbone.to(device).eval()
        if cache_root is not None:
            cached = features_cached(backbone, self.spec, frames, list(ids), policy=self.cfg.policy, cache_root=Path(cache_root),
                                     device=device, progress=progress, batch_size=self.cfg.feature_batch, flip=flipped)
            rows = [cached[video] for video in ids]
        else:
            rows = []
            for done, video_clips in enumerate(clips):
                images = crops_load([p for clip in video_clips for p in clip])
                if flipped:
                    images = np.ascontiguousarray(images[:, :, ::-1])
                x = images_to_tensor(images, self.spec)
                with torch.no_grad():
                    rows.append(torch.cat([backbone(x[k:k + self.cfg.feature_batch].to(device)).float().cpu()
                                           for k in range(0, len(x), self.cfg.feature_batch)]).numpy())
                if progress:
                    progress("features (flipped)" if flipped else "features", done + 1, len(clips))
        out = []
        for video, video_clips, row in zip(ids, clips, rows):
            views, per_view = len(video_clips), len(video_clips[0])
            if row.shape[0] != views * per_view:
                raise ApplicationError("bad_features", f"{video}: {row.shape[0]} feature rows for {views} views of {per_view} frames.")
            out.append(np.asarray(row, dtype=np.float32).reshape(views, per_view, -1))
        return out

    def _dataset(self, frames: FrameSource, ids: Sequence[str], mos: Sequence[float] | None, *, train: bool, seed: int,
                 device: str, cache_root: Path | None, progress=None) -> ViewsDataset:
        clips = self._clips(frames, ids)
        if self.cfg.freeze_backbone:
            plain = self._features(frames, ids, clips, device=device, cache_root=cache_root, flipped=False, progress=progress)
            flipped = self._features(frames, ids, clips, device=device, cache_root=cache_root, flipped=True, progress=progress) if self.cfg.flip else None
            load = FeatureViews(plain, flipped)
        else:
            load = ImageViews(clips, self.spec)
        return ViewsDataset(load, [len(c) for c in clips], mos, train=train, train_views=self.cfg.train_views,
                            flip=self.cfg.flip, seed=seed)

    # -- training -------------------------------------------------------------------------------
    def _optimizer(self) -> torch.optim.Optimizer:
        groups = [{"params": list(self.model.head.parameters()), "lr": self.cfg.head_lr}]
        if self.model.backbone is not None:
            groups.insert(0, {"params": list(self.model.backbone.parameters()), "lr": self.cfg.lr})
        return torch.optim.AdamW(groups, weight_decay=self.cfg.weight_decay)

    def _loading(self, device: str) -> dict:
        """DataLoader settings: crops decoded in worker processes when fine-tuning on CUDA; features need none."""
        if self.cfg.freeze_backbone:
            return {"num_workers": 0}
        cuda = device.startswith("cuda")
        workers = self.cfg.workers if self.cfg.workers is not None else (min(8, os.cpu_count() or 1) if cuda else 0)
        # Not persistent: the workers' copy of the dataset must see the epoch set on it before each epoch.
        return {"num_workers": workers, "pin_memory": cuda}

    def _autocast(self, device: str):
        enabled = self.cfg.amp and device.startswith("cuda")
        return torch.autocast(device_type="cuda" if enabled else "cpu", dtype=torch.bfloat16, enabled=enabled)

    def fit(self, ctx: TrainContext, train_ids: Sequence[str]) -> dict:
        cfg = self.cfg
        env = dist_setup(ctx.device)
        device = env.device
        fit_ids, val_ids = holdout_split(train_ids, cfg.val_fraction, ctx.seed)
        fit_mos = [float(ctx.mos[v]) for v in fit_ids]
        val_mos = np.array([float(ctx.mos[v]) for v in val_ids])
        torch.manual_seed(ctx.seed)
        self._build(cfg.weights, float(np.mean(fit_mos)))
        self.model.to(device)
        cache_root = ctx.cache_root if ctx.cache_root is not None else ctx.work / "features"
        if cfg.freeze_backbone and env.distributed:
            # Each process extracts its share of the videos into the cache first, then all read it complete.
            share = sorted(train_ids)[env.rank::env.world_size]
            self._features(ctx.frames, share, self._clips(ctx.frames, share), device=device, cache_root=cache_root, flipped=False)
            barrier(env)
        train_set = self._dataset(ctx.frames, fit_ids, fit_mos, train=True, seed=ctx.seed, device=device, cache_root=cache_root, progress=ctx.progress)
        val_set = self._dataset(ctx.frames, val_ids, val_mos, train=False, seed=ctx.seed, device=device, cache_root=cache_root, progress=ctx.progress)

        if cfg.freeze_backbone and cfg.standardise:
            rows = np.concatenate([views.reshape(-1, views.shape[-1]) for views in train_set.load.plain])
            self.model.norm.fit(torch.from_numpy(rows))

        local_batch = max(1, cfg.batch_size // env.world_size)
        train_sampler = dist_sampler(train_set, env, shuffle=True, seed=ctx.seed)
        # Drop a last partial batch: a batch loss over one video is undefined (Norm-in-Norm divides by its spread).
        train_loader = DataLoader(train_set, batch_size=local_batch, sampler=train_sampler, drop_last=len(train_sampler) >= local_batch,
                                  **self._loading(device))
        val_sampler = dist_sampler(val_set, env, shuffle=False, seed=ctx.seed)
        val_loader = DataLoader(val_set, batch_size=1, sampler=val_sampler, **self._loading(device))

        optimizer = self._optimizer()
        folder = ctx.work / "checkpoints"
        key = self._resume_key(ctx, train_ids)
        state = self._resume(folder, key, optimizer)  # before DDP wraps the model: every rank loads the same file
        trainable = dist_wrap(self.model, env)
        loss_fn = loss_combined(cfg.loss)
        for epoch in range(state.epoch + 1, cfg.epochs + 1):
            # Dropout masks: one stream per (seed, epoch, rank), so a resumed run draws what an uninterrupted one drew.
            torch.manual_seed(int(np.random.SeedSequence([ctx.seed, epoch, env.rank]).generate_state(1)[0]))
            train_set.epoch = epoch
            train_sampler.set_epoch(epoch)
            loss = self._epoch(trainable, train_loader, optimizer, loss_fn, env,
                               progress=lambda step, steps, e=epoch: ctx.progress(f"epoch {e}", step, steps))
            val_pred = self._predict_loader(val_loader, device, env, len(val_set))
            score = (plcc(val_pred, val_mos) + srcc(val_pred, val_mos)) / 2
            score = score if math.isfinite(score) else -1.0  # diverged (NaN predictions): the worst score, not a crash
            state.history.append({"epoch": epoch, "loss": loss if math.isfinite(loss) else None, "val_plcc": plcc(val_pred, val_mos),
                                  "val_srcc": srcc(val_pred, val_mos), "val_score": score})
            if score > state.best_score or state.best_epoch == 0:
                state.best_epoch, state.best_score = epoch, score
                if is_main(env):
                    _atomic_save(_prefixed(self._state_dict(), "model."), folder / "best.safetensors", {"key": key, "epoch": str(epoch)})
            state.epoch = epoch
            if is_main(env):
                self._checkpoint(folder, key, optimizer, state)
            barrier(env)
            ctx.progress("train", epoch, cfg.epochs)
        best = load_file(str(folder / "best.safetensors"))
        self._load_state_dict(_unprefixed(best, "model."))
        self.model.eval()
        # Onto the MOS scale (OPDAI's Norm-in-Norm + KL leave scale and offset free): a least-squares line
        # through the training videos' raw predictions, then bounded by the grades (base.mos_scaled).
        self.calibration = (1.0, 0.0)
        train_ids = list(train_ids)
        self.calibration = linear_calibration(self._raw(ctx.frames, train_ids, device=device, cache_root=cache_root),
                                              [float(ctx.mos[v]) for v in train_ids])
        return {"calibration": list(self.calibration), "epochs": state.epoch, "best_epoch": state.best_epoch, "best_val_score": state.best_score,
                "history": state.history, "fit_videos": len(fit_ids), "val_videos": len(val_ids),
                "world_size": env.world_size, "device": device, "frozen_backbone": cfg.freeze_backbone,
                "weights": self.weights_used()}

    def _epoch(self, trainable: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], env: DistEnv, progress) -> float:
        """One pass over the training videos; the mean over steps of the global batch's loss (the same on every rank)."""
        trainable.train()
        total, steps = 0.0, 0
        for step, (x, mos, _) in enumerate(loader, 1):
            with self._autocast(env.device):
                pred = trainable(x.to(env.device)).float()
            loss = loss_fn(gather_with_grad(pred, env), gather(mos.to(env.device), env))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
            progress(step, len(loader))
        return total / max(steps, 1)

    def _predict_loader(self, loader: DataLoader, device: str, env: DistEnv, count: int) -> np.ndarray:
        model = self.model
        model.eval()
        indices, values = [], []
        with torch.no_grad():
            for x, _, i in loader:
                with self._autocast(device):
                    values.append(model(x.to(device)).float().cpu().numpy())
                indices.append(i.numpy())
        if not indices:
            return gather_indexed([], np.array([]), count, env)
        return gather_indexed(np.concatenate(indices), np.concatenate(values), count, env)

    # -- checkpoints ----------------------------------------------------------------------------
    def _state_dict(self) -> dict[str, torch.Tensor]:
        """What defines the trained model: head, feature norm, and the backbone unless it is a frozen pretrained file."""
        model = unwrap(self.model)
        state = dict(model.state_dict())
        if model.backbone is None and not self.spec.weights:  # a frozen randomly initialised backbone: keep it
            state.update(_prefixed(self.backbone.state_dict(), "backbone."))
        return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}

    def _load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        model = unwrap(self.model)
        if model.backbone is None:
            frozen = _unprefixed(state, "backbone.")
            if frozen:
                self.backbone.load_state_dict(frozen)
            state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
        model.load_state_dict(state)

    def _resume_key(self, ctx: TrainContext, train_ids: Sequence[str]) -> str:
        """What a checkpoint must match to be continued: the config (except the epoch count and loader processes),
        the backbone's weights, the seed, and per training video its MOS and crops (their frame-set digest, as
        the feature cache keys them), so relabelled videos or re-extracted frames start a new run."""
        config = {k: v for k, v in dataclasses.asdict(self.cfg).items() if k not in ("epochs", "workers", "feature_batch")}
        digest = hashlib.sha256(json.dumps([config, ctx.seed, self.spec.weights_sha256], sort_keys=True, default=str).encode())
        for video in sorted(train_ids):
            digest.update(json.dumps([video, float(ctx.mos[video]), frameset_digest(video, ctx.frames(video))]).encode())
        return digest.hexdigest()

    def _checkpoint(self, folder: Path, key: str, optimizer: torch.optim.Optimizer, state: FitState) -> None:
        opt = optimizer.state_dict()
        tensors = _prefixed(self._state_dict(), "model.")
        for pid, slots in opt["state"].items():
            for name, value in slots.items():
                tensors[f"optim.{pid}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous().clone()
        meta = {"key": key, "epoch": str(state.epoch), "best_epoch": str(state.best_epoch), "best_score": repr(state.best_score),
                "history": json.dumps(state.history), "param_groups": json.dumps(opt["param_groups"])}
        _atomic_save(tensors, folder / "last.safetensors", meta)

    def _resume(self, folder: Path, key: str, optimizer: torch.optim.Optimizer) -> FitState:
        """The state of a checkpoint of this very training (same key), loaded into model and optimizer; else a fresh start."""
        path = folder / "last.safetensors"
        if not (path.is_file() and (folder / "best.safetensors").is_file()):
            return FitState()
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("key") != key:
            return FitState()
        tensors = load_file(str(path))
        self._load_state_dict(_unprefixed(tensors, "model."))
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in _unprefixed(tensors, "optim.").items():
            pid, slot = name.split(".", 1)
            slots.setdefault(int(pid), {})[slot] = value
        optimizer.load_state_dict({"state": slots, "param_groups": json.loads(meta["param_groups"])})
        return FitState(epoch=int(meta["epoch"]), best_epoch=int(meta["best_epoch"]), best_score=float(meta["best_score"]),
                        history=json.loads(meta["history"]))

    # -- inference, save, load ------------------------------------------------------------------
    def predict(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        return mos_scaled(self._raw(frames, ids, device=device, cache_root=cache_root), self.calibration)

    def _raw(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        """The head's outputs, before calibration."""
        if self.model is None:
            raise ApplicationError("not_trained", f"{self.name} has not been trained or loaded.")
        ids = list(ids)
        device = dist_env(device).device  # under torchrun each process predicts on its own GPU
        self.model.to(device)
        dataset = self._dataset(frames, ids, None, train=False, seed=0, device=device, cache_root=cache_root)
        loader = DataLoader(dataset, batch_size=1, shuffle=False, **self._loading(device))
        return self._predict_loader(loader, device, DistEnv(device=device), len(ids))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self._state_dict(), str(folder / STATE_FILE))
        record = {"method": self.name, "config": self.config, "weights": self.weights_used(), "calibration": list(self.calibration)}
        (folder / CONFIG_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Finetune:
        folder = Path(folder)
        record = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        method = cls(record["config"])
        state = load_file(str(folder / STATE_FILE))
        saved = record["weights"][0] if record["weights"] else None
        has_backbone = any(k.startswith("backbone.") for k in state)
        # A frozen pretrained backbone is not in the state: rebuild it from the same file, checked by its hash.
        method._build(None if has_backbone else method.cfg.weights, 0.0)
        if saved and not has_backbone and method.spec.weights_sha256 != saved["sha256"]:
            raise ApplicationError("weights_mismatch", f"The model was trained on {saved['name']} weights {saved['file']} "
                                   f"(sha256 {saved['sha256'][:12]}); here they are {method.spec.weights or 'absent'}. Fetch them (manage.py fetch_weights).")
        if has_backbone and saved:
            method.spec = dataclasses.replace(method.spec, weights=saved["file"], weights_sha256=saved["sha256"])
        method._load_state_dict(state)
        method.model.eval()
        method.calibration = tuple(record.get("calibration", (1.0, 0.0)))
        return method


def _prefixed(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in state.items()}


def _unprefixed(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file so that a crash leaves the previous one whole (write aside, then rename)."""
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


@register
class Opdai(Finetune):
    name = "opdai"
    description = "OPDAI-style fine-tuning: Norm-in-Norm + KL loss, 3 frames at 0.25/0.5/0.75, flip test-time augmentation."


@register
class Hust(Finetune):
    name = "hust"
    description = "HUST-style fine-tuning: MAE + 0.5 PLCC + 1.0 margin rank loss, 20 frames averaged."


@register
class Unilj(Finetune):
    name = "unilj"
    description = "UNILJ-style fine-tuning: 5-frame clips, mean+std pooled, MLP head 2D-512-256-64-1, RMSE, 10 clips averaged."
