"""HTTP load benchmark of the annotation flow; `python -m bench.annotation_load --help`, see cli.py."""
