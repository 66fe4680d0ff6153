import numpy as np
import pytest

from model.submodels.govern import compute_competitive_offer, compute_level, compute_revenue
from tests.conftest import small_grid


def test_revenue():
    assert compute_revenue(np.array([400.0]), 2.0, 0.01, np.array([1.0]))[0] == pytest.approx(2.0)
    assert compute_revenue(np.array([400.0]), 2.0, 0.01, np.array([3.0]))[0] == pytest.approx(6.0)


def test_level_rises_with_spending_and_relaxes():
    one = np.ones(1)
    lv = compute_level(0.5 * one, 0.5 * one, one, 100 * one, 50.0, 0.0)
    assert lv[0] == pytest.approx(1 - 0.5 * np.exp(-0.5))
    lv = compute_level(0.9 * one, 0.5 * one, 0 * one, 100 * one, 50.0, 0.5)
    assert lv[0] == pytest.approx(0.7)


def test_competitive_offer():
    d = np.array([[0, 100.0], [100.0, 0]])
    out = compute_competitive_offer(np.array([1.0, 3.0]), d, 300.0, 0.5)
    assert out.tolist() == [2.0, 3.0]
    assert compute_competitive_offer(np.array([1.0, 3.0]), d, 50.0, 0.5).tolist() == [1.0, 3.0]
    assert compute_competitive_offer(np.array([1.0, 3.0]), d, 300.0, 0.0).tolist() == [1.0, 3.0]


def test_govern_spends_shares_and_keeps_the_books():
    from model.init import build_world
    from model.submodels.govern import govern

    zero = ("share_talent", "share_credit", "share_basic_research", "share_ip", "share_culture",
            "share_procurement", "share_intermediary")
    sc = small_grid(policy={"share_platform": 0.5, "share_rd_subsidy": 0.3,
                            "share_guidance": 0.2, **dict.fromkeys(zero, 0.0)})
    rng = np.random.default_rng(0)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    plat0 = w.city.platforms.copy()
    govern(w, rng)
    income = compute_revenue(w.city.gdp, w.scale, sc.params.budget_rate, np.ones(w.geo.n))
    assert w.city.rd_pool == pytest.approx(0.3 * income)
    prm = sc.params
    expected_plat = plat0 * (1 - prm.platform_depreciation) + 0.5 * income / prm.platform_cost
    assert w.city.platforms == pytest.approx(expected_plat)
    gf = w.guidance_fund
    assert w.funds.capital[gf] == pytest.approx(0.2 * income * (1 + sc.params.guidance_leverage))
    assert w.city.budget == pytest.approx(0.0, abs=1e-9)
    assert w.city.revenue - w.city.spent == pytest.approx(w.city.budget + w.city.rd_pool)


def test_lead_targets_build_platforms_in_target_cities():
    from model.init import build_world
    from model.submodels.govern import govern

    sc = small_grid(rules=[{"cities": ["c0_0"], "share_lead": 0.3, "share_platform": 0.0,
                            "share_basic_research": 0.0,
                            "lead_targets": "c4_4, c4_3"}])
    rng = np.random.default_rng(0)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    before = w.city.platforms.copy()
    assert w.income_level == pytest.approx(1.0)  # prices at the start
    budget0 = compute_revenue(w.city.gdp, w.scale, sc.params.budget_rate, np.ones(w.geo.n))
    govern(w, rng)
    after_dep = before * (1 - sc.params.platform_depreciation)
    own = sc.policy.share_platform * budget0 / sc.params.platform_cost
    gain = w.city.platforms - after_dep - own
    i44, i43 = sc.geography.index("c4_4"), sc.geography.index("c4_3")
    lead = 0.3 * budget0[0] / sc.params.platform_cost
    assert gain[i44] == pytest.approx(lead / 2)
    assert gain[i43] == pytest.approx(lead / 2)
    assert w.city.platforms[0] == pytest.approx(after_dep[0])  # leader built none at home


def test_lead_fund_cofunds_the_targets_guidance_funds():
    from model.init import build_world
    from model.submodels.govern import govern

    sc = small_grid(rules=[{"cities": ["c0_0"], "share_lead_fund": 0.2, "share_platform": 0.0,
                            "lead_targets": "c4_4, c4_3"}], policy={"share_guidance": 0.0})
    rng = np.random.default_rng(0)
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, rng)
    assert w.income_level == pytest.approx(1.0)  # prices at the start
    budget0 = compute_revenue(w.city.gdp, w.scale, sc.params.budget_rate, np.ones(w.geo.n))
    cap0 = w.funds.capital[w.guidance_fund].copy()
    govern(w, rng)
    gain = w.funds.capital[w.guidance_fund] - cap0
    i44, i43 = sc.geography.index("c4_4"), sc.geography.index("c4_3")
    each = 0.2 * budget0[0] / 2 * (1 + sc.params.guidance_leverage)
    assert gain[i44] == pytest.approx(each) and gain[i43] == pytest.approx(each)
    assert gain[0] == 0.0 and np.count_nonzero(gain) == 2  # the leader's own fund gets none
    c = w.city  # the leader's books balance: what it paid counts as spent
    held = c.budget + c.talent_pool + c.credit_pool + c.rd_pool + c.procurement_pool
    assert c.revenue - c.spent - c.lapsed == pytest.approx(held)


def test_intermediary_coverage_is_per_firm_and_scale_free():
    from model.submodels.govern import compute_intermediary_coverage

    cov = compute_intermediary_coverage(np.array([10.0, 20.0, 5.0]), np.array([100, 200, 0]),
                                        np.ones(3))
    assert cov[0] == pytest.approx(1 - np.exp(-0.1))
    assert cov[1] == pytest.approx(cov[0])  # twice the money for twice the firms
    assert cov[2] == pytest.approx(1 - np.exp(-5.0))  # no firms: spend over a floor of one


def test_year_end_lapse_takes_the_share_of_budget_and_pools():
    from model.submodels.govern import compute_lapse

    budget, pool = np.array([4.0, -2.0]), np.array([2.0, 2.0])
    out = compute_lapse(budget, [pool], 0.5)
    assert out == pytest.approx([3.0, 1.0])
    assert budget == pytest.approx([2.0, -2.0]) and pool == pytest.approx([1.0, 1.0])


def test_research_quality_rewards_research_per_output():
    from model.submodels.govern import compute_research_quality

    q = compute_research_quality(np.array([1.0, 3.0]), np.ones(2), 1.0)
    assert q == pytest.approx([0.5, 1.5])
    assert compute_research_quality(np.array([0.0, 1.0]), np.ones(2), 1.0)[0] == 0.1  # floor
    assert compute_research_quality(np.zeros(2), np.ones(2), 1.0) == pytest.approx([1, 1])


def test_offers_are_paid_in_full_and_the_shortfall_is_owed():
    from model.init import build_world
    from model.submodels.govern import pay_offers

    sc = small_grid()
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, np.random.default_rng(0))
    c = w.city
    c.talent_offer[:] = 2.0
    c.talent_pool[:] = 0.0
    c.talent_pool[0] = 4.0
    c.budget[:] = 0.0
    pay_offers(w, np.array([0, 0, 0, 1]))
    assert c.talent_pool[0] == 0.0 and c.budget[0] == pytest.approx(-2.0)
    assert c.budget[1] == pytest.approx(-2.0)
    assert w.tick["talent_subsidy_paid"][:2] == pytest.approx([6.0, 2.0])


def test_unspent_money_lapses_each_year_and_books_balance():
    from model.model import InnovationModel

    m = InnovationModel(small_grid(steps=9), seed=4)
    m.run()
    c = m.city
    assert c.lapsed.sum() > 0
    held = c.budget + c.talent_pool + c.credit_pool + c.rd_pool + c.procurement_pool
    assert c.revenue - c.spent - c.lapsed == pytest.approx(held)
    m0 = InnovationModel(small_grid(steps=9, params={"pool_lapse": 0.0}), seed=4)
    m0.run()
    assert m0.city.lapsed.sum() == 0
