"""The dataset export as a job kind of the runner: ratings -> videos -> splits -> sureal -> media -> manifest.

Every file is written in the job's artifact folder (jobs.artifacts, JOBS_ARTIFACT_ROOT/export/<job
id>), which is the export itself; `_work/` holds what one stage hands to the next and is removed
before the manifest is written. Each stage overwrites what it writes, so a stage run again after
a worker crash leaves one copy. Under MEDIA_STORAGE=s3 the manifest stage then uploads the export to
the bucket (export/<job id>/, manifest last), and downloads are redirects to signed URLs there.

Memory: only the ratings stage reads ratings, chunk by chunk through annotation's published frame
(contract.campaign_ratings_chunks), and writes each chunk to the ratings files at once; what it
keeps across chunks is a handful of integers per video (n, sum of grades, sum of squares, 37
category counts: analysis.export.videostats) and the pseudonymous id of each annotator. The sureal
file needs a video's grades together; it is built from a compact scores file on disk, a bucket of
videos at a time (analysis.export.sureal).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from annotation import contract, storage
from annotation.errors import ApplicationError
from annotation.models import Campaign, Video
from annotation.pseudonyms import annotator_name, video_name
from analysis.stats import reasons
from jobs.registry import JobKind, Stage
from jobs.services import StageContext

from . import manifest, selectors, splits
from .files import TableWriter, atomic, table_write
from .parameters import ExportParameters
from .sureal import SCORES_SCHEMA, sureal_dataset_write
from .tables import COLUMN_MEANINGS, RATINGS_SCHEMA, SPLIT_SET_SCHEMA, VIDEOS_SCHEMA
from .videostats import CATEGORY_COLUMNS, VideoSums

RATINGS, VIDEOS, SPLITS, SUREAL, MEDIA, MANIFEST = "ratings", "videos", "splits", "sureal", "media", "manifest"
SUREAL_FILE = "sureal/dataset.json"
ROLES = (Video.Role.REGULAR, Video.Role.CHECKER)  # checkers' qualified ratings are ratings like any other
CHUNK_ROWS = 20_000
REAL_METHOD = "real"  # the method of a real video that names none: real videos count as methods of their own
_READ = ("video", "annotator", "attempt", "outcome", "qualified", "score", "reason", "typed_reason", "seconds_spent",
         "played_to_end", "plays", "seeks", "fullscreen", "age_group", "gender", "education", "prior_knowledge")
_TEXT = ("age_group", "gender", "education", "prior_knowledge", "outcome")

# Work done inside a stage (ratings read, files copied), for a caller that shows it (the command's tqdm).
_progress: ContextVar[Callable[[str, int], None] | None] = ContextVar("export_progress", default=None)


@contextmanager
def progress_to(report: Callable[[str, int], None]) -> Iterator[None]:
    """Within the block, stages call `report(stage, amount)` as they go (ratings written, videos copied)."""
    token = _progress.set(report)
    try:
        yield
    finally:
        _progress.reset(token)


def _report(stage: str, amount: int) -> None:
    report = _progress.get()
    if report is not None:
        report(stage, amount)


def campaign_of(job) -> Campaign:
    """The campaign an export job is about (its subject is "campaign:<id>")."""
    kind, _, pk = job.subject.partition(":")
    if kind != "campaign" or not pk.isdigit():
        raise ValueError(f"an export's subject must be campaign:<id>, got {job.subject!r}")
    return Campaign.objects.get(pk=int(pk))


def _folder(ctx: StageContext) -> Path:
    return ctx.artifacts.folder


def _work(ctx: StageContext) -> Path:
    return ctx.artifacts.folder / manifest.WORK


def _parquet_write(path: Path, frame: pd.DataFrame) -> None:
    with atomic(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)


# --- Stages -----------------------------------------------------------------------------------


def stage_ratings(ctx: StageContext) -> None:
    """Stream the included ratings to ratings.csv / .parquet; keep per-video sums and a compact scores file for later stages."""
    from analysis.selectors import campaign_excluded_annotators

    params: ExportParameters = ctx.params
    campaign = campaign_of(ctx.job)
    videos = contract.campaign_videos_frame(campaign).sort_index()
    names = np.array([video_name(campaign.pk, int(v)) for v in videos.index], dtype=object)
    sums = VideoSums(len(videos))
    excluded = campaign_excluded_annotators(campaign)
    annotators: dict[int, str] = {}
    work = _work(ctx)
    work.mkdir(parents=True, exist_ok=True)
    chunks = contract.campaign_ratings_chunks(
        campaign, chunk_rows=CHUNK_ROWS, roles=ROLES, qualified_only=params.qualified_only, exclude_annotators=excluded,
        columns=list(_READ),
    )
    with atomic(work / "scores.parquet") as scores_path, pq.ParquetWriter(scores_path, SCORES_SCHEMA) as scores, \
            TableWriter(_folder(ctx) / "ratings", RATINGS_SCHEMA, params.formats) as table:
        for chunk in chunks:
            positions = videos.index.get_indexer(chunk["video"].to_numpy())
            texts = reasons.corpus(chunk["reason"])  # matched once per distinct text of the chunk
            sums.add(positions, chunk["score"].to_numpy(), texts.codes, texts.categories)
            codes, people = pd.factorize(chunk["annotator"].to_numpy())
            for person in people.tolist():
                if person not in annotators:
                    annotators[person] = annotator_name(campaign.pk, int(person))
            pseudonyms = np.array([annotators[p] for p in people.tolist()], dtype=object)[codes]
            rows = {"video": names[positions], "annotator": pseudonyms}
            for column in RATINGS_SCHEMA.names[2:]:
                rows[column] = chunk[column].astype(str).to_numpy() if column in _TEXT else chunk[column].to_numpy()
            table.write(pd.DataFrame(rows))
            scores.write_table(pa.table({
                "position": positions.astype(np.int32), "annotator": pseudonyms,
                "order": np.arange(table.rows - len(chunk), table.rows, dtype=np.int64), "score": chunk["score"].to_numpy().astype(np.int8),
            }, schema=SCORES_SCHEMA))
            _report(RATINGS, len(chunk))
        if table.rows == 0:
            which = "qualified ratings" if params.qualified_only else "ratings"
            raise ApplicationError("no_ratings", f"This campaign has no {which} of regular or checker videos yet; nothing to export.")
    _parquet_write(work / "sums.parquet", sums.frame().assign(video_id=videos.index.to_numpy()))
    last = contract.campaign_last_rating_at(campaign)
    ctx.inputs_record({
        "ratings": table.rows, "annotators": len(annotators), "videos": int((sums.n > 0).sum()),
        "excluded_annotators": len(excluded), "include": params.include, "last_rating_at": last.isoformat() if last else None,
    })


def stage_videos(ctx: StageContext) -> None:
    """One row per rated video: pseudonymous name, labels, MOS/SOS/n/CI of the included ratings, the 37-share category vector."""
    params: ExportParameters = ctx.params
    campaign = campaign_of(ctx.job)
    stored = pd.read_parquet(_work(ctx) / "sums.parquet")
    sums = VideoSums.from_frame(stored)
    ids = stored["video_id"].to_numpy()
    labels = contract.campaign_videos_frame(campaign).reindex(ids)
    methods = labels["method"].astype(str).to_numpy(dtype=object)
    real = labels["is_real"].to_numpy(dtype=bool)
    methods[(methods == "") & real] = REAL_METHOD
    names = np.array([video_name(campaign.pk, int(v)) for v in ids], dtype=object)
    frame = pd.DataFrame({
        "video": names, "file": names + ".mp4", "role": labels["role"].astype(str).to_numpy(),
        "identity_pair": labels["identity_pair"].astype(str).to_numpy(), "method": methods, "is_real": real,
        "gold_score": labels["gold_score"].to_numpy(dtype=float),
    })
    frame = pd.concat([frame, sums.opinion(), sums.category_shares()], axis=1)
    frame["position"], frame["video_id"] = np.arange(len(frame)), ids
    frame = frame[sums.n > 0].sort_values("video", ignore_index=True)
    table_write(_folder(ctx) / "videos", frame, VIDEOS_SCHEMA, params.formats)
    # The export's rows with the campaign positions and video ids the later stages need.
    _parquet_write(_work(ctx) / "videos.parquet", frame)


def stage_splits(ctx: StageContext) -> None:
    """splits/<k>/{train,test1,test2,test3}.csv and split.json for k < params.splits (DOMAIN.md section 3, analysis.export.splits)."""
    params: ExportParameters = ctx.params
    folder = _folder(ctx) / "splits"
    shutil.rmtree(folder, ignore_errors=True)
    videos = pd.read_parquet(_work(ctx) / "videos.parquet", columns=SPLIT_SET_SCHEMA.names)
    within = videos[(videos["identity_pair"] != "") & (videos["method"] != "")].reset_index(drop=True)
    if params.splits:
        try:
            drawn = splits.splits_draw(
                within["identity_pair"].tolist(), within["method"].tolist(), count=params.splits, seed_base=params.seed,
                n_train_pairs=params.train_pairs, n_train_methods=params.train_methods,
            )
        except ValueError as exc:
            raise ApplicationError("bad_splits", f"The splits cannot be drawn: {exc}. Export with 0 splits, or set the training counts.")
        for split in drawn:
            sets = split.sets(within["identity_pair"].to_numpy(), within["method"].to_numpy())
            for name in splits.SETS:
                table_write(folder / str(split.index) / name, within[sets[name]], SPLIT_SET_SCHEMA, ("csv",))
            record = {**split.as_dict(), "videos": {name: int(mask.sum()) for name, mask in sets.items()}}
            with atomic(folder / str(split.index) / "split.json") as tmp:
                tmp.write_text(_json(record), encoding="utf-8")


def stage_sureal(ctx: StageContext) -> None:
    """sureal/dataset.json: every exported video's grades in sureal's dataset format (analysis.export.sureal)."""
    videos = pd.read_parquet(_work(ctx) / "videos.parquet", columns=["file", "identity_pair", "position"])
    row_of = np.full(int(videos["position"].max()) + 1, -1, dtype=np.int64)
    row_of[videos["position"].to_numpy()] = np.arange(len(videos))
    path = _folder(ctx) / SUREAL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    sureal_dataset_write(
        path, name=f"{campaign_of(ctx.job).slug} export v{ctx.job.version}", files=videos["file"].tolist(),
        pairs=videos["identity_pair"].tolist(), scores=_work(ctx) / "scores.parquet", work=_work(ctx) / "sureal", row_of=row_of,
    )


def stage_media(ctx: StageContext) -> None:
    """videos/<video>.mp4 for every exported video, when asked for: the transcoded files under their pseudonymous names only."""
    folder = _folder(ctx) / "videos"  # where extract_frames (modeling.frames) reads them
    shutil.rmtree(folder, ignore_errors=True)
    if not ctx.params.with_videos:
        return
    videos = pd.read_parquet(_work(ctx) / "videos.parquet", columns=["file", "video_id"])
    sources = selectors.video_files(campaign_of(ctx.job), videos["video_id"].tolist())
    folder.mkdir(parents=True)
    for file, video_id in zip(videos["file"].tolist(), videos["video_id"].tolist()):
        source = sources.get(video_id)
        if source is None or not storage.media_stored(source):
            raise ApplicationError("video_file_missing", f"The file of video {file} is missing from the media storage; re-ingest it or export without videos.")
        with atomic(folder / file) as tmp:
            storage.media_copy(source, tmp)
        _report(MEDIA, 1)


def stage_manifest(ctx: StageContext) -> None:
    """manifest.json (counts, parameters, QC rule, analysis run, code version, SHA-256 of every file); the scratch folder removed."""
    from analysis.selectors import campaign_latest_run

    params: ExportParameters = ctx.params
    campaign = campaign_of(ctx.job)
    # Everything from the export's own files, not the scratch folder: this stage may run again
    # after a crash, when the scratch folder is already gone.
    shutil.rmtree(_work(ctx), ignore_errors=True)
    videos = _videos_table(_folder(ctx), ["role", "is_real", "identity_pair", "method"])
    within = int(((videos["identity_pair"] != "") & (videos["method"] != "")).sum())
    split_records = [_json_read(path) for path in sorted((_folder(ctx) / "splits").glob("*/split.json"), key=lambda p: int(p.parent.name))]
    run = campaign_latest_run(campaign)
    inputs = ctx.job.inputs or {}
    header = {
        "format": "dream-export/1",
        "campaign": {"id": campaign.pk, "slug": campaign.slug, "title": campaign.title},
        "export": {"job": ctx.job.pk, "version": ctx.job.version, "created_at": ctx.job.created_at.isoformat()},
        "code_version": ctx.job.code_version,
        "parameters": params.as_dict(),
        "included_ratings": {
            "include": params.include,
            "meaning": ("ratings of qualified attempts only (the paper's dataset, after rectification)" if params.qualified_only
                        else "ratings of every attempt: qualified, disqualified, in progress and abandoned (see ratings.outcome)"),
            "roles": [str(r) for r in ROLES],
            "excluded_annotators": inputs.get("excluded_annotators", 0),
            "last_rating_at": inputs.get("last_rating_at"),
        },
        "statistics": ("videos.mos, sos, n, ci_low and ci_high are computed from the included ratings of this export "
                       "(ratings.*), with a 95% Student-t interval; the category shares from their stored reasons."),
        "qc_rule": {
            "rule": ("an attempt qualifies when every hidden checker video in it is rated within checker_tolerance grades "
                     "of its gold grade; one miss disqualifies the whole attempt, which is then annotated again"),
            "checker_tolerance": campaign.checker_tolerance,
            "checkers_per_session": campaign.checkers_per_session,
            "videos_per_session": campaign.videos_per_session,
        },
        "analysis_run": ({"id": run.pk, "version": run.version, "code_version": run.code_version,
                          "finished_at": run.finished_at.isoformat() if run.finished_at else None} if run else None),
        "counts": {
            "ratings": inputs.get("ratings"), "annotators": inputs.get("annotators"), "videos": len(videos),
            "videos_by_role": {str(k): int(v) for k, v in videos["role"].value_counts().sort_index().items()},
            "real_videos": int(videos["is_real"].sum()),
            "identity_pairs": int(videos.loc[videos["identity_pair"] != "", "identity_pair"].nunique()),
            "methods": int(videos.loc[videos["method"] != "", "method"].nunique()),
            "videos_in_splits": within, "videos_outside_splits": len(videos) - within,
            "media_files": len(videos) if params.with_videos else 0,
        },
        "splits": {"protocol": splits.__doc__.split("\n\n", 1)[1].strip(), "seed_of_split_k": "seed + k",
                   "splits": split_records},
        "category_vector": {"columns": list(CATEGORY_COLUMNS), "order": "14 places, 19 artifacts, 4 extents (DOMAIN.md section 2)"},
        "csv": ("UTF-8, comma-separated, CRLF line ends (RFC 4180), header row. A text cell starting with =, +, -, @, a tab or a carriage return "
                "has a leading apostrophe so that spreadsheets show it as text; the Parquet files hold the texts unchanged. "
                "Texts may hold line breaks inside quoted cells (pyarrow: ParseOptions(newlines_in_values=True))."),
        "sureal": {"file": SUREAL_FILE, "run": f"sureal --dataset {SUREAL_FILE} --models MOS"},
        "columns": COLUMN_MEANINGS,
    }
    written = manifest.manifest_write(_folder(ctx), header)
    if storage.exports_storage() is not None:  # MEDIA_STORAGE=s3: downloads come from the bucket
        storage.exports_upload(_folder(ctx), selectors.export_key(ctx.job), sorted(written["files"]), manifest.MANIFEST)
    ctx.summary_record({
        "ratings": inputs.get("ratings"), "videos": len(videos), "splits": len(split_records),
        "files": len(written["files"]), "bytes": sum(f["bytes"] for f in written["files"].values()),
    })


def _videos_table(folder: Path, columns: list[str]) -> pd.DataFrame:
    """`columns` of the export's videos table, from whichever format it was written in."""
    if (folder / "videos.parquet").is_file():
        return pd.read_parquet(folder / "videos.parquet", columns=columns)
    return pd.read_csv(folder / "videos.csv", usecols=columns, dtype={c: str for c in columns if c != "is_real"}, keep_default_na=False)


def _json(data) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _json_read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_version() -> str:
    """A fingerprint of the code behind an export's files, stored with every export job."""
    here = Path(__file__).resolve().parent
    root = here.parents[1]
    paths = [*here.glob("*.py"), *(root / "analysis" / "stats" / "reasons").glob("*.py"),
             *(root / "annotation" / n for n in ("contract.py", "pseudonyms.py", "csvsafe.py"))]
    digest = hashlib.sha1()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"export-{digest.hexdigest()[:12]}"


EXPORT = JobKind(
    name=selectors.KIND,
    stages=(Stage(RATINGS, stage_ratings), Stage(VIDEOS, stage_videos), Stage(SPLITS, stage_splits),
            Stage(SUREAL, stage_sureal), Stage(MEDIA, stage_media), Stage(MANIFEST, stage_manifest)),
    parameters=ExportParameters,
    code_version=code_version,
)
STAGE_NAMES = EXPORT.stage_names
