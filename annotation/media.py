"""Stimulus videos: probe uploads, transcode them to browser-safe MP4 + poster, hash them, make test clips."""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

import ffmpeg

StrPath = str | os.PathLike[str]

# Stable codes callers may branch on; the message is for people.
MISSING = "missing"
NOT_VIDEO = "not_video"
EMPTY = "empty"
CORRUPT = "corrupt"
TRANSCODE_FAILED = "transcode_failed"
STORAGE = "storage"

# A hostile or pathological input must not hold a worker forever.
FFMPEG_TIMEOUT_S = 600.0

# The output may legitimately differ from the declared duration by a frame or
# an audio priming delay, but not by whole seconds (a truncated source).
DURATION_TOLERANCE_S = 0.5
DURATION_TOLERANCE_FRACTION = 0.05

X264_PRESET = "veryfast"
X264_CRF = 20
POSTER_MAX_OFFSET_S = 0.5
STDERR_TAIL_LINES = 12
HASH_CHUNK_BYTES = 1 << 20


class MediaError(Exception):
    """A video could not be used; `code` is one of the module's code constants."""

    def __init__(self, code: str, path: StrPath, problem: str, advice: str, detail: str = "") -> None:
        self.code = code
        self.path = os.fspath(path)
        self.detail = detail
        message = f"{self.path}: {problem}. {advice}"
        if detail:
            message += f"\nffmpeg said:\n{detail}"
        super().__init__(message)


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    has_audio: bool


@functools.cache
def ffmpeg_exe() -> str:
    """The system ffmpeg when installed (usually newer, with more codecs), else the bundled one."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg  # Imported late: only needed where no system ffmpeg exists.

    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffprobe_exe() -> str | None:
    """The system ffprobe, or None (the imageio-ffmpeg wheel ships ffmpeg only; probing then parses ffmpeg's header)."""
    return shutil.which("ffprobe")


# --- probing -----------------------------------------------------------------

# Magic numbers of video containers: when ffmpeg cannot open a file that starts
# with one of these, the file is a damaged video, not some other kind of file.
_ISO_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"}
_CONTAINER_PREFIXES = (
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF / WMV
    b"FLV",
    b"OggS",
    b"\x00\x00\x01\xba",  # MPEG program stream
)

# Still images open as one-frame "videos"; they are not stimuli.
_IMAGE_FORMATS = re.compile(r"^(image2|.*_pipe|gif|apng|webp)$")


def _looks_like_video_container(path: StrPath) -> bool:
    with open(path, "rb") as f:
        head = f.read(400)
    if head[4:8] in _ISO_BMFF_BOXES:
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS sync bytes
        return True
    return head.startswith(_CONTAINER_PREFIXES)


def _tail(stderr: bytes | str | None, lines: int = STDERR_TAIL_LINES) -> str:
    if not stderr:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return "\n".join([ln.rstrip() for ln in text.splitlines() if ln.strip()][-lines:])


def _check_exists(path: StrPath) -> None:
    if not os.path.exists(path):
        raise MediaError(MISSING, path, "no such file", "Check the path, or upload the file again.")
    if not os.path.isfile(path):
        raise MediaError(MISSING, path, "not a regular file", "Point to the video file itself, not a folder.")
    if not os.access(path, os.R_OK):
        raise MediaError(MISSING, path, "cannot be read (permission denied)", "Fix the file's permissions.")


def _unreadable(path: StrPath, detail: str) -> MediaError:
    if _looks_like_video_container(path):
        return MediaError(
            CORRUPT, path, "looks like a video file but is damaged or truncated (ffmpeg cannot open it)",
            "Re-export or re-copy the video from its original source and upload it again.", detail,
        )
    return MediaError(
        NOT_VIDEO, path, "is not a video file ffmpeg can read",
        "Upload a video file (for example MP4, WebM, AVI or MOV).", detail,
    )


def _validate(path: StrPath, fmt: str, info: VideoInfo | None, detail: str) -> VideoInfo:
    if info is None:
        raise MediaError(
            NOT_VIDEO, path, "contains no video stream",
            "Upload a file with moving pictures, not an audio-only or data file.", detail,
        )
    if _IMAGE_FORMATS.match(fmt):
        raise MediaError(NOT_VIDEO, path, "is a still image, not a video", "Upload a video file.", detail)
    if not info.duration_s > 0:
        raise MediaError(
            EMPTY, path, "has no playable duration",
            "Re-export the video (it should be a few seconds long) and upload it again.", detail,
        )
    return info


def probe(path: StrPath) -> VideoInfo:
    """Describe the first real video stream of `path`; raise MediaError when it is not a usable video."""
    _check_exists(path)
    if ffprobe_exe():
        return _probe_with_ffprobe(path)
    return _probe_with_ffmpeg(path)


def _probe_with_ffprobe(path: StrPath) -> VideoInfo:
    try:
        data = ffmpeg.probe(os.path.abspath(path), cmd=ffprobe_exe(), v="error")
    except ffmpeg.Error as exc:
        raise _unreadable(path, _tail(exc.stderr)) from None
    fmt = data.get("format", {})
    streams = data.get("streams", [])
    videos = [
        s for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    info = None
    if videos:
        v = videos[0]
        info = VideoInfo(
            duration_s=_float(fmt.get("duration")) or _float(v.get("duration")),
            fps=_rate(v.get("avg_frame_rate")) or _rate(v.get("r_frame_rate")),
            width=int(v.get("width") or 0),
            height=int(v.get("height") or 0),
            codec=str(v.get("codec_name", "")),
            pix_fmt=str(v.get("pix_fmt", "")),
            has_audio=any(s.get("codec_type") == "audio" for s in streams),
        )
    return _validate(path, str(fmt.get("format_name", "")), info, "")


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rate(value: Any) -> float:
    num, _, den = str(value or "").partition("/")
    if not den:
        return _float(num)
    return _float(num) / _float(den) if _float(den) else 0.0


# Without ffprobe, `ffmpeg -i FILE` (no output) prints the same facts as text.
_INPUT_RE = re.compile(r"^Input #0, (?P<fmt>[^,]+(?:,[^,\s]+)*), from ", re.M)
_DURATION_RE = re.compile(r"^\s*Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)", re.M)
_STREAM_RE = re.compile(r"^\s*Stream #0:\d+\S*: (?P<kind>Video|Audio): (?P<rest>.*)$", re.M)
_SIZE_RE = re.compile(r"^(\d+)x(\d+)")
_RATE_RE = re.compile(r"^(\d+(?:\.\d+)?)(k?) (fps|tbr)$")


def _probe_with_ffmpeg(path: StrPath) -> VideoInfo:
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.path.abspath(path)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=FFMPEG_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise _unreadable(path, "ffmpeg timed out reading the file header") from None
    # Exit status is always 1 here (no output file was given), so the text decides.
    text = done.stderr.decode("utf-8", "replace")
    header = _INPUT_RE.search(text)
    if header is None:
        raise _unreadable(path, _tail(text))
    return _validate(path, header.group("fmt"), _parse_ffmpeg_header(text), _tail(text))


def _parse_ffmpeg_header(text: str) -> VideoInfo | None:
    streams = [(m.group("kind"), m.group("rest")) for m in _STREAM_RE.finditer(text)]
    videos = [rest for kind, rest in streams if kind == "Video" and "(attached pic)" not in rest]
    if not videos:
        return None
    parts = _split_top_level(videos[0])
    width = height = 0
    fps = tbr = 0.0
    for part in parts[1:]:
        size = _SIZE_RE.match(part)
        if size and not width:
            width, height = int(size.group(1)), int(size.group(2))
        rate = _RATE_RE.match(part)
        if rate:
            value = float(rate.group(1)) * (1000 if rate.group(2) else 1)
            fps, tbr = (value, tbr) if rate.group(3) == "fps" else (fps, value)
    pix_fmt = parts[1].split("(")[0].strip() if len(parts) > 1 and not _SIZE_RE.match(parts[1]) else ""
    return VideoInfo(
        duration_s=_parse_duration(text),
        fps=fps or tbr,
        width=width,
        height=height,
        codec=parts[0].split()[0] if parts and parts[0].split() else "",
        pix_fmt=pix_fmt,
        has_audio=any(kind == "Audio" for kind, _ in streams),
    )


def _parse_duration(text: str) -> float:
    m = _DURATION_RE.search(text)
    if not m or m.group(1) is None:
        return 0.0
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _split_top_level(s: str) -> list[str]:
    """Split on commas outside parentheses/brackets: `yuv420p(tv, bt709)` is one field."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(s[start:i].strip())
            start = i + 1
    parts.append(s[start:].strip())
    return parts


# --- transcoding -------------------------------------------------------------

def _run(stream: Any) -> None:
    """Run an ffmpeg-python graph with the chosen binary; raise ffmpeg.Error on failure."""
    # compile + subprocess rather than stream.run() so a hung ffmpeg can be timed out.
    # Only errors are logged, so the stderr tail quoted to the researcher is all signal.
    stream = stream.global_args("-hide_banner", "-nostdin", "-loglevel", "error")
    args = stream.compile(cmd=ffmpeg_exe(), overwrite_output=True)
    try:
        done = subprocess.run(args, capture_output=True, timeout=FFMPEG_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ffmpeg.Error("ffmpeg", b"", (exc.stderr or b"") + b"\nffmpeg timed out") from None
    if done.returncode != 0:
        raise ffmpeg.Error("ffmpeg", done.stdout, done.stderr)


def _strict_input(path: StrPath, **options: Any) -> Any:
    # err_detect=explode + -xerror: any decode error aborts the run, so damaged
    # bytes fail loudly instead of yielding a short or glitchy stimulus.
    return ffmpeg.input(os.path.abspath(path), err_detect="explode", **options)


# bitexact keeps ffmpeg's own version strings (Lavf/Lavc) out of the files;
# map_metadata/map_chapters -1 drop titles, comments and chapter names, which
# could carry the source file name or label information.
_CLEAN_OUTPUT = {
    "map_metadata": -1,
    "map_chapters": -1,
    "fflags": "+bitexact",
    "flags:v": "+bitexact",
    "flags:a": "+bitexact",
}


def _encode_mp4(src: StrPath, dst: str, has_audio: bool) -> None:
    inp = _strict_input(src)
    # Crop (not scale) to even dimensions: resampling would soften every frame
    # of a stimulus whose realism is being judged; one lost pixel row does not.
    video = inp["V:0"].filter("crop", "trunc(iw/2)*2", "trunc(ih/2)*2").filter("format", "yuv420p")
    streams = [video, inp["a:0"]] if has_audio else [video]
    audio_opts = {"acodec": "aac", "audio_bitrate": "128k"} if has_audio else {"an": None}
    out = ffmpeg.output(
        *streams, dst, f="mp4", vcodec="libx264", preset=X264_PRESET, crf=X264_CRF,
        pix_fmt="yuv420p", movflags="+faststart", sn=None, dn=None, **audio_opts, **_CLEAN_OUTPUT,
    )
    _run(out.global_args("-xerror"))


def _encode_poster(mp4: str, dst: str, at_s: float) -> None:
    out = ffmpeg.input(mp4, ss=f"{at_s:.3f}").output(
        dst, f="image2", update=1, vcodec="mjpeg", **{"frames:v": 1, "q:v": 3}, **_CLEAN_OUTPUT,
    )
    _run(out)


def _duration_matches(expected: float, actual: float) -> bool:
    return abs(expected - actual) <= max(DURATION_TOLERANCE_S, DURATION_TOLERANCE_FRACTION * expected)


def _temp_beside(dst: StrPath, suffix: str) -> str:
    # Same directory as the destination, so os.replace is an atomic rename; the
    # dot prefix hides temporaries orphaned by a killed worker from media listings.
    fd, name = tempfile.mkstemp(prefix=".media-", suffix=suffix, dir=os.path.dirname(os.path.abspath(dst)))
    os.close(fd)
    # mkstemp makes 0600 files; the web server must be able to read the result.
    os.chmod(name, 0o644)
    return name


def _decodes_cleanly(src: StrPath) -> bool:
    try:
        _run(_strict_input(src).output("-", f="null").global_args("-xerror"))
    except ffmpeg.Error:
        return False
    return True


def transcode(src: StrPath, dst_mp4: StrPath, dst_poster: StrPath) -> VideoInfo:
    """Write a browser-safe, metadata-free H.264 MP4 and a JPEG poster; both appear atomically or not at all."""
    source = probe(src)
    tmp_mp4 = tmp_poster = None
    try:
        tmp_mp4 = _temp_beside(dst_mp4, ".mp4")
        tmp_poster = _temp_beside(dst_poster, ".jpg")
        result = _transcode_into(src, source, tmp_mp4, tmp_poster)
        # Renames cannot fail for lack of space, so once both files exist the pair is
        # as good as published.
        os.replace(tmp_mp4, dst_mp4)
        os.replace(tmp_poster, dst_poster)
        return result
    finally:
        for tmp in (tmp_mp4, tmp_poster):
            if tmp and os.path.exists(tmp):
                os.remove(tmp)


def _transcode_into(src: StrPath, source: VideoInfo, tmp_mp4: str, tmp_poster: str) -> VideoInfo:
    try:
        _encode_mp4(src, tmp_mp4, source.has_audio)
    except ffmpeg.Error as exc:
        raise _encode_failure(src, _tail(exc.stderr)) from None
    try:
        result = probe(tmp_mp4)
    except MediaError as exc:
        raise MediaError(TRANSCODE_FAILED, src, "the transcoded copy is unreadable",
                         "Report this to the platform maintainers with the file.", exc.detail) from None
    if not _duration_matches(source.duration_s, result.duration_s):
        raise MediaError(
            CORRUPT, src,
            f"only {result.duration_s:.2f} s of the declared {source.duration_s:.2f} s could be decoded",
            "The file is probably truncated; re-copy or re-export it and upload it again.",
        )
    try:
        _encode_poster(tmp_mp4, tmp_poster, min(POSTER_MAX_OFFSET_S, result.duration_s / 2))
    except ffmpeg.Error as exc:
        raise MediaError(TRANSCODE_FAILED, src, "could not extract a poster frame",
                         "Report this to the platform maintainers with the file.", _tail(exc.stderr)) from None
    return result


def _encode_failure(src: StrPath, detail: str) -> MediaError:
    # A strict decode-only pass tells a damaged source apart from an encoder or
    # disk problem on our side; it only runs on the failure path.
    if not _decodes_cleanly(src):
        return MediaError(CORRUPT, src, "is damaged: decoding it stops with an error",
                          "Re-copy or re-export the video from its original source and upload it again.", detail)
    return MediaError(TRANSCODE_FAILED, src, "could not be converted to H.264 MP4",
                      "Check free disk space, then report this to the platform maintainers with the file.", detail)


# --- hashing and synthetic clips ----------------------------------------------

def stored_names(campaign, content_sha256: str) -> tuple[str, str]:
    """The storage names of a video's transcoded MP4 and poster in `campaign`: an HMAC-SHA256 of the
    source's content (its SHA-256, `file_sha256`) keyed with the campaign's `media_secret`.

    Identical bytes get one name within a campaign (the ingest stores them once), other names in
    another campaign, and nobody without the secret can tell from a name which file of a public
    dataset it is (the plain SHA-256 would). The one place media names are made."""
    key = hmac.new(campaign.media_secret.encode(), content_sha256.encode(), hashlib.sha256).hexdigest()
    return f"videos/{key}.mp4", f"posters/{key}.jpg"


def file_sha256(path: StrPath) -> str:
    """The hex SHA-256 of the file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ffmpeg-python escapes filter syntax; non-ASCII may lack glyphs and backslashes
# would be read as escapes by drawtext itself.
_LABEL_UNSAFE = re.compile(r"[^ -~]|\\")


def make_test_pattern(
    path: StrPath,
    *,
    seed: int,
    seconds: float = 2.0,
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
    label: str | None = None,
    audio: bool = False,
) -> None:
    """Encode a short synthetic H.264 clip whose pixels depend on `seed` (hue and grain), for demos and tests."""
    try:
        _run(_pattern_graph(path, seed, seconds, size, fps, label, audio))
    except ffmpeg.Error as exc:
        if label is None:
            raise MediaError(TRANSCODE_FAILED, path, "could not generate a test clip",
                             "Check that ffmpeg has libx264.", _tail(exc.stderr)) from None
        # drawtext needs a system font; a host without fonts still gets a usable, unlabeled clip.
        make_test_pattern(path, seed=seed, seconds=seconds, size=size, fps=fps, label=None, audio=audio)


def _pattern_graph(
    path: StrPath, seed: int, seconds: float, size: tuple[int, int], fps: int, label: str | None, audio: bool
) -> Any:
    w, h = size
    video = (
        ffmpeg.input(f"testsrc2=size={w}x{h}:rate={fps}:duration={seconds}", f="lavfi")
        # The golden-angle step spreads consecutive seeds' hues far apart.
        .filter("hue", h=f"{(seed * 137.507764) % 360:.4f}")
        # Seeded grain makes the bytes differ even where two hues coincide.
        .filter("noise", alls=6, allf="t", all_seed=seed % 2147483647)
    )
    if label:
        text = _LABEL_UNSAFE.sub(" ", label)[:80]
        video = video.filter(
            "drawtext", text=text, expansion="none", fontsize=max(12, h // 10), fontcolor="white",
            box=1, boxcolor="black@0.6", x=8, y=8,
        )
    streams = [video.filter("format", "yuv420p")]
    if audio:
        tone = 220 + (seed % 24) * 20
        streams.append(ffmpeg.input(f"sine=frequency={tone}:duration={seconds}", f="lavfi"))
    return ffmpeg.output(
        *streams, os.path.abspath(path), vcodec="libx264", preset=X264_PRESET, crf=X264_CRF, pix_fmt="yuv420p",
        **({"acodec": "aac"} if audio else {}),
    )
