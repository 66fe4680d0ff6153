"""Projections from saved states: trajectories with their fan, and tier changes per city.

A projection continues every scenario from the same saved states (one per seed, e.g. the
calibrated history at the end of 2021, ``innogrid run ... --save-state``) to a later year
and keeps what `innogrid compare` does not: the regional index of every step (the saved
history included, so one figure shows 2001-2021 and the 2022-2035 fan) and every city's
tier at the branching point and at the end. Probabilities are shares of seeds at one
parameter point (the states' scenario): parameter uncertainty is not in them.

    python -m experiments.analysis.projections STATES SCENARIO... --until 2035 --out DIR [--jobs 2]

writes ``trajectories.csv`` (scenario, seed, step, year, mean_index), ``tiers.csv``
(scenario, seed, city, year, tier, index, rank at the branching point and at the end),
``tier_changes.csv`` (:func:`tier_changes`), ``metadata.json`` (the states' provenance,
their seeds) and two figures, ``projection_fan.png`` and ``tier_maps.png``, through
:mod:`experiments.running.output`.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.running.output import output_dir
from model.model import InnovationModel, last_step
from model.scenario import Scenario, load_scenario
from model.state import read_header, state_info

__all__ = ["project", "tier_changes", "fan", "projection_fan", "tier_maps", "write_projection",
           "run_projection"]


def _job(args: tuple) -> dict[str, Any]:
    scenario, state, steps = args
    m = InnovationModel.load(state, scenario)
    start = m.world.step
    m.run(steps)
    region = m.region_frame()[["step", "year", "mean_index"]]
    cities = m.cities_frame()
    ends = cities[cities["step"].isin([start, cities["step"].max()])]
    return {"seed": int(m.seed), "region": region,
            "cities": ends[["step", "year", "city", "tier", "index", "rank"]]}


def project(scenarios: list[str | Scenario], states: list[str | Path], steps: int,
            executor: Executor | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Continue every scenario from every state ``steps`` quarters.

    Returns ``(trajectories, tiers)``: the regional mean index of every step of every run
    (columns scenario, seed, step, year, mean_index) and each city's tier, index and rank
    at the branching point and at the last step (scenario, seed, step, year, city, tier,
    index, rank).
    """
    scs = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    jobs = [(sc, str(p), steps) for sc in scs for p in states]
    results = list(executor.map(_job, jobs) if executor else map(_job, jobs))
    traj, tiers = [], []
    for (sc, _, _), r in zip(jobs, results, strict=True):
        traj.append(r["region"].assign(scenario=sc.name, seed=r["seed"]))
        tiers.append(r["cities"].assign(scenario=sc.name, seed=r["seed"]))
    first = ["scenario", "seed"]
    traj_df = pd.concat(traj, ignore_index=True)
    tiers_df = pd.concat(tiers, ignore_index=True)
    return (traj_df[first + [c for c in traj_df if c not in first]],
            tiers_df[first + [c for c in tiers_df if c not in first]])


def tier_changes(tiers: pd.DataFrame, base: str | None = None) -> pd.DataFrame:
    """Per scenario and city, how often (share of seeds) its tier changes from start to end.

    ``tiers`` as returned by :func:`project` (two years per run). Tier 1 is the top, so
    ``p_up`` is the share of seeds where the tier number falls (the city climbs) and
    ``p_down`` where it rises. ``tier_start`` and ``tier_end`` are the modal tiers over
    seeds (the smaller on ties). With ``base`` (a scenario name), ``p_up_vs_base`` and
    ``p_down_vs_base`` are the differences from the base's shares for the same city.
    Rows: one per scenario and city, those that change in no seed included.
    """
    t0, t1 = tiers["step"].min(), tiers["step"].max()
    a = tiers[tiers["step"] == t0].set_index(["scenario", "seed", "city"])
    b = tiers[tiers["step"] == t1].set_index(["scenario", "seed", "city"])
    both = a[["tier"]].rename(columns={"tier": "start"}).join(
        b[["tier"]].rename(columns={"tier": "tier_end"}), how="inner").reset_index()
    both["up"] = both["tier_end"] < both["start"]
    both["down"] = both["tier_end"] > both["start"]

    def mode(s: pd.Series) -> int:
        return int(s.value_counts().sort_index().idxmax())

    g = both.groupby(["scenario", "city"], sort=False)
    out = g.agg(n_seeds=("seed", "size"), tier_start=("start", mode),
                tier_end=("tier_end", mode), p_up=("up", "mean"),
                p_down=("down", "mean")).reset_index()
    out["p_change"] = out["p_up"] + out["p_down"]
    out["year_start"] = float(a["year"].iloc[0])
    out["year_end"] = float(b["year"].iloc[0])
    if base is not None:
        ref = out[out["scenario"] == base].set_index("city")
        out["p_up_vs_base"] = out["p_up"] - out["city"].map(ref["p_up"])
        out["p_down_vs_base"] = out["p_down"] - out["city"].map(ref["p_down"])
    return out


def fan(trajectories: pd.DataFrame, lo: float = 0.05, hi: float = 0.95) -> pd.DataFrame:
    """Median and the ``lo``-``hi`` quantiles over seeds of the mean index per scenario and year."""
    g = trajectories.groupby(["scenario", "year"], sort=False)["mean_index"]
    return pd.DataFrame({"median": g.median(), "low": g.quantile(lo),
                         "high": g.quantile(hi)}).reset_index()


def projection_fan(trajectories: pd.DataFrame, branch_year: float, path: str | Path,
                   base: str | None = None) -> Path:
    """The regional index: history to ``branch_year`` and each scenario's projected fan.

    One panel per scenario other than ``base`` (or one panel if there is only one), each
    with the history (median over seeds, 5-95% band), the base's fan and the scenario's.
    """
    f = fan(trajectories)
    names = list(dict.fromkeys(trajectories["scenario"]))
    base = base if base in names else names[0]
    others = [n for n in names if n != base] or [base]
    ncols = min(3, len(others))
    nrows = int(np.ceil(len(others) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows + 0.4),
                             squeeze=False, sharex=True, sharey=True)
    for ax in axes.ravel()[len(others):]:
        ax.set_visible(False)
    hist = f[(f["scenario"] == base) & (f["year"] <= branch_year)]
    fb = f[(f["scenario"] == base) & (f["year"] >= branch_year)]
    for ax, name in zip(axes.ravel(), others, strict=False):
        ax.fill_between(hist["year"], hist["low"], hist["high"], color="0.6", alpha=0.4, lw=0)
        ax.plot(hist["year"], hist["median"], color="black", lw=1.2, label="history (2001-)")
        ax.fill_between(fb["year"], fb["low"], fb["high"], color="#56B4E9", alpha=0.35, lw=0)
        ax.plot(fb["year"], fb["median"], color="#0072B2", lw=1.2, label=base)
        if name != base:
            fo = f[(f["scenario"] == name) & (f["year"] >= branch_year)]
            ax.fill_between(fo["year"], fo["low"], fo["high"], color="#E69F00", alpha=0.35, lw=0)
            ax.plot(fo["year"], fo["median"], color="#D55E00", lw=1.2, label=name)
        ax.axvline(branch_year, color="0.3", lw=0.6, ls=":")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="upper left", frameon=False)
        ax.grid(True, lw=0.3, alpha=0.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean innovation index")
    for ax in axes[-1, :]:
        ax.set_xlabel("year")
    n = trajectories["seed"].nunique()
    fig.suptitle(f"Regional index: history and projection from {branch_year:g} "
                 f"(median, 5-95% over {n} seeds)")
    fig.tight_layout()
    fig.savefig(Path(path), dpi=150)
    plt.close(fig)
    return Path(path)


def _end_of(year: float) -> str:
    """A step's year as a date: 2022.0, the state after the last quarter of 2021."""
    return f"end of {int(year) - 1}" if year == int(year) else f"{year:g}"


def _modal_snapshot(t: pd.DataFrame) -> pd.DataFrame:
    g = t.groupby("city", sort=False)
    snap = pd.DataFrame({"tier": g["tier"].agg(lambda s: int(s.value_counts().sort_index()
                                                              .idxmax())),
                         "index": g["index"].median()}).reset_index()
    snap["rank"] = snap["index"].rank(ascending=False, method="first").astype(int)
    return snap


def tier_maps(tiers: pd.DataFrame, geography: Any, scenario: str, path: str | Path) -> Path:
    """Tier maps at the branching point and at the end, side by side, for one scenario.

    Each city's modal tier over seeds, marker area by its median index (grids: one cell
    per city); the title lists the cities whose modal tier changes.
    """
    from experiments.presentation.figures import (
        flush_labels,
        positions,
        tier_legend,
        tier_map_panel,
    )

    t = tiers[tiers["scenario"] == scenario]
    steps = sorted(t["step"].unique())
    snaps = [_modal_snapshot(t[t["step"] == s]) for s in (steps[0], steps[-1])]
    pos, kind = positions(geography, snaps[0]["city"].astype(str))
    size = (6.8, 3.8) if kind == "grid" else (8.6, 5.2)
    fig, axes = plt.subplots(1, 2, figsize=size, squeeze=False)
    for ax, snap, s in zip(axes[0], snaps, (steps[0], steps[-1]), strict=True):
        tier_map_panel(ax, snap, pos, kind)
        ax.set_title(f"{_end_of(float(t.loc[t['step'] == s, 'year'].iloc[0]))} (modal tier)",
                     fontsize=9)
    ch = tier_changes(t)
    moved = ch[ch["tier_start"] != ch["tier_end"]]
    text = ", ".join(f"{r.city} {r.tier_start}->{r.tier_end}" for r in moved.itertuples()) or "none"
    tier_legend(fig, loc="lower center", ncol=4, frameon=False, fontsize=8)
    fig.suptitle(f"{scenario}: tiers over {t['seed'].nunique()} seeds; modal tier changes: "
                 f"{text}", fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    flush_labels(fig)
    fig.savefig(Path(path), dpi=150)
    plt.close(fig)
    return Path(path)


def write_projection(trajectories: pd.DataFrame, tiers: pd.DataFrame, meta: dict[str, Any],
                     directory: str | Path, geography: Any = None) -> Path:
    """Write the projection's tables, metadata and figures (see the module docstring)."""
    base = meta.get("base")
    changes = tier_changes(tiers, base)
    with output_dir(directory, "projection") as tmp:
        trajectories.to_csv(tmp / "trajectories.csv", index=False)
        tiers.to_csv(tmp / "tiers.csv", index=False)
        changes.to_csv(tmp / "tier_changes.csv", index=False)
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        projection_fan(trajectories, meta["branch_year"], tmp / "projection_fan.png", base)
        tier_maps(tiers, geography, base or tiers["scenario"].iloc[0], tmp / "tier_maps.png")
    return Path(directory)


def run_projection(scenarios: list[str], states: list[str | Path], until: int,
                   jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """:func:`project` to the end of ``until`` with ``jobs`` processes; plus the metadata."""
    from experiments.running.run import process_pool, provenance

    info = [state_info(p) for p in states]
    h = read_header(states[0])
    first = load_scenario(scenarios[0])
    steps = last_step(first.params.start_year, until) - h["step"]
    if jobs > 1:
        with process_pool(jobs) as ex:
            traj, tiers = project(scenarios, states, steps, ex)
    else:
        traj, tiers = project(scenarios, states, steps)
    meta = provenance(first, seed=None, steps=h["step"] + steps)
    meta.update({"kind": "projection", "base": first.name, "scenarios": list(scenarios),
            "branch_step": h["step"], "branch_year": h["year"], "until": until,
            "steps_run": steps, "seeds": [i["seed"] for i in info], "from_states": info,
            "probabilities": "shares of seeds at one parameter point (no parameter uncertainty)"})
    return traj, tiers, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.analysis.projections",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("states", help="a folder of saved states (one per seed)")
    ap.add_argument("scenarios", nargs="+", help="the base first, then the others")
    ap.add_argument("--until", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    states = sorted(Path(a.states).glob("*.npz"))
    if not states:
        print(f"projections: no states (*.npz) in {a.states}", file=sys.stderr)
        return 2
    traj, tiers, meta = run_projection(a.scenarios, states, a.until, a.jobs)
    geo = load_scenario(a.scenarios[0]).geography
    write_projection(traj, tiers, meta, a.out, geo)
    ch = tier_changes(tiers, meta["base"])
    moved = ch[ch["p_change"] > 0].sort_values(["scenario", "p_change"], ascending=[True, False])
    print(f"projection: {len(a.scenarios)} scenarios x {len(states)} states, "
          f"{meta['branch_year']:g} to {a.until + 1}; wrote {a.out}/")
    for r in moved.itertuples():
        print(f"  {r.scenario}: {r.city} tier {r.tier_start} -> {r.tier_end}: up {r.p_up:.2f}, "
              f"down {r.p_down:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
