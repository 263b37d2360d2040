"""The frames benchmark still runs (two short clips, the Haar cascade) and checks its own counts."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "frames.py"


def test_bench_runs(capsys):
    spec = importlib.util.spec_from_file_location("frames_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--clips", "2", "--seconds", "0.52", "--detectors", "haar", "--workers", "1", "--no-save"])
    haar = figures["detectors"]["haar"]
    # 0.52 s at 25 fps is 13 frames: frames 0, 6 and 12 of each clip.
    assert haar["videos"] == 2 and haar["frames"] == 6
    assert "2 clips of the small demo study" in capsys.readouterr().out
