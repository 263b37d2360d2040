"""DA-CLIP (the paper's section IV, DOMAIN.md section 4): a visual and a text branch in one space, one regressor for both.

Visual branch: per-frame features (from the backbone inside the module when it is fine-tuned, or
precomputed by a frozen backbone and passed in) -> one linear projection to the text size -> per
video, the mean and the standard deviation of its frame embeddings, summed. Text branch: the
embeddings of a video's reasons, mean-pooled (the text encoder is frozen and outside the module:
its embeddings come in as tensors). One linear regressor maps either embedding to a score.
Training loss: L_V + L_T + lambda L_sim, L_V and L_T each Norm-in-Norm + KL on the batch.

Frames of a batch are packed, not padded: `frames` holds every frame of the batch's videos one
after the other (T = sum of the videos' frame counts) and `lengths` the count of each video, so a
video of 3 frames and one of 40 cost what their frames cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from modeling.losses import SigmoidAlignmentLoss, cosine_alignment, norm_in_norm_kl

ALIGNMENTS = ("cosine", "sigmoid")
# Below this variance a std is taken as 0 and gets no gradient: sqrt has an infinite slope at 0,
# which a one-frame video (or identical frames) would otherwise turn into NaN weights.
STD_FLOOR = 1e-12


def segment_ids(lengths: torch.Tensor) -> torch.Tensor:
    """The video row (0..B-1) of each packed item, for videos of `lengths` items each."""
    return torch.repeat_interleave(torch.arange(lengths.numel(), device=lengths.device), lengths)


def segment_mean(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per video, the mean of its packed rows of `x` (T x d) -> B x d. A video without rows gets 0."""
    sums = torch.zeros(lengths.numel(), x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, segment_ids(lengths), x)
    return sums / lengths.clamp_min(1).to(x.dtype).unsqueeze(1)


def segment_mean_std(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per video, the mean and the population standard deviation (ddof 0: one frame gives 0) of its rows."""
    mean = segment_mean(x, lengths)
    variance = segment_mean((x - mean[segment_ids(lengths)]) ** 2, lengths)
    return mean, torch.sqrt(variance.clamp_min(STD_FLOOR))


@dataclass
class DAClipBatch:
    """One training batch of B videos.

    frames: T x D features (frozen mode) or T x 3 x S x S images (fine-tune mode), packed;
    lengths: B frame counts; mos: B labels; text: B x d mean-pooled reason embeddings (the rows
    where text_mask is False have no reasons and are left out of L_T and L_sim); reasons / owners:
    every reason embedding of the batch (M x d) and its video row, for the sigmoid alignment only.
    """

    frames: torch.Tensor
    lengths: torch.Tensor
    mos: torch.Tensor
    text: torch.Tensor
    text_mask: torch.Tensor
    reasons: torch.Tensor | None = None
    owners: torch.Tensor | None = None

    def to(self, device) -> DAClipBatch:
        move = (lambda x: None if x is None else x.to(device))
        return DAClipBatch(*(move(getattr(self, f)) for f in self.__dataclass_fields__))


class DAClip(nn.Module):
    """The DA-CLIP network. `backbone` (B x 3 x S x S -> B x feature_dim) inside for fine-tuning, or None
    when frames arrive as features of a frozen backbone.

    `feature_shift` / `feature_scale` standardise incoming features (set from the training frames in
    frozen mode, where a backbone's pooled features are far from zero-mean; identity otherwise).
    """

    def __init__(self, feature_dim: int, text_dim: int, *, backbone: nn.Module | None = None,
                 alignment: str = "cosine", sigmoid_scale: float = 10.0, sigmoid_bias: float = -10.0,
                 sigmoid_learnable: bool = True):
        super().__init__()
        if alignment not in ALIGNMENTS:
            raise ValueError(f"alignment must be one of {ALIGNMENTS}, not {alignment!r}")
        self.feature_dim, self.text_dim, self.alignment = feature_dim, text_dim, alignment
        self.backbone = backbone
        self.register_buffer("feature_shift", torch.zeros(feature_dim))
        self.register_buffer("feature_scale", torch.ones(feature_dim))
        self.project = nn.Linear(feature_dim, text_dim)
        self.regressor = nn.Linear(text_dim, 1)
        self.sigmoid = (SigmoidAlignmentLoss(sigmoid_scale, sigmoid_bias, learnable=sigmoid_learnable)
                        if alignment == "sigmoid" else None)

    def frame_embeddings(self, frames: torch.Tensor) -> torch.Tensor:
        features = self.backbone(frames) if self.backbone is not None else frames
        return self.project((features - self.feature_shift) / self.feature_scale)

    def visual(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """B x text_dim: per video, mean + std of its projected frame embeddings (the paper's summed pooling)."""
        mean, std = segment_mean_std(self.frame_embeddings(frames), lengths)
        return mean + std

    def score(self, embedding: torch.Tensor) -> torch.Tensor:
        """The shared regressor: B x text_dim -> B scores, for either branch's embeddings."""
        return self.regressor(embedding).squeeze(-1)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Inference runs the visual branch alone: B scores."""
        return self.score(self.visual(frames, lengths))


def reasons_pool(reasons: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The text branch's embedding: per video, the mean of its reasons' embeddings (packed, `counts` per video)."""
    return segment_mean(reasons, counts)


@dataclass
class LossParts:
    total: torch.Tensor
    visual: float
    text: float
    alignment: float


def daclip_loss(model: DAClip, batch: DAClipBatch, *, alignment_weight: float) -> LossParts:
    """L_V + L_T + alignment_weight * L_sim on one batch (the paper's eq. 17, lambda = 0.05).

    L_T and the cosine L_sim use the videos that have reasons; with fewer than two of them L_T is 0
    (Norm-in-Norm and KL need a spread). At weight 0 the alignment is not computed at all.
    """
    visual = model.visual(batch.frames, batch.lengths)
    mos = batch.mos.to(visual.dtype)
    l_v = norm_in_norm_kl(model.score(visual), mos)
    mask = batch.text_mask
    text = batch.text[mask]
    l_t = norm_in_norm_kl(model.score(text), mos[mask]) if int(mask.sum()) >= 2 else visual.sum() * 0.0
    l_sim = visual.sum() * 0.0
    if alignment_weight:
        if model.alignment == "sigmoid":
            l_sim = model.sigmoid(visual, batch.reasons, batch.owners)
        elif int(mask.sum()):
            l_sim = cosine_alignment(visual[mask], text)
    total = l_v + l_t + alignment_weight * l_sim
    return LossParts(total=total, visual=float(l_v.detach()), text=float(l_t.detach()), alignment=float(l_sim.detach()))
