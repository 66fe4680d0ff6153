"""Submodel ``spill``: knowledge spillovers between cities.

The spillover kernel from city ``j`` to city ``i`` is

    W_ij = exp(-d_eff_ij / spill_decay_km) * b_ij * (1 + collab_spill_boost * collab_ij),
    W_ii = 0,

where ``d_eff_ij = d_ij * corridor_distance_factor`` when both cities are corridor members
with the corridor active (else ``d_ij``), times ``hsr_distance_factor`` when both have a
station on the high-speed rail network (``hsr_station``, a dated input). ``spill`` keeps
this effective-distance matrix in ``world.eff_dist``, and ``invest``, ``migrate`` and
``relocate`` use it too, so talent, capital and firms flow along the corridor as knowledge
does. ``b_ij = barrier_spill``
between provinces and 1 within one, and ``collab_ij`` is the collaboration intensity of the
pair: its decaying count of co-inventions over the mean decaying count of innovations of
the two cities,
``C_ij / max((S_i + S_j) / 2, 1)`` — a share, so it does not grow with the number of
agents. Both counts decay by ``COLLAB_DECAY`` per quarter.

The provincial barrier of a pair, ``B_ij`` in [0, 1] (1 between provinces, 0 within one),
is lowered where both cities have lifted part of it (``integration``, a dated policy:
``B_ij = 1 - min(integration_i, integration_j)`` between provinces); the kernel's barrier
factor is ``1 - (1 - barrier_spill) * B_ij``, and ``migrate``, ``relocate`` and ``invest``
use the same ``B`` (``world.barrier``).

City ``i`` absorbs external knowledge

    E_i = spill_rate * a_i * sum_j W_ij * K_j,    a_i = h_i / (h_i + absorb_half),

with ``h_i`` the city's knowledge per talent agent (absorptive capacity, Cohen and
Levinthal). ``E`` enters innovation this step; it is not added to the stock ``K`` (which
would double count it). The flow matrix ``F_ij = spill_rate * a_i * W_ij * K_j`` is
accumulated into ``flows["knowledge"][j, i]`` (from ``j`` to ``i``).

Platforms also produce knowledge (``platform_knowledge`` per unit per quarter): the
share ``platform_sharing`` of it is open to other cities and spreads over them in
proportion to ``W``; the rest stays at home ("resource sharing"). A city with lead
targets ("core leads") opens its shared platforms to its targets instead, in the
proportions of its lead-target row.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.params import REFERENCE_TALENT

__all__ = ["spill", "external_knowledge", "compute_spill_kernel", "compute_barrier",
           "compute_collab_intensity", "compute_effective_distance",
           "compute_absorptive_capacity", "compute_spillover", "compute_platform_sharing",
           "compute_research_knowledge"]

COLLAB_DECAY = 0.05  # per quarter; documented in ODD 7.2 (assumption)


def compute_effective_distance(dist_km: np.ndarray, corridor: np.ndarray,
                               factor: float, hsr: np.ndarray | None = None,
                               hsr_factor: float = 1.0) -> np.ndarray:
    """Distances with corridor pairs and high-speed-rail pairs shortened.

    ``d * factor`` if both ends are on an active corridor, times ``hsr_factor`` if both
    have a high-speed rail station (``hsr``; None: none has). Example: 100 km between two
    active corridor cities, factor 0.5 -> 50 km; to a city off the corridor -> unchanged;
    if both also have a station, hsr_factor 0.6 -> 30 km.
    """
    pair = corridor[:, None] & corridor[None, :]
    d = np.where(pair, dist_km * factor, dist_km)
    if hsr is not None and hsr_factor != 1.0:
        d = np.where(hsr[:, None] & hsr[None, :], d * hsr_factor, d)
    return d


def compute_barrier(province: np.ndarray, integration: np.ndarray) -> np.ndarray:
    """How much of the provincial barrier stands between each pair, shape (N, N), in [0, 1].

    ``B_ij = [province_i != province_j] * (1 - min(integration_i, integration_j))``.
    Example: provinces [0, 1, 1], integration [0.5, 1, 0] -> B[0, 1] = 0.5, B[0, 2] = 1,
    B[1, 2] = 0 (same province).
    """
    lift = np.minimum(integration[:, None], integration[None, :])
    return (province[:, None] != province[None, :]) * (1.0 - lift)


def compute_spill_kernel(eff_dist: np.ndarray, province: np.ndarray, decay_km: float,
                         barrier: float, barrier_pairs: np.ndarray | None = None) -> np.ndarray:
    """Distance-decay spillover kernel without collaboration, shape (N, N), zero diagonal.

    Parameters
    ----------
    eff_dist : (N, N) effective distances (:func:`compute_effective_distance`: corridor and
        high-speed rail pairs already shortened).
    province : (N,) province index.
    barrier_pairs : (N, N) or None
        :func:`compute_barrier` (integration lifts part of it); None: the whole barrier
        between provinces.

    Example: two cities 150 km apart in different provinces, decay 150, barrier 0.5:
    ``W = e^-1 * 0.5 = 0.1839``; at an effective 75 km (both active corridor cities with
    factor 0.5): ``e^-0.5 * 0.5 = 0.3033``; with half the barrier lifted: ``e^-1 * 0.75``.
    """
    w = np.exp(-eff_dist / decay_km)
    if barrier_pairs is None:
        barrier_pairs = (province[:, None] != province[None, :]).astype(float)
    w = w * (1.0 - (1.0 - barrier) * barrier_pairs)
    np.fill_diagonal(w, 0.0)
    return w


def compute_collab_intensity(count: np.ndarray, innov_stock: np.ndarray) -> np.ndarray:
    """Pair intensity ``C_ij / max((S_i + S_j) / 2, 1)``, shape (N, N).

    Example: 3 co-inventions between cities with 10 and 2 innovations -> 3 / 6 = 0.5.
    """
    return count / np.maximum(0.5 * (innov_stock[:, None] + innov_stock[None, :]), 1.0)


def compute_absorptive_capacity(knowledge: np.ndarray, talent: np.ndarray,
                                half: float) -> np.ndarray:
    """``a = h / (h + half)`` with ``h = knowledge / max(talent, 1)``.

    Example: knowledge 10, talent 10, half 1 -> h 1, a 0.5.
    """
    h = knowledge / np.maximum(talent, 1.0)
    return h / (h + half)


def compute_spillover(weights: np.ndarray, knowledge: np.ndarray, absorb: np.ndarray,
                      rate: float) -> np.ndarray:
    """Flow matrix ``F[i, j] = rate * absorb[i] * weights[i, j] * knowledge[j]`` (into i from j).

    Example: W = [[0, .5], [.5, 0]], K = [2, 4], a = [1, .5], rate 1 -> F = [[0, 2], [.5, 0]];
    external knowledge ``F.sum(1) = [2, .5]``.
    """
    return (rate * absorb)[:, None] * weights * knowledge[None, :]


def compute_platform_sharing(weights: np.ndarray, shared: np.ndarray,
                             lead: np.ndarray | None = None) -> np.ndarray:
    """Where shared platform knowledge goes: ``to[i, j]``, from source ``j`` to ``i``.

    A source's shared knowledge spreads in proportion to its column of ``weights``; a
    source with lead targets (a non-zero row of the row-normalised ``lead``) sends it to
    them instead. Knowledge that reaches no one is not in ``to`` (it stays home).

    Example: W = [[0, 1, 1], [1, 0, 0], [1, 0, 0]], shared = [4, 0, 0] -> to[:, 0] = [0, 2, 2];
    with lead row 0 = [0, 0, 1] -> to[:, 0] = [0, 0, 4].
    """
    if not shared.any():  # nobody shares (the status quo): skip the N x N work
        return np.zeros_like(weights)
    col = weights.sum(axis=0)  # how strongly each source reaches others
    to = np.divide(weights * shared[None, :], col[None, :], out=np.zeros_like(weights),
                   where=col[None, :] > 0)
    if lead is not None:
        leads = lead.sum(axis=1) > 0
        if leads.any():
            to[:, leads] = lead[leads].T * shared[leads][None, :]
    return to


def compute_research_knowledge(research: np.ndarray, world: World, prm) -> np.ndarray:
    """Knowledge from centrally funded research per city this quarter, shape (N,).

    ``research_output * 100 * s * init_research_share * R / mean R * income_level``, ``s``
    the sample factor: at the start it renews the research part of the initial stock
    (``init``) at the default ``research_output = knowledge_depreciation``. Example: R [1, 3],
    output 0.04, s 1, share 0.5, level 2 -> 0.04 * 100 * 0.5 * [0.5, 1.5] * 2 = [2, 6].
    """
    if research.sum() <= 0:
        return np.zeros_like(research)
    sample = prm.n_talent / REFERENCE_TALENT
    return (prm.research_output * 100.0 * sample * prm.init_research_share
            * research / research.mean() * world.income_level)


def external_knowledge(world: World) -> tuple[np.ndarray, np.ndarray]:
    """The kernel with collaboration ``W`` and the flow matrix ``F`` (N, N) of this step.

    Also sets the cities' absorptive capacity and collaboration network (the row sums of
    the pair intensities, used by ``innovate``). No flows are recorded.
    """
    c, prm, geo = world.city, world.params, world.geo
    active = geo.corridor & world.policy["corridor_active"].astype(bool)
    integration = world.policy["integration"]
    # stations matter only where the rail shortens distances (factor below 1)
    hsr = (world.policy["hsr_station"].astype(bool) if prm.hsr_distance_factor != 1.0
           else None)
    key = (tuple(np.flatnonzero(active)), integration.tobytes(),
           () if hsr is None else tuple(np.flatnonzero(hsr)))
    if world.spill_weights is None or world.spill_key != key:
        world.eff_dist = compute_effective_distance(geo.dist_km, active,
                                                    prm.corridor_distance_factor, hsr,
                                                    prm.hsr_distance_factor)
        world.barrier = compute_barrier(geo.province, integration)
        world.spill_weights = compute_spill_kernel(world.eff_dist, geo.province,
                                                   prm.spill_decay_km, prm.barrier_spill,
                                                   world.barrier)
        world.spill_key = key
    intensity = compute_collab_intensity(c.collab, c.innov_stock)
    c.network = intensity.sum(axis=1)
    w = world.spill_weights * (1.0 + prm.collab_spill_boost * intensity)
    c.absorb = compute_absorptive_capacity(c.knowledge, world.talent_count().astype(float),
                                           prm.absorb_half)
    return w, compute_spillover(w, c.knowledge, c.absorb, prm.spill_rate)


def spill(world: World, rng: np.random.Generator) -> None:
    """Compute this step's external knowledge per city and record the flows."""
    c, prm = world.city, world.params
    w, flow = external_knowledge(world)
    c.external = flow.sum(axis=1)
    world.flows["knowledge"] += flow.T
    world.tick["knowledge_cross_province"] += (flow * world.cross_province).sum(axis=1)
    # centrally funded research (universities, institutes) renews knowledge where it sits
    c.knowledge += compute_research_knowledge(c.research, world, prm)
    # platform knowledge: home share and shared share
    produced = prm.platform_knowledge * c.platforms
    share = world.policy["platform_sharing"]
    shared = produced * share
    to = compute_platform_sharing(w, shared, world.policy.get("_lead_targets"))
    received = to.sum(axis=1)
    kept = produced - shared + (shared - to.sum(axis=0))  # unreachable share stays home
    c.knowledge += kept + received
    world.tick["shared_knowledge"] += received
    c.collab *= 1.0 - COLLAB_DECAY
    c.innov_stock *= 1.0 - COLLAB_DECAY
