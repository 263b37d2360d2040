"""`manage.py export_dataset`: the whole export into a new folder, never over files; MP4s under pseudonymous names only."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analysis.export import manifest
from analysis.export.files import sha256_of
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video
from annotation.pseudonyms import video_name
from jobs.models import Job

from ..factories import rated_campaign
from .conftest import all_text


def rate_everything(campaign: Campaign, *, annotators: int = 3, seed: int = 0) -> None:
    """A few annotators each rate every regular and checker video once in a qualified attempt."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    videos = list(Video.objects.filter(campaign=campaign, role__in=["regular", "checker"]))
    for a in range(annotators):
        person = Annotator.objects.create(campaign=campaign, source=Annotator.Source.LAB, external_id=f"lab-{a}", consented_at=now,
                                          demographics_at=now, age_group="20-29", gender="female", education="master", prior_knowledge="none")
        session = AnnotationSession.objects.create(campaign=campaign, annotator=person, status=AnnotationSession.Status.QUALIFIED,
                                                   last_activity_at=now, finished_at=now)
        attempt = Attempt.objects.create(session=session, number=1, video_order=[v.pk for v in videos],
                                         outcome=Attempt.Outcome.QUALIFIED, lecture_completed_at=now, finished_at=now)
        Rating.objects.bulk_create(
            Rating(attempt=attempt, video=v, position=i + 1, score=int(v.gold_score or rng.integers(1, 6)),
                   reason=f"clip looks odd near the mouth {i}", typed_reason="clip looks odd", served_at=now,
                   seconds_spent=6.0, played_to_end=True, plays=1)
            for i, v in enumerate(videos)
        )


@pytest.mark.django_db
def test_command_writes_the_export_into_a_new_folder_and_refuses_one_with_files(tmp_path, capsys):
    campaign = rated_campaign(slug="cmd", n_videos=12, n_annotators=6)
    out = tmp_path / "exports" / "cmd-v1"
    call_command("export_dataset", "cmd", "--out", str(out), "--splits", "3", verbosity=0)
    job = Job.objects.get(kind="export")
    assert job.status == Job.Status.COMPLETED and job.parameters["splits"] == 3 and job.parameters["include"] == "qualified"
    assert "Export v1 of 'cmd'" in capsys.readouterr().out
    assert manifest.manifest_mismatches(out) == []
    assert sorted(p.name for p in (out / "splits").iterdir()) == ["0", "1", "2"]
    assert [p.name for p in out.parent.iterdir()] == ["cmd-v1"]  # no temporary folder left beside it
    qualified = len(pd.read_parquet(out / "ratings.parquet"))
    assert qualified == Rating.objects.filter(video__campaign=campaign, attempt__outcome="qualified").count()

    # An existing folder with anything in it is refused, and nothing is written.
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_dataset", "cmd", "--out", str(out), verbosity=0)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_dataset", "cmd", "--out", str(tmp_path / "a-file"), verbosity=0)
    assert Job.objects.filter(kind="export").count() == 1
    with pytest.raises(CommandError, match="No campaign"):
        call_command("export_dataset", "nope", "--out", str(tmp_path / "new"), verbosity=0)

    # An empty folder is fine; --all-attempts exports every attempt.
    empty = tmp_path / "empty"
    empty.mkdir()
    call_command("export_dataset", "cmd", "--out", str(empty), "--all-attempts", "--splits", "0", verbosity=0)
    every = pd.read_parquet(empty / "ratings.parquet")
    assert len(every) == Rating.objects.filter(video__campaign=campaign).count() > qualified
    assert manifest.manifest_read(empty)["export"]["version"] == 2


@pytest.mark.django_db
def test_a_failed_export_leaves_no_folder(tmp_path):
    Campaign.objects.create(slug="bare", title="No ratings")
    out = tmp_path / "bare"
    with pytest.raises(CommandError, match="no qualified ratings"):
        call_command("export_dataset", "bare", "--out", str(out), "--splits", "0", verbosity=0)
    assert not out.exists() and not list(tmp_path.glob(".bare*"))
    job = Job.objects.get(kind="export")
    assert job.status == Job.Status.FAILED and not (Path(tmp_path) / "jobs" / "export" / str(job.pk)).exists()


def test_command_has_help(capsys):
    with pytest.raises(SystemExit):
        call_command("export_dataset", "--help")
    text = capsys.readouterr().out
    assert "--out" in text and "--all-attempts" in text and "--with-videos" in text and "--splits" in text


@pytest.mark.django_db
def test_videos_are_copied_under_pseudonymous_names_and_no_source_name_leaks(make_campaign, tmp_path):
    campaign = make_campaign("clips")
    rate_everything(campaign)
    out = tmp_path / "clips"
    call_command("export_dataset", "clips", "--out", str(out), "--with-videos", verbosity=0)
    rated = Video.objects.filter(campaign=campaign, role__in=["regular", "checker"])
    media = sorted(p.name for p in (out / "videos").iterdir())
    assert media == sorted(f"{video_name(campaign.pk, v.pk)}.mp4" for v in rated)
    for video in rated:
        copied = out / "videos" / f"{video_name(campaign.pk, video.pk)}.mp4"
        assert hashlib.sha256(copied.read_bytes()).hexdigest() == sha256_of(Path(video.file.path))
    videos = pd.read_csv(out / "videos.csv")
    assert sorted(videos["file"]) == media and set(videos["role"]) == {"regular", "checker"}
    listed = manifest.manifest_read(out)
    assert {f"videos/{m}" for m in media} <= set(listed["files"]) and listed["counts"]["media_files"] == len(media)
    # No source file name (which may carry the label) in any file of the export, videos included.
    sources = [name.encode() for name in Video.objects.filter(campaign=campaign).values_list("source_name", flat=True)]
    sources += [Path(name.decode()).stem.encode() for name in sources]
    for path, content in all_text(out):
        assert not any(source in content for source in sources), path
    # Without --with-videos there is no media folder.
    call_command("export_dataset", "clips", "--out", str(tmp_path / "plain"), "--splits", "0", verbosity=0)
    assert not (tmp_path / "plain" / "videos").exists()
