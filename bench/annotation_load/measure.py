"""Runs one phase against gunicorn: VACUUM ANALYZE, a quiet machine, the clients, the CPU of the window."""
from __future__ import annotations

import asyncio
import time

from .clients import annotator_loop, bare_loop
from .cpu import cpu_report, cpu_snapshot, view_cpu_report, view_cpu_snapshot, wait_for_quiet
from .database import vacuum_analyze
from .phase import Phase, summarize
from .server import Gunicorn


def measure(name: str, mode: str, base: str, args, choices, gunicorn: Gunicorn, run_id: str, **kw) -> dict:
    """VACUUM ANALYZE, wait for a calm machine, then run one phase.

    Returns run_phase's figures and `background_before`, the machine's busy % before the phase
    (None without --wait-quiet)."""
    vacuum_analyze(args)
    background = wait_for_quiet(args.wait_quiet, args.quiet_limit) if args.wait_quiet > 0 else None
    res = asyncio.run(run_phase(name, mode, base, args, choices, gunicorn, run_id, **kw))
    res["background_before"] = background
    return res


async def run_phase(name: str, mode: str, base: str, args, choices, gunicorn: Gunicorn, run_id: str,
                    rate: float | None = None, seconds: float | None = None, warmup: float | None = None) -> dict:
    """One phase: `args.annotators` clients through the warm-up and the measured window.

    Returns summarize's figures, `views` (per-view figures with --view-cpu, else None) and
    `server_cpu_ms`: gunicorn's and PostgreSQL's CPU per counted request."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=args.annotators, limit_per_host=args.annotators)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False) as http:
        ph = Phase(name, mode, base, http, annotators=args.annotators,
                   warmup=args.warmup if warmup is None else warmup,
                   seconds=args.seconds if seconds is None else seconds,
                   think=args.think if mode == "annotate" else 0, rate=rate, run_id=run_id, choices=choices,
                   stagger=not args.no_stagger and mode == "annotate")
        worker = bare_loop if mode == "bare" else annotator_loop
        tasks = [asyncio.create_task(worker(ph, i)) for i in range(args.annotators)]
        if ph.tickets is not None:
            tasks.append(asyncio.create_task(ph.ticker()))
        await asyncio.sleep(max(ph.t_start - ph.loop.time(), 0))
        cpu0, cpu_t0 = cpu_snapshot(gunicorn.proc.pid if gunicorn.proc else None), time.monotonic()
        views0 = view_cpu_snapshot(gunicorn.view_cpu_dir)
        await asyncio.sleep(max(ph.t_end - ph.loop.time(), 0))
        cpu1, cpu_t1 = cpu_snapshot(gunicorn.proc.pid if gunicorn.proc else None), time.monotonic()
        views1 = view_cpu_snapshot(gunicorn.view_cpu_dir)
        done, pending = await asyncio.wait(tasks, timeout=args.request_timeout + 5)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
            ph.errors["cancelled at end (no answer in time)"] += len(pending)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                ph.errors[f"generator bug: {task.exception()!r}"] += 1
    res = summarize(ph, cpu_report(cpu0, cpu1, cpu_t1 - cpu_t0))
    res["views"] = view_cpu_report(views0, views1, cpu_t1 - cpu_t0) if gunicorn.view_cpu_dir else None
    cpu = res["cpu_percent"]
    # CPU the server side (gunicorn + PostgreSQL of this database) spent per counted request: less
    # sensitive to other programs on the machine than the throughput.
    res["server_cpu_ms"] = round(10 * (cpu["gunicorn"] + cpu["postgres"]) / res["throughput"], 2) if res["throughput"] else None
    return res
