"""Dataset export at DREAM scale and ten times that, end to end on PostgreSQL: seconds per stage and peak memory.

For each scale it writes a campaign of synthetic ratings (bench/analysis_stats.synthesize through
bench/analysis_scale.load_campaign: 3,500 annotators, 1,520 videos, about 150,000 ratings with
reasons at scale 1), gives its videos methods (35 face-swap methods, 3 kinds of real video, as in
the paper; the analysis bench writes none), and builds one export in this process the way
`manage.py export_dataset` does (services.export_start + services.export_run_here: ratings
streamed to CSV and Parquet, videos, 10 splits, sureal file, manifest; no videos copied). It
prints the seconds of every stage and end to end, the ratio between the largest and the smallest
scale, and the export's size.

Each build runs in a fresh Python process (this file with --child), so its memory is its own and
not what writing the synthetic campaign left behind. Peak memory, two ways: `max RSS` is the
child's peak resident set, Linux's VmHWM (everything: Python, Django, numpy, pandas, Arrow's
buffers), printed with the resident set the child had after starting Django and before the build
(not ru_maxrss: Linux carries that across exec from the parent, which holds the synthetic data); `traced` is tracemalloc's
peak per stage and over the whole build (numpy, pandas and Python allocations; Arrow's own
buffers are not seen), on a second build in another child so that tracing does not slow the
timed one.

Targets: peak memory bounded (the same at ten times the data, give or take the per-video and
per-annotator tables, which grow with videos and annotators, not ratings) and time linear (ten
times the data in about ten times the time).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analysis_scale import MIB, _rss_kib, load_campaign, prepare_database  # noqa: E402

FAKE_METHODS, REAL_METHODS = 35, 3


def label_methods(campaign_id: int) -> None:
    """Give the campaign's videos methods: fakes one of 35 face-swap methods, real videos one of 3 real kinds."""
    from annotation.models import Video

    videos = list(Video.objects.filter(campaign_id=campaign_id).order_by("pk"))
    for i, video in enumerate(videos):
        video.method = f"real-{i % REAL_METHODS}" if video.is_real else f"fs{i % FAKE_METHODS:02d}"
    Video.objects.bulk_update(videos, ["method"], batch_size=5000)


def build(campaign_id: int, *, traced: bool) -> dict:
    """One export of the campaign in this process; seconds (or traced peaks) per stage and in all, and the export's bytes."""
    from analysis.export import selectors, services
    from annotation.models import Campaign

    campaign = Campaign.objects.get(pk=campaign_id)
    peaks: dict[str, int] = {}
    current = {"stage": None}

    def on_stage(name: str) -> None:
        if traced:
            if current["stage"] is not None:
                peaks[current["stage"]] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
        current["stage"] = name

    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        job = services.export_start(campaign=campaign, enqueue=lambda job_id: None)
        job = services.export_run_here(job, on_stage=on_stage)
    finally:
        total = time.perf_counter() - started
        if traced:
            peaks[current["stage"]] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    folder = selectors.export_folder(job)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return {"seconds": dict(job.stage_seconds), "total": total, "peaks": peaks, "bytes": size, "ratings": job.summary["ratings"]}


def _django(database_url: str, artifacts: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["JOBS_ARTIFACT_ROOT"] = str(artifacts)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def child(campaign_id: int, *, traced: bool, database_url: str, artifacts: Path) -> None:
    """Build one export in this fresh process and print its figures as JSON (the last line of output)."""
    _django(database_url, artifacts)
    import analysis.export.stages  # noqa: F401 - imported before the baseline, like a worker that has served a job

    baseline, _ = _rss_kib()
    run = build(campaign_id, traced=traced)
    run["rss_baseline"] = baseline * 1024
    run["max_rss"] = _rss_kib()[1] * 1024  # VmHWM of this process's own address space
    print(json.dumps(run))


def in_child(campaign_id: int, *, traced: bool, database_url: str, artifacts: Path) -> dict:
    command = [sys.executable, __file__, "--child", str(campaign_id), "--database-url", database_url, "--artifacts", str(artifacts)]
    done = subprocess.run(command + (["--traced"] if traced else []), capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"the export failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0], help="data sizes relative to DREAM (default 1 10)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
                        help="server URL without the database name")
    parser.add_argument("--database", default="dream_export_bench", help="database to (re)create")
    parser.add_argument("--no-trace", action="store_true", help="skip the traced build (tracemalloc peaks)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # internal: build campaign CHILD's export here
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--artifacts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, traced=args.traced, database_url=args.database_url, artifacts=args.artifacts)
        return
    scales = sorted(args.scales)

    database_url = prepare_database(args.database, args.postgres)
    artifacts = Path(tempfile.mkdtemp(prefix="export-bench-"))
    _django(database_url, artifacts)
    from django.core.management import call_command

    from analysis.export.stages import STAGE_NAMES
    from bench.analysis_stats import synthesize

    call_command("migrate", verbosity=0)
    runs: dict[float, dict] = {}
    try:
        for scale in scales:
            frame = synthesize(scale=scale, seed=0)
            t0 = time.perf_counter()
            campaign_id = load_campaign(f"s{scale:g}", frame)
            label_methods(campaign_id)
            written = time.perf_counter() - t0
            print(f"\nscale {scale:g}: {len(frame):,} ratings ({int(frame['qualified'].sum()):,} qualified, exported), "
                  f"{frame['annotator'].nunique():,} annotators, {frame['video'].nunique():,} videos (written in {written:.1f} s, not timed)")
            del frame
            run = in_child(campaign_id, traced=False, database_url=database_url, artifacts=artifacts)
            if not args.no_trace:
                run["peaks"] = in_child(campaign_id, traced=True, database_url=database_url, artifacts=artifacts)["peaks"]
            for stage in STAGE_NAMES:
                traced = f"   traced peak {run['peaks'][stage] / MIB:7.1f} MiB" if run["peaks"] else ""
                print(f"  {stage:<10} {run['seconds'][stage]:8.2f} s{traced}")
            print(f"  {'total':<10} {run['total']:8.2f} s   traced peak {max(run['peaks'].values(), default=0) / MIB:7.1f} MiB   "
                  f"max RSS {run['max_rss'] / MIB:,.0f} MiB (+{(run['max_rss'] - run['rss_baseline']) / MIB:,.0f} MiB over the process before the build)   "
                  f"export {run['bytes'] / 1e6:,.0f} MB")
            runs[scale] = run
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)

    low, high = scales[0], scales[-1]
    if low == high:
        return
    label = f"{high:g}x/{low:g}x"
    print(f"\nacross scales ({label}: ratings {runs[high]['ratings'] / runs[low]['ratings']:.1f}x)")
    print(f"  {'stage':<10}" + "".join(f"{f'{s:g}x s':>10}" for s in scales) + f"{label:>10}"
          + ("".join(f"{f'{s:g}x MiB':>11}" for s in scales) if runs[low]["peaks"] else ""))
    for stage in [*STAGE_NAMES, "total"]:
        seconds = [runs[s]["total"] if stage == "total" else runs[s]["seconds"][stage] for s in scales]
        peaks = [max(runs[s]["peaks"].values()) if stage == "total" else runs[s]["peaks"][stage] for s in scales] if runs[low]["peaks"] else []
        print(f"  {stage:<10}" + "".join(f"{v:10.2f}" for v in seconds) + f"{seconds[-1] / max(seconds[0], 1e-9):10.1f}"
              + "".join(f"{p / MIB:11.1f}" for p in peaks))
    ratio = runs[high]["total"] / runs[low]["total"]
    print(f"  time: {ratio:.1f}x for {runs[high]['ratings'] / runs[low]['ratings']:.1f}x the ratings")
    print("  max RSS of the build's process (VmHWM; growth over the process before the build): "
          + ", ".join(f"{runs[s]['max_rss'] / MIB:,.0f} MiB (+{(runs[s]['max_rss'] - runs[s]['rss_baseline']) / MIB:,.0f}) at {s:g}x" for s in scales))


if __name__ == "__main__":
    main()
