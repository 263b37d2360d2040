"""The benchmark's command line: its options, then one run (database, gunicorn, phases, checks, figures)."""
from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import time
from pathlib import Path

from . import ROOT
from .database import autovacuum_setting, configure_environment, recreate_database
from .integrity import verify_database
from .measure import measure
from .probe import probe_queries
from .report import TARGET_RATE, fmt_lat, print_integrity, print_phase, print_probe, print_targets
from .seed import SLUG, VIDEOS_PER_SESSION, seed_history, setup_campaign
from .server import (DEFAULT_KEEPALIVE, DEFAULT_SWEEP, DEFAULT_THREADS, DEFAULT_WORKER_CLASS, DEFAULT_WORKERS,
                     Gunicorn, parse_config)


def parse_args(argv=None):
    """Returns the options of `argv` (the command line by default), `phases` as a list of names."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.annotation_load",
        description="Load benchmark of the annotation flow (rating submits) against gunicorn + PostgreSQL. "
                    "Recreates the database --db, starts gunicorn, runs the phases and prints figures and targets.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--annotators", type=int, default=64, help="concurrent simulated annotators (connections)")
    parser.add_argument("--seconds", type=float, default=30, help="measured duration of each phase")
    parser.add_argument("--warmup", type=float, default=5, help="warm-up before each phase's measurement")
    parser.add_argument("--think", type=float, default=0, help="mean think time between submits in the saturation phase (0 = saturate)")
    parser.add_argument("--no-stagger", action="store_true",
                        help="every annotator starts with a full session (all take the lecture at once at the start)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="total submissions/s of the paced phase")
    parser.add_argument("--phases", default="bare,saturation,resave,paced",
                        help="comma-separated subset of: bare, saturation, resave (the submit alone), paced, "
                             "launch (session starts of new annotators; not in the default)")
    parser.add_argument("--resave-warmup", type=float, default=25,
                        help="warm-up of the resave phase: every annotator must be through onboarding and one "
                             "pass of its session before the measurement starts")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database)")
    parser.add_argument("--db", default="dream_bench", help="database to DROP and recreate (must contain 'bench')")
    parser.add_argument("--videos", type=int, default=400, help="regular video rows")
    parser.add_argument("--checkers", type=int, default=20, help="checker video rows")
    parser.add_argument("--history", type=int, default=1500,
                        help="qualified sessions (40 ratings each) the campaign holds before the phases: a study "
                             "under way, whose tables and planner statistics have a realistic size (0: start empty)")
    parser.add_argument("--worker-class", default=DEFAULT_WORKER_CLASS, choices=["sync", "gthread"])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--keep-alive", type=int, default=DEFAULT_KEEPALIVE, help="gunicorn --keep-alive (gthread; 0 = close)")
    parser.add_argument("--sweep", nargs="?", const=DEFAULT_SWEEP, default=None, metavar="CONFIGS",
                        help="first run a short saturation phase per gunicorn config (class:WORKERSxTHREADS[:KEEPALIVE], "
                             "comma-separated) and keep the fastest for the real phases")
    parser.add_argument("--sweep-seconds", type=float, default=10, help="measured seconds per sweep config")
    parser.add_argument("--ceiling-configs", default="gthread:2x4",
                        help="gunicorn configs (comma-separated, as in --sweep) under which the bare phase also runs; "
                             "the fastest bare insert of all is the ceiling of the ratio ('' = the run's config only)")
    parser.add_argument("--wait-quiet", type=float, default=60,
                        help="before each phase wait up to this many seconds for other programs to calm down")
    parser.add_argument("--quiet-limit", type=float, default=25,
                        help="'calm' = the machine busy below this %% of one core while gunicorn idles")
    parser.add_argument("--view-cpu", action="store_true",
                        help="record Django CPU, wall time and SQL statements per view inside gunicorn (bench/viewcpu.py, "
                             "a middleware that costs a little) and print them per phase")
    parser.add_argument("--settings", default="bench.settings",
                        help="Django settings module for gunicorn and this process (to measure a variant; it must keep "
                             "bench.urls' /bench/bare-insert/)")
    parser.add_argument("--request-timeout", type=float, default=30, help="client timeout per request (s)")
    parser.add_argument("--no-probe", action="store_true", help="skip the in-process SQL-query count of the flow")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one submit")
    parser.add_argument("--profile", action="store_true", help="cProfile 37 in-process submits and print the top")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here (default bench/results/)")
    args = parser.parse_args(argv)
    if "bench" not in args.db:
        parser.error("--db must contain 'bench': it is dropped and recreated")
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - {"bare", "saturation", "paced", "resave", "launch"}
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    return args


def _terminate(*_):
    raise KeyboardInterrupt  # a kill of the benchmark still stops gunicorn (see the finally below)


def main(argv=None) -> int:
    """Run the benchmark once. Returns the exit status: 0, or 130 when interrupted."""
    args = parse_args(argv)
    env = configure_environment(args)
    run_id = time.strftime("%H%M%S") + secrets.token_hex(2)
    log_path = ROOT / "bench" / "results" / f"gunicorn-{run_id}.log"
    if args.view_cpu:
        view_dir = ROOT / "bench" / "results" / f"viewcpu-{run_id}"
        view_dir.mkdir(parents=True, exist_ok=True)
        env = {**env, "BENCH_VIEW_CPU_DIR": str(view_dir)}
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even where SIGINT was inherited ignored

    print(f"Setting up database {args.db!r} (dropped and recreated), campaign {SLUG!r}: "
          f"{args.videos} regular + {args.checkers} checker + 5 demo video rows.")
    print("Note: video rows point at fake files; the benchmark does not download video bytes "
          "(it measures the pages and the rating API only).")
    recreate_database(args)
    choices = setup_campaign(args)
    seeded_last_id = 0
    if args.history:
        started = time.perf_counter()
        seeded_last_id = seed_history(args.history)
        print(f"History: {args.history} earlier annotators with a qualified session each "
              f"({args.history * VIDEOS_PER_SESSION} ratings) seeded in {time.perf_counter() - started:.1f} s.")
    if autovacuum_setting(args) != "on":
        print("Note: autovacuum is off on this PostgreSQL server; the benchmark runs VACUUM ANALYZE on its database "
              "before each phase, as autovacuum would in production (without it the session-start query degrades "
              "to a nested loop and the lecture step takes seconds).")

    phases: list[dict] = []
    sweep: list[dict] = []
    ceilings: list[dict] = []  # bare phases under the --ceiling-configs
    config = (args.worker_class, args.workers, args.threads, args.keep_alive)
    gunicorn: Gunicorn | None = None
    try:
        if args.sweep:
            print(f"\nSweep: {args.sweep_seconds:.0f} s of saturation per gunicorn config ({args.annotators} annotators)")
            for text in args.sweep.split(","):
                gunicorn = Gunicorn(env, *parse_config(text), log_path)
                base = gunicorn.start()
                res = measure("sweep", "annotate", base, args, choices, gunicorn, run_id, seconds=args.sweep_seconds)
                if res["cpu_percent"]["other"] > args.quiet_limit:  # disturbed by other programs: once more
                    phases.append(res)
                    res = measure("sweep", "annotate", base, args, choices, gunicorn, run_id, seconds=args.sweep_seconds)
                gunicorn.stop()
                res["config"] = gunicorn.label
                phases.append(res)
                sweep.append({"config": text, "label": gunicorn.label, "throughput": res["throughput"],
                              "server_cpu_ms": res["server_cpu_ms"],
                              "latency_ms": res["latency_ms"], "errors": res["error_count"], "cpu": res["cpu_percent"]})
                print(f"  {gunicorn.label:<38} {res['throughput']:7.1f} submissions/s   "
                      f"{fmt_lat(res['latency_ms'])}   errors {res['error_count']}   server CPU {res['server_cpu_ms']} ms/submit   "
                      f"CPU busy {res['cpu_percent']['busy']}% "
                      f"(other programs {res['cpu_percent']['other']}%)")
                if res["errors"]:
                    print("      errors: " + "; ".join(f"{k}: {v}" for k, v in res["errors"].items()))
            best = max(sweep, key=lambda s: (s["errors"] == 0, s["throughput"]))
            config = parse_config(best["config"])
            print(f"  -> keeping {best['label']}")

        gunicorn = Gunicorn(env, *config, log_path)
        base = gunicorn.start()
        print(f"\ngunicorn config.wsgi:application on {base}: {gunicorn.label}, DEBUG=0, "
              f"settings {args.settings}; log {log_path.relative_to(ROOT)}")
        results = {}
        if "bare" in args.phases:
            results["bare"] = measure("bare", "bare", base, args, choices, gunicorn, run_id)
            print_phase(results["bare"], "Bare Django view, one INSERT per request (ceiling), saturation")
        if "saturation" in args.phases:
            results["saturation"] = measure("saturation", "annotate", base, args, choices, gunicorn, run_id)
            print_phase(results["saturation"], "Annotation flow, saturation")
        if "resave" in args.phases:
            results["resave"] = measure("resave", "resave", base, args, choices, gunicorn, run_id,
                                        warmup=max(args.warmup, args.resave_warmup))
            print_phase(results["resave"], "The submit alone (answers saved again, no other pages), saturation")
        if "paced" in args.phases:
            results["paced"] = measure("paced", "annotate", base, args, choices, gunicorn, run_id, rate=args.rate)
            print_phase(results["paced"], f"Annotation flow, paced at {args.rate:.0f} submissions/s")
        if "launch" in args.phases:
            results["launch"] = measure("launch", "launch", base, args, choices, gunicorn, run_id)
            print_phase(results["launch"], "A study's launch: new annotators through onboarding to the session start")
        phases.extend(r for r in results.values() if r["mode"] in ("annotate", "resave"))
        if "bare" in args.phases:
            # The ceiling is the stack's best bare insert, not the one under the settings that suit the
            # annotation flow: more threads help requests that wait on PostgreSQL and cost the bare
            # insert GIL hand-offs. So the bare phase also runs under --ceiling-configs.
            results["bare"]["config"] = gunicorn.label
            for text in filter(None, args.ceiling_configs.split(",")):
                if parse_config(text) == tuple(config):
                    continue
                gunicorn.stop()
                gunicorn = Gunicorn(env, *parse_config(text), log_path)
                other = measure("bare", "bare", gunicorn.start(), args, choices, gunicorn, run_id)
                other["config"] = gunicorn.label
                print_phase(other, f"Bare Django view under {gunicorn.label} (for the ceiling)")
                ceilings.append(other)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping gunicorn.", file=sys.stderr)
        return 130
    finally:
        if gunicorn is not None:
            gunicorn.stop()

    integrity = verify_database(phases, seeded_last_id)
    print_integrity(integrity)

    probe = None
    if not args.no_probe:
        probe = probe_queries(choices, args.show_queries, args.profile)
        print_probe(probe, args.show_queries, args.profile)

    ratio = print_targets(results, ceilings, integrity, args.annotators, args.rate)

    out = args.json or ROOT / "bench" / "results" / f"annotation_load-{run_id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("acked", "in_doubt")}  # noqa: E731
    out.write_text(json.dumps({
        "gunicorn": Gunicorn(env, *config, log_path).label, "sweep": sweep,
        "phases": {k: strip(v) for k, v in results.items()}, "ceilings": [strip(r) for r in ceilings], "ratio": ratio,
        "integrity": integrity, "probe": probe and {k: v for k, v in probe.items() if k != "profile"},
    }, indent=2, default=str))
    print(f"\nResults written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0

