"""The fine-tuning baselines (OPDAI, HUST, UNILJ): configs, views, pooling, training, resuming, save and load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from annotation.errors import ApplicationError
from modeling.archs.heads import ViewRegressor, frames_pool
from modeling.methods import METHODS, TrainContext, method_make
from modeling.methods.finetune import Finetune, holdout_split, views_choose
from tests.modeling.tiny_videos import tiny_videos

# timm's 99k-parameter test network of the EfficientNet family (with BatchNorm): seconds on a CPU.
TINY = {"input_size": 32, "epochs": 2, "batch_size": 4, "backbone": "test_efficientnet", "weights": None}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return tiny_videos(tmp_path_factory.mktemp("crops"), n=20)


def context(videos, work, seed=0) -> TrainContext:
    mos, frames = videos
    return TrainContext(frames=frames, mos=mos, reasons={v: [] for v in mos}, work=work, seed=seed, cache_root=work / "cache")


def test_the_three_baselines_are_registered_with_their_configs():
    for name in ("opdai", "hust", "unilj"):
        method = method_make(name)
        assert isinstance(method, Finetune) and METHODS[name] is type(method)
    unilj = method_make("unilj").cfg
    assert (unilj.policy, unilj.pooling, unilj.hidden, unilj.dropout, dict(unilj.loss)) == \
        ("clips:5x10", "mean_std", (512, 256, 64), 0.1, {"rmse": 1.0})
    assert dict(method_make("hust").cfg.loss) == {"mae": 1.0, "plcc_loss": 0.5, "rank_loss": 1.0}
    opdai = method_make("opdai").cfg
    assert (opdai.policy, opdai.flip, dict(opdai.loss)) == ("positions:0.25,0.5,0.75", True, {"norm_in_norm": 1.0, "kl_batch": 1.0})


def test_a_misspelt_setting_or_loss_is_refused():
    with pytest.raises(ApplicationError) as err:
        method_make("hust", {"epoch": 3})
    assert err.value.code == "bad_config" and "epoch" in err.value.message
    for bad in ({"loss": {"msе": 1.0}}, {"loss": {"mae": "1"}}, {"epochs": "30"}, {"flip": 1}, {"hidden": [512.5]}):
        with pytest.raises(ApplicationError) as err:
            method_make("hust", bad)
        assert err.value.code == "bad_config", bad


def test_mean_std_pooling_is_seed_001s_unbiased_std():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    pooled = frames_pool(x, "mean_std", dim=2).numpy()
    ref = np.concatenate([x.numpy().mean(axis=2), x.numpy().std(axis=2, ddof=1)], axis=-1)
    np.testing.assert_allclose(pooled, ref, rtol=1e-12)
    one = frames_pool(x[:, :, :1], "mean_std", dim=2)
    assert torch.equal(one[..., 4:], torch.zeros(2, 3, 4, dtype=torch.float64))


def test_the_unilj_head_is_2d_512_256_64_1_and_a_video_scores_the_mean_of_its_views():
    model = ViewRegressor(None, 8, pooling="mean_std", hidden=(512, 256, 64), dropout=0.1).eval()
    widths = [(m.in_features, m.out_features) for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [(16, 512), (512, 256), (256, 64), (64, 1)]
    x = torch.randn(3, 4, 5, 8)
    per_view = torch.stack([model(x[:, v:v + 1]) for v in range(4)], dim=1)
    torch.testing.assert_close(model(x), per_view.mean(dim=1))


def test_views_training_draw_depends_on_seed_epoch_and_item_only_and_test_shows_every_view_and_flip():
    draw = dict(train=True, train_views=3, flip=True, seed=5)
    assert views_choose(10, epoch=1, item=4, **draw) == views_choose(10, epoch=1, item=4, **draw)
    assert views_choose(10, epoch=1, item=4, **draw) != views_choose(10, epoch=2, item=4, **draw)
    assert len(views_choose(1, epoch=0, item=0, **draw)) == 3  # with replacement when a video has fewer
    assert views_choose(3, train=False, train_views=1, flip=True, seed=0, epoch=0, item=0) == \
        [(0, False), (1, False), (2, False), (0, True), (1, True), (2, True)]


def test_holdout_is_a_seeded_disjoint_fifth():
    ids = [f"v{i:03d}" for i in range(50)]
    fit, val = holdout_split(ids, 0.2, seed=3)
    assert len(val) == 10 and not set(fit) & set(val) and set(fit) | set(val) == set(ids)
    assert (fit, val) == holdout_split(list(reversed(ids)), 0.2, seed=3)
    assert val != holdout_split(ids, 0.2, seed=4)[1]


@pytest.mark.parametrize("name,frozen", [("opdai", True), ("hust", True), ("unilj", True), ("opdai", False), ("unilj", False)])
def test_training_lowers_the_loss_and_save_load_predicts_the_same(videos, tmp_path, name, frozen):
    mos, frames = videos
    epochs = 30 if frozen else 3  # 30 epochs of 4 steps of a head on 8 features: a second
    method = method_make(name, {**TINY, "epochs": epochs, "freeze_backbone": frozen, "lr": 1e-3, "head_lr": 3e-3})
    seen = []
    ctx = context(videos, tmp_path / "work")
    ctx.progress = lambda stage, done, total: seen.append((stage, done, total))
    report = method.fit(ctx, sorted(mos))
    losses = [h["loss"] for h in report["history"]]
    assert len(losses) == epochs and losses[-1] < losses[0]
    assert ("train", epochs, epochs) in seen
    assert 1 <= report["best_epoch"] <= epochs and report["fit_videos"] + report["val_videos"] == len(mos)
    ids = sorted(mos)
    pred = method.predict(frames, ids)
    assert pred.shape == (len(ids),) and np.isfinite(pred).all()
    if frozen:  # a few seconds of head training on features that carry the brightness: the ranking is learnt
        assert np.corrcoef(pred, [mos[v] for v in ids])[0, 1] > 0.8
        # cached features (the benchmark's path) and features computed on the spot agree
        np.testing.assert_allclose(method.predict(frames, ids, cache_root=ctx.cache_root), pred, rtol=1e-5, atol=1e-6)
    method.save(tmp_path / "saved")
    again = type(method).load(tmp_path / "saved")
    np.testing.assert_allclose(again.predict(frames, ids), pred, rtol=1e-6, atol=1e-7)


def test_a_stopped_run_resumes_to_the_same_model_as_an_uninterrupted_one(videos, tmp_path):
    mos, frames = videos
    ids = sorted(mos)
    settings = {**TINY, "freeze_backbone": False, "lr": 1e-3, "head_lr": 1e-2}
    straight = method_make("hust", {**settings, "epochs": 3})
    report = straight.fit(context(videos, tmp_path / "a"), ids)
    method_make("hust", {**settings, "epochs": 1}).fit(context(videos, tmp_path / "b"), ids)  # "stopped" after epoch 1
    resumed = method_make("hust", {**settings, "epochs": 3})
    report_resumed = resumed.fit(context(videos, tmp_path / "b"), ids)
    assert [h["loss"] for h in report_resumed["history"]] == pytest.approx([h["loss"] for h in report["history"]], rel=1e-6)
    np.testing.assert_allclose(resumed.predict(frames, ids), straight.predict(frames, ids), rtol=1e-5)
    # a different seed is a different training: the checkpoint is not continued
    other = method_make("hust", {**settings, "epochs": 1}).fit(context(videos, tmp_path / "b", seed=1), ids)
    assert len(other["history"]) == 1
