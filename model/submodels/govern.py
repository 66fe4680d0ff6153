"""Submodel ``govern``: government budgets and their spending on every instrument.

Each quarter every city government receives ``budget_rate * GDP / 4`` (converted to MU by
the sample scale, times the policy's ``budget_multiplier``) on top of the profit taxes its
firms paid last quarter, then splits its budget by the policy's shares. GDP is the city's
output from ``grow``, so budgets grow with the economy; what they buy is priced in labour,
so platform costs and basic research are scaled by the income level (``grow``):

* ``share_rd_subsidy`` -> R&D subsidy pool (paid out in ``innovate``)
* ``share_talent`` -> talent subsidy pool; sets the offer to arriving talent (``migrate``)
* ``share_guidance`` -> the city's guidance fund, levering ``guidance_leverage`` private MU
* ``share_credit`` -> low-interest SME credit pool (``operate``)
* ``share_platform`` -> platforms (labs, incubators, open platforms):
  ``+amount / (platform_cost * income_level)``
* ``share_basic_research`` -> knowledge: ``+basic_research_productivity * amount /
  income_level * q_c``, ``q_c = max(rho_c, 0.1)^research_basic_elasticity`` with ``rho_c``
  the city's research capacity per unit of output relative to the region's (a city with
  a strong university and institute base turns research money into more knowledge)
* ``share_ip``, ``share_culture`` -> IP protection and culture levels
* ``share_procurement`` -> public procurement pool (``operate``)
* ``share_intermediary`` -> technology-intermediary coverage this quarter,
  ``1 - exp(-intermediary_efficiency * amount / (income_level * alive firms))``
* ``share_lead`` -> platforms in the policy's ``lead_targets`` cities ("core leads")
* ``share_lead_fund`` -> the guidance funds of the ``lead_targets`` cities (co-funding,
  levered by ``guidance_leverage`` like a city's own guidance money)

Programmes with money of their own (``extra_guidance_cny``, ``extra_talent_cny``,
``extra_platform_cny``, ``extra_basic_research_cny``: sourced amounts in 100 million CNY a
year at the prices of the year, deflated by ``model.prices`` and converted to MU by the
sample scale) add that money to their instrument on top of the budget shares; it counts as
revenue and is spent like the rest.

Public money has an opportunity cost. Unallocated budget and the unspent balances of the
earmarked pools (talent, R&D subsidy, procurement) lapse to other public uses at the end of
each year (share ``pool_lapse``; recorded in ``lapsed``); the SME credit pool revolves (loans
are repaid into it) and does not lapse. Talent offers are commitments: every arrival is
paid the offer in full (``migrate``, ``renew``), from the talent pool first and the rest from
the city's budget, which may go negative and is then repaid from the next quarters' income
before anything else is spent. Negative competition: with ``competition_intensity`` c > 0
a government raises its talent offer toward the highest offer of a rival within
``competition_radius_km``: ``offer += c * max(0, rival_max - offer)``; the extra is money the
other instruments no longer get.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.prices import to_start_prices

__all__ = ["govern", "compute_revenue", "compute_level", "compute_competitive_offer",
           "compute_intermediary_coverage", "compute_lapse", "compute_research_quality",
           "pay_offers"]

MIN_RESEARCH_REL = 0.1  # floor of relative research capacity in basic research (assumption)


def pay_offers(world: World, dest: np.ndarray, amount: np.ndarray | None = None,
               tally: str = "talent_subsidy_paid") -> None:
    """Pay each arrival in ``dest`` (city per arrival) its offer in full.

    ``amount`` per arrival (None: its city's talent offer); ``tally``: the ``tick`` key that
    records the payments. The talent pool pays first; the shortfall is charged to the city's
    budget (which may go negative: the money is owed and repaid from the next income).
    Example: offers [2], 3 arrivals, pool [4] -> pool 0, budget -2.
    """
    c, n = world.city, world.geo.n
    if not len(dest):
        return
    each = c.talent_offer[dest] if amount is None else amount
    owed = np.bincount(dest, weights=each, minlength=n)
    from_pool = np.minimum(owed, np.maximum(c.talent_pool, 0.0))
    c.talent_pool -= from_pool
    c.budget -= owed - from_pool
    c.spent += owed
    world.tick[tally] += owed


def compute_revenue(gdp: np.ndarray, scale: float, budget_rate: float,
                    multiplier: np.ndarray) -> np.ndarray:
    """Quarterly innovation budget from output, MU.

    ``gdp`` (N,) in 100m CNY/yr -> ``budget_rate * gdp * scale / 4 * multiplier``.
    Example: gdp 400, scale 2, rate 0.01, multiplier 1 -> 2.0 MU.
    """
    return budget_rate * gdp * scale / 4.0 * multiplier


def compute_level(level: np.ndarray, level0: np.ndarray, spend: np.ndarray, gdp_mu: np.ndarray,
                  response: float, decay: float) -> np.ndarray:
    """Update a bounded level in [0, 1] (culture, IP protection) from spending.

    ``level' = 1 - (1 - level) * exp(-response * spend / gdp_mu)``, then relax toward the
    start: ``level' += decay * (level0 - level')``.

    Example: level 0.5, spend/gdp 0.01, response 50, decay 0 -> 1 - 0.5 e^-0.5 = 0.6967.
    """
    ratio = np.divide(spend, gdp_mu, out=np.zeros_like(spend), where=gdp_mu > 0)
    raised = 1.0 - (1.0 - level) * np.exp(-response * ratio)
    return np.clip(raised + decay * (level0 - raised), 0.0, 1.0)


def compute_intermediary_coverage(spend: np.ndarray, firms: np.ndarray,
                                  efficiency: np.ndarray) -> np.ndarray:
    """Share of firms technology intermediaries serve this quarter, in [0, 1).

    ``1 - exp(-efficiency * spend / max(firms, 1))``: coverage depends on the spending per
    firm served, so it does not change with the agent sample's scale.
    Example: spend 10 MU over 100 firms, efficiency 1 -> 1 - e^-0.1 = 0.0952.
    """
    return 1.0 - np.exp(-efficiency * spend / np.maximum(firms, 1))


def compute_competitive_offer(offer: np.ndarray, dist_km: np.ndarray, radius_km: float,
                              intensity: float) -> np.ndarray:
    """Raise each offer toward the best rival offer within ``radius_km``.

    Example: offers [1, 3], distance 100 < radius, intensity 0.5 -> [2, 3].
    """
    if intensity <= 0.0:
        return offer
    rival = np.where((dist_km <= radius_km) & (dist_km > 0), offer[None, :], 0.0).max(axis=1)
    return offer + intensity * np.maximum(rival - offer, 0.0)


def compute_lapse(budget: np.ndarray, pools: list[np.ndarray], share: float) -> np.ndarray:
    """Year-end lapse: take ``share`` of the positive budget and of every pool (in place).

    Returns the amount lapsed per city. A negative budget (money owed) does not lapse.
    Example: budget [4, -2], one pool [2, 2], share 0.5 -> lapsed [3, 1]; budget [2, -2],
    pool [1, 1].
    """
    out = share * np.maximum(budget, 0.0)
    budget -= out
    for pool in pools:
        take = share * pool
        pool -= take
        out = out + take
    return out


def compute_research_quality(research: np.ndarray, gdp: np.ndarray,
                             elasticity: float) -> np.ndarray:
    """Basic-research productivity multiplier ``max(rho, 0.1)^elasticity`` per city.

    ``rho = (research / gdp) / (sum research / sum gdp)``. Example: research [1, 3], gdp
    [1, 1], elasticity 1 -> rho [0.5, 1.5].
    """
    tot = research.sum()
    if tot <= 0:
        return np.ones_like(gdp)
    rho = (research / gdp) / (tot / gdp.sum())
    return np.maximum(rho, MIN_RESEARCH_REL) ** elasticity


def govern(world: World, rng: np.random.Generator) -> None:
    """Collect revenue and spend it on the instruments (updates city state and funds)."""
    c, pol, prm = world.city, world.policy, world.params
    if world.step > 0 and world.step % 4 == 0:  # a new year: last year's unspent money lapses
        lapsed = compute_lapse(c.budget, [c.talent_pool, c.rd_pool, c.procurement_pool],
                               prm.pool_lapse)
        c.lapsed += lapsed
        world.tick["lapsed"] += lapsed
    income = compute_revenue(c.gdp, world.scale, prm.budget_rate, pol["budget_multiplier"])
    c.budget += income
    c.revenue += income
    b = np.maximum(c.budget, 0.0)  # money owed for honoured talent offers is repaid first
    amount = {k: pol[k] * b for k in (
        "share_rd_subsidy", "share_talent", "share_guidance", "share_credit", "share_platform",
        "share_basic_research", "share_ip", "share_culture", "share_procurement",
        "share_intermediary", "share_lead", "share_lead_fund")}
    # programmes with their own sourced money (100m CNY a year at the year's prices)
    for share, extra in (("share_guidance", "extra_guidance_cny"),
                         ("share_talent", "extra_talent_cny"),
                         ("share_platform", "extra_platform_cny"),
                         ("share_basic_research", "extra_basic_research_cny")):
        if pol[extra].any():
            money = to_start_prices(pol[extra], world.year, prm.start_year) * world.scale / 4.0
            amount[share] = amount[share] + money
            c.revenue += money
            c.budget += money
    # pools stay government money until paid out; the rest leaves the budget now
    c.rd_pool += amount["share_rd_subsidy"]
    c.talent_pool += amount["share_talent"]
    c.credit_pool += amount["share_credit"]
    c.procurement_pool += amount["share_procurement"]
    spent_now = sum(amount[k] for k in ("share_guidance", "share_platform", "share_basic_research",
                                        "share_ip", "share_culture", "share_intermediary",
                                        "share_lead", "share_lead_fund"))
    c.budget -= sum(amount.values())
    c.spent += spent_now
    # infrastructure, basic research
    c.platforms *= 1.0 - prm.platform_depreciation
    level = world.income_level
    c.platforms += amount["share_platform"] / (prm.platform_cost * level)
    lead_platforms, lead_fund = _lead(world, amount["share_lead"], amount["share_lead_fund"])
    c.platforms += lead_platforms / (prm.platform_cost * level)
    quality = compute_research_quality(c.research, c.gdp, prm.research_basic_elasticity)
    c.knowledge += (prm.basic_research_productivity / level * quality
                    * amount["share_basic_research"])
    # IP protection and culture
    gdp_mu = c.gdp * world.scale / 4.0
    c.ip = compute_level(c.ip, c.ip0, amount["share_ip"], gdp_mu, prm.culture_response,
                         prm.culture_decay)
    c.culture = compute_level(c.culture, c.culture0, amount["share_culture"], gdp_mu,
                              prm.culture_response, prm.culture_decay)
    c.intermediary = compute_intermediary_coverage(amount["share_intermediary"] / level,
                                                   world.firm_count(),
                                                   pol["intermediary_efficiency"])
    world.tick["support_spending"] += (amount["share_platform"] + amount["share_ip"]
                                       + amount["share_culture"] + amount["share_intermediary"])
    # guidance funds: the city's guidance fund receives public money and levers private LPs
    _guidance(world, amount["share_guidance"] + lead_fund)
    # talent offer: this quarter's pool spread over a reference inflow of 1% of local talent
    ref_arrivals = np.maximum(0.01 * world.talent_count(), 1.0)
    offer = c.talent_pool / ref_arrivals
    c.talent_offer = compute_competitive_offer(offer, world.geo.dist_km, prm.competition_radius_km,
                                               prm.competition_intensity)


def _lead(world: World, platforms: np.ndarray,
          funds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Core-leads money as received by the target cities: (for platforms, for guidance funds).

    The leader pays; ``_lead_targets`` is the (N, N) row-normalised matrix of lead targets.
    """
    targets = world.policy.get("_lead_targets")
    if targets is None or not (platforms.any() or funds.any()):  # no leader: skip the N x N
        return np.zeros_like(platforms), np.zeros_like(funds)
    return platforms @ targets, funds @ targets


def _guidance(world: World, amount: np.ndarray) -> None:
    funds, lev = world.funds, world.params.guidance_leverage
    gids = world.guidance_fund
    money = amount * (1.0 + lev)
    funds.capital[gids] += money
    funds.raised[gids] += money
    funds.committed[gids] += money
