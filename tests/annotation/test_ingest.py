"""`import_videos`: hashing, transcoding, idempotence, and clear errors that stop nothing else."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation import media
from annotation.models import Campaign, Video

pytestmark = pytest.mark.django_db


def write_csv(path: Path, rows: list[dict], fields=("file", "identity_pair", "method", "is_real", "gold_score", "demo_grade", "demo_reason")):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields))
        writer.writeheader()
        for row in rows:
            writer.writerow({f: row.get(f, "") for f in fields})
    return path


def stray_files() -> list[Path]:
    """Anything in the media root that is not a finished, hash-named file."""
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file() and not (p.suffix in {".mp4", ".jpg"} and len(p.stem) == 64)]


@pytest.fixture
def campaign():
    return Campaign.objects.create(slug="ingest", title="Ingest")


@pytest.fixture
def folder(tmp_path, video_library):
    """A copy of three library clips plus broken files, so each test can add its own damage."""
    source, _ = video_library
    for name in ("regular_00.mp4", "regular_01.mp4", "checker_00.mp4"):
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "notes.mp4").write_text("this is not a video at all\n" * 20)
    data = (source / "regular_02.mp4").read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    return tmp_path


def test_import_reports_each_bad_row_and_imports_the_rest(campaign, folder, capsys):
    metadata = write_csv(folder / "meta.csv", [
        {"file": "regular_00.mp4", "identity_pair": "a-b", "method": "fs1", "is_real": "false"},
        {"file": "regular_01.mp4", "identity_pair": "a-b", "method": "real", "is_real": "true"},
        {"file": "checker_00.mp4", "identity_pair": "c-d", "method": "real", "is_real": "true", "gold_score": "5"},
        {"file": "notes.mp4", "method": "fs2"},
        {"file": "truncated.mp4", "method": "fs3"},
        {"file": "missing.mp4", "method": "fs4"},
        {"file": "regular_00.mp4", "method": "again"},
        {"file": "x.mp4", "gold_score": "7"},
        {"file": "y.mp4", "is_real": "maybe"},
    ])
    with pytest.raises(CommandError) as failed:
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    assert "6 row(s)" in str(failed.value)
    err = capsys.readouterr().err
    for expected in ("notes.mp4", "truncated.mp4", "missing.mp4", "row 8", "listed twice", "row 9", "gold_score '7'", "row 10", "is_real"):
        assert expected in err, expected
    videos = {v.source_name: v for v in Video.objects.filter(campaign=campaign)}
    assert set(videos) == {"regular_00.mp4", "regular_01.mp4", "checker_00.mp4"}
    checker = videos["checker_00.mp4"]
    assert checker.role == Video.Role.CHECKER and checker.gold_score == 5 and checker.is_real
    assert videos["regular_01.mp4"].is_real and videos["regular_00.mp4"].method == "fs1"
    assert stray_files() == []


def test_stored_files_are_named_by_hash_and_browser_safe(campaign, folder):
    metadata = write_csv(folder / "meta.csv", [{"file": "regular_00.mp4", "method": "fs1"}])
    call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    video = Video.objects.get(campaign=campaign)
    digest = media.file_sha256(folder / "regular_00.mp4")
    assert video.content_hash == digest
    assert video.file.name == f"videos/{digest}.mp4" and video.poster.name == f"posters/{digest}.jpg"
    assert "regular" not in video.file.name and "fs1" not in video.file.url
    stored = media.probe(Path(settings.MEDIA_ROOT) / video.file.name)
    assert stored.codec == "h264" and stored.pix_fmt == "yuv420p"
    assert video.duration_s == pytest.approx(1.0, abs=0.1) and (video.width, video.height) == (160, 96)
    assert b"regular_00" not in (Path(settings.MEDIA_ROOT) / video.file.name).read_bytes()


def test_rerun_is_idempotent_and_updates_labels(campaign, folder):
    rows = [{"file": "regular_00.mp4", "method": "fs1"}, {"file": "regular_01.mp4", "method": "fs2"}]
    metadata = write_csv(folder / "meta.csv", rows)
    call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    video_path = Path(settings.MEDIA_ROOT) / Video.objects.get(source_name="regular_00.mp4").file.name
    mtime = video_path.stat().st_mtime_ns
    rows[0]["method"] = "fs1-corrected"
    write_csv(metadata, rows)
    call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    assert Video.objects.filter(campaign=campaign).count() == 2
    assert Video.objects.get(source_name="regular_00.mp4").method == "fs1-corrected"
    assert video_path.stat().st_mtime_ns == mtime  # not transcoded again


def test_metadata_file_problems_are_named(campaign, folder):
    with pytest.raises(CommandError, match="Cannot open the metadata file"):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(folder / "nope.csv"), verbosity=0)
    bad = folder / "bad.csv"
    bad.write_text("name,method\nregular_00.mp4,fs1\n")
    with pytest.raises(CommandError, match="no file column"):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(bad), verbosity=0)
    with pytest.raises(CommandError, match="No campaign"):
        call_command("import_videos", str(folder), campaign="nope", metadata=str(bad), verbosity=0)
    assert not Video.objects.exists()


def test_the_same_bytes_under_different_labels_are_an_error_naming_both_rows(campaign, folder):
    shutil.copy(folder / "regular_00.mp4", folder / "copy_of_00.mp4")
    shutil.copy(folder / "regular_01.mp4", folder / "copy_of_01.mp4")
    metadata = write_csv(folder / "meta.csv", [
        {"file": "regular_00.mp4", "identity_pair": "p1", "method": "fs1"},
        {"file": "copy_of_00.mp4", "identity_pair": "p1", "method": "real", "is_real": "true"},
        {"file": "regular_01.mp4", "identity_pair": "p2", "method": "fs2"},
        {"file": "copy_of_01.mp4", "identity_pair": "p2", "method": "fs2"},  # same labels: one video
    ])
    with pytest.raises(CommandError):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    assert list(campaign.videos.values_list("source_name", flat=True)) == ["regular_01.mp4"]


def test_a_csv_that_is_not_utf8_is_refused_with_a_message(campaign, folder):
    (folder / "meta.csv").write_bytes("file,method\nregular_00.mp4,m\u00e9thode\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(folder / "meta.csv"), verbosity=0)
    assert not campaign.videos.exists()


def test_files_outside_the_folder_empty_files_and_oversized_videos_are_named(campaign, folder, tmp_path_factory, capsys):
    outside = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(folder / "regular_00.mp4", outside / "secret.mp4")
    (folder / "link.mp4").symlink_to(outside / "secret.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    big = folder / "big.mp4"
    media.make_test_pattern(big, seed=3, seconds=0.2, size=(4128, 2320), fps=5)
    metadata = write_csv(folder / "meta.csv", [
        {"file": "../" + outside.name + "/secret.mp4"}, {"file": str(outside / "secret.mp4")}, {"file": "link.mp4"},
        {"file": "empty.mp4"}, {"file": "big.mp4"}, {"file": "regular_00.mp4"},
    ])
    with pytest.raises(CommandError):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    errors = capsys.readouterr().err
    assert errors.count("outside the folder") == 2 and "lies outside the import folder" in errors
    assert "empty (0 bytes)" in errors and "4128x2320" in errors and "4096x2304" in errors
    assert list(campaign.videos.values_list("source_name", flat=True)) == ["regular_00.mp4"]
