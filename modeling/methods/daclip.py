"""DA-CLIP as a registered method ("daclip"): training, the best epoch on 20% of the training set, resumable checkpoints.

One class serves the paper's method and its rows and controls; the config file says which
(modeling/configs/daclip*.json):
- daclip: frozen pretrained tf_efficientnet_lite2 frame features, MiniLM reasons, cosine alignment 0.05;
- daclip_text (DA-CLIP-T, the paper's reference row): the same training, but the row's predictions
  are the text branch's, given the test video's reasons (`predict_from: "test_reasons"`). This is
  the only place where a test video's reasons are read, and only through `predict_text`, which the
  protocol calls for a method whose `reads_test_reasons` is true; `predict` refuses for it, so the
  row can never report visual numbers under the text row's name, nor the reverse;
- controls: daclip_shuffled (each training video gets another training video's reasons),
  daclip_grade_texts (one fixed text per rounded MOS grade instead of the reasons),
  daclip_no_align (alignment weight 0), daclip_siglip (SigLIP-style sigmoid alignment).

The text encoder is frozen (its embeddings are computed once, cached per distinct text); the
visual backbone is frozen (features cached on disk per video, `frozen: true`) or fine-tuned inside
the network (`frozen: false`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset

from annotation.errors import ApplicationError
from modeling import metrics
from modeling.archs.daclip import ALIGNMENTS, DAClip, DAClipBatch, daclip_loss, reasons_pool
from modeling.data.cache import frameset_digest
from modeling.explain import ExplanationIndex, explain, reasons_kept
from modeling.files import atomic_write, json_write
from modeling.methods.base import FrameSource, Method, TrainContext, linear_calibration, mos_scaled, register, settings_from_mapping, validation_split

TEXT_SOURCES = ("reasons", "shuffled", "grade")
PREDICT_FROM = ("visual", "test_reasons")
# The five grades' names as the annotators saw them (annotation.models.GRADES; copied, not
# imported, because training runs without Django; tests/modeling/test_daclip.py checks they agree).
GRADE_TEXTS = {
    1: "Very low sense of realism",
    2: "Relatively low sense of realism",
    3: "Average sense of realism",
    4: "Relatively high sense of realism",
    5: "High sense of realism",
}
FORMAT = 1  # of the saved model folder (method.json "format")
CHECKPOINT_DIR = "daclip"


@dataclass(frozen=True)
class DAClipConfig:
    """A DA-CLIP configuration file's fields (an unknown key is refused, not silently ignored)."""

    backbone: str = "tf_efficientnet_lite2"
    weights: str | None = "auto"  # "auto": the fetched pretrained file; None: random init; or a file path
    frozen: bool = True
    policy: str = "all"  # frame sampling (modeling.data.sampling.frames_select)
    text_encoder: str = "minilm"
    text_checkpoint: str | None = None
    texts: str = "reasons"  # TEXT_SOURCES
    alignment: str = "cosine"  # ALIGNMENTS
    alignment_weight: float = 0.05
    sigmoid_scale: float = 10.0
    sigmoid_bias: float = -10.0
    sigmoid_learnable: bool = True
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01  # AdamW's default
    val_fraction: float = 0.2
    standardise_features: bool = True  # frozen mode: centre and scale the cached features on the training frames
    predict_from: str = "visual"  # PREDICT_FROM
    feature_batch_size: int = 64
    num_workers: int = 0

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DAClipConfig:
        config = settings_from_mapping(cls, mapping, what="DA-CLIP")
        for name, allowed in (("texts", TEXT_SOURCES), ("alignment", ALIGNMENTS), ("predict_from", PREDICT_FROM)):
            if getattr(config, name) not in allowed:
                raise ApplicationError("bad_config", f"DA-CLIP's {name} must be one of {', '.join(allowed)}, not {getattr(config, name)!r}.")
        if config.epochs < 1 or config.batch_size < 2 or not 0 <= config.val_fraction < 1:
            raise ApplicationError("bad_config", "DA-CLIP needs epochs >= 1, batch_size >= 2 (its losses are computed on the batch) "
                                                 "and 0 <= val_fraction < 1.")
        return config

    def training_fingerprint(self) -> dict:
        """The settings a checkpoint depends on: all but the epoch count (a longer run continues a shorter
        one) and what happens after training (predict_from, batch sizes of inference)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("epochs", "predict_from", "feature_batch_size", "num_workers")}


# --- texts: what the text branch is trained on ---------------------------------------------------

def grade_of(mos: float) -> int:
    """The grade a MOS rounds to, halves up (2.5 -> 3), within 1..5."""
    return int(min(5, max(1, math.floor(mos + 0.5))))


def training_texts(source: str, ids: Sequence[str], reasons: Mapping[str, Sequence[str]],
                   mos: Mapping[str, float], seed: int) -> dict[str, list[str]]:
    """The texts each training video's text branch sees.

    "reasons": its own reasons. "shuffled": the reasons of another training video: the ids in a
    seeded random order, each taking the reasons of the next one in that order (a cyclic shift, so
    no video keeps its own). "grade": the one fixed text of its rounded MOS grade (GRADE_TEXTS).
    """
    ids = list(ids)
    if source == "reasons":
        return {v: list(reasons.get(v, ())) for v in ids}
    if source == "shuffled":
        order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
        return {v: list(reasons.get(order[(k + 1) % len(order)], ())) for k, v in enumerate(order)}
    if source == "grade":
        return {v: [GRADE_TEXTS[grade_of(mos[v])]] for v in ids}
    raise ValueError(f"unknown text source {source!r}")


def texts_embed(encoder, texts: Sequence[Sequence[str]], cache_root: Path | None, progress=None) -> list[np.ndarray]:
    """Each video's texts as a (its count) x dim float32 array, every distinct text encoded once."""
    distinct = sorted({t for video in texts for t in video})
    if distinct:
        if cache_root is not None:
            from modeling.archs.text import text_embeddings_cached

            table = np.asarray(text_embeddings_cached(encoder, distinct, cache_root, progress=progress), dtype=np.float32)
        else:
            table = encoder.encode(distinct, progress=progress).detach().cpu().numpy().astype(np.float32)
    else:
        table = np.zeros((0, encoder.dim), dtype=np.float32)
    row = {t: i for i, t in enumerate(distinct)}
    return [table[[row[t] for t in video]].reshape(len(video), encoder.dim) for video in texts]


@dataclass
class TextTargets:
    """The text branch's inputs for N videos: the mean embedding of each (zeros where it has no text),
    whether it has any, and every individual embedding with its video row (the sigmoid alignment's)."""

    mean: torch.Tensor  # N x d
    mask: torch.Tensor  # N bool
    each: list[torch.Tensor]  # N tensors, m_i x d

    @classmethod
    def from_embeddings(cls, per_video: Sequence[np.ndarray], dim: int) -> TextTargets:
        each = [torch.from_numpy(np.asarray(e, dtype=np.float32).reshape(-1, dim)) for e in per_video]
        counts = torch.tensor([len(e) for e in each], dtype=torch.long)
        packed = torch.cat(each) if each else torch.zeros(0, dim)
        return cls(mean=reasons_pool(packed, counts), mask=counts > 0, each=each)


# --- visual inputs: packed frames of a batch of videos -------------------------------------------

class FeatureVideos(Dataset):
    """Frozen mode: each video's cached frame features (F x D), item (tensor, row)."""

    def __init__(self, features: Sequence[np.ndarray]):
        self.features = [torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)) for f in features]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, row: int):
        return self.features[row], row


class FramesOnly(Dataset):
    """Fine-tune mode: a VideoFramesDataset's items (frames F x 3 x S x S, mos, index) as (frames, row)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, row: int):
        return self.dataset[row][0], row


def frames_pack(items) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate: the items' frames one after the other, each video's frame count, and the rows."""
    frames = [f for f, _ in items]
    return (torch.cat(frames), torch.tensor([len(f) for f in frames], dtype=torch.long),
            torch.tensor([row for _, row in items], dtype=torch.long))


def batches_of(rows: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive batches of `rows`; a last batch of one joins the one before (a batch loss needs two)."""
    batches = [list(rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2].extend(batches.pop())
    return batches


def loader(dataset: Dataset, batches: list[list[int]], num_workers: int = 0) -> DataLoader:
    return DataLoader(dataset, batch_sampler=batches, collate_fn=frames_pack, num_workers=num_workers)


@torch.no_grad()
def visual_outputs(model: DAClip, dataset: Dataset, rows: Sequence[int], *, batch_size: int, device: str,
                   num_workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The visual embeddings (len(rows) x d) and scores of `rows` of `dataset`, in eval mode."""
    model.eval()
    embeddings, scores = [], []
    for frames, lengths, _ in loader(dataset, [list(rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)], num_workers):
        visual = model.visual(frames.to(device), lengths.to(device))
        embeddings.append(visual.cpu())
        scores.append(model.score(visual).cpu())
    if not embeddings:
        return np.zeros((0, model.text_dim), np.float32), np.zeros(0, np.float32)
    return torch.cat(embeddings).numpy(), torch.cat(scores).numpy()


# --- training -----------------------------------------------------------------------------------

def epoch_order(rows: Sequence[int], seed: int, epoch: int) -> list[int]:
    """The training rows' order in an epoch: a function of (seed, epoch) alone, so a resumed run
    draws the batches an uninterrupted one would."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return [rows[i] for i in torch.randperm(len(rows), generator=generator).tolist()]


def batch_make(frames, lengths, rows, mos: torch.Tensor, text: TextTargets, with_reasons: bool) -> DAClipBatch:
    reasons = owners = None
    if with_reasons:
        per_video = [text.each[r] for r in rows.tolist()]
        reasons = torch.cat(per_video)
        owners = torch.repeat_interleave(torch.arange(len(per_video)), torch.tensor([len(e) for e in per_video], dtype=torch.long))
    return DAClipBatch(frames=frames, lengths=lengths, mos=mos[rows], text=text.mean[rows], text_mask=text.mask[rows],
                       reasons=reasons, owners=owners)


def optimizer_flatten(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """An optimizer's state as flat tensors (for safetensors) and its param groups (for JSON)."""
    state = optimizer.state_dict()
    tensors = {f"optim.{pid}.{key}": torch.as_tensor(value).detach().cpu().contiguous()
               for pid, entry in state["state"].items() for key, value in entry.items()}
    return tensors, state["param_groups"]


def optimizer_restore(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], groups: list[dict]) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


class Checkpoint:
    """The resumable state of one training run under `folder`: written after every epoch.

    checkpoint-<epoch>.safetensors holds the model now ("model."), the best epoch's model
    ("best.") and the optimizer ("optim."); checkpoint.json names that file, the fingerprint of the
    run (settings, seed, the videos and their labels and texts), the history and the best epoch.
    The JSON is replaced last, atomically, so a run killed mid-write resumes from the epoch before.
    """

    def __init__(self, folder: Path, fingerprint: str):
        self.folder, self.fingerprint = Path(folder), fingerprint
        self.json_path = self.folder / "checkpoint.json"

    def read(self) -> tuple[dict, dict[str, torch.Tensor]] | None:
        """(record, tensors) of this run's last epoch, or None when there is none (or another run's)."""
        if not self.json_path.is_file():
            return None
        record = json.loads(self.json_path.read_text(encoding="utf-8"))
        path = self.folder / record.get("file", "")
        if record.get("fingerprint") != self.fingerprint or not path.is_file():
            return None
        return record, load_file(path)

    def write(self, record: dict, tensors: dict[str, torch.Tensor]) -> None:
        name = f"checkpoint-{record['epoch']}.safetensors"
        atomic_write(self.folder / name, lambda tmp: save_file(tensors, tmp))
        json_write(self.json_path, {**record, "file": name, "fingerprint": self.fingerprint}, indent=1)
        for old in self.folder.glob("checkpoint-*.safetensors"):
            if old.name != name:
                old.unlink()


def state_prefixed(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v.detach().cpu().clone().contiguous() for k, v in state.items()}


def state_unprefixed(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


@dataclass
class TrainResult:
    epochs: int
    best_epoch: int | None  # 1-based; None without a validation set (the last epoch is kept)
    best_score: float | None  # PLCC + SRCC of the visual branch on the validation videos
    history: list[dict] = field(default_factory=list)
    resumed_from: int = 0


def daclip_train(model: DAClip, train_data: Dataset, val_data: Dataset, mos: np.ndarray, text: TextTargets, *,
                 settings: DAClipConfig, train_rows: Sequence[int], val_rows: Sequence[int], seed: int = 0,
                 device: str = "cpu", checkpoint: Checkpoint | None = None, progress=None) -> TrainResult:
    """Train `model` on `train_rows` of the datasets (rows index `mos` and `text` too) with AdamW; after every
    epoch score the visual branch on `val_rows` (PLCC + SRCC) and keep the best epoch's weights, which
    the model holds on return. With a `checkpoint` of the same run, training continues after its last epoch.
    """
    progress = progress or (lambda stage, done, total: None)
    model.to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    mos_t = torch.as_tensor(np.asarray(mos, dtype=np.float32))
    with_reasons = settings.alignment == "sigmoid" and settings.alignment_weight > 0
    history: list[dict] = []
    best_epoch, best_score, best_state, start = None, -math.inf, None, 0
    saved = checkpoint.read() if checkpoint is not None else None
    if saved is not None:
        record, tensors = saved
        model.load_state_dict(state_unprefixed("model.", tensors))
        optimizer_restore(optimizer, tensors, record["param_groups"])  # load_state_dict moves the state to the parameters' device
        best_state = state_unprefixed("best.", tensors)
        history, start = record["history"], record["epoch"]
        best_epoch, best_score = record["best_epoch"], record["best_score"] if record["best_score"] is not None else -math.inf
    resumed_from = start
    for epoch in range(start, settings.epochs):
        model.train()
        sums = {"loss": 0.0, "visual": 0.0, "text": 0.0, "alignment": 0.0}
        batches = batches_of(epoch_order(list(train_rows), seed, epoch), settings.batch_size)
        for frames, lengths, rows in loader(train_data, batches, settings.num_workers):
            batch = batch_make(frames, lengths, rows, mos_t, text, with_reasons).to(device)
            parts = daclip_loss(model, batch, alignment_weight=settings.alignment_weight)
            optimizer.zero_grad(set_to_none=True)
            parts.total.backward()
            optimizer.step()
            sums["loss"] += float(parts.total.detach())
            sums["visual"] += parts.visual
            sums["text"] += parts.text
            sums["alignment"] += parts.alignment
        row = {"epoch": epoch + 1, **{k: v / max(1, len(batches)) for k, v in sums.items()}}
        if len(val_rows):
            _, scores = visual_outputs(model, val_data, val_rows, batch_size=settings.feature_batch_size, device=device,
                                       num_workers=settings.num_workers)
            truth = np.asarray(mos)[list(val_rows)]
            row["val_plcc"], row["val_srcc"] = metrics.plcc(scores, truth), metrics.srcc(scores, truth)
            score = row["val_plcc"] + row["val_srcc"]
            if score > best_score:
                best_epoch, best_score = epoch + 1, score
                best_state = state_prefixed("", model.state_dict())
        history.append(row)
        if checkpoint is not None:
            tensors, groups = optimizer_flatten(optimizer)
            tensors.update(state_prefixed("model.", model.state_dict()))
            tensors.update(state_prefixed("best.", best_state if best_state is not None else model.state_dict()))
            checkpoint.write({"epoch": epoch + 1, "history": history, "best_epoch": best_epoch,
                              "best_score": None if best_epoch is None else best_score, "param_groups": groups}, tensors)
        progress("train", epoch + 1, settings.epochs)
    if best_state is not None and len(val_rows):
        model.load_state_dict(best_state)
    return TrainResult(epochs=settings.epochs, best_epoch=best_epoch, best_score=None if best_epoch is None else best_score,
                       history=history, resumed_from=resumed_from)


def fingerprint_of(settings: DAClipConfig, seed: int, ids: Sequence[str], mos: np.ndarray, texts: Sequence[Sequence[str]],
                   frames: FrameSource) -> str:
    """What a checkpoint belongs to: the training settings, the seed, and per video its id, label, texts and
    crops (their frame-set digest, as the feature cache keys them), so a changed input starts a new run."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"settings": settings.training_fingerprint(), "seed": seed}, sort_keys=True).encode())
    for video, label, its_texts in zip(ids, np.asarray(mos, np.float64).tolist(), texts):
        digest.update(json.dumps([video, label, list(its_texts), frameset_digest(video, frames(video))]).encode())
    return digest.hexdigest()


# --- the method ---------------------------------------------------------------------------------

@register
class DAClipMethod(Method):
    name = "daclip"
    description = ("DA-CLIP (the paper's method): frame embeddings aligned with the embeddings of the videos' "
                   "reasons, one regressor for both branches; only the visual branch predicts.")

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.settings = DAClipConfig.from_mapping(self.config)
        self.model: DAClip | None = None
        self.spec = None  # the backbone's BackboneSpec
        self.calibration = (1.0, 0.0)  # visual scores -> the MOS scale (linear_calibration)
        self.text_calibration = (1.0, 0.0)  # text-branch scores -> the MOS scale
        self.index_ids: list[str] = []  # the training videos whose reasons the explanation retrieves
        self.index_text: np.ndarray | None = None  # their mean reason embeddings, in index_ids order
        self.index_categories = np.zeros((0, 0))  # their 37-share category vectors (TrainContext.categories)
        self.index_columns: tuple[str, ...] = ()
        self.index_reasons: dict[str, list[str]] = {}  # a few reasons of each (explain.reasons_kept)
        self.summary: dict = {}
        self._backbone = None  # frozen mode: the feature extractor, outside the network
        self._text_encoder = None

    @property
    def reads_test_reasons(self) -> bool:
        """True for DA-CLIP-T only: its predictions are the text branch's on the test videos' reasons."""
        return self.settings.predict_from == "test_reasons"

    # representations

    def backbone(self):
        """(module, spec) of the configured backbone, built once (modeling.archs.backbones)."""
        if self._backbone is None:
            from modeling.archs.backbones import backbone_build

            self._backbone = backbone_build(self.settings.backbone, weights=self.settings.weights)
        return self._backbone

    def text_encoder(self):
        if self._text_encoder is None:
            from modeling.archs.text import text_encoder_build

            self._text_encoder = text_encoder_build(self.settings.text_encoder, checkpoint=self.settings.text_checkpoint)
        return self._text_encoder

    def visual_data(self, frames: FrameSource, ids: Sequence[str], *, train: bool, device: str,
                    cache_root: Path | None, progress=None) -> Dataset:
        """The videos' inputs to the network: cached frozen features, or frames for the backbone inside."""
        if self.settings.frozen:
            from modeling.data.cache import features_cached

            module, spec = self.backbone()
            module.eval()
            with tempfile.TemporaryDirectory() as scratch:
                features = features_cached(module, spec, frames, list(ids), policy=self.settings.policy,
                                           cache_root=Path(cache_root) if cache_root is not None else Path(scratch),
                                           device=device, progress=progress, batch_size=self.settings.feature_batch_size)
            return FeatureVideos([np.array(features[v], dtype=np.float32) for v in ids])  # copies: the scratch folder goes
        from modeling.data.datasets import VideoFramesDataset

        return FramesOnly(VideoFramesDataset(frames, list(ids), None, self.settings.policy, self.spec, train=train))

    # training

    def fit(self, ctx: TrainContext, train_ids: Sequence[str]) -> dict:
        settings = self.settings
        ids = sorted(v for v in train_ids if v in ctx.mos and math.isfinite(float(ctx.mos[v])))
        if len(ids) < 4:
            raise ApplicationError("too_few_videos", f"DA-CLIP needs at least 4 training videos with a MOS; it was given {len(ids)}.")
        mos = np.array([float(ctx.mos[v]) for v in ids], dtype=np.float64)
        cache_root = Path(ctx.cache_root) if ctx.cache_root is not None else Path(ctx.work) / "cache"

        texts_by_id = training_texts(settings.texts, ids, ctx.reasons, dict(zip(ids, mos)), ctx.seed)
        texts = [texts_by_id[v] for v in ids]
        own_reasons = [list(ctx.reasons.get(v, ())) for v in ids]
        encoder = self.text_encoder()
        embedded = texts_embed(encoder, texts, cache_root / "text", progress=ctx.progress)
        own = embedded if settings.texts == "reasons" else texts_embed(encoder, own_reasons, cache_root / "text", progress=ctx.progress)
        text = TextTargets.from_embeddings(embedded, encoder.dim)

        module, self.spec = self.backbone()
        # Features straight under the cache root: its key (backbone, weights, policy, frames) lets other
        # methods with the same backbone (svr_deep) and every split share them.
        train_data = self.visual_data(ctx.frames, ids, train=True, device=ctx.device, cache_root=cache_root,
                                      progress=ctx.progress)
        val_data = train_data if settings.frozen else self.visual_data(ctx.frames, ids, train=False, device=ctx.device,
                                                                       cache_root=None)
        train_rows, val_rows = validation_split(len(ids), settings.val_fraction, ctx.seed)
        torch.manual_seed(ctx.seed)  # the projection's and regressor's initial weights
        self.model = DAClip(self.spec.dim, encoder.dim, backbone=None if settings.frozen else module,
                            alignment=settings.alignment, sigmoid_scale=settings.sigmoid_scale,
                            sigmoid_bias=settings.sigmoid_bias, sigmoid_learnable=settings.sigmoid_learnable)
        if settings.frozen and settings.standardise_features:
            frames_of_train = torch.cat([train_data.features[r] for r in train_rows])
            self.model.feature_shift.copy_(frames_of_train.mean(0))
            self.model.feature_scale.copy_(frames_of_train.std(0).clamp_min(1e-6))
        checkpoint = Checkpoint(Path(ctx.work) / CHECKPOINT_DIR, fingerprint_of(settings, ctx.seed, ids, mos, texts, ctx.frames))
        result = daclip_train(self.model, train_data, val_data, mos, text, settings=settings, train_rows=train_rows,
                              val_rows=val_rows, seed=ctx.seed, device=ctx.device, checkpoint=checkpoint, progress=ctx.progress)

        self.model.to("cpu")
        _, scores = visual_outputs(self.model, val_data, range(len(ids)), batch_size=settings.feature_batch_size, device="cpu")
        self.calibration = linear_calibration(scores, mos)
        keep = [i for i, e in enumerate(own) if len(e)]
        self.index_ids = [ids[i] for i in keep]
        self.index_text = TextTargets.from_embeddings([own[i] for i in keep], encoder.dim).mean.numpy()
        self.index_columns = tuple(ctx.category_columns)
        self.index_categories = (np.array([ctx.categories[v] for v in self.index_ids], dtype=np.float64)
                                 if self.index_columns else np.zeros((len(self.index_ids), 0)))
        self.index_reasons = {v: reasons_kept(ctx.reasons.get(v, ())) for v in self.index_ids}
        # The text branch's own calibration, on the videos' own reasons (what predict_text is given).
        with torch.no_grad():
            text_scores = self.model.eval().score(torch.from_numpy(self.index_text)).numpy()
        self.text_calibration = linear_calibration(text_scores, mos[keep])
        self.summary = {"videos": len(ids), "train_videos": len(train_rows), "val_videos": len(val_rows),
                        "epochs": result.epochs, "best_epoch": result.best_epoch, "best_val_plcc_plus_srcc": result.best_score,
                        "resumed_from_epoch": result.resumed_from, "history": result.history,
                        "calibration": list(self.calibration), "text_calibration": list(self.text_calibration)}
        return self.summary

    # inference

    def embed(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        """The visual embeddings of `ids` in the shared space (len(ids) x text dim): what the explanation searches with."""
        return self._visual(frames, ids, device=device, cache_root=cache_root)[0]

    def explain(self, frames: FrameSource, ids: Sequence[str], *, k: int = 11, device: str = "cpu",
                cache_root: Path | None = None) -> list[dict]:
        """Per video: its k nearest training videos in the shared space (visual embedding against their
        mean reason embeddings; most similar first, with a few of their reasons) and the mean of their
        category vectors. The videos' own reasons are never read (modeling.explain)."""
        index = ExplanationIndex.of(self)
        out = []
        for item in explain(index, self.embed(frames, ids, device=device, cache_root=cache_root), k=k):
            neighbours = [{"video": v, "similarity": round(s, 6), "reasons": index.reasons.get(v, [])}
                          for v, s in zip(item.neighbours, item.similarities)]
            out.append({"neighbours": neighbours, **({"categories": item.categories} if index.columns else {})})
        return out

    def predict(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        if self.reads_test_reasons:
            raise ApplicationError("needs_test_reasons", "DA-CLIP-T predicts from the videos' reasons, not their frames: "
                                                         "call predict_text with the test videos' reasons (its reference row only).")
        return self._calibrated(self._visual(frames, ids, device=device, cache_root=cache_root)[1])

    def predict_text(self, reasons: Sequence[Sequence[str]], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        """The text branch's score of each video from its reasons (mean-pooled embeddings -> the shared regressor).

        DA-CLIP-T's predictions; a video without reasons gets NaN (there is no text to score)."""
        self._require_model()
        # Embeddings cached like the training texts' (ten splits' test reasons: minutes of MiniLM each on a CPU).
        per_video = texts_embed(self.text_encoder(), [list(r) for r in reasons], Path(cache_root) / "text" if cache_root else None)
        text = TextTargets.from_embeddings(per_video, self.model.text_dim)
        self.model.eval().to(device)
        with torch.no_grad():
            scores = self.model.score(text.mean.to(device)).cpu().numpy().astype(np.float64)
        self.model.to("cpu")
        return np.where(text.mask.numpy(), self._calibrated(scores, self.text_calibration), np.nan)

    def _calibrated(self, scores: np.ndarray, calibration: tuple[float, float] | None = None) -> np.ndarray:
        return mos_scaled(scores, calibration or self.calibration)

    def _visual(self, frames, ids, *, device, cache_root) -> tuple[np.ndarray, np.ndarray]:
        self._require_model()
        data = self.visual_data(frames, list(ids), train=False, device=device,
                                cache_root=cache_root)
        self.model.to(device)
        out = visual_outputs(self.model, data, range(len(ids)), batch_size=self.settings.feature_batch_size, device=device,
                             num_workers=self.settings.num_workers)
        self.model.to("cpu")
        return out

    def _require_model(self) -> None:
        if self.model is None:
            raise ApplicationError("not_trained", "This DA-CLIP model is not trained: fit it or load a saved one first.")

    # persistence

    def weights_used(self) -> list[dict]:
        spec = self.spec
        if spec is None or not getattr(spec, "weights", None):
            return []
        return [{"name": spec.name, "file": str(spec.weights), "sha256": spec.weights_sha256}]

    def save(self, folder: Path) -> None:
        """model.safetensors (the network, with the backbone's weights in frozen mode too, so the folder
        alone reproduces every score; the explanation index) and method.json (config, backbone spec,
        calibration, index ids, training summary)."""
        self._require_model()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = state_prefixed("model.", self.model.state_dict())
        if self.settings.frozen:
            tensors.update(state_prefixed("backbone.", self.backbone()[0].state_dict()))
        if self.index_text is not None:
            tensors["index.text"] = torch.from_numpy(np.ascontiguousarray(self.index_text, dtype=np.float32))
            tensors["index.categories"] = torch.from_numpy(np.ascontiguousarray(self.index_categories, dtype=np.float64))
        save_file(tensors, folder / "model.safetensors")
        spec = dataclasses.asdict(self.spec) if dataclasses.is_dataclass(self.spec) else dict(vars(self.spec))
        record = {"format": FORMAT, "method": self.name, "config": self.config, "spec": spec,
                  "feature_dim": self.model.feature_dim, "text_dim": self.model.text_dim,
                  "calibration": list(self.calibration), "text_calibration": list(self.text_calibration), "index_ids": self.index_ids,
                  "index_columns": list(self.index_columns), "index_reasons": self.index_reasons, "summary": self.summary}
        (folder / "method.json").write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> DAClipMethod:
        from modeling.archs.backbones import BackboneSpec, backbone_build

        folder = Path(folder)
        record = json.loads((folder / "method.json").read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise ApplicationError("bad_model", f"{folder} holds a DA-CLIP model of format {record.get('format')}, not {FORMAT}.")
        method = cls(record["config"])
        settings = method.settings
        tensors = load_file(folder / "model.safetensors")
        # The architecture only: the weights come from the folder, not from a pretrained file.
        module, _ = backbone_build(settings.backbone, weights=None)
        method.spec = BackboneSpec(**record["spec"])
        if settings.frozen:
            module.load_state_dict(state_unprefixed("backbone.", tensors))
            module.eval()
            method._backbone = (module, method.spec)
        method.model = DAClip(record["feature_dim"], record["text_dim"], backbone=None if settings.frozen else module,
                              alignment=settings.alignment, sigmoid_scale=settings.sigmoid_scale,
                              sigmoid_bias=settings.sigmoid_bias, sigmoid_learnable=settings.sigmoid_learnable)
        method.model.load_state_dict(state_unprefixed("model.", tensors))
        method.model.eval()
        method.calibration = tuple(record["calibration"])
        method.text_calibration = tuple(record["text_calibration"])
        method.index_ids = list(record["index_ids"])
        method.index_text = tensors["index.text"].numpy() if "index.text" in tensors else None
        method.index_categories = tensors["index.categories"].numpy() if "index.categories" in tensors else np.zeros((0, 0))
        method.index_columns = tuple(record.get("index_columns", ()))
        method.index_reasons = {v: list(r) for v, r in record.get("index_reasons", {}).items()}
        method.summary = record.get("summary", {})
        return method
