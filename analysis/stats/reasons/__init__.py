"""What annotators wrote: the taxonomy's lexicon, matching descriptions against it, and suspicious-reason flags.

- `lexicon.py`: the 37 categories (14 places, 19 artifacts, 4 extents), the terms that name them
  and the rules that combine matches (read it to see why a description got its categories).
- `matching.py`: normalization, the 37-category table per description, word counts and per-video
  category vectors, each computed once per distinct text (`Corpus`).
- `flags.py`: reasons that are too short, pasted on several videos, or contradict the grade.

The names other code uses are imported here one by one, so `from analysis.stats.reasons import
ARTIFACTS` keeps working; each is defined in the module named above.
"""
from analysis.stats.reasons.flags import SUSPICIOUS_COLUMNS, suspicious_reasons
from analysis.stats.reasons.lexicon import (
    ARTIFACT_TERMS,
    ARTIFACTS,
    CATEGORIES,
    EXTENT_TERMS,
    EXTENTS,
    GRADE5_STORED_REASON,
    PLACE_TERMS,
    PLACES,
    STOP_WORDS,
)
from analysis.stats.reasons.matching import (
    Corpus,
    categorize,
    category_shares,
    category_vectors,
    corpus,
    normalize,
    tokens,
    word_frequencies,
)

__all__ = [
    "ARTIFACTS",
    "ARTIFACT_TERMS",
    "CATEGORIES",
    "EXTENTS",
    "EXTENT_TERMS",
    "GRADE5_STORED_REASON",
    "PLACES",
    "PLACE_TERMS",
    "STOP_WORDS",
    "SUSPICIOUS_COLUMNS",
    "Corpus",
    "categorize",
    "category_shares",
    "category_vectors",
    "corpus",
    "normalize",
    "suspicious_reasons",
    "tokens",
    "word_frequencies",
]
