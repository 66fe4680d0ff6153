"""Submodel ``govern``: government budgets and their spending on every instrument.

Each quarter every city government receives ``budget_rate * GDP_real / 4`` (converted to MU
by the sample scale, times the policy's ``budget_multiplier``) on top of the profit taxes its
firms paid last quarter, then splits its budget by the policy's shares. ``GDP_real`` is the
city's GDP deflated by regional growth, ``GDP * GDP_region_start / GDP_region_now``: MU
are constant (a base wage), so budgets follow a city's share of regional output, not
nominal growth, and stay commensurate with firms' costs:

* ``share_rd_subsidy`` -> R&D subsidy pool (paid out in ``innovate``)
* ``share_talent`` -> talent subsidy pool; sets the offer to arriving talent (``migrate``)
* ``share_guidance`` -> the city's guidance fund, levering ``guidance_leverage`` private MU
* ``share_credit`` -> low-interest SME credit pool (``operate``)
* ``share_platform`` -> platforms (labs, incubators, open platforms): ``+amount/platform_cost``
* ``share_basic_research`` -> knowledge: ``+basic_research_productivity * amount``
* ``share_ip``, ``share_culture`` -> IP protection and culture levels
* ``share_procurement`` -> public procurement pool (``operate``)
* ``share_intermediary`` -> technology-intermediary coverage this quarter,
  ``1 - exp(-intermediary_efficiency * amount / alive firms)``
* ``share_lead`` -> platforms in the policy's ``lead_targets`` cities ("core leads")
* ``share_lead_fund`` -> the guidance funds of the ``lead_targets`` cities (co-funding,
  levered by ``guidance_leverage`` like a city's own guidance money)

Unallocated budget is kept. Negative competition: with ``competition_intensity`` c > 0 a
government raises its talent offer toward the highest offer of a rival within
``competition_radius_km``: ``offer += c * max(0, rival_max - offer)``; the extra is paid
from the same pool, so aggressive bidding drains it faster.
"""

from __future__ import annotations

import numpy as np

from model.entities import World

__all__ = ["govern", "compute_revenue", "compute_level", "compute_competitive_offer",
           "compute_intermediary_coverage"]


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


def govern(world: World, rng: np.random.Generator) -> None:
    """Collect revenue and spend it on the instruments (updates city state and funds)."""
    c, pol, prm = world.city, world.policy, world.params
    gdp_real = c.gdp * (world.gdp_base / c.gdp.sum())
    income = compute_revenue(gdp_real, world.scale, prm.budget_rate, pol["budget_multiplier"])
    c.budget += income
    c.revenue += income
    b = c.budget.copy()
    amount = {k: pol[k] * b for k in (
        "share_rd_subsidy", "share_talent", "share_guidance", "share_credit", "share_platform",
        "share_basic_research", "share_ip", "share_culture", "share_procurement",
        "share_intermediary", "share_lead", "share_lead_fund")}
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
    c.platforms += amount["share_platform"] / prm.platform_cost
    lead_platforms, lead_fund = _lead(world, amount["share_lead"], amount["share_lead_fund"])
    c.platforms += lead_platforms / prm.platform_cost
    c.knowledge += prm.basic_research_productivity * amount["share_basic_research"]
    # IP protection and culture
    gdp_mu = gdp_real * world.scale / 4.0
    c.ip = compute_level(c.ip, c.ip0, amount["share_ip"], gdp_mu, prm.culture_response,
                         prm.culture_decay)
    c.culture = compute_level(c.culture, c.culture0, amount["share_culture"], gdp_mu,
                              prm.culture_response, prm.culture_decay)
    c.intermediary = compute_intermediary_coverage(amount["share_intermediary"],
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
