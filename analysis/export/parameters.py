"""The typed parameters of a dataset export (stored with every export job)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

INCLUDE = ("qualified", "all")
FORMATS = ("csv", "parquet")
MAX_SPLITS = 100


def _integer(name: str, value, *, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high]; a bool or a float is refused (True is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high if high is not None else '...'}], got {value}")
    return value


@dataclass(frozen=True)
class ExportParameters:
    """What an export holds besides the campaign's data.

    include: "qualified" (the ratings of qualified attempts, the paper's dataset) or "all" (every
    attempt: disqualified, in progress and abandoned ones too). with_videos: copy the transcoded
    MP4s under their pseudonymous names. splits: how many train/test splits (0: none).
    train_pairs / train_methods: how many identity pairs and methods each split trains on; None
    scales the paper's 14 of 20 and 27 of 38 to the campaign (analysis.export.splits.train_count).
    formats: the tables' file formats. seed: split k is drawn with seed + k.
    """

    include: str = "qualified"
    with_videos: bool = False
    splits: int = 10
    train_pairs: int | None = None
    train_methods: int | None = None
    formats: tuple[str, ...] = FORMATS
    seed: int = 0

    def __post_init__(self):
        if self.include not in INCLUDE:
            raise ValueError(f"include must be one of {', '.join(INCLUDE)}, got {self.include!r}")
        if not isinstance(self.with_videos, bool):
            raise ValueError(f"with_videos must be true or false, got {self.with_videos!r}")
        _integer("splits", self.splits, low=0, high=MAX_SPLITS)
        for name in ("train_pairs", "train_methods"):
            if getattr(self, name) is not None:
                _integer(name, getattr(self, name), low=1)
        _integer("seed", self.seed, low=0, high=2**32 - 1 - MAX_SPLITS)
        unknown = [f for f in self.formats if f not in FORMATS]
        if not self.formats or unknown or len(set(self.formats)) != len(self.formats):
            raise ValueError(f"formats must be distinct values of {', '.join(FORMATS)}, got {list(self.formats)}")

    @property
    def qualified_only(self) -> bool:
        return self.include == "qualified"

    @classmethod
    def from_dict(cls, data: dict | None) -> ExportParameters:
        """The parameters from their stored dict; unknown keys and ill-typed values raise ValueError."""
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown export parameter(s): {', '.join(sorted(unknown))}")
        if "formats" in data:
            formats = data["formats"]
            if isinstance(formats, str) or not isinstance(formats, (list, tuple)):
                raise ValueError(f"formats must be a list, got {formats!r}")
            # Stored in FORMATS order so that two requests for the same files are the same parameters.
            data["formats"] = tuple(sorted(formats, key=lambda f: FORMATS.index(f) if f in FORMATS else len(FORMATS)))
        return cls(**data)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["formats"] = list(self.formats)
        return data
