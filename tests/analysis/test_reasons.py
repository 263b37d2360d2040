"""Reason taxonomy, word counts and suspicious-reason flags on hand-written descriptions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats.reasons import (
    ARTIFACT_TERMS,
    ARTIFACTS,
    CATEGORIES,
    EXTENTS,
    GRADE5_STORED_REASON,
    PLACE_TERMS,
    PLACES,
    categorize,
    category_shares,
    category_vectors,
    suspicious_reasons,
    tokens,
    word_frequencies,
)


def named(text: str) -> set[str]:
    row = categorize([text]).iloc[0]
    return {c for c in CATEGORIES if row[c]}


def test_taxonomy_shape_matches_the_paper():
    assert (len(PLACES), len(ARTIFACTS), len(EXTENTS), len(CATEGORIES)) == (14, 19, 4, 37)
    assert PLACES[:3] == ("face", "not-specified", "mouth") and ARTIFACTS[-3:] == ("artifact", "none", "others")
    assert EXTENTS == ("no-artifact", "mild", "moderate", "severe")
    assert set(PLACE_TERMS) == set(PLACES) and set(ARTIFACT_TERMS) == set(ARTIFACTS)


@pytest.mark.parametrize(
    "text,expected",
    [
        # The lecture's example: "dramatically" is not a strong word, so the extent is moderate.
        ("The whole face flickers dramatically and the mouth movement looks unnatural",
         {"face", "mouth", "flickering", "unnatural", "moderate"}),
        (GRADE5_STORED_REASON, {"not-specified", "none", "no-artifact"}),
        ("Obvious seam around the chin", {"chin", "seam", "severe"}),
        ("The eyes are slightly blurry", {"eyes", "blur", "mild"}),
        ("very slight flicker on the forehead", {"forehead", "flickering", "mild"}),
        ("motion blur when turning the head", {"face", "motion-blur", "moderate"}),
        ("the eye-brows look stiff and the teeth are blurred", {"eye-brows", "teeth", "stiffness", "blur", "moderate"}),
        ("colour of the cheeks does not match the neck", {"cheeks", "neck", "color-contrast", "unnatural", "moderate"}),
        ("ghosting at the hairline, extremely obvious", {"hairline", "ghosting", "severe"}),
        ("looks real", {"not-specified", "none", "no-artifact"}),
        ("no blur or flicker but the nose is a bit distorted", {"nose", "distortion", "mild"}),
        ("the mouth movement is not natural", {"mouth", "unnatural", "moderate"}),
        ("not obvious blur on the ears", {"ears", "blur", "mild"}),
        ("no obvious blur on the ears", {"ears", "none", "no-artifact"}),
        ("a young woman with a red scarf", {"not-specified", "others", "moderate"}),
        ("the contour of the face is seamless", {"face", "contour", "none", "no-artifact"}),
        ("mosaic and blocky compression with heavy noise", {"not-specified", "mosaic", "blocking", "noise", "severe"}),
        ("some frames drop, stuttering; the lighting on the skin is too dark",
         {"face", "frame-drop", "lighting-shadow", "brightness", "moderate"}),
        ("left and right side of the face are asymmetric, traces of forgery",
         {"face", "asymmetry", "artifact", "moderate"}),
    ],
)
def test_hand_written_descriptions(text, expected):
    assert named(text) == expected


def test_exactly_one_extent_and_at_least_one_place_and_artifact():
    texts = ["", None, "blur", "no traces", "a little very obvious", "face", "!!!", "Mouth: slightly shaky"]
    table = categorize(texts)
    assert (table[list(EXTENTS)].sum(axis=1) == 1).all()
    assert (table[list(PLACES)].sum(axis=1) >= 1).all()
    assert (table[list(ARTIFACTS)].sum(axis=1) >= 1).all()


def test_categorize_keeps_the_input_index():
    series = pd.Series(["blurry mouth", "stiff eyes"], index=[10, 20])
    assert categorize(series).index.tolist() == [10, 20]


def test_category_vectors_are_per_video_shares():
    ratings = pd.DataFrame(
        {"video": ["v2", "v1", "v1", "v1", "v1"],
         "reason": ["looks real", "blurry mouth", "mouth flickers slightly", "blurry eyes", GRADE5_STORED_REASON]}
    )
    vectors = category_vectors(ratings)
    assert vectors.columns.tolist() == list(CATEGORIES) and vectors.index.tolist() == ["v1", "v2"]
    assert vectors.loc["v1", "mouth"] == pytest.approx(0.5)
    assert vectors.loc["v1", "blur"] == pytest.approx(0.5)
    assert vectors.loc["v1", "mild"] == pytest.approx(0.25)
    assert vectors.loc["v2", "no-artifact"] == 1.0
    np.testing.assert_allclose(vectors[list(EXTENTS)].sum(axis=1), 1.0)
    assert category_shares(ratings["reason"])["blur"] == pytest.approx(0.4)


def test_word_frequencies_drop_stop_words():
    table = word_frequencies(["The mouth is blurry.", "the MOUTH flickers", "and the eyes"])
    assert table["word"].tolist() == ["mouth", "blurry", "eyes", "flickers"]
    assert table["count"].tolist() == [2, 1, 1, 1]
    assert table["share"].sum() == pytest.approx(1.0)
    assert tokens(["The mouth, it's blurry"]).tolist() == ["mouth", "blurry"]


def test_suspicious_reasons_flags():
    ratings = pd.DataFrame(
        {
            "video": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "annotator": ["a", "a", "a", "b", "b", "c", "c", "c", "c"],
            "score": [3, 3, 3, 5, 1, 5, 5, 5, 2],
            "reason": [
                "Face looks blurry overall",  # pasted three times by a
                "face looks blurry overall!",
                "Face  looks blurry overall",
                "Obvious severe blur on the mouth",  # grade 5 with a severe artifact
                "It looks completely real to me",  # grade 1 with no artifact
                GRADE5_STORED_REASON,  # the stored text is never "pasted"
                GRADE5_STORED_REASON,
                GRADE5_STORED_REASON,
                "blurry",  # too short
            ],
        }
    )
    flags = suspicious_reasons(ratings)
    assert flags["pasted"].tolist() == [True, True, True] + [False] * 6
    assert flags["contradicts_grade"].tolist() == [False, False, False, True, True, False, False, False, False]
    assert flags["too_short"].tolist() == [False] * 8 + [True]
    assert flags["suspicious"].sum() == 6
    assert not suspicious_reasons(ratings, max_videos_per_text=3)["pasted"].any()
