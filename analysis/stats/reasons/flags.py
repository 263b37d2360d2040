"""Suspicious reasons: too short, pasted on several videos, or contradicting the grade given.

Each flag is computed once per distinct normalized text (matching.Corpus) and spread to the
ratings by integer codes; the pasted count is a grouped count over integer keys.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats._ratings import RatingsLike, as_frame, distinct_counts
from analysis.stats.reasons.lexicon import ARTIFACTS, CATEGORIES, GRADE5_STORED_REASON
from analysis.stats.reasons.matching import Corpus, corpus

SUSPICIOUS_COLUMNS = ("too_short", "pasted", "contradicts_grade", "suspicious")


def suspicious_reasons(
    ratings: RatingsLike,
    *,
    text_column: str = "reason",
    texts: Corpus | None = None,
    min_words: int = 3,
    max_videos_per_text: int = 2,
    ignore_texts: Sequence[str] = (GRADE5_STORED_REASON,),
    high_grades: Sequence[float] = (5,),
    high_grade_extents: Sequence[str] = ("severe",),
    low_grades: Sequence[float] = (1,),
) -> pd.DataFrame:
    """Flags per rating: a boolean frame with the input's index and the columns too_short, pasted,
    contradicts_grade, suspicious.

    - too_short: fewer than `min_words` words (stop words included: "blurry" is too short).
    - pasted: this annotator typed the same text (after normalization) on more than
      `max_videos_per_text` different videos. `ignore_texts` (the platform's stored grade-5 text by
      default) are never counted as pasted, because the annotator did not type them.
    - contradicts_grade: a grade in `high_grades` whose text names a real artifact (not none/others)
      with an extent in `high_grade_extents` ("grade 5, obvious blur on the mouth"), or a grade in
      `low_grades` whose text says there is no artifact ("grade 1, looks real").
    - suspicious: any of the three.

    `texts`, when given, is the corpus of `ratings[text_column]` already built (same rows).
    """
    frame = as_frame(ratings, ("video", "annotator", "score") if texts is not None else ("video", "annotator", "score", text_column))
    c = corpus(frame[text_column].reset_index(drop=True) if texts is None else texts)
    if len(c) != len(frame):
        raise ValueError(f"the corpus has {len(c)} descriptions for {len(frame)} ratings")
    n_texts = len(c.texts)

    # Per distinct text: its word count, whether it is empty or ignored, and what it names.
    too_short = c.word_counts[c.codes] < min_words
    ignored = pd.Index(c.texts, dtype=object).isin(corpus(list(ignore_texts)).texts)
    may_paste = (c.word_counts > 0) & ~ignored

    # Distinct videos per (annotator, text): unique integer triples, then a count per pair.
    annotator_code = pd.factorize(np.asarray(frame["annotator"]))[0].astype(np.int64)
    video_code = pd.factorize(np.asarray(frame["video"]))[0].astype(np.int64)
    pair_code = pd.factorize(annotator_code * n_texts + c.codes)[0].astype(np.int64)
    n_video_codes = video_code.max(initial=0) + 1
    triples, _ = distinct_counts(pair_code * n_video_codes + video_code)
    videos_per_pair = np.bincount(triples // n_video_codes, minlength=pair_code.max(initial=-1) + 1)
    pasted = (videos_per_pair[pair_code] > max_videos_per_text) & may_paste[c.codes]

    table = c.categories
    column = {name: i for i, name in enumerate(CATEGORIES)}
    real_artifacts = [column[a] for a in ARTIFACTS if a not in ("none", "others")]
    named_real = table[:, real_artifacts].any(axis=1)
    strong_extent = table[:, [column[e] for e in high_grade_extents]].any(axis=1)
    high_contradiction = (named_real & strong_extent)[c.codes]
    low_contradiction = table[:, column["no-artifact"]][c.codes]
    score = np.asarray(frame["score"], dtype=np.float64)
    contradicts = (np.isin(score, high_grades) & high_contradiction) | (np.isin(score, low_grades) & low_contradiction)
    return pd.DataFrame(
        {
            "too_short": too_short,
            "pasted": pasted,
            "contradicts_grade": contradicts,
            "suspicious": too_short | pasted | contradicts,
        },
        index=frame.index,
    )
