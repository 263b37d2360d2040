"""annotation.contract: the ratings frame other apps read, the same on PostgreSQL and SQLite.

The expected frame is built here from the model instances, attribute by attribute, with the
dtypes the contract promises written out again; the selector must match it on whichever database
the tests run (`make test`: PostgreSQL; DATABASE_URL=sqlite:///... for SQLite). On PostgreSQL the
COPY path must also give exactly the ORM path's frame.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from annotation import contract
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video

# An awkward reason: CSV quoting, a newline, a tab, non-ASCII text and what looks like a NULL.
AWKWARD = 'seam, "ghost" edges\nand\tflicker: très visible \\N'


def _video(campaign, i, **fields):
    return Video.objects.create(campaign=campaign, content_hash=f"{campaign.slug}{i}".ljust(64, "0"), source_name=f"{campaign.slug}-{i}.mp4",
                                file=f"videos/{i}.mp4", poster=f"posters/{i}.jpg", **fields)


@pytest.fixture
def campaign(db):
    """Two regular videos, two checkers, three annotators; attempts of every outcome; another campaign beside."""
    study = Campaign.objects.create(slug="contract", title="Contract")
    regular = [_video(study, 0, identity_pair="p0", method="swapA"), _video(study, 1, identity_pair="p1", method="swapB", is_real=True)]
    checkers = [_video(study, 2, role=Video.Role.CHECKER, gold_score=1, method="bad"),
                _video(study, 3, role=Video.Role.CHECKER, gold_score=5, method="real", is_real=True)]
    now = timezone.now()
    people = [
        dict(source="prolific", age_group="20-29", gender="female", education="master", prior_knowledge="heard"),
        dict(source="lab", age_group="50+", gender="male", education="doctorate", prior_knowledge="expert"),
        dict(source="link"),  # answered nothing yet: blank attributes
    ]
    plans = [  # per annotator: the outcome of each attempt
        ["qualified"],
        ["disqualified", "qualified"],
        ["in_progress"],
    ]
    rng = np.random.default_rng(3)
    for a, (person, outcomes) in enumerate(zip(people, plans)):
        annotator = Annotator.objects.create(campaign=study, external_id=f"A{a}", **person)
        session = AnnotationSession.objects.create(campaign=study, annotator=annotator, last_activity_at=now)
        for number, outcome in enumerate(outcomes, start=1):
            attempt = Attempt.objects.create(session=session, number=number, outcome=outcome, video_order=[])
            videos = regular + checkers if outcome != "in_progress" else regular[:1]
            for position, video in enumerate(videos, start=1):
                Rating.objects.create(
                    attempt=attempt, video=video, position=position, score=int(rng.integers(1, 6)),
                    reason=AWKWARD if (a, position) == (1, 2) else f"reason {a}-{number}-{position}",
                    typed_reason="" if position == 3 else f"typed {a}-{position}", served_at=now - timedelta(seconds=30),
                    seconds_spent=float(rng.uniform(2, 40)), played_to_end=position % 2 == 0, plays=position, seeks=a,
                    fullscreen=(a + position) % 3 == 0,
                )
    other = Campaign.objects.create(slug="other", title="Other")
    annotator = Annotator.objects.create(campaign=other, source="prolific", external_id="B0")
    session = AnnotationSession.objects.create(campaign=other, annotator=annotator, last_activity_at=now)
    attempt = Attempt.objects.create(session=session, number=1, outcome="qualified", video_order=[])
    Rating.objects.create(attempt=attempt, video=_video(other, 0), position=1, score=3, reason="x", typed_reason="x", served_at=now,
                          seconds_spent=1.0)
    return study


def expected_frame(campaign) -> pd.DataFrame:
    """The contract's frame, built row by row from the model instances."""
    rows = []
    for r in Rating.objects.filter(video__campaign=campaign).select_related("video", "attempt__session__annotator").order_by("id"):
        person = r.attempt.session.annotator
        rows.append({
            "rating": r.pk, "video": r.video_id, "annotator": person.pk, "session": r.attempt.session_id, "attempt_id": r.attempt_id,
            "attempt": r.attempt.number, "outcome": r.attempt.outcome, "role": r.video.role,
            "gold_score": np.nan if r.video.gold_score is None else float(r.video.gold_score), "position": r.position,
            "score": r.score, "reason": r.reason, "typed_reason": r.typed_reason, "seconds_spent": r.seconds_spent,
            "played_to_end": r.played_to_end, "plays": r.plays, "seeks": r.seeks, "fullscreen": r.fullscreen,
            "created_at": r.created_at, "source_name": r.video.source_name, "method": r.video.method,
            "identity_pair": r.video.identity_pair, "is_real": r.video.is_real, "source": person.source,
            "age_group": person.age_group, "gender": person.gender, "education": person.education,
            "prior_knowledge": person.prior_knowledge,
            "qualified": r.attempt.outcome == "qualified", "is_checker": r.video.role == "checker",
        })
    frame = pd.DataFrame(rows)
    dtypes = {c: "int64" for c in ("rating", "video", "annotator", "session", "attempt_id", "attempt", "position", "score", "plays", "seeks")}
    dtypes |= {"gold_score": "float64", "seconds_spent": "float64", "reason": "str", "typed_reason": "str"}
    dtypes |= {c: "bool" for c in ("played_to_end", "fullscreen", "is_real", "qualified", "is_checker")}
    for column in ("outcome", "role", "source_name", "method", "identity_pair", "source", "age_group", "gender", "education", "prior_knowledge"):
        frame[column] = frame[column].astype("str").astype("category")
    frame = frame.astype(dtypes)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True).astype("datetime64[us, UTC]")
    return frame[list(contract.COLUMNS)]


@pytest.mark.django_db
def test_the_frame_is_every_rating_of_the_campaign_as_the_models_hold_it(campaign):
    frame = contract.campaign_ratings_frame(campaign)
    expected = expected_frame(campaign)
    assert len(frame) == 4 + 2 * 4 + 1  # the other campaign's rating is not there
    assert set(frame["outcome"]) == {"qualified", "disqualified", "in_progress"}
    assert AWKWARD in set(frame["reason"])
    pd.testing.assert_frame_equal(frame, expected)


@pytest.mark.django_db
def test_filters_and_columns(campaign):
    full = expected_frame(campaign)
    regular = contract.campaign_ratings_frame(campaign, roles=["regular"], columns=["rating", "video", "score", "is_checker"])
    pd.testing.assert_frame_equal(regular, full.loc[~full["is_checker"], ["rating", "video", "score", "is_checker"]].reset_index(drop=True))
    qualified = contract.campaign_ratings_frame(campaign, qualified_only=True, columns=["rating", "qualified"])
    assert qualified["rating"].tolist() == full.loc[full["qualified"], "rating"].tolist() and qualified["qualified"].all()
    dropped = full["annotator"].iloc[0]
    kept = contract.campaign_ratings_frame(campaign, exclude_annotators=[dropped], columns=["annotator"])
    assert len(kept) == (full["annotator"] != dropped).sum() and dropped not in set(kept["annotator"])
    with pytest.raises(ValueError, match="no ratings column"):
        contract.campaign_ratings_frame(campaign, columns=["score", "grade"])


@pytest.mark.django_db
def test_chunks_are_the_frame_in_pieces(campaign):
    chunks = list(contract.campaign_ratings_chunks(campaign, chunk_rows=5, columns=["score", "reason", "created_at", "qualified"]))
    assert [len(c) for c in chunks] == [5, 5, 3]
    joined = pd.concat(chunks, ignore_index=True)
    expected = expected_frame(campaign)[["score", "reason", "created_at", "qualified"]]
    pd.testing.assert_frame_equal(joined, expected)


@pytest.mark.django_db
def test_an_empty_campaign_gives_an_empty_frame_with_the_contract_dtypes():
    frame = contract.campaign_ratings_frame(Campaign.objects.create(slug="none", title="None"))
    assert frame.empty and list(frame.columns) == list(contract.COLUMNS)
    assert frame["score"].dtype == "int64" and frame["created_at"].dtype == "datetime64[us, UTC]"
    assert isinstance(frame["outcome"].dtype, pd.CategoricalDtype)


@pytest.mark.django_db
def test_copy_and_orm_paths_give_the_same_frame(campaign):
    """On PostgreSQL the ratings come through COPY; the ORM path (SQLite's) must read the identical columns."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    columns = list(contract._RATING)
    queryset = contract._ratings(campaign, roles=None, qualified_only=False, exclude_annotators=())
    via_copy = contract._copy_frame(queryset, columns).sort_values("rating", ignore_index=True)
    via_orm = contract._orm_frame(queryset, columns).sort_values("rating", ignore_index=True)
    assert len(via_copy) == 13
    pd.testing.assert_frame_equal(via_copy, via_orm)


@pytest.mark.django_db
def test_videos_frame(campaign):
    videos = contract.campaign_videos_frame(campaign)
    assert len(videos) == 4 and videos["gold_score"].isna().sum() == 2
    assert videos.loc[videos["role"] == "checker", "gold_score"].tolist() == [1.0, 5.0]
    assert contract.campaign_last_rating_at(campaign) == Rating.objects.filter(video__campaign=campaign).latest("created_at").created_at
