"""What every method shares: settings checked against their dataclass, and the validation draw."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytest

from annotation.errors import ApplicationError
from modeling.methods.base import settings_from_mapping, validation_split


@dataclass(frozen=True)
class Example:
    policy: str
    loss: Mapping[str, float]
    hidden: tuple[int, ...] = ()
    frozen: bool = True
    epochs: int = 30
    lr: float = 1e-4
    weights: str | None = "auto"
    input_size: int | None = None


def test_settings_take_their_fields_types_and_json_lists_become_tuples():
    s = settings_from_mapping(Example, {"method": "x", "config": "y", "description": "z", "policy": "all",
                                        "loss": {"mae": 1}, "hidden": [8, 4], "lr": 1, "weights": None, "input_size": 32},
                              what="Example")
    assert s == Example(policy="all", loss={"mae": 1}, hidden=(8, 4), lr=1, weights=None, input_size=32)
    assert isinstance(s.hidden, tuple)


@pytest.mark.parametrize("change,words", [
    ({"epoch": 3}, "Example has no setting epoch"),
    ({"frozen": "yes"}, "Example's frozen must be true or false, not 'yes'"),
    ({"frozen": 1}, "frozen must be true or false"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"epochs": True}, "epochs must be a whole number"),
    ({"lr": float("nan")}, "lr must be a number"),
    ({"lr": "1e-3"}, "lr must be a number"),
    ({"weights": 3}, "weights must be a string or null"),
    ({"input_size": 32.0}, "input_size must be a whole number or null"),
    ({"hidden": [512.5]}, "hidden must be a list (a whole number each)"),
    ({"hidden": 512}, "hidden must be a list"),
    ({"loss": {"mae": "1"}}, "loss must be an object (a number per key)"),
    ({"loss": ["mae"]}, "loss must be an object"),
])
def test_a_wrong_setting_is_refused_in_words(change, words):
    with pytest.raises(ApplicationError) as refused:
        settings_from_mapping(Example, {"policy": "all", "loss": {"mae": 1.0}, **change}, what="Example")
    assert refused.value.code == "bad_config" and words in refused.value.message


def test_a_setting_without_a_default_must_be_given():
    with pytest.raises(ApplicationError) as refused:
        settings_from_mapping(Example, {"policy": "all"}, what="Example")
    assert refused.value.code == "bad_config" and "needs the setting(s) loss" in refused.value.message


def test_the_validation_draw_is_a_seeded_fifth_with_two_on_each_side_at_least():
    train, val = validation_split(50, 0.2, seed=3)
    assert len(val) == 10 and sorted(train + val) == list(range(50)) and train == sorted(train) and val == sorted(val)
    assert (train, val) == validation_split(50, 0.2, seed=3) and val != validation_split(50, 0.2, seed=4)[1]
    # The rows a seeded permutation puts first, computed here independently.
    assert val == sorted(np.random.default_rng(3).permutation(50)[:10].tolist())
    assert [len(validation_split(n, 0.2, 0)[1]) for n in (4, 5, 6, 20)] == [2, 2, 2, 4]
    assert tuple(map(len, validation_split(3, 0.9, 0))) == (2, 1)  # two left to train on come first
    assert validation_split(10, 0.0, 0) == (list(range(10)), [])


def test_scores_are_calibrated_to_the_mos_scale_and_bounded_by_it():
    from modeling.methods.base import linear_calibration, mos_scaled

    raw = np.array([-2.0, 0.0, 2.0, 4.0])
    a, b = linear_calibration(raw, 0.5 * raw + 3.0)
    assert (a, b) == pytest.approx((0.5, 3.0))
    # -35 and 96.8 (a head extrapolating on frames unlike any training frame) end at the grades' ends.
    assert mos_scaled([-35.0, 0.0, 96.8], (a, b)).tolist() == pytest.approx([1.0, 3.0, 5.0])
    assert linear_calibration([1.0, 1.0], [2.0, 4.0]) == (0.0, 3.0)  # a constant score: the mean MOS
