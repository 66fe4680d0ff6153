"""Slow, obviously-correct per-agent versions of key vectorised decisions.

They are kept only to test that the vectorised kernels agree with them in distribution.
"""

import numpy as np


def migrate_one_by_one(origins, v, dist_km, province, prm, rng, stay_offer=None):
    """Each searcher draws Gumbel noise for every city and picks the best (sequentially).

    ``stay_offer``: the offer term of ``v`` per city, not paid to (so not valued by) stayers.
    """
    dest = np.empty(len(origins), dtype=np.int64)
    n = len(v)
    for k, i in enumerate(origins):
        best, best_u = -1, -np.inf
        for j in range(n):
            u = (v[j] - prm.beta_distance * dist_km[i, j] / 100.0
                 - prm.beta_barrier * (province[i] != province[j])
                 + (prm.beta_stay if i == j else 0.0) + rng.gumbel())
            if i == j and stay_offer is not None:
                u -= stay_offer[j]
            if u > best_u:
                best, best_u = j, u
        dest[k] = best
    return dest


def match_one_by_one(seeker_city, slot_city, rng):
    """Seekers, in random order, each take a random open slot in their city."""
    open_slots = {}
    for s, c in enumerate(slot_city):
        open_slots.setdefault(int(c), []).append(s)
    pairs = []
    for s in rng.permutation(len(seeker_city)):
        slots = open_slots.get(int(seeker_city[s]), [])
        if slots:
            pairs.append((s, slots.pop(int(rng.integers(len(slots))))))
    return pairs


def choose_inflow_one_by_one(k, v, size, rng):
    """Each newcomer draws a Gumbel shock per city and takes the best ``log size + v + e``."""
    out = np.empty(k, dtype=np.int64)
    for a in range(k):
        out[a] = int(np.argmax(np.log(size) + v + rng.gumbel(size=len(v))))
    return out


def remove_one_by_one(cities, leave):
    """Leavers removed one at a time from a list; the survivors' cities in their order."""
    kept = list(cities)
    for i in sorted(leave, reverse=True):
        del kept[i]
    return np.array(kept, dtype=np.int64)
