"""An exported dataset as the models read it: videos with MOS and category shares, reasons, splits, face frames.

No Django: an export is a folder (analysis.export wrote it, DOMAIN.md section 3), and training runs
where the database is not (a GPU machine with the folder copied to it). The reader checks what it
reads against the export's manifest (its SHA-256 is the export's identity in every report) and
refuses a folder that is not an export with a clear ApplicationError.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.export.splits import SETS
from analysis.export.videostats import CATEGORY_COLUMNS
from annotation.errors import ApplicationError
from modeling.frames.extract import DONE_MARKER, FRAMES_DIR

TEST_SETS = SETS[1:]  # test1, test2, test3


@dataclass(frozen=True)
class SplitSets:
    """One split of an export: the video ids of each set of SETS (each sorted) and the split's record."""

    index: int
    sets: dict[str, tuple[str, ...]]
    record: dict = field(default_factory=dict)

    @property
    def train(self) -> tuple[str, ...]:
        return self.sets["train"]


@dataclass
class ExportData:
    """An export folder, read once. `videos` is indexed by the pseudonymous video id."""

    folder: Path
    videos: pd.DataFrame
    manifest: dict

    @classmethod
    def read(cls, folder: str | Path) -> ExportData:
        """Read an export folder; raises ApplicationError("bad_export") when it is not one."""
        folder = Path(folder)
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise ApplicationError("bad_export", f"{folder} has no manifest.json: it is not a dataset export (analysis's export job writes one).")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if (folder / "videos.parquet").is_file():
            videos = pd.read_parquet(folder / "videos.parquet")
        elif (folder / "videos.csv").is_file():
            videos = pd.read_csv(folder / "videos.csv", keep_default_na=False, na_values={"mos": [""], "sos": [""]},
                                 dtype={"video": str, "file": str, "identity_pair": str, "method": str, "role": str})
        else:
            raise ApplicationError("bad_export", f"{folder} has no videos.parquet or videos.csv.")
        missing = {"video", "file", "identity_pair", "method", "mos"} - set(videos.columns)
        if missing:
            raise ApplicationError("bad_export", f"{folder}'s videos table lacks the columns {', '.join(sorted(missing))}.")
        videos = videos.set_index("video", drop=False).sort_index()
        return cls(folder=folder, videos=videos, manifest=manifest)

    @cached_property
    def manifest_sha256(self) -> str:
        """The SHA-256 of manifest.json: it names every file's hash, so it identifies the whole export."""
        return hashlib.sha256((self.folder / "manifest.json").read_bytes()).hexdigest()

    @property
    def category_columns(self) -> tuple[str, ...]:
        return tuple(c for c in CATEGORY_COLUMNS if c in self.videos.columns)

    def mos(self, ids) -> np.ndarray:
        return self.videos.loc[list(ids), "mos"].to_numpy(dtype=np.float64)

    def categories(self, ids) -> np.ndarray:
        """The 37-share category vectors of these videos, shape (len(ids), 37)."""
        return self.videos.loc[list(ids), list(self.category_columns)].to_numpy(dtype=np.float64)

    @cached_property
    def reasons(self) -> dict[str, list[str]]:
        """Every stored reason of the export's included ratings, per video (empty list for a video without any)."""
        if (self.folder / "ratings.parquet").is_file():
            ratings = pd.read_parquet(self.folder / "ratings.parquet", columns=["video", "reason"])
        elif (self.folder / "ratings.csv").is_file():
            ratings = pd.read_csv(self.folder / "ratings.csv", usecols=["video", "reason"], dtype=str, keep_default_na=False)
            # csvsafe put an apostrophe before a cell a spreadsheet would run; the reason's own text is without it.
            ratings["reason"] = ratings["reason"].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
        else:
            raise ApplicationError("bad_export", f"{self.folder} has no ratings table; the text branch needs the reasons.")
        grouped = ratings.groupby("video", sort=False)["reason"].agg(list).to_dict()
        return {video: grouped.get(video, []) for video in self.videos.index}

    def split_count(self) -> int:
        root = self.folder / "splits"
        return len([p for p in root.iterdir() if (p / "split.json").is_file()]) if root.is_dir() else 0

    def split(self, k: int) -> SplitSets:
        """Split k from splits/k/: the ids of train, test1, test2 and test3 (ApplicationError when absent)."""
        folder = self.folder / "splits" / str(k)
        if not (folder / "split.json").is_file():
            raise ApplicationError("bad_split", f"The export has no split {k} (it has {self.split_count()}; export with more splits).")
        sets = {}
        for name in SETS:
            table = pd.read_csv(folder / f"{name}.csv", usecols=["video"], dtype=str, keep_default_na=False)
            unknown = set(table["video"]) - set(self.videos.index)
            if unknown:
                raise ApplicationError("bad_split", f"splits/{k}/{name}.csv names videos that are not in videos: {sorted(unknown)[:3]}")
            sets[name] = tuple(sorted(table["video"]))
        record = json.loads((folder / "split.json").read_text(encoding="utf-8"))
        return SplitSets(index=k, sets=sets, record=record)

    def frame_paths(self, video: str) -> list[Path]:
        """The face crops of a video (frames/<video>/NNNNNN.png or .jpg), in frame order.

        Raises ApplicationError("no_frames") when its crops were not extracted (or not completely).
        """
        folder = self.folder / FRAMES_DIR / video
        if not (folder / DONE_MARKER).is_file():
            raise ApplicationError("no_frames", f"No complete face crops for {video}: run `manage.py extract_frames {self.folder}` first.")
        return sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg") and p.stem.isdigit())

    @cached_property
    def frames_settings(self) -> dict:
        """The extraction settings of frames/manifest.json (detector, size, margin, step...)."""
        path = self.folder / FRAMES_DIR / "manifest.json"
        if not path.is_file():
            raise ApplicationError("no_frames", f"{self.folder} has no frames/manifest.json: run `manage.py extract_frames` first.")
        return json.loads(path.read_text(encoding="utf-8")).get("settings", {})
