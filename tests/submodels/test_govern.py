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
    gdp_real = w.city.gdp * w.gdp_base / w.city.gdp.sum()
    budget0 = compute_revenue(gdp_real, w.scale, sc.params.budget_rate, np.ones(w.geo.n))
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
    gdp_real = w.city.gdp * w.gdp_base / w.city.gdp.sum()
    budget0 = compute_revenue(gdp_real, w.scale, sc.params.budget_rate, np.ones(w.geo.n))
    cap0 = w.funds.capital[w.guidance_fund].copy()
    govern(w, rng)
    gain = w.funds.capital[w.guidance_fund] - cap0
    i44, i43 = sc.geography.index("c4_4"), sc.geography.index("c4_3")
    each = 0.2 * budget0[0] / 2 * (1 + sc.params.guidance_leverage)
    assert gain[i44] == pytest.approx(each) and gain[i43] == pytest.approx(each)
    assert gain[0] == 0.0 and np.count_nonzero(gain) == 2  # the leader's own fund gets none
    c = w.city  # the leader's books balance: what it paid counts as spent
    held = c.budget + c.talent_pool + c.credit_pool + c.rd_pool + c.procurement_pool
    assert c.revenue - c.spent == pytest.approx(held)


def test_intermediary_coverage_is_per_firm_and_scale_free():
    from model.submodels.govern import compute_intermediary_coverage

    cov = compute_intermediary_coverage(np.array([10.0, 20.0, 5.0]), np.array([100, 200, 0]),
                                        np.ones(3))
    assert cov[0] == pytest.approx(1 - np.exp(-0.1))
    assert cov[1] == pytest.approx(cov[0])  # twice the money for twice the firms
    assert cov[2] == pytest.approx(1 - np.exp(-5.0))  # no firms: spend over a floor of one
