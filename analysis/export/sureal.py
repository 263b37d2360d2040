"""The export's ratings in Netflix sureal's dataset format, so `sureal --dataset sureal/dataset.json --models MOS` runs as is.

sureal (sureal.routine, sureal.tools.misc.import_json_file) loads a `.json` dataset into a
namespace and reads it with `RawDatasetReader`:

- `ref_videos`: one per content, `{"content_id", "content_name", "path"}`, content ids 0..K-1;
- `dis_videos`: one per rated video, `{"content_id", "asset_id", "path", "os"}`, where `os` maps
  each observer to a grade, or to a list of grades when they rated the video more than once
  (sureal's repetition axis: attempts of a re-annotated session when every attempt is exported).

Contents are the identity pairs (a video without one gets the content "(no pair)"); `path` is the
video's pseudonymous file name and observers are pseudonymous annotator ids, as in the tables.
JSON rather than sureal's Python form: reading it runs no code.

Streaming: the ratings arrive in rating order, but a dis_video needs all of its grades at once.
They are first split by video into buckets of about BUCKET_ROWS ratings (one pass, Parquet files
on disk), then each bucket is grouped and written in video order; memory holds one bucket, time
grows with the ratings.
"""
from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NO_PAIR = "(no pair)"
BUCKET_ROWS = 250_000
# What the export's working scores file holds per rating (written by the ratings stage).
SCORES_SCHEMA = pa.schema([
    ("position", pa.int32()),   # the video's row in videos.csv
    ("annotator", pa.string()),  # pseudonymous id
    ("order", pa.int64()),      # rating order, so repetitions keep it
    ("score", pa.int8()),
])


def contents_of(pairs: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The sorted distinct contents (identity pairs; blank ones are NO_PAIR) and each video's content id."""
    labels = np.array([p if p else NO_PAIR for p in pairs], dtype=object)
    names, ids = np.unique(labels, return_inverse=True) if labels.size else (np.array([], dtype=object), np.array([], dtype=np.int64))
    return [str(n) for n in names], ids.astype(np.int64)


def sureal_dataset_write(
    path: Path, *, name: str, files: Sequence[str], pairs: Sequence[str], scores: Path, work: Path,
    row_of: np.ndarray | None = None, bucket_rows: int = BUCKET_ROWS,
) -> int:
    """Write the sureal dataset of videos `files` (their pseudonymous file names, in export order) to `path`.

    `pairs` holds each video's identity pair; `scores` is a Parquet file of SCORES_SCHEMA whose
    positions index `files`, or index `row_of`, which maps them to rows of `files`; `work` is a
    scratch folder (removed afterwards). Every video must have at least one grade. Returns the
    number of grades written.
    """
    contents, content_ids = contents_of(pairs)
    n_videos = len(files)
    total = pq.ParquetFile(scores).metadata.num_rows
    n_buckets = max(1, math.ceil(total / bucket_rows))
    bucket_of = (np.arange(n_videos, dtype=np.int64) * n_buckets) // max(n_videos, 1)
    work.mkdir(parents=True, exist_ok=True)
    try:
        _partition(scores, work, bucket_of, n_buckets, row_of)
        tmp = path.with_name(f".{path.name}.tmp")
        written = 0
        with open(tmp, "w", encoding="utf-8") as out:
            out.write("{\n" + f'"dataset_name": {json.dumps(name)},\n"ref_videos": [\n')
            out.write(",\n".join(json.dumps({"content_id": i, "content_name": c, "path": c}) for i, c in enumerate(contents)))
            out.write('\n],\n"dis_videos": [\n')
            first, expected = True, 0
            for bucket in range(n_buckets):
                for position, entry in _videos_of(work / f"{bucket}.parquet"):
                    if position != expected:
                        raise ValueError(f"video {files[expected]} has no grade: every exported video must have one")
                    entry = {"content_id": int(content_ids[position]), "asset_id": position, "path": files[position], "os": entry}
                    out.write(("" if first else ",\n") + json.dumps(entry))
                    written += sum(len(v) if isinstance(v, list) else 1 for v in entry["os"].values())
                    first, expected = False, expected + 1
            if expected != n_videos:
                raise ValueError(f"video {files[expected]} has no grade: every exported video must have one")
            out.write("\n]\n}\n")
        tmp.replace(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written


def _partition(scores: Path, work: Path, bucket_of: np.ndarray, n_buckets: int, row_of: np.ndarray | None) -> None:
    """Copy the scores (positions mapped through `row_of`) into one Parquet file per bucket of videos, a batch at a time."""
    writers = [pq.ParquetWriter(work / f"{b}.parquet", SCORES_SCHEMA) for b in range(n_buckets)]
    try:
        for batch in pq.ParquetFile(scores).iter_batches(batch_size=65_536):
            table = pa.Table.from_batches([batch])
            rows = table.column("position").to_numpy().astype(np.int64)
            if row_of is not None:
                rows = row_of[rows]
                table = table.set_column(0, "position", pa.array(rows.astype(np.int32)))
            if rows.size and (rows.min() < 0 or rows.max() >= bucket_of.size):
                raise ValueError("a grade belongs to a video that is not exported")
            buckets = bucket_of[rows]
            if n_buckets == 1:
                writers[0].write_table(table)
                continue
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(n_buckets + 1))
            for b in range(n_buckets):
                if bounds[b + 1] > bounds[b]:
                    writers[b].write_table(table.take(pa.array(order[bounds[b]:bounds[b + 1]])))
    finally:
        for writer in writers:
            writer.close()


def _videos_of(bucket: Path):
    """(position, os) of each video of a bucket in position order; os maps an annotator to a grade or a list of grades."""
    frame = pq.read_table(bucket).to_pandas()
    if frame.empty:
        return
    frame = frame.sort_values(["position", "annotator", "order"], kind="stable")
    position = frame["position"].to_numpy()
    annotator = frame["annotator"].to_numpy(dtype=object)
    score = frame["score"].to_numpy().astype(np.int64).tolist()
    starts = np.flatnonzero(np.r_[True, position[1:] != position[:-1]])
    ends = np.r_[starts[1:], position.size]
    for start, end in zip(starts.tolist(), ends.tolist()):
        os: dict[str, int | list[int]] = {}
        for who, grade in zip(annotator[start:end].tolist(), score[start:end]):
            known = os.get(who)
            if known is None:
                os[who] = grade
            elif isinstance(known, list):
                known.append(grade)
            else:
                os[who] = [known, grade]
        yield int(position[start]), os
