"""Submodel ``found``: talent founds startups.

Each talent agent in city ``c`` founds a startup this quarter with probability

    p = p_found * (culture_c / 0.5)^found_culture_elast * (1 + v_c)^found_vc_elast
        * (1 + entry_ease_c) * skill,

capped at 1, where ``v_c`` is the VC invested in the city this quarter (``invest`` runs
first) per talent agent
relative to the regional mean of that quantity (more likely where VC and culture support
it). The founder leaves any employer and becomes the first employee of a new firm in
``c`` with ``startup_cash`` times the income level (``grow``); the firm's sector is the
city's industry type with probability 0.6, otherwise drawn uniformly (local
specialisation with some diversity), and its capability is the founder's skill times the
city's knowledge per talent agent relative to ``k_ref`` per agent.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.params import SECTORS

__all__ = ["found", "compute_founding_probability"]

HOME_SECTOR_PROB = 0.6  # probability a startup takes the city's industry type (assumption)


def compute_founding_probability(culture: np.ndarray, vc_rel: np.ndarray, entry_ease: np.ndarray,
                                 prm) -> np.ndarray:
    """Per-city founding probability for a talent agent of skill 1, shape (N,).

    Example: p_found 0.002, culture 0.5, v 1, elasticities (1, 0.5), ease 0 ->
    0.002 * 1 * 2^0.5 = 0.002828.
    """
    return (prm.p_found * (culture / 0.5) ** prm.found_culture_elast
            * (1.0 + vc_rel) ** prm.found_vc_elast * (1.0 + entry_ease))


def found(world: World, rng: np.random.Generator, vc_now: np.ndarray) -> None:
    """Draw founders and create their firms. ``vc_now`` (N,) is this quarter's VC per city."""
    c, f, t, prm, n = world.city, world.firms, world.talent, world.params, world.geo.n
    talent_n = world.talent_count().astype(float)
    per_talent = vc_now / np.maximum(talent_n, 1.0)
    mean = per_talent.mean()
    vc_rel = per_talent / mean if mean > 0 else np.zeros(n)
    p_city = compute_founding_probability(c.culture, vc_rel, world.policy["entry_ease"], prm)
    tc = t.view("city")
    p = np.minimum(p_city[tc] * t.view("skill"), 1.0)
    founders = np.flatnonzero(rng.random(t.n) < p)
    if not len(founders):
        return
    fc = tc[founders]
    k = len(founders)
    home = rng.random(k) < HOME_SECTOR_PROB
    sector = np.where(home, c.industry[fc], rng.integers(0, len(SECTORS), size=k))
    k_per = c.knowledge[fc] / np.maximum(talent_n[fc], 1.0)
    k_ref_per = world.k_ref / max(talent_n.mean(), 1.0)
    capability = t.skill[founders] * k_per / k_ref_per
    ids = f.add(k, city=fc, sector=sector, stage=0, capability=capability,
                cash=prm.startup_cash * world.income_level, born=world.step)
    world.set_employer(founders, ids)
    world.tick["founded"] += np.bincount(fc, minlength=n)
