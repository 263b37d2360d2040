"""The two callables every layer of modeling passes around: where a video's crops are, and how progress is told.

They live here, below the methods and the caches, so that data/ never imports methods/ (which
imports every method, which import data/).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

# video id -> its face crops in frame order (an export's frames/<video>/, or a new video's crops).
FrameSource = Callable[[str], Sequence[Path]]
# (stage, done, total): long work reports progress through it (tqdm on the command line, a job's progress field).
Progress = Callable[[str, int, int], None]
