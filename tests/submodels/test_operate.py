import numpy as np
import pytest

from model.init import build_world
from model.submodels.operate import compute_profit_tax, compute_stage, operate
from tests.conftest import small_grid


def test_profit_tax_with_rd_super_deduction():
    tax = compute_profit_tax(np.array([10.0, -5.0, 10.0, 1.0]), np.array([4.0, 4.0, 0.0, 4.0]),
                             0.15, np.array([1.0, 1.0, 1.0, 1.0]))
    assert np.allclose(tax, [0.9, 0.0, 1.5, 0.0])  # 0.15 * (10 - 4); deduction beyond profit
    no_relief = compute_profit_tax(np.array([10.0]), np.array([4.0]), 0.15, np.array([0.0]))
    assert no_relief[0] == pytest.approx(1.5)


def test_stage_never_goes_back():
    st = compute_stage(np.array([0, 0, 1, 2], dtype=np.int8), np.array([1.0, 6, 40, 1]), 5, 30)
    assert st.tolist() == [0, 1, 2, 2]



def _world(policy=None, params=None):
    sc = small_grid(policy=policy, params=params)
    rng = np.random.default_rng(1)
    pol, _ = sc.policy_at(2001)
    return build_world(sc.params, sc.geography, pol, rng), rng


def _staffed_firm(w):
    return int(np.flatnonzero(w.firms.view("alive") & (w.firms.view("staff") >= 2))[0])


def test_credit_pool_lends_to_a_firm_short_of_cash():
    w, rng = _world()
    i = _staffed_firm(w)
    c = w.firms.city[i]
    w.firms.cash[i] = -50.0
    w.city.credit_pool[:] = 0.0
    w.city.credit_pool[c] = 1e6
    operate(w, rng)
    assert w.firms.alive[i]
    assert w.firms.debt[i] > 0  # borrowed its shortfall plus a quarter's wage bill
    assert w.firms.cash[i] >= 0
    assert w.city.credit_pool[c] == pytest.approx(1e6 - w.tick["loans"][c])
    assert w.city.spent[c] == pytest.approx(w.tick["loans"][c] + w.tick["procurement"][c])


def test_failure_releases_staff_and_angel_risk_sharing_reimburses_the_fund():
    w, rng = _world(policy={"angel_risk_share": 0.5})
    i = _staffed_firm(w)
    c = w.firms.city[i]
    w.firms.stage[i] = 0
    w.firms.capability[i] = 0.0
    w.firms.cash[i] = -1e9
    w.firms.fund[i] = 0
    w.firms.vc_in[i] = 100.0
    w.city.credit_pool[:] = 0.0
    w.city.budget[c] = 1e6
    cap0 = w.funds.capital[0]
    staff = np.flatnonzero(w.talent.view("employer") == i)
    assert len(staff) >= 2
    operate(w, rng)
    assert not w.firms.alive[i] and w.firms.died[i] == w.step
    assert (w.talent.employer[staff] == -1).all()
    assert w.firms.staff[i] == 0 and w.firms.fund[i] == -1
    assert w.funds.capital[0] == pytest.approx(cap0 + 50.0)
    assert w.funds.reimbursed[0] == pytest.approx(50.0)
    assert w.tick["failed"][c] >= 1


def test_firm_without_staff_closes():
    w, rng = _world()
    i = _staffed_firm(w)
    w.set_employer(np.flatnonzero(w.talent.view("employer") == i), -1)
    assert w.firms.staff[i] == 0
    w.firms.cash[i] = 1e6
    operate(w, rng)
    assert not w.firms.alive[i]


def test_procurement_pool_pays_innovative_firms_only():
    w, rng = _world()
    w.firms.value[: w.firms.n] = 0.0
    i = _staffed_firm(w)
    c = w.firms.city[i]
    w.firms.value[i] = 10.0
    w.city.procurement_pool[:] = 0.0
    w.city.procurement_pool[c] = 500.0
    cash0 = w.firms.cash[: w.firms.n].copy()
    operate(w, rng)
    assert w.city.procurement_pool[c] == 0.0
    assert w.tick["procurement"][c] == 500.0
    others = np.flatnonzero((w.firms.city[: w.firms.n] == c) & w.firms.alive[: w.firms.n])
    others = others[others != i]
    gain_i = w.firms.cash[i] - cash0[i]
    assert gain_i > 400  # received the pool (minus its wages, rent and tax)
    assert all(w.firms.cash[j] - cash0[j] < 400 for j in others)
