"""Soak test: simulated annotators against gunicorn + PostgreSQL + a Celery worker for half an hour,
analysis runs repeating, one worker killed mid-analysis and one database restart.

What it does, in one run:

1. Starts its own services (unless told to use given ones): a PostgreSQL cluster (initdb into a
   temporary folder, pg_ctl on a free port; as the `postgres` user when run as root) and a
   redis-server on a free port. It never stops or restarts any other server: the database restart
   it injects is `pg_ctl restart -m fast` of its own cluster (or --pg-restart-command with --pg).
2. Builds the campaign as the annotation load benchmark does (bench/annotation_load/seed.py: the
   `bench` campaign with fake video rows, a seeded history of --history qualified sessions, so the
   analysis has something to compute from the first minute), then starts gunicorn (gthread) and
   one Celery worker (prefork, one process, acks late, as production).
3. For --minutes, --annotators simulated annotators go through the real flow (entry, consent,
   demographics, lecture, 40 rating submits, review, Finish; the load benchmark's client,
   bench/annotation_load/clients.py) with --think seconds between submits; a rating answered 503
   or not at all is sent again, as the rating page's script does. Meanwhile an analysis run is
   started, awaited and started again (--analysis-pause seconds apart).
4. Faults: at --kill-at of the duration, once a run is inside a stage, the worker's process group
   gets SIGKILL and a new worker is started; at --restart-at the database is restarted.
5. Prints requests served, errors by kind, ratings acknowledged against ratings stored (every
   2xx-acknowledged rating must be in the database exactly once), analysis runs started and
   completed (each completed exactly once, with every stage's result stored once; none shown as
   the campaign's latest complete run while partial), and the p95 latency of rating submits (and
   of all requests) before, during and after each fault. Exit status 0 when the accounting holds,
   1 when it does not, 130 when interrupted.

Run:  .venv/bin/python bench/soak.py                 (30 minutes; --minutes 2 to try it)
      .venv/bin/python bench/soak.py --minutes 5 --annotators 32 --think 0.5
      .venv/bin/python bench/soak.py --pg postgres://postgres@127.0.0.1:5433 --db dream_soak \\
          --pg-restart-command 'pg_ctlcluster 15 other restart -m fast' --redis redis://127.0.0.1:6380/0
"""
from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

if not __package__:  # run as a file: sys.path[0] is bench/, where the repository belongs
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.annotation_load import ROOT  # noqa: E402
from bench.annotation_load.clients import annotator_loop  # noqa: E402
from bench.annotation_load.phase import Phase, percentiles  # noqa: E402
from bench.annotation_load.server import Gunicorn, free_port  # noqa: E402

# --- Options ------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/soak.py",
        description="Soak test: concurrent simulated annotators against gunicorn + PostgreSQL + a Celery worker "
                    "while analysis runs repeat, with one worker killed mid-analysis and one database restart. "
                    "Starts its own PostgreSQL cluster and redis-server unless --pg / --redis name others.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30, help="duration of the soak (faults included)")
    parser.add_argument("--annotators", type=int, default=24, help="concurrent simulated annotators")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between an annotator's submits (s)")
    parser.add_argument("--kill-at", type=float, default=0.3,
                        help="fraction of the duration after which the worker is killed (once a run is inside a stage)")
    parser.add_argument("--restart-at", type=float, default=0.65, help="fraction of the duration at which the database restarts")
    parser.add_argument("--analysis-pause", type=float, default=5, help="seconds between one analysis run's end and the next start")
    parser.add_argument("--analysis-parameters", default='{"consistency_repetitions": 3}',
                        help="parameters of every analysis run (JSON)")
    parser.add_argument("--history", type=int, default=300,
                        help="qualified sessions (40 ratings each) seeded before the soak, so the analysis has data")
    parser.add_argument("--videos", type=int, default=200, help="regular video rows")
    parser.add_argument("--checkers", type=int, default=20, help="checker video rows")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (gthread)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--visibility-timeout", type=int, default=30,
                        help="seconds after which a killed worker's unacknowledged stage is handed out again; "
                             "must outlast the longest stage (a live worker would otherwise get its own task again)")
    parser.add_argument("--retry-seconds", type=float, default=90,
                        help="how long an annotator keeps re-sending a rating answered 503 or not at all")
    parser.add_argument("--drain", type=float, default=300, help="at the end, wait up to this long for the last analysis run")
    parser.add_argument("--progress", type=float, default=None,
                        help="seconds between progress lines (default: a twentieth of the duration, at least 10)")
    parser.add_argument("--entry-rate-limit", type=int, default=0,
                        help="ENTRY_RATE_LIMIT of the web process: entries per client address per 10 minutes (0: off). "
                             "Every simulated annotator comes from 127.0.0.1, so the platform's default (120) turns "
                             "most of them away with 429 after the first minutes; give it to measure the limit itself")
    parser.add_argument("--request-timeout", type=float, default=30, help="client timeout per request (s)")
    parser.add_argument("--pg", default=None,
                        help="use this PostgreSQL server (URL without database) instead of starting one; needs "
                             "--pg-restart-command. Never point it at a server others use: the soak restarts it")
    parser.add_argument("--pg-restart-command", default=None, help="shell command that restarts the --pg server")
    parser.add_argument("--pg-bin", default=None, help="folder of initdb and pg_ctl (default: the newest /usr/lib/postgresql/*/bin)")
    parser.add_argument("--db", default="dream_soak_bench", help="database to DROP and recreate (must contain 'soak')")
    parser.add_argument("--redis", default=None, help="use this Redis (URL with db number) as the broker instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (cluster, logs, artifacts) at the end")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here (default bench/results/)")
    args = parser.parse_args(argv)
    if "soak" not in args.db:
        parser.error("--db must contain 'soak': it is dropped and recreated")
    if args.pg and not args.pg_restart_command:
        parser.error("--pg needs --pg-restart-command: the soak restarts the database once")
    if not 0 < args.kill_at < args.restart_at < 1:
        parser.error("need 0 < --kill-at < --restart-at < 1")
    try:
        args.analysis_parameters = json.loads(args.analysis_parameters)
    except ValueError as exc:
        parser.error(f"--analysis-parameters is not JSON: {exc}")
    if args.progress is None:
        args.progress = max(10.0, args.minutes * 3)
    return args


# --- Its own services -----------------------------------------------------------------------------


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run `cmd` as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class OwnPostgres:
    """A throwaway PostgreSQL cluster of the soak: initdb into `folder`, served on a free port."""

    def __init__(self, folder: Path, bin_dir: str | None):
        if bin_dir is None:
            found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
            if not found:
                raise RuntimeError("no /usr/lib/postgresql/*/bin: give --pg-bin, or --pg and --pg-restart-command")
            bin_dir = found[-1]
        self.bin = Path(bin_dir)
        self.folder = folder
        self.data = folder / "pgdata"
        self.log = folder / "postgresql.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, *cmd: str, timeout: float = 120) -> None:
        done = subprocess.run(_as_postgres([str(self.bin / cmd[0]), *cmd[1:]]), capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        # Sockets in its own folder, TCP on 127.0.0.1 only; autovacuum on, as production.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def restart(self) -> None:
        """A fast restart: connected sessions are ended, the server comes back on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            except RuntimeError as exc:
                print(f"warning: {exc}", file=sys.stderr)


class OwnRedis:
    """A redis-server of the soak on a free port, without persistence."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port}; see {self.folder / 'redis.log'}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


class Worker:
    """One Celery worker (prefork, one process) in a process group of its own, so it can be killed whole."""

    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
             "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def kill(self) -> None:
        """SIGKILL to the worker's whole group (main process and its pool child): nothing acknowledged."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass


# --- Accounting (pure: tests/bench/test_soak.py) --------------------------------------------------


def fault_windows(start: float, end: float, faults: list[tuple[str, float, float | None]]) -> list[tuple[str, float, float]]:
    """The soak's time cut at its faults: (label, from, to) for before the first fault, during each
    fault (`faults`: (name, began, over), in order; `over` None when it never ended), between two
    faults and after the last. Empty segments are left out."""
    segments, at, previous = [], start, None
    for name, began, over in faults:
        began = max(began, at)
        label = f"before {name}" if previous is None else f"after {previous}, before {name}"
        segments.append((label, at, began))
        over = end if over is None else min(max(over, began), end)
        segments.append((f"during {name}", began, over))
        at, previous = over, name
    segments.append(("after " + previous if previous else "whole soak", at, end))
    return [(label, lo, hi) for label, lo, hi in segments if hi - lo >= 0.1]


def window_latency(ended: array, latency: array, lo: float, hi: float) -> dict:
    """percentiles() of the latencies of requests that ended in [lo, hi)."""
    return percentiles([lat for t, lat in zip(ended, latency) if lo <= t < hi])


def analysis_accounting(runs: list[dict], stage_names: tuple[str, ...], shown_partial: int = 0) -> dict:
    """Each run: {"id", "version", "status", "stage_seconds": {stage: s}, "stage_results": {stage: rows},
    "summary": bool}. Returns the counts: started, completed, failed, unfinished; completed runs
    missing a stage's result or the summary (partial shown as complete); stage results stored more
    than once; versions used twice; and `exact`: every run started completed, each once and whole."""
    status = Counter(run["status"] for run in runs)
    partial = [run["id"] for run in runs if run["status"] == "completed" and (
        set(stage_names) - set(run["stage_seconds"]) or set(stage_names) - set(run["stage_results"]) or not run["summary"])]
    twice = [run["id"] for run in runs if any(n > 1 for n in run["stage_results"].values())]
    versions = Counter(run["version"] for run in runs)
    result = {
        "started": len(runs), "completed": status.get("completed", 0), "failed": status.get("failed", 0),
        "unfinished": len(runs) - status.get("completed", 0) - status.get("failed", 0),
        "completed_partial": partial, "stage_stored_twice": twice,
        "version_used_twice": sorted(v for v, n in versions.items() if n > 1),
        "shown_complete_while_partial": shown_partial,
    }
    result["exact"] = (result["completed"] == result["started"] and not partial and not twice
                       and not result["version_used_twice"] and not shown_partial)
    return result


# --- The database side (Django, in threads) --------------------------------------------------------


def _closing(fn):
    """Run `fn` on a connection of its own, closed afterwards: the soak restarts the database, and
    a connection kept across the restart would fail once."""
    def wrapped(*a, **kw):
        from django.db import connection
        try:
            return fn(*a, **kw)
        finally:
            connection.close()
    return wrapped


@_closing
def db_start_run(parameters: dict) -> int:
    from analysis import services
    from analysis.models import AnalysisRun
    from annotation.models import Campaign
    from bench.annotation_load.seed import SLUG

    run = services.analysis_run_start(campaign=Campaign.objects.get(slug=SLUG), trigger=AnalysisRun.Trigger.COMMAND,
                                      parameters=parameters)
    return run.pk


@_closing
def db_run_state(run_id: int) -> tuple[str, str, list[str]]:
    """Returns (status, current stage, stages recorded) of a run."""
    from analysis.models import AnalysisRun

    job = AnalysisRun.objects.select_related("job").get(pk=run_id).job
    return job.status, job.stage, list(job.stage_seconds)


@_closing
def db_latest_shown_partial() -> bool:
    """Is the run the dashboard would show as the campaign's latest complete one missing anything?"""
    from analysis import selectors
    from analysis.job_stages import STAGE_NAMES
    from analysis.models import StageResult
    from annotation.models import Campaign
    from bench.annotation_load.seed import SLUG

    run = selectors.campaign_latest_run(Campaign.objects.get(slug=SLUG))
    if run is None:
        return False
    stored = set(StageResult.objects.filter(run=run).values_list("stage", flat=True))
    return bool(set(STAGE_NAMES) - stored or set(STAGE_NAMES) - set(run.job.stage_seconds) or run.job.summary is None)


@_closing
def db_runs(run_ids: list[int]) -> list[dict]:
    from django.db.models import Count

    from analysis.models import AnalysisRun, StageResult

    results: dict[int, dict] = {}
    for row in StageResult.objects.filter(run_id__in=run_ids).values("run_id", "stage").annotate(n=Count("id")):
        results.setdefault(row["run_id"], {})[row["stage"]] = row["n"]
    out = []
    for run in AnalysisRun.objects.filter(pk__in=run_ids).select_related("job").order_by("pk"):
        job = run.job
        out.append({"id": run.pk, "version": job.version, "status": job.status, "stage_seconds": job.stage_seconds,
                    "stage_results": results.get(run.pk, {}), "summary": job.summary is not None,
                    "error": job.error, "seconds": (job.finished_at - job.created_at).total_seconds() if job.finished_at else None})
    return out


# --- The soak --------------------------------------------------------------------------------------


class TimedList(list):
    """A list that also keeps the loop time of each append (the phase's acknowledged ratings)."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.times = clock, array("d")

    def append(self, item):
        self.times.append(self.clock())
        super().append(item)


class SoakPhase(Phase):
    """The load benchmark's phase, keeping every request's end time and latency (and which were
    rating submits) so the latency can be cut at the faults afterwards."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.ended, self.latency, self.submit_ended, self.submit_latency = array("d"), array("d"), array("d"), array("d")
        self.acked = TimedList(self.loop.time)

    def record(self, step, started, ended):
        super().record(step, started, ended)
        if self.t_start <= ended < self.t_end:
            self.ended.append(ended)
            self.latency.append(ended - started)
            if step == "submit":
                self.submit_ended.append(ended)
                self.submit_latency.append(ended - started)


class Soak:
    """The run's moving parts and what happened: events, analysis runs, fault times."""

    def __init__(self, args, worker_env: dict, folder: Path, pg_restart):
        self.args, self.worker_env, self.folder, self.pg_restart = args, worker_env, folder, pg_restart
        self.workers: list[Worker] = []
        self.run_ids: list[int] = []
        self.analysis_errors: Counter = Counter()
        self.shown_partial = 0
        self.events: list[tuple[float, str]] = []
        self.faults: list[tuple[str, float, float | None]] = []
        self.killed_run: int | None = None
        self.ph: SoakPhase | None = None
        self.stopping = False

    def event(self, text: str) -> float:
        now = self.ph.loop.time()
        self.events.append((now - self.ph.t_start, text))
        print(f"[{clock(now - self.ph.t_start)}] {text}", flush=True)
        return now

    def worker_start(self) -> None:
        worker = Worker(self.worker_env, self.folder / f"celery-{len(self.workers) + 1}.log")
        worker.start()
        self.workers.append(worker)

    async def analysis_loop(self) -> None:
        """Start a run, wait for its end, pause, again; until the soak's end."""
        ph = self.ph
        while not self.stopping and ph.loop.time() < ph.t_end:
            try:
                run_id = await asyncio.to_thread(db_start_run, self.args.analysis_parameters)
            except Exception as exc:  # the database restarting: try again shortly
                self.analysis_errors[f"start refused: {type(exc).__name__}"] += 1
                await asyncio.sleep(2)
                continue
            self.run_ids.append(run_id)
            await self.wait_run(run_id, until=None)
            await asyncio.sleep(self.args.analysis_pause)

    async def wait_run(self, run_id: int, until: float | None) -> str:
        """Poll a run until it completes or fails (or the loop time `until`); also checks, at each
        poll, that the run shown as the campaign's latest complete one is whole."""
        ph = self.ph
        while until is None or ph.loop.time() < until:
            try:
                status, _, _ = await asyncio.to_thread(db_run_state, run_id)
                self.shown_partial += await asyncio.to_thread(db_latest_shown_partial)
            except Exception as exc:
                self.analysis_errors[f"poll: {type(exc).__name__}"] += 1
                status = "?"
            if status in ("completed", "failed"):
                return status
            if until is None and self.stopping:
                return status
            await asyncio.sleep(1)
        return "unfinished"

    async def faults_loop(self) -> None:
        ph, args = self.ph, self.args
        duration = ph.t_end - ph.t_start
        # 1. The worker, killed inside a stage of a run.
        await asyncio.sleep(max(0.0, ph.t_start + args.kill_at * duration - ph.loop.time()))
        # Inside a stage past the first, so the run resumes from its middle; any stage after a minute.
        target, looking = None, ph.loop.time()
        while target is None and ph.loop.time() < ph.t_end - 5:
            run_id = self.run_ids[-1] if self.run_ids else None
            if run_id is not None:
                try:
                    status, stage, recorded = await asyncio.to_thread(db_run_state, run_id)
                except Exception:
                    status = "?"
                if status == "running" and stage and stage not in recorded and (recorded or ph.loop.time() > looking + 60):
                    target = (run_id, stage, len(recorded))
            if target is None:
                await asyncio.sleep(0.2)
        if target is None:
            self.event("worker kill skipped: no run was inside a stage before the end")
        else:
            run_id, stage, done = target
            self.workers[-1].kill()
            killed = self.event(f"worker killed (SIGKILL) in stage {stage!r} of analysis run {run_id} "
                                f"({done} stage(s) recorded before)")
            self.killed_run = run_id
            self.worker_start()
            self.event("new worker started")
            status = await self.wait_run(run_id, until=ph.t_end)
            over = self.event(f"killed run {run_id} {status}") if status in ("completed", "failed") else None
            self.faults.append(("worker kill", killed, over))
        # 2. The database, restarted (at --restart-at, or once the killed run is over if that is later:
        # one fault at a time, so each has its own window).
        await asyncio.sleep(max(0.0, ph.t_start + args.restart_at * duration - ph.loop.time()))
        if ph.loop.time() >= ph.t_end - 5:
            self.event("database restart skipped: the soak is over")
            return
        began = self.event("database restart begins")
        try:
            await asyncio.to_thread(self.pg_restart)
        except Exception as exc:
            self.event(f"database restart FAILED: {exc}")
            self.faults.append(("database restart", began, None))
            return
        up = self.event("database restart done (server accepting connections)")
        acked = ph.acked.times
        back = None
        while back is None and ph.loop.time() < ph.t_end:
            later = [t for t in acked[-200:] if t > up]
            back = later[0] if later else None
            if back is None:
                await asyncio.sleep(0.1)
        if back is not None:
            self.events.append((back - ph.t_start, "first rating acknowledged after the restart"))
            print(f"[{clock(back - ph.t_start)}] first rating acknowledged after the restart "
                  f"({back - began:.1f} s after the restart began)", flush=True)
        self.faults.append(("database restart", began, back))

    async def progress_loop(self) -> None:
        ph = self.ph
        while True:
            await asyncio.sleep(self.args.progress)
            at = ph.loop.time() - ph.t_start
            print(f"[{clock(at)}] requests {sum(ph.requests.values())}, ratings acknowledged {len(ph.acked)}, "
                  f"errors {sum(ph.errors.values())}, analysis runs started {len(self.run_ids)}, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:2d}:{seconds % 60:02d}"


async def run_soak(soak: Soak, base: str, choices: dict, run_id: str) -> SoakPhase:
    import aiohttp

    args = soak.args
    connector = aiohttp.TCPConnector(limit=args.annotators, limit_per_host=args.annotators)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False) as http:
        ph = SoakPhase("soak", "annotate", base, http, annotators=args.annotators, warmup=0, seconds=args.minutes * 60,
                       think=args.think, rate=None, run_id=run_id, choices=choices, stagger=True)
        ph.retry_unavailable = args.retry_seconds
        soak.ph = ph
        soak.event(f"soak starts: {args.annotators} annotators, {args.minutes:g} min")
        clients = [asyncio.create_task(annotator_loop(ph, i)) for i in range(args.annotators)]
        analysis = asyncio.create_task(soak.analysis_loop())
        faults = asyncio.create_task(soak.faults_loop())
        progress = asyncio.create_task(soak.progress_loop())
        await asyncio.sleep(max(ph.t_end - ph.loop.time(), 0))
        soak.event("soak ends: annotators stop, waiting for the last analysis run")
        done, pending = await asyncio.wait(clients, timeout=args.request_timeout + 5)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
            ph.errors["cancelled at end (no answer in time)"] += len(pending)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                ph.errors[f"generator bug: {task.exception()!r}"] += 1
        faults.cancel()
        soak.stopping = True
        try:
            await asyncio.wait_for(analysis, timeout=15)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        if soak.run_ids:  # the last run started: let it finish
            status = await soak.wait_run(soak.run_ids[-1], until=ph.loop.time() + args.drain)
            soak.event(f"last analysis run {soak.run_ids[-1]}: {status}")
        progress.cancel()
        for task in (faults, progress, analysis):
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()
    return ph


# --- Report --------------------------------------------------------------------------------------


def report(soak: Soak, ph: SoakPhase, integrity: dict, runs: list[dict], analysis: dict, load: tuple) -> dict:
    windows = fault_windows(ph.t_start, ph.t_end, soak.faults)
    lat = []
    for label, lo, hi in windows:
        lat.append({"window": label, "from_s": round(lo - ph.t_start, 1), "to_s": round(hi - ph.t_start, 1),
                    "submit_ms": window_latency(ph.submit_ended, ph.submit_latency, lo, hi),
                    "all_ms": window_latency(ph.ended, ph.latency, lo, hi)})
    print("\n=== Soak figures ===")
    print(f"Duration {soak.args.minutes:g} min, {soak.args.annotators} annotators (think {soak.args.think:g} s), "
          f"load average before {load[0]}, after {load[1]} ({os.cpu_count()} cores)")
    print(f"Requests served: {sum(ph.requests.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(ph.requests.items(), key=lambda kv: -kv[1]))})")
    print(f"Sessions: {dict(ph.sessions_finished)}; annotators started {ph.annotators_started}")
    print(f"Errors by kind ({sum(ph.errors.values())}):" + ("" if ph.errors else " none"))
    for kind, n in ph.errors.most_common():
        print(f"  {n:7d}  {kind}")
    ok = integrity["exact"]
    print(f"Ratings acknowledged (2xx, distinct): {integrity['acknowledged_unique']}   stored: {integrity['db_count']} "
          f"(distinct {integrity['db_unique']})   -> {'EQUAL' if ok else 'MISMATCH'}")
    print(f"  missing {integrity['missing']}, stored twice {integrity['stored_twice']}, stored but never acknowledged "
          f"{integrity['extra']} (of them sent without an answer at the end: {integrity['extra_in_doubt']}), "
          f"acknowledged more than once (a retried send) {integrity['acknowledged_twice']}, "
          f"saved position differs {integrity['saved_position_mismatch']}")
    print(f"Analysis runs started: {analysis['started']}   completed: {analysis['completed']}   failed: {analysis['failed']}   "
          f"unfinished: {analysis['unfinished']}   -> {'each completed once, whole' if analysis['exact'] else 'NOT EXACT'}")
    print(f"  completed but partial: {analysis['completed_partial'] or 'none'}; a stage stored twice: "
          f"{analysis['stage_stored_twice'] or 'none'}; shown as latest complete while partial: "
          f"{analysis['shown_complete_while_partial']} polls; killed run: {soak.killed_run}")
    seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
    if seconds:
        print(f"  run duration (queued to finished): min {min(seconds):.1f} s, max {max(seconds):.1f} s")
    for run in runs:
        if run["status"] != "completed":
            print(f"  run {run['id']} v{run['version']}: {run['status']} {run['error'] or ''}")
    if soak.analysis_errors:
        print(f"  analysis client errors: {dict(soak.analysis_errors)}")
    print("Latency by window (rating submits; all requests):")
    for row in lat:
        s, a = row["submit_ms"], row["all_ms"]
        fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        print(f"  {row['window']:<52} {row['from_s']:7.1f}-{row['to_s']:<7.1f}s  submit p95 {fmt(s['p95'])} ms "
              f"(p50 {fmt(s['p50'])}, n {s['n']});  all p95 {fmt(a['p95'])} ms (n {a['n']})")
    print("Events:")
    for at, text in soak.events:
        print(f"  {clock(at)}  {text}")
    verdict = ok and analysis["exact"]
    print(f"\nACCOUNTING {'HOLDS' if verdict else 'FAILS'}")
    return {"integrity": integrity, "analysis": analysis, "runs": runs, "latency": lat,
            "requests": dict(ph.requests), "errors": dict(ph.errors), "events": soak.events,
            "sessions": dict(ph.sessions_finished), "load": load, "holds": verdict}


# --- Main ----------------------------------------------------------------------------------------


def _terminate(*_):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run_id = "soak" + time.strftime("%H%M%S") + secrets.token_hex(2)
    folder = Path(tempfile.mkdtemp(prefix="dream-soak-"))
    folder.chmod(0o755)
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"Soak {run_id}: {args.minutes:g} min; temporary folder {folder} (logs, cluster, artifacts)", flush=True)
    pg = redis = gunicorn = None
    soak = None
    try:
        if args.pg:
            pg_url = args.pg.rstrip("/")
            pg_restart = lambda: subprocess.run(args.pg_restart_command, shell=True, check=True, timeout=120)  # noqa: E731
            print(f"PostgreSQL: given server {pg_url} (restart: {args.pg_restart_command})")
        else:
            pg = OwnPostgres(folder, args.pg_bin)
            pg.start()
            pg_url, pg_restart = pg.url, pg.restart
            print(f"PostgreSQL: own cluster {pg.data} on port {pg.port} ({pg.bin.parent.name})", flush=True)
        if args.redis:
            broker = args.redis
            print(f"Redis: given {broker}")
        else:
            redis = OwnRedis(folder)
            redis.start()
            broker = redis.url
            print(f"Redis: own redis-server on port {redis.port}", flush=True)

        from bench.annotation_load.database import configure_environment, recreate_database

        ns = SimpleNamespace(pg=pg_url, db=args.db, settings="bench.settings", videos=args.videos, checkers=args.checkers)
        env = configure_environment(ns)
        env.update({"CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker,
                    "CELERY_VISIBILITY_TIMEOUT": str(args.visibility_timeout),
                    "JOBS_ARTIFACT_ROOT": str(folder / "artifacts"), "CONN_MAX_AGE": "60",
                    "ENTRY_RATE_LIMIT": str(args.entry_rate_limit)})
        os.environ.update(env)
        recreate_database(ns)

        from bench.annotation_load.seed import seed_history, setup_campaign

        started = time.perf_counter()
        choices = setup_campaign(ns)
        seeded_last_id = seed_history(args.history) if args.history else 0
        print(f"Campaign 'bench': {args.videos} regular + {args.checkers} checker video rows (fake files), "
              f"{args.history} seeded sessions, in {time.perf_counter() - started:.1f} s", flush=True)

        gunicorn = Gunicorn(env, "gthread", args.workers, args.threads, 5, folder / "gunicorn.log")
        base = gunicorn.start(timeout=300)  # the shared 2-core machine can take a minute to import Django twice
        print(f"gunicorn: {gunicorn.label} at {base}", flush=True)
        soak = Soak(args, env, folder, pg_restart)
        soak.worker_start()
        print("Celery: one worker (prefork, concurrency 1)", flush=True)

        ph = asyncio.run(run_soak(soak, base, choices, run_id))

        from analysis.job_stages import STAGE_NAMES
        from bench.annotation_load.integrity import verify_database

        integrity = verify_database([{"acked": ph.acked, "in_doubt": ph.in_doubt}], seeded_last_id)
        runs = db_runs(soak.run_ids)
        analysis = analysis_accounting(runs, tuple(STAGE_NAMES), soak.shown_partial)
        load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
        figures = report(soak, ph, integrity, runs, analysis, (load_before, load_after))
        out = args.json or ROOT / "bench" / "results" / f"{run_id}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"options": {k: v for k, v in vars(args).items() if k != "json"}, **figures},
                                  indent=2, default=str))
        print(f"Figures written to {out}")
        return 0 if figures["holds"] else 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        for worker in soak.workers if soak else ():
            worker.stop()
        if redis is not None:
            redis.stop()
        if pg is not None:
            pg.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
