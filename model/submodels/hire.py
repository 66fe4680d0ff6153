"""Submodel ``hire``: the local labour market — vacancies, layoffs and random matching.

An alive firm wants ``target_staff[stage]`` employees and tries to close ``hire_speed`` of
the gap each quarter (rounded up), but only as far as its cash covers one quarter of
wage and rent for its whole staff, old and new, at the city's base wage. A firm whose cash
cannot cover its current staff for a quarter
lays off the excess (random employees). Vacancies are then filled with the city's
non-employed talent: job seekers and vacancies are each put in random order within their
city and matched pairwise until either runs out (a simultaneous, city-by-city random
matching; ``tests/reference`` holds the per-agent sequential version).
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import rank_within

__all__ = ["hire", "compute_vacancies", "compute_filled_vacancies", "compute_matches"]

MAX_STAFF = 1e9  # bound on affordable staff (keeps the integer cast exact for rich firms)


def compute_vacancies(staff: np.ndarray, target: np.ndarray, cash: np.ndarray,
                      unit_cost: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Hires wanted and layoffs per firm.

    Parameters
    ----------
    staff, target, cash, unit_cost : (F,)
        ``unit_cost`` is one employee's quarterly wage plus rent in the firm's city.

    Returns
    -------
    hires, layoffs : int arrays (F,).

    Example: staff 2, target 10, cash 30, unit cost 5, speed 0.5 -> affordable 6,
    wanted ceil(4) = 4 -> hires min(4, 6 - 2) = 4, layoffs 0. With cash 5: affordable 1
    -> hires 0, layoffs 1.
    """
    affordable = np.floor(np.minimum(np.maximum(cash, 0.0) / np.maximum(unit_cost, 1e-12),
                                     MAX_STAFF)).astype(np.int64)
    wanted = np.ceil(speed * np.maximum(target - staff, 0.0)).astype(np.int64)
    hires = np.clip(np.minimum(wanted, affordable - staff), 0, None)
    layoffs = np.clip(staff - affordable, 0, None)
    # a firm keeps at least one person (its founder) while alive
    layoffs = np.minimum(layoffs, np.maximum(staff - 1, 0))
    return hires, layoffs


def compute_filled_vacancies(hires: np.ndarray, city: np.ndarray, seekers: np.ndarray,
                             rng: np.random.Generator) -> np.ndarray:
    """How many of each firm's vacancies get filled under uniform random matching.

    Where a city has at least as many seekers as vacancies all are filled; otherwise the
    seekers fill a uniformly random subset of the city's vacancies, i.e. the firms' fills
    are multivariate hypergeometric. Equivalent to listing every vacancy and matching at
    random, without materialising huge vacancy lists.

    Parameters
    ----------
    hires : (F,) vacancies per firm; city : (F,) firm's city; seekers : (N,) per city.

    Example: one city, 3 seekers, firms wanting [1, 10] -> fills sum to 3 and the first
    firm is filled with probability 3/11.
    """
    filled = hires.copy()
    want = np.bincount(city, weights=hires, minlength=len(seekers))
    short = np.flatnonzero(want > seekers)
    if not len(short):
        return filled
    order = np.argsort(city, kind="stable")
    bounds = np.searchsorted(city[order], np.r_[short, short + 1].reshape(2, -1))
    for c, lo, hi in zip(short, bounds[0], bounds[1], strict=True):
        idx = order[lo:hi]
        filled[idx] = rng.multivariate_hypergeometric(hires[idx], int(seekers[c]),
                                                      method="marginals")
    return filled


def compute_matches(seeker_city: np.ndarray, slot_city: np.ndarray, n_cities: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random pairwise matching of seekers to slots within each city.

    Returns
    -------
    seeker_idx, slot_idx : int arrays of equal length: matched pairs (positions into the
    inputs). In each city ``min(#seekers, #slots)`` pairs are formed.
    """
    _, s_rank = rank_within(seeker_city, rng)
    v_order, _ = rank_within(slot_city, rng)
    n_s = np.bincount(seeker_city, minlength=n_cities)
    n_v = np.bincount(slot_city, minlength=n_cities)
    m = np.minimum(n_s, n_v)
    slot_start = np.r_[0, np.cumsum(n_v)[:-1]]
    take = s_rank < m[seeker_city]
    seeker_idx = np.flatnonzero(take)
    # v_order lists slots sorted by city then random; the r-th slot of city c sits at start+r
    slot_idx = v_order[slot_start[seeker_city[seeker_idx]] + s_rank[seeker_idx]]
    return seeker_idx, slot_idx


def hire(world: World, rng: np.random.Generator) -> None:
    """Lay off what firms cannot pay, then match seekers to vacancies city by city."""
    c, f, t, prm, n = world.city, world.firms, world.talent, world.params, world.geo.n
    alive = np.flatnonzero(f.view("alive"))
    city = f.city[alive]
    target = np.asarray(prm.target_staff)[f.stage[alive]]
    unit = c.wage[city] + c.rent[city]
    hires, layoffs = compute_vacancies(f.staff[alive], target, f.cash[alive], unit, prm.hire_speed)
    emp = t.view("employer")
    if layoffs.any():
        lay = np.zeros(f.n, dtype=np.int64)
        lay[alive] = layoffs
        workers = np.flatnonzero(emp >= 0)
        w_emp = emp[workers]
        cand = workers[lay[w_emp] > 0]
        if len(cand):
            _, rank = rank_within(emp[cand], rng)
            world.set_employer(cand[rank < lay[emp[cand]]], -1)
    seekers = np.flatnonzero(emp < 0)
    n_seek = np.bincount(t.city[seekers], minlength=n)
    filled = compute_filled_vacancies(hires, city, n_seek, rng)
    slots = np.repeat(alive, filled)
    if len(seekers) and len(slots):
        si, vi = compute_matches(t.city[seekers], f.city[slots], n, rng)
        world.set_employer(seekers[si], slots[vi])
