"""Writing an export's files: tables chunk by chunk to CSV (spreadsheet-safe) and Parquet, atomically, and their hashes.

Every file is written under a temporary name beside it and renamed when complete, so a stage
that dies midway (and runs again, see jobs.services) never leaves half a file under the real name.
Every CSV cell goes through annotation.csvsafe: a text starting with =, +, -, @, a tab or a
carriage return gets a leading apostrophe. Parquet keeps the texts as they were typed.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from annotation import csvsafe

HASH_BLOCK = 1 << 20
# RFC 4180 line ends. With "\n" Python's csv writer (under pandas) left a lone carriage return in a
# text cell unquoted, and pandas and pyarrow then split that row in two (a typed reason "\rreturn"
# in tests/analysis/export); with "\r\n" any cell holding either character is quoted.
LINE_END = "\r\n"


@contextmanager
def atomic(path: Path):
    """Yield a temporary path beside `path`; renamed to `path` when the block ends without error, removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


class TableWriter:
    """One table of the export written chunk by chunk as `<stem>.csv` and/or `<stem>.parquet` (a context manager).

    `schema` fixes the Parquet columns and types, so every chunk is stored alike whatever pandas
    inferred for it. Returns nothing; `rows` counts what was written.
    """

    def __init__(self, stem: Path, schema: pa.Schema, formats: Iterable[str]):
        self.stem, self.schema, self.formats = stem, schema, tuple(formats)
        self.rows = 0
        self._header = False
        self._csv = self._parquet = None
        self._paths: list[tuple[Path, Path]] = []

    def __enter__(self) -> TableWriter:
        self.stem.parent.mkdir(parents=True, exist_ok=True)
        if "csv" in self.formats:
            final = self.stem.with_suffix(".csv")
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            self._csv = open(tmp, "w", encoding="utf-8", newline="")
            self._paths.append((tmp, final))
        if "parquet" in self.formats:
            final = self.stem.with_suffix(".parquet")
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            self._parquet = pq.ParquetWriter(tmp, self.schema)
            self._paths.append((tmp, final))
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of `frame` (its columns: the schema's names, in order)."""
        frame = frame[self.schema.names]
        if self._csv is not None:
            csvsafe.frame(frame).to_csv(self._csv, header=not self._header, index=False, lineterminator=LINE_END)
            self._header = True
        if self._parquet is not None:
            self._parquet.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))
        self.rows += len(frame)

    def __exit__(self, kind, error, traceback) -> None:
        if self._csv is not None:
            if not self._header and kind is None:  # a table without rows still has its header
                csvsafe.frame(pd.DataFrame(columns=self.schema.names)).to_csv(self._csv, index=False, lineterminator=LINE_END)
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()
        for tmp, final in self._paths:
            if kind is None:
                tmp.replace(final)
            else:
                tmp.unlink(missing_ok=True)


def table_write(stem: Path, frame: pd.DataFrame, schema: pa.Schema, formats: Iterable[str]) -> int:
    """Write a whole small table (videos, a split's set) in the given formats; returns its rows."""
    with TableWriter(stem, schema, formats) as writer:
        writer.write(frame)
    return writer.rows


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
