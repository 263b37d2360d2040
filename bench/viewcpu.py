"""Opt-in middleware for the load benchmark: CPU, wall time and SQL queries per view, per worker.

Enabled by bench.settings when BENCH_VIEW_CPU_DIR is set (python -m bench.annotation_load
--view-cpu). Each gunicorn worker adds up, per URL name, the thread CPU time Django spent on the
request (all the middleware included, the WSGI server's own HTTP handling not), the wall time and
the number of SQL statements, and rewrites <dir>/<pid>.json at most twice a second. The benchmark reads the
files at the start and the end of a measured window and prints the difference.
"""
from __future__ import annotations

import json
import os
import threading
import time

from django.db import connection

_lock = threading.Lock()
_totals: dict[str, list[float]] = {}  # name -> [requests, cpu_s, wall_s, queries]
_last_dump = 0.0


def _dump(directory: str) -> None:
    path = os.path.join(directory, f"{os.getpid()}.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(_totals, handle)
    os.replace(tmp, path)


class ViewCPUMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.directory = os.environ["BENCH_VIEW_CPU_DIR"]

    def __call__(self, request):
        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        cpu0, wall0 = time.thread_time(), time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        match = getattr(request, "resolver_match", None)
        name = f"{match.url_name or match.view_name} {request.method}" if match else f"(unresolved) {request.method}"
        global _last_dump
        with _lock:
            row = _totals.setdefault(name, [0, 0.0, 0.0, 0])
            row[0] += 1
            row[1] += cpu
            row[2] += wall
            row[3] += queries[0]
            now = time.monotonic()
            if now - _last_dump >= 0.5:
                _last_dump = now
                _dump(self.directory)
        return response
