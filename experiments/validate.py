"""Validation of the calibrated YRD scenario against the patterns of shared/DOMAIN.md.

``python -m experiments.validate [--seeds N] [--out docs/validation]`` runs the calibrated
scenario over N replicate seeds and writes ``validation.json`` (every number quoted in
docs/VALIDATION.md) and figures. Patterns: (1) the 2021 tiers, city by city; (2) the rise
of the mean innovation index 2001-2021 (0.4 -> 138.67 in the studies, a factor ~347);
(3) the collaborative-innovation index 100 (2011) -> 247.11 (2021), 9.47% a year, with
achievement sharing, resource sharing and innovation cooperation growing fast and
industrial linkage and environmental support slowly. The same patterns are also computed,
on fewer seeds, for every parameter set the calibration accepted (the facts cannot tell
them apart), so a pattern that holds only at the chosen set shows as such.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibrate import TIER2_NAMED
from experiments.compare import replicate_seeds
from experiments.output import OutputError, check_output_dir, output_dir
from model.model import InnovationModel
from model.observe import COLLAB_INDICATORS
from model.scenario import ScenarioError, load_scenario

__all__ = ["validate"]

FACT_TIER = {"Shanghai": 1, **dict.fromkeys(TIER2_NAMED, 2), "Nantong": 3, "Taizhou_JS": 3}


def _runs(sc, seed_list: list[int]) -> tuple[np.ndarray, pd.DataFrame]:
    tiers, regions = [], []
    for s in seed_list:
        m = InnovationModel(sc, seed=s, collect_agents=False)
        m.run()
        tiers.append(m.city.tier.copy())
        regions.append(m.region_frame())
    return np.array(tiers), pd.concat(regions)


def _yearly(region: pd.DataFrame) -> pd.DataFrame:
    return region.assign(y=np.floor(region["year"]).astype(int)).groupby(["seed", "y"]).mean(
        numeric_only=True)


def _growth(yearly: pd.DataFrame) -> np.ndarray:
    first = yearly.xs(2001, level="y")["mean_index"]
    last = yearly.xs(2021, level="y")["mean_index"]
    return (last / first).to_numpy()


def accepted_set_patterns(scenario: str, record: str | Path, seeds: int = 5,
                          root: int = 4242) -> list[dict]:
    """Tier counts, index growth and collaborative index at every accepted parameter set."""
    rec = json.loads(Path(record).read_text(encoding="utf-8"))
    base = load_scenario(scenario)
    seed_list = replicate_seeds(root, seeds)
    out = []
    for acc in rec["accepted"]:
        t, region = _runs(base.with_overrides(params=acc["params"]), seed_list)
        yearly = _yearly(region)
        out.append({
            "set": acc["index"], "chosen": acc["index"] == rec["best"]["index"],
            "params": acc["params"],
            "tier_counts_mean": {f"tier_{k}": float((t == k).sum(axis=1).mean())
                                 for k in (1, 2, 3, 4)},
            "mean_index_2021_over_2001_median": float(np.median(_growth(yearly))),
            "collab_index_2021_median": float(np.median(
                yearly.xs(2021, level="y")["collab_index"])),
        })
    return out


def validate(scenario: str = "yrd_calibrated.toml", seeds: int = 20, root: int = 4242,
             out: str | Path = "docs/validation", record: str | Path | None = None,
             set_seeds: int = 5) -> dict:
    """Run the scenario over ``seeds`` seeds; write ``validation.json`` and figures.

    With ``record`` (a calibration's JSON record), also run every accepted parameter set
    over ``set_seeds`` seeds (:func:`accepted_set_patterns`).
    """
    check_output_dir(out)
    sc = load_scenario(scenario)
    seed_list = replicate_seeds(root, seeds)
    t, region = _runs(sc, seed_list)
    cities = sc.geography.cities
    freq = {c: {f"tier_{k}": float((t[:, i] == k).mean()) for k in (1, 2, 3, 4)}
            for i, c in enumerate(cities)}
    yearly = _yearly(region)
    growth = _growth(yearly)
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
    if record is not None:
        result["accepted_sets"] = accepted_set_patterns(scenario, record, set_seeds, root)
    with output_dir(out, "validation") as tmp:
        (tmp / "validation.json").write_text(json.dumps(result, indent=1))
        _figures(region, freq, cities, tmp)
    return result


def _figures(region: pd.DataFrame, freq: dict, cities: tuple, out: Path) -> None:
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
    ap.add_argument("--record", default="scenarios/yrd_calibrated.json",
                    help="calibration record whose accepted sets are also run ('' for none)")
    ap.add_argument("--set-seeds", type=int, default=5)
    a = ap.parse_args()
    try:
        res = validate(seeds=a.seeds, out=a.out, record=a.record or None, set_seeds=a.set_seeds)
    except (OutputError, ScenarioError) as e:
        raise SystemExit(f"experiments.validate: error: {e}") from None
    print(json.dumps({k: res[k] for k in ("tier_counts_mean", "fact_tier_hit_rate",
                                          "mean_index_2021_over_2001", "collab_index_2021",
                                          "collab_indicator_growth_2011_2021_median")}, indent=1))
    for s in res.get("accepted_sets", []):
        print(f"accepted set {s['set']}{' (chosen)' if s['chosen'] else ''}: tiers "
              f"{s['tier_counts_mean']}, index growth {s['mean_index_2021_over_2001_median']:.0f}x,"
              f" collaborative index {s['collab_index_2021_median']:.0f}")
