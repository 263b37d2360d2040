"""CPU accounting from /proc: who used the cores during a phase (gunicorn, PostgreSQL, the generator, others)."""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

_PG_KIND: dict[int, str] = {}
_PG_SHARED = (b"checkpointer", b"background writer", b"walwriter", b"autovacuum launcher", b"logical replication",
              b"stats collector", b"archiver", b"/usr/lib/postgresql")


def _postgres_group(pid: int) -> str:
    """'postgres' for the server's own processes and the backends of the benchmark database;
    'other' for backends of other databases (other people's tests on the same server)."""
    kind = _PG_KIND.get(pid)
    if kind is None:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ")
        except OSError:
            return "other"
        db = os.environ.get("BENCH_DB", "").encode()
        kind = "postgres" if (db and b" " + db + b" " in cmdline + b" ") or any(s in cmdline for s in _PG_SHARED) else "other"
        _PG_KIND[pid] = kind
    return kind


def cpu_snapshot(gunicorn_pid: int | None) -> dict:
    """CPU seconds so far per process (grouped: gunicorn master + workers, PostgreSQL serving the
    benchmark database, this process, other) and of the whole machine (/proc/stat).

    Returns {"procs": {pid: (group, seconds)}, "busy": seconds of the machine}."""
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        pid = int(name)
        comm = data[data.index(b"(") + 1:data.rindex(b")")]
        fields = data[data.rindex(b")") + 2:].split()
        ppid, used = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if pid == me:
            group = "generator"
        elif gunicorn_pid and (pid == gunicorn_pid or ppid == gunicorn_pid):
            group = "gunicorn"
        elif comm.startswith(b"postgres"):
            group = _postgres_group(pid)
        else:
            group = "other"
        procs[pid] = (group, used)
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:9]]
    return {"procs": procs, "busy": (sum(values) - values[3] - values[4]) / tick}


def cpu_report(before: dict, after: dict, seconds: float) -> dict:
    """% of one core per group between two snapshots; a process that exited in between is lost
    (so 'other' = machine busy minus the three known groups, which also counts exited processes).

    Returns {group: %} for gunicorn, postgres, generator, busy and other, and capacity (100 a core)."""
    groups = Counter()
    for pid, (group, used) in after["procs"].items():
        prev = before["procs"].get(pid)
        groups[group] += used - (prev[1] if prev and prev[0] == group else 0)
    out = {k: round(100 * groups[k] / seconds, 1) for k in ("gunicorn", "postgres", "generator")}
    out["busy"] = round(100 * (after["busy"] - before["busy"]) / seconds, 1)
    out["other"] = round(max(out["busy"] - out["gunicorn"] - out["postgres"] - out["generator"], 0.0), 1)
    out["capacity"] = 100 * (os.cpu_count() or 1)
    return out


def view_cpu_snapshot(directory: Path | None) -> dict:
    """Per-view totals written by bench/viewcpu.py, summed over the gunicorn workers.

    Returns {view: [requests, CPU s, wall s, SQL statements]}; empty without a folder."""
    totals: dict[str, list[float]] = {}
    if directory is None:
        return totals
    for path in directory.glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for name, row in data.items():
            acc = totals.setdefault(name, [0, 0.0, 0.0, 0])
            for i, value in enumerate(row):
                acc[i] += value
    return totals


def view_cpu_report(before: dict, after: dict, seconds: float) -> dict:
    """Returns per view between two view_cpu_snapshot()s: requests/s, CPU and wall ms and SQL
    statements per request and % of a core, the busiest view first."""
    out = {}
    for name, row in after.items():
        prev = before.get(name, [0, 0.0, 0.0, 0])
        n = row[0] - prev[0]
        if n <= 0:
            continue
        cpu, wall, queries = row[1] - prev[1], row[2] - prev[2], row[3] - prev[3]
        out[name] = {"per_s": round(n / seconds, 1), "cpu_ms": round(1000 * cpu / n, 2), "wall_ms": round(1000 * wall / n, 2),
                     "queries": round(queries / n, 1), "core_pct": round(100 * cpu / seconds, 1)}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["core_pct"]))


def wait_for_quiet(max_wait: float, limit: float) -> float:
    """Wait (up to max_wait s) until the rest of the machine uses less than `limit` % of one core.

    Other programs on this machine (tests, other benchmarks) take the same two cores; measuring
    while they run gives lower and noisier figures. Returns the last 1 s reading."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_snapshot(None)
        time.sleep(1.0)
        other = cpu_report(before, cpu_snapshot(None), 1.0)["busy"]
        if other < limit or time.monotonic() >= deadline:
            return other
