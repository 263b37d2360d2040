"""bench/soak.py's accounting: ratings acknowledged against stored, analysis runs, the fault windows,
and the simulated annotator's retry of a rating answered 503 or not at all (against a small aiohttp
server on 127.0.0.1; the soak itself needs half an hour and its own PostgreSQL, so it is not run here)."""
from __future__ import annotations

import asyncio
from array import array
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp import web

from bench import soak
from bench.annotation_load.clients import Browser, StepError, submit_answer
from bench.annotation_load.integrity import compare_ratings
from bench.annotation_load.phase import Phase, StopPhase

STAGES = ("load", "videos", "store")


def test_ratings_equal_only_when_every_acknowledged_rating_is_stored_once():
    acked = [((1, 1), 1), ((1, 2), 2), ((2, 1), 1)]
    assert compare_ratings(acked, [], [(1, 1), (1, 2), (2, 1)])["exact"]
    lost = compare_ratings(acked, [], [(1, 1), (1, 2)])
    assert not lost["exact"] and lost["missing"] == 1 and not lost["lost_nothing"]
    twice = compare_ratings(acked, [], [(1, 1), (1, 2), (2, 1), (2, 1)])
    assert not twice["exact"] and twice["stored_twice"] == 1
    stray = compare_ratings(acked, [], [(1, 1), (1, 2), (2, 1), (3, 1)])
    assert not stray["exact"] and stray["extra_unexplained"] == 1
    # Sent at the end without an answer, then stored: explained, not a mismatch.
    unanswered = compare_ratings(acked, [(3, 1)], [(1, 1), (1, 2), (2, 1), (3, 1)])
    assert unanswered["exact"] and unanswered["extra_in_doubt"] == 1
    # A retried send acknowledged twice is one rating.
    retried = compare_ratings([*acked, ((2, 1), 1)], [], [(1, 1), (1, 2), (2, 1)])
    assert retried["exact"] and retried["acknowledged_twice"] == 1 and retried["acknowledged_unique"] == 3
    wrong_position = compare_ratings([((1, 1), 2)], [], [(1, 1)])
    assert not wrong_position["exact"]


def _run(pk, status="completed", stages=STAGES, results=None, summary=True, version=None):
    return {"id": pk, "version": version or pk, "status": status, "stage_seconds": {s: 1.0 for s in stages},
            "stage_results": results if results is not None else {s: 1 for s in stages}, "summary": summary}


def test_analysis_runs_each_completed_once_and_whole():
    assert soak.analysis_accounting([_run(1), _run(2)], STAGES)["exact"]
    partial = soak.analysis_accounting([_run(1), _run(2, stages=STAGES[:2])], STAGES)
    assert not partial["exact"] and partial["completed_partial"] == [2]
    no_summary = soak.analysis_accounting([_run(1, summary=False)], STAGES)
    assert no_summary["completed_partial"] == [1]
    twice = soak.analysis_accounting([_run(1, results={"load": 1, "videos": 2, "store": 1})], STAGES)
    assert not twice["exact"] and twice["stage_stored_twice"] == [1]
    open_run = soak.analysis_accounting([_run(1), _run(2, status="running", stages=())], STAGES)
    assert not open_run["exact"] and (open_run["started"], open_run["completed"], open_run["unfinished"]) == (2, 1, 1)
    failed = soak.analysis_accounting([_run(1, status="failed", stages=())], STAGES)
    assert not failed["exact"] and failed["failed"] == 1
    assert not soak.analysis_accounting([_run(1), _run(2, version=1)], STAGES)["exact"]
    assert not soak.analysis_accounting([_run(1)], STAGES, shown_partial=1)["exact"]


def test_fault_windows_cut_before_during_between_after():
    windows = soak.fault_windows(0, 100, [("worker kill", 20, 35), ("database restart", 60, 64)])
    assert windows == [("before worker kill", 0, 20), ("during worker kill", 20, 35),
                       ("after worker kill, before database restart", 35, 60), ("during database restart", 60, 64),
                       ("after database restart", 64, 100)]
    # A fault that never ended lasts to the end; no faults: one window.
    assert soak.fault_windows(0, 10, [("worker kill", 4, None)])[-1] == ("during worker kill", 4, 10)
    assert soak.fault_windows(0, 10, []) == [("whole soak", 0, 10)]
    ended, latency = array("d", [1, 2, 3, 21, 22]), array("d", [0.1, 0.1, 0.1, 2.0, 2.0])
    assert soak.window_latency(ended, latency, 20, 35)["p95"] == 2000.0
    assert soak.window_latency(ended, latency, 0, 20)["n"] == 3


def test_soak_options(capsys):
    with pytest.raises(SystemExit) as shown:
        soak.parse_args(["--help"])
    assert shown.value.code == 0 and "--minutes" in capsys.readouterr().out
    args = soak.parse_args([])
    assert args.minutes == 30 and args.pg is None and args.redis is None  # its own services by default
    for bad in (["--pg", "postgres://postgres@127.0.0.1:5432"], ["--db", "dream"], ["--kill-at", "0.8"]):
        with pytest.raises(SystemExit):
            soak.parse_args(bad)


def _submit_against(answers: list, retry_seconds: float, seconds: float = 30):
    """_serve_and_submit in a thread of its own: Playwright's sync API (the browser tests of the same
    session) keeps an event loop running in the test thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _serve_and_submit(answers, retry_seconds, seconds)).result()


async def _serve_and_submit(answers: list, retry_seconds: float, seconds: float):
    """submit_answer against a server answering `answers` in turn (a status, or "drop" to close the
    connection unanswered). Returns the phase and the outcome (status or the exception)."""
    import aiohttp

    seen = []

    async def rating(request):
        seen.append(await request.json())
        answer = answers[min(len(seen), len(answers)) - 1]
        if answer == "drop":
            request.transport.close()
            await asyncio.sleep(1)
        return web.json_response({"saved": 1} if answer == 200 else {"code": "database_unavailable"}, status=answer)

    app = web.Application()
    app.router.add_post("/api/ratings/", rating)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as http:
            ph = Phase("t", "annotate", f"http://127.0.0.1:{port}", http, annotators=1, warmup=0, seconds=seconds,
                       think=0, rate=None, run_id="t", choices={}, stagger=False)
            ph.retry_unavailable = retry_seconds
            try:
                outcome = (await submit_answer(ph, Browser(ph), "submit", "/api/ratings/", "tok", {"token": "tok"}))[0]
            except (StepError, StopPhase) as exc:
                outcome = exc
    finally:
        await runner.cleanup()
    return ph, outcome, seen


def test_a_rating_answered_503_or_not_at_all_is_sent_again():
    ph, outcome, seen = _submit_against([503, "drop", 200], retry_seconds=30)
    assert outcome == 200 and len(seen) == 3 and all(s == {"token": "tok"} for s in seen)
    assert ph.errors["submit: HTTP 503 (retried)"] == 1 and ph.errors["submit: ServerDisconnectedError (retried)"] == 1
    assert ph.in_doubt == []  # answered in the end: nothing in doubt


def test_without_retry_or_past_the_end_an_unanswered_rating_is_in_doubt():
    ph, outcome, _ = _submit_against(["drop"], retry_seconds=0)
    assert isinstance(outcome, StepError) and ph.in_doubt == ["tok"]
    ph, outcome, _ = _submit_against([503], retry_seconds=0)
    assert outcome == 503 and ph.in_doubt == []  # answered: the caller decides
    # The phase ends while the annotator waits to send again a rating that got no answer: in doubt.
    ph, outcome, _ = _submit_against(["drop"], retry_seconds=30, seconds=0.3)
    assert isinstance(outcome, StopPhase) and ph.in_doubt == ["tok"]
