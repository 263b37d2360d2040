"""What other apps may read from annotation: a campaign's ratings as one columnar frame, and its videos.

The analysis, the dataset exports and the monitors read ratings through `campaign_ratings_frame`
(or its chunks, to stream them) only, never annotation's tables, so annotation may change how it
stores ratings while this frame (its columns, their names and dtypes, listed in COLUMNS) stays
what they rely on.

One row per rating of every attempt (qualified, disqualified, in progress, abandoned), in rating
id order. Only the ratings' own columns are read per rating: on PostgreSQL through COPY (at 1.5
million ratings about ten times faster than the ORM's tuples), on SQLite through the ORM. The
attempt's, the video's and the annotator's columns come from those small tables (thousands of
rows, not millions) and are joined in memory by id, so their repeated texts never cross the wire
once per rating. Both databases give the same frame for the same data.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pandas as pd
from django.db import connection
from django.db.models import BigIntegerField, Func, Max

from .models import Annotator, Attempt, Campaign, Rating, Video

# Frame column -> the field it is read from, per table. The ids that tie the tables together
# (attempt_id, video, annotator) are columns of the frame too.
_RATING = {
    "rating": "id", "video": "video_id", "attempt_id": "attempt_id", "position": "position", "score": "score",
    "reason": "reason", "typed_reason": "typed_reason", "seconds_spent": "seconds_spent", "played_to_end": "played_to_end",
    "plays": "plays", "seeks": "seeks", "fullscreen": "fullscreen", "created_at": "created_at",
}
_ATTEMPT = {"attempt_id": "id", "annotator": "session__annotator_id", "session": "session_id", "attempt": "number", "outcome": "outcome"}
_VIDEO = {
    "video": "id", "role": "role", "gold_score": "gold_score", "source_name": "source_name", "method": "method",
    "identity_pair": "identity_pair", "is_real": "is_real",
}
_ANNOTATOR = {
    "annotator": "id", "source": "source", "age_group": "age_group", "gender": "gender", "education": "education",
    "prior_knowledge": "prior_knowledge",
}
# Derived columns and the column each is computed from.
_DERIVED = {"qualified": "outcome", "is_checker": "role"}

_INTEGER = ("rating", "video", "annotator", "session", "attempt_id", "attempt", "position", "score", "plays", "seeks")
_FLOAT = ("gold_score", "seconds_spent")  # gold_score is NaN for videos that are not checkers
_BOOLEAN = ("played_to_end", "fullscreen", "is_real", "qualified", "is_checker")
_TEXT = ("reason", "typed_reason")
_CATEGORY = ("outcome", "role", "source_name", "method", "identity_pair", "source", "age_group", "gender", "education", "prior_knowledge")
_DATETIME = "datetime64[us, UTC]"

COLUMNS: tuple[str, ...] = (
    "rating", "video", "annotator", "session", "attempt_id", "attempt", "outcome", "role", "gold_score", "position", "score",
    "reason", "typed_reason", "seconds_spent", "played_to_end", "plays", "seeks", "fullscreen", "created_at", "source_name",
    "method", "identity_pair", "is_real", "source", "age_group", "gender", "education", "prior_knowledge", "qualified",
    "is_checker",
)
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
    Categorical columns hold the values present, sorted. `roles` keeps ratings of videos of those
    roles (regular, checker, demo); `qualified_only` keeps qualified attempts;
    `exclude_annotators` drops those annotators' ratings.
    """
    plan = _Plan(columns)
    queryset = _ratings(campaign, roles=roles, qualified_only=qualified_only, exclude_annotators=exclude_annotators)
    read = _copy_frame if connection.vendor == "postgresql" else _orm_frame
    ratings = read(queryset, plan.rating_columns)
    if not ratings["rating"].is_monotonic_increasing:
        ratings = ratings.sort_values("rating", ignore_index=True)
    return plan.frame(ratings, _Dimensions(campaign, plan))


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

    Yields frames with the same columns and dtypes (categories are those present in each chunk),
    reading each chunk when the previous one has been used: memory stays the same however many
    ratings (a CSV streamed to a browser). Each chunk is read after the highest rating id of the last.
    """
    plan = _Plan(columns)
    queryset = _ratings(campaign, roles=roles, qualified_only=qualified_only, exclude_annotators=exclude_annotators)
    dimensions = _Dimensions(campaign, plan)
    after = 0
    while True:
        ratings = _orm_frame(queryset.filter(id__gt=after).order_by("id"), plan.rating_columns, limit=chunk_rows)
        if ratings.empty:
            return
        after = int(ratings["rating"].iat[-1])
        yield plan.frame(ratings, dimensions)
        if len(ratings) < chunk_rows:
            return


def campaign_last_rating_at(campaign: Campaign):
    """When the campaign's newest rating was stored (None before the first): a cheap check for new data."""
    return Rating.objects.filter(video__campaign=campaign).aggregate(last=Max("created_at"))["last"]


def campaign_videos_frame(campaign: Campaign) -> pd.DataFrame:
    """One row per video of the campaign, indexed by video id: role, gold_score, source_name, method, identity_pair, is_real."""
    return _table(Video.objects.filter(campaign=campaign), _VIDEO).set_index("video")


# The platform parameters an export may carry, per platform (annotation.platforms reads them on entry).
PLATFORM_ID_COLUMNS: tuple[str, ...] = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId")
_PLATFORM_ID_SOURCES = {
    Annotator.Source.PROLIFIC: {"PROLIFIC_PID": None, "STUDY_ID": "STUDY_ID", "SESSION_ID": "SESSION_ID"},
    Annotator.Source.MTURK: {"workerId": None, "assignmentId": "assignmentId"},
}


def campaign_platform_ids(campaign: Campaign) -> dict[int, tuple[str, ...]]:
    """Per annotator id, their crowd platform ids in the order of PLATFORM_ID_COLUMNS ("" where their
    platform has no such id). Identifying data: for the roles allowed to see it only."""
    ids = {}
    for pk, source, external_id, params in Annotator.objects.filter(campaign=campaign).values_list("pk", "source", "external_id", "platform_params"):
        names = _PLATFORM_ID_SOURCES.get(source, {})
        params = params or {}
        ids[pk] = tuple((external_id if names[c] is None else str(params.get(names[c], ""))) if c in names else ""
                        for c in PLATFORM_ID_COLUMNS)
    return ids


# --- How the frame is put together -------------------------------------------------------------


class _Plan:
    """Which columns are asked for, and which each table must give for them."""

    def __init__(self, columns: Iterable[str] | None):
        self.wanted = list(COLUMNS if columns is None else columns)
        unknown = [c for c in self.wanted if c not in COLUMNS]
        if unknown:
            raise ValueError(f"no ratings column(s) {', '.join(unknown)} (columns: {', '.join(COLUMNS)})")
        needed = {_DERIVED.get(c, c) for c in self.wanted}
        self.annotator_columns = [c for c in _ANNOTATOR if c != "annotator" and c in needed]
        self.video_columns = [c for c in _VIDEO if c != "video" and c in needed]
        self.attempt_columns = [c for c in _ATTEMPT if c != "attempt_id" and (c in needed or (c == "annotator" and self.annotator_columns))]
        keys = {"rating"} | ({"attempt_id"} if self.attempt_columns else set()) | ({"video"} if self.video_columns else set())
        self.rating_columns = [c for c in _RATING if c in needed or c in keys]

    def frame(self, ratings: pd.DataFrame, dimensions: _Dimensions) -> pd.DataFrame:
        """The asked-for columns of these ratings: their own, and those of their attempt, video and annotator."""
        out = {c: ratings[c] for c in self.rating_columns}
        if self.attempt_columns:
            out |= _looked_up(dimensions.attempts, out["attempt_id"], self.attempt_columns, "attempt")
        if self.annotator_columns:
            out |= _looked_up(dimensions.annotators, out["annotator"], self.annotator_columns, "annotator")
        if self.video_columns:
            out |= _looked_up(dimensions.videos, out["video"], self.video_columns, "video")
        if "qualified" in self.wanted:
            out["qualified"] = pd.Series((out["outcome"] == Attempt.Outcome.QUALIFIED).to_numpy(dtype=bool), index=ratings.index)
        if "is_checker" in self.wanted:
            out["is_checker"] = pd.Series((out["role"] == Video.Role.CHECKER).to_numpy(dtype=bool), index=ratings.index)
        return pd.DataFrame({c: out[c] for c in self.wanted}, index=ratings.index)


class _Dimensions:
    """The campaign's attempts, videos and annotators the plan needs, each indexed by id."""

    def __init__(self, campaign: Campaign, plan: _Plan):
        self.attempts = self.videos = self.annotators = None
        if plan.attempt_columns:
            self.attempts = _table(Attempt.objects.filter(session__campaign=campaign), _ATTEMPT).set_index("attempt_id")
        if plan.video_columns:
            self.videos = _table(Video.objects.filter(campaign=campaign), _VIDEO).set_index("video")
        if plan.annotator_columns:
            self.annotators = _table(Annotator.objects.filter(campaign=campaign), _ANNOTATOR).set_index("annotator")


def _table(queryset, fields: dict[str, str]) -> pd.DataFrame:
    """A small table of the campaign (attempts, videos, annotators) with the contract's dtypes."""
    rows = queryset.order_by().values_list(*fields.values())
    return _typed(pd.DataFrame.from_records(list(rows), columns=list(fields)))


def _looked_up(table: pd.DataFrame, ids: pd.Series, columns: list[str], what: str) -> dict[str, pd.Series]:
    """`columns` of `table` for each id in `ids` (a vectorized join; categories trimmed to the values present)."""
    at = table.index.get_indexer(ids.to_numpy())
    if (at < 0).any():
        missing = ids.to_numpy()[at < 0][:5].tolist()
        raise LookupError(f"ratings of another campaign's {what}(s) {missing}: the campaign's tables disagree")
    out = {}
    for column in columns:
        values = table[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()[at]
            taken = pd.Categorical.from_codes(codes, dtype=values.dtype).remove_unused_categories()
            out[column] = pd.Series(taken, index=ids.index)
        else:
            out[column] = pd.Series(values.to_numpy()[at], index=ids.index, dtype=values.dtype)
    return out


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


def _orm_frame(queryset, columns: list[str], *, limit: int | None = None) -> pd.DataFrame:
    """The ratings' own columns through the ORM's tuples (SQLite, and the chunks); the first `limit` rows if given."""
    rows = queryset.values_list(*(_RATING[c] for c in columns))
    if limit is not None:
        rows = rows[:limit]
    return _typed(pd.DataFrame.from_records(rows.iterator(chunk_size=20_000), columns=columns))


class _EpochMicroseconds(Func):
    """PostgreSQL: a timestamp as whole microseconds since 1970, through float8 all the way.

    (Django's Round casts to numeric, and PostgreSQL casts a float8 to numeric with 15 digits:
    the microseconds were lost.)
    """

    template = "round(date_part('epoch', %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


def _copy_frame(queryset, columns: list[str]) -> pd.DataFrame:
    """The ratings' own columns through PostgreSQL's COPY, parsed as CSV.

    No ORDER BY: Rating's default ordering (attempt, position) made the planner walk the whole
    table in index order with a nested loop per row, and at 1.5 million ratings the load took
    15 times as long as at 150,000 (bench/analysis_scale.py: 0.45 s -> 6.97 s); with a hash join
    over one sequential scan it grows with the data. Rating id order is restored in memory when
    the rows do not come in it already.
    """
    paths = [_RATING[c] for c in columns]
    if "created_at" in columns:
        # Whole microseconds since the epoch: an integer is written and parsed much faster than a
        # timestamp's text (1.5 million ratings: COPY 2.16 s -> 1.75 s). Through date_part's float8,
        # not EXTRACT's numeric (2.04 s): seconds since 1970 in a float8 are exact to a quarter of a
        # microsecond, so rounding gives the stored microsecond.
        queryset = queryset.annotate(created_us=_EpochMicroseconds("created_at"))
        paths[columns.index("created_at")] = "created_us"
    sql, params = queryset.values_list(*paths).query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                buffer.write(block)
    if not buffer.tell():
        return _typed(pd.DataFrame({c: [] for c in columns}))
    buffer.seek(0)
    frame = pd.read_csv(buffer, names=columns, header=None, keep_default_na=False,
                        dtype={c: str for c in (*_TEXT, *_BOOLEAN) if c in columns})
    for column in _BOOLEAN:
        if column in frame.columns:
            frame[column] = (frame[column] == "t").to_numpy(dtype=bool)
    if "created_at" in frame.columns:
        frame["created_at"] = pd.to_datetime(frame["created_at"].to_numpy(dtype="int64"), unit="us", utc=True)
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's dtypes, whichever way the rows were read."""
    out = {}
    for column in frame.columns:
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
        else:
            out[column] = values
    return pd.DataFrame(out, index=frame.index)
