"""Each loss against its written formula (DOMAIN.md section 4), the expected value computed here with numpy."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from modeling import losses

P = np.array([2.0, 0.5, 3.5, 1.0, 4.0])
Q = np.array([1.2, 2.8, 4.1, 1.9, 3.3])


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


def test_norm_in_norm_is_the_scaled_l1_distance_of_the_centred_unit_vectors():
    sp = (P - P.mean()) / np.sqrt(((P - P.mean()) ** 2).sum())
    sq = (Q - Q.mean()) / np.sqrt(((Q - Q.mean()) ** 2).sum())
    expected = np.abs(sp - sq).sum() / (2 * np.sqrt(len(P)))
    assert losses.norm_in_norm(t(P), t(Q)).item() == pytest.approx(expected, rel=1e-7)  # eps 1e-8 in the norms


def test_norm_in_norm_ignores_shift_and_scale_of_the_predictions_and_is_bounded_by_one():
    assert losses.norm_in_norm(t(3 * Q + 7), t(Q)).item() == pytest.approx(0.0, abs=1e-7)
    # Reversed order: S' = -S, so sum |S' - S| = 2 sum |S|, and sum |S| <= sqrt(N): at most 1.
    reversed_loss = losses.norm_in_norm(t(-Q), t(Q)).item()
    sq = (Q - Q.mean()) / np.linalg.norm(Q - Q.mean())
    assert reversed_loss == pytest.approx(2 * np.abs(sq).sum() / (2 * np.sqrt(len(Q))), rel=1e-7)
    assert 0 < reversed_loss <= 1


def test_kl_batch_is_the_kl_divergence_of_the_softmaxed_predictions_from_the_softmaxed_labels():
    w = np.exp(Q) / np.exp(Q).sum()
    w_pred = np.exp(P) / np.exp(P).sum()
    expected = (w_pred * np.log(w_pred / w)).sum()
    assert losses.kl_batch(t(P), t(Q)).item() == pytest.approx(expected, rel=1e-9)
    assert losses.kl_batch(t(Q + 2.0), t(Q)).item() == pytest.approx(0.0, abs=1e-12)  # softmax forgets a shift
    # Large scores do not overflow.
    assert math.isfinite(losses.kl_batch(t(P * 500), t(Q)).item())


def test_norm_in_norm_kl_is_the_sum_of_its_two_terms():
    assert losses.norm_in_norm_kl(t(P), t(Q)).item() == pytest.approx(
        losses.norm_in_norm(t(P), t(Q)).item() + losses.kl_batch(t(P), t(Q)).item(), rel=1e-12)


def test_plcc_loss_is_one_minus_the_absolute_pearson_correlation():
    r = np.corrcoef(P, Q)[0, 1]
    assert losses.plcc_loss(t(P), t(Q)).item() == pytest.approx(1 - abs(r), rel=1e-7)
    assert losses.plcc_loss(t(-P), t(Q)).item() == pytest.approx(1 - abs(r), rel=1e-7)


def test_rank_loss_is_the_mean_margin_violation_over_pairs():
    q = np.array([1.0, 2.0, 2.0, 4.0])  # one tie: its pair counts 0 in the mean
    p = np.array([0.5, 0.1, 3.0, 2.0])
    terms = []
    for i, j in itertools.combinations(range(len(q)), 2):
        dq, dp = q[i] - q[j], p[i] - p[j]
        terms.append(max(0.0, abs(dq) - np.sign(dq) * dp))
    expected = np.mean(terms)  # 6 pairs
    assert expected > 0
    assert losses.rank_loss(t(p), t(q)).item() == pytest.approx(expected, rel=1e-12)
    # Predictions ordered with at least the labels' margins cost nothing.
    assert losses.rank_loss(t(2 * q), t(q)).item() == 0.0
    assert losses.rank_loss(t([1.0]), t([3.0])).item() == 0.0


def test_mae_and_rmse():
    assert losses.mae(t(P), t(Q)).item() == pytest.approx(np.abs(P - Q).mean(), rel=1e-12)
    assert losses.rmse(t(P), t(Q)).item() == pytest.approx(np.sqrt(((P - Q) ** 2).mean()), rel=1e-12)
    exact = t(Q).requires_grad_()
    losses.rmse(exact, t(Q)).backward()
    assert torch.isfinite(exact.grad).all()


def test_cosine_alignment_is_one_minus_the_mean_cosine_of_each_pair():
    x = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0], [3.0, 3.0, 1.0]])
    y = np.array([[2.0, 0.1, 3.0], [-0.5, 1.0, 0.2], [1.0, 0.0, 0.0]])
    cosines = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    assert losses.cosine_alignment(t(x), t(y)).item() == pytest.approx(1 - cosines.mean(), rel=1e-9)
    assert losses.cosine_alignment(t(x), t(4 * x)).item() == pytest.approx(0.0, abs=1e-9)


def test_sigmoid_alignment_makes_every_reason_of_a_video_a_positive():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])  # two videos
    r = np.array([[1.0, 0.2], [0.9, -0.1], [0.1, 1.0]])  # reasons: two of video 0, one of video 1
    owners = np.array([0, 0, 1])
    log_scale, bias = math.log(5.0), -1.0
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (r / np.linalg.norm(r, axis=1, keepdims=True)).T
    z = np.where(owners[None, :] == np.arange(2)[:, None], 1.0, -1.0)
    logits = 5.0 * cos + bias
    expected = -np.mean(np.log(1 / (1 + np.exp(-z * logits))))
    got = losses.sigmoid_alignment(t(x), t(r), torch.tensor(owners), log_scale, bias).item()
    assert got == pytest.approx(expected, rel=1e-9)
    # Swapping the owners (each reason to the wrong video) costs more.
    assert losses.sigmoid_alignment(t(x), t(r), torch.tensor([1, 1, 0]), log_scale, bias).item() > got


def test_sigmoid_alignment_module_learns_its_temperature_unless_fixed():
    learnable = losses.SigmoidAlignmentLoss()
    fixed = losses.SigmoidAlignmentLoss(learnable=False)
    assert {n for n, _ in learnable.named_parameters()} == {"log_scale", "bias"}
    assert list(fixed.parameters()) == []
    x, r, owners = torch.randn(3, 4), torch.randn(5, 4), torch.tensor([0, 0, 1, 2, 2])
    assert learnable(x, r, owners).item() == pytest.approx(fixed(x, r, owners).item(), rel=1e-6)
    assert learnable.log_scale.item() == pytest.approx(math.log(10.0))
