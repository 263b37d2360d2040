"""jobs.artifacts: frames as Parquet and dicts as JSON, written whole, and nothing a reader would execute."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.artifacts import ArtifactStore

PICKLE_START = b"\x80"  # every pickle of protocol 2 and later starts with the PROTO opcode


def a_frame(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "video": np.arange(n, dtype="int64"),
        "score": rng.integers(1, 6, n).astype("int64"),
        "seconds": rng.uniform(1, 30, n),
        "qualified": rng.random(n) < 0.8,
        "age": pd.Categorical(rng.choice(["<20", "20-29", "50+"], n)),
        "reason": pd.Series([f"reason {i}, \"quoted\"\nnext line" for i in range(n)], dtype="str"),
        "created_at": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC").astype("datetime64[us, UTC]"),
    })


def test_frames_and_dicts_round_trip_as_parquet_and_json(tmp_path):
    store = ArtifactStore(tmp_path / "job")
    frame = a_frame()
    store.frame_write("ratings", frame)
    store.json_write("summary", {"videos": 3, "mos": [1.5, 2.0]})
    assert store.names() == ["ratings.parquet", "summary.json"]
    pd.testing.assert_frame_equal(store.frame_read("ratings"), frame)
    pd.testing.assert_frame_equal(store.frame_read("ratings", columns=["video", "age"]), frame[["video", "age"]])
    assert store.frame_columns("ratings") == list(frame.columns)
    assert store.json_read("summary") == {"videos": 3, "mos": [1.5, 2.0]}
    parquet = (tmp_path / "job" / "ratings.parquet").read_bytes()
    assert parquet[:4] == b"PAR1" and parquet[-4:] == b"PAR1"
    assert pq.read_table(tmp_path / "job" / "ratings.parquet").num_rows == len(frame)  # plain pyarrow reads it
    assert json.loads((tmp_path / "job" / "summary.json").read_text()) == {"videos": 3, "mos": [1.5, 2.0]}
    assert not any(p.read_bytes().startswith(PICKLE_START) for p in (tmp_path / "job").iterdir())


def test_a_write_replaces_the_file_whole(tmp_path):
    store = ArtifactStore(tmp_path)
    store.frame_write("ratings", a_frame(50))
    store.frame_write("ratings", a_frame(7))
    assert len(store.frame_read("ratings")) == 7
    assert [p.name for p in tmp_path.iterdir()] == ["ratings.parquet"]  # no temporary file left


def test_objects_that_only_a_pickle_could_carry_are_refused(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)):
        store.frame_write("objects", pd.DataFrame({"thing": [object(), object()]}))
    with pytest.raises(TypeError):
        store.json_write("objects", {"thing": object()})
    with pytest.raises(ValueError):
        store.json_write("nan", {"x": float("nan")})  # not JSON
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "Upper", "", "x" * 81, "ratings.pkl"])
def test_names_cannot_leave_the_folder_or_pick_a_suffix(tmp_path, name):
    with pytest.raises(ValueError, match="artifact name"):
        ArtifactStore(tmp_path).json_write(name, {})


def test_delete_and_clear(tmp_path):
    store = ArtifactStore(tmp_path / "job")
    store.json_write("a", {})
    store.frame_write("b", a_frame(3))
    store.delete("a")
    assert store.names() == ["b.parquet"]
    store.clear()
    assert not (tmp_path / "job").exists() and store.names() == []
