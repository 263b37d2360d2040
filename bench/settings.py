"""Settings for the load benchmark: the project's own settings plus one extra URL (bench.urls).

Everything else (middleware, database from DATABASE_URL, sessions, DEBUG from the environment)
is exactly config.settings, so the annotation pages behave as in production. With
BENCH_VIEW_CPU_DIR set (python -m bench.annotation_load --view-cpu) a middleware also records CPU,
wall time and SQL statements per view in that folder (bench/viewcpu.py).
"""
import os

from config.settings import *  # noqa: F401,F403
from config.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_VIEW_CPU_DIR"):
    MIDDLEWARE = ["bench.viewcpu.ViewCPUMiddleware", *MIDDLEWARE]
