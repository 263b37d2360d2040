"""Reason taxonomy, word counts and suspicious-reason flags on hand-written descriptions."""
from __future__ import annotations

import re

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
    corpus,
    normalize,
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


def plain_normalize(text) -> str:
    """The normalization rule written per text, independently of the corpus's joined-string pass."""
    if text is None or text != text:
        return ""
    return re.sub(r"[^a-z0-9']+", " ", str(text).lower().replace("\u2019", "'")).strip()


def test_corpus_normalizes_each_text_like_the_rule_and_shares_one_matching():
    texts = pd.Series(
        ["The MOUTH is blurry!", "the mouth is blurry", "Line one\nline two", "\u00c9t\u00e9 \u2014 d\u2019accord",
         None, np.nan, "", "  ", "Obvious\r\nseam at the chin", "blurry mouth", "The MOUTH is blurry!", 42],
        index=np.arange(12) * 3 + 5, dtype=object,
    )
    corpus_ = corpus(texts)
    assert normalize(texts).tolist() == [plain_normalize(t) for t in texts]
    assert normalize(texts).index.equals(texts.index)
    # Texts that normalize alike are one distinct text; the counts add up to the descriptions.
    assert len(corpus_.texts) == len({plain_normalize(t) for t in texts}) and corpus_.counts.sum() == len(texts)
    assert corpus_.word_counts[corpus_.codes].tolist() == [len(plain_normalize(t).split()) for t in texts]
    # Every statistic gives the same answer from the corpus as from the texts themselves.
    pd.testing.assert_frame_equal(categorize(corpus_), categorize(texts))
    pd.testing.assert_frame_equal(word_frequencies(corpus_), word_frequencies(texts))
    pd.testing.assert_series_equal(category_shares(corpus_), category_shares(texts))
    pd.testing.assert_series_equal(tokens(corpus_), tokens(texts))
    ratings = pd.DataFrame({"video": [1, 2, 3] * 4, "annotator": ["a", "b"] * 6, "score": [1, 3, 5] * 4, "reason": texts})
    pd.testing.assert_frame_equal(category_vectors(ratings, texts=corpus_), category_vectors(ratings))
    pd.testing.assert_frame_equal(suspicious_reasons(ratings, texts=corpus_), suspicious_reasons(ratings))


def test_word_frequencies_weight_each_distinct_text_by_its_repeats():
    texts = ["blurry mouth"] * 3 + ["Blurry eyes!"] + ["mouth"] * 2
    table = word_frequencies(texts).set_index("word")["count"]
    assert table.to_dict() == {"blurry": 4, "mouth": 5, "eyes": 1}


def test_a_corpus_of_other_rows_is_refused():
    ratings = pd.DataFrame({"video": [1, 2], "annotator": ["a", "b"], "score": [3, 4], "reason": ["blur", "seam"]})
    with pytest.raises(ValueError, match="1 descriptions for 2 ratings"):
        category_vectors(ratings, texts=corpus(["blur"]))
    with pytest.raises(ValueError, match="1 descriptions for 2 ratings"):
        suspicious_reasons(ratings, texts=corpus(["blur"]))
