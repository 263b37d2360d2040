"""The integrity check: does annotation_rating hold exactly the ratings the server acknowledged?"""
from __future__ import annotations

from collections import Counter


def verify_database(phases: list[dict], seeded_last_id: int) -> dict:
    """Compare the acknowledged (attempt, position) pairs with the rows in annotation_rating (the
    ones the benchmark made: above the seeded history's ids).

    Returns the counts on both sides, missing and extra rows (extra ones from submits sent without
    an answer apart), and `exact`: the table holds the acknowledged ratings and nothing unexplained."""
    from django.core import signing
    from django.db import connection

    from annotation.selectors import RATING_TOKEN_SALT

    acked, mismatched = Counter(), 0
    for ph in phases:
        for token, saved in ph["acked"]:
            payload = signing.loads(token, salt=RATING_TOKEN_SALT)
            acked[(payload["a"], payload["p"])] += 1
            mismatched += payload["p"] != saved
    in_doubt = set()
    for ph in phases:
        for token in ph["in_doubt"]:
            payload = signing.loads(token, salt=RATING_TOKEN_SALT)
            in_doubt.add((payload["a"], payload["p"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotation_rating WHERE id > %s", [seeded_last_id])
        db_count = cursor.fetchone()[0]
        cursor.execute("SELECT attempt_id, position FROM annotation_rating WHERE id > %s", [seeded_last_id])
        stored = set(cursor.fetchall())
    connection.close()
    acked_set = set(acked)
    missing = acked_set - stored
    extra = stored - acked_set
    unexplained = extra - in_doubt
    return {
        "acknowledged": sum(acked.values()), "acknowledged_unique": len(acked_set),
        "acknowledged_twice": sum(1 for n in acked.values() if n > 1),
        "saved_position_mismatch": mismatched, "db_count": db_count, "db_unique": len(stored),
        "missing": len(missing), "extra": len(extra), "extra_in_doubt": len(extra & in_doubt),
        "extra_unexplained": len(unexplained), "in_doubt_sent": len(in_doubt),
        "lost_nothing": not missing, "exact": not missing and not unexplained and db_count == len(stored),
    }
