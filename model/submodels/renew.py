"""Submodel ``renew``: the talent stock grows and renews — graduates, newcomers and leavers.

Each quarter, with ``n0`` the initial talent stock (``n_talent``, so that the flows scale
with the sample and a larger sample describes the same region):

* **Graduates** of the region's universities enter the workforce in the city where they
  trained: ``G_c ~ Poisson(graduate_rate * n0 * u_c / sum u)``, ``u_c = universities_c +
  rel_key_graduates * key_universities_c`` (``model/data/research_2001.csv``). A city with
  a large university base (Nanjing, Hefei) trains more talent than its output suggests.
* **Newcomers** from the rest of China: ``M ~ Poisson(inflow_rate * n0)`` agents, each
  choosing city ``c`` with probability proportional to ``N_c * exp(v_c)``: its residents
  (size) times the exponential of the migration utility's destination part ``v_c``
  (wage, career opportunity, amenity, culture, cost of living, talent subsidy; see
  ``migrate``), so they are drawn by wages and opportunity. Each newcomer is paid the
  city's talent offer in full (``govern.pay_offers``).
* **Leavers**: every agent leaves the workforce or the region with probability
  ``p_talent_exit`` (retirement, emigration); an employed leaver's firm loses it.

Entrants draw their skill from the initial distribution (``LogNormal(-0.08, 0.4)``, mean 1)
and start without an employer (``hire`` matches them next quarter). Accounting, checked in
the tests: the stock after the step equals the stock before plus graduates plus newcomers
minus leavers; moves between cities (``migrate``, ``relocate``) change no total.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.init import SKILL_SIGMA
from model.sampling import sample_rows
from model.submodels.govern import pay_offers
from model.submodels.migrate import compute_destination_utility

__all__ = ["renew", "compute_graduates", "compute_inflow_shares"]


def compute_graduates(research: np.ndarray, rate: float, n0: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Graduates entering per city, shape (N,): Poisson with mean ``rate * n0 * R / sum R``.

    Example: research [1, 3], rate 0.01, n0 400 -> means [1, 3].
    """
    tot = research.sum()
    if tot <= 0 or rate <= 0:
        return np.zeros(len(research), dtype=np.int64)
    return rng.poisson(rate * n0 * research / tot)


def compute_inflow_shares(v: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Shares of newcomers over destinations, ``size * exp(v)`` normalised, shape (N,).

    Example: v [0, log 3], size [1, 1] -> [0.25, 0.75]; size [3, 1] -> [0.5, 0.5].
    """
    e = size * np.exp(v - v.max())
    return e / e.sum()


def renew(world: World, rng: np.random.Generator) -> None:
    """Add graduates and newcomers, remove leavers; record the flows per city."""
    c, t, prm, n = world.city, world.talent, world.params, world.geo.n
    # leavers first (the entrants of this quarter do not leave in it)
    leave = np.flatnonzero(rng.random(t.n) < prm.p_talent_exit)
    if len(leave):
        world.tick["talent_exit"] += np.bincount(t.city[leave], minlength=n)
        world.remove_talent(leave)
    univ = world.geo.research[:, 0] + prm.rel_key_graduates * world.geo.research[:, 1]
    grads = compute_graduates(univ, prm.graduate_rate, prm.n_talent, rng)
    n_new = int(rng.poisson(prm.inflow_rate * prm.n_talent))
    new_city = np.zeros(0, dtype=np.int64)
    if n_new:
        v = compute_destination_utility(c.wage, world.firm_count(), c.amenity, c.culture,
                                        c.rent, c.talent_offer, prm)
        share = compute_inflow_shares(v, c.population)
        new_city = sample_rows(share[None, :], np.zeros(n_new, dtype=np.int64), rng)
    city = np.concatenate([np.repeat(np.arange(n), grads), new_city]).astype(np.int64)
    if not len(city):
        return
    skill = rng.lognormal(-0.5 * SKILL_SIGMA ** 2, SKILL_SIGMA, size=len(city))
    t.add(len(city), city=city, skill=skill, born=world.step)
    world.tick["graduates"] += grads
    if len(new_city):
        world.tick["talent_inflow"] += np.bincount(new_city, minlength=n)
        pay_offers(world, new_city)
