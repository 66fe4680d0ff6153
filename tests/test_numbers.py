"""Numbers for people (experiments/presentation/numbers.py) and where they are used."""

import pytest

from experiments.presentation.numbers import human, times


@pytest.mark.parametrize(("value", "kw", "text"), [
    (15580.2, {}, "15,600"),          # not 1.558e+04
    (0.0029137, {}, "0.00291"),       # not 2.91e-03
    (732.31, {}, "732"),
    (1.5, {"sign": True}, "+1.50"),
    (-0.101, {"sign": True}, "-0.101"),
    (25955, {}, "25,955"),            # integers whole
    (123456789.0, {}, "123,000,000"),
    (float("nan"), {}, "n/a"),
    (0.0, {"sign": True}, "+0"),
    (1e-8, {}, "1.00e-08"),           # only tiny values keep scientific notation
    (None, {}, ""),
    (True, {}, "True"),
    (3.14159, {"sig": 4}, "3.142"),
])
def test_human(value, kw, text):
    assert human(value, **kw) == text


def test_times():
    assert times(59.68) == "59.7x" and times(1234.5) == "1,230x"


def test_index_growth_is_measured_from_the_end_of_the_first_year():
    from experiments.presentation.numbers import index_growth, index_summary

    steps = list(range(9))
    index = [0, 1, 2, 3, 4, 10, 20, 30, 40]
    assert index_growth(steps, index) == 10.0  # 40 over step 4's 4, not over step 0's 0
    assert index_growth(range(3), [0, 1, 2]) != index_growth(range(3), [0, 1, 2])  # NaN
    text = index_summary(steps, index)
    assert text.startswith("40 model units (MU) = 10.0x its level at the end of the first")
    assert "347x from 2001 to 2021" in text
    assert "no level at the end of the first year yet" in index_summary(range(3), [0, 1, 2])
