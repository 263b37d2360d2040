"""The training losses of the paper's methods (section IV, DOMAIN.md section 4), as functions of torch tensors.

Regression losses take the batch's predictions P and labels Q (1-D, one value per video) and
return a scalar; they are computed on the batch, so Norm-in-Norm, KL and PLCC see the batch's
spread, not single videos. Alignment losses take the visual and text embeddings of the shared
space (DA-CLIP). Each is checked against its formula on hand-made numbers in
tests/modeling/test_losses.py.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8  # LinearityIQA's eps: keeps a constant batch from dividing by zero


def _centred_unit(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    centred = x - x.mean()
    return centred / (eps + torch.linalg.vector_norm(centred, ord=2))


def norm_in_norm(pred: torch.Tensor, target: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Norm-in-Norm (Li et al., MM 2020; the paper's eq. 1-2 with q = 2, p = 1).

    S = (Q - mean Q) / ||Q - mean Q||_2, likewise S' for P; loss = sum_i |S'_i - S_i| / (2 sqrt(N)).

    The constant 2 sqrt(N) is LinearityIQA's `scale = 2^max(1, 1/q) * N^max(0, 1/p - 1/q)` for
    p = 1, q = 2 (the reference implementation and OPDAI's copy of it divide by it). It is the
    bound of the sum: S and S' are unit vectors, so ||S' - S||_1 <= sqrt(N) ||S' - S||_2 <= 2 sqrt(N).
    The loss therefore lies in [0, 1] whatever the batch size, which keeps its weight next to the
    KL term and the alignment loss independent of the batch size. Invariant to shifting and
    (positively) scaling P: it trains linearity, not the scale (a batch of one gives 0).
    """
    pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
    diff = _centred_unit(pred, eps) - _centred_unit(target, eps)
    return diff.abs().sum() / (2.0 * math.sqrt(pred.numel()))


def kl_batch(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL divergence of the batch's softmaxed scores (the paper's eq. 3-4).

    W = softmax(Q), W' = softmax(P) over the batch; loss = sum_i W'_i log(W'_i / W_i) = KL(W' || W).
    Computed from log-softmaxes so that large scores do not overflow.
    """
    pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
    log_w_pred = F.log_softmax(pred, dim=0)
    log_w = F.log_softmax(target, dim=0)
    return (log_w_pred.exp() * (log_w_pred - log_w)).sum()


def norm_in_norm_kl(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """OPDAI's and DA-CLIP's regression loss (the paper's eq. 5): Norm-in-Norm + KL."""
    return norm_in_norm(pred, target) + kl_batch(pred, target)


def plcc_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """1 - |PLCC(P, Q)| on the batch (HUST's 0.5-weighted term)."""
    pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
    p, q = pred - pred.mean(), target - target.mean()
    r = (p * q).sum() / (eps + torch.linalg.vector_norm(p) * torch.linalg.vector_norm(q))
    return 1.0 - r.abs()


def rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Margin rank loss: mean over the pairs i < j of max(0, |Qi - Qj| - sign(Qi - Qj) (Pi - Pj)).

    The margin of a pair is its label difference, so a pair must be ordered by at least as much as
    the labels differ. The term is symmetric in (i, j), so the mean over i < j equals the mean over
    all ordered pairs i != j; pairs with equal labels contribute 0 and still count in the mean.
    A batch of one has no pair and gives 0.
    """
    pred, target = pred.reshape(-1), target.reshape(-1).to(pred.dtype)
    n = pred.numel()
    if n < 2:
        return pred.sum() * 0.0
    i, j = torch.triu_indices(n, n, offset=1, device=pred.device)
    dq, dp = target[i] - target[j], pred[i] - pred[j]
    return torch.clamp(dq.abs() - torch.sign(dq) * dp, min=0.0).mean()


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred.reshape(-1) - target.reshape(-1).to(pred.dtype)).abs().mean()


def rmse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sqrt(mean (P - Q)^2); the clamp keeps the gradient finite (0, not NaN) at a perfect fit."""
    mse = ((pred.reshape(-1) - target.reshape(-1).to(pred.dtype)) ** 2).mean()
    return torch.sqrt(mse.clamp_min(1e-12))


def cosine_alignment(visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """DA-CLIP's L_sim (the paper's eq. 16 as DOMAIN.md reads it): 1 - mean_i cos(x_i, t_i).

    `visual` and `text` are B x d, row i of each the same video. The paper writes a sum over the
    videos; with a sum the loss would fall without bound as the batch grows, so the mean it is
    (in [0, 2]; 0 when every pair points the same way).
    """
    return 1.0 - F.cosine_similarity(visual, text, dim=1, eps=EPS).mean()


def sigmoid_alignment(visual: torch.Tensor, reasons: torch.Tensor, owners: torch.Tensor,
                      log_scale: torch.Tensor | float, bias: torch.Tensor | float) -> torch.Tensor:
    """SigLIP-style alignment of videos with their individual reasons (Zhai et al., 2023).

    `visual`: B x d, one row per video; `reasons`: M x d, the embeddings of every reason of the
    batch's videos; `owners`: M video rows (0..B-1), the video each reason describes. Every pair
    (video i, reason r) is a binary problem: z_ir = +1 when reason r belongs to video i (all of a
    video's reasons are positives, not only one caption as in CLIP), -1 otherwise (the batch's other
    videos' reasons); logit l_ir = exp(log_scale) cos(x_i, t_r) + bias, loss = -mean log sigmoid(z_ir l_ir).

    SigLIP sums over texts and divides by the number of images; here the sum is divided by the
    number of pairs instead (B x M), because a DREAM batch carries from a handful to a hundred
    reasons per video and the weight 0.05 next to L_V and L_T should not depend on that.
    """
    logits = torch.exp(torch.as_tensor(log_scale, dtype=visual.dtype, device=visual.device)) * (
        F.normalize(visual, dim=1, eps=EPS) @ F.normalize(reasons, dim=1, eps=EPS).T
    ) + torch.as_tensor(bias, dtype=visual.dtype, device=visual.device)
    signs = torch.where(owners.reshape(1, -1) == torch.arange(visual.shape[0], device=visual.device).reshape(-1, 1), 1.0, -1.0)
    return -F.logsigmoid(signs.to(logits.dtype) * logits).mean()


class SigmoidAlignmentLoss(nn.Module):
    """sigmoid_alignment with its temperature and bias as parameters (learnable unless `learnable=False`).

    Initial values are SigLIP's: scale 10 (log_scale = log 10) and bias -10, which start the
    sigmoid near 0 for every pair, the right prior when negatives far outnumber positives.
    """

    def __init__(self, scale: float = 10.0, bias: float = -10.0, learnable: bool = True):
        super().__init__()
        log_scale = torch.tensor(math.log(scale), dtype=torch.float32)
        bias_t = torch.tensor(float(bias), dtype=torch.float32)
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
            self.bias = nn.Parameter(bias_t)
        else:
            self.register_buffer("log_scale", log_scale)
            self.register_buffer("bias", bias_t)

    def forward(self, visual: torch.Tensor, reasons: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
        return sigmoid_alignment(visual, reasons, owners, self.log_scale, self.bias)


REGRESSION_LOSSES = {
    "norm_in_norm": norm_in_norm,
    "kl": kl_batch,
    "norm_in_norm_kl": norm_in_norm_kl,
    "plcc": plcc_loss,
    "rank": rank_loss,
    "mae": mae,
    "rmse": rmse,
}
