"""Load benchmarks; see bench/annotation_load/."""
