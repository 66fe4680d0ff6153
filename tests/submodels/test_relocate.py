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
    # an offer term of 1 in city 1, taken off staying (a firm that stays is not paid it)
    p = compute_move_probabilities(np.array([0.0, 1.0]), np.array([[0, 100.0], [100.0, 0]]),
                                   np.array([0, 0]), 0.5, 1.0, 0.3, stay_offer=np.array([0, 1.0]))
    assert p[1] == pytest.approx([0.310, 0.690], abs=1e-3)
    assert p[0] == pytest.approx([0.450, 0.550], abs=1e-3)  # arriving in 1 keeps its offer


def _relocation_quarter(competition, offer=2.0):
    from model.init import build_world
    from model.submodels.relocate import relocate
    from tests.conftest import small_grid

    sc = small_grid(params={"p_relocate_review": 1.0, "competition_intensity": competition,
                            "relocate_threshold": 0.0})
    rng = np.random.default_rng(4)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    w.city.talent_offer[:] = offer
    w.city.talent_pool[:] = 0.0
    budget, cash = w.city.budget.copy(), w.firms.cash[:w.firms.n].copy()
    staff = w.firms.staff[:w.firms.n].copy()
    city0 = w.firms.city[:w.firms.n].copy()
    relocate(w, rng, np.zeros(w.geo.n))
    moved = w.firms.city[:w.firms.n] != city0
    return w, budget, cash, staff, moved


def test_project_grabbing_pays_each_relocating_firm_its_offer_per_employee():
    w, budget, cash, staff, moved = _relocation_quarter(0.5)
    assert moved.sum() > 0
    expected = 0.5 * 2.0 * np.maximum(staff[moved], 1)
    assert w.firms.cash[:w.firms.n][moved] - cash[moved] == pytest.approx(expected)
    paid = w.tick["project_subsidy_paid"]
    assert paid.sum() == pytest.approx(expected.sum())
    # the destinations pay (their talent pools are empty: from the budget)
    dest = w.firms.city[:w.firms.n][moved]
    assert paid == pytest.approx(np.bincount(dest, weights=expected, minlength=w.geo.n))
    assert budget - w.city.budget == pytest.approx(paid)
    # without negative competition nothing is paid
    w0, *_ = _relocation_quarter(0.0)
    assert w0.tick["project_subsidy_paid"].sum() == 0


def test_offers_raised_everywhere_do_not_keep_firms_in_place():
    # equal offers in every city: only the destination's is paid, so staying gains nothing
    # from them and relocation rises with the offer
    moves = [_relocation_quarter(1.0, offer)[4].sum() for offer in (0.0, 20.0)]
    assert moves[1] > moves[0]
