"""`import_videos`: hashing, transcoding, idempotence, and clear errors that stop nothing else."""
from __future__ import annotations

import csv
import hashlib
import hmac
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.files.storage import default_storage
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
    campaign = Campaign.objects.create(slug="ingest", title="Ingest")
    yield campaign
    stored_files_delete(campaign)


def stored_files_delete(campaign):
    """The test's campaign has its own media key: its files would stay in the shared test media root."""
    for video in Video.objects.filter(campaign=campaign):
        for name in (video.file.name, video.poster.name):
            default_storage.delete(name)


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


def test_stored_files_are_named_by_a_key_of_the_campaign_and_browser_safe(campaign, folder):
    metadata = write_csv(folder / "meta.csv", [{"file": "regular_00.mp4", "method": "fs1"}])
    call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    video = Video.objects.get(campaign=campaign)
    digest = media.file_sha256(folder / "regular_00.mp4")
    assert video.content_hash == digest
    # An HMAC of the content keyed with the campaign's secret, computed here independently of the code.
    key = hmac.new(campaign.media_secret.encode(), digest.encode(), hashlib.sha256).hexdigest()
    assert video.file.name == f"videos/{key}.mp4" and video.poster.name == f"posters/{key}.jpg"
    assert digest not in video.file.name and digest not in video.poster.name  # the public hash says nothing
    assert len(campaign.media_secret) == 64 and campaign.media_secret != Campaign.objects.create(slug="other").media_secret
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


def test_the_same_file_in_two_campaigns_gets_two_names_and_in_one_campaign_one(campaign, folder):
    other = Campaign.objects.create(slug="ingest-2", title="Ingest 2")
    try:
        shutil.copy(folder / "regular_00.mp4", folder / "again.mp4")
        rows = [{"file": "regular_00.mp4", "method": "fs1"}, {"file": "again.mp4", "method": "fs1"}]  # same bytes, same labels
        metadata = write_csv(folder / "meta.csv", rows)
        for slug in ("ingest", "ingest-2"):
            call_command("import_videos", str(folder), campaign=slug, metadata=str(metadata), verbosity=0)
        first, second = Video.objects.get(campaign=campaign), Video.objects.get(campaign=other)  # one each: deduplicated
        assert first.content_hash == second.content_hash == media.file_sha256(folder / "again.mp4")
        assert first.file.name != second.file.name and first.poster.name != second.poster.name
        for video in (first, second):
            assert default_storage.exists(video.file.name) and default_storage.exists(video.poster.name)
    finally:
        stored_files_delete(other)


@pytest.fixture
def small_disk(tmp_path, settings):
    """MEDIA_ROOT on a tmpfs of 256 KiB, mounted for the test: a real full (and then read-only) disk."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {mounted.stderr.strip()}")
    settings.MEDIA_ROOT = str(mount_point)  # default_storage follows the setting (setting_changed)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def stored_everything(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_full_media_disk_is_a_clear_error_with_no_half_written_row_or_file(campaign, folder, small_disk, capsys):
    # Fill the disk but for 12 KiB: a poster fits, no video does.
    (small_disk / "filler").write_bytes(b"\0" * (256 - 12) * 1024)
    metadata = write_csv(folder / "meta.csv", [{"file": name, "method": "m"} for name in ("regular_00.mp4", "regular_01.mp4", "checker_00.mp4")])
    with pytest.raises(CommandError):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0, workers=1)
    errors = capsys.readouterr().err
    assert "could not be stored: the media storage is full" in errors and "Free space" in errors
    named = {name for v in Video.objects.filter(campaign=campaign) for name in (v.file.name, v.poster.name)}
    assert stored_everything(small_disk) - {"filler"} == named  # no file without its row
    assert not Video.objects.filter(campaign=campaign).exists()  # and no row without its files
    # Space freed, the same import completes.
    (small_disk / "filler").unlink()
    call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0)
    videos = Video.objects.filter(campaign=campaign)
    assert videos.count() == 3
    assert stored_everything(small_disk) == {name for v in videos for name in (v.file.name, v.poster.name)}
    assert all(media.probe(small_disk / v.file.name).codec == "h264" for v in videos)


def test_a_read_only_media_disk_is_a_clear_error_and_writes_nothing(campaign, folder, small_disk, capsys):
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {remounted.stderr.strip()}")
    metadata = write_csv(folder / "meta.csv", [{"file": name, "method": "m"} for name in ("regular_00.mp4", "regular_01.mp4")])
    with pytest.raises(CommandError):
        call_command("import_videos", str(folder), campaign="ingest", metadata=str(metadata), verbosity=0, workers=1)
    errors = capsys.readouterr().err
    assert "the media storage is read-only" in errors
    assert "row 3" in errors  # named: refused, or not tried once the storage failed
    assert not Video.objects.filter(campaign=campaign).exists() and stored_everything(small_disk) == set()
