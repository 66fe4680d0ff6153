"""Submodel ``invest``: venture capital — deployment with home bias, screening, exits, next funds.

**Reach.** Fund ``f`` based in city ``h`` reaches city ``c`` with weight
``R_fc = exp(-d_hc / vc_reach_km) * b_fc`` (``d``: effective distance, corridors shorten
it); ``b_fc = 1 - (1 - barrier_vc) * B_hc * (1 - vc_cross_region_h)``, ``B`` the provincial
barrier left between the pair (``spill``: 1 between provinces unless integration lifts
part of it; financial synergy lifts it for the funds of a city).

**Deployment.** Each quarter a fund seeks to invest ``deploy_rate * capital``, spread over
cities in proportion to ``R_fc * supply_fc * (1 + I_c / mean I)^0.5``, where ``supply_fc``
counts unfunded startups and scale-ups there (its preferred stage fully, the other at
0.3) and the last factor is the ecosystem signal. Guidance funds are funds like others,
homed in their city, filled by ``govern``.

**Screening.** In each city the money available buys deals in order of the firms' noisy
quality signal ``log(1 + capability) + screen_noise * Z``; a deal costs ``ticket[stage]``
times the income level (``grow``: deal sizes follow wages)
and goes to a fund drawn in proportion to the funds' money in that city. Deals a fund
cannot pay for are dropped. A funded firm receives the ticket as cash and keeps its lead
fund (one VC round per firm in this version).

**Exits.** A VC-backed firm exits (IPO or acquisition) with probability ``exit_rate``
per quarter if mature (``0.3 * exit_rate`` if a scale-up), plus
``otc_market_c * exit_rate`` if it is a startup or scale-up in a city with an
over-the-counter market for tech SMEs (Tokyo); proceeds ``exit_multiple * capability``
(times the income level)
go to its fund's LPs.

**Next fund (the Boston cycle).** After ``fund_life`` quarters a private fund raises its
next vintage of size ``committed * clip(multiple^fund_growth_elast, 1/fund_max_growth,
fund_max_growth)``, ``multiple = proceeds / invested`` of the ending vintage: good exits
make the next fund larger, poor ones smaller.

Money: for every fund, ``capital = raised + reimbursed - invested`` at all times.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import cumsum_within, sample_rows

__all__ = ["invest", "compute_reach", "compute_next_fund_size", "compute_deals"]

OTHER_STAGE_WEIGHT = 0.3  # supply weight of the non-preferred stage (assumption)
SCALEUP_EXIT_FACTOR = 0.3  # exit hazard of scale-ups relative to mature firms (assumption)


def compute_reach(home: np.ndarray, dist_km: np.ndarray, province: np.ndarray,
                  reach_km: float, barrier: float, cross_region: np.ndarray,
                  barrier_pairs: np.ndarray | None = None) -> np.ndarray:
    """Reach matrix ``R`` shape (F, N) of funds over cities.

    ``barrier_pairs`` (N, N) is the provincial barrier left per pair (``spill``; None: the
    whole barrier between provinces). The barrier factor is ``1 - (1 - barrier) * B_hc *
    (1 - cross_region_h)``.

    Example: home city 0; city 1 at 200 km in another province; reach 200, barrier 0.4,
    no synergy -> ``R[0] = [1, e^-1 * 0.4] = [1, 0.1472]``; full synergy -> ``[1, 0.3679]``.
    """
    r = np.exp(-dist_km[home] / reach_km)
    if barrier_pairs is None:
        barrier_pairs = (province[:, None] != province[None, :]).astype(float)
    left = barrier_pairs[home] * (1.0 - cross_region[home])[:, None]
    return r * (1.0 - (1.0 - barrier) * left)


def compute_next_fund_size(committed: np.ndarray, invested: np.ndarray, proceeds: np.ndarray,
                           elast: float, max_growth: float) -> np.ndarray:
    """Size of the next vintage from the ending vintage's multiple.

    Example: committed 100, invested 80, proceeds 160 (multiple 2), elast 1, cap 3 -> 200;
    proceeds 0 -> 100 / 3.
    """
    with np.errstate(over="ignore"):
        multiple = np.divide(proceeds, invested, out=np.zeros_like(proceeds), where=invested > 0)
        growth = np.clip(multiple ** elast, 1.0 / max_growth, max_growth)
    return committed * growth


def compute_deals(city: np.ndarray, signal: np.ndarray, ticket: np.ndarray,
                  money: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
    """Which candidates get funded: best signals first while the city's money lasts.

    Parameters
    ----------
    city, signal, ticket : (K,) candidates.
    money : (N,) money available per city.
    u : (K,) uniform draws in [0, 1), or None. With draws, the first candidate of a city
        that no longer fits (the marginal deal) is funded when ``u < left / ticket``,
        ``left`` the city's money not yet spent: a city's expected spending is then its
        money, and a share smaller than one ticket buys a deal now and then instead of
        never. Without draws the marginal deal is never funded.

    Returns
    -------
    bool (K,): funded. Example: one city with money 5, tickets [2, 2, 2], signals
    [1, 3, 2] -> candidates 1 and 2 are funded (cumulative 2, 4 <= 5; the third would be
    6); with draws, candidate 0 (the marginal deal, 1 left of its ticket 2) also is when
    its draw is below 0.5.
    """
    order = np.lexsort((-signal, city))
    c_sorted = city[order]
    within = cumsum_within(c_sorted, ticket[order])
    room = money[c_sorted]
    fits = (within <= room + 1e-9) & (room > 0)
    funded = np.zeros(len(city), dtype=bool)
    funded[order] = fits
    if u is not None and len(city):
        t = ticket[order]
        before = within - t  # what the city has spent on the better candidates
        # the marginal deal: the first in its city's order that does not fit, i.e. every
        # better candidate fits (tickets are positive, so the cumulative sum only rises)
        marginal = ~fits & (before <= room + 1e-9) & (room > 0)
        left = np.maximum(room[marginal] - before[marginal], 0.0)
        funded[order[marginal]] = u[order[marginal]] < left / t[marginal]
    return funded


def invest(world: World, rng: np.random.Generator) -> None:
    """Deploy VC, fund deals, realise exits and raise next vintages."""
    c, f, fu, prm, geo = world.city, world.firms, world.funds, world.params, world.geo
    n = geo.n
    nf = fu.n
    if nf == 0:
        return
    cross_region = world.policy["vc_cross_region"]
    key = (world.spill_key, nf, cross_region.tobytes())
    if world.reach is None or world.reach[0] != key:  # changes only with corridors or policy
        world.reach = (key, compute_reach(fu.view("home"), world.distances(), geo.province,
                                          prm.vc_reach_km, prm.barrier_vc, cross_region,
                                          world.barrier))
    reach = world.reach[1]
    alive = f.view("alive")
    cand = np.flatnonzero(alive & (f.view("fund") < 0) & (f.view("exits") == 0)
                          & (f.view("stage") <= 1))
    if len(cand):
        cc = f.city[cand]
        stage = f.stage[cand].astype(np.int64)
        supply = np.zeros((2, n))
        np.add.at(supply, (stage, cc), 1.0)
        pref = fu.view("stage_pref").astype(np.int64)
        sup_f = supply[pref] + OTHER_STAGE_WEIGHT * supply[1 - pref]
        mean_index = c.index.mean()
        eco = np.sqrt(1.0 + (c.index / mean_index if mean_index > 0 else np.zeros(n)))
        w = reach * sup_f * eco[None, :]
        wsum = w.sum(axis=1)
        deploy = prm.deploy_rate * fu.view("capital")
        alloc = np.divide(w * deploy[:, None], wsum[:, None], out=np.zeros_like(w),
                          where=wsum[:, None] > 0)
        money = alloc.sum(axis=0)
        signal = np.log1p(f.capability[cand]) + prm.screen_noise * rng.standard_normal(len(cand))
        ticket = np.asarray(prm.ticket)[stage] * world.income_level
        funded = compute_deals(cc, signal, ticket, money, rng.random(len(cand)))
        if funded.any():
            _close_deals(world, cand[funded], ticket[funded], alloc, rng)
    _exits(world, rng)
    _next_funds(world)


def _close_deals(world: World, firm_ids: np.ndarray, ticket: np.ndarray, alloc: np.ndarray,
                 rng: np.random.Generator) -> None:
    f, fu, n = world.firms, world.funds, world.geo.n
    city = f.city[firm_ids]
    fund = sample_rows(alloc.T, city, rng)
    # drop deals a fund cannot pay for (random order within fund)
    order = np.lexsort((rng.random(len(fund)), fund))
    cum = np.zeros(len(fund))
    cum[order] = cumsum_within(fund[order], ticket[order])
    ok = cum <= fu.capital[fund] + 1e-9
    firm_ids, ticket, city, fund = firm_ids[ok], ticket[ok], city[ok], fund[ok]
    charge = np.bincount(fund, weights=ticket, minlength=fu.n)
    fu.capital[: fu.n] -= charge
    fu.invested[: fu.n] += charge
    fu.vintage_in[: fu.n] += charge
    fu.deals[: fu.n] += np.bincount(fund, minlength=fu.n).astype(np.int32)
    f.cash[firm_ids] += ticket
    f.vc_in[firm_ids] += ticket
    f.fund[firm_ids] = fund
    home = fu.home[fund]
    np.add.at(world.flows["capital"], (home, city), ticket)
    world.tick["vc_invested"] += np.bincount(city, weights=ticket, minlength=n)
    world.tick["vc_deals"] += np.bincount(city, minlength=n)
    cross = world.geo.province[home] != world.geo.province[city]
    world.tick["vc_cross_province"] += np.bincount(city[cross], weights=ticket[cross], minlength=n)


def _exits(world: World, rng: np.random.Generator) -> None:
    f, fu, prm = world.firms, world.funds, world.params
    backed = np.flatnonzero(f.view("alive") & (f.view("fund") >= 0))
    if not len(backed):
        return
    stage = f.stage[backed]
    hazard = prm.exit_rate * (np.select([stage == 2, stage == 1], [1.0, SCALEUP_EXIT_FACTOR], 0.0)
                              + np.where(stage <= 1, world.policy["otc_market"][f.city[backed]],
                                         0.0))
    hazard = np.minimum(hazard, 1.0)
    ex = backed[rng.random(len(backed)) < hazard]
    if not len(ex):
        return
    proceeds = prm.exit_multiple * world.income_level * f.capability[ex]
    fund = f.fund[ex]
    np.add.at(fu.proceeds, fund, proceeds)
    np.add.at(fu.vintage_out, fund, proceeds)
    f.fund[ex] = -1
    f.exits[ex] = 1
    world.tick["exits"] += np.bincount(f.city[ex], minlength=world.geo.n)


def _next_funds(world: World) -> None:
    fu, prm = world.funds, world.params
    due = np.flatnonzero(~fu.view("guidance")
                         & (world.step - fu.view("vintage_start") >= prm.fund_life))
    if not len(due):
        return
    size = compute_next_fund_size(fu.committed[due], fu.vintage_in[due], fu.vintage_out[due],
                                  prm.fund_growth_elast, prm.fund_max_growth)
    fu.capital[due] += size
    fu.raised[due] += size
    fu.committed[due] = size
    fu.vintage_in[due] = 0.0
    fu.vintage_out[due] = 0.0
    fu.vintage_start[due] = world.step
