"""DA-CLIP: the network's pooling, training on frozen features, resumable checkpoints, the method's
fit / save / load / predict, DA-CLIP-T and the controls. Tiny sizes: every test runs in seconds on a CPU."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from annotation.errors import ApplicationError
from modeling.archs.daclip import DAClip, DAClipBatch, daclip_loss, segment_mean_std
from modeling.methods import METHODS, TrainContext, config_load, method_make
from modeling.methods.base import validation_split
from modeling.methods.daclip import (
    GRADE_TEXTS, Checkpoint, DAClipConfig, FeatureVideos, TextTargets, daclip_train, grade_of, training_texts,
)
from tests.modeling.tiny_videos import crops_write

FEATURE_DIM, TEXT_DIM = 16, 8


def synthetic(n: int = 60, seed: int = 0):
    """Videos whose frame features and reason embeddings both carry u (MOS = 1 + 4u), through noise.

    Returns (features per video: F x FEATURE_DIM with F from 2 to 6, MOS, reason embeddings per video)."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 1, n)
    visual_dir, text_dir = rng.standard_normal(FEATURE_DIM), rng.standard_normal(TEXT_DIM)
    features, reasons = [], []
    for i in range(n):
        f = int(rng.integers(2, 7))
        features.append((np.outer(u[i] + rng.normal(0, 0.05, f), visual_dir) + rng.normal(0, 0.4, (f, FEATURE_DIM))).astype(np.float32))
        m = int(rng.integers(1, 5))
        reasons.append((np.outer(2 * u[i] - 1 + rng.normal(0, 0.2, m), text_dir) + rng.normal(0, 0.3, (m, TEXT_DIM))).astype(np.float32))
    return features, 1 + 4 * u, reasons


def settings(**change) -> DAClipConfig:
    return DAClipConfig(**{"epochs": 30, "batch_size": 8, "lr": 1e-2, "val_fraction": 0.2, **change})


# --- the network ---------------------------------------------------------------------------------

def test_visual_pooling_is_the_sum_of_the_frames_mean_and_population_std():
    x = torch.tensor(np.random.default_rng(0).normal(size=(6, 3)), dtype=torch.float64)
    lengths = torch.tensor([1, 3, 2])
    mean, std = segment_mean_std(x, lengths)
    parts = np.split(x.numpy(), [1, 4])
    assert np.allclose(mean.numpy(), [p.mean(0) for p in parts])
    assert np.allclose(std.numpy(), [p.std(0) for p in parts], atol=1e-6)  # ddof 0; the one-frame video's std is 0
    model = DAClip(3, 2).double()
    embeddings = model.project(x).detach().numpy()
    e_parts = np.split(embeddings, [1, 4])
    expected = np.array([p.mean(0) + p.std(0) for p in e_parts])
    assert np.allclose(model.visual(x, lengths).detach().numpy(), expected, atol=1e-6)


def test_a_one_frame_video_keeps_the_gradients_finite():
    model = DAClip(4, 3)
    batch = DAClipBatch(frames=torch.randn(3, 4), lengths=torch.tensor([1, 1, 1]), mos=torch.tensor([1.0, 3.0, 5.0]),
                        text=torch.randn(3, 3), text_mask=torch.tensor([True, True, False]))
    daclip_loss(model, batch, alignment_weight=0.05).total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_loss_is_visual_plus_text_plus_weighted_alignment():
    torch.manual_seed(0)
    model = DAClip(4, 3)
    batch = DAClipBatch(frames=torch.randn(7, 4), lengths=torch.tensor([2, 3, 2]), mos=torch.tensor([1.0, 3.0, 4.5]),
                        text=torch.randn(3, 3), text_mask=torch.tensor([True, True, True]))
    with_align = daclip_loss(model, batch, alignment_weight=0.05)
    without = daclip_loss(model, batch, alignment_weight=0.0)
    assert with_align.total.item() == pytest.approx(with_align.visual + with_align.text + 0.05 * with_align.alignment, rel=1e-6)
    assert without.total.item() == pytest.approx(without.visual + without.text, rel=1e-6) and without.alignment == 0.0
    # The cosine alignment is 1 - the mean cosine of each video's two embeddings.
    visual = model.visual(batch.frames, batch.lengths)
    cos = torch.nn.functional.cosine_similarity(visual, batch.text).detach().numpy()
    assert with_align.alignment == pytest.approx(1 - cos.mean(), rel=1e-5)


# --- training on frozen features -----------------------------------------------------------------

def data_of(features, reasons):
    return FeatureVideos(features), TextTargets.from_embeddings(reasons, TEXT_DIM)


def test_a_few_training_steps_lower_the_loss():
    features, mos, reasons = synthetic(40)
    data, text = data_of(features, reasons)
    torch.manual_seed(0)
    model = DAClip(FEATURE_DIM, TEXT_DIM)
    rows = list(range(40))

    def loss_now() -> float:
        from modeling.methods.daclip import batch_make, frames_pack
        frames, lengths, r = frames_pack([data[i] for i in rows])
        with torch.no_grad():
            return daclip_loss(model, batch_make(frames, lengths, r, torch.tensor(mos, dtype=torch.float32), text, False),
                               alignment_weight=0.05).total.item()

    before = loss_now()
    daclip_train(model, data, data, mos, text, settings=settings(epochs=3), train_rows=rows, val_rows=[])
    assert loss_now() < 0.7 * before


def test_frozen_feature_daclip_learns_a_target_its_features_carry():
    features, mos, reasons = synthetic(80, seed=1)
    data, text = data_of(features, reasons)
    fit_rows, test_rows = list(range(60)), list(range(60, 80))
    train_rows, val_rows = [fit_rows[i] for i in validation_split(60, 0.2, 0)[0]], [fit_rows[i] for i in validation_split(60, 0.2, 0)[1]]
    torch.manual_seed(0)
    model = DAClip(FEATURE_DIM, TEXT_DIM)
    result = daclip_train(model, data, data, mos, text, settings=settings(epochs=40), train_rows=train_rows, val_rows=val_rows)
    from modeling.methods.daclip import visual_outputs
    _, scores = visual_outputs(model, data, test_rows, batch_size=16, device="cpu")
    assert stats.spearmanr(scores, mos[test_rows]).statistic > 0.8
    assert 1 <= result.best_epoch <= 40 and len(result.history) == 40
    # The text branch learned the same scale: the shared regressor scores the held-out reasons too.
    with torch.no_grad():
        text_scores = model.score(text.mean[test_rows]).numpy()
    assert stats.spearmanr(text_scores, mos[test_rows]).statistic > 0.8


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    features, mos, reasons = synthetic(30, seed=2)
    data, text = data_of(features, reasons)
    train_rows, val_rows = validation_split(30, 0.2, 0)

    def run(epochs, folder):
        torch.manual_seed(0)
        model = DAClip(FEATURE_DIM, TEXT_DIM, alignment="sigmoid")  # the sigmoid's temperature and bias are state too
        result = daclip_train(model, data, data, mos, text, settings=settings(epochs=epochs, alignment="sigmoid"),
                              train_rows=train_rows, val_rows=val_rows, checkpoint=Checkpoint(folder, "run-a"))
        return model, result

    straight, straight_result = run(4, tmp_path / "straight")
    run(2, tmp_path / "interrupted")
    resumed, resumed_result = run(4, tmp_path / "interrupted")
    assert resumed_result.resumed_from == 2 and straight_result.resumed_from == 0
    assert resumed_result.history == straight_result.history
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    # Only the last epoch's file is kept; another run's fingerprint does not resume from it.
    assert [p.name for p in (tmp_path / "interrupted").glob("*.safetensors")] == ["checkpoint-4.safetensors"]
    assert Checkpoint(tmp_path / "interrupted", "run-b").read() is None


# --- texts and configurations --------------------------------------------------------------------

def test_grade_texts_are_the_platforms_grade_names():
    from annotation.models import GRADES

    assert GRADE_TEXTS == {grade: name for grade, (name, _) in GRADES.items()}
    assert [grade_of(m) for m in (1.0, 1.49, 1.5, 2.5, 3.2, 4.5, 5.0)] == [1, 1, 2, 3, 3, 5, 5]


def test_shuffled_reasons_give_every_video_another_videos_reasons():
    ids = [f"v{i}" for i in range(9)]
    reasons = {v: [f"{v} reason a", f"{v} reason b"] for v in ids}
    mos = {v: 1.0 + i / 2 for i, v in enumerate(ids)}
    own = training_texts("reasons", ids, reasons, mos, seed=0)
    shuffled = training_texts("shuffled", ids, reasons, mos, seed=0)
    assert own == reasons
    assert sorted(map(tuple, shuffled.values())) == sorted(map(tuple, reasons.values()))  # a permutation of the lists
    assert all(shuffled[v] != reasons[v] for v in ids)  # no video keeps its own
    assert shuffled == training_texts("shuffled", ids, reasons, mos, seed=0)
    assert shuffled != training_texts("shuffled", ids, reasons, mos, seed=1)
    grade = training_texts("grade", ids, reasons, mos, seed=0)
    assert grade["v0"] == ["Very low sense of realism"] and grade["v8"] == ["High sense of realism"]


def test_controls_differ_from_daclip_only_in_what_they_control():
    base = config_load("daclip")
    expected = {
        "daclip_text": {"predict_from": "test_reasons"},
        "daclip_shuffled": {"texts": "shuffled"},
        "daclip_grade_texts": {"texts": "grade"},
        "daclip_no_align": {"alignment_weight": 0.0},
        "daclip_siglip": {"alignment": "sigmoid", "sigmoid_scale": 10.0, "sigmoid_bias": -10.0, "sigmoid_learnable": True},
    }
    for name, change in expected.items():
        config = config_load(name)
        differing = {k: config[k] for k in set(config) | set(base) if config.get(k) != base.get(k) and k != "description"}
        assert differing == change, name
        assert isinstance(method_make(name), METHODS["daclip"])
    default = DAClipConfig.from_mapping(base)
    assert (default.backbone, default.frozen, default.policy, default.text_encoder) == ("tf_efficientnet_lite2", True, "all", "minilm")
    assert (default.lr, default.epochs, default.alignment_weight, default.val_fraction) == (1e-3, 30, 0.05, 0.2)  # 1e-3 for the frozen backbone (daclip.json says why)
    with pytest.raises(ApplicationError) as refused:
        method_make("daclip", {"alignmnet_weight": 0.1})
    assert refused.value.code == "bad_config" and "alignmnet_weight" in refused.value.message
    for wrong in ({"frozen": "yes"}, {"epochs": 2.5}, {"texts": "captions"}, {"batch_size": 1}):
        with pytest.raises(ApplicationError, match="DA-CLIP"):
            method_make("daclip", wrong)
    assert method_make("daclip", {"lr": 1}).settings.lr == 1  # an int where a float is expected is fine


# --- the method, end to end: real backbone, text tower, feature and text caches, all tiny ------------

@pytest.fixture
def study(tmp_path, daclip_tiny):
    """16 videos of 3 crops (32 px) whose brightness follows the MOS, with two reasons each that name the
    grade; and the tiny DA-CLIP settings (conftest's daclip_tiny)."""
    rng = np.random.default_rng(3)
    ids = [f"v{i:02d}" for i in range(16)]
    mos = {v: float(m) for v, m in zip(ids, rng.uniform(1, 5, len(ids)))}
    paths = {v: crops_write(tmp_path / "frames" / v, 40 * mos[v] + rng.normal(0, 5, 3), rng) for v in ids}
    reasons = {v: [f"grade {grade_of(mos[v])} face", f"looks like {grade_of(mos[v])}"] for v in ids}
    ctx = TrainContext(frames=lambda v: paths[v], mos=mos, reasons=reasons, work=tmp_path / "work", seed=0)
    return ctx, ids, daclip_tiny


def test_fit_save_load_predict_reproduces_the_scores(study, tmp_path):
    ctx, ids, tiny = study
    method = method_make("daclip", tiny)
    summary = method.fit(ctx, ids[:12])
    assert summary["videos"] == 12 and summary["val_videos"] == 2 and len(summary["history"]) == 3
    scores = method.predict(ctx.frames, ids[12:])
    text_scores = method.predict_text([ctx.reasons[v] for v in ids[12:]] + [[]])
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert np.isfinite(text_scores[:4]).all() and np.isnan(text_scores[4])  # no reasons: no text score
    method.save(tmp_path / "model")
    record = json.loads((tmp_path / "model" / "method.json").read_text())
    assert record["config"]["config"] == "daclip" and record["index_ids"] == ids[:12]
    loaded = type(method).load(tmp_path / "model")
    assert np.array_equal(loaded.predict(ctx.frames, ids[12:]), scores)
    assert np.array_equal(loaded.predict_text([ctx.reasons[v] for v in ids[12:]] + [[]]), text_scores, equal_nan=True)
    assert np.array_equal(loaded.index_text, method.index_text)
    assert np.array_equal(loaded.embed(ctx.frames, ids[12:]), method.embed(ctx.frames, ids[12:]))


def test_a_rerun_continues_from_the_checkpoint(study):
    ctx, ids, tiny = study
    first = method_make("daclip", tiny).fit(ctx, ids[:12])
    again = method_make("daclip", tiny).fit(ctx, ids[:12])
    assert again["resumed_from_epoch"] == 3 and again["history"] == first["history"]
    longer = method_make("daclip", {**tiny, "epochs": 5}).fit(ctx, ids[:12])
    assert longer["resumed_from_epoch"] == 3 and longer["history"][:3] == first["history"] and len(longer["history"]) == 5
    # Other training texts, or other crops, are another run: it starts from epoch 0.
    assert method_make("daclip_shuffled", tiny).fit(ctx, ids[:12])["resumed_from_epoch"] == 0
    with open(ctx.frames(ids[0])[0], "ab") as crop:
        crop.write(b"\0")  # a re-extracted crop (PNG ignores trailing bytes)
    assert method_make("daclip", {**tiny, "epochs": 5}).fit(ctx, ids[:12])["resumed_from_epoch"] == 0


def test_daclip_text_reads_only_the_reasons_it_is_given(study):
    ctx, ids, tiny = study
    method = method_make("daclip_text", tiny)
    assert method.reads_test_reasons and not method_make("daclip").reads_test_reasons
    method.fit(ctx, ids[:12])
    with pytest.raises(ApplicationError) as refused:
        method.predict(ctx.frames, ids[12:])
    assert refused.value.code == "needs_test_reasons"
    scores = method.predict_text([ctx.reasons[v] for v in ids[12:]])
    assert scores.shape == (4,) and np.isfinite(scores).all()


def test_fine_tuned_backbone_trains_inside_the_network_and_reloads(study, tmp_path):
    ctx, ids, tiny = study
    method = method_make("daclip", {**tiny, "frozen": False, "epochs": 2})
    from modeling.archs.backbones import backbone_build

    initial = backbone_build(tiny["backbone"], weights=tiny["weights"])[0].state_dict()
    method.fit(ctx, ids[:12])
    tuned = method.model.backbone.state_dict()
    assert any(not torch.equal(initial[k], tuned[k]) for k in initial if k.endswith("weight"))
    scores = method.predict(ctx.frames, ids[12:])
    method.save(tmp_path / "tuned")
    assert np.array_equal(type(method).load(tmp_path / "tuned").predict(ctx.frames, ids[12:]), scores)


def test_siglip_control_learns_its_temperature(study):
    ctx, ids, tiny = study
    method = method_make("daclip_siglip", {**tiny, "lr": 1e-2})
    summary = method.fit(ctx, ids[:12])
    assert all(row["alignment"] > 0 for row in summary["history"])
    assert method.model.sigmoid.log_scale.item() != pytest.approx(np.log(10.0), abs=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_training_and_prediction_run_on_cuda(study):
    ctx, ids, tiny = study
    for k, change in enumerate(({}, {"alignment": "sigmoid"}, {"frozen": False})):
        gpu_ctx = TrainContext(frames=ctx.frames, mos=ctx.mos, reasons=ctx.reasons, work=ctx.work / f"cuda{k}", device="cuda")
        method = method_make("daclip", {**tiny, **change})
        method.fit(gpu_ctx, ids[:12])
        on_gpu = method.predict(ctx.frames, ids[12:], device="cuda")
        assert np.allclose(on_gpu, method.predict(ctx.frames, ids[12:]), atol=1e-4)
