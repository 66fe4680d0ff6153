"""Submodel ``innovate``: R&D spending, subsidies and stochastic innovation.

Each alive firm ``f`` in city ``c`` spends

    rd_f = min(rd_intensity[sector] * (1 + k_f)^rd_capability_elasticity * revenue_f
               * u_c^-rd_price_elasticity, max(cash_f, 0))

on R&D, where ``revenue_f`` is its expected revenue (see ``operate``; it grows with the
city's productivity), ``k_f`` its capability (more capable firms are more R&D-intensive, so
the region's R&D intensity can rise as firms learn) and ``u_c`` the user
cost of one MU of R&D in its city,

    u_c = max(1 - rd_subsidy_max * coverage_c - firm_tax_rate * tax_relief_c, MIN_USER_COST),

``coverage_c`` being the share of R&D-subsidy claims the city paid last quarter (firms
expect this quarter's subsidy rate to be last quarter's) and ``tax_relief_c`` the R&D
super-deduction (see ``operate``). ``rd_intensity`` is thus the intensity at full cost.
The firm is reimbursed up to ``rd_subsidy_max * rd_f`` from the city's R&D subsidy pool
(pro rata when the pool is short). It then produces
``n_f ~ Binomial(T_f, 1 - exp(-lambda_f / T_f))`` innovations, ``T_f = floor(innovation_capacity
* staff_f)`` — Poisson-like with mean ~ ``lambda_f`` while ``lambda_f`` is small against
``T_f``, but at most ``innovation_capacity`` innovations per employee and quarter — with

    lambda_f = innov_rate * (1 + rel_intermediary * m_c) * (rd_f / P)^elast_rd
               * S_f^elast_talent * (1 + k_f)^elast_capability
               * ((K_c + E_c) / k_ref)^elast_knowledge
               * (1 + zone_innovation_gain * log2(1 + n_c)),

``P`` the income level (``grow``: R&D is mostly wages, so ``rd_f / P`` is real R&D
effort), ``n_c`` the city's national high-tech zones in force (policy ``hightech_zones``),
``m_c`` the intermediary coverage, ``S_f`` the summed skill of its staff, ``k_f`` its
capability, ``K_c`` the local knowledge stock and ``E_c`` the external knowledge absorbed
this step (``spill``). Each innovation has value
``v = P * innov_value[sector] * LogNormal(-sigma^2/2, sigma) * (1 - rel_ip_value * (1 - ip_c))``
MU (IP protection keeps value from imitation; an innovation serves a market that grows
with the income level ``P``).

Co-invention grows with access and the collaboration network. An innovation of city ``c``
is co-invented with another city with probability

    p_c = min(p_collab * (x_c / 0.5) * (1 + collab_network_elasticity * net_c), 0.9),

``x_c = E_c / (K_c + E_c)`` the external share of the knowledge the city uses (it rises
with proximity, corridors, open platforms and lower barriers, through ``spill``) and
``net_c = sum_j collab_cj`` its collaboration network (pair intensities, ``spill``). The
partner ``j`` is drawn with probability proportional to ``W0_cj * K_j`` (``W0``: the
distance-decay kernel of ``spill`` without the collaboration boost; only the partner city
is drawn, not a partner firm); the value is then credited half to each city and the pair's
collaboration count rises by one.

Credited value adds to the city's innovation index (a depreciating stock of value in MU:
``I' = (1 - index_depreciation) I + value``) and, deflated, to its knowledge stock (``K'
= (1 - knowledge_depreciation) K + value / P``, one knowledge unit per MU at the start's
prices). The firm's capability rises by ``learning_rate * value_f / P`` plus, where the
city runs university-industry joint centres, ``joint_centres * platform_knowledge *
platforms_c`` shared over the city's firms. The share of innovation due to external
knowledge is the counterfactual rate share ``1 - (K_c / (K_c + E_c))^elast_knowledge``.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import prorate, sample_rows
from model.submodels.grow import zone_target

__all__ = ["innovate", "compute_innovation_rate", "compute_innovation_trials",
           "compute_zone_factor",
           "compute_innovation_values",
           "compute_external_share", "compute_expected_revenue", "compute_rd_user_cost",
           "compute_collab_probability", "MIN_USER_COST"]

MIN_USER_COST = 0.1
"""Floor on the user cost of R&D: support never makes R&D (nearly) free to the firm."""
MAX_COLLAB_PROB = 0.9
"""Cap on the co-invention probability (some innovation is always local)."""


def compute_collab_probability(knowledge: np.ndarray, external: np.ndarray,
                               network: np.ndarray, base: float,
                               elasticity: float) -> np.ndarray:
    """Co-invention probability per city, shape (N,).

    ``min(base * (x / 0.5) * (1 + elasticity * network), 0.9)``, ``x = E / (K + E)``.
    Example: K [1, 3], E [1, 1], network [0, 0.5], base 0.1, elasticity 2 ->
    x [0.5, 0.25] -> [0.1, 0.1 * 0.5 * 2] = [0.1, 0.1].
    """
    tot = knowledge + external
    x = np.divide(external, tot, out=np.zeros_like(tot), where=tot > 0)
    return np.minimum(base * (x / 0.5) * (1.0 + elasticity * network), MAX_COLLAB_PROB)


def compute_rd_user_cost(subsidy_max: float, coverage: np.ndarray, tax_rate: float,
                         relief: np.ndarray) -> np.ndarray:
    """User cost of one MU of R&D: ``max(1 - s * coverage - tax_rate * relief, MIN_USER_COST)``.

    Example: s 0.5, coverage [1, 0.5], tax 0.15, relief [0, 1] -> [0.5, 0.6].
    """
    return np.maximum(1.0 - subsidy_max * coverage - tax_rate * relief, MIN_USER_COST)


def compute_expected_revenue(staff: np.ndarray, capability: np.ndarray, productivity: float,
                             capability_return: float, city_factor: np.ndarray | float = 1.0
                             ) -> np.ndarray:
    """Revenue per quarter before procurement: ``staff * productivity * (1 + k)^theta * z``.

    ``z`` is the city's revenue factor (``grow``: income level and relative productivity).
    Example: 10 staff, k = 3, productivity 1.6, theta 0.5, z 1.5 -> 10 * 1.6 * 2 * 1.5 = 48 MU.
    """
    return staff * productivity * (1.0 + capability) ** capability_return * city_factor


def compute_innovation_rate(rd: np.ndarray, skill_sum: np.ndarray, capability: np.ndarray,
                            knowledge_in: np.ndarray, intermediary: np.ndarray,
                            prm) -> np.ndarray:
    """Innovation rate ``lambda`` per firm (arrays (F,); ``knowledge_in = (K_c + E_c) / k_ref``).

    Example: rate 0.02, rd 4, S 4, k 0, knowledge_in 1, no intermediary, elasticities
    (0.5, 0.5, 0.2, 0.3) -> 0.02 * 2 * 2 * 1 * 1 = 0.08.
    """
    return (prm.innov_rate * (1.0 + prm.rel_intermediary * intermediary)
            * rd ** prm.elast_rd * skill_sum ** prm.elast_talent
            * (1.0 + capability) ** prm.elast_capability
            * knowledge_in ** prm.elast_knowledge)


def compute_zone_factor(zones: np.ndarray, gain: float) -> np.ndarray:
    """Innovation-rate factor of each city's national high-tech zones: ``1 + gain * log2(1 + n)``.

    The same form of ``n`` zones as their TFP gain (``grow.zone_target``).
    Example: zones [0, 1, 3], gain 0.2 -> [1, 1.2, 1.4].
    """
    return 1.0 + zone_target(zones, gain)


def compute_innovation_trials(lam: np.ndarray, staff: np.ndarray,
                              capacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Binomial trials and success probability of each firm's innovation draw.

    ``T = floor(capacity * staff)`` trials, each a success with ``1 - exp(-lam / T)``: the
    mean ``T * (1 - exp(-lam / T))`` is ~``lam`` while ``lam << T`` and saturates at ``T``.
    Example: lam [2, 2], staff [1, 4], capacity 1 -> trials [1, 4], p [1 - e^-2, 1 - e^-0.5];
    capacity 2.5 -> trials [2, 10], p [1 - e^-1, 1 - e^-0.2].
    """
    trials = np.floor(capacity * staff).astype(np.int64)
    p = -np.expm1(-np.divide(lam, trials, out=np.zeros_like(lam), where=trials > 0))
    return trials, p


def compute_innovation_values(counts: np.ndarray, mean_value: np.ndarray, ip: np.ndarray,
                              prm, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw one value per innovation.

    Parameters
    ----------
    counts : (F,) innovations per firm; mean_value, ip : (F,) per firm.

    Returns
    -------
    owner : (n,) firm position (into the F arrays) of each innovation.
    value : (n,) MU, lognormal with mean ``mean_value * (1 - rel_ip_value * (1 - ip))``.
    """
    owner = np.repeat(np.arange(len(counts)), counts)
    s = prm.innov_value_sigma
    noise = rng.lognormal(-0.5 * s * s, s, size=len(owner))
    keep = 1.0 - prm.rel_ip_value * (1.0 - ip[owner])
    return owner, mean_value[owner] * keep * noise


def compute_external_share(knowledge: np.ndarray, external: np.ndarray,
                           elast: float) -> np.ndarray:
    """Counterfactual share of the innovation rate due to external knowledge.

    ``1 - (K / (K + E))^elast``. Example: K = E, elast 0.5 -> 1 - 0.5^0.5 = 0.2929.
    """
    tot = knowledge + external
    ratio = np.divide(knowledge, tot, out=np.ones_like(tot), where=tot > 0)
    return 1.0 - ratio ** elast


def innovate(world: World, rng: np.random.Generator) -> None:
    """R&D, subsidies, innovation draws, collaboration, and the index/knowledge update."""
    c, f, t, prm, n = world.city, world.firms, world.talent, world.params, world.geo.n
    alive = np.flatnonzero(f.view("alive"))
    city = f.city[alive]
    sector = f.sector[alive]
    cap = f.capability[alive]
    staff = f.staff[alive].astype(float)
    level = world.income_level
    revenue = compute_expected_revenue(staff, cap, prm.productivity, prm.capability_return,
                                       c.productivity[city])
    rd_int = np.asarray(prm.rd_intensity)[sector] * (1.0 + cap) ** prm.rd_capability_elasticity
    cost = compute_rd_user_cost(prm.rd_subsidy_max, c.rd_coverage, prm.firm_tax_rate,
                                world.policy["tax_relief"])
    demand = rd_int * revenue * (cost ** -prm.rd_price_elasticity)[city]
    rd = np.minimum(demand, np.maximum(f.cash[alive], 0.0))
    claim = prm.rd_subsidy_max * rd
    subsidy = prorate(claim, city, c.rd_pool)
    paid = np.bincount(city, weights=subsidy, minlength=n)
    claimed = np.bincount(city, weights=claim, minlength=n)
    c.rd_coverage = np.divide(paid, claimed, out=np.ones(n), where=claimed > 0)
    c.rd_pool = np.maximum(c.rd_pool - paid, 0.0)  # a pool paid out in full may round below 0
    c.spent += paid
    f.cash[alive] += subsidy - rd
    f.rd[alive] = rd
    world.tick["rd_spent"] += np.bincount(city, weights=rd, minlength=n)
    world.tick["rd_subsidy"] += paid
    # staff skill per firm
    emp = t.view("employer")
    employed = emp >= 0
    skill_sum = np.bincount(emp[employed], weights=t.view("skill")[employed],
                            minlength=f.n)[alive]
    k_in = (c.knowledge + c.external) / world.k_ref
    lam = compute_innovation_rate(rd / level, skill_sum, cap, k_in[city], c.intermediary[city],
                                  prm)
    if prm.zone_innovation_gain:
        lam = lam * compute_zone_factor(world.policy["hightech_zones"],
                                        prm.zone_innovation_gain)[city]
    trials, p_each = compute_innovation_trials(lam, staff, prm.innovation_capacity)
    counts = rng.binomial(trials, p_each)
    owner, value = compute_innovation_values(
        counts, np.asarray(prm.innov_value)[sector] * level, c.ip[city], prm, rng)
    value_f = np.bincount(owner, weights=value, minlength=len(alive))
    # co-invention across cities
    credit_city = city[owner]
    credit = value.copy()
    partner = np.full(len(owner), -1)
    if n > 1 and prm.p_collab > 0 and len(owner):
        p_co = compute_collab_probability(c.knowledge, c.external, c.network, prm.p_collab,
                                          prm.collab_network_elasticity)
        world.tick["co_prob"] += p_co
        is_co = rng.random(len(owner)) < p_co[credit_city]
        attract = world.spill_weights * c.knowledge[None, :]
        reachable = attract.sum(axis=1) > 0
        is_co &= reachable[credit_city]
        rows = credit_city[is_co]
        if len(rows):
            partner[is_co] = sample_rows(attract, rows, rng)
    co = partner >= 0
    credit[co] *= 0.5
    city_value = (np.bincount(credit_city, weights=credit, minlength=n)
                  + np.bincount(partner[co], weights=credit[co], minlength=n))
    if co.any():
        pair = np.zeros((n, n))
        np.add.at(pair, (credit_city[co], partner[co]), 1.0)
        pair += pair.T
        c.collab += pair
        world.flows["collaboration"] += pair
        cross = np.bincount(credit_city[co], minlength=n) + np.bincount(partner[co], minlength=n)
        world.tick["collab_cross"] += cross
        world.tick["collab_value_cross"] += (
            np.bincount(credit_city[co], weights=credit[co], minlength=n)
            + np.bincount(partner[co], weights=credit[co], minlength=n))
    # firms learn
    f.innovations[alive] += counts
    f.value[alive] += value_f
    n_firms_city = np.bincount(city, minlength=n)
    joint = (world.policy["joint_centres"] * prm.platform_knowledge * c.platforms
             / np.maximum(n_firms_city, 1))
    f.capability[alive] = cap + prm.learning_rate * value_f / level + joint[city]
    # city stocks
    ext_share = compute_external_share(c.knowledge, c.external, prm.elast_knowledge)
    world.tick["innovations"] += np.bincount(city, weights=counts, minlength=n)
    c.innov_stock += (np.bincount(credit_city, minlength=n)
                      + np.bincount(partner[co], minlength=n))
    world.tick["innov_value"] += city_value
    world.tick["external_value"] += city_value * ext_share
    c.index = (1.0 - prm.index_depreciation) * c.index + city_value
    c.knowledge = (1.0 - prm.knowledge_depreciation) * c.knowledge + city_value / level
