"""The facts of shared/DOMAIN.md as scores of one YRD run, and the persistence null model.

A run is scored on the patterns the studies report for 2001-2021; the **persistence null
model** — no dynamics at all: the studies' tier rule applied to 2001 GDP, ranks from 2001
GDP, 2021 GDP shares equal to the 2001 shares — is scored on the same facts, so that
"emergent" can be checked as "better than the initial condition".

Times are end-of-year states: step ``k`` is the state after ``k`` quarters, so the end of
2001 is step 4 and the end of 2021 step 84. Year aggregates (R&D intensity) use the four
quarters of the calendar year.

Facts (shared/DOMAIN.md, "Facts to calibrate against"):

* 2021 tiers: Shanghai tier 1; Hangzhou, Nanjing, Suzhou, Wuxi, Ningbo, Hefei, Wenzhou,
  Changzhou tier 2; Nantong and Taizhou tier 3 (either Taizhou counts: the studies do not
  say which); counts 1 / 8 / 9 / 23.
* Mean index 0.4 -> 138.67 (a factor ~347; targets 150-700x from the end of 2001).
* Collaborative-innovation index 100 (2011) -> 247.11 (2021); achievement sharing,
  resource sharing and innovation cooperation grew fast, industrial linkage and
  environmental support slowly.
* R&D intensity rose 2011-2021 (target: 2021 at least 1.2 times 2011).
* Cross-city CV of GDP 1.34 (2001) -> 1.14 (2021), from the shipped GDPs.

Independent checks, never in the calibration loss: the region's real GDP growth 2001-2021
(the shipped nominal GDPs deflated by the shipped national GDP deflator: 11.27 / 1.923 =
5.86-fold; :func:`real_gdp_growth_fact`), Hefei's output growth, and where residents went
(``settle``): the 2021 resident shares against the shipped 2021 residents (mean absolute
log error; the null keeps the 2000 census shares) and the correlation of each city's log
change in residents with the data's (undefined when residents do not move).

Diagnostics of the 2021 GDP shares (:func:`share_change_scores`,
:func:`share_change_decomposition`), reported, not targets: how far and how much like the
data each city's log GDP share moved from 2001, and how much of the data's movement lies
between the provinces rather than within them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.geography import Geography
from model.observe import COLLAB_INDICATORS, compute_tiers

__all__ = ["FACT_TIER", "FACT_COUNTS", "score_run", "score_null", "named_hits",
           "gdp_share_error", "share_change_scores", "share_change_decomposition",
           "resident_scores", "real_gdp_growth_fact", "region_levels", "END_2001", "END_2021",
           "FAST_INDICATORS", "SLOW_INDICATORS"]

TIER2_NAMED = ("Hangzhou", "Nanjing", "Suzhou", "Wuxi", "Ningbo", "Hefei", "Wenzhou",
               "Changzhou")
#: The 2021 tier of every city the studies name (Taizhou: either of the two counts).
FACT_TIER: dict[str, int] = {"Shanghai": 1, **dict.fromkeys(TIER2_NAMED, 2), "Nantong": 3,
                             "Taizhou": 3}
FACT_COUNTS = {"tier_1": 1, "tier_2": 8, "tier_3": 9, "tier_4": 23}
FAST_INDICATORS = ("ind_achievement_sharing", "ind_resource_sharing",
                   "ind_innovation_cooperation")
SLOW_INDICATORS = ("ind_industrial_linkage", "ind_environmental_support")
END_2001, END_2011, END_2021 = 4, 44, 84


def named_hits(tiers: dict[str, int]) -> dict[str, bool]:
    """Which named cities sit in their 2021 tier; ``tiers`` maps city -> tier."""
    out = {}
    for city, k in FACT_TIER.items():
        if city == "Taizhou":
            out[city] = any(tiers.get(c) == k for c in ("Taizhou_JS", "Taizhou_ZJ"))
        else:
            out[city] = tiers.get(city) == k
    return out


def gdp_share_error(gdp: np.ndarray, fact: np.ndarray) -> float:
    """Mean absolute log error of the cities' GDP shares against the shares of ``fact``.

    Example: gdp [1, 3] against fact [1, 1] -> mean(|log .5|, |log 1.5|) = 0.5493.
    """
    return float(np.mean(np.abs(np.log((gdp / gdp.sum()) / (fact / fact.sum())))))


def real_gdp_growth_fact(geo: Geography, start_year: int = 2001, end_year: int = 2021) -> float:
    """The region's real GDP growth from the shipped data: nominal growth over the deflator's.

    ``sum(gdp_2021) / sum(gdp_2001) / (D(2021) / D(2001))``; 5.86 for the 41 YRD cities.
    """
    from model.prices import deflator
    nominal = float(np.sum(geo.extra["gdp_2021"]) / np.sum(geo.gdp))
    return nominal / (deflator(end_year) / deflator(start_year))


def _gdp_scores(gdp: np.ndarray, geo: Geography) -> dict[str, float]:
    return {"gdp_share_male": gdp_share_error(gdp, geo.extra["gdp_2021"])}


def _corr(model: np.ndarray, data: np.ndarray) -> float:
    """Correlation across cities of a run's changes with the data's (nan when either is flat)."""
    if np.std(model) > 1e-12 and np.std(data) > 0:
        return float(np.corrcoef(model, data)[0, 1])
    return float("nan")


def _log_share_change(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    return np.log(end / end.sum()) - np.log(start / start.sum())


def share_change_scores(gdp: np.ndarray, geo: Geography) -> dict[str, float]:
    """How each city's log GDP share moved from the start (2001) in a run, against the data.

    ``gdp_share_change_sd``: the standard deviation across cities of the run's change in
    log share; ``gdp_share_change_corr``: its correlation with the data's change (2001 to
    the shipped 2021 GDPs; nan when the run's changes do not vary). Example: GDP [1, 1] ->
    [1, 3] against data [1, 2]: changes [log(.25/.5), log(.75/.5)] = [-0.693, 0.405]
    against [log(2/3), log(4/3)] = [-0.405, 0.288]: sd 0.549, correlation 1.
    ``gdp_share_change_province``: the run's mean change over each province's cities.
    """
    run = share_change_decomposition(geo.gdp, gdp, geo.province)
    corr = _corr(_log_share_change(geo.gdp, gdp),
                 _log_share_change(geo.gdp, geo.extra["gdp_2021"]))
    return {"gdp_share_change_sd": run["sd"], "gdp_share_change_corr": corr,
            "gdp_share_change_province": {geo.provinces[int(k)]: v
                                          for k, v in run["group_means"].items()}}


def share_change_decomposition(start: np.ndarray, end: np.ndarray,
                               groups: np.ndarray) -> dict[str, float]:
    """Split the cities' change in log share into between- and within-group parts.

    ``sd``: the standard deviation across cities of the change; ``between_share``: the
    share of its variance that lies between the groups' means (each city counted once);
    ``group_means_error``: the mean absolute error left if every city were given its
    group's mean change (what knowing only the groups, e.g. the provinces, could explain;
    the persistence null's error is the mean absolute change itself). Example: equal starts
    ending in proportion to exp([1, -1, 2, 4]), groups [0, 0, 1, 1]: the changes are those
    values less a common constant (variance 3.25, sd 1.803); the group means [0, 0, 3, 3]
    less it (variance 2.25): between share 2.25 / 3.25 = 0.692, group-means error 1.
    ``group_means``: each group's mean change, by group label.
    """
    d = pd.Series(_log_share_change(start, end))
    by = d.groupby(np.asarray(groups))
    g = by.transform("mean").to_numpy()
    var = float(np.var(d))
    return {"sd": float(np.sqrt(var)),
            "between_share": float(np.var(g) / var) if var > 0 else float("nan"),
            "group_means_error": float(np.mean(np.abs(d.to_numpy() - g))),
            "group_means": {k: float(v) for k, v in by.mean().items()}}


def resident_scores(residents: np.ndarray, geo: Geography) -> dict[str, float]:
    """Where residents went by 2021, against the shipped 2021 residents.

    ``resident_share_male``: :func:`gdp_share_error` of the resident shares;
    ``resident_change_corr``: correlation of ``log(N_2021 / N_2000)`` across cities with the
    data's (nan when the model's changes do not vary). Example: residents [1, 3] from [1, 1]
    against data [1, 2] -> share error mean(|log(.25/(1/3))|, |log(.75/(2/3))|) = 0.2027,
    correlation 1.
    """
    fact = geo.extra["population_2021"]
    start = np.asarray(geo.population, dtype=float)
    return {"resident_share_male": gdp_share_error(residents, fact),
            "resident_change_corr": _corr(np.log(residents / start), np.log(fact / start))}


def score_null(geo: Geography) -> dict[str, Any]:
    """The persistence null model scored on the facts it can be scored on."""
    tiers = compute_tiers(geo.gdp)
    t = dict(zip(geo.cities, map(int, tiers), strict=True))
    hits = named_hits(t)
    out = {"named_hits": sum(hits.values()), "hits": hits,
           "hefei_tier2": float(t.get("Hefei") == 2),
           **{f"tier_{k}": int((tiers == k).sum()) for k in (1, 2, 3, 4)},
           "gdp_cv_2001": float(geo.gdp.std() / geo.gdp.mean()),
           "gdp_cv_2021": float(geo.gdp.std() / geo.gdp.mean()),
           "rank_corr_2001_gdp": 1.0}
    out.update(_gdp_scores(geo.gdp, geo))
    if "population_2021" in geo.extra:
        out["resident_share_male"] = resident_scores(
            np.asarray(geo.population, dtype=float), geo)["resident_share_male"]
    return out


def region_levels(region: pd.DataFrame) -> dict[str, float]:
    """The region's R&D level in 2021 and its real output growth 2001-2021.

    ``region`` is one run's region table (quarterly rows from step 0 in 2001); a value is
    nan where the run is too short for it.
    ``rd_intensity_2021``: the mean over 2021's rows of R&D spending over output;
    ``real_gdp_growth``: calendar-year means of the output rate (steps 1-4 are 2001's
    quarters, 81-84 2021's), 2021 over 2001. Example: output 100 in every quarter of 2001
    and 250 in every quarter of 2021 -> growth 2.5.
    """
    years = np.floor(region["year"]).astype(int).to_numpy()
    level = region.assign(y=years).groupby("y")["rd_intensity"].mean()  # R&D / GDP
    after = region[region["step"] > 0]
    annual = after.assign(y=np.floor(after["year"] - 0.25).astype(int)).groupby("y")["gdp"].mean()
    return {
        "rd_intensity_2021": float(level.loc[2021]) if 2021 in level.index else float("nan"),
        "real_gdp_growth": float(annual.loc[2021] / annual.loc[2001])
        if 2021 in annual.index and 2001 in annual.index else float("nan"),
    }


def score_run(cities: pd.DataFrame, region: pd.DataFrame, geo: Geography) -> dict[str, Any]:
    """Score one run (its ``cities`` and ``region`` tables, 84 steps from 2001) on the facts."""
    if region["step"].max() < END_2021:
        raise ValueError(f"the run ends at step {region['step'].max()}; scoring needs {END_2021}")
    last = cities[cities["step"] == END_2021].set_index("city").reindex(list(geo.cities))
    tiers = dict(zip(last.index, last["tier"].astype(int), strict=True))
    hits = named_hits(tiers)
    reg = region.set_index("step")
    years = np.floor(region["year"]).astype(int).to_numpy()
    yearly = region.assign(y=years).groupby("y")[["rd_spent", "gdp"]].mean()
    rd_int = yearly["rd_spent"] / yearly["gdp"]  # in MU over 100m CNY: for ratios only
    gdp = last["gdp"].to_numpy()
    first = cities[cities["step"] == 0].set_index("city").reindex(list(geo.cities))
    out: dict[str, Any] = {
        "named_hits": sum(hits.values()), "hits": hits,
        "hefei_tier2": float(tiers.get("Hefei") == 2),
        **{f"tier_{k}": int(sum(v == k for v in tiers.values())) for k in (1, 2, 3, 4)},
        "index_growth": float(reg.loc[END_2021, "mean_index"] / reg.loc[END_2001, "mean_index"])
        if reg.loc[END_2001, "mean_index"] > 0 else float("nan"),
        "rd_intensity_ratio_2021_2011": float(rd_int.loc[2021] / rd_int.loc[2011])
        if 2021 in rd_int.index and 2011 in rd_int.index and rd_int.loc[2011] > 0
        else float("nan"),
        "gdp_cv_2001": float(first["gdp"].std(ddof=0) / first["gdp"].mean()),
        "gdp_cv_2021": float(gdp.std() / gdp.mean()),
        "rank_corr_2001_gdp": float(pd.Series(last["index"].to_numpy()).rank().corr(
            pd.Series(geo.gdp).rank())),
        "collab_index_2021": float(reg.loc[END_2021, "collab_index"]),
        "hefei_gdp_growth": float(last.loc["Hefei", "gdp"] / first.loc["Hefei", "gdp"])
        if "Hefei" in last.index else float("nan"),
        **region_levels(region),
    }
    out.update(_gdp_scores(gdp, geo))
    out.update(share_change_scores(gdp, geo))
    if "residents" in last.columns and "population_2021" in geo.extra:
        out.update(resident_scores(last["residents"].to_numpy(dtype=float), geo))
    ind = region[list(COLLAB_INDICATORS)].rolling(4, min_periods=1).sum().set_index(
        region["step"])
    growth = {k: float(ind.loc[END_2021, k] / ind.loc[END_2011, k])
              if ind.loc[END_2011, k] > 0 else float("nan") for k in COLLAB_INDICATORS}
    out["indicator_growth"] = growth
    out["indicators_all_grow"] = bool(all(g > 1 for g in growth.values()))
    out["fast_beat_slow"] = bool(min(growth[k] for k in FAST_INDICATORS)
                                 > max(growth[k] for k in SLOW_INDICATORS))
    return out
