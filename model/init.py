"""Building the initial state from parameters and geography (docs/ODD.md section 5).

* Sample scale: one MU is a talent agent's quarterly base wage, and the innovative
  workforce earns ``talent_output_share`` of GDP, so
  ``scale = 4 * n_talent / (talent_output_share * sum(GDP))`` MU per 100m CNY/yr.
* Talent: allocated to cities in proportion to GDP (multinomial); skill
  ``LogNormal(-0.08, 0.4)`` (mean 1).
* Firms: allocated in proportion to talent; sector = city's industry type with
  probability 0.6, else uniform; stages 70% startup, 20% scale-up, 10% mature with
  capability uniform within the stage's range (mature: ``mature_capability * (1 + Exp(1))``);
  cash = two quarters of the stage's target staff cost. Then four labour-market rounds
  (``hire``, at the normal ``hire_speed``) staff them.
* Sample factor ``s = n_talent / 20,000`` (``REFERENCE_TALENT``): extensive stocks that
  are not built from agents scale with it, so a larger sample describes the same region.
* Research capacity ``R_i = research_i . research_weights`` (university-equivalents) from
  the geography's research endowment (``model/data/research_2001.csv`` for real maps): an
  input of its own, not proportional to output.
* Knowledge: ``K_i = 100 * s * ((1 - r) * (GDP_i / mean GDP)^init_knowledge_elasticity
  + r * R_i / mean R)`` with ``r = init_research_share``; ``k_ref`` is the mean of ``K``.
  Innovation index: 0 (it emerges). Platforms: ``init_platforms * s * ((1 - r) * GDP_i /
  mean GDP + r * R_i / mean R)``.
* Production (``grow``): capital ``C_i = init_capital_output * GDP_i``; TFP ``A_i`` such
  that output equals the data GDP; the external knowledge of the first quarter is
  computed (``spill``) so that the knowledge usable at the start is the reference of
  TFP's knowledge term; income level 1. The zones' realised TFP gain starts at the target
  of the zones the city has at the start (``hightech_zones``): they are in its data GDP.
* Culture and IP protection: ``0.5 * (y_i / mean y)^0.3`` clipped to [0.05, 0.95],
  ``y`` = GDP per head.
* Funds: ``n_funds`` private funds homed with probability ~ ``GDP^init_vc_elasticity``;
  size ``fund_size * LogNormal(-0.5, 1)``; 60% prefer startups; vintages staggered over
  one fund life. One guidance fund (empty) per city.
"""

from __future__ import annotations

import numpy as np

from model.entities import (
    TICK_KEYS,
    CityState,
    FirmPool,
    FundPool,
    TalentPool,
    World,
)
from model.geography import Geography
from model.params import REFERENCE_TALENT, SECTORS, Params
from model.submodels.grow import (
    compute_rent,
    compute_tfp_start,
    compute_wage,
    set_prices,
    zone_target,
)
from model.submodels.spill import external_knowledge

__all__ = ["build_world"]

SKILL_SIGMA = 0.4
INIT_STAGE_SHARES = (0.7, 0.2, 0.1)


def build_world(params: Params, geo: Geography, policy: dict[str, np.ndarray],
                rng: np.random.Generator) -> World:
    """Create the initial :class:`World` (no step taken)."""
    n, prm = geo.n, params
    gdp = geo.gdp.astype(float).copy()
    scale = 4.0 * prm.n_talent / (prm.talent_output_share * gdp.sum())
    rel_gdp = gdp / gdp.mean()
    sample = prm.n_talent / REFERENCE_TALENT
    research = geo.research @ np.asarray(prm.research_weights)
    r = prm.init_research_share if research.sum() > 0 else 0.0
    rel_res = research / research.mean() if research.sum() > 0 else np.zeros(n)
    knowledge = 100.0 * sample * ((1.0 - r) * rel_gdp ** prm.init_knowledge_elasticity
                                  + r * rel_res)
    y = gdp / geo.population
    level0 = np.clip(0.5 * (y / y.mean()) ** 0.3, 0.05, 0.95)

    # talent
    talent = TalentPool(prm.n_talent)
    t_city = np.repeat(np.arange(n), rng.multinomial(prm.n_talent, gdp / gdp.sum()))
    skill = rng.lognormal(-0.5 * SKILL_SIGMA ** 2, SKILL_SIGMA, size=prm.n_talent)
    talent.add(prm.n_talent, city=t_city, skill=skill)
    t_count = np.bincount(t_city, minlength=n).astype(float)

    # firms
    firms = FirmPool(max(2 * prm.n_firms, 16))
    f_city = np.repeat(np.arange(n), rng.multinomial(prm.n_firms, t_count / t_count.sum()))
    k = prm.n_firms
    home = rng.random(k) < 0.6
    sector = np.where(home, geo.industry[f_city], rng.integers(0, len(SECTORS), size=k))
    stage = rng.choice(3, size=k, p=INIT_STAGE_SHARES)
    lo = np.array([0.0, prm.scaleup_capability, prm.mature_capability])[stage]
    hi = np.array([prm.scaleup_capability, prm.mature_capability, prm.mature_capability])[stage]
    capability = np.where(stage == 2, prm.mature_capability * (1.0 + rng.exponential(1.0, k)),
                          lo + (hi - lo) * rng.random(k))
    target = np.asarray(prm.target_staff)[stage]
    wage = compute_wage(gdp, geo.population, prm.wage_elasticity)
    rent = compute_rent(t_count, gdp, geo.population, prm.rent_base, prm.congestion_elasticity)
    cash = 2.0 * target * (wage + rent)[f_city]
    born = -rng.integers(1, 40, size=k)
    firms.add(k, city=f_city, sector=sector, stage=stage, capability=capability, cash=cash,
              born=born)

    # funds: private, then one guidance fund per city
    funds = FundPool(prm.n_funds + n)
    if prm.n_funds:
        w = gdp ** prm.init_vc_elasticity
        f_home = rng.choice(n, size=prm.n_funds, p=w / w.sum())
        size = prm.fund_size * rng.lognormal(-0.5, 1.0, size=prm.n_funds)
        funds.add(prm.n_funds, home=f_home, stage_pref=(rng.random(prm.n_funds) >= 0.6),
                  capital=size, committed=size, raised=size,
                  vintage_start=-rng.integers(0, prm.fund_life, size=prm.n_funds))
    gids = funds.add(n, home=np.arange(n), guidance=True, stage_pref=0)

    zeros = np.zeros(n)
    city = CityState(
        province=geo.province.copy(), population=geo.population.astype(float).copy(),
        industry=geo.industry.copy(), amenity=geo.amenity.astype(float).copy(),
        corridor=geo.corridor.copy(), gdp=gdp, capital=prm.init_capital_output * gdp,
        tfp=np.ones(n), usable=np.ones(n),
        zone_gain=zone_target(policy["hightech_zones"], prm.zone_tfp_gain), research=research,
        productivity=wage.copy(),
        knowledge=knowledge, index=zeros.copy(),
        platforms=prm.init_platforms * sample * ((1.0 - r) * rel_gdp + r * rel_res),
        culture=level0.copy(),
        culture0=level0.copy(),
        ip=level0.copy(), ip0=level0.copy(), intermediary=zeros.copy(), wage=wage, rent=rent,
        talent_offer=zeros.copy(), budget=zeros.copy(), talent_pool=zeros.copy(),
        credit_pool=zeros.copy(), rd_pool=zeros.copy(), rd_coverage=np.ones(n),
        procurement_pool=zeros.copy(),
        revenue=zeros.copy(), spent=zeros.copy(), lapsed=zeros.copy(), collab=np.zeros((n, n)),
        innov_stock=zeros.copy(), external=zeros.copy(), absorb=zeros.copy(),
        network=zeros.copy(), rank=np.arange(n),
        tier=np.full(n, 2, dtype=np.int8),
    )
    world = World(
        geo=geo, params=prm, policy=policy, city=city, firms=firms, talent=talent, funds=funds,
        flows={k: np.zeros((n, n)) for k in ("talent", "capital", "knowledge", "collaboration")},
        tick={k: np.zeros(n) for k in TICK_KEYS}, step=0, scale=scale,
        k_ref=float(knowledge.mean()), guidance_fund=gids,
        income0=float(gdp.sum() / geo.population.sum()),
        cross_province=geo.province[:, None] != geo.province[None, :],
    )
    from model.submodels.hire import hire

    hire(world, rng)
    # three more rounds: the start is a going economy, not an empty one
    for _ in range(3):
        hire(world, rng)
    world.reset_tick()
    # production: fit the constant to the data GDP with the knowledge usable from the start
    _, flow = external_knowledge(world)
    city.external = flow.sum(axis=1)
    talent_n = world.talent_count().astype(float)
    city.usable = (knowledge + city.external) / world.k_ref
    city.tfp = compute_tfp_start(gdp, city.capital, city.population, talent_n, prm.capital_share,
                                 prm.talent_output_share)
    set_prices(world, talent_n)
    return world
