"""The simulated annotators' HTTP flow (entry to Finish, the resave loop) and the bare-insert client."""
from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from urllib.parse import urlencode

from .phase import Phase, StopPhase
from .seed import SLUG, VIDEOS_PER_SESSION

CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_RE = re.compile(rb'name="token"[^>]*?value="([^"]+)"')
ATTEMPT_RE = re.compile(rb'name="attempt" value="(\d+)"')
CONSENT_VERSION_RE = re.compile(rb'name="version" value="(\d+)"')
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_HEADERS = {"Content-Type": "application/json"}
REASONS = [
    "The mouth looks blurry when she talks",
    "Whole face flickers around the eyes",
    "Skin colour does not match the neck",
    "Visible seam at the left cheek",
    "No traces; young man with short dark hair and a grey shirt",
    "Slight shaking of the face when he turns",
]


class StepError(Exception):
    """A step of the flow went wrong; the phase counts its `kind` among the errors."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Browser:
    """One annotator's cookies (handled by hand: cheap, and Secure cookies still flow over plain HTTP)."""

    __slots__ = ("ph", "cookies")

    def __init__(self, ph: Phase):
        self.ph = ph
        self.cookies: dict[str, str] = {}

    async def request(self, step: str, method: str, path: str, data: dict | None = None, answer: dict | None = None):
        """`data`: a form's fields (sent url-encoded); `answer`: a rating (sent as JSON, as the page does).

        Returns (HTTP status, Location header or None, body)."""
        ph = self.ph
        ph.check_time()
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers.update(FORM_HEADERS)
        elif answer is not None:
            body = json.dumps(answer).encode()
            headers.update(JSON_HEADERS)
        started = ph.loop.time()
        async with ph.http.request(method, ph.base + path, data=body, headers=headers, allow_redirects=False) as resp:
            content = await resp.read()
            for raw in resp.headers.getall("Set-Cookie", ()):
                pair = raw.split(";", 1)[0]
                name, _, value = pair.partition("=")
                if "max-age=0" in raw.lower() or "01 jan 1970" in raw.lower():
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value.strip()
            status, location = resp.status, resp.headers.get("Location")
        ph.record(step, started, ph.loop.time())
        return status, location, content

    async def follow(self, step: str, status: int, location: str | None, content: bytes, expect: str):
        """Follow redirects with GETs until a page answers; it must be the page `expect` names.

        Returns that page's body."""
        path = None
        for _ in range(8):
            if status not in (301, 302, 303):
                break
            path = location
            status, location, content = await self.request(step, "GET", path)
        if status != 200:
            raise StepError(f"{step}: HTTP {status}")
        if path is not None and expect not in path:
            raise StepError(f"{step}: landed on {path.split('?')[0]}")
        return content

    def csrf(self, step: str, content: bytes) -> str:
        """Returns the CSRF token of the page `content` (a StepError of `step` without one)."""
        match = CSRF_RE.search(content)
        if not match:
            raise StepError(f"{step}: no csrf token in page")
        return match.group(1).decode()


async def annotator_life(ph: Phase, idx: int, serial: int, leave_after: int | None = None) -> None:
    """One annotator from the entry link to Finish (or gone after `leave_after` submits)."""
    b = Browser(ph)
    rng = random.Random()
    ph.annotators_started += 1
    page = f"/c/{SLUG}/"
    # Prolific's form (24 lowercase hex digits): a hash of the run, phase, client and serial.
    pid = hashlib.sha256(f"{ph.run_id}-{ph.seq}-{idx}-{serial}".encode()).hexdigest()[:24]
    content = await b.follow("entry", *await b.request("entry", "GET", f"{page}?PROLIFIC_PID={pid}"), expect="/consent/")
    version = CONSENT_VERSION_RE.search(content)
    if not version:
        raise StepError("consent: no version in page")
    answer = {"csrfmiddlewaretoken": b.csrf("consent", content), "agree": "on", "version": version.group(1).decode()}
    content = await b.follow("consent", *await b.request("consent", "POST", page + "consent/", answer), expect="/about-you/")
    answer = {"csrfmiddlewaretoken": b.csrf("demographics", content)}
    answer.update({k: rng.choice(v) for k, v in ph.choices.items()})
    content = await b.follow("demographics", *await b.request("demographics", "POST", page + "about-you/", answer),
                             expect="/lecture/")
    answer = {"csrfmiddlewaretoken": b.csrf("lecture", content)}
    if ph.mode == "launch":  # the start alone is timed; the rating page it leads to is its own step
        status, location, content = await b.request("session start", "POST", page + "lecture/", answer)
        content = await b.follow("rate page", status, location, content, expect="/rate/")
        ph.sessions_finished["started, then left"] += 1
        return
    content = await b.follow("lecture", *await b.request("lecture", "POST", page + "lecture/", answer), expect="/rate/")
    match = TOKEN_RE.search(content)
    if not match:
        raise StepError("rate page: no token")
    token = match.group(1).decode()
    submit_path = page + "api/ratings/"
    # resave: the first pass through the session is warm-up; its submits are counted apart.
    submit_step = "first pass submit" if ph.mode == "resave" else "submit"
    tokens: list[str] = []
    while True:
        slot = None
        if ph.tickets is not None:
            slot = await ph.tickets.get()
            if slot is None:
                raise StopPhase
        elif ph.think:
            await asyncio.sleep(ph.think * rng.uniform(0.5, 1.5))
        # The rating page's form fields, all strings, as its script sends them.
        answer = {
            "token": token, "score": str(rng.randint(1, 5)),
            "reason": rng.choice(REASONS), "plays": str(rng.randint(1, 3)), "seeks": str(rng.randint(0, 2)),
            "played_to_end": "on" if rng.random() < 0.8 else "", "fullscreen": "on" if rng.random() < 0.1 else "",
        }
        status, content = await submit_answer(ph, b, submit_step, submit_path, token, answer)
        if slot is not None and slot >= ph.t_start and ph.loop.time() < ph.t_end:
            ph.sched_lat.append(ph.loop.time() - slot)
        if status >= 500:
            ph.in_doubt.append(token)
            raise StepError(f"submit: HTTP {status}")
        try:
            data = json.loads(content)
        except ValueError:
            ph.in_doubt.append(token)
            raise StepError(f"submit: HTTP {status}, not JSON") from None
        if status != 200 or "saved" not in data:
            ph.refused += 1
            raise StepError(f"submit: HTTP {status} {data.get('code', '?')}")
        ph.acked.append((token, data["saved"]))
        tokens.append(token)
        if leave_after is not None:
            leave_after -= 1
            if leave_after <= 0:
                ph.sessions_finished["left early (first session)"] += 1
                return
        if "item" in data:
            token = data["item"]["token"]
            continue
        if "review" not in data.get("redirect", ""):
            raise StepError(f"submit: redirected to {data.get('redirect')}")
        break
    if ph.mode == "resave":
        await resave_answers(ph, b, rng, submit_path, tokens)
        return
    content = await b.follow("review", *await b.request("review", "GET", page + "review/"), expect="/review/")
    match = ATTEMPT_RE.search(content)
    if not match:
        raise StepError("review: no attempt number")
    answer = {"csrfmiddlewaretoken": b.csrf("review", content), "attempt": match.group(1).decode()}
    status, location, content = await b.request("finish", "POST", page + "review/", answer)
    if status != 302 or not location:
        raise StepError(f"finish: HTTP {status}")
    await b.follow("finish", status, location, content, expect="/")
    ph.sessions_finished["qualified" if "thank-you" in location else "disqualified"] += 1


async def submit_answer(ph: Phase, b: "Browser", step: str, path: str, token: str, answer: dict) -> tuple[int, bytes]:
    """Send one rating; returns (HTTP status, body).

    With `ph.retry_unavailable` (seconds, the soak sets it) a 503 or a request without an answer
    is sent again, as the rating page's script does, until it is answered or that many seconds
    have passed; each retry counts among the errors ("... (retried)"). A request that was sent
    and never answered is kept in `ph.in_doubt` when the annotator gives up on it."""
    give_up = ph.loop.time() + ph.retry_unavailable
    delay = 0.25
    unanswered = False  # an earlier send of this rating got no answer: it may be stored
    while True:
        sent = False
        try:
            ph.check_time()
            sent = True
            status, _, content = await b.request(step, "POST", path, answer=answer)
        except asyncio.CancelledError:
            if sent or unanswered:
                ph.in_doubt.append(token)
            raise
        except StopPhase:
            if unanswered:
                ph.in_doubt.append(token)
            raise
        except Exception as exc:
            unanswered = True
            if ph.loop.time() + delay < give_up:
                ph.errors[f"submit: {type(exc).__name__} (retried)"] += 1
                await asyncio.sleep(delay)
                delay = min(2 * delay, 2.0)
                continue
            ph.in_doubt.append(token)
            raise StepError(f"submit: {type(exc).__name__}") from exc
        if status == 503 and ph.loop.time() + delay < give_up:
            ph.errors["submit: HTTP 503 (retried)"] += 1
            await asyncio.sleep(delay)
            delay = min(2 * delay, 2.0)
            continue
        return status, content


async def resave_answers(ph: Phase, b: "Browser", rng: random.Random, submit_path: str, tokens: list[str]) -> None:
    """The submit alone, without the pages around it: the annotator saves its 40 answers again, in
    turn and with new grades, until the phase ends (what a retry or a changed answer sends)."""
    position = 0
    while True:
        ph.check_time()
        token = tokens[position % len(tokens)]
        position += 1
        answer = {"token": token, "score": str(rng.randint(1, 5)), "reason": rng.choice(REASONS),
                  "plays": str(rng.randint(1, 3)), "seeks": str(rng.randint(0, 2)), "played_to_end": "on"}
        try:
            status, _, content = await b.request("submit", "POST", submit_path, answer=answer)
        except asyncio.CancelledError:
            ph.in_doubt.append(token)
            raise
        except Exception as exc:
            ph.in_doubt.append(token)
            raise StepError(f"resave: {type(exc).__name__}") from exc
        data = json.loads(content) if status < 500 else {}
        if status != 200 or "saved" not in data:
            ph.in_doubt.append(token)
            raise StepError(f"resave: HTTP {status} {data.get('code', '?')}")
        ph.acked.append((token, data["saved"]))


async def annotator_loop(ph: Phase, idx: int) -> None:
    """Annotator `idx` of the phase: one life after another until the phase ends, errors counted."""
    # Spread the starts over a second, and (unless --no-stagger) let each annotator's first
    # session end after a random number of submits, as if the person left: the annotators are
    # then spread over the positions of their sessions as in a running campaign, instead of all
    # taking the lecture at once and finishing at once.
    await asyncio.sleep(idx / ph.annotators)
    serial = 0
    while True:
        serial += 1
        leave_after = random.randint(1, VIDEOS_PER_SESSION) if serial == 1 and ph.stagger else None
        try:
            await annotator_life(ph, idx, serial, leave_after)
        except StopPhase:
            return
        except StepError as exc:
            ph.errors[exc.kind] += 1
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # connection errors outside the submit
            ph.errors[f"request: {type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)


async def bare_loop(ph: Phase, idx: int) -> None:
    """Client `idx` of the bare phase: POST /bench/bare-insert/ until the phase ends (on slots when paced)."""
    body = urlencode({"payload": "x" * 220 + f"-{idx}"}).encode()
    url = ph.base + "/bench/bare-insert/"
    while ph.loop.time() < ph.t_end:
        slot = None
        if ph.tickets is not None:
            slot = await ph.tickets.get()
            if slot is None:
                return
        started = ph.loop.time()
        try:
            async with ph.http.post(url, data=body, headers=FORM_HEADERS) as resp:
                await resp.read()
                status = resp.status
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            ph.errors[f"bare: {type(exc).__name__}"] += 1
            continue
        ended = ph.loop.time()
        if status != 200:
            ph.errors[f"bare: HTTP {status}"] += 1
            continue
        ph.record("bare", started, ended)
        if slot is not None and slot >= ph.t_start and ended < ph.t_end:
            ph.sched_lat.append(ended - slot)
