"""Platform ids of the form each platform sends (`annotation.platforms`), made from a readable tag:
the same tag gives the same id, so a test can name a worker ("VICTIM") and find their row."""
from __future__ import annotations

import hashlib


def _hex(kind: str, tag: str) -> str:
    return hashlib.sha256(f"{kind}:{tag}".encode()).hexdigest()


def prolific(tag: str) -> str:
    """A Prolific PID, STUDY_ID or SESSION_ID: 24 lowercase hex digits."""
    return _hex("prolific", tag)[:24]


def mturk_worker(tag: str) -> str:
    """An MTurk workerId: A and 13 uppercase letters or digits, as the real ones."""
    return "A" + _hex("worker", tag)[:13].upper()


def mturk(tag: str) -> str:
    """An MTurk assignmentId or hitId: 30 uppercase letters or digits."""
    return _hex("mturk", tag)[:30].upper()


def prolific_params(tag: str) -> dict:
    """The three ids of a Prolific link for the participant `tag`."""
    return {"PROLIFIC_PID": prolific(tag), "STUDY_ID": prolific("study"), "SESSION_ID": prolific(f"session-{tag}")}
