"""The rating token: a signed ticket naming the attempt, the position and when the server delivered it.

A rating page carries one. Positions, not video ids, so nothing in the page hints at which video is
which; the delivery time makes `seconds_spent` a server-side measurement.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.core import signing

from .. import rules
from ..models import Attempt

RATING_TOKEN_SALT = "annotation.rating"


@dataclass(frozen=True)
class RatingToken:
    attempt_id: int
    position: int
    served_at: datetime


def rating_token_make(attempt: Attempt, position: int, served_at: datetime) -> str:
    """The signed token of `position` in `attempt`, delivered at `served_at`."""
    payload = {"a": attempt.pk, "p": position, "t": round(served_at.timestamp(), 3)}
    return signing.dumps(payload, salt=RATING_TOKEN_SALT)


def rating_token_read(token: str) -> RatingToken:
    """The token's content; raises the BAD_TOKEN rule's error if it was altered or is not a token."""
    try:
        payload = signing.loads(token, salt=RATING_TOKEN_SALT)
        return RatingToken(
            attempt_id=int(payload["a"]),
            position=int(payload["p"]),
            served_at=datetime.fromtimestamp(float(payload["t"]), tz=dt_timezone.utc),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise rules.BAD_TOKEN.error()
