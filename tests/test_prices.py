"""Sourced policy inputs (money at the model's start prices, dated zones) and the levers
that take them."""

import numpy as np
import pytest

from model.model import InnovationModel
from model.prices import deflator, to_start_prices
from tests.conftest import small_grid


def test_deflator_table():
    assert deflator(2001) == 100.0
    assert deflator(2008.75) == deflator(2008) == pytest.approx(136.5)
    assert deflator(1990) == 100.0  # before the table: its first year
    assert deflator(2030) == deflator(2021)  # after it: the last year's prices
    assert to_start_prices(100.0, 2008, 2001) == pytest.approx(100 * 100 / 136.5)
    # cumulative 2001-2021 about 1.92 (nominal GDP ~10.3x, real ~5.3x)
    assert deflator(2021) / deflator(2001) == pytest.approx(1.92, abs=0.03)


def test_state_investment_adds_capital_at_start_prices():
    a = InnovationModel(small_grid(steps=4), seed=1)
    b = InnovationModel(small_grid(steps=4, rules=[{"cities": ["c0_0"],
                                                    "state_investment_cny": 40.0}]), seed=1)
    a.run()
    b.run()
    gain = b.city.capital[0] - a.city.capital[0]
    assert gain > 0.9 * 40.0 * (100 / deflator(2001))  # four quarters of 10, a little less
    assert gain < 40.0  # once depreciated
    assert np.allclose(a.city.capital[1:], b.city.capital[1:], rtol=0.2)


def test_programme_money_reaches_its_instrument():
    from model.init import build_world
    from model.submodels.govern import govern

    sc = small_grid(rules=[{"cities": ["c1_1"], "extra_guidance_cny": 8.0}])
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, np.random.default_rng(0))
    sc0 = small_grid()
    pol0, _ = sc0.policy_at(2001)
    w0 = build_world(sc0.params, sc0.geography, pol0, np.random.default_rng(0))
    i = sc.geography.index("c1_1")
    g = w.guidance_fund[i]
    govern(w, np.random.default_rng(1))
    govern(w0, np.random.default_rng(1))
    extra = w.funds.capital[g] - w0.funds.capital[g]
    lev = sc.params.guidance_leverage
    assert extra == pytest.approx(8.0 * w.scale / 4.0 * (1 + lev))
    c = w.city  # books balance: the programme's money is revenue and is spent
    held = c.budget + c.talent_pool + c.credit_pool + c.rd_pool + c.procurement_pool
    assert c.revenue - c.spent - c.lapsed == pytest.approx(held)


def test_a_new_hightech_zone_raises_its_city_tfp_by_the_ramp():
    from model.init import build_world
    from model.submodels.grow import grow

    sc = small_grid(rules=[{"cities": ["c1_1"], "from_year": 2002, "hightech_zones": 1},
                           {"cities": ["c0_0"], "hightech_zones": 2}])
    pol, _ = sc.policy_at(2001)
    w = build_world(sc.params, sc.geography, pol, np.random.default_rng(0))
    sc0 = small_grid()
    w0 = build_world(sc0.params, sc0.geography, sc0.policy_at(2001)[0], np.random.default_rng(0))
    i, j = sc.geography.index("c1_1"), sc.geography.index("c0_0")
    g = sc.params.zone_tfp_gain
    # a zone the city has at the start is in its start TFP: same output, gain realised
    assert w.city.gdp == pytest.approx(w0.city.gdp)
    assert w.city.tfp == pytest.approx(w0.city.tfp)
    assert w.city.zone_gain[j] == pytest.approx(g * np.log2(3)) and w.city.zone_gain[i] == 0
    w.policy, _ = sc.policy_at(2002)
    w0.policy, _ = sc0.policy_at(2002)
    grow(w, np.random.default_rng(1))
    grow(w0, np.random.default_rng(1))
    step = g / (4 * sc.params.zone_ramp_years)
    ratio = w.city.tfp / w0.city.tfp
    assert ratio[i] == pytest.approx(np.exp(step))
    assert np.delete(ratio, i) == pytest.approx(1.0)
