"""Benchmark of the face crops (modeling.frames) on the demo study: detection rate per detector, seconds per video.

1. Renders the small demo study's clips (54 videos of drawn faces, 640x360, 2 s at 25 fps; real
   videos and face swaps with their artifacts), or --clips spread over the dream-size study's
   1,525 (20 pairs x 38 methods, 5 s), transcodes each as the ingest does, and lays them out as
   the dataset export does: videos.csv (`file` column) and videos/<name>.mp4.
2. Runs the extraction (one frame of every 6, 224-pixel crops) with each detector and prints the
   frames, the share with a detected face (all, real, fake, the five clips with the lowest share),
   the fallbacks, and the seconds per video (each video's own time in its worker) and in all.
3. With --sampling, times ffmpeg's select filter against piping every frame and keeping each 6th,
   on one 5-s clip at 640x360 and 1280x720 (best of 5): the measurement behind modeling/frames/sampling.py.

The figures go to bench/results/frames-<time>.json too.

Run:  .venv/bin/python bench/frames.py [--size small|dream] [--clips 54] [--detectors yunet,haar] [--workers 2] [--sampling]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _render(spec, folder: str, name: str) -> str:
    """Render and transcode one clip into the export's videos/ folder (in a worker process)."""
    from annotation import media
    from demo.swaps import clip_write

    raw = os.path.join(folder, f".{name}.raw.mp4")
    clip_write(spec, raw)
    try:
        media.transcode(raw, os.path.join(folder, f"{name}.mp4"), os.path.join(folder, f".{name}.jpg"))
    finally:
        for leftover in (raw, os.path.join(folder, f".{name}.jpg")):
            if os.path.exists(leftover):
                os.remove(leftover)
    return name


def export_build(folder: Path, size: str, clips: int, seconds: float | None, workers: int) -> dict[str, dict]:
    """`clips` clips of the demo study of `size`, spread evenly over its plan (pairs, methods,
    directions), as an export folder; returns name -> the clip's facts."""
    from demo.study import SIZES, study_plan

    config = SIZES[size] if seconds is None else replace(SIZES[size], seconds=seconds)
    every = study_plan(config).clips
    plan = [every[i] for i in sorted({int(i * len(every) / clips) for i in range(min(clips, len(every)))})]
    videos = folder / "videos"
    videos.mkdir(parents=True)
    facts = {}
    for clip in plan:
        name = "v" + hashlib.sha256(clip.name.encode()).hexdigest()[:16]
        facts[name] = {"source_name": clip.name, "method": clip.method, "is_real": clip.is_real,
                       "artifacts": dict(clip.strengths), "frames": clip.spec.frames}
    jobs = ([c.spec for c in plan], [str(videos)] * len(plan), list(facts))
    if workers <= 1:
        list(map(_render, *jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_render, *jobs))
    with open(folder / "videos.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "file", "method", "is_real"])
        writer.writerows([name, f"{name}.mp4", f["method"], f["is_real"]] for name, f in facts.items())
    return facts


def detector_run(folder: Path, name: str, facts: dict[str, dict], workers: int) -> dict:
    from modeling.frames.extract import FrameSettings, export_frames_extract

    settings = FrameSettings.for_detector(name)
    started = time.perf_counter()
    outcome = export_frames_extract(folder, settings=settings, workers=workers)
    wall = time.perf_counter() - started
    assert not outcome.failed, outcome.failed
    videos = outcome.videos
    for video, counts in videos.items():
        assert counts.frames == math.ceil(facts[video]["frames"] / settings.step), video

    def rate(names):
        frames = sum(videos[n].frames for n in names)
        return sum(videos[n].detected for n in names) / frames if frames else None

    real = [n for n in videos if facts[n]["is_real"]]
    fake = [n for n in videos if not facts[n]["is_real"]]
    worst = sorted(videos, key=lambda n: videos[n].detection_rate)[:5]
    totals = outcome.totals()
    return {
        "detector": settings.detector, "version": settings.detector_version, "videos": len(videos),
        "frames": totals["frames"], "detected": totals["detected"], "previous_box": totals["previous_box"],
        "centre": totals["centre"], "detection_rate": totals["detection_rate"], "rate_real": rate(real), "rate_fake": rate(fake),
        "worst": [{"clip": facts[n]["source_name"], "rate": videos[n].detection_rate, "artifacts": facts[n]["artifacts"]} for n in worst],
        "seconds_per_video": totals["seconds_per_video"], "wall_seconds": wall, "workers": workers,
    }


def sampling_compare() -> dict:
    """Best of 5 seconds to get one of every 6 frames of a 5-s clip: select filter against keeping every 6th."""
    import ffmpeg
    import numpy as np

    from annotation import media
    from demo.swaps import ClipSpec, clip_write

    results = {}
    with tempfile.TemporaryDirectory(prefix="frames-bench-") as tmp:
        for width, height in ((640, 360), (1280, 720)):
            spec = ClipSpec(name="s.mp4", target=0, source=1, strengths={"seam": 0.3}, take_seed=11, artifact_seed=13,
                            identity_seed=7, width=width, height=height, seconds=5.0)
            raw, path = f"{tmp}/raw.mp4", f"{tmp}/clip{height}.mp4"
            clip_write(spec, raw)
            media.transcode(raw, path, f"{tmp}/poster.jpg")
            for select in (True, False):
                best = math.inf
                for _ in range(5):
                    started = time.perf_counter()
                    stream = ffmpeg.input(path, threads=1)
                    if select:
                        stream = stream.filter("select", "not(mod(n,6))")
                    args = (stream.output("pipe:", format="rawvideo", pix_fmt="bgr24", fps_mode="passthrough", threads=1)
                            .global_args("-nostdin", "-loglevel", "error").compile(cmd=media.ffmpeg_exe()))
                    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
                    size, n, kept = width * height * 3, 0, 0
                    while len(data := proc.stdout.read(size)) == size:
                        if select or n % 6 == 0:
                            np.frombuffer(data, np.uint8).reshape(height, width, 3)
                            kept += 1
                        n += 1
                    proc.wait()
                    best = min(best, time.perf_counter() - started)
                assert kept == math.ceil(spec.frames / 6)
                results[f"{height}p {'select filter' if select else 'every frame, keep each 6th'}"] = round(best * 1000, 1)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["small", "dream"], default="small",
                        help="Demo study preset (small: 54 clips of 2 s; dream: 1,525 clips of 5 s, 20 pairs x 38 methods).")
    parser.add_argument("--clips", type=int, default=54, help="How many clips, spread over the plan (default 54: all of small).")
    parser.add_argument("--seconds", type=float, default=None, help="Clip length (default the preset's).")
    parser.add_argument("--detectors", default="yunet,haar", help="Comma-separated detector names (default yunet,haar).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Processes (default one per core).")
    parser.add_argument("--sampling", action="store_true", help="Also time the two ways of sampling frames.")
    parser.add_argument("--no-save", action="store_true", help="Do not write bench/results/frames-<time>.json.")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    import django

    django.setup()
    figures: dict = {"size": args.size, "clips": args.clips, "detectors": {}}
    with tempfile.TemporaryDirectory(prefix="frames-bench-") as tmp:
        folder = Path(tmp) / "export"
        started = time.perf_counter()
        facts = export_build(folder, args.size, args.clips, args.seconds, args.workers)
        print(f"{len(facts)} clips of the {args.size} demo study rendered and transcoded in {time.perf_counter() - started:.1f} s")
        for name in args.detectors.split(","):
            result = detector_run(folder, name.strip(), facts, args.workers)
            figures["detectors"][name] = result
            share = lambda r: "no clips" if r is None else f"{100 * r:.1f}%"  # noqa: E731
            print(
                f"{result['detector']:6} ({result['version']}): {result['videos']} videos, {result['frames']} frames, "
                f"face detected in {share(result['detection_rate'])} (real {share(result['rate_real'])}, "
                f"fake {share(result['rate_fake'])}), previous box {result['previous_box']}, centre "
                f"{result['centre']}; {result['seconds_per_video']:.2f} s per video, {result['wall_seconds']:.1f} s in all "
                f"with {result['workers']} worker(s)"
            )
            for worst in result["worst"]:
                print(f"    {worst['rate']:.2f}  {worst['clip']}  {worst['artifacts']}")
    if args.sampling:
        figures["sampling_ms"] = sampling_compare()
        for what, ms in figures["sampling_ms"].items():
            print(f"sampling {what}: {ms} ms")
    if not args.no_save:
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / f"frames-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
