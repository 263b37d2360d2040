"""The rating page's answer parser: typed values, and a message for each thing it refuses."""
import json

import pytest
from django.core.exceptions import ValidationError

from annotation.forms import GRADE_MISSING, RatingAnswer, rating_answer_parse


def parse(**fields) -> RatingAnswer:
    return rating_answer_parse({"token": "tok", "score": "3", "reason": "blurry mouth", **fields})


def test_what_the_rating_page_sends_is_typed():
    answer = parse(reason="  blurry mouth \n", plays="2", seeks="1", played_to_end="on", fullscreen="")
    assert answer == RatingAnswer(token="tok", score=3, reason="blurry mouth", played_to_end=True, plays=2, seeks=1,
                                  fullscreen=False)


def test_playback_facts_are_optional():
    assert rating_answer_parse({"token": "tok", "score": "5"}) == RatingAnswer(token="tok", score=5, reason="")


@pytest.mark.parametrize("value, expected", [("on", True), ("true", True), ("1", True), ("", False),
                                             ("false", False), ("False", False), ("0", False), ("off", False)])
def test_checkbox_values(value, expected):
    assert parse(played_to_end=value).played_to_end is expected
    assert parse(fullscreen=value).fullscreen is expected


@pytest.mark.parametrize("score", ["", "0", "6", "9", "3.0", " 3", "three"])
def test_a_grade_other_than_1_to_5_is_refused(score):
    with pytest.raises(ValidationError) as error:
        parse(score=score)
    assert error.value.messages == [GRADE_MISSING]


def test_a_missing_score_is_refused():
    with pytest.raises(ValidationError, match="five grades"):
        rating_answer_parse({"token": "tok", "reason": "blurry"})


@pytest.mark.parametrize("token", ["", "x" * 501])
def test_a_missing_or_oversized_token_is_refused(token):
    with pytest.raises(ValidationError, match="rating token"):
        parse(token=token)


def test_an_overlong_reason_is_refused_with_its_length():
    assert len(parse(reason="a" * 2000).reason) == 2000
    with pytest.raises(ValidationError, match="it has 2001"):
        parse(reason="a" * 2001)


@pytest.mark.parametrize("field, value", [("plays", "-1"), ("plays", "1.5"), ("plays", "x"), ("plays", "10001"),
                                          ("seeks", "100001"), ("seeks", "-3"), ("plays", "²")])
def test_playback_counters_must_be_whole_numbers_in_range(field, value):
    with pytest.raises(ValidationError, match="counters"):
        parse(**{field: value})


def test_counters_at_their_limits_pass():
    answer = parse(plays="10000", seeks="100000")
    assert (answer.plays, answer.seeks) == (10_000, 100_000)


def test_numbers_booleans_and_nulls_as_a_script_would_send_them():
    sent = json.loads('{"token": "tok", "score": 4, "reason": "blurry mouth", "plays": 2, "seeks": 0,'
                      ' "played_to_end": true, "fullscreen": false, "csrfmiddlewaretoken": null}')
    assert rating_answer_parse(sent) == RatingAnswer(token="tok", score=4, reason="blurry mouth", played_to_end=True,
                                                     plays=2, seeks=0, fullscreen=False)
    assert rating_answer_parse({"token": "tok", "score": 2, "reason": None}).reason == ""


@pytest.mark.parametrize("field, value", [("score", 3.0), ("score", [3]), ("reason", {"text": "x"}), ("plays", 1.5),
                                          ("token", ["tok"])])
def test_a_field_that_is_neither_text_nor_a_number_is_refused_by_name(field, value):
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        parse(**{field: value})
