"""Submodel ``relocate``: firms move when costs outweigh the benefits of staying.

A share ``p_relocate_review`` of alive firms review their location each quarter. A
city's location value for a firm is

    L_sj = w_s * log((K_j + E_j) / k_ref) + log(1 + vc_j / mean vc) - log(wage_j + rent_j)
           + competition_intensity * offer_j / mean(wage),

knowledge access and capital minus labour-and-land costs (congestion), plus, under
negative competition, the "project grabbing" offer of the destination: ``competition_intensity
* offer_j`` per employee the firm brings, which the destination pays the firm on arrival
(``govern.pay_offers``, tallied as ``project_subsidy_paid``), so bidding for projects costs
money. The weight of
knowledge access ``w_s = relocate_knowledge_weight[stage]`` falls with the firm's stage:
startups seek knowledge, mature production follows the cost gradient out of dear cities
(the industrial transfer that links the region's cities). A reviewing firm
in ``i`` chooses by random utility (multinomial logit) among staying, valued
``L_i + relocate_threshold`` (the moving cost) without the offer term (a firm that stays
is paid nothing; before 2026-11-30 it was valued with it, and no offer was paid), and
every other city ``j``, valued
``L_j - beta_distance * d_ij / 100 km - beta_barrier * B_ij`` (``B``: the provincial
barrier left, see ``spill``). Each employee
follows with probability ``p_staff_follow`` (a
talent migration); the others stay in ``i`` without a job.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import sample_rows, softmax_rows
from model.submodels.govern import pay_offers
from model.submodels.migrate import compute_offer_term, move_talent

__all__ = ["relocate", "compute_location_value", "compute_move_probabilities"]


def compute_location_value(knowledge_in: np.ndarray, vc: np.ndarray, wage: np.ndarray,
                           rent: np.ndarray, offer: np.ndarray, competition: float,
                           knowledge_weight: float = 1.0) -> np.ndarray:
    """``L`` per city, shape (N,); ``knowledge_in = (K + E) / k_ref``.

    Example: knowledge_in [1, e], vc 0, wage [1, 1], rent [1, e*2-1], no competition
    -> [0 - log 2, 1 - log(2e)] = [-0.693, -0.693].
    """
    vc_mean = vc.mean()
    vc_rel = vc / vc_mean if vc_mean > 0 else np.zeros_like(vc)
    return (knowledge_weight * np.log(np.maximum(knowledge_in, 1e-12)) + np.log1p(vc_rel)
            - np.log(np.maximum(wage + rent, 1e-12))
            + compute_offer_term(offer, wage, competition))


def compute_move_probabilities(value: np.ndarray, dist_km: np.ndarray, province: np.ndarray,
                               beta_distance: float, beta_barrier: float,
                               threshold: float, barrier: np.ndarray | None = None,
                               stay_offer: np.ndarray | None = None) -> np.ndarray:
    """Logit probabilities ``P[i, j]`` that a reviewing firm in ``i`` ends in ``j``, (N, N).

    Staying is valued ``L_i + threshold - stay_offer_i`` (``stay_offer``: the offer term of
    ``L``, which a firm that stays is not paid; None: none). Example: values [0, 1], 100 km
    apart, same province, beta_distance 0.5, threshold 0.3: from 0, utilities (stay 0.3,
    go 0.5) -> P[0] = [0.450, 0.550]; from 1, (go -0.5, stay 1.3) -> P[1] = [0.142, 0.858];
    with an offer term [0, 1] inside ``values``, from 1 staying is 1.3 - 1 = 0.3 ->
    P[1] = [0.310, 0.690].
    """
    if barrier is None:  # the whole barrier between provinces
        barrier = province[:, None] != province[None, :]
    net = value[None, :] - beta_distance * dist_km / 100.0 - beta_barrier * barrier
    stay = value + threshold - (0.0 if stay_offer is None else stay_offer)
    np.fill_diagonal(net, stay)
    return softmax_rows(net)


def relocate(world: World, rng: np.random.Generator, vc_now: np.ndarray) -> None:
    """Review and move firms; employees follow or are released."""
    c, f, t, prm, geo = world.city, world.firms, world.talent, world.params, world.geo
    n = geo.n
    if n < 2:
        return
    alive = np.flatnonzero(f.view("alive"))
    review = alive[rng.random(len(alive)) < prm.p_relocate_review]
    if not len(review):
        return
    k_in = (c.knowledge + c.external) / world.k_ref
    offer_term = compute_offer_term(c.talent_offer, c.wage, prm.competition_intensity)
    prob = np.vstack([compute_move_probabilities(
        compute_location_value(k_in, vc_now, c.wage, c.rent, c.talent_offer,
                               prm.competition_intensity, prm.relocate_knowledge_weight[s]),
        world.distances(), geo.province, prm.beta_distance, prm.beta_barrier,
        prm.relocate_threshold, world.barrier, offer_term)
        for s in range(3)])  # (3N, N): one block per stage
    origin = f.city[review]
    dest = sample_rows(prob, f.stage[review].astype(np.int64) * n + origin, rng)
    go = dest != origin
    movers, origin, dest = review[go], origin[go], dest[go]
    if not len(movers):
        return
    if prm.competition_intensity > 0:  # project grabbing: the destination pays the firm
        project = prm.competition_intensity * c.talent_offer[dest] * np.maximum(f.staff[movers], 1)
        pay_offers(world, dest, project, "project_subsidy_paid")
        f.cash[movers] += project
    f.city[movers] = dest
    world.tick["relocated_out"] += np.bincount(origin, minlength=n)
    world.tick["relocated_in"] += np.bincount(dest, minlength=n)
    new_city = np.full(f.n, -1)
    new_city[movers] = dest
    emp = t.view("employer")
    staff_ids = np.flatnonzero((emp >= 0) & (new_city[np.maximum(emp, 0)] >= 0))
    if len(staff_ids):
        follow = rng.random(len(staff_ids)) < prm.p_staff_follow
        fol = staff_ids[follow]
        move_talent(world, fol, t.city[fol], new_city[emp[fol]])
        world.set_employer(staff_ids[~follow], -1)
