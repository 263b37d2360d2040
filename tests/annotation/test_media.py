"""Tests for annotation.media: probing, browser-safe transcoding, corrupt-input rejection, test clips."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from pathlib import Path

import ffmpeg
import pytest

from annotation import media
from annotation.media import MediaError, VideoInfo


def _ffmpeg_header(path: Path) -> str:
    done = subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    return done.stderr.decode("utf-8", "replace")


def _top_level_boxes(data: bytes) -> list[bytes]:
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        boxes.append(kind)
        if size < 8:
            break
        pos += size
    return boxes


def _encode_source(path: Path, *, size: str, vcodec: str, title: str | None = None, audio: bool = False,
                   seconds: float = 1.0, **opts: object) -> Path:
    video = ffmpeg.input(f"testsrc2=size=320x180:rate=24:duration={seconds}", f="lavfi")
    w, h = size.split("x")
    streams = [video.filter("scale", w, h).filter("setsar", 1)]
    if audio:
        streams.append(ffmpeg.input(f"sine=frequency=440:duration={seconds}", f="lavfi"))
    if title:
        opts["metadata"] = f"title={title}"
    ffmpeg.output(*streams, str(path), vcodec=vcodec, **opts).run(
        cmd=media.ffmpeg_exe(), quiet=True, overwrite_output=True)
    return path


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    media.make_test_pattern(path, seed=7, seconds=2.0, size=(320, 180), fps=25)
    return path


# --- probe ---------------------------------------------------------------------

def test_probe_generated_clip(clip: Path) -> None:
    info = media.probe(clip)
    assert (info.width, info.height) == (320, 180)
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert (info.codec, info.pix_fmt, info.has_audio) == ("h264", "yuv420p", False)


def test_probe_reports_audio_and_custom_size(tmp_path: Path) -> None:
    path = tmp_path / "tone.mp4"
    media.make_test_pattern(path, seed=3, seconds=1.0, size=(160, 90), fps=30, audio=True)
    info = media.probe(path)
    assert (info.width, info.height, info.fps, info.has_audio) == (160, 90, 30.0, True)


def test_probe_rejects_audio_only_and_still_images(tmp_path: Path) -> None:
    audio = tmp_path / "speech.m4a"
    ffmpeg.input("sine=duration=1", f="lavfi").output(str(audio)).run(
        cmd=media.ffmpeg_exe(), quiet=True, overwrite_output=True)
    image = tmp_path / "frame.png"
    ffmpeg.input("testsrc2=size=64x64", f="lavfi").output(str(image), vframes=1).run(
        cmd=media.ffmpeg_exe(), quiet=True, overwrite_output=True)
    for path, words in ((audio, "no video stream"), (image, "still image")):
        with pytest.raises(MediaError) as err:
            media.probe(path)
        assert err.value.code == media.NOT_VIDEO
        assert path.name in str(err.value) and words in str(err.value)


def test_probe_uses_ffprobe_json_when_available(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "x.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3")
    canned = {
        "format": {"format_name": "matroska,webm", "duration": "5.005000"},
        "streams": [
            {"codec_type": "video", "codec_name": "mjpeg", "width": 600, "height": 600,
             "disposition": {"attached_pic": 1}, "avg_frame_rate": "0/0"},
            {"codec_type": "video", "codec_name": "hevc", "pix_fmt": "yuv420p10le", "width": 1920,
             "height": 1080, "avg_frame_rate": "30000/1001", "disposition": {"attached_pic": 0}},
            {"codec_type": "audio", "codec_name": "opus"},
        ],
    }
    calls = []
    monkeypatch.setattr(media, "ffprobe_exe", lambda: "/usr/bin/ffprobe")
    monkeypatch.setattr(media.ffmpeg, "probe", lambda p, cmd, **kw: calls.append(cmd) or canned)
    info = media.probe(path)
    assert calls == ["/usr/bin/ffprobe"]
    assert info == VideoInfo(5.005, pytest.approx(29.97, abs=0.01), 1920, 1080, "hevc", "yuv420p10le", True)

    def broken(p: str, cmd: str, **kw: str) -> dict:
        raise ffmpeg.Error("ffprobe", b"", b"EBML header parsing failed\nInvalid data found")

    monkeypatch.setattr(media.ffmpeg, "probe", broken)
    with pytest.raises(MediaError) as err:
        media.probe(path)
    assert err.value.code == media.CORRUPT and "EBML header parsing failed" in str(err.value)


def test_ffmpeg_header_parser_handles_nested_commas_and_cover_art() -> None:
    text = (
        "Input #0, mpegts, from '/x/a.ts':\n"
        "  Duration: 00:01:02.50, start: 1.400000, bitrate: 1500 kb/s\n"
        "  Stream #0:0[0x1e0]: Video: mjpeg (Baseline), yuvj420p(pc), 600x600, 90k tbr, 90k tbn (attached pic)\n"
        "  Stream #0:1[0x1e1]: Video: mpeg2video (Main), yuv420p(tv, bt470bg, progressive, left), 720x576 "
        "[SAR 16:15 DAR 4:3], 1k tbr, 90k tbn\n"
        "  Stream #0:2[0x1c0](eng): Audio: mp2, 48000 Hz, stereo, fltp, 192 kb/s\n"
    )
    info = media._parse_ffmpeg_header(text)
    assert info == VideoInfo(62.5, 1000.0, 720, 576, "mpeg2video", "yuv420p", True)


# --- transcode -----------------------------------------------------------------

def test_transcode_odd_avi_to_clean_faststart_h264(tmp_path: Path, out_dir: Path) -> None:
    name = "real_pair07_methodX_secret"
    src = _encode_source(tmp_path / f"{name}.avi", size="321x181", vcodec="mpeg4", title=name)
    assert name.encode() in src.read_bytes()  # the leak the transcode must remove

    info = media.transcode(src, out_dir / "v.mp4", out_dir / "v.jpg")

    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert info.width % 2 == 0 and info.height % 2 == 0
    assert (info.width, info.height) == (320, 180)
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    assert media.probe(out_dir / "v.mp4") == info
    data = (out_dir / "v.mp4").read_bytes()
    boxes = _top_level_boxes(data)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    poster = (out_dir / "v.jpg").read_bytes()
    assert poster[:2] == b"\xff\xd8"
    for blob in (data, poster):
        assert b"secret" not in blob and b"methodX" not in blob and b"Lavf" not in blob
    assert sorted(p.name for p in out_dir.iterdir()) == ["v.jpg", "v.mp4"]
    assert (out_dir / "v.mp4").stat().st_mode & 0o044 == 0o044


def test_transcode_webm_keeps_audio_as_aac(tmp_path: Path, out_dir: Path) -> None:
    src = _encode_source(tmp_path / "in.webm", size="240x134", vcodec="libvpx-vp9", audio=True,
                         acodec="libopus", deadline="realtime", **{"cpu-used": 8})
    info = media.transcode(src, out_dir / "a.mp4", out_dir / "a.jpg")
    assert (info.codec, info.width, info.height, info.has_audio) == ("h264", 240, 134, True)
    assert "Audio: aac" in _ffmpeg_header(out_dir / "a.mp4")


def test_transcode_without_audio_adds_none(clip: Path, out_dir: Path) -> None:
    info = media.transcode(clip, out_dir / "n.mp4", out_dir / "n.jpg")
    assert info.has_audio is False
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def _text_as_mp4(d: Path) -> Path:
    p = d / "notes.mp4"
    p.write_text("grade 3: the mouth flickers\n" * 50)
    return p


def _random_bytes(d: Path) -> Path:
    p = d / "noise.mp4"
    p.write_bytes(os.urandom(50_000))
    return p


def _halve(p: Path) -> Path:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _truncated_mp4(d: Path) -> Path:
    # moov is written last by default, so the first half lacks the index entirely.
    p = d / "half.mp4"
    media.make_test_pattern(p, seed=11, seconds=3.0)
    return _halve(p)


def _truncated_faststart_mp4(d: Path) -> Path:
    # The index survives; the decoder hits the missing samples.
    full = d / "full.mp4"
    media.make_test_pattern(full, seed=12, seconds=3.0)
    p = d / "half_faststart.mp4"
    media.transcode(full, p, d / "ignored.jpg")
    return _halve(p)


def _truncated_webm(d: Path) -> Path:
    # Cut at a cluster boundary the demuxer just stops; only the duration check notices.
    p = _encode_source(d / "half.webm", size="320x180", vcodec="libvpx-vp9", seconds=3.0,
                       deadline="realtime", g=24, **{"cpu-used": 8})
    return _halve(p)


def _missing(d: Path) -> Path:
    return d / "gone.mp4"


@pytest.mark.parametrize("make, code", [
    (_text_as_mp4, media.NOT_VIDEO),
    (_random_bytes, media.NOT_VIDEO),
    (_truncated_mp4, media.CORRUPT),
    (_truncated_faststart_mp4, media.CORRUPT),
    (_truncated_webm, media.CORRUPT),
    (_missing, media.MISSING),
])
def test_bad_inputs_raise_and_leave_nothing(make, code: str, tmp_path: Path, out_dir: Path) -> None:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = make(src_dir)
    with pytest.raises(MediaError) as err:
        media.transcode(src, out_dir / "v.mp4", out_dir / "v.jpg")
    assert err.value.code == code
    assert src.name in str(err.value)
    assert list(out_dir.iterdir()) == []


def test_failed_transcode_keeps_previous_output(tmp_path: Path, out_dir: Path) -> None:
    (out_dir / "v.mp4").write_bytes(b"previous")
    with pytest.raises(MediaError):
        media.transcode(_random_bytes(tmp_path), out_dir / "v.mp4", out_dir / "v.jpg")
    assert sorted(p.name for p in out_dir.iterdir()) == ["v.mp4"]
    assert (out_dir / "v.mp4").read_bytes() == b"previous"


def test_encoder_failure_on_sound_input_is_transcode_failed(
        clip: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_encoder(src: object, dst: str, has_audio: bool) -> None:
        Path(dst).write_bytes(b"partial")
        raise ffmpeg.Error("ffmpeg", b"", b"Unknown encoder 'libx264'")

    monkeypatch.setattr(media, "_encode_mp4", no_encoder)
    with pytest.raises(MediaError) as err:
        media.transcode(clip, out_dir / "v.mp4", out_dir / "v.jpg")
    assert err.value.code == media.TRANSCODE_FAILED
    assert "clip.mp4" in str(err.value) and "Unknown encoder" in str(err.value)
    assert list(out_dir.iterdir()) == []


# --- hashing and test patterns ----------------------------------------------------

def test_file_sha256_streams_large_files(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert media.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_test_patterns_differ_by_seed_and_repeat_per_seed(tmp_path: Path) -> None:
    paths = {}
    for name, seed in (("a", 1), ("b", 2), ("c", 361), ("a2", 1)):
        paths[name] = tmp_path / f"{name}.mp4"
        media.make_test_pattern(paths[name], seed=seed, seconds=1.0)
    digests = {name: media.file_sha256(p) for name, p in paths.items()}
    assert len({digests["a"], digests["b"], digests["c"]}) == 3
    assert digests["a"] == digests["a2"]


def test_test_pattern_with_label(tmp_path: Path) -> None:
    plain, labeled = tmp_path / "plain.mp4", tmp_path / "labeled.mp4"
    media.make_test_pattern(plain, seed=5, seconds=0.5)
    media.make_test_pattern(labeled, seed=5, seconds=0.5, label="grade 3: it's 100% fake [a,b;c=d]")
    info = media.probe(labeled)
    assert (info.codec, info.width, info.height) == ("h264", 320, 180)
    assert info.duration_s == pytest.approx(0.5, abs=0.05)
    # Equal bytes would mean drawtext failed and the unlabeled fallback ran.
    assert media.file_sha256(plain) != media.file_sha256(labeled)
