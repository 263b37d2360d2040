"""Runs the annotation load benchmark: `python -m bench.annotation_load [options]` from the repository root.

`python bench/annotation_load [options]` (the folder) works too, from anywhere.
"""
import sys
from pathlib import Path

if not __package__:  # run as a folder: sys.path[0] is this folder, where the repository belongs
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from bench.annotation_load.cli import main  # noqa: E402

sys.exit(main())
