"""The tables of an export: their columns, Parquet types and meanings (the manifest repeats the meanings)."""
from __future__ import annotations

import pyarrow as pa

from .videostats import CATEGORY_COLUMNS

# (column, Parquet type, meaning)
_VIDEOS = (
    ("video", pa.string(), 'pseudonymous video id: "v" and 16 hex digits, keyed per campaign, no label in it'),
    ("file", pa.string(), "the video's file name in videos/ (when exported with videos): <video>.mp4"),
    ("role", pa.string(), "regular, or checker (a hidden real or very poor video with a gold grade)"),
    ("identity_pair", pa.string(), "the pair of actors of the face swap (blank when unknown)"),
    ("method", pa.string(), 'the face-swap method; real videos count as methods of their own ("real" when none is given)'),
    ("is_real", pa.bool_(), "true for a real (not face-swapped) video"),
    ("gold_score", pa.float64(), "a checker's gold grade (empty for regular videos)"),
    ("mos", pa.float64(), "mean opinion score of the included ratings"),
    ("sos", pa.float64(), "their sample standard deviation (ddof 1; empty for a single rating)"),
    ("n", pa.int64(), "number of included ratings"),
    ("ci_low", pa.float64(), "95% confidence interval of the MOS, Student's t with n-1 degrees of freedom"),
    ("ci_high", pa.float64(), "upper end of that interval"),
    *((c, pa.float64(), "share of the video's included descriptions (stored reasons) that name this category")
      for c in CATEGORY_COLUMNS),
)
_RATINGS = (
    ("video", pa.string(), "pseudonymous video id (videos.video)"),
    ("annotator", pa.string(), 'pseudonymous annotator id: "a" and 12 hex digits, keyed per campaign'),
    ("age_group", pa.string(), "the annotator's answer (blank: not given)"),
    ("gender", pa.string(), "the annotator's answer"),
    ("education", pa.string(), "the annotator's answer"),
    ("prior_knowledge", pa.string(), "the annotator's prior knowledge of deepfakes"),
    ("attempt", pa.int64(), "attempt number within the session (2, 3... after a disqualification)"),
    ("outcome", pa.string(), "the attempt's outcome: qualified, disqualified, in_progress or abandoned"),
    ("qualified", pa.bool_(), "the attempt passed every hidden checker (the QC rule in the manifest)"),
    ("score", pa.int64(), "the grade, 1 (very low realism) to 5 (high realism)"),
    ("reason", pa.string(), "the stored reason (for grade 5 the fixed sentence of the protocol)"),
    ("typed_reason", pa.string(), "what the annotator typed"),
    ("seconds_spent", pa.float64(), "seconds from delivery of the video to the submit"),
    ("played_to_end", pa.bool_(), "the video played to its end at least once"),
    ("plays", pa.int64(), "times playback was started"),
    ("seeks", pa.int64(), "times the annotator sought in the video"),
    ("fullscreen", pa.bool_(), "the annotator went full-screen"),
)
_SPLIT_SET = (
    ("video", pa.string(), "pseudonymous video id (videos.video)"),
    ("file", pa.string(), "file name in videos/"),
    ("identity_pair", pa.string(), "identity pair"),
    ("method", pa.string(), "method"),
    ("is_real", pa.bool_(), "real video"),
    ("mos", pa.float64(), "MOS (videos.mos)"),
    ("sos", pa.float64(), "SOS (videos.sos)"),
    ("n", pa.int64(), "ratings (videos.n)"),
)


def _schema(columns) -> pa.Schema:
    return pa.schema([(name, kind) for name, kind, _ in columns])


VIDEOS_SCHEMA = _schema(_VIDEOS)
RATINGS_SCHEMA = _schema(_RATINGS)
SPLIT_SET_SCHEMA = _schema(_SPLIT_SET)
COLUMN_MEANINGS = {
    "videos": {name: meaning for name, _, meaning in _VIDEOS},
    "ratings": {name: meaning for name, _, meaning in _RATINGS},
    "splits/<k>/<set>.csv": {name: meaning for name, _, meaning in _SPLIT_SET},
}
