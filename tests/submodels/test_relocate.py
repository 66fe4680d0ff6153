import numpy as np
import pytest

from model.submodels.relocate import compute_location_value, compute_move_probabilities


def test_location_value():
    v = compute_location_value(np.array([1.0, np.e]), np.zeros(2), np.ones(2),
                               np.array([1.0, 2 * np.e - 1]), np.zeros(2), 0.0)
    assert v == pytest.approx([-np.log(2), -np.log(2)])


def test_move_probabilities():
    p = compute_move_probabilities(np.array([0.0, 1.0]), np.array([[0, 100.0], [100.0, 0]]),
                                   np.array([0, 0]), 0.5, 1.0, 0.3)
    assert p[0] == pytest.approx([0.450, 0.550], abs=1e-3)
    assert p[1] == pytest.approx([0.142, 0.858], abs=1e-3)
