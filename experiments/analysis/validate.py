"""Validation of the calibrated YRD scenario against the patterns of shared/DOMAIN.md.

``python -m experiments.analysis.validate [--seeds N] [--out docs/validation]`` runs the calibrated
scenario over N replicate seeds and writes ``validation.json`` (every number quoted in
docs/VALIDATION.md) and figures. Each run is scored by :mod:`experiments.analysis.patterns` (the
named cities' 2021 tiers and the tier counts; the mean index's growth from the end of 2001
to the end of 2021; R&D intensity 2021 over 2011; the cross-city CV of GDP and the 2021 GDP
shares against the shipped data; the collaborative-innovation index and its five
indicators), and the persistence null model (the tier rule on 2001 GDP, 2021 shares =
2001 shares) is scored on the same facts. The same patterns are also computed, on fewer
seeds, for every parameter set the calibration accepted (the facts cannot tell them
apart), so a pattern that holds only at the chosen set shows as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.patterns import (
    FACT_TIER,
    real_gdp_growth_fact,
    score_null,
    score_run,
    share_change_decomposition,
)
from experiments.running.cache import cached_run
from experiments.running.output import OutputError, check_output_dir, output_dir
from experiments.running.run import process_pool
from model.observe import COLLAB_INDICATORS
from model.scenario import ScenarioError, load_scenario

__all__ = ["validate", "run_scores", "summarise_scores", "accepted_set_patterns", "spread"]


def _one(args: tuple) -> tuple[np.ndarray, pd.DataFrame, dict]:
    sc, seed = args
    r = cached_run(sc, seed)
    return r.city.tier.copy(), r.region, score_run(r.cities, r.region, sc.geography)


def _runs(sc, seed_list: list[int], executor=None) -> tuple[np.ndarray, pd.DataFrame,
                                                              list[dict]]:
    mapper = map if executor is None else executor.map
    out = list(mapper(_one, [(sc, s) for s in seed_list]))
    return (np.array([o[0] for o in out]), pd.concat([o[1] for o in out]),
            [o[2] for o in out])


def run_scores(sc, seed_list: list[int], executor=None) -> list[dict]:
    """:func:`experiments.analysis.patterns.score_run` of ``sc`` at every seed (or in a pool)."""
    return _runs(sc, seed_list, executor)[2]


def spread(values: list[float], fact: float | None = None) -> dict[str, float]:
    """Median, mean and 5-95% range of ``values`` over seeds (and the ``fact``, if given)."""
    v = np.asarray(values, dtype=float)
    out = {"median": float(np.median(v)), "mean": float(v.mean()),
           "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))}
    if fact is not None:
        out["fact"] = fact
    return out


def summarise_scores(scores: list[dict], geo) -> dict:
    """Means and spreads over seeds of the scores of one scenario, and the null model's.

    The scores are :func:`experiments.analysis.patterns.score_run`'s.
    """
    null = score_null(geo)
    fact_gdp = geo.extra["gdp_2021"]
    # how the data's shares moved: between and within provinces (reported, not a target)
    fact_change = share_change_decomposition(geo.gdp, fact_gdp, geo.province)
    fact_prov = fact_change.pop("group_means")
    mean = {k: float(np.mean([s[k] for s in scores])) for k in (
        "named_hits", "hefei_tier2", "tier_1", "tier_2", "tier_3", "tier_4", "gdp_share_male",
        "rank_corr_2001_gdp", "indicators_all_grow", "fast_beat_slow")}
    return {
        "named_hits_mean": mean["named_hits"],
        "hefei_tier2_share": mean["hefei_tier2"],
        "shanghai_alone_share": float(np.mean([s["tier_1"] == 1 and s["hits"]["Shanghai"]
                                               for s in scores])),
        "tier_counts_mean": {f"tier_{k}": mean[f"tier_{k}"] for k in (1, 2, 3, 4)},
        "index_growth_end2001_end2021": spread([s["index_growth"] for s in scores],
                                                138.67 / 0.4),
        "rd_intensity_2021_over_2011": spread([s["rd_intensity_ratio_2021_2011"]
                                                for s in scores]),
        "gdp_cv_2001": float(scores[0]["gdp_cv_2001"]),
        "gdp_cv_2021": spread([s["gdp_cv_2021"] for s in scores],
                               float(fact_gdp.std() / fact_gdp.mean())),
        "gdp_share_male": spread([s["gdp_share_male"] for s in scores]),
        "hefei_gdp_growth": spread([s["hefei_gdp_growth"] for s in scores]),
        "real_gdp_growth": spread([s["real_gdp_growth"] for s in scores],
                                   real_gdp_growth_fact(geo)),
        "rd_intensity_2021": spread([s["rd_intensity_2021"] for s in scores]),
        "rank_corr_2001_gdp_mean": mean["rank_corr_2001_gdp"],
        "collab_index_2021": spread([s["collab_index_2021"] for s in scores], 247.11),
        "indicator_growth_2011_2021_median": {
            k: float(np.median([s["indicator_growth"][k] for s in scores]))
            for k in COLLAB_INDICATORS},
        "indicators_all_grow_share": mean["indicators_all_grow"],
        "fast_beat_slow_share": mean["fast_beat_slow"],
        "named_hit_rate": {c: float(np.mean([s["hits"][c] for s in scores])) for c in FACT_TIER},
        "null": {k: null[k] for k in ("named_hits", "hits", "hefei_tier2", "tier_1", "tier_2",
                                      "tier_3", "tier_4", "gdp_cv_2021", "gdp_share_male",
                                      "resident_share_male") if k in null},
        "gdp_share_change_sd": spread([s["gdp_share_change_sd"] for s in scores],
                                       fact_change["sd"]),
        "gdp_share_change_corr": spread([s["gdp_share_change_corr"] for s in scores]),
        "gdp_share_change_province": {
            p: {"mean": float(np.mean([s["gdp_share_change_province"][p] for s in scores])),
                "fact": fact_prov[i]}
            for i, p in enumerate(geo.provinces)},
        "gdp_share_change_fact": fact_change,
        **{k: spread([s[k] for s in scores]) for k in ("resident_share_male",
                                                        "resident_change_corr")
           if all(k in s for s in scores)},
    }


def accepted_set_patterns(scenario: str, record: str | Path, seeds: int = 5,
                          root: int = 4242) -> list[dict]:
    """The scored patterns at every accepted parameter set of a calibration record."""
    rec = json.loads(Path(record).read_text(encoding="utf-8"))
    base = load_scenario(scenario)
    seed_list = replicate_seeds(root, seeds)
    out = []
    for acc in rec["accepted"]:
        sc = base.with_overrides(params=acc["params"])
        t, region, scores = _runs(sc, seed_list)
        summ = summarise_scores(scores, sc.geography)
        out.append({
            "set": acc["index"], "chosen": acc["index"] == rec["best"]["index"],
            "params": acc["params"],
            "tier_counts_mean": {f"tier_{k}": float((t == k).sum(axis=1).mean())
                                 for k in (1, 2, 3, 4)},
            "named_hits_mean": summ["named_hits_mean"],
            "mean_index_growth_median": summ["index_growth_end2001_end2021"]["median"],
            "collab_index_2021_median": summ["collab_index_2021"]["median"],
            "gdp_share_male_median": summ["gdp_share_male"]["median"],
        })
    return out


def validate(scenario: str = "yrd_calibrated.toml", seeds: int = 20, root: int = 4242,
             out: str | Path = "docs/validation", record: str | Path | None = None,
             set_seeds: int = 5, jobs: int = 1) -> dict:
    """Run the scenario over ``seeds`` seeds; write ``validation.json`` and figures.

    Every pattern is scored by :mod:`experiments.analysis.patterns` from end-of-year states and set
    beside the persistence null model's score. With ``record`` (a calibration's JSON
    record), also run every accepted parameter set over ``set_seeds`` seeds.
    """
    check_output_dir(out)
    sc = load_scenario(scenario)
    seed_list = replicate_seeds(root, seeds)
    if jobs > 1:
        with process_pool(jobs) as ex:
            t, region, scores = _runs(sc, seed_list, ex)
    else:
        t, region, scores = _runs(sc, seed_list)
    cities = sc.geography.cities
    freq = {c: {f"tier_{k}": float((t[:, i] == k).mean()) for k in (1, 2, 3, 4)}
            for i, c in enumerate(cities)}
    result = {
        "scenario": scenario, "seeds": seed_list,
        "tier_frequency": freq,
        "fact_tier": FACT_TIER,
        **summarise_scores(scores, sc.geography),
        "final_region_mean": {k: float(v) for k, v in
                              region[region["step"] == region["step"].max()]
                              .mean(numeric_only=True).items() if k != "seed"},
    }
    if record is not None:
        result["accepted_sets"] = accepted_set_patterns(scenario, record, set_seeds, root)
    with output_dir(out, "validation") as tmp:
        (tmp / "validation.json").write_text(json.dumps(result, indent=1))
        _figures(region, freq, cities, tmp)
    return result


def _figures(region: pd.DataFrame, freq: dict, cities: tuple, out: Path) -> None:
    import matplotlib.pyplot as plt

    from experiments.presentation.figures import TIER_COLOURS

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    g = region[region["step"] >= 4].groupby("year")  # from the end of 2001 (step 0: tier 2)
    for k in (1, 2, 3, 4):
        axes[0].plot(g[f"tier_{k}"].mean(), color=TIER_COLOURS[k], label=f"tier {k}")
    axes[0].axhline(8, color=TIER_COLOURS[2], ls=":", lw=1)
    axes[0].axhline(9, color=TIER_COLOURS[3], ls=":", lw=1)
    axes[0].axhline(23, color=TIER_COLOURS[4], ls=":", lw=1)
    axes[0].set(title="Tier counts (mean over seeds; dotted: 2021 facts)", xlabel="year",
                ylabel="cities")
    axes[0].legend(fontsize=8)
    med = g["mean_index"].median()
    axes[1].semilogy(med.index, med.to_numpy(), color="#0072B2")
    axes[1].set(title="Mean innovation index (median over seeds)", xlabel="year",
                ylabel="MU (log scale)")
    ci = g["collab_index"].median()
    axes[2].plot(ci.index, ci.to_numpy(), color="#009E73", label="model (median)")
    years = np.arange(2011, 2022)
    axes[2].plot(years, 100 * 1.0947 ** (years - 2011), color="black", ls="--",
                 label="YRD 2011-2021: 100 -> 247 (9.47%/yr)")
    axes[2].set(title="Collaborative-innovation index (2011 = 100)", xlabel="year")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "patterns.png", dpi=130)
    plt.close(fig)

    shown = [c for c in FACT_TIER if c != "Taizhou"] + ["Taizhou_JS", "Taizhou_ZJ"]
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = np.zeros(len(shown))
    for k in (1, 2, 3, 4):
        v = np.array([freq[c][f"tier_{k}"] for c in shown])
        ax.bar(shown, v, bottom=bottom, color=TIER_COLOURS[k], label=f"tier {k}")
        bottom += v
    for x, c in enumerate(shown):
        fact = FACT_TIER.get(c, "3*")
        ax.annotate(f"fact: {fact}", (x, 1.02), ha="center", fontsize=7)
    ax.set(ylabel="share of seeds", ylim=(0, 1.12),
           title="Modelled 2021 tier of the cities the studies name "
                 "(*: either Taizhou counts)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.32))
    fig.tight_layout()
    fig.savefig(out / "named_cities.png", dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    from experiments.cli import JOBS, REPLICATES, _Parser

    ap = _Parser(prog="experiments.analysis.validate", description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=REPLICATES, default=20)
    ap.add_argument("--out", default="docs/validation")
    ap.add_argument("--record", default="scenarios/yrd_calibrated.json",
                    help="calibration record whose accepted sets are also run ('' for none)")
    ap.add_argument("--set-seeds", type=REPLICATES, default=5)
    ap.add_argument("--jobs", type=JOBS, default=1, help="worker processes for the main runs")
    a = ap.parse_args()
    try:
        res = validate(seeds=a.seeds, out=a.out, record=a.record or None, set_seeds=a.set_seeds,
                       jobs=a.jobs)
    except (OutputError, ScenarioError) as e:
        print(f"experiments.analysis.validate: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({k: res[k] for k in (
        "named_hits_mean", "hefei_tier2_share", "shanghai_alone_share", "tier_counts_mean",
        "named_hit_rate", "index_growth_end2001_end2021", "rd_intensity_2021_over_2011",
        "gdp_cv_2001", "gdp_cv_2021", "gdp_share_male", "collab_index_2021",
        "indicator_growth_2011_2021_median", "null")}, indent=1))
    for s in res.get("accepted_sets", []):
        print(f"accepted set {s['set']}{' (chosen)' if s['chosen'] else ''}: tiers "
              f"{s['tier_counts_mean']}, named hits {s['named_hits_mean']:.1f}/11, index growth"
              f" {s['mean_index_growth_median']:.0f}x, collaborative index "
              f"{s['collab_index_2021_median']:.0f}")
