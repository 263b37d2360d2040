"""The retrieval explanation and its Table V scoring, against brute-force numpy; and end to end on a trained DA-CLIP."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.export.videostats import CATEGORY_COLUMNS
from modeling.data.export import ExportData
from modeling.explain import ExplanationIndex, explain, explanation_rmse, explanation_table, nearest, reasons_kept
from modeling.protocol import explanation_scores
from modeling.frames.extract import DONE_MARKER, FRAMES_DIR
from modeling.methods import TrainContext, method_make
from modeling.methods.daclip import grade_of
from tests.modeling.tiny_videos import crops_write


def shares(rng, n):
    return rng.uniform(0, 0.4, (n, len(CATEGORY_COLUMNS)))


def test_nearest_is_the_cosine_top_k():
    rng = np.random.default_rng(0)
    queries, index = rng.normal(size=(4, 5)), rng.normal(size=(9, 5))
    rows, similarity = nearest(queries, index, 3)
    for q in range(4):
        cos = [queries[q] @ index[i] / np.linalg.norm(queries[q]) / np.linalg.norm(index[i]) for i in range(9)]
        assert list(rows[q]) == list(np.argsort(cos)[::-1][:3])
        assert np.allclose(similarity[q], np.sort(cos)[::-1][:3])
    assert nearest(queries, index, 50)[0].shape == (4, 9)  # k capped at the index size


def test_explanation_rmse_is_the_mean_of_per_video_rmses():
    pred = np.array([[0.1, 0.2, 0.0], [0.5, 0.5, 0.5]])
    true = np.array([[0.1, 0.0, 0.3], [0.2, 0.5, 0.1]])
    by_hand = (np.sqrt((0 + 0.04 + 0.09) / 3) + np.sqrt((0.09 + 0 + 0.16) / 3)) / 2
    assert explanation_rmse(pred, true) == pytest.approx(by_hand)


def test_table_v_scores_top_k_against_random_one():
    rng = np.random.default_rng(1)
    index_text = rng.normal(size=(30, 6))
    index_categories = shares(rng, 30)
    twins = rng.integers(0, 30, 12)  # each query looks like one training video and has its categories
    visual = index_text[twins] + rng.normal(0, 0.01, (12, 6))
    true = index_categories[twins] + rng.normal(0, 0.01, (12, len(CATEGORY_COLUMNS)))
    true[3] = np.nan  # a test video without descriptions is left out
    table = explanation_table(visual, index_text, index_categories, true, CATEGORY_COLUMNS, ks=(1, 3, 13), random_draws=5)
    assert [row["strategy"] for row in table] == ["random-1", "top-1", "top-3", "top-13"]
    keep = np.arange(12) != 3
    top1 = table[1]
    assert top1["all"] == pytest.approx(explanation_rmse(index_categories[twins[keep]], true[keep]))
    place = [i for i, c in enumerate(CATEGORY_COLUMNS) if c.startswith("place_")]
    assert len(place) == 14
    assert top1["place"] == pytest.approx(explanation_rmse(index_categories[twins[keep]][:, place], true[keep][:, place]))
    # The top-13 vector is the plain mean of the 13 nearest videos' vectors.
    rows13 = np.argsort(-(visual / np.linalg.norm(visual, axis=1, keepdims=True))
                        @ (index_text / np.linalg.norm(index_text, axis=1, keepdims=True)).T, axis=1)[:, :13]
    assert table[3]["all"] == pytest.approx(explanation_rmse(index_categories[rows13[keep]].mean(1), true[keep]))
    assert top1["all"] < 0.02 < table[0]["all"] and table[0]["all_std"] > 0
    assert set(table[0]) >= {"all", "place", "artifact", "extent", "all_std", "extent_std"}


def export_with_frames(folder, rng, n=16):
    """A minimal export: videos with MOS and category shares, ratings with reasons, extracted crops."""
    ids = [f"v{i:02d}" for i in range(n)]
    mos = rng.uniform(1, 5, n)
    videos = pd.DataFrame({"video": ids, "file": [f"{v}.mp4" for v in ids], "identity_pair": "p0", "method": "m0", "mos": mos})
    for i, column in enumerate(CATEGORY_COLUMNS):
        videos[column] = rng.uniform(0, 0.3, n)
    ratings = pd.DataFrame([{"video": v, "reason": f"grade {grade_of(m)} {word}"} for v, m in zip(ids, mos) for word in ("blur", "seam")])
    ratings.to_csv(folder / "ratings.csv", index=False)
    for v, m in zip(ids, mos):
        crops_write(folder / FRAMES_DIR / v, [40 * m] * 2, rng)
        (folder / FRAMES_DIR / v / DONE_MARKER).write_text(json.dumps({}))
    return ExportData(folder=folder, videos=videos.set_index("video", drop=False), manifest={}), ids


def test_explanation_of_a_trained_daclip(tmp_path, daclip_tiny):
    export, ids = export_with_frames(tmp_path, np.random.default_rng(4))
    ctx = TrainContext(frames=export.frame_paths, mos=dict(zip(ids, export.mos(ids))),
                       reasons={v: export.reasons[v] for v in ids[:12]}, work=tmp_path / "work",
                       categories=dict(zip(ids[:12], export.categories(ids[:12]))), category_columns=export.category_columns)
    method = method_make("daclip", {**daclip_tiny, "epochs": 2})
    method.fit(ctx, ids[:12])
    index = ExplanationIndex.of(method)
    assert index.ids == ids[:12] and index.categories.shape == (12, 37)
    visual = method.embed(export.frame_paths, ids[12:])
    explanations = explain(index, visual, k=3)
    rows, _ = nearest(visual, index.text, 3)
    for explanation, its_rows in zip(explanations, rows):
        assert explanation.neighbours == [ids[r] for r in its_rows]
        assert explanation.reasons == [reason for r in its_rows for reason in reasons_kept(export.reasons[ids[r]])]
        assert np.allclose(list(explanation.categories.values()), export.categories([ids[r] for r in its_rows]).mean(0))
        assert list(explanation.categories) == list(CATEGORY_COLUMNS)
    # What the model serves is what the index holds, and a saved model explains alike without the export.
    served = method.explain(export.frame_paths, ids[12:], k=3)
    assert [[n["video"] for n in item["neighbours"]] for item in served] == [e.neighbours for e in explanations]
    method.save(tmp_path / "saved")
    reloaded = type(method).load(tmp_path / "saved")
    assert reloaded.explain(export.frame_paths, ids[12:], k=3) == served
    scores = explanation_scores(method, export, export.frame_paths, ids[:12], ids[12:], ks=(1, 3))
    assert list(scores) == ["random-1", "1", "3"]
    assert scores["1"] == pytest.approx(explanation_rmse(export.categories([ids[r] for r in rows[:, 0]]), export.categories(ids[12:])))


def test_a_served_daclip_answers_with_named_categories_and_reasons(daclip_tiny, tmp_path):
    """The predict command's JSON from a DA-CLIP explanation: neighbours with their reasons and the 37 shares by name."""
    from modeling.serving import explanation_json

    export, ids = export_with_frames(tmp_path, np.random.default_rng(5))
    ctx = TrainContext(frames=export.frame_paths, mos=dict(zip(ids, export.mos(ids))),
                       reasons={v: export.reasons[v] for v in ids[:12]}, work=tmp_path / "work",
                       categories=dict(zip(ids[:12], export.categories(ids[:12]))), category_columns=export.category_columns)
    method = method_make("daclip", {**daclip_tiny, "epochs": 2})
    method.fit(ctx, ids[:12])
    item = method.explain(export.frame_paths, ids[12:13], k=3)[0]
    answer = explanation_json(item, 3)
    assert [n["video"] for n in answer["neighbours"]] == [n["video"] for n in item["neighbours"]]
    assert list(answer["categories"]) == list(CATEGORY_COLUMNS)
    assert np.allclose(list(answer["categories"].values()), export.categories([n["video"] for n in item["neighbours"]]).mean(0))
