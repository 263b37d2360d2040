"""`manage.py analyze_ratings FILE.csv --out DIR`: the whole analysis on ratings from anywhere."""
import json
import shutil
from pathlib import Path

import pandas as pd
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analysis import pipeline
from annotation import csvsafe
from analysis.figures import CHARTS, Context, write_html_report

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
        parser.add_argument("--out", type=Path, required=True, help="Folder for the results (created).")
        parser.add_argument("--video-col", default="video", help="Name of the video column (e.g. video_id).")
        parser.add_argument("--annotator-col", default="annotator", help="Name of the annotator column (e.g. subject).")
        parser.add_argument("--score-col", default="score")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split-half draws.")
        parser.add_argument("--repetitions", type=int, default=10, help="Split-half repetitions per group size.")

    def handle(self, *args, csv: Path, out: Path, video_col, annotator_col, score_col, seed, repetitions, **options):
        csv, out = Path(csv), Path(out)  # call_command passes options as given
        try:
            frame = pd.read_csv(csv)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {csv}: {exc}")
        renames = {video_col: "video", annotator_col: "annotator", score_col: "score"}
        missing = [c for c in renames if c not in frame.columns]
        if missing:
            raise CommandError(f"{csv} has no column(s) {', '.join(missing)}; columns are: {', '.join(frame.columns)}. Use --video-col / --annotator-col.")
        frame = frame.rename(columns=renames)
        frame = frame[pd.to_numeric(frame["score"], errors="coerce").notna()].copy()
        frame["score"] = frame["score"].astype(float)
        for column in ("qualified", "is_checker", "is_fake"):
            if column in frame.columns:
                frame[column] = _bool_column(frame[column])
        if "is_checker" in frame.columns:
            frame = frame[~frame["is_checker"]]
        if "reason" in frame.columns:
            frame["reason"] = frame["reason"].fillna("").astype(str)
        params = pipeline.Parameters(seed=seed, consistency_repetitions=repetitions)
        result = pipeline.run_all(frame, params, progress=lambda it: tqdm(it, desc="stages", unit="stage", disable=options["verbosity"] == 0))
        out.mkdir(parents=True, exist_ok=True)
        results = result.results
        csvsafe.frame(pd.DataFrame(results["videos"])).to_csv(out / "videos.csv", index=False)
        annotators = pd.DataFrame(results["subjects"]["annotators"]).set_index("annotator")
        fnr = results.get("groups", {}).get("fnr")
        if fnr:
            annotators = annotators.join(pd.DataFrame(fnr).set_index("annotator")[["fnr"]], how="left")
        csvsafe.frame(annotators.reset_index()).to_csv(out / "annotators.csv", index=False)
        summary = pipeline.summary(results) | {"stage_seconds": result.seconds, "code_version": pipeline.code_version(),
                                              "parameters": params.as_dict(), "ratings": int(len(frame))}
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        ctx = Context(results=results, monitor={})
        write_html_report([(c.name, c.build(ctx)[0]) for c in CHARTS if c.source == "run" or c.name == "subjects"], out / "figures.html")
        shutil.copy(finders.find("vendor/plotly.min.js"), out / "plotly.min.js")
        self.stdout.write(f"{len(frame)} ratings of {frame['video'].nunique()} videos by {frame['annotator'].nunique()} annotators; "
                          f"SOS a = {summary['sos_a_before']:.3f} (all) / {summary['sos_a_after']:.3f} (qualified). Results in {out}/")
