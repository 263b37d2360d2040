"""The integrity check: does annotation_rating hold exactly the ratings the server acknowledged?"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def compare_ratings(acked: Iterable[tuple[tuple[int, int], int]], in_doubt: Iterable[tuple[int, int]],
                    stored: list[tuple[int, int]]) -> dict:
    """The accounting itself, without a database: `acked` holds ((attempt, position) of the token,
    position the server said it saved) per 2xx answer, `in_doubt` the (attempt, position) of
    submits sent without an answer, `stored` the (attempt, position) of every rating row made.

    Returns the counts on both sides, missing and extra rows (extra ones from submits sent without
    an answer apart), and `exact`: every acknowledged rating is stored exactly once and nothing
    else is stored that no one can explain."""
    counts, mismatched = Counter(), 0
    for pair, saved in acked:
        counts[pair] += 1
        mismatched += pair[1] != saved
    in_doubt = set(in_doubt)
    stored_set = set(stored)
    acked_set = set(counts)
    missing = acked_set - stored_set
    extra = stored_set - acked_set
    unexplained = extra - in_doubt
    stored_twice = len(stored) - len(stored_set)
    return {
        "acknowledged": sum(counts.values()), "acknowledged_unique": len(acked_set),
        "acknowledged_twice": sum(1 for n in counts.values() if n > 1),
        "saved_position_mismatch": mismatched, "db_count": len(stored), "db_unique": len(stored_set),
        "stored_twice": stored_twice,
        "missing": len(missing), "extra": len(extra), "extra_in_doubt": len(extra & in_doubt),
        "extra_unexplained": len(unexplained), "in_doubt_sent": len(in_doubt),
        "lost_nothing": not missing,
        "exact": not missing and not unexplained and not stored_twice and not mismatched,
    }


def verify_database(phases: list[dict], seeded_last_id: int) -> dict:
    """Compare the acknowledged (attempt, position) pairs of `phases` (their "acked" and
    "in_doubt" tokens) with the rows in annotation_rating that the benchmark made (above the
    seeded history's ids). Returns compare_ratings' figures."""
    from django.core import signing
    from django.db import connection

    from annotation.selectors import RATING_TOKEN_SALT

    def pair(token: str) -> tuple[int, int]:
        payload = signing.loads(token, salt=RATING_TOKEN_SALT)
        return payload["a"], payload["p"]

    acked = [(pair(token), saved) for ph in phases for token, saved in ph["acked"]]
    in_doubt = [pair(token) for ph in phases for token in ph["in_doubt"]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT attempt_id, position FROM annotation_rating WHERE id > %s", [seeded_last_id])
        stored = cursor.fetchall()
    connection.close()
    return compare_ratings(acked, in_doubt, stored)
