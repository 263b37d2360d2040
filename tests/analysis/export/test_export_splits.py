"""The export's splits/<k>/ files: exactly the protocol, every video of the chosen pairs and methods, seeds recorded."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.export import manifest, splits
from annotation.errors import ApplicationError
from annotation.models import Video

from ..factories import rated_campaign
from .conftest import build, rate_checkers


def _read_set(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"identity_pair": str, "method": str})


@pytest.mark.django_db
def test_all_ten_splits_follow_the_protocol_and_are_reproducible():
    campaign = rated_campaign(slug="spl", n_videos=48, n_annotators=4, disqualified_every=0)
    Video.objects.create(campaign=campaign, role=Video.Role.CHECKER, gold_score=5, content_hash="spl-real".ljust(64, "r"),
                         source_name="real.mp4", file="videos/r.mp4", poster="posters/r.jpg", identity_pair="pair2", is_real=True)
    rate_checkers(campaign)
    job, folder = build(campaign, seed=100)
    videos = pd.read_parquet(folder / "videos.parquet")
    within = videos[(videos["identity_pair"] != "") & (videos["method"] != "")]
    assert len(within) == 49 and len(videos) == 50  # the gold-1 checker has no pair: outside every split
    listed = manifest.manifest_read(folder)
    assert listed["counts"]["videos_in_splits"] == 49 and listed["counts"]["videos_outside_splits"] == 1
    n_pairs, n_methods = within["identity_pair"].nunique(), within["method"].nunique()
    assert (n_pairs, n_methods) == (4, 7)  # fs m0..m5 and the real checker's "real"
    for k in range(10):
        record = json.loads((folder / "splits" / str(k) / "split.json").read_text())
        assert record["seed"] == 100 + k == listed["splits"]["splits"][k]["seed"]
        # round(0.7 x 4) = 3 pairs and round(27/38 x 7) = 5 methods train.
        assert (len(record["train_pairs"]), len(record["train_methods"])) == (3, 5)
        sets = {name: _read_set(folder / "splits" / str(k) / f"{name}.csv") for name in splits.SETS}
        assert {name: len(s) for name, s in sets.items()} == record["videos"]
        pairs = {name: set(s["identity_pair"]) for name, s in sets.items()}
        methods = {name: set(s["method"]) for name, s in sets.items()}
        train_pairs, train_methods = set(record["train_pairs"]), set(record["train_methods"])
        assert pairs["train"] <= train_pairs and pairs["test2"] <= train_pairs
        assert not (pairs["test1"] | pairs["test3"]) & train_pairs
        assert methods["train"] <= train_methods and methods["test1"] <= train_methods
        assert not (methods["test2"] | methods["test3"]) & train_methods
        everything = pd.concat(sets.values())
        assert everything["video"].is_unique and set(everything["video"]) == set(within["video"])
        # Each set holds every video of its pairs x methods.
        for name, (pair_side, method_side) in {"train": (1, 1), "test1": (0, 1), "test2": (1, 0), "test3": (0, 0)}.items():
            pair_in = within["identity_pair"].isin(train_pairs) == bool(pair_side)
            method_in = within["method"].isin(train_methods) == bool(method_side)
            assert set(within.loc[pair_in & method_in, "video"]) == set(sets[name]["video"]), (k, name)
        merged = sets["train"].merge(videos, on="video", suffixes=("", "_v"))
        assert (merged["mos"] == merged["mos_v"]).all()

    _, again = build(campaign, seed=100)
    _, other = build(campaign, seed=101)
    same = [(folder / "splits" / "3" / f"{n}.csv").read_bytes() == (again / "splits" / "3" / f"{n}.csv").read_bytes() for n in splits.SETS]
    assert all(same)
    # seed 101's split 0 is seed 100's split 1.
    assert (other / "splits" / "0" / "train.csv").read_bytes() == (folder / "splits" / "1" / "train.csv").read_bytes()


@pytest.mark.django_db
def test_splits_a_campaign_cannot_give_are_refused_before_the_job():
    campaign = rated_campaign(slug="one", n_videos=6, n_annotators=3, disqualified_every=0)
    Video.objects.filter(campaign=campaign).update(identity_pair="only")
    with pytest.raises(ApplicationError) as refused:
        build(campaign)
    assert refused.value.code == "bad_splits" and "1 identity pairs" in refused.value.message
    job, _ = build(campaign, splits=0)  # without splits the pairs do not matter
    assert job.status == "completed"
    Video.objects.filter(campaign=campaign, method="m1").update(identity_pair="other")
    with pytest.raises(ApplicationError) as too_many:
        build(campaign, train_pairs=2)
    assert too_many.value.code == "bad_splits" and "holds none out" in too_many.value.message
    assert build(campaign, train_pairs=1)[0].status == "completed"
