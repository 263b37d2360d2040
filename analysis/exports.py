"""Dataset exports for researchers: per-video labels with MOS, and every rating (CSV rows, streamed)."""
from __future__ import annotations

from collections.abc import Iterable

from annotation.models import Attempt, Campaign, Rating

from . import selectors

VIDEO_COLUMNS = ("video", "source_name", "identity_pair", "method", "is_real", "mos", "sos", "n", "ci_low", "ci_high")
RATING_COLUMNS = (
    "rating", "video", "source_name", "identity_pair", "method", "is_real", "role", "annotator", "source", "age_group",
    "gender", "education", "prior_knowledge", "session", "attempt", "outcome", "qualified", "position", "score",
    "reason", "typed_reason", "seconds_spent", "played_to_end", "plays", "seeks", "fullscreen", "created_at",
)


def videos_export(campaign: Campaign) -> tuple[tuple[str, ...], Iterable[list]]:
    """One row per regular video: labels and the MOS of the latest completed analysis (empty before one)."""
    run = selectors.campaign_latest_run(campaign)
    videos = selectors.run_results(run).get("videos", {}) if run else {}
    stats = {v: i for i, v in enumerate(videos.get("video", []))}
    labels = selectors.video_labels(campaign)
    labels = labels[labels["role"] == "regular"]

    def rows():
        for video, label in labels.iterrows():
            i = stats.get(video)
            values = [videos[c][i] if i is not None else "" for c in ("mos", "sos", "n", "ci_low", "ci_high")]
            yield [video, label["source_name"], label["identity_pair"], label["method"], bool(label["is_real"]), *values]

    return VIDEO_COLUMNS, rows()


def ratings_export(campaign: Campaign) -> tuple[tuple[str, ...], Iterable[list]]:
    """Every rating of every attempt, with what the analysis needs to choose (attempt, outcome)."""
    fields = (
        "id", "video_id", "video__source_name", "video__identity_pair", "video__method", "video__is_real", "video__role",
        "attempt__session__annotator_id", "attempt__session__annotator__source", "attempt__session__annotator__age_group",
        "attempt__session__annotator__gender", "attempt__session__annotator__education",
        "attempt__session__annotator__prior_knowledge", "attempt__session_id", "attempt__number", "attempt__outcome",
        "position", "score", "reason", "typed_reason", "seconds_spent", "played_to_end", "plays", "seeks", "fullscreen",
        "created_at",
    )
    queryset = Rating.objects.filter(video__campaign=campaign).order_by("id").values_list(*fields)

    def rows():
        for row in queryset.iterator(chunk_size=5000):
            row = list(row)
            outcome = row[15]
            yield [*row[:16], outcome == Attempt.Outcome.QUALIFIED, *row[16:]]

    return RATING_COLUMNS, rows()


EXPORTS = {"videos": videos_export, "ratings": ratings_export}
