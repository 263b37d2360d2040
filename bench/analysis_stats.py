"""Benchmark of analysis/stats on synthetic DREAM-scale ratings, with sureal timed on the same data.

DREAM scale (paper section III): 1,520 videos, 3,500 annotators, one 40-video session each plus the
re-annotated attempts of disqualified sessions, about 150,000 ratings. `--scale 10` multiplies
videos and annotators (and so ratings) by ten.

For MOS with CI, BT.500 rejection, P.913 and the MLE subject model it also times Netflix sureal on
the same ratings and prints the ratio. sureal's MLE holds dense videos x subjects x repetitions
arrays and takes about 3.5 s per iteration at DREAM scale (hundreds of iterations to converge), so
the side-by-side MLE run stops both implementations at the same looser threshold
(`--sureal-mle-delta-thr`), which makes them run the same iterations (checked), and the full
convergence time of sureal is estimated from its per-iteration time (printed as an estimate).

Run:  .venv/bin/python bench/analysis_stats.py [--scale 1] [--no-sureal]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stats.consistency import split_half_consistency  # noqa: E402
from analysis.stats.groups import fnr_group_tests  # noqa: E402
from analysis.stats.opinion import opinion_scores  # noqa: E402
from analysis.stats.reasons import category_vectors, suspicious_reasons, word_frequencies  # noqa: E402
from analysis.stats.sos import sos_rectification  # noqa: E402
from analysis.stats.subjects import mle_model, mos_model  # noqa: E402

PLACES = np.array(["The whole face", "The mouth", "The eyes", "The teeth", "The forehead", "The nose", "The chin",
                   "The face contour", "The cheeks", "The eyebrows", "The hairline", "The neck", "The ears", "It"])
ARTIFACTS = np.array(["is blurry", "has motion blur", "flickers", "shows ghosting", "looks stiff", "looks unnatural",
                      "has wrong shadows", "has a different colour", "is distorted", "is asymmetric",
                      "is too bright", "shows mosaic", "drops frames", "has a visible seam", "is noisy",
                      "shows blocking", "has forgery traces"])
EXTENTS = np.array(["", " slightly", " a little", " very obviously", " severely", " dramatically"])
PERSONS = np.array(["A young woman with long hair", "An older man in a suit", "A man with glasses",
                    "A woman speaking to the camera"])


def synthesize(scale: float = 1.0, seed: int = 0, per_session: int = 40, ratings_target: int = 150_000) -> pd.DataFrame:
    """DREAM-like long-format ratings with every column the statistics read.

    Each annotator rates one session of `per_session` distinct videos; some sessions were
    disqualified first and re-annotated (a noisier first attempt, qualified False), as many as it
    takes to reach `ratings_target` x scale ratings. Scores come from video quality + annotator bias
    + annotator noise; annotators who know deepfakes and fast annotators are fooled less.
    """
    rng = np.random.default_rng(seed)
    n_videos, n_annotators = int(round(1520 * scale)), int(round(3500 * scale))
    per_session = min(per_session, n_videos - 1)  # tiny scales (tests) have fewer videos than a session
    n_pairs = 20
    quality = np.clip(rng.normal(3.4, 0.9, n_videos), 1.0, 5.0)
    is_fake = np.ones(n_videos, dtype=bool)
    is_fake[rng.choice(n_videos, int(round(120 * scale)), replace=False)] = False
    quality[~is_fake] = rng.uniform(4.2, 5.0, (~is_fake).sum())
    content = rng.integers(0, n_pairs, n_videos)

    bias = rng.normal(0.0, 0.35, n_annotators)
    noise = np.abs(rng.normal(0.6, 0.2, n_annotators)) + 0.1
    knows = rng.random(n_annotators) < 0.15
    mean_seconds = rng.lognormal(np.log(25.0), 0.5, n_annotators)
    bias = bias - 0.3 * knows + 0.004 * (mean_seconds - 25.0)

    # One session each: `per_session` distinct videos per annotator (smallest of random keys),
    # in chunks of annotators so that --scale 10 does not need a 35,000 x 15,200 key matrix.
    session = np.concatenate([
        np.argpartition(rng.random((min(500, n_annotators - start), n_videos)), per_session, axis=1)[:, :per_session]
        for start in range(0, n_annotators, 500)
    ])
    annotator = np.repeat(np.arange(n_annotators), per_session)
    video = session.ravel()

    n_redo = max(0, min(n_annotators, int(round((ratings_target * scale - annotator.size) / per_session))))
    redo = rng.choice(n_annotators, n_redo, replace=False)
    redo_rows = np.isin(annotator, redo)
    first_annotator, first_video = annotator[redo_rows], video[redo_rows]
    annotator = np.concatenate([first_annotator, annotator])
    video = np.concatenate([first_video, video])
    attempt = np.concatenate([np.ones(first_annotator.size, dtype=np.int64), np.where(np.isin(annotator[first_annotator.size:], redo), 2, 1)])
    qualified = np.concatenate([np.zeros(first_annotator.size, dtype=bool), np.ones(annotator.size - first_annotator.size, dtype=bool)])

    sloppiness = np.where(qualified, 1.0, 2.2)  # disqualified attempts are the careless ones
    raw = quality[video] + bias[annotator] + rng.normal(0.0, 1.0, video.size) * noise[annotator] * sloppiness
    score = np.clip(np.round(raw), 1, 5)
    seconds = np.maximum(2.0, mean_seconds[annotator] * rng.lognormal(0.0, 0.3, video.size))

    place = PLACES[rng.integers(0, len(PLACES), video.size)]
    artifact = ARTIFACTS[rng.integers(0, len(ARTIFACTS), video.size)]
    extent = EXTENTS[rng.integers(0, len(EXTENTS), video.size)]
    reason = pd.Series(place).str.cat([pd.Series(artifact), pd.Series(extent)], sep=" ").str.replace("  ", " ")
    top = score == 5
    reason[top] = PERSONS[rng.integers(0, len(PERSONS), int(top.sum()))]

    return pd.DataFrame(
        {
            "video": video,
            "annotator": annotator,
            "score": score,
            "attempt": attempt,
            "qualified": qualified,
            "is_fake": is_fake[video],
            "content": content[video],
            "seconds": seconds,
            "age": np.array(["18-25", "26-35", "36-45", "46+"])[annotator % 4],
            "gender": np.array(["female", "male"])[(annotator // 4) % 2],
            "education": np.array(["high school", "undergraduate", "graduate"])[(annotator // 8) % 3],
            "prior_knowledge": np.where(knows, "heard of deepfakes", "never heard")[annotator],
            "reason": reason.to_numpy(),
        }
    )


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of `repeat` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def sureal_runner(ratings: pd.DataFrame) -> Callable[..., tuple[float, dict]]:
    """A function that times one sureal model on `ratings` (the dataset object is built once, untimed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sureal import subjective_model
    from sureal.dataset_reader import RawDatasetReader

    from tests.analysis.sureal_reference import sureal_dataset

    dataset = sureal_dataset(ratings)

    def run(model: str, **kwargs: Any) -> tuple[float, dict]:
        model_class = getattr(subjective_model, model)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            # The reader is part of the timed work: sureal rebuilds its dense score array from the
            # dataset inside run_modeling on every call anyway.
            result = model_class(RawDatasetReader(dataset)).run_modeling(**kwargs)
            return time.perf_counter() - start, result

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply videos, annotators and ratings (10 = 10x DREAM)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic ratings")
    parser.add_argument("--repeat", type=int, default=3, help="runs per statistic of ours; the best time is printed")
    parser.add_argument("--no-sureal", action="store_true", help="time only this package")
    parser.add_argument("--sureal-mle-delta-thr", type=float, default=0.1,
                        help="stop threshold of the side-by-side MLE runs (sureal's default 1e-8 takes ~15-45 min)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)

    start = time.perf_counter()
    ratings = synthesize(args.scale, args.seed)
    print(f"synthesized {len(ratings):,} ratings: {ratings['video'].nunique():,} videos, "
          f"{ratings['annotator'].nunique():,} annotators, {(~ratings['qualified']).sum():,} from disqualified "
          f"attempts ({time.perf_counter() - start:.1f} s)")
    print()

    our_seconds: dict[str, float] = {}

    def ours(name: str, fn: Callable[[], Any], note: str = "") -> Any:
        seconds, result = timed(fn, args.repeat)
        our_seconds[name] = seconds
        print(f"  {name:<34} {seconds:8.3f} s  {note}", flush=True)
        return result

    print("this package (best of %d):" % args.repeat)
    ours("opinion_scores (MOS, SOS, t-CI)", lambda: opinion_scores(ratings))
    ours("sos_rectification", lambda: sos_rectification(ratings))
    table = ours("split_half_consistency", lambda: split_half_consistency(ratings, seed=0),
                 "12 group sizes x 10 draws")
    ours("fnr_group_tests (5 attributes)", lambda: fnr_group_tests(ratings))
    ours("mos_model (plain, normal CI)", lambda: mos_model(ratings))
    ours("mos_model BT.500 rejection", lambda: mos_model(ratings, reject_subjects=True))
    ours("mos_model P.913 (bias + rejection)", lambda: mos_model(ratings, remove_bias=True, reject_subjects=True))
    co = ours("mle_model content-oblivious", lambda: mle_model(ratings, content_aware=False))
    print(f"  {'':<34} {'':>10}  {co.n_iterations} iterations, converged={co.converged}")
    ca = ours("mle_model content-aware", lambda: mle_model(ratings, content_aware=True))
    print(f"  {'':<34} {'':>10}  {ca.n_iterations} iterations, converged={ca.converged}")
    ours("category_vectors (37 shares)", lambda: category_vectors(ratings))
    ours("suspicious_reasons", lambda: suspicious_reasons(ratings))
    ours("word_frequencies", lambda: word_frequencies(ratings["reason"]))
    last = table.iloc[-1]
    print(f"\n  consistency at k={int(last['k'])}: SRCC {last['mean_srcc']:.4f} +- {last['std_srcc']:.4f}, "
          f"{last['ratings_per_video']:.1f} ratings per video per group")

    if args.no_sureal:
        return
    cells = ratings["video"].nunique() * ratings["annotator"].nunique()
    if cells > 60_000_000:
        print(f"\nsureal skipped: its dense arrays would hold {cells:,} cells per repetition")
        return

    print("\nside by side with sureal (same ratings, same run):")
    run = sureal_runner(ratings)

    def compare(name: str, our_fn: Callable[[], Any], model: str, **kwargs: Any) -> tuple[float, float, Any, dict]:
        ours_s, our_result = timed(our_fn, args.repeat)
        sureal_s, reference = run(model, **kwargs)
        print(f"  {name:<34} ours {ours_s:8.3f} s   sureal {sureal_s:8.2f} s   ratio {sureal_s / ours_s:7.0f}x", flush=True)
        return ours_s, sureal_s, our_result, reference

    _, mos_sureal_s, mine, ref = compare("MOS with CI (MosModel)", lambda: mos_model(ratings), "MosModel")
    print(f"  {'':<34} max |MOS diff| {np.nanmax(np.abs(mine.mos - np.asarray(ref['quality_scores']))):.1e}")
    # opinion_scores is the project's MOS + Student-t CI table; sureal has no t-interval, so it is
    # compared with the same MosModel run.
    ours_s, _ = timed(lambda: opinion_scores(ratings), args.repeat)
    print(f"  {'opinion_scores (t-CI) vs MosModel':<34} ours {ours_s:8.3f} s   sureal {mos_sureal_s:8.2f} s   "
          f"ratio {mos_sureal_s / ours_s:7.0f}x")
    _, _, mine, ref = compare("BT.500 rejection (SubjrejMosModel)", lambda: mos_model(ratings, reject_subjects=True),
                              "SubjrejMosModel")
    same = np.array_equal(mine.rejection.rejected, np.asarray(ref["observer_rejected"]))
    print(f"  {'':<34} rejected: ours {mine.rejection.rejected.sum()}, sureal {sum(ref['observer_rejected'])}, identical={same}")
    per_rated = mos_model(ratings, reject_subjects=True, per_rated=True).rejection
    print(f"  {'':<34} (share over own ratings, per_rated=True: {per_rated.rejected.sum()} rejected)")
    compare("P.913 (BiasremvSubjrejMosModel)", lambda: mos_model(ratings, remove_bias=True, reject_subjects=True),
            "BiasremvSubjrejMosModel")

    thr = args.sureal_mle_delta_thr
    for content_aware, model, full in ((False, "MaximumLikelihoodEstimationModelContentOblivious", co),
                                       (True, "MaximumLikelihoodEstimationModel", ca)):
        label = "MLE" if content_aware else "MLE_CO"
        ours_s, sureal_s, mine, ref = compare(
            f"{label} to delta_thr={thr:g}", lambda: mle_model(ratings, content_aware=content_aware, delta_thr=thr),
            model, delta_thr=thr,
        )
        diff = np.nanmax(np.abs(mine.quality - np.asarray(ref["quality_scores"])))
        print(f"  {'':<34} iterations: ours {mine.n_iterations}, sureal {ref['num_iter']}; max |quality diff| {diff:.1e}")
        # sureal's full run: its setup (one iteration's run minus one iteration) plus per-iteration
        # time x the iterations full convergence takes (ours and sureal iterate identically).
        one_s, _ = run(model, delta_thr=float("inf"))
        per_iteration = (sureal_s - one_s) / max(ref["num_iter"] - 1, 1)
        estimate = one_s + per_iteration * (full.n_iterations - 1)
        full_s = our_seconds[f"mle_model {'content-aware' if content_aware else 'content-oblivious'}"]
        print(f"  {'':<34} full convergence ({full.n_iterations} it.): ours {full_s:.2f} s, sureal estimated "
              f"{estimate:.0f} s ({per_iteration:.3f} s/iteration), ratio ~{estimate / full_s:.0f}x")


if __name__ == "__main__":
    main()
