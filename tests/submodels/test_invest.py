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


def test_deals_fund_the_marginal_deal_with_the_probability_of_what_is_left():
    city, signal, ticket = np.array([0, 0, 0]), np.array([1.0, 3.0, 2.0]), np.full(3, 2.0)
    # 1 of the marginal deal's ticket of 2 is left: funded when its draw is below 0.5
    lo = compute_deals(city, signal, ticket, np.array([5.0]), np.array([0.49, 0.9, 0.9]))
    hi = compute_deals(city, signal, ticket, np.array([5.0]), np.array([0.51, 0.0, 0.0]))
    assert lo.tolist() == [True, True, True] and hi.tolist() == [False, True, True]
    # a share smaller than one ticket (city 1: 0.5 of 2) -> its best candidate (2) is
    # funded when its draw is below 0.25; city 0 has no money and funds nothing whatever
    # its draw
    args = (np.array([1, 0, 1]), np.array([1.0, 3.0, 2.0]), np.full(3, 2.0),
            np.array([0.0, 0.5]))
    assert compute_deals(*args, np.array([0.0, 0.0, 0.2])).tolist() == [False, False, True]
    assert compute_deals(*args, np.array([0.0, 0.0, 0.3])).tolist() == [False, False, False]
    f = compute_deals(np.array([0, 1]), np.array([1.0, 1.0]), np.full(2, 2.0),
                      np.array([0.5, 1.0]), np.array([0.3, 0.3]))
    assert f.tolist() == [False, True]


def test_deals_spend_a_city_s_money_on_average():
    rng = np.random.default_rng(7)
    city = np.zeros(4, dtype=np.int64)
    signal, ticket, money = np.arange(4.0), np.array([3.0, 2.0, 2.0, 2.0]), np.array([4.5])
    spent = [ticket[compute_deals(city, signal, ticket, money, rng.random(4))].sum()
             for _ in range(20000)]
    # best first: tickets 2 and 2 fit (4), the next (2) is the marginal deal, 0.5 left
    assert np.mean(spent) == pytest.approx(4.5, abs=0.02)
    assert set(np.unique(spent)) == {4.0, 6.0}


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
