"""Read-only queries of the annotation workflow, one module per topic.

- `progress`: where an annotator stands (current attempt, rated positions, next step);
- `assignment`: how many ratings each video has or will get;
- `tokens`: the signed rating token of a rating page;
- `pages`: what the annotator pages show (consent, demos, the video to rate, the review);
- `reports`: the researchers' view of a campaign's progress and its launch checklist;
- `playback`: the lecture demos an annotator has not played to the end yet;
- `people`: one annotator for the researchers (found by platform id, their attempts and missed checkers);
- `records`: a campaign's videos, annotators, sessions, attempts and ratings as querysets for lists.

The names below are the public ones; each is defined in the module named.
"""
from .assignment import video_assignment_loads, video_counter_drift
from .pages import (
    RatingItem,
    VideoMedia,
    attempt_review,
    campaign_current_consent,
    demo_videos,
    rating_item,
    video_media,
)
from .playback import annotator_demos_unplayed
from .people import (
    annotator_by_ref,
    annotator_failed_attempts,
    annotator_last_misses,
    annotator_median_seconds,
    annotator_record,
    attempt_checker_misses,
)
from .progress import (
    annotator_current_attempt,
    annotator_last_outcome,
    annotator_next_step,
    annotator_page_state,
    annotator_progress,
    annotator_qualified_sessions,
    annotator_screened_out,
    attempt_rated_positions,
    session_idle_cutoff,
    sessions_idle,
)
from .records import (
    campaign_annotators,
    campaign_attempts,
    campaign_ratings,
    campaign_sessions,
    campaign_videos,
    campaigns_listed,
)
from .reports import CampaignStatus, campaign_is_ready, campaign_is_ready_cached, campaign_readiness, campaign_readiness_facts, campaign_status
from .tokens import RATING_TOKEN_SALT, RatingToken, rating_token_make, rating_token_read

__all__ = [
    "CampaignStatus", "RATING_TOKEN_SALT", "RatingItem", "RatingToken", "VideoMedia",
    "annotator_by_ref", "annotator_demos_unplayed", "annotator_failed_attempts", "annotator_current_attempt", "annotator_last_misses", "annotator_median_seconds",
    "annotator_record", "attempt_checker_misses", "annotator_last_outcome", "annotator_next_step", "annotator_page_state",
    "annotator_progress", "annotator_qualified_sessions", "annotator_screened_out", "attempt_rated_positions", "attempt_review",
    "campaign_annotators", "campaign_attempts", "campaign_current_consent", "campaign_ratings", "campaign_sessions",
    "campaign_is_ready", "campaign_is_ready_cached", "campaign_readiness", "campaign_readiness_facts", "campaign_status", "campaign_videos", "campaigns_listed", "demo_videos", "rating_item", "rating_token_make",
    "rating_token_read", "session_idle_cutoff", "sessions_idle", "video_assignment_loads", "video_counter_drift",
]
