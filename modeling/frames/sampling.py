"""Decoding one frame of every `step` from a video with ffmpeg, as BGR arrays with their frame index.

ffmpeg's `select` filter drops the other frames inside ffmpeg, before the conversion to BGR and
the pipe: on a transcoded 5-s, 125-frame demo clip that took 147 ms at 1280x720 against 235 ms
for piping every frame and keeping each 6th here, and 42 against 60 ms at 640x360 (best of 5,
one decoder thread, bench/frames.py --sampling). `fps_mode passthrough` keeps ffmpeg from duplicating
or dropping frames to hold a frame rate, so the k-th frame out is frame k * step of the video.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import ffmpeg
import numpy as np

from annotation import media

DECODE_FAILED = "decode_failed"
STDERR_TAIL_CHARS = 2000


def sampled_frames(path: str | os.PathLike[str], *, step: int, threads: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR uint8 frame of shape (height, width, 3)) for frames 0, step, 2 step, ...

    The frame size is the probed one: exported videos are the platform's transcodes (ffmpeg applied
    any rotation when it re-encoded them), so the decoded frames have the stream's size. Raises
    media.MediaError when the file is not a readable video or ffmpeg stops with an error.
    `threads`: ffmpeg's decoder threads (0: its choice; 1 when a process pool gives the parallelism).
    """
    if step < 1:
        raise ValueError("step must be at least 1")
    info = media.probe(path)
    frame_bytes = info.width * info.height * 3
    # err_detect=explode and -xerror, as the ingest's transcode uses them: a damaged or truncated
    # copy stops with an error instead of giving fewer frames than the video has.
    args = (
        ffmpeg.input(os.path.abspath(path), threads=threads, err_detect="explode")
        .filter("select", f"not(mod(n,{step}))")
        .output("pipe:", format="rawvideo", pix_fmt="bgr24", fps_mode="passthrough", threads=threads)
        .global_args("-hide_banner", "-nostdin", "-loglevel", "error", "-xerror")
        .compile(cmd=media.ffmpeg_exe())
    )
    # stderr goes to a file, not a pipe: a stream of decode errors could fill a pipe nobody reads
    # while this generator waits on stdout.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            index = 0
            while True:
                data = proc.stdout.read(frame_bytes)
                if len(data) < frame_bytes:
                    break
                yield index, np.frombuffer(data, np.uint8).reshape(info.height, info.width, 3)
                index += step
            returncode = proc.wait(timeout=media.FFMPEG_TIMEOUT_S)
        finally:
            if proc.poll() is None:  # the consumer stopped early, or something raised
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if returncode != 0 or data:
            errors.seek(0)
            detail = errors.read()[-STDERR_TAIL_CHARS:].decode("utf-8", "replace").strip()
            problem = "ffmpeg stopped with an error while decoding" if returncode else "ended in a partial frame"
            raise media.MediaError(DECODE_FAILED, Path(path), problem,
                                   "Re-export the video, or check that it is not truncated.", detail)
