import numpy as np
import pytest

from model.submodels.grow import (
    compute_capital,
    compute_human_capital,
    compute_income_level,
    compute_investment,
    compute_output,
    compute_rent,
    compute_tfp,
    compute_tfp_start,
    compute_wage,
    compute_zone_gain,
    zone_target,
)


def test_output_hand_computed():
    y = compute_output(np.array([2.0]), np.array([9.0]), np.array([16.0]), np.array([0.0]),
                       0.5, 0.25)
    assert y == pytest.approx([12.0])


def test_tfp_start_reproduces_the_data():
    gdp = np.array([12.0, 3.0])
    cap, pop, tal = np.array([9.0, 2.0]), np.array([16.0, 5.0]), np.array([0.0, 5.0])
    a = compute_tfp_start(gdp, cap, pop, tal, 0.5, 0.25)
    assert a[0] == pytest.approx(2.0)
    assert compute_output(a, cap, pop, tal, 0.5, 0.25) == pytest.approx(gdp)


def test_tfp_hand_computed():
    a = compute_tfp(np.array([1.0, 4.0]), np.ones(2), np.full(2, 2.0), np.array([0.5, 1.0]),
                    0.2, 0.1)
    assert a == pytest.approx([2 ** 0.2 * 4 ** 0.05, 4 * 2 ** 0.2])


def test_tfp_has_diminishing_returns_to_knowledge_and_laggards_catch_up():
    a = compute_tfp(np.ones(3), np.ones(3), np.array([1.0, 2.0, 4.0]), np.zeros(3), 0.3, 0.0)
    assert a[1] < 2 and a[2] / a[1] == pytest.approx(a[1])  # doubling U: x 2^0.3 each time
    a = np.array([1.0, 2.0, 8.0])
    for _ in range(200):
        a = compute_tfp(a, np.ones(3), np.ones(3), np.ones(3), 0.3, 0.02)
    assert a[2] == 8.0 and 1.0 < a[0] < a[1] < 8.0  # the gap closes, the frontier stays


def test_human_capital():
    assert compute_human_capital(np.array([1.0, 3.0]), np.ones(2)) == pytest.approx([1 / 3,
                                                                                      0.6])


def test_capital_accumulation():
    assert compute_capital(np.array([100.0]), np.array([4.0]), 0.025) == pytest.approx([101.5])


def test_capital_converges_to_its_steady_state():
    c, y = np.array([10.0]), np.array([40.0])
    for _ in range(2000):
        c = compute_capital(c, compute_investment(y, 0.4, np.array([-1]), 0.0), 0.025)
    assert c == pytest.approx(0.4 * 40 / 4 / 0.025)


def test_investment_hand_case_and_favoritism_keeps_the_total():
    y = np.array([40.0, 40.0, 40.0])
    assert compute_investment(y, 0.4, np.array([1, -1, -1]), 0.25) == pytest.approx([3, 5, 4])
    assert compute_investment(y, 0.4, np.array([1, -1, -1]), 0.0) == pytest.approx([4, 4, 4])
    rng = np.random.default_rng(5)
    y = rng.uniform(1, 100, 9)
    cap = np.array([2, 2, -1, 5, 5, -1, -1, 8, -1])  # three provinces with capitals 2, 5, 8
    inv = compute_investment(y, 0.4, cap, 0.3)
    assert inv.sum() == pytest.approx(0.1 * y.sum())
    assert (inv[cap >= 0] == pytest.approx(0.7 * 0.1 * y[cap >= 0]))
    assert inv[2] == pytest.approx(0.1 * (y[2] + 0.3 * (y[0] + y[1])))


def test_capital_of_the_provinces():
    import dataclasses

    from model.geography import yrd
    geo = yrd()
    cap = geo.capital_of
    assert [geo.cities[i] for i in np.flatnonzero(geo.capital)] == ["Shanghai", "Nanjing",
                                                                     "Hangzhou", "Hefei"]
    assert cap[geo.index("Suzhou")] == geo.index("Nanjing")
    assert cap[geo.index("Wenzhou")] == geo.index("Hangzhou")
    assert cap[geo.index("Wuhu")] == geo.index("Hefei")
    assert (cap[geo.capital] == -1).all()
    assert (dataclasses.replace(geo, capital=None).capital_of == -1).all()  # grids


def test_favoritism_moves_capital_to_the_capitals():
    import dataclasses

    from model.model import InnovationModel
    from model.scenario import load_scenario

    sc = load_scenario("yrd_baseline.toml")
    runs = {}
    for phi in (0.0, 0.2):
        s = dataclasses.replace(sc, params=dataclasses.replace(sc.params,
                                                                 capital_favoritism=phi))
        m = InnovationModel(s, seed=1)
        m.run(8)
        runs[phi] = m.city.capital.copy()
    caps = m.geo.capital & (np.bincount(m.geo.province)[m.geo.province] > 1)
    assert (runs[0.2][caps] > runs[0.0][caps]).all()  # Nanjing, Hangzhou, Hefei gain
    assert (runs[0.2][m.geo.capital_of >= 0] < runs[0.0][m.geo.capital_of >= 0]).all()


def test_income_level():
    assert compute_income_level(np.array([2.0, 4.0]), np.ones(2), 2.0) == pytest.approx(1.5)


def test_wage_follows_level_and_relative_income():
    w = compute_wage(np.array([1.0, 4.0]), np.ones(2), 0.5, 2.0)
    assert w == pytest.approx([2 * (1 / 2.5) ** 0.5, 2 * (4 / 2.5) ** 0.5])


def test_rent_congestion():
    r = compute_rent(np.array([1.0, 3.0]), np.ones(2), np.ones(2), 1.0, 1.0)
    assert r == pytest.approx([0.5, 1.5])
    assert compute_rent(np.array([1.0, 3.0]), np.ones(2), np.ones(2), 1.0, 1.0, 2.0) == \
        pytest.approx([1.0, 3.0])


def test_zone_target_hand_computed():
    assert zone_target(np.array([0, 1, 3]), 0.1) == pytest.approx([0.0, 0.1, 0.2])


def test_zone_gain_ramps_linearly_and_stops_at_its_target():
    z = compute_zone_gain(np.array([0.0, 0.1]), np.array([1, 1]), 0.1, 5.0)
    assert z == pytest.approx([0.005, 0.1])
    z = np.zeros(1)
    path = []
    for _ in range(30):
        z = compute_zone_gain(z, np.array([1]), 0.1, 5.0)
        path.append(z[0])
    assert path[19] == pytest.approx(0.1) and path[18] == pytest.approx(0.095)  # 20 quarters
    assert path[-1] == pytest.approx(0.1)
    # a zone taken away (a counterfactual scenario) ramps the gain down the same way
    assert compute_zone_gain(np.array([0.1]), np.array([0]), 0.1, 5.0) == pytest.approx([0.095])
    assert compute_zone_gain(np.zeros(2), np.array([1, 3]), 0.1, 0.0) == pytest.approx([0.1,
                                                                                          0.2])
