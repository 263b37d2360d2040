"""Each job's files, on a folder the workers share: frames as Parquet, dicts as JSON, nothing executable.

Workers on several hosts hand a job's data from stage to stage through this folder, so it must not
carry anything a reader would execute: no pickles, only Parquet (columnar, typed, readable column
by column) and JSON. Every write goes to a temporary file renamed into place, so a stage re-run
after a crash overwrites its file whole and a reader never sees half of one.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
from django.conf import settings

# Names become file names: no separators, no leading dot, nothing a shell or a path would reinterpret.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
FRAME_SUFFIX, JSON_SUFFIX = ".parquet", ".json"


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"artifact name {name!r} must be lowercase letters, digits, '_' or '-' (at most 80)")
    return name


class ArtifactStore:
    """The files of one job, in `folder` (created on the first write)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def for_job(cls, job) -> ArtifactStore:
        """The store of `job`: JOBS_ARTIFACT_ROOT/<kind>/<job id>."""
        return cls(Path(settings.JOBS_ARTIFACT_ROOT) / job.kind / str(job.pk))

    def _write(self, path: Path, write) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write(tmp)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def frame_write(self, name: str, frame: pd.DataFrame) -> Path:
        """Store a frame as Parquet (dtypes, categories and index kept); returns the file's path."""
        return self._write(self.folder / f"{_checked(name)}{FRAME_SUFFIX}", lambda tmp: frame.to_parquet(tmp, engine="pyarrow"))

    def frame_read(self, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """The stored frame, or only `columns` of it (Parquet reads just those from disk)."""
        return pd.read_parquet(self.folder / f"{_checked(name)}{FRAME_SUFFIX}", engine="pyarrow", columns=columns)

    def frame_columns(self, name: str) -> list[str]:
        """The columns of a stored frame, read from its schema only."""
        import pyarrow.parquet as pq

        return [c for c in pq.read_schema(self.folder / f"{_checked(name)}{FRAME_SUFFIX}").names if not c.startswith("__index_level_")]

    def json_write(self, name: str, data: dict | list) -> Path:
        """Store JSON-ready data; returns the file's path."""
        text = json.dumps(data, allow_nan=False)
        return self._write(self.folder / f"{_checked(name)}{JSON_SUFFIX}", lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def json_read(self, name: str):
        return json.loads((self.folder / f"{_checked(name)}{JSON_SUFFIX}").read_text(encoding="utf-8"))

    def names(self) -> list[str]:
        """The stored artifacts' file names, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.suffix in (FRAME_SUFFIX, JSON_SUFFIX))

    def delete(self, name: str) -> None:
        for suffix in (FRAME_SUFFIX, JSON_SUFFIX):
            (self.folder / f"{_checked(name)}{suffix}").unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the job's folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)
