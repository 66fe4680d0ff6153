"""Observation: innovation index, tiers, dispersion, spatial and flow metrics.

Definitions (docs/ODD.md section 4.11 "Observation"):

* **Innovation index** of a city: the depreciating stock of the value of innovations
  credited to it (MU); the regional mean is the plain mean over cities.
* **Tiers** (the YRD studies' rule, relative to the regional mean ``m``): tier 1 if
  ``I > 5m``; tier 2 if ``m <= I <= 5m``; tier 3 if ``0.5m <= I < m``; tier 4 if
  ``I < 0.5m``. When ``m = 0`` every city has ratio 1 (tier 2).
* **Dispersion**: coefficient of variation (population sd / mean), Gini, Theil T with
  its exact split into between-province and within-province parts.
* **Spatial**: global Moran's I and local Moran (LISA) with the neighbour matrix of the
  space (Moore neighbours on grids, the 4-nearest-neighbour network on maps), row
  standardised.
* **Collaborative-innovation index** (YRD, base year = 100): the mean of five primary
  indicators, each relative to its base-year value — achievement sharing (value of
  cross-city co-inventions), resource sharing (platform knowledge shared across cities
  plus the knowledge ``spill`` moved across province borders this step), innovation
  cooperation
  (number of cross-city co-inventions), industrial linkage (cross-province VC plus firm
  relocations),
  environmental support (government spending on platforms, IP, culture, intermediaries).
  Each indicator is summed over the trailing four quarters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "compute_tiers", "cv", "gini", "theil", "morans_i", "local_moran", "neighbour_matrix",
    "collab_index", "tier_transitions", "leader_pull", "COLLAB_INDICATORS", "SCENARIO_MEASURES",
]

#: Scenario-level measures of one run (computed in ``experiments.compare``), by name. The
#: ``target_*`` measures concern a scenario's targeted cities; totals are over the run.
SCENARIO_MEASURES: dict[str, str] = {
    "mean_index": "regional mean innovation index at the end, MU",
    "cv": "coefficient of variation of the index at the end",
    "gini": "Gini coefficient of the index at the end",
    "morans_i": "global Moran's I of the index at the end",
    "tier_1": "cities in tier 1 at the end",
    "tier_2": "cities in tier 2 at the end",
    "tier_3": "cities in tier 3 at the end",
    "tier_4": "cities in tier 4 at the end",
    "spillover_share": "share of innovation value due to external knowledge, last quarter",
    "leader_share": "the leading city's share of the regional index at the end",
    "theil": "Theil T index of the index at the end",
    "target_rank": "mean rank (1 = first) of the targeted cities at the end",
    "target_share": "targeted cities' share of the regional index at the end",
    "corridor_share": "corridor cities' share of the regional index at the end",
    "talent_cross_province": "talent moves between provinces, run total",
    "capital_cross_province": "VC invested across provinces, run total, MU",
    "innovations": "innovations, run total",
    "founded": "startups founded, run total",
    "failed": "firms failed, run total",
    "vc_invested": "VC invested, run total, MU",
    "rd_spent": "firms' R&D spending, run total, MU",
    "innovations_per_rd": "innovations per MU of R&D in the run (research-to-product conversion)",
    "target_talent": "talent agents in the targeted cities at the end",
    "target_founded": "startups founded in the targeted cities, run total",
    "target_vc_invested": "VC invested in the targeted cities' firms, run total, MU",
    "public_spending": "government spending of all cities, run total, MU",
    "index_per_spending": "regional index at the end per MU of public spending in the run",
}

COLLAB_INDICATORS: tuple[str, ...] = (
    "ind_achievement_sharing", "ind_resource_sharing", "ind_innovation_cooperation",
    "ind_industrial_linkage", "ind_environmental_support",
)


def compute_tiers(index: np.ndarray) -> np.ndarray:
    """Tier 1-4 per city by the studies' rule.

    Example: index [60, 10, 7, 3, 0] (mean 16) -> ratios [3.75, .625, .4375, .1875, 0]
    -> tiers [2, 3, 4, 4, 4]; index [100, 2, 2, 2, 2, 2, 2, 2, 2, 2] (mean 11.8) ->
    [1, 4, ...].
    """
    m = index.mean()
    r = index / m if m > 0 else np.ones_like(index)
    return np.select([r > 5.0, r >= 1.0, r >= 0.5], [1, 2, 3], default=4).astype(np.int8)


def cv(x: np.ndarray) -> float:
    """Coefficient of variation (population sd / mean); 0 when the mean is 0."""
    m = x.mean()
    return float(x.std() / m) if m > 0 else 0.0


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values. Example: [0, 0, 0, 1] -> 0.75."""
    s = np.sort(x)
    n, tot = len(s), s.sum()
    if tot <= 0 or n == 0:
        return 0.0
    return float((2.0 * np.sum(np.arange(1, n + 1) * s) / (n * tot)) - (n + 1) / n)


def theil(x: np.ndarray, group: np.ndarray) -> tuple[float, float, float]:
    """Theil T index and its between/within-group split: ``T = T_between + T_within``.

    ``T = mean((x/m) log(x/m))``; ``T_between = sum_g s_g log(m_g / m)``,
    ``T_within = sum_g s_g T_g``, ``s_g`` the group's share of the total.
    Example: x [1, 1, 3, 3], groups [0, 0, 1, 1] -> all inequality is between groups:
    T = T_between = 0.25 log .5 + .75 log 1.5 = 0.1308, T_within = 0.
    """
    tot = x.sum()
    if tot <= 0:
        return 0.0, 0.0, 0.0
    m = x.mean()
    r = x / m
    t = float(np.mean(np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)))
    between = 0.0
    for g in np.unique(group):
        xg = x[group == g]
        sg = xg.sum() / tot
        if sg > 0:
            between += sg * np.log(xg.mean() / m)
    return t, float(between), t - float(between)


def neighbour_matrix(geo) -> np.ndarray:
    """Binary symmetric neighbour matrix (N, N): Moore neighbours on grids, 4-NN on maps."""
    n = geo.n
    if geo.grid_shape is not None:
        w, h = geo.grid_shape
        ix, iy = np.divmod(np.arange(n), h)
        dx = np.abs(ix[:, None] - ix[None, :])
        dy = np.abs(iy[:, None] - iy[None, :])
        a = (np.maximum(dx, dy) == 1).astype(float)
    else:
        a = np.zeros((n, n))
        order = np.argsort(geo.dist_km, axis=1)[:, 1:5]
        a[np.repeat(np.arange(n), order.shape[1]), order.ravel()] = 1.0
        a = np.maximum(a, a.T)
    return a


def morans_i(x: np.ndarray, adj: np.ndarray) -> float:
    """Global Moran's I with row-standardised weights; 0 if ``x`` is constant.

    Example: a 1-D chain [1, 1, 0, 0] with neighbours i±1 gives I = 0.5 (row-standardised;
    binary weights would give 1/3).
    """
    z = x - x.mean()
    den = np.sum(z * z)
    if den <= 0:
        return 0.0
    w = adj / np.maximum(adj.sum(axis=1, keepdims=True), 1e-12)
    return float(len(x) / w.sum() * (z @ w @ z) / den)


def local_moran(x: np.ndarray, adj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local Moran's I_i and quadrant labels ('HH', 'LL', 'HL', 'LH', '' if constant)."""
    z = x - x.mean()
    m2 = np.mean(z * z)
    w = adj / np.maximum(adj.sum(axis=1, keepdims=True), 1e-12)
    lag = w @ z
    if m2 <= 0:
        return np.zeros_like(x), np.full(len(x), "", dtype=object)
    li = z * lag / m2
    lab = np.where(z >= 0, np.where(lag >= 0, "HH", "HL"), np.where(lag >= 0, "LH", "LL"))
    return li, lab.astype(object)


def collab_index(region: pd.DataFrame, base_year: int) -> pd.Series:
    """Collaborative-innovation index per row of ``region`` (base year's mean = 100).

    ``region`` needs ``year`` and the per-step indicator columns (:data:`COLLAB_INDICATORS`).
    Indicators are summed over trailing four quarters, divided by their mean over the base
    year's rows, averaged over the five, times 100. Rows before the data reaches the base
    year are still expressed relative to it. If the run does not cover the base year, the
    calendar year of the fifth row (the first after a full year of data) is the base.
    """
    ind = region[list(COLLAB_INDICATORS)].rolling(4, min_periods=1).sum()
    years = np.floor(region["year"]).astype(int)
    base_rows = years == base_year
    if not base_rows.any():
        base_rows = years == years.iloc[min(4, len(years) - 1)]
    base = ind[base_rows].mean()
    rel = ind.divide(base.where(base > 0)).fillna(1.0)
    return 100.0 * rel.mean(axis=1)


def tier_transitions(cities: pd.DataFrame, step_from: int, step_to: int) -> pd.DataFrame:
    """4x4 matrix of counts: rows tier at ``step_from``, columns tier at ``step_to``."""
    a = cities[cities["step"] == step_from].set_index("city")["tier"]
    b = cities[cities["step"] == step_to].set_index("city")["tier"]
    m = pd.crosstab(a, b.reindex(a.index)).reindex(index=[1, 2, 3, 4], columns=[1, 2, 3, 4],
                                                   fill_value=0)
    m.index.name, m.columns.name = f"tier_step_{step_from}", f"tier_step_{step_to}"
    return m


def leader_pull(knowledge_flow: np.ndarray, leaders: np.ndarray, dist_km: np.ndarray,
                radius_km: float = 200.0) -> np.ndarray:
    """Each leader's pull on its neighbours.

    The share of the knowledge its neighbours (within ``radius_km``) received that came
    from it. ``knowledge_flow[j, i]`` is from j to i.

    Returns an array with one share per leader (NaN if it has no neighbours or they
    received nothing).
    """
    out = np.full(len(leaders), np.nan)
    received = knowledge_flow.sum(axis=0)
    for k, j in enumerate(leaders):
        nb = np.flatnonzero((dist_km[j] <= radius_km) & (dist_km[j] > 0))
        tot = received[nb].sum()
        if len(nb) and tot > 0:
            out[k] = knowledge_flow[j, nb].sum() / tot
    return out
