"""One annotator through the flow in-process (Django test client): SQL statements and time per request."""
from __future__ import annotations

import secrets
import time

from .clients import REASONS, TOKEN_RE
from .seed import SLUG, VIDEOS_PER_SESSION


def probe_queries(choices: dict, show: bool, profile: bool) -> dict:
    """One annotator through the flow in-process (Django test client) counting SQL per request.

    Returns the figures per request, the median of the middle submits, their SQL and the bare
    insert's, and with `profile` the cProfile listing of 37 submits."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    page = f"/c/{SLUG}/"
    flow = {}

    def measured(label, fn, *a, **kw):
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = fn(*a, **kw)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sql_s = sum(float(q["time"]) for q in queries.captured_queries)
        flow[label] = {"queries": len(queries), "ms": round(1000 * elapsed, 2), "cpu_ms": round(1000 * cpu, 2),
                       "sql_ms": round(1000 * sql_s, 2),
                       "sql": [q["sql"] for q in queries.captured_queries]}
        return response

    measured("entry GET", client.get, f"{page}?PROLIFIC_PID={secrets.token_hex(12)}")
    measured("consent GET", client.get, page + "consent/")
    measured("consent POST", client.post, page + "consent/", {"agree": "on", "version": "1"})
    measured("demographics POST", client.post, page + "about-you/", {k: v[0] for k, v in choices.items()})
    measured("lecture GET", client.get, page + "lecture/")
    measured("lecture POST (starts session)", client.post, page + "lecture/")
    response = measured("rate GET", client.get, page + "rate/")
    token = TOKEN_RE.search(response.content).group(1).decode()
    submits = []
    profiler = cProfile.Profile() if profile else None
    for position in range(1, VIDEOS_PER_SESSION + 1):
        answer = {"token": token, "score": "3", "reason": REASONS[0], "plays": "1", "seeks": "0", "played_to_end": "on"}
        label = "submit (middle)" if position == 2 else "submit (last)" if position == VIDEOS_PER_SESSION else "submit"
        if profiler and 3 <= position < VIDEOS_PER_SESSION:
            profiler.enable()
        response = measured(label, client.post, page + "api/ratings/", answer, content_type="application/json")
        if profiler:
            profiler.disable()
        submits.append(flow[label])
        data = response.json()
        if "item" in data:
            token = data["item"]["token"]
    measured("review GET", client.get, page + "review/")
    measured("finish POST", client.post, page + "review/", {"attempt": 1})
    for _ in range(5):
        measured("bare insert", client.post, "/bench/bare-insert/", "payload=" + "x" * 200,
                 content_type="application/x-www-form-urlencoded")
    connection.close()
    middle = submits[1:-1]
    result = {
        "per_request": {k: {kk: vv for kk, vv in v.items() if kk != "sql"} for k, v in flow.items()},
        "submit_queries_middle": flow["submit (middle)"]["queries"],
        "submit_queries_last": flow["submit (last)"]["queries"],
        "submit_ms_inprocess_median": round(sorted(s["ms"] for s in middle)[len(middle) // 2], 2),
        "submit_cpu_ms_inprocess_median": round(sorted(s["cpu_ms"] for s in middle)[len(middle) // 2], 2),
        "bare_cpu_ms_inprocess": flow["bare insert"]["cpu_ms"],
        "submit_sql_ms_median": round(sorted(s["sql_ms"] for s in middle)[len(middle) // 2], 2),
        "sql_middle_submit": flow["submit (middle)"]["sql"],
        "sql_bare": flow["bare insert"]["sql"],
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        result["profile"] = out.getvalue()
    return result
