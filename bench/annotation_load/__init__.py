"""HTTP load benchmark of the annotation flow; `python -m bench.annotation_load --help`, see cli.py."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: gunicorn's working folder, bench/results/ below it
