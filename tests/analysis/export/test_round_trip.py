"""An export read back with pandas and pyarrow agrees with the database: MOS, SOS, n, CI, counts, categories, sureal."""
from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from scipy import stats

from analysis.export import manifest
from analysis.export.files import sha256_of
from analysis.export.sureal import NO_PAIR
from analysis.export.videostats import CATEGORY_COLUMNS
from analysis.stats import reasons
from annotation.models import Campaign, Rating, Video
from annotation.pseudonyms import annotator_name, video_name
from jobs.models import Job

from ..factories import rated_campaign
from .conftest import HOSTILE, all_text, build, hostile_reasons, rate_checkers, sample_std


@pytest.fixture
def campaign() -> Campaign:
    campaign = rated_campaign(slug="exp", n_videos=24, n_annotators=12, disqualified_every=3)
    Video.objects.create(campaign=campaign, role=Video.Role.CHECKER, gold_score=5, content_hash="exp-real-checker".ljust(64, "r"),
                         source_name="real_checker_source.mp4", file="videos/r.mp4", poster="posters/r.jpg",
                         identity_pair="pair1", is_real=True)
    rate_checkers(campaign)
    return campaign


def _database_scores(campaign: Campaign, *, qualified_only: bool) -> pd.DataFrame:
    """The included ratings straight from the ORM, keyed by the pseudonymous video name."""
    rows = Rating.objects.filter(video__campaign=campaign, video__role__in=["regular", "checker"])
    if qualified_only:
        rows = rows.filter(attempt__outcome="qualified")
    frame = pd.DataFrame(list(rows.values_list("video_id", "score")), columns=["video_id", "score"])
    frame["video"] = [video_name(campaign.pk, v) for v in frame["video_id"]]
    return frame


@pytest.mark.django_db
def test_round_trip_with_pandas_and_pyarrow_equals_the_database(campaign):
    hostile = hostile_reasons(campaign)
    job, folder = build(campaign)
    assert job.status == Job.Status.COMPLETED, job.error
    assert job.code_version.startswith("export-") and job.subject == f"campaign:{campaign.pk}"

    # Both formats, both libraries: the same tables.
    videos = pd.read_csv(folder / "videos.csv")
    for text in ("identity_pair", "method"):
        videos[text] = videos[text].fillna("")  # an empty CSV cell reads as missing
    videos_arrow = pacsv.read_csv(folder / "videos.csv").to_pandas()
    videos_parquet = pq.read_table(folder / "videos.parquet").to_pandas()
    pd.testing.assert_frame_equal(videos, videos_parquet, check_dtype=False)
    pd.testing.assert_frame_equal(videos_arrow[["video", "mos", "n"]], videos[["video", "mos", "n"]], check_dtype=False)
    ratings = pd.read_parquet(folder / "ratings.parquet")
    ratings_csv = pd.read_csv(folder / "ratings.csv", keep_default_na=False)
    # Typed texts may hold line breaks (quoted, as CSV allows): pyarrow reads them when told to.
    ratings_arrow = pacsv.read_csv(folder / "ratings.csv", parse_options=pacsv.ParseOptions(newlines_in_values=True)).to_pandas()
    assert len(ratings) == len(ratings_csv) == len(ratings_arrow)
    assert (ratings_csv["score"].to_numpy() == ratings["score"].to_numpy()).all()

    # Counts, MOS, SOS and n against the ORM: qualified ratings of regular and checker videos.
    database = _database_scores(campaign, qualified_only=True)
    assert len(ratings) == len(database)
    by_video = videos.set_index("video")
    expected = database.groupby("video")["score"].agg(["mean", "count", sample_std])
    assert set(by_video.index) == set(expected.index)
    for name, row in expected.iterrows():
        assert by_video.loc[name, "mos"] == pytest.approx(row["mean"], abs=1e-12)
        assert by_video.loc[name, "n"] == row["count"]
        assert by_video.loc[name, "sos"] == pytest.approx(row["sample_std"], abs=1e-12, nan_ok=True)
        scores = database.loc[database["video"] == name, "score"].to_numpy(dtype=float)
        if scores.std() == 0:  # every grade alike (a checker): the interval has no width (scipy says NaN)
            assert by_video.loc[name, "ci_low"] == by_video.loc[name, "ci_high"] == scores[0]
            continue
        low, high = stats.t.interval(0.95, scores.size - 1, loc=scores.mean(), scale=stats.sem(scores))
        assert (by_video.loc[name, "ci_low"], by_video.loc[name, "ci_high"]) == (pytest.approx(low), pytest.approx(high))
    # ... and recomputed from the exported ratings themselves.
    again = ratings.groupby("video")["score"].agg(["mean", "count"])
    assert np.allclose(again.loc[by_video.index, "mean"], by_video["mos"]) and (again.loc[by_video.index, "count"] == by_video["n"]).all()

    # Checkers are in: the hidden real one and the very poor one, with their qualified ratings.
    checkers = videos[videos["role"] == "checker"]
    assert len(checkers) == 2 and set(checkers["gold_score"]) == {1.0, 5.0}
    assert set(checkers["mos"]) == {1.0, 5.0}  # qualified attempts rated them at gold
    assert checkers.loc[checkers["gold_score"] == 5, "method"].item() == "real"  # real videos count as methods of their own

    # The category vector: shares of each video's stored reasons, as the analysis computes them on the whole frame.
    reference = reasons.category_vectors(ratings[["video", "reason"]])
    assert list(videos.columns[-37:]) == list(CATEGORY_COLUMNS)
    assert np.allclose(by_video.loc[reference.index, list(CATEGORY_COLUMNS)].to_numpy(), reference.to_numpy())
    assert np.allclose(videos[[c for c in CATEGORY_COLUMNS if c.startswith("extent_")]].sum(axis=1), 1.0)  # one extent each

    # Pseudonymous annotators with their answers; hostile texts neutralised in CSV only.
    annotators = {annotator_name(campaign.pk, a.pk): a for a in campaign.annotators.all()}
    assert set(ratings["annotator"]) <= set(annotators)
    first = ratings.iloc[0]
    assert first["age_group"] == annotators[first["annotator"]].age_group
    stored = Rating.objects.filter(pk__in=hostile).values_list("reason", flat=True)
    assert set(stored) == set(HOSTILE)
    for text in HOSTILE:
        assert (ratings["reason"] == text).sum() == 1 and (ratings["typed_reason"] == text).sum() == 1
        assert (ratings_csv["reason"] == "'" + text).sum() == 1
        assert not ratings_csv["reason"].str.startswith(text).any()
    for row in pd.read_csv(folder / "ratings.csv", dtype=str, keep_default_na=False).itertuples(index=False):
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in row)

    # No database id or source file name anywhere in the export.
    for path, content in all_text(folder):
        for source in Video.objects.filter(campaign=campaign).values_list("source_name", flat=True):
            assert source.encode() not in content, (path, source)

    # The manifest: every file with its SHA-256, the counts, the rule, the inclusion.
    listed = manifest.manifest_read(folder)
    assert set(listed["files"]) == set(manifest.export_files(folder)) and "manifest.json" not in listed["files"]
    for path, entry in listed["files"].items():
        assert entry["sha256"] == sha256_of(folder / path) and entry["bytes"] == (folder / path).stat().st_size
    assert manifest.manifest_mismatches(folder) == []
    assert listed["counts"]["ratings"] == len(database) and listed["counts"]["videos"] == len(videos)
    assert listed["counts"]["videos_by_role"] == {"checker": 2, "regular": 24}
    assert listed["included_ratings"]["include"] == "qualified" and listed["qc_rule"]["checker_tolerance"] == 1
    assert listed["code_version"] == job.code_version and listed["analysis_run"] is None
    assert not (folder / manifest.WORK).exists()
    (folder / "videos.csv").write_text("tampered")
    assert manifest.manifest_mismatches(folder) == ["changed: videos.csv"]


@pytest.mark.django_db
def test_sureal_reads_the_sureal_file_and_its_mos_equals_the_export(campaign):
    from sureal.dataset_reader import RawDatasetReader
    from sureal.subjective_model import MosModel
    from sureal.tools.misc import import_json_file

    job, folder = build(campaign, splits=0)
    dataset = import_json_file(str(folder / "sureal" / "dataset.json"))
    reader = RawDatasetReader(dataset)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = MosModel(reader).run_modeling()
    videos = pd.read_parquet(folder / "videos.parquet")
    assert [v["path"] for v in dataset.dis_videos] == videos["file"].tolist()
    assert np.allclose(result["quality_scores"], videos["mos"].to_numpy(), atol=1e-12)
    assert reader.num_observers == campaign.annotators.count()
    # The contents are the identity pairs (the checker without one has a content of its own).
    names = {r["content_id"]: r["content_name"] for r in dataset.ref_videos}
    assert [names[v["content_id"]] for v in dataset.dis_videos] == videos["identity_pair"].replace("", NO_PAIR).tolist()
    assert not list((folder / "splits").glob("*")) and manifest.manifest_read(folder)["splits"]["splits"] == []


@pytest.mark.django_db
def test_every_attempt_on_request_and_qualified_only_by_default(campaign):
    _, qualified = build(campaign, splits=0)
    job, every = build(campaign, splits=0, include="all")
    assert job.version == 2
    q = pd.read_parquet(qualified / "ratings.parquet")
    a = pd.read_parquet(every / "ratings.parquet")
    database_all = _database_scores(campaign, qualified_only=False)
    assert len(a) == len(database_all) > len(q) == len(_database_scores(campaign, qualified_only=True))
    assert set(q["outcome"]) == {"qualified"} and set(a["outcome"]) == {"qualified", "disqualified"}
    assert (a["qualified"] == (a["outcome"] == "qualified")).all()
    assert (a.groupby(["annotator", "video"]).size() == 2).any()  # re-annotated sessions: two attempts
    videos = pd.read_parquet(every / "videos.parquet").set_index("video")
    expected = database_all.groupby("video")["score"].mean()
    assert np.allclose(videos.loc[expected.index, "mos"], expected)
    assert json.loads((every / "manifest.json").read_text())["included_ratings"]["include"] == "all"
    # sureal keeps an annotator's two grades of a video as repetitions.
    dataset = json.loads((every / "sureal" / "dataset.json").read_text())
    assert any(isinstance(grade, list) and len(grade) == 2 for v in dataset["dis_videos"] for grade in v["os"].values())


@pytest.mark.django_db
def test_exclusions_leave_annotators_out_and_nothing_to_export_fails_cleanly():
    from analysis import services as analysis_services
    from annotation.errors import ApplicationError

    campaign = rated_campaign(slug="excl", n_videos=6, n_annotators=5, disqualified_every=0)
    analysis_services.exclusion_add(campaign=campaign, annotator=campaign.annotators.first())
    _, folder = build(campaign, splits=0)
    ratings = pd.read_parquet(folder / "ratings.parquet")
    assert ratings["annotator"].nunique() == 4
    assert manifest.manifest_read(folder)["included_ratings"]["excluded_annotators"] == 1

    empty = Campaign.objects.create(slug="none", title="Nothing rated")
    with pytest.raises(ApplicationError) as failed:
        build(empty, splits=0)
    assert failed.value.code == "no_ratings"
    job = Job.objects.get(kind="export", subject=f"campaign:{empty.pk}")
    assert job.status == Job.Status.FAILED and job.stage == "ratings" and "no qualified ratings" in job.error


@pytest.mark.django_db
def test_csv_only_and_a_manifest_stage_run_twice_gives_the_same_manifest(campaign):
    from analysis.export.parameters import ExportParameters
    from analysis.export.stages import stage_manifest
    from jobs.artifacts import ArtifactStore
    from jobs.services import StageContext

    job, folder = build(campaign, formats=["csv"], splits=2)
    assert not list(folder.rglob("*.parquet"))
    listed = manifest.manifest_read(folder)
    assert {"videos.csv", "ratings.csv", "splits/1/test3.csv", "sureal/dataset.json"} <= set(listed["files"])
    assert listed["counts"]["videos_by_role"] == {"checker": 2, "regular": 24} and len(listed["splits"]["splits"]) == 2
    before = (folder / "manifest.json").read_bytes()
    # A worker killed after the manifest was written runs the stage again, the scratch folder already gone.
    stage_manifest(StageContext(job=Job.objects.get(pk=job.pk), params=ExportParameters.from_dict(job.parameters),
                                artifacts=ArtifactStore.for_job(job)))
    assert (folder / "manifest.json").read_bytes() == before
