"""Submodel ``settle``: residents move between cities toward higher output per head.

A city's residents ``N_i`` (10,000 people; the 2000 census at the start) are a stock, not
agents. Each quarter, before output is made (``grow``), the share of ``i``'s residents
moving to ``j != i`` is

    m_ij = resident_mobility / 4 * g_ij * max(ln y_j - ln y_i, 0),

with ``y = Y / N`` last quarter's output per head (wages follow it, ``grow``) and ``g_ij``
the destination choice of a mover from ``i`` (a gravity model: larger and nearer cities
draw more),

    g_ij = N_j exp(-d_ij / resident_distance_km - resident_barrier * B_ij)
           / sum_{k != i} N_k exp(-d_ik / resident_distance_km - resident_barrier * B_ik),

``d_ij`` the great-circle distance and ``B_ij`` the provincial barrier left between the pair
(1 between provinces unless lifted by integration, see ``spill``; hukou, family and
language keep most moves within a province). People move only to better-off cities, more
the larger the gap. A city's outflow is at most ``MAX_RESIDENT_OUTFLOW`` of its residents a
quarter. Then

    N_i' = N_i - N_i sum_j m_ij + sum_j N_j m_ji,

so moves within the region conserve its residents (the income level, output per head of
the whole region, is unaffected by them). Moving raises the destination's output less than in
proportion (``grow``: residents are a factor with diminishing returns), so output per head
falls where people arrive and rises where they leave: the moves close the gaps they
respond to. ``resident_mobility = 0`` holds every city at the 2000 census.

Then newcomers from the rest of China arrive: ``resident_inflow / 4`` of the region's
residents a quarter, spread over the cities in proportion to

    s_j = N_j (y_j / y_mean)^resident_inflow_elasticity      (normalised to sum 1),

a gravity-logit choice on the log of output per head (wages follow it) with no distance
or provincial barrier inside the region (every newcomer crosses a provincial border to
come). The region's residents grow by exactly the inflow. ``resident_inflow = 0`` (the
default) closes the region.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.submodels.renew import compute_inflow_shares

__all__ = ["settle", "compute_resident_moves", "compute_resident_inflow",
           "MAX_RESIDENT_OUTFLOW"]

MAX_RESIDENT_OUTFLOW = 0.05
"""Cap on the share of a city's residents leaving in one quarter (a numerical guard: at
calibrated mobilities the outflow stays far below it)."""


def compute_resident_moves(population: np.ndarray, gdp: np.ndarray, dist_km: np.ndarray,
                           barrier: np.ndarray, mobility: float, decay_km: float,
                           barrier_cost: float) -> np.ndarray:
    """Residents moving from ``i`` (row) to ``j`` (column) this quarter, shape (N, N).

    Example: two cities 100 km apart in one province, residents [100, 100], output [100,
    100 e] (log gap 1), mobility 0.16 -> the only destination of city 0 is city 1
    (g_01 = 1): m_01 = 0.04 * 1 * 1 = 0.04 -> 4 residents move from 0 to 1, none back.
    """
    y = np.log(np.maximum(gdp, 1e-300) / population)
    gap = np.maximum(y[None, :] - y[:, None], 0.0)
    attract = population[None, :] * np.exp(-dist_km / decay_km - barrier_cost * barrier)
    np.fill_diagonal(attract, 0.0)
    total = attract.sum(axis=1, keepdims=True)
    choice = np.divide(attract, total, out=np.zeros_like(attract), where=total > 0)
    share = mobility / 4.0 * choice * gap
    out = share.sum(axis=1, keepdims=True)
    share *= np.minimum(1.0, MAX_RESIDENT_OUTFLOW / np.maximum(out, 1e-300))
    return population[:, None] * share


def compute_resident_inflow(population: np.ndarray, gdp: np.ndarray, rate: float,
                            elasticity: float) -> np.ndarray:
    """Newcomers from the rest of China arriving in each city this quarter, shape (N,).

    ``rate / 4 * sum(N)`` newcomers in all, shared in proportion to
    ``N_j * (y_j / y_mean)^elasticity`` with ``y = gdp / population``.

    Example: residents [100, 100], output [100, 400] (output per head 1 and 4, mean 2.5),
    rate 0.04, elasticity 1 -> 0.01 * 200 = 2 newcomers, weights [40, 160] -> [0.4, 1.6];
    at elasticity 0 they split as the residents: [1, 1].
    """
    if rate <= 0:
        return np.zeros_like(population)
    y = np.maximum(gdp, 1e-300) / population
    # the same gravity-logit shares as talent newcomers (renew): size * exp(utility)
    share = compute_inflow_shares(elasticity * np.log(y), population)
    return rate / 4.0 * population.sum() * share


def settle(world: World, rng: np.random.Generator) -> None:
    """Move residents, then add the newcomers (deterministic: ``rng`` is unused)."""
    c, prm, geo = world.city, world.params, world.geo
    if prm.resident_mobility > 0 and geo.n >= 2:
        _move(world)
    if prm.resident_inflow > 0:
        arrived = compute_resident_inflow(c.population, c.gdp, prm.resident_inflow,
                                          prm.resident_inflow_elasticity)
        world.tick["residents_arrived"] += arrived
        c.population = c.population + arrived


def _move(world: World) -> None:
    """Residents' moves between cities toward higher output per head."""
    c, prm, geo = world.city, world.params, world.geo
    # world.barrier: the provincial barrier left, set by this quarter's spill (which runs first)
    moves = compute_resident_moves(c.population, c.gdp, geo.dist_km, world.barrier,
                                   prm.resident_mobility, prm.resident_distance_km,
                                   prm.resident_barrier)
    world.tick["residents_moved"] += moves.sum(axis=1)
    c.population = c.population - moves.sum(axis=1) + moves.sum(axis=0)
