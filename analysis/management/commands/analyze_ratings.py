"""`manage.py analyze_ratings FILE.csv --out DIR`: the whole analysis on ratings from anywhere."""
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analysis import pipeline
from analysis.figures import CHARTS, Context, write_html_report
from analysis.selectors import demographic_labels
from annotation import csvsafe

_TRUE = {"1", "true", "yes", "y", "t"}


def _bool_column(series: pd.Series) -> pd.Series:
    if series.dtype == bool:
        return series
    return series.astype(str).str.strip().str.lower().isin(_TRUE)


class Command(BaseCommand):
    help = (
        "Analyse a CSV of ratings (columns video, annotator, score; optional attempt, qualified, "
        "is_checker, gold, is_fake, seconds, age, gender, education, prior_knowledge, reason) and write "
        "videos.csv, annotators.csv, summary.json and figures.html (with plotly.min.js beside it) to --out."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--out", type=Path, required=True,
                            help="Folder for the results (created; files already there are replaced only once all are written).")
        parser.add_argument("--video-col", default="video", help="Name of the video column (e.g. video_id).")
        parser.add_argument("--annotator-col", default="annotator", help="Name of the annotator column (e.g. subject).")
        parser.add_argument("--score-col", default="score")
        parser.add_argument("--scale", type=float, nargs=2, default=(1, 5), metavar=("LOWEST", "HIGHEST"),
                            help="The rating scale; a score outside it is an error (default 1 5).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split-half draws.")
        parser.add_argument("--repetitions", type=int, default=10, help="Split-half repetitions per group size.")

    def handle(self, *args, csv: Path, out: Path, video_col, annotator_col, score_col, scale, seed, repetitions, **options):
        csv, out = Path(csv), Path(out)  # call_command passes options as given
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} is a file; name a folder (it is created if missing).")
        frame = _read(csv)
        renames = {video_col: "video", annotator_col: "annotator", score_col: "score"}
        missing = [c for c in renames if c not in frame.columns]
        if missing:
            raise CommandError(f"{csv} has no column(s) {', '.join(missing)}; columns are: {', '.join(map(str, frame.columns))}. Use --video-col / --annotator-col.")
        frame = frame.rename(columns=renames)
        frame["score"] = _scores(frame["score"], csv, scale)
        for column in ("video", "annotator"):
            empty = frame[column].isna()
            if empty.any():
                raise CommandError(f"{csv}: {column} is missing on {_rows(empty)}.")
        for column in ("qualified", "is_checker", "is_fake"):
            if column in frame.columns:
                frame[column] = _bool_column(frame[column])
        if "is_checker" in frame.columns:
            frame = frame[~frame["is_checker"]]
        if frame.empty:
            raise CommandError(f"{csv} has no rating left to analyse (every row is a checker).")
        if "reason" in frame.columns:
            frame["reason"] = frame["reason"].fillna("").astype(str)
        params = pipeline.Parameters(seed=seed, consistency_repetitions=repetitions)
        result = pipeline.run_all(frame, params, progress=lambda it: tqdm(it, desc="stages", unit="stage", disable=options["verbosity"] == 0))
        summary = pipeline.summary(result.results) | {"stage_seconds": result.seconds, "code_version": pipeline.code_version(),
                                                     "parameters": params.as_dict(), "ratings": int(len(frame))}
        # Everything is written to a folder beside --out first and moved in when complete: a crash or
        # a full disk leaves --out as it was, never half-written.
        out.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            _write(result.results, summary, scratch)
            out.mkdir(exist_ok=True)
            for path in scratch.iterdir():
                os.replace(path, out / path.name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for name, reason in summary["not_available"].items():
            self.stdout.write(f"{name}: not available ({reason}).")
        self.stdout.write(f"{len(frame)} ratings of {frame['video'].nunique()} videos by {frame['annotator'].nunique()} annotators; "
                          f"SOS a = {_number(summary['sos_a_before'])} (all) / {_number(summary['sos_a_after'])} (qualified). "
                          f"Results in {out}/")


def _read(csv: Path) -> pd.DataFrame:
    """The CSV as a frame; a CommandError that says why when it cannot be read."""
    if not csv.is_file():
        raise CommandError(f"{csv} is not a file.")
    try:
        return pd.read_csv(csv)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{csv} is empty; it needs a header row (video, annotator, score) and one row per rating.")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{csv} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8.")
    except (OSError, pd.errors.ParserError) as exc:
        raise CommandError(f"Cannot read {csv}: {exc}")


def _rows(mask: pd.Series, most: int = 10) -> str:
    """The CSV line numbers of the rows where `mask` holds (the header is line 1), the first `most`."""
    lines = [str(i + 2) for i in mask[mask].index[:most]]
    more = int(mask.sum()) - len(lines)
    return "line" + ("s " if len(lines) > 1 else " ") + ", ".join(lines) + (f" and {more} more" if more > 0 else "")


def _scores(column: pd.Series, csv: Path, scale) -> pd.Series:
    """The scores as floats; a CommandError naming the rows of a missing, non-numeric, infinite or
    out-of-scale score, before anything is computed or written."""
    lowest, highest = scale
    if column.isna().any():
        raise CommandError(f"{csv}: the score is missing on {_rows(column.isna())}.")
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.isna().any():
        raise CommandError(f"{csv}: the score is not a number on {_rows(numbers.isna())}.")
    infinite = ~np.isfinite(numbers)
    if infinite.any():
        raise CommandError(f"{csv}: the score is infinite on {_rows(infinite)}.")
    outside = (numbers < lowest) | (numbers > highest)
    if outside.any():
        raise CommandError(f"{csv}: the score is outside the scale {lowest:g} to {highest:g} on {_rows(outside)} "
                           "(set the scale with --scale LOWEST HIGHEST).")
    return numbers.astype(float)


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _write(results: dict, summary: dict, folder: Path) -> None:
    """videos.csv, annotators.csv, summary.json, figures.html and plotly.min.js into `folder`."""
    csvsafe.frame(pd.DataFrame(results["videos"])).to_csv(folder / "videos.csv", index=False)
    annotators = pd.DataFrame(results["subjects"]["annotators"]).set_index("annotator")
    fnr = results.get("groups", {}).get("fnr")
    if fnr:
        annotators = annotators.join(pd.DataFrame(fnr).set_index("annotator")[["fnr"]], how="left")
    csvsafe.frame(annotators.reset_index()).to_csv(folder / "annotators.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    ctx = Context(results=results, monitor={}, labels=demographic_labels())
    write_html_report([(c.name, c.build(ctx)[0]) for c in CHARTS if c.source == "run" or c.name == "subjects"],
                      folder / "figures.html")
    shutil.copy(finders.find("vendor/plotly.min.js"), folder / "plotly.min.js")
