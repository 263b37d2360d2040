"""Real Celery workers for the failure drills: started over the test's Redis and PostgreSQL, killed on
purpose, and stopped whatever happens (tests/analysis/test_pipeline.py, tests/analysis/export/test_faults.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# Outlasts a drill's 5 s pause (a live worker must not see its own task handed out again) and is short
# enough for a test: a killed worker's task is visible again 8 s after delivery, and a new worker
# looks every 2 s (settings: a third of the timeout).
VISIBILITY_TIMEOUT = 8


def drill_setup(broker: str, artifacts: Path, name: str) -> tuple[dict, Celery]:
    """The environment a drill's workers run with (this test database, `artifacts` as the job
    runner's root), and a client app on `broker` whose default queue was emptied of earlier runs'
    tasks (the workers send each next stage there)."""
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker, "SECRET_KEY": "test-only-secret",
           "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
           "JOBS_ARTIFACT_ROOT": str(artifacts)}
    client = Celery(name, broker=broker, set_as_current=False)
    client.conf.update(broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT})
    with client.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    return env, client


def worker_start(env: dict) -> subprocess.Popen:
    """A one-process prefork worker in a session of its own (so a drill can kill its whole group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def workers_stop(*workers: subprocess.Popen | None) -> None:
    """Stop the workers still running (SIGTERM to their groups), waiting for each."""
    for worker in workers:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)


def wait_for(done: Callable[[], bool], *, seconds: float, failure: Callable[[], str], every: float = 0.2) -> None:
    """Poll `done` until it is true; fail with `failure()` after `seconds`."""
    deadline = time.time() + seconds
    while not done():
        assert time.time() < deadline, failure()
        time.sleep(every)
