"""Validation of the calibrated YRD scenario against the patterns of shared/DOMAIN.md.

``python -m experiments.validate [--seeds N] [--out docs/validation]`` runs the calibrated
scenario over N replicate seeds and writes ``validation.json`` (every number quoted in
docs/VALIDATION.md) and figures. Patterns: (1) the 2021 tiers, city by city; (2) the rise
of the mean innovation index 2001-2021 (0.4 -> 138.67 in the studies, a factor ~347);
(3) the collaborative-innovation index 100 (2011) -> 247.11 (2021), 9.47% a year, with
achievement sharing, resource sharing and innovation cooperation growing fast and
industrial linkage and environmental support slowly.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibrate import TIER2_NAMED
from experiments.compare import replicate_seeds
from model.model import InnovationModel
from model.observe import COLLAB_INDICATORS
from model.scenario import load_scenario

__all__ = ["validate"]

FACT_TIER = {"Shanghai": 1, **dict.fromkeys(TIER2_NAMED, 2), "Nantong": 3, "Taizhou_JS": 3}


def validate(scenario: str = "yrd_calibrated.toml", seeds: int = 20, root: int = 4242,
             out: str | Path = "docs/validation") -> dict:
    """Run the scenario over ``seeds`` seeds; write ``validation.json`` and figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sc = load_scenario(scenario)
    seed_list = replicate_seeds(root, seeds)
    tiers, regions = [], []
    for s in seed_list:
        m = InnovationModel(sc, seed=s, collect_agents=False)
        m.run()
        tiers.append(m.city.tier.copy())
        r = m.region_frame()
        regions.append(r)
    cities = sc.geography.cities
    t = np.array(tiers)
    freq = {c: {f"tier_{k}": float((t[:, i] == k).mean()) for k in (1, 2, 3, 4)}
            for i, c in enumerate(cities)}
    region = pd.concat(regions)
    yearly = region.assign(y=np.floor(region["year"]).astype(int)).groupby(["seed", "y"]).mean(
        numeric_only=True)
    first = yearly.xs(2001, level="y")["mean_index"]
    last = yearly.xs(2021, level="y")["mean_index"]
    growth = (last / first).to_numpy()
    ind = {}
    for k in COLLAB_INDICATORS:
        a = yearly.xs(2011, level="y")[k]
        b = yearly.xs(2021, level="y")[k]
        ind[k] = float(np.median(b / a.where(a > 0)))
    ci = yearly.xs(2021, level="y")["collab_index"].to_numpy()
    result = {
        "scenario": scenario, "seeds": seed_list,
        "tier_frequency": freq,
        "fact_tier": FACT_TIER,
        "fact_tier_hit_rate": {c: freq[c][f"tier_{k}"] for c, k in FACT_TIER.items()},
        "tier_counts_mean": {f"tier_{k}": float((t == k).sum(axis=1).mean()) for k in (1, 2, 3, 4)},
        "mean_index_2021_over_2001": {"median": float(np.median(growth)),
                                      "p5": float(np.percentile(growth, 5)),
                                      "p95": float(np.percentile(growth, 95)),
                                      "fact": 138.67 / 0.4},
        "collab_index_2021": {"median": float(np.median(ci)), "p5": float(np.percentile(ci, 5)),
                              "p95": float(np.percentile(ci, 95)), "fact": 247.11},
        "collab_indicator_growth_2011_2021_median": ind,
        "final_region_mean": {k: float(v) for k, v in
                              region[region["step"] == region["step"].max()]
                              .mean(numeric_only=True).items() if k != "seed"},
    }
    (out / "validation.json").write_text(json.dumps(result, indent=1))
    _figures(region, freq, cities, out)
    return result


def _figures(region: pd.DataFrame, freq: dict, cities: tuple, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.figures import TIER_COLOURS

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    g = region.groupby("year")
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

    shown = list(FACT_TIER)
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = np.zeros(len(shown))
    for k in (1, 2, 3, 4):
        v = np.array([freq[c][f"tier_{k}"] for c in shown])
        ax.bar(shown, v, bottom=bottom, color=TIER_COLOURS[k], label=f"tier {k}")
        bottom += v
    for x, c in enumerate(shown):
        ax.annotate(f"fact: {FACT_TIER[c]}", (x, 1.02), ha="center", fontsize=7)
    ax.set(ylabel="share of seeds", title="Modelled 2021 tier of the cities the studies name",
           ylim=(0, 1.12))
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7, ncol=4, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "named_cities.png", dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", default="docs/validation")
    a = ap.parse_args()
    res = validate(seeds=a.seeds, out=a.out)
    print(json.dumps({k: res[k] for k in ("tier_counts_mean", "fact_tier_hit_rate",
                                          "mean_index_2021_over_2001", "collab_index_2021",
                                          "collab_indicator_growth_2011_2021_median")}, indent=1))
