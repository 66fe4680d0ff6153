import numpy as np
import pytest

from model.init import build_world
from model.params import Params
from model.submodels.innovate import (
    MIN_USER_COST,
    compute_expected_revenue,
    compute_external_share,
    compute_innovation_rate,
    compute_innovation_trials,
    compute_innovation_values,
    compute_rd_user_cost,
    compute_zone_factor,
    innovate,
)
from model.submodels.spill import spill
from tests.conftest import small_grid


def test_expected_revenue():
    r = compute_expected_revenue(np.array([10.0]), np.array([3.0]), 1.6, 0.5)
    assert r[0] == pytest.approx(32.0)


def test_innovation_rate_hand_case():
    prm = Params().replace(innov_rate=0.02, elast_rd=0.5, elast_talent=0.5, elast_capability=0.2,
                           elast_knowledge=0.3, rel_intermediary=1.0)
    one = np.ones(1)
    lam = compute_innovation_rate(4 * one, 4 * one, 0 * one, one, 0 * one, prm)
    assert lam[0] == pytest.approx(0.08)
    lam2 = compute_innovation_rate(4 * one, 4 * one, 0 * one, one, one, prm)
    assert lam2[0] == pytest.approx(0.16)  # full intermediary coverage doubles it
    assert compute_innovation_rate(0 * one, 4 * one, 0 * one, one, 0 * one, prm)[0] == 0


def test_innovation_trials_hand_case():
    lam, staff = np.array([2.0, 2.0, 1.0]), np.array([1.0, 4.0, 0.0])
    trials, p = compute_innovation_trials(lam, staff, 1.0)
    assert trials.tolist() == [1, 4, 0]
    assert np.allclose(p, [1 - np.exp(-2.0), 1 - np.exp(-0.5), 0.0])  # no staff: no draw
    trials, p = compute_innovation_trials(lam, staff, 2.5)
    assert trials.tolist() == [2, 10, 0]
    assert np.allclose(p, [1 - np.exp(-1.0), 1 - np.exp(-0.2), 0.0])


def test_innovation_capacity_sets_the_ceiling_of_the_expected_count():
    lam, staff = np.array([0.01, 3.0, 30.0]), np.ones(3) * 2.0
    means = {}
    for capacity in (1.0, 5.0, 1000.0):
        trials, p = compute_innovation_trials(lam, staff, capacity)
        means[capacity] = trials * p
        assert np.all(means[capacity] <= capacity * staff)
    # a rate small against the trials is kept at any capacity (Poisson-like) ...
    assert means[1.0][0] == pytest.approx(0.01, rel=0.01)
    # ... a large one saturates at one per employee at capacity 1 and not at 1,000
    assert means[1.0][2] == pytest.approx(2.0, rel=1e-6)
    assert means[1000.0][2] == pytest.approx(30.0, rel=0.01)
    assert means[1.0][1] < means[5.0][1] < means[1000.0][1] <= 3.0


def test_innovation_values_mean_and_ip(rng):
    prm = Params().replace(innov_value_sigma=1.0, rel_ip_value=0.5)
    counts = np.array([200_000, 0, 100_000])
    owner, value = compute_innovation_values(counts, np.array([2.0, 5.0, 2.0]),
                                             np.array([1.0, 1.0, 0.0]), prm, rng)
    assert np.bincount(owner).tolist() == [200_000, 0, 100_000]
    assert value[owner == 0].mean() == pytest.approx(2.0, rel=0.03)
    assert value[owner == 2].mean() == pytest.approx(1.0, rel=0.03)  # no IP: half the value


def test_external_share():
    s = compute_external_share(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), 0.5)
    assert s[0] == pytest.approx(1 - 0.5 ** 0.5)
    assert s[1] == 0 and s[2] == 0


def test_rd_user_cost_hand_case_and_floor():
    u = compute_rd_user_cost(0.5, np.array([1.0, 0.5]), 0.15, np.array([0.0, 1.0]))
    assert np.allclose(u, [0.5, 0.6])
    assert compute_rd_user_cost(1.0, np.ones(1), 0.5, np.full(1, 2.0))[0] == MIN_USER_COST


def _rd_after_one_quarter(policy=None, params=None, pool=1e9):
    sc = small_grid(policy=policy, params=params)
    rng = np.random.default_rng(1)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    w.firms.cash[:] = 1e6  # no cash constraint: R&D is what firms want to spend
    w.city.rd_pool[:] = pool
    spill(w, np.random.default_rng(2))
    innovate(w, np.random.default_rng(2))
    return w


def test_rd_demand_follows_its_user_cost():
    # elasticity 1: full-cost R&D doubles when a fully funded 50% subsidy halves its cost
    full = _rd_after_one_quarter(params={"rd_subsidy_max": 0.0})
    half = _rd_after_one_quarter(params={"rd_subsidy_max": 0.5})
    assert half.tick["rd_spent"].sum() == pytest.approx(2 * full.tick["rd_spent"].sum())
    assert half.tick["rd_subsidy"].sum() == pytest.approx(half.tick["rd_spent"].sum() / 2)
    # a 100% super-deduction at a 15% tax rate cuts the cost to 0.85
    relief = _rd_after_one_quarter(params={"rd_subsidy_max": 0.0}, policy={"tax_relief": 1.0})
    assert relief.tick["rd_spent"].sum() == pytest.approx(full.tick["rd_spent"].sum() / 0.85)
    # price-inelastic firms ignore the support
    flat = _rd_after_one_quarter(params={"rd_price_elasticity": 0.0})
    assert flat.tick["rd_spent"].sum() == pytest.approx(full.tick["rd_spent"].sum())


def test_rd_coverage_is_the_share_of_claims_paid():
    w = _rd_after_one_quarter(pool=0.0)
    assert np.all(w.city.rd_coverage[w.tick["rd_spent"] > 0] == 0.0)
    w = _rd_after_one_quarter(pool=1e9)
    assert np.all(w.city.rd_coverage == 1.0)
    # next quarter, firms in a city that paid nothing face the full cost again
    u = compute_rd_user_cost(0.5, np.array([0.0]), 0.15, np.zeros(1))
    assert u[0] == 1.0


def test_collab_probability_grows_with_external_share_and_network():
    from model.submodels.innovate import compute_collab_probability

    p = compute_collab_probability(np.array([1.0, 3.0]), np.array([1.0, 1.0]),
                                   np.array([0.0, 0.5]), 0.1, 2.0)
    assert p == pytest.approx([0.1, 0.1])
    more_ext = compute_collab_probability(np.array([1.0]), np.array([3.0]), np.zeros(1), 0.1, 2.0)
    assert more_ext[0] == pytest.approx(0.15)
    net = compute_collab_probability(np.ones(1), np.ones(1), np.array([1.0]), 0.1, 2.0)
    assert net[0] == pytest.approx(0.3)
    assert compute_collab_probability(np.ones(1), np.ones(1), np.array([100.0]), 0.5, 50)[0] \
        == 0.9  # capped


def test_expected_revenue_follows_the_city_factor():
    from model.submodels.innovate import compute_expected_revenue

    r = compute_expected_revenue(np.array([10.0]), np.array([3.0]), 1.6, 0.5, np.array([1.5]))
    assert r == pytest.approx([48.0])


def test_a_higher_innovation_capacity_lifts_only_saturated_firms():
    def count(**params):
        w = _rd_after_one_quarter(params=params)
        return w.firms.innovations[:w.firms.n].sum(), w.firms.staff[:w.firms.n].sum()

    # a rate far below one per employee: the ceiling does not bind, capacity changes little
    low1, staff = count(innov_rate=0.02)
    low50, _ = count(innov_rate=0.02, innovation_capacity=50.0)
    assert 10 <= low1 < staff / 10
    assert abs(low50 - low1) <= 4 * np.sqrt(low1)
    # a saturating rate: at capacity 1 the count is at most the staff; at 50 it is far above
    high1, _ = count(innov_rate=10.0)
    high50, _ = count(innov_rate=10.0, innovation_capacity=50.0)
    assert high1 <= staff
    assert high50 > 3 * high1


def test_zone_factor_hand_case():
    assert compute_zone_factor(np.array([0, 1, 3]), 0.2) == pytest.approx([1.0, 1.2, 1.4])
    assert compute_zone_factor(np.array([0, 2]), 0.0) == pytest.approx([1.0, 1.0])


def test_zones_raise_their_own_citys_innovation_rate(monkeypatch):
    import model.submodels.innovate as mod

    real = mod.compute_innovation_trials
    seen = []

    def spy(lam, staff, capacity):
        seen.append(lam.copy())
        return real(lam, staff, capacity)

    monkeypatch.setattr(mod, "compute_innovation_trials", spy)

    def rates(gain, zones_in_city0):
        seen.clear()
        sc = small_grid(params={"zone_innovation_gain": gain})
        pol, _ = sc.policy_at(2001)
        w = build_world(sc.params, sc.geography, pol, np.random.default_rng(1))
        w.firms.cash[:] = 1e6
        w.policy["hightech_zones"] = np.zeros(w.geo.n, dtype=int)
        w.policy["hightech_zones"][0] = zones_in_city0
        spill(w, np.random.default_rng(2))
        innovate(w, np.random.default_rng(2))
        return seen[0], w.firms.city[np.flatnonzero(w.firms.view("alive"))]

    base, city = rates(0.0, 3)
    lifted, _ = rates(0.5, 3)
    none, _ = rates(0.5, 0)
    assert (city == 0).any() and (city != 0).any()
    # city 0's firms innovate at (1 + 0.5 * log2(4)) = 2 times the rate; the others unchanged
    assert lifted[city == 0] == pytest.approx(2.0 * base[city == 0])
    assert lifted[city != 0] == pytest.approx(base[city != 0])
    # no zone, no lift
    assert none == pytest.approx(base)
