"""One measured phase: its clock (warm-up, then the measured window), what it records, and its summary."""
from __future__ import annotations

import asyncio
from array import array
from collections import Counter, defaultdict

# The request each mode counts and times.
MAIN_STEP = {"bare": "bare", "annotate": "submit", "resave": "submit", "launch": "session start"}
UNIT = {"bare": "bare inserts/s", "annotate": "submissions/s", "resave": "submissions/s", "launch": "session starts/s"}


class StopPhase(Exception):
    """The phase is over: the client stops."""


class Phase:
    """One measured run: warm-up, then `seconds` of measurement; only that window is counted."""

    serial = 0

    def __init__(self, name, mode, base, http, *, annotators, warmup, seconds, think, rate, run_id, choices, stagger):
        Phase.serial += 1
        self.seq, self.stagger = Phase.serial, stagger
        self.name, self.mode, self.base, self.http = name, mode, base, http
        self.annotators, self.warmup, self.seconds = annotators, warmup, seconds
        self.think, self.rate, self.run_id, self.choices = think, rate, run_id, choices
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.t_start = self.t0 + warmup
        self.t_end = self.t_start + seconds
        self.lat = defaultdict(lambda: array("d"))  # step -> latencies (s) of requests ending in the window
        self.sched_lat = array("d")  # paced: submit latency measured from its slot on the clock
        self.requests = Counter()  # step -> requests answered in the window
        self.errors = Counter()  # kind -> count over the whole phase
        self.acked: list[tuple[str, int]] = []  # (token, saved position), whole phase
        self.in_doubt: list[str] = []  # tokens sent but neither acknowledged nor refused
        self.refused = 0
        self.annotators_started = 0
        self.sessions_finished = Counter()
        self.tickets: asyncio.Queue | None = asyncio.Queue() if rate else None
        self.ticket_backlog_max = 0
        # Seconds an annotator keeps re-sending a rating answered 503 or not at all (0: no retry; bench/soak.py sets it).
        self.retry_unavailable = 0.0

    def check_time(self):
        """Raise StopPhase once the measured window has ended."""
        if self.loop.time() >= self.t_end:
            raise StopPhase

    def record(self, step: str, started: float, ended: float):
        """Count a request of `step` and its latency when it ended inside the measured window."""
        if self.t_start <= ended < self.t_end:
            self.lat[step].append(ended - started)
            self.requests[step] += 1

    async def ticker(self):
        """Paced mode: issue submit slots on the clock (open loop); the annotators take them."""
        issued, start = 0, self.t0
        period = min(0.01, 1.0 / self.rate)
        measuring = False
        while self.loop.time() < self.t_end:
            if not measuring and self.loop.time() >= self.t_start:
                # Slots left over from the warm-up (all annotators onboard at once at the start)
                # would make the measured window drain a backlog: start the clock afresh.
                measuring = True
                while not self.tickets.empty():
                    self.tickets.get_nowait()
                issued, start = 0, self.t_start
            due = int((self.loop.time() - start) * self.rate) - issued
            for _ in range(due):
                self.tickets.put_nowait(start + issued / self.rate)
                issued += 1
            if measuring:
                self.ticket_backlog_max = max(self.ticket_backlog_max, self.tickets.qsize())
            await asyncio.sleep(period)
        for _ in range(self.annotators):
            self.tickets.put_nowait(None)


def percentiles(values) -> dict:
    """Returns n and the p50, p95, p99 and max of `values` (seconds) in ms (None each without values)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q):
        return round(1000 * ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))], 1)

    return {"n": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(1000 * ordered[-1], 1)}


def summarize(ph: Phase, cpu: dict) -> dict:
    """Returns the phase's figures: throughput and latency of its main step, the other steps'
    latencies, errors, the acknowledged and in-doubt tokens, and `cpu` (cpu_report's result)."""
    main_step = MAIN_STEP[ph.mode]
    steps = {step: percentiles(lat) for step, lat in sorted(ph.lat.items())}
    total_requests = sum(ph.requests.values())
    return {
        "name": ph.name, "mode": ph.mode, "annotators": ph.annotators, "seconds": ph.seconds,
        "warmup": ph.warmup, "think": ph.think, "rate_target": ph.rate,
        "throughput": round(ph.requests[main_step] / ph.seconds, 1),
        "requests_per_s": round(total_requests / ph.seconds, 1),
        "latency_ms": steps.get(main_step, percentiles([])),
        "latency_from_slot_ms": percentiles(ph.sched_lat) if ph.rate else None,
        "ticket_backlog_max": ph.ticket_backlog_max if ph.rate else None,
        "other_steps_ms": {k: v for k, v in steps.items() if k != main_step},
        "errors": dict(ph.errors.most_common()),
        "error_count": sum(ph.errors.values()),
        "acked": ph.acked, "in_doubt": ph.in_doubt, "refused": ph.refused,
        "annotators_started": ph.annotators_started,
        "sessions_finished": dict(ph.sessions_finished),
        "cpu_percent": cpu,
    }
