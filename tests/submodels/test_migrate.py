import numpy as np
import pytest

from model.params import Params
from model.submodels.migrate import (
    compute_destination_utility,
    compute_migration_probabilities,
    compute_offer_term,
)


def test_destination_utility():
    prm = Params().replace(beta_wage=2.0, beta_opportunity=1.0, beta_amenity=1.0, beta_culture=1.0,
                           beta_cost=1.0, beta_subsidy=1.0)
    v = compute_destination_utility(np.ones(1), np.zeros(1), np.full(1, 0.5), np.full(1, 0.5),
                                    np.ones(1), np.zeros(1), prm)
    assert v[0] == pytest.approx(1.0)
    v2 = compute_destination_utility(np.ones(2), np.zeros(2), np.zeros(2), np.zeros(2),
                                     np.ones(2), np.array([0.0, 1.0]), prm)
    assert v2[1] - v2[0] == pytest.approx(1.0)  # a subsidy of one mean wage


def test_migration_probabilities():
    prm = Params().replace(beta_distance=1.0, beta_stay=0.0, beta_barrier=2.0)
    d = np.array([[0, 100.0], [100.0, 0]])
    p = compute_migration_probabilities(np.zeros(2), d, np.array([0, 0]), prm)
    assert p[0] == pytest.approx([0.731, 0.269], abs=1e-3)
    p = compute_migration_probabilities(np.zeros(2), d, np.array([0, 1]), prm)
    assert p[0, 1] == pytest.approx(np.exp(-3) / (1 + np.exp(-3)))
    # an offer term of 1 in both cities: in v for arrivals, taken off staying
    p = compute_migration_probabilities(np.ones(2), d, np.array([0, 0]), prm,
                                        stay_offer=np.ones(2))
    assert p[0] == pytest.approx([0.5, 0.5])


def test_offer_term_hand_case():
    assert compute_offer_term(np.array([2.0, 0.0]), np.array([1.0, 3.0]), 0.5) == (
        pytest.approx([0.5, 0.0]))


def test_offers_raised_in_every_city_move_more_talent_not_less():
    """Only arrivals are paid, so an offer raised everywhere attracts and does not retain."""
    from model.init import build_world
    from model.submodels.migrate import migrate
    from tests.conftest import small_grid

    def arrivals(offer):
        sc = small_grid(params={"p_search": 1.0, "beta_subsidy": 1.0})
        rng = np.random.default_rng(2)
        pol, _ = sc.policy_at(2001)
        w = build_world(sc.params, sc.geography, pol, rng)
        w.city.talent_offer[:] = offer * w.city.wage.mean()
        migrate(w, rng)
        return w.tick["talent_in"].sum()

    assert arrivals(2.0) > 1.5 * arrivals(0.0)


def test_migration_conserves_talent_pays_subsidies_and_records_flows():
    from model.init import build_world
    from model.submodels.migrate import migrate
    from tests.conftest import small_grid

    sc = small_grid(params={"p_search": 1.0, "beta_stay": 0.0, "beta_subsidy": 5.0})
    rng = np.random.default_rng(2)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    target = 12
    w.city.talent_pool[:] = 0.0
    w.city.talent_pool[target] = 1e9
    w.city.talent_offer[:] = 0.0
    w.city.talent_offer[target] = 3.0
    before = w.talent_count()
    migrate(w, rng)
    after = w.talent_count()
    assert after.sum() == before.sum()
    flows = w.flows["talent"]
    assert np.array_equal(after - before, flows.sum(axis=0) - flows.sum(axis=1))
    arrivals = w.tick["talent_in"][target]
    assert arrivals > 0
    assert w.tick["talent_subsidy_paid"][target] == pytest.approx(3.0 * arrivals)
    assert w.city.talent_pool[target] == pytest.approx(1e9 - 3.0 * arrivals)
    movers = w.talent.view("moves") > 0
    assert (w.talent.view("employer")[movers] == -1).all()
    # the subsidised city draws more than its share
    assert after[target] > before[target]
