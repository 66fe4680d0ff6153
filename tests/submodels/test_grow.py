import numpy as np
import pytest

from model.submodels.grow import compute_gdp_growth, compute_rent, compute_wage


def test_gdp_growth_favours_leaders():
    g = compute_gdp_growth(np.array([1.0, 3.0]), 0.02, 1.0)
    assert g[0] == pytest.approx(0.02 * (1 + np.tanh(np.log(0.5))))
    assert g[1] == pytest.approx(0.02 * (1 + np.tanh(np.log(1.5))))
    assert (compute_gdp_growth(np.zeros(3), 0.02, 1.0) == 0.02).all()


def test_wage():
    w = compute_wage(np.array([1.0, 4.0]), np.ones(2), 0.5)
    assert w == pytest.approx([(1 / 2.5) ** 0.5, (4 / 2.5) ** 0.5])


def test_rent_congestion():
    r = compute_rent(np.array([1.0, 3.0]), np.ones(2), np.ones(2), 1.0, 1.0)
    assert r == pytest.approx([0.5, 1.5])
