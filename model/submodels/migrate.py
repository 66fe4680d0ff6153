"""Submodel ``migrate``: talent migration by random utility (multinomial logit).

A share ``p_search`` of talent reconsider their city each quarter. A searcher in city
``i`` values city ``j`` at

    U_ij = beta_wage * log(wage_j) + beta_opportunity * log(1 + firms_j)
           + beta_amenity * amenity_j + beta_culture * culture_j
           - beta_cost * log(rent_j) + beta_subsidy * offer_j / mean(wage)
           - beta_distance * d_ij / 100 km - beta_barrier * B_ij
          (d_ij: effective distance, an active corridor shortens it; B_ij the provincial
          barrier left between the pair, 1 between provinces unless lifted by integration)
           + beta_stay * [i == j] - beta_subsidy * offer_i / mean(wage) * [i == j]
           + Gumbel noise,

and moves to the city of highest utility, so ``P(j | i) = softmax_j(U_ij)``. ``firms_j``
(alive firms, the density of career opportunity and peers) stands for opportunity;
``offer_j`` is the talent subsidy (``govern``), paid to arrivals only: a searcher who
stays is not paid its own city's offer, so staying is valued without it (before
2026-11-30 it was valued with it, so that offers raised everywhere kept talent where it
was). Movers leave their employer. Each arrival is paid the destination's offer in full
(``govern.pay_offers``: from the talent pool, the rest from the city budget). Migration
only changes ``city``; entries to and exits from the region are ``renew``'s. The
vectorised choice (inverse-CDF sampling of the logit probabilities) is tested against a
per-agent Gumbel-argmax reference in ``tests/reference``.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import sample_rows, softmax_rows
from model.submodels.govern import pay_offers

__all__ = ["migrate", "move_talent", "compute_destination_utility",
           "compute_migration_probabilities", "compute_offer_term"]


def compute_destination_utility(wage: np.ndarray, firms: np.ndarray, amenity: np.ndarray,
                                culture: np.ndarray, rent: np.ndarray, offer: np.ndarray,
                                prm) -> np.ndarray:
    """Origin-independent part of ``U_ij``, shape (N,).

    Example: wage 1, firms 0, amenity 0.5, culture 0.5, rent 1, offer 0, betas 1
    (beta_wage 2) -> 0 + 0 + 0.5 + 0.5 - 0 + 0 = 1.0.
    """
    return (prm.beta_wage * np.log(np.maximum(wage, 1e-12))
            + prm.beta_opportunity * np.log1p(firms)
            + prm.beta_amenity * amenity + prm.beta_culture * culture
            - prm.beta_cost * np.log(np.maximum(rent, 1e-12))
            + compute_offer_term(offer, wage, prm.beta_subsidy))


def compute_migration_probabilities(v: np.ndarray, dist_km: np.ndarray, province: np.ndarray,
                                    prm, barrier: np.ndarray | None = None,
                                    stay_offer: np.ndarray | None = None) -> np.ndarray:
    """Logit choice probabilities ``P[i, j]``, shape (N, N), rows sum to 1.

    ``stay_offer`` (N,): the offer term of ``v`` (``beta_subsidy * offer / mean wage``), taken
    off staying, which is not paid (None: no offers).
    Example: two cities with equal ``v``, 100 km apart, same province, beta_distance 1,
    beta_stay 0 -> P = softmax([0, -1]) = [[0.731, 0.269], [0.269, 0.731]]; with an offer
    term of 1 in both (in ``v`` and ``stay_offer``) -> staying 0 - 1 + 1 against moving
    -1 + 1: P = softmax([0, 0]) = 0.5 each.
    """
    if barrier is None:  # the whole barrier between provinces
        barrier = province[:, None] != province[None, :]
    u = v[None, :] - prm.beta_distance * dist_km / 100.0 - prm.beta_barrier * barrier
    stay = prm.beta_stay - (0.0 if stay_offer is None else stay_offer)
    u[np.diag_indices(len(v))] += stay
    return softmax_rows(u)


def compute_offer_term(offer: np.ndarray, wage: np.ndarray, beta_subsidy: float) -> np.ndarray:
    """The offer's part of ``v``: ``beta_subsidy * offer / mean(wage)``, shape (N,).

    Example: offer [2, 0], wage [1, 3], beta_subsidy 0.5 -> [0.5, 0].
    """
    return beta_subsidy * offer / max(float(wage.mean()), 1e-12)


def move_talent(world: World, ids: np.ndarray, origin: np.ndarray, dest: np.ndarray) -> None:
    """Move talent ``ids`` from ``origin`` to ``dest`` cities and record the flows."""
    n = world.geo.n
    world.talent.city[ids] = dest
    world.talent.moves[ids] += 1
    np.add.at(world.flows["talent"], (origin, dest), 1.0)
    world.tick["talent_in"] += np.bincount(dest, minlength=n)
    world.tick["talent_out"] += np.bincount(origin, minlength=n)
    cross = world.geo.province[origin] != world.geo.province[dest]
    world.tick["talent_cross_province"] += np.bincount(dest[cross], minlength=n)


def migrate(world: World, rng: np.random.Generator) -> None:
    """Move searching talent by logit choice; pay arrival subsidies; record the flows."""
    c, t, prm, geo, n = world.city, world.talent, world.params, world.geo, world.geo.n
    searchers = np.flatnonzero(rng.random(t.n) < prm.p_search)
    if not len(searchers) or n < 2:
        return
    v = compute_destination_utility(c.wage, world.firm_count(), c.amenity, c.culture, c.rent,
                                    c.talent_offer, prm)
    prob = compute_migration_probabilities(
        v, world.distances(), geo.province, prm, world.barrier,
        stay_offer=compute_offer_term(c.talent_offer, c.wage, prm.beta_subsidy))
    origin = t.city[searchers]
    dest = sample_rows(prob, origin, rng)
    moved = dest != origin
    movers, origin, dest = searchers[moved], origin[moved], dest[moved]
    if not len(movers):
        return
    move_talent(world, movers, origin, dest)
    world.set_employer(movers, -1)
    pay_offers(world, dest)
