import numpy as np
import pytest

from model.submodels.invest import compute_deals, compute_next_fund_size, compute_reach


def test_reach_home_bias_and_border():
    d = np.array([[0, 200.0], [200.0, 0]])
    prov = np.array([0, 1])
    r = compute_reach(np.array([0]), d, prov, 200.0, 0.4, np.array([0.0, 0.0]))
    assert r[0] == pytest.approx([1.0, np.exp(-1) * 0.4])
    r = compute_reach(np.array([0]), d, prov, 200.0, 0.4, np.array([1.0, 0.0]))
    assert r[0] == pytest.approx([1.0, np.exp(-1)])


def test_next_fund_size_boston_cycle():
    s = compute_next_fund_size(np.array([100.0, 100.0, 100.0]), np.array([80.0, 80.0, 0.0]),
                               np.array([160.0, 0.0, 0.0]), 1.0, 3.0)
    assert s == pytest.approx([200.0, 100 / 3, 100 / 3])


def test_deals_best_signal_first_within_money():
    f = compute_deals(np.array([0, 0, 0]), np.array([1.0, 3.0, 2.0]), np.array([2.0, 2.0, 2.0]),
                      np.array([5.0]))
    assert f.tolist() == [False, True, True]
    f = compute_deals(np.array([1, 0, 1]), np.array([1.0, 3.0, 2.0]), np.array([2.0, 2.0, 2.0]),
                      np.array([0.0, 2.0]))
    assert f.tolist() == [False, False, True]


def test_otc_market_raises_exits_of_young_backed_firms():
    from model.model import InnovationModel
    from tests.conftest import small_grid

    def exits(otc):
        m = InnovationModel(small_grid(steps=12, policy={"otc_market": otc},
                                       params={"n_funds": 20, "fund_size": 20000.0}), seed=4)
        m.run()
        return m.region_frame()["exits"].sum()

    assert exits(1.0) > exits(0.0) + 5


def test_reach_is_cached_and_rebuilt_when_policy_changes():
    from model.model import InnovationModel
    from model.submodels.invest import compute_reach
    from tests.conftest import small_grid

    sc = small_grid(steps=8, rules=[{"from_year": 2002, "vc_cross_region": 1.0}])
    m = InnovationModel(sc, seed=2)
    m.step()
    first = m.world.reach
    m.step()
    assert m.world.reach is first  # nothing changed: reused
    for _ in range(3):
        m.step()
    w = m.world
    assert w.reach is not first
    expected = compute_reach(w.funds.view("home"), w.distances(), w.geo.province,
                             w.params.vc_reach_km, w.params.barrier_vc,
                             w.policy["vc_cross_region"])
    np.testing.assert_array_equal(w.reach[1], expected)


def test_reach_with_a_partly_lifted_barrier():
    d = np.array([[0, 200.0], [200.0, 0]])
    prov = np.array([0, 1])
    r = compute_reach(np.array([0]), d, prov, 200.0, 0.4, np.array([0.0, 0.0]),
                      np.array([[0.0, 0.5], [0.5, 0.0]]))
    assert r[0] == pytest.approx([1.0, np.exp(-1) * (1 - 0.6 * 0.5)])
