"""Dataset exports for researchers: per-video labels with MOS, and every rating (CSV rows, streamed).

The ratings come from annotation's published frame (annotation.contract), read in chunks so a
streamed export holds a few thousand rows at a time however large the campaign.
"""
from __future__ import annotations

from collections.abc import Iterable

from annotation import contract
from annotation.models import Campaign

from . import selectors

# `analysis_version`: the version of the analysis run the MOS comes from (empty before one).
VIDEO_COLUMNS = ("video", "source_name", "identity_pair", "method", "is_real", "mos", "sos", "n", "ci_low", "ci_high", "analysis_version")
# The ratings export's columns: columns of annotation's ratings frame, under the same names.
RATING_COLUMNS = (
    "rating", "video", "source_name", "identity_pair", "method", "is_real", "role", "annotator", "source", "age_group",
    "gender", "education", "prior_knowledge", "session", "attempt", "outcome", "qualified", "position", "score",
    "reason", "typed_reason", "seconds_spent", "played_to_end", "plays", "seeks", "fullscreen", "created_at",
)


def videos_export(campaign: Campaign, *, platform_ids: bool = False) -> tuple[tuple[str, ...], Iterable[list]]:
    """One row per regular video: labels and the MOS of the latest completed analysis with its version
    (empty before one). `platform_ids` changes nothing: videos carry none."""
    run = selectors.campaign_latest_run(campaign)
    videos = selectors.run_results(run).get("videos", {}) if run else {}
    stats = {v: i for i, v in enumerate(videos.get("video", []))}
    labels = selectors.video_labels(campaign)
    labels = labels[labels["role"] == "regular"]

    def rows():
        for video, label in labels.iterrows():
            i = stats.get(video)
            values = [videos[c][i] if i is not None else "" for c in ("mos", "sos", "n", "ci_low", "ci_high")]
            version = run.version if i is not None else ""
            yield [video, label["source_name"], label["identity_pair"], label["method"], bool(label["is_real"]), *values, version]

    return VIDEO_COLUMNS, rows()


def ratings_export(campaign: Campaign, *, platform_ids: bool = False) -> tuple[tuple[str, ...], Iterable[list]]:
    """Every rating of every attempt, in rating order, with what the analysis needs to choose (attempt, outcome).

    With `platform_ids` (for the roles allowed to see them: the views pass Action.CHANGE), each row
    ends with the annotator's crowd ids (contract.PLATFORM_ID_COLUMNS: Prolific PID, STUDY_ID,
    SESSION_ID; MTurk workerId, assignmentId); without, the annotator is their id only.
    """
    ids = contract.campaign_platform_ids(campaign) if platform_ids else {}
    blank = ("",) * len(contract.PLATFORM_ID_COLUMNS)
    annotator_at = RATING_COLUMNS.index("annotator")

    def rows():
        for chunk in contract.campaign_ratings_chunks(campaign, columns=RATING_COLUMNS):
            for row in zip(*(chunk[c].tolist() for c in RATING_COLUMNS)):
                yield (*row, *ids.get(row[annotator_at], blank)) if platform_ids else row

    return (RATING_COLUMNS + contract.PLATFORM_ID_COLUMNS) if platform_ids else RATING_COLUMNS, rows()


EXPORTS = {"videos": videos_export, "ratings": ratings_export}
