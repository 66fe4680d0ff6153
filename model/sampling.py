"""Vectorised sampling helpers shared by the submodels (all take the model's Generator)."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_rows", "rank_within", "softmax_rows", "prorate", "cumsum_within"]


def cumsum_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each new group; ``groups`` must be sorted.

    Example: groups [0, 0, 1, 1, 1], values [2, 2, 1, 1, 1] -> [2, 4, 1, 2, 3].
    """
    if not len(values):
        return np.zeros(0)
    cs = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    return cs - np.repeat(cs[starts] - values[starts], np.diff(np.r_[starts, len(values)]))


def softmax_rows(u: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a utility matrix, numerically stable.

    Parameters
    ----------
    u : ndarray, shape (R, C)

    Returns
    -------
    ndarray, shape (R, C), rows summing to 1.
    """
    z = np.exp(u - u.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def sample_rows(prob: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one column per entry of ``rows`` from the categorical distribution ``prob[row]``.

    Each row of ``prob`` is a probability vector. All draws are made at once by inverse-CDF
    sampling on the flattened, row-offset cumulative sums: row ``r``'s CDF is shifted into
    ``(r, r + 1]`` so one ``searchsorted`` serves every row.

    Parameters
    ----------
    prob : ndarray, shape (R, C)
        Non-negative rows; each is normalised here. A row summing to zero is treated as
        uniform (it must not be asked for; this only keeps the shared CDF monotone).
    rows : ndarray of int, shape (K,)
    rng : numpy Generator

    Returns
    -------
    ndarray of int, shape (K,), values in ``[0, C)``.

    Examples
    --------
    With ``prob = [[0, 1], [1, 0]]`` and ``rows = [0, 1, 0]`` the result is ``[1, 0, 1]``.
    """
    n_rows, n_cols = prob.shape
    cdf = np.cumsum(prob, axis=1)
    total = cdf[:, -1:]
    empty = total[:, 0] <= 0
    if empty.any():
        cdf[empty] = np.arange(1, n_cols + 1) / n_cols
        total = np.where(empty[:, None], 1.0, total)
    cdf /= total
    cdf += np.arange(n_rows)[:, None]
    cdf[:, -1] = np.arange(1, n_rows + 1)  # guard against rounding at the top
    u = rows + rng.random(len(rows))
    flat = np.searchsorted(cdf.ravel(), u, side="right")
    return np.minimum(flat - rows * n_cols, n_cols - 1)


def rank_within(groups: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random order within groups.

    Parameters
    ----------
    groups : ndarray of int, shape (K,)

    Returns
    -------
    order : ndarray of int, shape (K,)
        A permutation of ``range(K)`` that sorts by group, randomly within a group.
    rank : ndarray of int, shape (K,)
        ``rank[order[k]]`` is the position of element ``order[k]`` within its group
        (0 for the first of each group).

    Examples
    --------
    ``groups = [2, 1, 2]`` gives an order like ``[1, 0, 2]`` and ranks ``[0, 0, 1]``.
    """
    k = len(groups)
    order = np.lexsort((rng.random(k), groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1] if k else np.empty(0, int)
    pos = np.arange(k)
    first = np.repeat(starts, np.diff(np.r_[starts, k])) if k else pos
    rank = np.empty(k, dtype=np.int64)
    rank[order] = pos - first
    return order, rank


def prorate(claims: np.ndarray, groups: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Pay non-negative ``claims`` from per-group ``pool``; scale down where the pool is short.

    Parameters
    ----------
    claims : ndarray, shape (K,)
    groups : ndarray of int, shape (K,)
        Group (city) of each claim.
    pool : ndarray, shape (G,)
        Money available per group.

    Returns
    -------
    ndarray, shape (K,): payments, ``payments <= claims``, per-group sums ``<= pool``.

    Examples
    --------
    Claims ``[2, 2]`` in one group with pool ``[1]`` are paid ``[0.5, 0.5]``.
    """
    total = np.bincount(groups, weights=claims, minlength=len(pool)).astype(float)
    avail = np.maximum(pool, 0.0)  # a pool rounded to -1e-17 by earlier payments is empty
    ratio = np.divide(avail, total, out=np.ones_like(total), where=total > avail)
    return claims * np.minimum(ratio, 1.0)[groups]
