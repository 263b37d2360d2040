"""A simulated crowd: annotators with traits, sent through the platform's own workflow services.

The model (docs/synthetic_study.md has it with every parameter): each annotator has demographics
drawn in the paper's proportions, a leniency bias, a noise level, a skill, a speed and a way of
writing; a share are careless. Annotator i perceives video v of latent realism R_v as

    s = R_v - fake_v * (k_prior + skill_shift * z_i) * (R_v - 1) / (R_MAX - 1) + b_i + sigma_i * eps

and gives the grade round(s) clipped to 1..5 (a careless person mostly rates around a personal
default; anyone lapses now and then into a random grade). Prior knowledge of deepfakes (k_prior)
and skill (z_i) pull fakes down: such people are harder to fool. Faster people are the skilled
ones, as the paper found. Reasons come from the artifacts each person noticed (the more salient,
the likelier), through wording.py.

The simulator drives annotators as events in simulated time (arrivals spread over days, seconds
per video, lectures, re-annotation after a disqualification, drop-outs, the periodic release of
abandoned sessions) and calls the same service functions as the web views: entry, consent,
demographics, lecture (which draws the session: assignment, hidden checkers), submissions with
tokens from `selectors.rating_token_make` (through `services.ratings_submit_batch`, the batch form
of `rating_submit`), and `attempt_finish`, which applies the checker rule. Nothing here writes a
workflow row itself, except the rows' creation times, which the services stamp with the wall clock
and `crowd_clock_apply` moves to simulated time. The platform draws sessions with an unseeded
generator on purpose, so two runs differ in who saw what; the crowd's own draws are seeded.
"""
from __future__ import annotations

import hashlib
import heapq
import math
import multiprocessing
import queue as queue_module
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

import numpy as np
from django.db import connection, connections
from django.db.models import F, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from annotation import platforms, selectors, services
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video

from .realism import EXPONENT, R_MAX, WEIGHTS
from .wording import CARELESS, Observation, Voice, reason_write

# Proportions read from the paper's Fig. 2 and its text ("gender roughly balanced, most relatively
# young with undergraduate education, the vast majority never heard of deepfakes"), in the
# platform's categories.
AGE = MappingProxyType({"<20": 0.16, "20-29": 0.57, "30-39": 0.17, "40-49": 0.07, "50+": 0.03})
GENDER = MappingProxyType({"female": 0.49, "male": 0.49, "other": 0.01, "undisclosed": 0.01})
EDUCATION = MappingProxyType({"secondary": 0.18, "bachelor": 0.64, "master": 0.15, "doctorate": 0.03})
PRIOR_KNOWLEDGE = MappingProxyType({"none": 0.72, "heard": 0.17, "seen": 0.08, "expert": 0.03})
# How much lower a person with this prior knowledge rates a fake (at the top of the scale).
KNOWLEDGE_SHIFT = MappingProxyType({"none": 0.0, "heard": 0.2, "seen": 0.4, "expert": 0.7})
# How much more of the artifacts such a person notices.
KNOWLEDGE_ACUITY = MappingProxyType({"none": 1.0, "heard": 1.15, "seen": 1.3, "expert": 1.6})


SIMULATED_ID_PREFIX = "5130"  # the crowd ids of simulated people ("SIM" in hex-like digits): 5130 and 20 hex digits, a Prolific PID's form


@dataclass(frozen=True)
class CrowdModel:
    """Parameters of the annotator model; the defaults are the ones docs/synthetic_study.md discusses."""

    age: Mapping[str, float] = field(default_factory=lambda: AGE)
    gender: Mapping[str, float] = field(default_factory=lambda: GENDER)
    education: Mapping[str, float] = field(default_factory=lambda: EDUCATION)
    prior_knowledge: Mapping[str, float] = field(default_factory=lambda: PRIOR_KNOWLEDGE)
    knowledge_shift: Mapping[str, float] = field(default_factory=lambda: KNOWLEDGE_SHIFT)
    knowledge_acuity: Mapping[str, float] = field(default_factory=lambda: KNOWLEDGE_ACUITY)
    bias_sd: float = 0.4  # leniency b_i ~ N(0, bias_sd)
    noise_median: float = 0.75  # sigma_i, log-normal around this median
    noise_log_sd: float = 0.35
    skill_shift: float = 0.15  # how much a skilled person (z = 1) rates fakes lower
    careless_share: float = 0.1
    careless_noise: float = 1.1
    lapse_rate: float = 0.025  # chance of a random grade on any video
    seconds_median: float = 20.0  # typical seconds per video on top of watching it once
    seconds_person_log_sd: float = 0.5
    seconds_video_log_sd: float = 0.4
    careless_speed: float = 0.3  # careless people take this share of the time
    skill_speed: float = 0.25  # seconds scale by exp(-skill_speed * z)
    notice_rate: float = 3.0  # P(notice kind k) = 1 - exp(-notice_rate * acuity * w_k * s_k ** e)
    relecture_noise: float = 0.7  # after a disqualification the lecture again: sigma_i times this
    relecture_bias: float = 0.5  # and b_i times this
    careless_relapse: float = 0.3  # chance a careless person stays careless after the lecture again
    give_up_after: int = 3  # disqualifications after which each further one may end their work
    give_up_p: float = 0.5
    dropout_rate: float = 0.03  # leave in the middle of the first attempt, never to return
    lecture_minutes: tuple[float, float] = (3.0, 8.0)


@dataclass
class Persona:
    """One simulated person: demographics, rating traits and writing voice (mutable: the lecture teaches)."""

    index: int
    age_group: str
    gender: str
    education: str
    prior_knowledge: str
    bias: float
    noise: float
    skill: float
    careless: bool
    careless_default: float
    seconds_median: float
    voice: Voice
    dropout_after: int | None
    disqualifications: int = 0

    @property
    def external_id(self) -> str:
        """A Prolific id of Prolific's form (24 lowercase hex digits) that says it is simulated: 5130 ("SIM")."""
        return f"{SIMULATED_ID_PREFIX}{self.index:020x}"


def persona_draw(model: CrowdModel, rng: np.random.Generator, index: int) -> Persona:
    def pick(table: Mapping[str, float]) -> str:
        keys = list(table)
        p = np.array([table[k] for k in keys], dtype=float)
        return keys[int(rng.choice(len(keys), p=p / p.sum()))]

    skill = float(rng.normal())
    careless = bool(rng.random() < model.careless_share)
    speed = np.exp(rng.normal(0, model.seconds_person_log_sd) - model.skill_speed * skill)
    seconds = model.seconds_median * float(speed) * (model.careless_speed if careless else 1.0)
    voice = Voice(
        careless=careless,
        vague_rate=float(np.clip(0.12 - 0.04 * skill, 0.02, 0.3)),
        wrong_rate=float(np.clip(0.08 - 0.03 * skill, 0.01, 0.25)),
        person_rate=0.05,
        typo_rate=0.03,
        pasted=str(rng.choice(CARELESS)) if careless and rng.random() < 0.6 else "",
    )
    return Persona(
        index=index,
        age_group=pick(model.age),
        gender=pick(model.gender),
        education=pick(model.education),
        prior_knowledge=pick(model.prior_knowledge),
        bias=float(rng.normal(0, model.bias_sd)),
        noise=float(model.noise_median * np.exp(rng.normal(0, model.noise_log_sd))),
        skill=skill,
        careless=careless,
        careless_default=float(rng.uniform(2.5, 4.5)),
        seconds_median=seconds,
        voice=voice,
        dropout_after=int(rng.integers(3, 30)) if rng.random() < model.dropout_rate else None,
    )


def persona_relecture(persona: Persona, model: CrowdModel, rng: np.random.Generator) -> None:
    """After a disqualification the person takes the lecture again and rates more carefully."""
    persona.disqualifications += 1
    persona.noise *= model.relecture_noise
    persona.bias *= model.relecture_bias
    if persona.careless and rng.random() > model.careless_relapse:
        persona.careless = False
        persona.voice = Voice(careless=False)
        persona.seconds_median /= model.careless_speed


@dataclass(frozen=True)
class VideoTruth:
    realism: float
    fake: bool
    strengths: Mapping[str, float]
    person: Mapping[str, object]
    duration_s: float


def grades_draw(persona: Persona, model: CrowdModel, videos: list[VideoTruth], rng: np.random.Generator) -> np.ndarray:
    """The grades one person gives a list of videos (the model of the module docstring)."""
    realism = np.array([v.realism for v in videos])
    fake = np.array([v.fake for v in videos])
    n = len(videos)
    if persona.careless:
        s = 0.25 * realism + 0.75 * persona.careless_default + model.careless_noise * rng.standard_normal(n)
    else:
        harder = model.knowledge_shift[persona.prior_knowledge] + model.skill_shift * persona.skill
        s = realism - fake * harder * (realism - 1) / (R_MAX - 1) + persona.bias + persona.noise * rng.standard_normal(n)
    grades = np.clip(np.rint(s), 1, 5).astype(int)
    lapse = rng.random(n) < model.lapse_rate
    grades[lapse] = rng.integers(1, 6, size=int(lapse.sum()))
    return grades


def observations_draw(persona: Persona, model: CrowdModel, video: VideoTruth, grade: int,
                      rng: np.random.Generator) -> list[Observation]:
    """The artifacts this person noticed in this video, most salient first, with perceived severity."""
    if persona.careless or not video.strengths:
        return []
    acuity = model.knowledge_acuity[persona.prior_knowledge] * math.exp(0.3 * persona.skill)
    found = []
    for kind, strength in video.strengths.items():
        salience = WEIGHTS[kind] * strength**EXPONENT
        if rng.random() < 1 - math.exp(-model.notice_rate * acuity * salience):
            severity = min(max(strength + 0.15 * rng.standard_normal() + 0.08 * (3 - grade), 0.0), 1.0)
            found.append((salience * (0.7 + 0.6 * rng.random()), Observation(kind, severity)))
    found.sort(key=lambda pair: -pair[0])
    keep = 1 + int(rng.binomial(2, 0.3))
    return [o for _, o in found[:keep]]


# --- The simulator ----------------------------------------------------------------------------


@dataclass
class CrowdReport:
    annotators: int = 0
    attempts: int = 0
    ratings: int = 0
    qualified: int = 0
    disqualified: int = 0
    gave_up: int = 0
    dropped_out: int = 0
    finished_annotators: int = 0  # finished at least one attempt (qualified or disqualified)
    redo_annotators: int = 0  # had at least one attempt disqualified
    refused: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def redo_share(self) -> float:
        """Share of the annotators who finished an attempt that had to redo one (the paper: 44.2%)."""
        return self.redo_annotators / self.finished_annotators if self.finished_annotators else 0.0

    def add(self, other: "CrowdReport") -> None:
        for name in ("attempts", "ratings", "qualified", "disqualified", "gave_up", "dropped_out",
                     "finished_annotators", "redo_annotators"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.refused.items():
            self.refused[code] = self.refused.get(code, 0) + count


FLUSH_MINUTES = 60  # submit at least this often in simulated time (half the default idle timeout)
WINDOW_MINUTES = 240  # the periodic release of abandoned sessions runs this often (and workers meet)
ANALYZE_EVERY = 250  # arrivals between two ANALYZE runs on PostgreSQL (see _database_tuned)
_TABLES = ("annotation_video", "annotation_annotator", "annotation_annotationsession", "annotation_sessionitem",
           "annotation_attempt", "annotation_rating")


@contextmanager
def _database_tuned():
    """What a bulk simulation needs from PostgreSQL, for this connection only.

    Days of traffic arrive in minutes, faster than autovacuum refreshes the planner's statistics:
    with stale ones the assignment's load query runs as nested loops (a second per session start
    instead of milliseconds), so the simulator runs ANALYZE as the tables grow. Commits
    do not wait for the disk (synchronous_commit off: a crash may lose the last few simulated
    transactions, never corrupt anything).
    """
    if connection.vendor != "postgresql":
        yield lambda: None
        return

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(_TABLES)}")

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    analyze()
    try:
        yield analyze
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def campaign_truths(campaign: Campaign) -> dict[int, VideoTruth]:
    """The ground truth of every video of a synthetic campaign, by video id."""
    rows = Video.objects.filter(campaign=campaign).exclude(role=Video.Role.DEMO).select_related("synthetic_truth")
    truths = {}
    for video in rows:
        truth = getattr(video, "synthetic_truth", None)
        if truth is None:
            raise ValueError(f"video {video.pk} ({video.source_name}) of campaign {campaign.slug!r} has no synthetic truth; "
                             "the crowd can only rate a study made by make_demo_study")
        truths[video.pk] = VideoTruth(realism=truth.realism, fake=not video.is_real, strengths=truth.artifacts,
                                      person=truth.person, duration_s=video.duration_s or 3.0)
    return truths


def crowd_simulate(
    *,
    campaign: Campaign,
    annotators: int,
    seed: int,
    model: CrowdModel = CrowdModel(),
    days: float = 7.0,
    start: datetime | None = None,
    first_index: int = 0,
    workers: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> CrowdReport:
    """Send `annotators` simulated people through `campaign`'s workflow; returns what happened.

    Arrivals are spread uniformly over `days` of simulated time from `start` (default: so that the
    study ends a day before now). `first_index` numbers the people (their crowd ids are 5130 and the number in hex: `Persona.external_id`),
    so a second call can add more people to the same campaign.

    Simulated time advances in windows of WINDOW_MINUTES; at the end of each the periodic release
    of abandoned sessions runs, as Celery beat would. With `workers` > 1 the people are split over
    that many forked processes (each with its own database connection) that meet at every
    window's end, so the database always holds the same simulated moment when sessions are
    released; within a window, workers interleave freely, as real annotators do. Several workers
    need committed data: use one inside a test's transaction, or on SQLite.
    """
    wall = time.perf_counter()
    simulation = _Simulation(campaign=campaign, annotators=annotators, seed=seed, model=model, days=days,
                             start=start, first_index=first_index)
    bar = progress(range(annotators)) if progress else None
    ticker = iter(bar) if bar is not None else None
    if workers > 1 and connection.in_atomic_block:
        raise ValueError("several workers need committed data: run one worker inside a transaction")
    if workers <= 1:
        report = simulation.run(rank=0, workers=1, sync=None, tick=lambda: next(ticker, None) if ticker else None)
    else:
        report = _run_forked(simulation, workers, ticker)
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    crowd_clock_apply(campaign)
    report.annotators = annotators
    report.seconds = time.perf_counter() - wall
    return report


def crowd_clock_apply(campaign: Campaign) -> None:
    """Move the simulated people's creation times from the wall clock to the simulated one.

    The services take `now` for what they decide (consent, lecture, submissions, finish, idle
    release), but rows stamp their creation with the server's clock (`auto_now_add`, SQL `now()`):
    a session and its first attempt are written when the simulator runs, today, while the attempt
    finishes days earlier in simulated time, so attempts finished before they started and the
    per-day charts put every session on one day. The moments are known from what the services
    stored with `now`; this sets each creation time to it, as the live platform would have:

    - a session and its first attempt start when the lecture was completed (the session is drawn then);
    - attempt n > 1 starts when attempt n - 1 finished (the platform creates it at that finish);
    - an annotator arrives when they consented (the simulation enters and consents at one moment);
    - a rating is created when it was submitted: served_at + seconds_spent (the batch submit the
      simulator uses writes through the ORM, which stamps the wall clock).

    Only the simulated people (crowd ids SIM...) are touched: a researcher trying the study keeps
    their real times. Idempotent, so a second `crowd_simulate` on the campaign may run it again.
    """
    people = Annotator.objects.filter(campaign=campaign, external_id__startswith=SIMULATED_ID_PREFIX,
                                      source=Annotator.Source.PROLIFIC)
    people.exclude(consented_at=None).update(created_at=F("consented_at"))
    attempts = Attempt.objects.filter(session__annotator__in=people)
    attempts.filter(number=1).exclude(lecture_completed_at=None).update(started_at=F("lecture_completed_at"))
    previous = Attempt.objects.filter(session=OuterRef("session"), number=OuterRef("number") - 1).values("finished_at")[:1]
    attempts.filter(number__gt=1).update(started_at=Subquery(previous))
    first = Attempt.objects.filter(session=OuterRef("pk"), number=1).values("started_at")[:1]
    AnnotationSession.objects.filter(annotator__in=people).update(started_at=Subquery(first))
    ratings = Rating.objects.filter(attempt__in=attempts)
    if connection.vendor == "postgresql":  # one statement: 1.5 million ratings at the dream size
        submitted = RawSQL("served_at + seconds_spent * interval '1 second'", ())
        ratings.update(created_at=submitted, updated_at=submitted)
    else:  # SQLite has no interval arithmetic the ORM can express; the small sizes run here
        rows = list(ratings.only("id", "served_at", "seconds_spent", "updated_at"))
        for rating in rows:
            rating.created_at = rating.updated_at = rating.served_at + timedelta(seconds=rating.seconds_spent)
        Rating.objects.bulk_update(rows, ["created_at", "updated_at"], batch_size=2000)


@dataclass
class _Person:
    persona: Persona
    rng: np.random.Generator
    annotator: Annotator | None = None
    attempt: Attempt | None = None


class _Sync:
    """Where forked workers meet at the end of each window (None for a single worker)."""

    def __init__(self, context, workers: int):
        self.barrier = context.Barrier(workers)
        self.busy = context.Array("i", workers)
        self.done = context.Value("i", 0)


class _Simulation:
    """The people, their arrival times and the event loop over simulated time."""

    def __init__(self, *, campaign: Campaign, annotators: int, seed: int, model: CrowdModel, days: float,
                 start: datetime | None, first_index: int):
        self.campaign, self.model, self.seed, self.first_index = campaign, model, seed, first_index
        self.truths = campaign_truths(campaign)
        self.consent = selectors.campaign_current_consent(campaign)
        if self.consent is None:
            raise ValueError(f"campaign {campaign.slug!r} has no consent text")
        self.start = start or timezone.now() - timedelta(days=days + 1)
        rng = np.random.default_rng([seed, 1, first_index])
        self.arrivals = np.sort(rng.uniform(0, days * 86400, size=annotators))

    def moment(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def run(self, *, rank: int, workers: int, sync: _Sync | None, tick: Callable[[], object]) -> CrowdReport:
        """Simulate the people of this worker (every `workers`-th one from `rank`) to the end."""
        model, campaign = self.model, self.campaign
        report = CrowdReport()
        queue: list[tuple[float, int, str, int, object]] = []
        counter = 0
        people: dict[int, _Person] = {}
        finished: set[int] = set()
        redo: set[int] = set()

        def schedule(at: float, action: str, who: int, payload: object = None) -> None:
            nonlocal counter
            counter += 1
            heapq.heappush(queue, (at, counter, action, who, payload))

        for i in range(rank, len(self.arrivals), workers):
            index = self.first_index + i
            people[i] = _Person(persona_draw(model, np.random.default_rng([self.seed, 2, index]), index),
                                np.random.default_rng([self.seed, 3, index]))
            schedule(float(self.arrivals[i]), "arrive", i)
        window, arrived = 0.0, 0
        with _database_tuned() as analyze:
            while True:
                window += WINDOW_MINUTES * 60
                while queue and queue[0][0] < window:
                    at, _, action, who, payload = heapq.heappop(queue)
                    arrived += action == "arrive"
                    if action == "arrive" and rank == 0 and (arrived in (25, 50, 100) or arrived % ANALYZE_EVERY == 0):
                        analyze()
                    self.step(people[who], who, action, at, payload, schedule, report, finished, redo, tick)
                if not self.window_end(rank, sync, window, more=bool(queue)):
                    break
        report.finished_annotators, report.redo_annotators = len(finished), len(redo)
        return report

    def window_end(self, rank: int, sync: _Sync | None, window: float, *, more: bool) -> bool:
        """Meet the other workers, run the periodic release; whether any worker has events left."""
        if sync is None:
            services.sessions_release_abandoned(now=self.moment(window))
            if more:
                return True
            # The periodic task runs on after the last person leaves: drop-outs' sessions end abandoned.
            services.sessions_release_abandoned(
                now=self.moment(window) + timedelta(minutes=self.campaign.session_timeout_minutes + 1))
            return False
        sync.busy[rank] = int(more)
        sync.barrier.wait()
        more_anywhere = any(sync.busy[:])
        if rank == 0:
            services.sessions_release_abandoned(now=self.moment(window))
            if not more_anywhere:
                services.sessions_release_abandoned(
                    now=self.moment(window) + timedelta(minutes=self.campaign.session_timeout_minutes + 1))
        sync.barrier.wait()
        return more_anywhere

    def step(self, person: _Person, who: int, action: str, at: float, payload, schedule, report: CrowdReport,
             finished: set[int], redo: set[int], tick) -> None:
        model, campaign, now = self.model, self.campaign, self.moment(at)
        if action == "arrive":
            _arrive(person, campaign, self.consent, now)
            schedule(at + 60 * person.rng.uniform(*model.lecture_minutes), "lecture", who)
        elif action == "lecture":
            try:
                person.attempt = services.lecture_complete(annotator=person.annotator, now=now)
            except ApplicationError as error:
                report.refused[error.code] = report.refused.get(error.code, 0) + 1
                tick()
                return
            report.attempts += 1
            for when, items, last in _plan_attempt(person, model, self.truths, at, self.start, campaign.min_reason_length):
                schedule(when, "submit", who, (items, last))
        elif action == "submit":
            items, last = payload
            services.ratings_submit_batch(annotator_id=person.annotator.pk, items=items)
            report.ratings += len(items)
            if last == "dropout":
                report.dropped_out += 1
                tick()
            elif last == "finish":
                schedule(at + person.rng.uniform(5, 40), "finish", who)
        elif action == "finish":
            attempt = services.attempt_finish(annotator=person.annotator, attempt_number=person.attempt.number, now=now)
            finished.add(who)
            if attempt.outcome == Attempt.Outcome.QUALIFIED:
                report.qualified += 1
                tick()
                return
            report.disqualified += 1
            redo.add(who)
            persona = person.persona
            if persona.disqualifications + 1 >= model.give_up_after and person.rng.random() < model.give_up_p:
                report.gave_up += 1  # leaves; the session is released as abandoned after the timeout
                tick()
                return
            persona_relecture(persona, model, person.rng)
            schedule(at + 60 * person.rng.uniform(*model.lecture_minutes), "lecture", who)


def _run_forked(simulation: _Simulation, workers: int, ticker) -> CrowdReport:
    """Run the simulation in `workers` forked processes; their reports are added up."""
    context = multiprocessing.get_context("fork")
    sync = _Sync(context, workers)
    results = context.Queue()
    connections.close_all()  # each child opens its own connection

    def child(rank: int) -> None:
        try:
            report = simulation.run(rank=rank, workers=workers, sync=sync, tick=lambda: _add_one(sync.done))
            results.put((rank, report, None))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            sync.barrier.abort()
            results.put((rank, None, f"{type(exc).__name__}: {exc}"))
        finally:
            connections.close_all()

    processes = [context.Process(target=child, args=(rank,), daemon=True) for rank in range(workers)]
    for process in processes:
        process.start()
    total, errors, shown, received = CrowdReport(), [], 0, 0
    while received < workers:
        try:
            rank, report, error = results.get(timeout=0.5)
        except queue_module.Empty:
            if not any(p.is_alive() for p in processes) and results.empty():
                errors.append("a worker died without a report")
                break
        else:
            received += 1
            if error:
                errors.append(f"worker {rank}: {error}")
            else:
                total.add(report)
        while ticker is not None and shown < sync.done.value:
            next(ticker, None)
            shown += 1
    for process in processes:
        process.join()
    if errors:
        raise RuntimeError("the crowd simulation failed: " + "; ".join(errors))
    return total


def _add_one(value) -> None:
    with value.get_lock():
        value.value += 1


def _prolific_id(text: str) -> str:
    """A Prolific-form id (24 lowercase hex digits) that stands for `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _arrive(person: _Person, campaign: Campaign, consent, now: datetime) -> None:
    persona = person.persona
    identity = platforms.identity_from_request({
        "PROLIFIC_PID": persona.external_id, "STUDY_ID": _prolific_id(f"study-{campaign.slug}"),
        "SESSION_ID": _prolific_id(f"session-{campaign.slug}-{persona.index}"),
    }, None)
    person.annotator = services.annotator_consent(
        campaign=campaign, identity=identity, consent=consent, entry_token=f"demo-{persona.index}", now=now,
    )
    services.demographics_save(
        annotator=person.annotator, age_group=persona.age_group, gender=persona.gender,
        education=persona.education, prior_knowledge=persona.prior_knowledge, now=now + timedelta(seconds=40),
    )


def _plan_attempt(person: _Person, model: CrowdModel, truths: Mapping[int, VideoTruth], at: float,
                  start: datetime, min_length: int) -> list[tuple[float, list[services.RatingInput], str]]:
    """Rate every position of the attempt in simulated time; group the submissions into batches.

    Returns (when, items, what-follows) triples: a batch at least every FLUSH_MINUTES, the last one
    followed by the finish, or by nothing for a person who drops out.
    """
    persona, rng, attempt = person.persona, person.rng, person.attempt
    videos = [truths[video_id] for video_id in attempt.video_order]
    grades = grades_draw(persona, model, videos, rng)
    stop = len(videos)
    if persona.dropout_after is not None and attempt.number == 1:
        stop = min(persona.dropout_after, len(videos))
    # Per-video draws at once: time to watch (careless people skip), to decide and type, to load.
    duration = np.array([v.duration_s for v in videos[:stop]])
    if persona.careless:
        watch = duration * rng.uniform(0.3, 1.0, size=stop)
    else:
        watch = duration * (1 + rng.poisson(0.4, size=stop))
    think = persona.seconds_median * np.exp(rng.normal(0, model.seconds_video_log_sd, size=stop))
    load = rng.uniform(0.3, 1.5, size=stop)
    to_end = (rng.random(stop) < 0.4) | (not persona.careless)
    plays, seeks = 1 + rng.poisson(0.4, size=stop), rng.poisson(0.3, size=stop)
    fullscreen = rng.random(stop) < 0.1
    batches: list[tuple[float, list[services.RatingInput], str]] = []
    items: list[services.RatingInput] = []
    clock = batch_start = at + float(rng.uniform(1, 5))
    for i in range(stop):
        video, grade = videos[i], int(grades[i])
        served = start + timedelta(seconds=clock)
        clock += float(watch[i] + think[i])
        text = reason_write(rng, grade=grade, observations=observations_draw(persona, model, video, grade, rng),
                            person=video.person, voice=persona.voice, min_length=min_length)
        items.append(services.RatingInput(
            token=selectors.rating_token_make(attempt, i + 1, served),
            score=grade,
            typed_reason=text,
            playback=services.Playback(played_to_end=bool(to_end[i]), plays=int(plays[i]), seeks=int(seeks[i]),
                                       fullscreen=bool(fullscreen[i])),
            now=start + timedelta(seconds=clock),
        ))
        if clock - batch_start >= FLUSH_MINUTES * 60 and i + 1 < stop:
            batches.append((clock, items, "more"))
            items, batch_start = [], clock
        clock += float(load[i])  # the next page loads
    batches.append((clock, items, "finish" if stop == len(videos) else "dropout"))
    return batches
