"""Every state change of the annotation workflow, each in one transaction, one module per topic.

- `entry`: entering a campaign (the annotator of a visit), consent and demographics;
- `sessions`: starting a session after the lecture, releasing idle ones;
- `ratings`: storing answers, one from the rating page or a batch;
- `playback`: a video's start and end as the pages report them (campaigns requiring play to the end);
- `finish`: the checker rule at the end of an attempt;
- `withdrawal`: deleting an annotator's data when they withdraw consent;
- `campaigns`: researchers creating, editing, opening and closing campaigns, their members and video labels.

Views and tasks call these and nothing else writes workflow state. The reads and writes of the hot
path go through `annotation.store`; the rules that refuse a step are in `annotation.rules`. The
names below are the public ones; each is defined in the module named.
"""
from ..store.base import Playback, SubmitResult
from ..store.orm import ACTIVITY_RESOLUTION
from .campaigns import (
    campaign_create,
    campaign_open_set,
    campaign_update,
    membership_remove,
    membership_set,
    video_labels_update,
    videos_missing_unlist,
)
from .entry import annotator_consent, annotator_enter, demographics_save
from .finish import attempt_finish
from .playback import play_end, play_start, play_video_of_demo, play_video_of_token
from .ratings import RatingInput, rating_submit, ratings_submit_batch
from .sessions import (
    lecture_complete,
    session_start,
    sessions_release,
    sessions_release_abandoned,
    video_counters_recount,
)
from .withdrawal import annotator_withdraw

__all__ = [
    "ACTIVITY_RESOLUTION", "Playback", "RatingInput", "SubmitResult", "annotator_consent", "annotator_enter", "annotator_withdraw",
    "campaign_create", "campaign_open_set", "campaign_update", "membership_remove", "membership_set", "video_labels_update", "videos_missing_unlist",
    "attempt_finish", "demographics_save", "lecture_complete", "play_end", "play_start", "play_video_of_demo", "play_video_of_token",
    "rating_submit", "ratings_submit_batch", "session_start", "sessions_release", "sessions_release_abandoned", "video_counters_recount",
]
