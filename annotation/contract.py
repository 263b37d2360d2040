"""What other apps may read from annotation: a campaign's ratings as one columnar frame, and its videos.

The analysis, the dataset exports and the monitors read ratings through `campaign_ratings_frame`
(or its chunks, to stream them) only, never annotation's tables, so annotation may change how it
stores ratings while this frame (its columns, their names and dtypes, listed in COLUMNS) stays
what they rely on.

One row per rating of every attempt (qualified, disqualified, in progress, abandoned), in rating
id order. On PostgreSQL the rows come through COPY (at 1.5 million ratings about ten times faster
than the ORM's tuples); on SQLite through the ORM. Both give the same frame for the same data.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pandas as pd
from django.db import connection
from django.db.models import BigIntegerField, Max, Value
from django.db.models.functions import Cast, Extract

from .models import Attempt, Campaign, Rating, Video

# Frame column -> the Rating field path it is read from; the dtype each column has in the frame.
_PATHS = {
    "rating": "id",
    "video": "video_id",
    "annotator": "attempt__session__annotator_id",
    "session": "attempt__session_id",
    "attempt_id": "attempt_id",
    "attempt": "attempt__number",
    "outcome": "attempt__outcome",
    "role": "video__role",
    "gold_score": "video__gold_score",
    "position": "position",
    "score": "score",
    "reason": "reason",
    "typed_reason": "typed_reason",
    "seconds_spent": "seconds_spent",
    "played_to_end": "played_to_end",
    "plays": "plays",
    "seeks": "seeks",
    "fullscreen": "fullscreen",
    "created_at": "created_at",
    "source_name": "video__source_name",
    "method": "video__method",
    "identity_pair": "video__identity_pair",
    "is_real": "video__is_real",
    "source": "attempt__session__annotator__source",
    "age_group": "attempt__session__annotator__age_group",
    "gender": "attempt__session__annotator__gender",
    "education": "attempt__session__annotator__education",
    "prior_knowledge": "attempt__session__annotator__prior_knowledge",
}
# Derived columns and the stored column each is computed from.
_DERIVED = {"qualified": "outcome", "is_checker": "role"}

_INTEGER = ("rating", "video", "annotator", "session", "attempt_id", "attempt", "position", "score", "plays", "seeks")
_FLOAT = ("gold_score", "seconds_spent")  # gold_score is NaN for videos that are not checkers
_BOOLEAN = ("played_to_end", "fullscreen", "is_real", "qualified", "is_checker")
_TEXT = ("reason", "typed_reason")
_CATEGORY = ("outcome", "role", "source_name", "method", "identity_pair", "source", "age_group", "gender", "education", "prior_knowledge")
_DATETIME = "datetime64[us, UTC]"

COLUMNS: tuple[str, ...] = (*_PATHS, *_DERIVED)
TEXT_COLUMNS = _TEXT


def campaign_ratings_frame(
    campaign: Campaign,
    *,
    roles: Iterable[str] | None = None,
    qualified_only: bool = False,
    exclude_annotators: Iterable[int] = (),
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every rating of the campaign's attempts as a frame, one row per rating, in rating id order.

    Returns the columns of COLUMNS (or only `columns`, which saves reading the reasons when a
    caller needs none): ids (rating, video, annotator, session, attempt_id), the attempt's number
    (`attempt`) and `outcome` (`qualified`: outcome is qualified), the video's `role`
    (`is_checker`), `gold_score`, method, identity_pair and is_real, the rating's score, reasons,
    seconds_spent, playback facts and created_at (UTC), and the annotator's source and answers.
    `roles` keeps ratings of videos of those roles (regular, checker, demo); `qualified_only`
    keeps qualified attempts; `exclude_annotators` drops those annotators' ratings.
    """
    wanted, stored = _columns(columns)
    queryset = _ratings(campaign, roles=roles, qualified_only=qualified_only, exclude_annotators=exclude_annotators)
    read = _copy_frame if connection.vendor == "postgresql" else _orm_frame
    frame = _finished(read(queryset, stored), stored, wanted)
    if "rating" in frame.columns:
        frame = frame.sort_values("rating", ignore_index=True)
    return frame


def campaign_ratings_chunks(
    campaign: Campaign,
    *,
    chunk_rows: int = 20_000,
    roles: Iterable[str] | None = None,
    qualified_only: bool = False,
    exclude_annotators: Iterable[int] = (),
    columns: Iterable[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The frame of `campaign_ratings_frame`, in rating id order, as frames of at most `chunk_rows` rows.

    Yields frames with the same columns and dtypes (categories are those of each chunk), reading
    each chunk when the previous one has been used: memory stays the same however many ratings
    (a CSV streamed to a browser). Each chunk is read after the highest rating id of the last.
    """
    wanted, stored = _columns(columns)
    stored_with_id = stored if "rating" in stored else ["rating", *stored]
    id_at = stored_with_id.index("rating")
    queryset = _ratings(campaign, roles=roles, qualified_only=qualified_only, exclude_annotators=exclude_annotators)
    after = 0
    while True:
        rows = list(queryset.filter(id__gt=after).order_by("id").values_list(*(_PATHS[c] for c in stored_with_id))[:chunk_rows])
        if not rows:
            return
        after = rows[-1][id_at]
        frame = pd.DataFrame.from_records(rows, columns=stored_with_id)
        yield _finished(frame, stored_with_id, wanted)
        if len(rows) < chunk_rows:
            return


def campaign_last_rating_at(campaign: Campaign):
    """When the campaign's newest rating was stored (None before the first): a cheap check for new data."""
    return Rating.objects.filter(video__campaign=campaign).aggregate(last=Max("created_at"))["last"]


def campaign_videos_frame(campaign: Campaign) -> pd.DataFrame:
    """One row per video of the campaign, indexed by video id: source_name, identity_pair, method, is_real, role, gold_score."""
    columns = ["video", "source_name", "identity_pair", "method", "is_real", "role", "gold_score"]
    rows = Video.objects.filter(campaign=campaign).order_by("id").values_list(
        "id", "source_name", "identity_pair", "method", "is_real", "role", "gold_score"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    frame["gold_score"] = pd.to_numeric(frame["gold_score"]).astype("float64")
    frame["is_real"] = frame["is_real"].astype(bool)
    return frame.set_index("video")


def _columns(columns: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """The columns asked for, and the stored ones to read for them."""
    wanted = list(COLUMNS if columns is None else columns)
    unknown = [c for c in wanted if c not in COLUMNS]
    if unknown:
        raise ValueError(f"no ratings column(s) {', '.join(unknown)} (columns: {', '.join(COLUMNS)})")
    return wanted, list(dict.fromkeys(_DERIVED.get(c, c) for c in wanted))


def _ratings(campaign: Campaign, *, roles, qualified_only: bool, exclude_annotators):
    queryset = Rating.objects.filter(video__campaign=campaign).order_by()  # no ORDER BY: see _copy_frame
    if roles is not None:
        queryset = queryset.filter(video__role__in=list(roles))
    if qualified_only:
        queryset = queryset.filter(attempt__outcome=Attempt.Outcome.QUALIFIED)
    exclude = list(exclude_annotators)
    if exclude:
        queryset = queryset.exclude(attempt__session__annotator_id__in=exclude)
    return queryset


def _finished(frame: pd.DataFrame, stored: list[str], wanted: list[str]) -> pd.DataFrame:
    """The contract's dtypes and derived columns, in the order asked for."""
    frame = _typed(frame, stored)
    if "qualified" in wanted:
        frame["qualified"] = (frame["outcome"] == Attempt.Outcome.QUALIFIED).to_numpy(dtype=bool)
    if "is_checker" in wanted:
        frame["is_checker"] = (frame["role"] == Video.Role.CHECKER).to_numpy(dtype=bool)
    return frame[wanted]


def _orm_frame(queryset, stored: list[str]) -> pd.DataFrame:
    """The query's rows through the ORM's tuples (SQLite)."""
    rows = queryset.values_list(*(_PATHS[c] for c in stored))
    return pd.DataFrame.from_records(rows.iterator(chunk_size=20_000), columns=stored)


def _copy_frame(queryset, stored: list[str]) -> pd.DataFrame:
    """The query's rows through PostgreSQL's COPY, parsed as CSV.

    No ORDER BY: Rating's default ordering (attempt, position) made the planner walk the whole
    table in index order with a nested loop per row, and at 1.5 million ratings the load took
    15 times as long as at 150,000 (bench/analysis_scale.py: 0.45 s -> 6.97 s); with hash joins
    over one sequential scan it grows with the data. Rating id order is restored in memory.
    """
    paths = [_PATHS[c] for c in stored]
    if "created_at" in stored:
        # Whole microseconds since the epoch: an integer column is parsed much faster than text timestamps.
        queryset = queryset.annotate(
            created_us=Cast(Extract("created_at", "epoch") * Value(1_000_000), BigIntegerField())
        )
        paths[stored.index("created_at")] = "created_us"
    sql, params = queryset.values_list(*paths).query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                buffer.write(block)
    if not buffer.tell():
        return pd.DataFrame({c: [] for c in stored})
    buffer.seek(0)
    frame = pd.read_csv(
        buffer, names=stored, header=None, keep_default_na=False, na_values={c: [""] for c in _FLOAT if c in stored},
        dtype={c: str for c in (*_TEXT, *_CATEGORY, *_BOOLEAN) if c in stored},
    )
    for column in _BOOLEAN:
        if column in frame.columns:
            frame[column] = (frame[column] == "t").to_numpy(dtype=bool)
    if "created_at" in frame.columns:
        frame["created_at"] = pd.to_datetime(frame["created_at"].to_numpy(dtype="int64"), unit="us", utc=True)
    return frame


def _typed(frame: pd.DataFrame, stored: list[str]) -> pd.DataFrame:
    """The contract's dtypes, whichever way the rows were read."""
    out = {}
    for column in stored:
        values = frame[column]
        if column in _INTEGER:
            out[column] = values.astype("int64")
        elif column in _FLOAT:
            out[column] = pd.to_numeric(values, errors="raise").astype("float64")
        elif column in _BOOLEAN:
            out[column] = values.astype(bool)
        elif column in _TEXT:
            out[column] = values.astype("str")
        elif column in _CATEGORY:
            out[column] = values.astype("str").astype("category")
        elif column == "created_at":
            out[column] = pd.to_datetime(values, utc=True).astype(_DATETIME)
    return pd.DataFrame(out, index=frame.index)
