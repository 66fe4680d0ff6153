"""Policy comparison with common random numbers and honest intervals.

Every scenario runs over the *same* N seeds, spawned from one recorded root with
``np.random.SeedSequence(root).spawn(N)``; differences against the base are taken seed by
seed (paired), and their mean is reported with a 95% t-interval over seeds. Pairing removes
the part of the seed noise the scenarios share, so small policy effects show.
"""

from __future__ import annotations

import json
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.run import atomic_output_dir, provenance
from model.model import InnovationModel
from model.scenario import Scenario, load_scenario

__all__ = ["replicate_seeds", "scenario_measures", "compare", "summarise", "MEASURES"]

#: Measures compared, all at the last step unless noted.
MEASURES = (
    "mean_index", "cv", "gini", "morans_i", "tier_1", "tier_2", "tier_3", "tier_4",
    "target_rank", "target_share", "corridor_share", "talent_cross_province",
    "capital_cross_province", "spillover_share",
)


def replicate_seeds(root: int, n: int) -> list[int]:
    """``n`` replicate seeds spawned from ``root`` (recorded with every result)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(root).spawn(n)]


def _targets(sc: Scenario) -> list[int]:
    """Cities named by the scenario's rules (empty when rules apply to every city)."""
    n = sc.geography.n
    named = {i for r in sc.rules if len(r.cities) < n for i in r.cities}
    return sorted(named)


def scenario_measures(scenario: Scenario | str, seed: int, steps: int | None = None,
                      targets: list[int] | None = None) -> dict[str, Any]:
    """Run one scenario with one seed and return the compared measures.

    ``targets``: the cities whose rank and share are measured (default: the cities the
    scenario's own rules name).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    m = InnovationModel(sc, seed=seed, collect_agents=False)
    m.run(sc.steps if steps is None else steps)
    c, geo, fl = m.city, m.geo, m.world.flows
    region = m.region_frame().iloc[-1]
    tg = _targets(sc) if targets is None else targets
    total = c.index.sum()
    cross = geo.province[:, None] != geo.province[None, :]
    out = {k: float(region[k]) for k in ("mean_index", "cv", "gini", "morans_i", "tier_1",
                                         "tier_2", "tier_3", "tier_4", "spillover_share")}
    out.update(
        target_rank=float(np.mean(c.rank[tg] + 1)) if tg else np.nan,
        target_share=float(c.index[tg].sum() / total) if tg and total > 0 else np.nan,
        corridor_share=(float(c.index[geo.corridor].sum() / total)
                        if geo.corridor.any() and total > 0 else np.nan),
        talent_cross_province=float(fl["talent"][cross].sum()),
        capital_cross_province=float(fl["capital"][cross].sum()),
    )
    return out


def _job(args: tuple) -> dict[str, Any]:
    path, seed, steps, targets = args
    return scenario_measures(path, seed, steps, targets)


def compare(base: str, others: list[str], seeds: int = 20, root: int = 20260101,
            steps: int | None = None, executor: Executor | None = None) -> pd.DataFrame:
    """Run the base and every other scenario over the same seeds; one row per run.

    The targeted cities of each other scenario are measured in the base too, so that
    ``target_rank`` and ``target_share`` differences are like for like.
    """
    seed_list = replicate_seeds(root, seeds)
    scs = {p: load_scenario(p) for p in [base, *others]}
    jobs, keys = [], []
    for p in others:
        tg = _targets(scs[p])
        for s in seed_list:
            for which in (base, p):
                jobs.append((which, s, steps, tg))
                keys.append({"comparison": Path(p).stem, "scenario": Path(which).stem,
                             "role": "base" if which == base else "other", "seed": s})
    results = list(executor.map(_job, jobs)) if executor else [_job(j) for j in jobs]
    return pd.DataFrame([{**k, **r} for k, r in zip(keys, results, strict=True)])


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Paired differences (other - base) per comparison and measure, with 95% t-intervals."""
    rows = []
    for comp, g in runs.groupby("comparison", sort=False):
        b = g[g["role"] == "base"].set_index("seed")
        o = g[g["role"] == "other"].set_index("seed").loc[b.index]
        for m in MEASURES:
            d = (o[m] - b[m]).dropna()
            n = len(d)
            mean = float(d.mean()) if n else np.nan
            half = (float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
                    if n > 1 else np.nan)
            rows.append({"comparison": comp, "measure": m, "base_mean": float(b[m].mean()),
                         "other_mean": float(o[m].mean()), "diff": mean,
                         "ci_low": mean - half, "ci_high": mean + half, "n_seeds": n,
                         "beyond_noise": bool(n > 1 and (mean - half > 0 or mean + half < 0))})
    return pd.DataFrame(rows)


def write_comparison(runs: pd.DataFrame, summary: pd.DataFrame, meta: dict[str, Any],
                     directory: str | Path) -> Path:
    """Write runs.csv, compare.csv, metadata.json and compare.png atomically."""
    with atomic_output_dir(directory) as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        summary.to_csv(tmp / "compare.csv", index=False)
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        _figure(summary, tmp / "compare.png")
    return Path(directory)


def _figure(summary: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["mean_index", "cv", "morans_i", "tier_2", "target_rank", "target_share",
             "corridor_share", "talent_cross_province", "capital_cross_province"]
    comps = list(dict.fromkeys(summary["comparison"]))
    fig, axes = plt.subplots(3, 3, figsize=(12, 2 + 0.35 * len(comps) * 3), sharey=True)
    palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    for ax, m in zip(axes.ravel(), shown, strict=True):
        s = summary[summary["measure"] == m].set_index("comparison").reindex(comps)
        y = np.arange(len(comps))
        for k, (yy, row) in enumerate(zip(y, s.itertuples(), strict=True)):
            ax.errorbar(row.diff, yy, xerr=[[row.diff - row.ci_low], [row.ci_high - row.diff]],
                        fmt="o", color=palette[k % len(palette)], capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(m, fontsize=9)
        ax.set_yticks(y, comps, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Difference from the base scenario (mean over paired seeds, 95% interval)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def run_compare(base: str, others: list[str], seeds: int, root: int, steps: int | None,
                jobs: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Compare scenarios with ``jobs`` worker processes; return runs, summary, metadata."""
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            runs = compare(base, others, seeds, root, steps, executor=ex)
    else:
        runs = compare(base, others, seeds, root, steps)
    summary = summarise(runs)
    sc = load_scenario(base)
    meta = provenance(sc, seed=root, steps=sc.steps if steps is None else steps)
    meta.update(kind="comparison", root_seed=root, seeds=replicate_seeds(root, seeds),
                base=base, others=others)
    return runs, summary, meta
