"""Policy comparison with common random numbers and honest intervals.

Every scenario runs over the *same* N seeds, spawned from one recorded root with
``np.random.SeedSequence(root).spawn(N)``; differences against the base are taken seed by
seed (paired), and their mean is reported with a 95% t-interval over seeds. Pairing removes
the part of the seed noise the scenarios share, so small policy effects show.
"""

from __future__ import annotations

import json
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.running.cache import RunRecord, cached_run
from experiments.running.output import output_dir
from experiments.running.run import process_pool, provenance
from model.model import InnovationModel
from model.observe import SCENARIO_MEASURES
from model.scenario import Scenario, ScenarioError, load_scenario
from model.state import read_header, state_info

__all__ = ["replicate_seeds", "scenario_measures", "compare", "summarise", "expectations",
           "seeds_needed", "verdict", "compare_posterior", "summarise_posterior",
           "MEASURES", "SHOWN_MEASURES", "figure_measures"]

#: Measures compared (see ``model.observe.SCENARIO_MEASURES`` for their definitions).
MEASURES = tuple(SCENARIO_MEASURES)


#: Measures printed and drawn by default, besides each scenario's claimed measure (every
#: measure is in ``compare.csv``).
SHOWN_MEASURES = ("mean_index", "cv", "morans_i", "tier_2", "target_rank", "target_share",
                   "corridor_share", "talent_cross_province", "capital_cross_province")


def replicate_seeds(root: int, n: int) -> list[int]:
    """``n`` replicate seeds spawned from ``root`` (recorded with every result)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(root).spawn(n)]


def scenario_measures(scenario: Scenario | str, seed: int, steps: int | None = None,
                      targets: list[int] | None = None,
                      state: str | Path | None = None) -> dict[str, Any]:
    """Run one scenario with one seed and return the compared measures.

    ``targets``: the cities whose rank and share are measured (default: the cities the
    scenario's own rules name). ``state``: continue this saved state under the scenario
    (its seed is the state's), ``steps`` quarters from the saved step (default: up to
    step ``run.steps``). The measures cover the whole run either way, the saved steps
    included: run totals and flows count from the start, so a branch and a replay of
    the same rules from the start give the same numbers, and the saved part, common to
    every scenario continued from the state, drops out of the paired differences.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return measures(_run(sc, seed, steps, state), sc, targets)


def _run(sc: Scenario, seed: int, steps: int | None, state: str | Path | None) -> RunRecord:
    """One finished run: from the run cache when it starts at step 0 (experiments.running.cache)."""
    if state is None:
        return cached_run(sc, seed, sc.steps if steps is None else steps)
    m = InnovationModel.load(state, sc)
    steps = sc.steps - m.world.step if steps is None else steps
    if steps < 0:
        raise ValueError(f"{state} is at step {m.world.step}, after {sc.name}'s end")
    m.run(steps)
    return RunRecord.from_model(m)


def measures(m: RunRecord | InnovationModel, sc: Scenario, targets: list[int] | None = None
             ) -> dict[str, Any]:
    """The compared measures of a finished run ``m`` of ``sc`` (see scenario_measures).

    ``m``: the run's :class:`experiments.running.cache.RunRecord`, or the finished model.
    """
    if isinstance(m, InnovationModel):
        m = RunRecord.from_model(m)
    c, geo, fl = m.city, sc.geography, m.flows
    regions = m.region_frame()
    region = regions.iloc[-1]
    cities = m.cities_frame()
    tg = sc.targets() if targets is None else targets
    total = c.index.sum()
    cross = geo.province[:, None] != geo.province[None, :]
    out = {k: float(region[k]) for k in ("mean_index", "cv", "gini", "morans_i", "tier_1",
                                         "tier_2", "tier_3", "tier_4", "spillover_share",
                                         "theil")}
    in_tg = cities["city"].isin([geo.cities[i] for i in tg])
    last = cities["step"] == cities["step"].max()
    spending = float(c.spent.sum())
    out.update(
        leader_share=float(c.index.max() / total) if total > 0 else np.nan,
        target_rank=float(np.mean(c.rank[tg] + 1)) if tg else np.nan,
        target_share=float(c.index[tg].sum() / total) if tg and total > 0 else np.nan,
        corridor_share=(float(c.index[geo.corridor].sum() / total)
                        if geo.corridor.any() and total > 0 else np.nan),
        talent_cross_province=float(fl["talent"][cross].sum()),
        capital_cross_province=float(fl["capital"][cross].sum()),
        **{k: float(regions[k].sum()) for k in ("innovations", "founded", "failed",
                                                "vc_invested", "rd_spent")},
        innovations_per_rd=(float(regions["innovations"].sum() / regions["rd_spent"].sum())
                            if regions["rd_spent"].sum() > 0 else np.nan),
        target_talent=float(cities.loc[in_tg & last, "talent"].sum()) if tg else np.nan,
        target_founded=float(cities.loc[in_tg, "founded"].sum()) if tg else np.nan,
        target_vc_invested=float(cities.loc[in_tg, "vc_invested"].sum()) if tg else np.nan,
        public_spending=spending,
        index_per_spending=float(total / spending) if spending > 0 else np.nan,
    )
    return out


def _job(args: tuple) -> list[dict[str, Any]]:
    """One run, measured for each set of targeted cities (the base serves every other)."""
    scenario, seed, steps, target_sets, state = args
    m = _run(scenario, seed, steps, state)
    return [measures(m, scenario, tg) for tg in target_sets]


def _preparing(executor: Executor | None) -> str:
    """What a comparison does before its first run finishes (said if it takes a while)."""
    return ("starting the worker processes and loading the scenarios" if executor
            else "loading the scenarios")


def compare(base: str, others: list[str], seeds: int = 20, root: int = 20260101,
            steps: int | None = None, executor: Executor | None = None,
            params: dict[str, Any] | None = None, progress: bool | None = False,
            states: list[str | Path] | None = None, bar: Any = None) -> pd.DataFrame:
    """Run the base and every other scenario over the same seeds; one row per comparison.

    The base runs once per seed (``len(others) + 1`` runs per seed in all); its row is
    repeated in each comparison, measured for that comparison's targeted cities.

    The targeted cities of each other scenario are measured in the base too, so that
    ``target_rank`` and ``target_share`` differences are like for like. ``params``
    overrides model parameters in every scenario alike (e.g. another calibrated set).
    ``progress``: None shows progress (a bar on a terminal, plain lines off it,
    ``experiments.running.progress``), False nothing; ``bar``: an open
    :class:`~experiments.running.progress.Progress` to count the runs on instead (one count
    over several comparisons, e.g. the posterior draws).

    ``states``: saved states, one per seed, from which every scenario continues
    (``steps`` quarters; see :func:`scenario_measures`); their seeds replace ``seeds``
    and ``root``. Each scenario continues a state with the same generator state, so the
    random numbers are common from the branching point on.
    """
    if states:
        seed_list = [int(read_header(p)["seed"]) for p in states]
        state_of = {s: str(p) for s, p in zip(seed_list, states, strict=True)}
    else:
        seed_list = replicate_seeds(root, seeds)
        state_of = dict.fromkeys(seed_list)
    scs = {p: load_scenario(p) for p in [base, *others]}
    geo = scs[base].geography
    for p in others:
        g = scs[p].geography
        if g.name != geo.name or tuple(g.cities) != tuple(geo.cities):
            raise ScenarioError(scs[p].file, "geography", g.name,
                                f"the base's geography ({geo.name}, {geo.n} cities): "
                                "scenarios on different maps cannot be paired city by city")
    if params:
        scs = {p: sc.with_overrides(params=params) for p, sc in scs.items()}
    # the base runs once per seed and is measured for every other scenario's targets
    target_sets = [scs[p].targets() for p in others]
    jobs = [(scs[base], s, steps, target_sets, state_of[s]) for s in seed_list]
    jobs += [(scs[p], s, steps, [tg], state_of[s])
             for p, tg in zip(others, target_sets, strict=True) for s in seed_list]
    from experiments.running.progress import Progress

    it = executor.map(_job, jobs) if executor else map(_job, jobs)
    results = []
    own = bar is None
    if own:
        bar = Progress(len(jobs), "compare", enabled=progress, preparing=_preparing(executor))
    try:
        for r in it:
            results.append(r)
            bar.update()
    finally:
        if own:
            bar.close()
    n = len(seed_list)
    rows = []
    for j, p in enumerate(others):
        for i, s in enumerate(seed_list):
            key = {"comparison": Path(p).stem, "seed": s}
            rows.append({**key, "scenario": Path(base).stem, "role": "base",
                         **results[i][j]})
            rows.append({**key, "scenario": Path(p).stem, "role": "other",
                         **results[n * (1 + j) + i][0]})
    cols = ["comparison", "scenario", "role", "seed"]
    df = pd.DataFrame(rows)
    return df[cols + [c for c in df.columns if c not in cols]]


def compare_posterior(base: str, others: list[str], draws: list[dict[str, float]],
                      seeds: int, root: int, steps: int | None = None,
                      executor: Executor | None = None, progress: bool | None = False
                      ) -> pd.DataFrame:
    """:func:`compare` once per posterior draw (its parameters in every scenario alike).

    Every draw runs the same ``seeds`` (common random numbers within a draw, and across
    draws too). The rows gain ``draw`` (0, 1, ...). Progress is one count over all the
    draws' runs.
    """
    from experiments.running.progress import Progress

    frames = []
    total = len(draws) * (len(others) + 1) * seeds
    with Progress(total, f"compare ({len(draws)} posterior draws x {seeds} seeds)",
                  enabled=progress, preparing=_preparing(executor)) as bar:
        for d, params in enumerate(draws):
            r = compare(base, others, seeds, root, steps, executor=executor, params=params,
                        bar=bar)
            r.insert(1, "draw", d)
            frames.append(r)
    return pd.concat(frames, ignore_index=True)


#: relative size below which a draw's mean effect is a tie (the rounding of a sum of
#: differences that cancel), measured against the largest difference of its seeds
_TIE = 1e-9


def summarise_posterior(runs: pd.DataFrame,
                        expect: dict[str, tuple[str, str]] | None = None,
                        level: float = 0.9) -> pd.DataFrame:
    """The posterior distribution of each effect and the probability of each claim.

    Per comparison and measure: the effect of a draw is its paired difference (other -
    base) averaged over the seeds; over the draws, its mean, the central ``level``
    interval, and the shares of draws with a positive and a negative effect. A claimed
    measure's row gets ``probability``: the share of draws whose effect is on the claimed
    side (parameter uncertainty, the seed noise averaged within a draw; a draw whose
    seeds' differences cancel, its mean zero up to rounding, is on neither side), and
    ``probability_runs``: the same over single runs (draw x seed).
    """
    expect = expect or {}
    a = (1.0 - level) / 2.0
    rows = []
    for comp, g in runs.groupby("comparison", sort=False):
        b = g[g["role"] == "base"].set_index(["draw", "seed"])
        o = g[g["role"] == "other"].set_index(["draw", "seed"]).loc[b.index]
        for m in MEASURES:
            d = (o[m] - b[m]).dropna()
            if d.empty:
                continue
            eff = d.groupby(level="draw").mean()
            # a draw whose seeds' differences cancel has no side: its mean is zero up to
            # the rounding of the sum, which is far below the differences themselves
            tie = eff.abs() <= _TIE * d.abs().groupby(level="draw").max()
            row = {"comparison": comp, "measure": m, "draws": int(eff.size),
                   "seeds_per_draw": int(d.groupby(level="draw").size().min()),
                   "effect_mean": float(eff.mean()), "effect_q_low": float(eff.quantile(a)),
                   "effect_q_high": float(eff.quantile(1 - a)),
                   "p_up": float(((eff > 0) & ~tie).mean()),
                   "p_down": float(((eff < 0) & ~tie).mean()),
                   "expected": "", "probability": np.nan, "probability_runs": np.nan}
            claim = expect.get(comp)
            if claim is not None and claim[0] == m:
                up = claim[1] == "up"
                row.update(expected=claim[1], probability=row["p_up" if up else "p_down"],
                           probability_runs=float(((d > 0) if up else (d < 0)).mean()))
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame,
              expect: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Paired differences (other - base) per comparison and measure, with 95% t-intervals.

    ``expect`` maps a comparison to its scenario's claim ``(measure, "up" | "down")``; that
    measure's row gets ``expected`` and ``as_expected`` (the interval excludes 0 on the
    claimed side).
    """
    expect = expect or {}
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
                         "beyond_noise": bool(n > 1 and (mean - half > 0 or mean + half < 0)),
                         "expected": "", "as_expected": None})
            claim = expect.get(comp)
            if claim is not None and claim[0] == m:
                side = (mean - half > 0) if claim[1] == "up" else (mean + half < 0)
                rows[-1].update(expected=claim[1], as_expected=bool(n > 1 and side))
                rows[-1]["seeds_needed"] = seeds_needed(
                    mean, float(d.std(ddof=1)) if n > 1 else np.nan)
                rows[-1]["verdict"] = verdict(rows[-1])
    return pd.DataFrame(rows)


def seeds_needed(mean: float, sd: float, most: int = 1000) -> float:
    """Seeds a paired 95% interval would need to exclude 0, if the estimates held.

    The smallest ``n`` with ``t(n - 1) * sd / sqrt(n) < |mean|`` for the mean and standard
    deviation of the paired differences as estimated; NaN if unknown or above ``most``.

    Example: mean 1, sd 2 -> 18 (t(17) * 2 / sqrt(18) = 0.995 < 1).
    """
    if not (np.isfinite(mean) and np.isfinite(sd)) or mean == 0:
        return np.nan
    if sd == 0:
        return 2.0
    for n in range(2, most + 1):
        if stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) < abs(mean):
            return float(n)
    return np.nan


def verdict(row: dict[str, Any]) -> str:
    """A claim's verdict in words: supported, opposite, or not shown at N seeds.

    "Not shown" is not "refuted": the interval includes zero at this many seeds.
    """
    n = row["n_seeds"]
    if n < 2:
        return f"not shown: {n} seed gives no interval (use --seeds 2 or more)"
    if row["as_expected"]:
        return "supported beyond noise"
    opposite = row["ci_low"] > 0 if row["expected"] == "down" else row["ci_high"] < 0
    if opposite:
        return "opposite, beyond noise"
    out = f"not shown at {n} seeds (interval {row['ci_low']:+.4g} to {row['ci_high']:+.4g})"
    need = row.get("seeds_needed", np.nan)
    same_side = (row["diff"] > 0) == (row["expected"] == "up")
    if np.isfinite(need) and need > n and same_side:
        out += f"; about {int(need)} seeds would show it if the effect is as estimated"
    return out


def expectations(others: list[str]) -> dict[str, tuple[str, str]]:
    """The ``[expect]`` claims of the compared scenarios, keyed by comparison name."""
    out = {}
    for p in others:
        e = load_scenario(p).expect
        if e is not None:
            out[Path(p).stem] = (e.measure, e.direction)
    return out


def write_comparison(runs: pd.DataFrame, summary: pd.DataFrame, meta: dict[str, Any],
                     directory: str | Path, posterior: pd.DataFrame | None = None) -> Path:
    """Write runs.csv, compare.csv, metadata.json and compare.png (see experiments.running.output).

    With ``posterior`` (:func:`summarise_posterior`) also posterior.csv.
    """
    with output_dir(directory, "comparison") as tmp:
        runs.to_csv(tmp / "runs.csv", index=False)
        if posterior is not None:
            posterior.to_csv(tmp / "posterior.csv", index=False)
        summary.to_csv(tmp / "compare.csv", index=False)
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        from experiments.presentation.figures import comparison

        comparison(summary, tmp / "compare.png", measures=figure_measures(summary))
    return Path(directory)


def figure_measures(summary: pd.DataFrame) -> list[str]:
    """The measures a comparison's figure shows: :data:`SHOWN_MEASURES` and every claimed one."""
    claimed = (summary.loc[summary["expected"].astype(object).fillna("") != "", "measure"]
               if "expected" in summary else [])
    return list(dict.fromkeys([*SHOWN_MEASURES, *claimed]))


def run_compare(base: str, others: list[str], seeds: int, root: int, steps: int | None,
                jobs: int, progress: bool | None = None,
                states: list[str | Path] | None = None,
                draws: list[dict[str, float]] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Compare scenarios with ``jobs`` worker processes; return runs, summary, metadata.

    With ``states`` (see :func:`compare`) the metadata records each state's provenance
    (``from_states``: file, sha256, seed, step, year, saved scenario) and the seeds are
    theirs; ``steps`` there is the last step of the runs. With ``draws`` (posterior
    parameter sets) every draw runs every scenario over the seeds (:func:`compare_posterior`);
    the runs gain a ``draw`` column, the summary pools the (draw, seed) pairs, and
    :func:`summarise_posterior` of the runs gives each claim's probability.
    """
    kw = {"progress": progress, "states": states}
    if draws:
        kw = {"progress": progress, "draws": draws}
    run_fn = compare_posterior if draws else compare
    if jobs > 1:
        with process_pool(jobs) as ex:
            runs = run_fn(base, others, seeds=seeds, root=root, steps=steps, executor=ex, **kw)
    else:
        runs = run_fn(base, others, seeds=seeds, root=root, steps=steps, **kw)
    if draws:
        # the pooled summary treats each (draw, seed) pair as one paired replicate
        pooled = runs.assign(seed=runs["draw"].astype(str) + ":" + runs["seed"].astype(str))
        summary = summarise(pooled.drop(columns="draw"), expectations(others))
    else:
        summary = summarise(runs, expectations(others))
    sc = load_scenario(base)
    if states:
        info = [state_info(p) for p in states]
        start = info[0]["step"]
        meta = provenance(sc, seed=None, steps=(sc.steps if steps is None else start + steps))
        meta.update(kind="comparison", root_seed=None, seeds=[i["seed"] for i in info],
                    from_states=info, base=base, others=others)
    else:
        meta = provenance(sc, seed=root, steps=sc.steps if steps is None else steps)
        meta.update(kind="comparison", root_seed=root, seeds=replicate_seeds(root, seeds),
                    base=base, others=others)
    if draws:
        meta.update(posterior_draws=draws)
    return runs, summary, meta
