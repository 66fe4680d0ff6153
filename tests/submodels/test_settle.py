import numpy as np
import pytest

from model.model import InnovationModel
from model.submodels.settle import (
    MAX_RESIDENT_OUTFLOW,
    compute_resident_inflow,
    compute_resident_moves,
)
from tests.conftest import small_grid


def _two(gdp1=100 * np.e, dist=100.0):
    return (np.array([100.0, 100.0]), np.array([100.0, gdp1]), np.array([[0, dist], [dist, 0]]),
            np.zeros((2, 2)))


def test_hand_computed_two_cities():
    pop, gdp, d, b = _two()
    m = compute_resident_moves(pop, gdp, d, b, 0.16, 300.0, 1.0)
    assert m == pytest.approx(np.array([[0.0, 4.0], [0.0, 0.0]]))
    capped = compute_resident_moves(pop, gdp, d, b, 0.4, 300.0, 1.0)  # 0.1 > the cap
    assert capped == pytest.approx(np.array([[0.0, MAX_RESIDENT_OUTFLOW * 100], [0.0, 0.0]]))


def test_moves_go_only_to_better_off_cities_and_conserve_residents():
    rng = np.random.default_rng(3)
    n = 6
    pop = rng.uniform(10, 1000, n)
    gdp = pop * rng.uniform(0.5, 3, n)
    xy = rng.uniform(0, 500, (n, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    prov = rng.integers(0, 2, n)
    b = (prov[:, None] != prov[None, :]).astype(float)
    m = compute_resident_moves(pop, gdp, d, b, 0.2, 200.0, 1.0)
    y = gdp / pop
    assert (m >= 0).all() and np.all(np.diag(m) == 0)
    assert np.all(m[y[:, None] >= y[None, :]] == 0)  # never toward a city no better off
    new = pop - m.sum(axis=1) + m.sum(axis=0)
    assert new.sum() == pytest.approx(pop.sum()) and (new > 0).all()


def test_nearer_and_same_province_destinations_draw_more():
    pop = np.array([100.0, 100.0, 100.0])
    gdp = np.array([100.0, 200.0, 200.0])  # city 0 is poorer than the two equal others
    d = np.array([[0, 100, 300], [100, 0, 200], [300, 200, 0]], dtype=float)
    m = compute_resident_moves(pop, gdp, d, np.zeros((3, 3)), 0.2, 200.0, 1.0)
    assert m[0, 1] > m[0, 2] > 0
    b = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)  # city 1 across a border
    d = np.array([[0, 100, 100], [100, 0, 100], [100, 100, 0]], dtype=float)
    m = compute_resident_moves(pop, gdp, d, b, 0.2, 200.0, 1.0)
    assert m[0, 1] / m[0, 2] == pytest.approx(np.exp(-1.0))


def test_outflow_is_capped():
    pop, gdp, d, b = _two(gdp1=100 * np.exp(5.0))
    m = compute_resident_moves(pop, gdp, d, b, 1.0, 300.0, 1.0)  # uncapped: 1.25 of residents
    assert m.sum(axis=1)[0] == pytest.approx(MAX_RESIDENT_OUTFLOW * 100)


def test_zero_mobility_keeps_the_census_and_mobility_moves_and_conserves():
    still = InnovationModel(small_grid(steps=8), seed=4)
    start = still.city.population.copy()
    still.run()
    assert np.array_equal(still.city.population, start)
    assert (still.cities_frame()["residents"].to_numpy().reshape(-1, len(start))
            == start).all()
    moving = InnovationModel(small_grid(steps=8, params={"resident_mobility": 0.3}), seed=4)
    moving.run()
    pop = moving.city.population
    assert not np.allclose(pop, start) and pop.sum() == pytest.approx(start.sum())
    assert moving.region_frame()["residents_moved"].iloc[1:].gt(0).all()


def test_inflow_hand_computed():
    pop, gdp = np.array([100.0, 100.0]), np.array([100.0, 400.0])
    assert compute_resident_inflow(pop, gdp, 0.04, 1.0) == pytest.approx([0.4, 1.6])
    assert compute_resident_inflow(pop, gdp, 0.04, 0.0) == pytest.approx([1.0, 1.0])
    assert compute_resident_inflow(pop, gdp, 0.0, 1.0) == pytest.approx([0.0, 0.0])
    # equal output per head: newcomers split as the residents, whatever the elasticity
    assert compute_resident_inflow(np.array([100.0, 300.0]), np.array([100.0, 300.0]), 0.04,
                                   3.0) == pytest.approx([1.0, 3.0])


def test_inflow_grows_the_region_by_the_newcomers_toward_the_better_off():
    base = InnovationModel(small_grid(steps=8), seed=4)
    start = base.city.population.copy()
    grown = InnovationModel(small_grid(steps=8, params={"resident_inflow": 0.02,
                                                        "resident_inflow_elasticity": 2.0}),
                            seed=4)
    grown.run()
    pop, r = grown.city.population, grown.region_frame()
    arrived = r["residents_arrived"]
    # every quarter brings rate / 4 of the residents then: 0.5% compounding over 8 quarters
    assert arrived.iloc[1:].gt(0).all() and arrived.iloc[0] == 0
    assert pop.sum() == pytest.approx(start.sum() + arrived.sum())
    assert pop.sum() == pytest.approx(start.sum() * 1.005 ** 8)
    # the better-off cities (output per head at the start) gained more than their share
    y0 = base.city.gdp / start
    rich = y0 >= np.median(y0)
    assert pop[rich].sum() / pop.sum() > start[rich].sum() / start.sum()
