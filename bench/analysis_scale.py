"""Analysis pipeline at DREAM scale and ten times that, end to end on PostgreSQL, with time and memory per stage.

For each scale it writes a campaign of synthetic ratings (bench/analysis_stats.synthesize: 3,500
annotators, 1,520 videos, about 150,000 ratings at scale 1) into a fresh PostgreSQL database, runs
one analysis the way the dashboard starts it (services.analysis_run_start; stages in-process, no
broker), and prints the seconds of every stage, load from PostgreSQL and store included, and the
end-to-end time. Then it runs every stage function again on the loaded ratings frame, as a stage
task does (texts only for the stage that reads them), and prints per stage its CPU seconds
(process_time, best of two: the machine is shared), its peak memory and the ratio between the
largest and the smallest scale. Peak memory is measured two ways: `traced` is tracemalloc's peak
during the stage (numpy, pandas and Python allocations; Arrow string buffers are not seen), in a
separate run so tracing does not slow the timed one; `rss` is the growth of the resident set
during the timed run (Linux VmHWM, reset before each stage through /proc/self/clear_refs; memory
that the allocator reuses is not counted again, so it is a lower bound and gets no ratio). Load is measured the same
way (selectors.campaign_pipeline_frame, what the load stage reads). Finally it prints, for MOS with CI, BT.500 screening and
the maximum-likelihood subject model, the ratio of sureal's time to ours on the same data in the
same run.

Targets: DREAM scale end to end in at most 10 s; ten times the data in at most ten times the time,
each stage in at most twelve times, with peak memory proportional to the ratings; every shared
model at least 20 times faster than sureal.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare_database(name: str, base_url: str) -> str:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def load_campaign(slug: str, frame) -> int:
    """Write the synthetic ratings as a campaign (bulk rows, ratings by COPY); returns the campaign id."""
    from django.db import connection
    from django.utils import timezone

    from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Video

    now = timezone.now()
    campaign = Campaign.objects.create(slug=slug, title=f"Scale {slug}", target_ratings_per_video=100)
    videos = np.unique(frame["video"].to_numpy())
    fake = frame.groupby("video")["is_fake"].first()
    content = frame.groupby("video")["content"].first()
    video_rows = Video.objects.bulk_create(
        (Video(campaign=campaign, content_hash=f"{slug}-{v:08d}".ljust(64, "0"), source_name=f"v{v}.mp4",
               file=f"videos/{slug}-{v}.mp4", poster=f"posters/{slug}-{v}.jpg", identity_pair=f"pair{content[v]}",
               is_real=not fake[v]) for v in videos),
        batch_size=5000,
    )
    video_id = dict(zip(videos.tolist(), [v.pk for v in video_rows]))
    people = frame.groupby("annotator")[["age", "gender", "education", "prior_knowledge"]].first()
    annotator_rows = Annotator.objects.bulk_create(
        (Annotator(campaign=campaign, source="prolific", external_id=f"{slug}-{a}", consented_at=now, demographics_at=now,
                   age_group=r.age[:8], gender=r.gender[:12], education=r.education[:10], prior_knowledge=r.prior_knowledge[:8])
         for a, r in people.iterrows()),
        batch_size=5000,
    )
    annotator_id = dict(zip(people.index.tolist(), [a.pk for a in annotator_rows]))
    session_rows = AnnotationSession.objects.bulk_create(
        (AnnotationSession(campaign=campaign, annotator_id=annotator_id[a], status="qualified", last_activity_at=now, finished_at=now)
         for a in people.index),
        batch_size=5000,
    )
    session_id = dict(zip(people.index.tolist(), [s.pk for s in session_rows]))
    attempts = frame.groupby(["annotator", "attempt"])["qualified"].first().reset_index()
    attempt_rows = Attempt.objects.bulk_create(
        (Attempt(session_id=session_id[r.annotator], number=int(r.attempt), video_order=[],
                 outcome="qualified" if r.qualified else "disqualified", lecture_completed_at=now, finished_at=now)
         for r in attempts.itertuples()),
        batch_size=5000,
    )
    attempt_id = {(r.annotator, r.attempt): a.pk for r, a in zip(attempts.itertuples(), attempt_rows)}
    position = frame.groupby(["annotator", "attempt"]).cumcount().to_numpy() + 1
    attempt_col = np.fromiter((attempt_id[k] for k in zip(frame["annotator"].tolist(), frame["attempt"].tolist())), dtype=np.int64)
    video_col = frame["video"].map(video_id).to_numpy()
    stamp = now.isoformat()
    buffer = io.StringIO()
    reasons = frame["reason"].str.replace("\t", " ").to_numpy()
    for i in range(len(frame)):
        buffer.write(f"{attempt_col[i]}\t{video_col[i]}\t{position[i]}\t{int(frame['score'].iat[i])}\t{reasons[i]}\t{reasons[i]}\t"
                     f"{stamp}\t{frame['seconds'].iat[i]:.2f}\tt\t1\t0\tf\t{stamp}\t{stamp}\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY annotation_rating (attempt_id, video_id, position, score, reason, typed_reason, served_at, seconds_spent, "
            "played_to_end, plays, seeks, fullscreen, created_at, updated_at) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute("ANALYZE")
    return campaign.pk


def run_pipeline(campaign_id: int) -> tuple[float, dict, object]:
    from analysis import services
    from analysis.models import AnalysisRun, StageResult
    from annotation.models import Campaign

    campaign = Campaign.objects.get(pk=campaign_id)
    started = time.perf_counter()
    run = services.analysis_run_start(campaign=campaign)
    total = time.perf_counter() - started
    run.refresh_from_db()
    if run.status != AnalysisRun.Status.COMPLETED:
        raise SystemExit(f"the run did not complete: {run.status} in {run.stage}: {run.error}")
    seconds = dict(StageResult.objects.filter(run=run).values_list("stage", "seconds"))
    return total, seconds, run


MIB = 1024 * 1024
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size in KiB, from /proc/self/status; (0, 0) off Linux."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0


def measured(fn: Callable[[], object]) -> tuple[float, int, object]:
    """Run fn once: CPU seconds, growth of the resident set during the run (bytes), the result."""
    try:
        _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass
    rss_before, _ = _rss_kib()
    started = time.process_time()
    result = fn()
    seconds = time.process_time() - started
    _, peak = _rss_kib()
    return seconds, max(0, peak - rss_before) * 1024, result


def traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (tracemalloc) while fn runs, above what was allocated when it started."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(0, peak - base)


def stage_figures(campaign_id: int) -> dict[str, dict[str, float]]:
    """Per stage (load included): CPU seconds, rss growth and traced peak, on the campaign's ratings."""
    from analysis import pipeline, selectors
    from annotation.models import Campaign

    campaign = Campaign.objects.get(pk=campaign_id)
    figures: dict[str, dict[str, float]] = {}
    load = lambda: selectors.campaign_pipeline_frame(campaign)  # noqa: E731
    seconds, rss, frame = measured(load)
    figures["load"] = {"cpu": seconds, "rss": rss, "traced": traced_peak(load)}
    core = frame.drop(columns=[c for c in pipeline.TEXT_COLUMNS if c in frame.columns])
    params = pipeline.Parameters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for stage in pipeline.STAGES:
            data = frame if stage.needs_text else core
            run = lambda: pipeline.run_stage(stage.name, data, params)  # noqa: E731
            best = min((measured(run)[:2] for _ in range(2)), key=lambda r: r[0])
            figures[stage.name] = {"cpu": best[0], "rss": best[1], "traced": traced_peak(run)}
    return figures


def print_scaling(scales: list[float], runs: dict[float, dict], figures: dict[float, dict]) -> None:
    """The per-stage table across scales, with the ratio of the largest scale to the smallest."""
    low, high = scales[0], scales[-1]
    label = f"{high:g}x/{low:g}x"
    lw = max(8, len(label) + 1)  # width of the ratio columns
    print(f"\nper stage across scales ({label}: the ratio between the largest and the smallest scale; "
          f"target for 10x data: time <= 12x, memory ~10x)")
    header = "".join(f"{f'{s:g}x':>9}" for s in scales)
    print(f"  {'':<12} {'run wall s (services)':^{9 * len(scales) + lw}}   {'CPU s (stage function)':^{9 * len(scales) + lw}}")
    print(f"  {'stage':<12}{header}{label:>{lw}}   {header}{label:>{lw}}")
    names = list(runs[low]["seconds"])
    for name in names:
        wall = [runs[s]["seconds"].get(name, float("nan")) for s in scales]
        cpu = [figures[s][name]["cpu"] for s in scales] if name in figures[low] else []
        print(f"  {name:<12}" + "".join(f"{v:9.2f}" for v in wall) + f"{wall[-1] / wall[0]:{lw}.1f}   "
              + ("".join(f"{v:9.2f}" for v in cpu) + f"{cpu[-1] / cpu[0]:{lw}.1f}" if cpu else "(not a stage function)"))
    wall = [runs[s]["total"] for s in scales]
    print(f"  {'end to end':<12}" + "".join(f"{v:9.2f}" for v in wall) + f"{wall[-1] / wall[0]:{lw}.1f}")

    # The rss growth is a lower bound (memory the allocator reuses from earlier work does not grow
    # the resident set), so it gets no ratio: at 1x it is often zero.
    print(f"\n  peak memory, MiB   {'traced (tracemalloc)':^{9 * len(scales) + lw}}   rss growth (VmHWM, a lower bound)")
    print(f"  {'stage':<12}{header}{label:>{lw}}   {header}")
    for name in figures[low]:
        traced = [figures[s][name]["traced"] / MIB for s in scales]
        rss = [figures[s][name]["rss"] / MIB for s in scales]
        print(f"  {name:<12}" + "".join(f"{v:9.1f}" for v in traced) + f"{traced[-1] / traced[0]:{lw}.1f}   "
              + "".join(f"{v:9.1f}" for v in rss))
    per_rating = [max(f["traced"] for f in figures[s].values()) / runs[s]["ratings"] for s in scales]
    print(f"  largest traced peak per rating: " + ", ".join(f"{v:,.0f} B at {s:g}x" for v, s in zip(per_rating, scales)))
    print("  process max RSS after each scale (ru_maxrss, monotone): "
          + ", ".join(f"{runs[s]['max_rss'] / MIB:,.0f} MiB at {s:g}x" for s in scales))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0], help="data sizes relative to DREAM (default 1 10)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
                        help="server URL without the database name")
    parser.add_argument("--database", default="dream_analysis_bench", help="database to (re)create")
    parser.add_argument("--no-sureal", action="store_true", help="skip the comparison with sureal")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage CPU and memory runs")
    args = parser.parse_args(argv)
    scales = sorted(args.scales)

    os.environ["DATABASE_URL"] = prepare_database(args.database, args.postgres)
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from bench.analysis_stats import synthesize

    call_command("migrate", verbosity=0)
    runs: dict[float, dict] = {}
    figures: dict[float, dict] = {}
    for scale in scales:
        frame = synthesize(scale=scale, seed=0)
        t0 = time.perf_counter()
        campaign_id = load_campaign(f"s{scale:g}", frame)
        load_seconds = time.perf_counter() - t0
        total, seconds, run = run_pipeline(campaign_id)
        print(f"\nscale {scale:g}: {len(frame):,} ratings, {frame['annotator'].nunique():,} annotators, "
              f"{frame['video'].nunique():,} videos (written in {load_seconds:.1f} s, not timed below)")
        for stage, value in seconds.items():
            print(f"  {stage:<12} {value:8.2f} s")
        print(f"  {'end to end':<12} {total:8.2f} s   (target at scale 1: <= 10 s)")
        print(f"  SOS a {run.summary['sos_a_before']:.3f} -> {run.summary['sos_a_after']:.3f}")
        runs[scale] = {"seconds": seconds, "total": total, "ratings": len(frame)}
        del frame
        if not args.no_stages:
            figures[scale] = stage_figures(campaign_id)
        runs[scale]["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    totals = {scale: r["total"] for scale, r in runs.items()}
    if 1.0 in totals and 10.0 in totals:
        ratio = totals[10.0] / totals[1.0]
        print(f"\n10x data took {ratio:.1f}x the time (target <= 10x): {'met' if ratio <= 10 else 'MISSED'}")
    if 1.0 in totals:
        print(f"DREAM scale end to end: {totals[1.0]:.2f} s: {'met' if totals[1.0] <= 10 else 'MISSED'}")
    if len(scales) > 1 and not args.no_stages:
        print_scaling(scales, runs, figures)

    if args.no_sureal:
        return
    from analysis.stats import opinion, subjects
    from bench.analysis_stats import sureal_runner, timed

    frame = synthesize(scale=1.0, seed=0)
    qualified = frame[frame["qualified"]][["video", "annotator", "score"]]
    sureal = sureal_runner(qualified)
    print("\nshared models on the same 1x qualified ratings (ours best of 3; sureal once):")
    comparisons = (
        ("MOS with CI", lambda: opinion.opinion_scores(qualified), ("MosModel", {})),
        ("BT.500 rejection", lambda: subjects.mos_model(qualified, reject_subjects=True), ("SubjrejMosModel", {})),
        # Both stop at the same loose threshold (same iterations: the updates are identical); the
        # full convergence comparison is in bench/analysis_stats.py.
        ("MLE content-oblivious, delta_thr 0.1", lambda: subjects.mle_model(qualified, content_aware=False, delta_thr=0.1),
         ("MaximumLikelihoodEstimationModelContentOblivious", {"delta_thr": 0.1})),
    )
    for name, ours, (model, kwargs) in comparisons:
        ours_seconds, _ = timed(ours, repeat=3)
        theirs_seconds, _ = sureal(model, **kwargs)
        print(f"  {name:<42} ours {ours_seconds:7.3f} s   sureal {theirs_seconds:7.2f} s   ratio {theirs_seconds / ours_seconds:6.0f}x (target >= 20x)")


if __name__ == "__main__":
    main()
