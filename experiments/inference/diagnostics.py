"""Diagnostics of the inference: recovery of known parameters (coverage) on synthetic data.

Does the calibration find the truth when there is one? **Coverage** over synthetic truths
(in the spirit of simulation-based calibration, Talts et al. 2018, arXiv:1804.06788):

1. a **reference table**: ``n`` parameter sets drawn from the prior (seeded numpy
   Generator) and simulated once each (:func:`reference_table`);
2. ``k`` further prior draws are the **synthetic truths**: each is simulated, and its
   statistics play the facts;
3. for each truth, the rejection-ABC posterior from the reference table (the ``quantile``
   closest rows by the spec's own distance, :func:`experiments.inference.posterior.
   pattern_distance`; Pritchard et al. 1999) gives each parameter's central credible
   interval at ``level``;
4. the **coverage** of a parameter is the share of truths inside their interval. A
   calibrated inference covers at the nominal rate (0.9 of 90% intervals); much less means
   overconfident intervals, much more conservative ones (rejection ABC at a finite
   tolerance is expected to be somewhat conservative).

The same table gives each parameter's **identifiability** on synthetic data: the mean
posterior width relative to the prior's (1 = the statistics say nothing about it).

This checks the statistics and the distance, with a reference table that is affordable
for many truths; the ABC-SMC posterior itself (:mod:`experiments.inference.posterior`)
is sharper than rejection ABC at the same budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor

import numpy as np
import pandas as pd

from experiments.inference.posterior import Prior, pattern_distance

__all__ = ["sample_prior", "reference_table", "rejection_posterior", "coverage"]


def sample_prior(priors: Mapping[str, Prior], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` draws from independent uniform / log-uniform priors, one column per parameter."""
    cols = {}
    for k, p in priors.items():
        u = rng.random(n)
        if p.dist == "uniform":
            cols[k] = p.lo + u * (p.hi - p.lo)
        else:
            cols[k] = np.exp(np.log(p.lo) + u * (np.log(p.hi) - np.log(p.lo)))
    return pd.DataFrame(cols)


def reference_table(simulate: Callable[[dict], dict], draws: pd.DataFrame,
                    pool: Executor | None = None) -> pd.DataFrame:
    """Simulate every row of ``draws``; returns the draws with their statistics alongside."""
    rows = [dict(zip(draws.columns, map(float, r), strict=True))
            for r in draws.itertuples(index=False)]
    stats = list(pool.map(simulate, rows, chunksize=4)) if pool is not None else [
        simulate(r) for r in rows]
    return pd.concat([draws.reset_index(drop=True), pd.DataFrame(stats)], axis=1)


def rejection_posterior(table: pd.DataFrame, observed: Mapping[str, float],
                        weights: Mapping[str, float], scales: Mapping[str, float],
                        quantile: float) -> pd.DataFrame:
    """The rows of ``table`` within the ``quantile`` of smallest distances to ``observed``."""
    d = np.array([pattern_distance(r, observed, weights, scales)
                  for r in table.to_dict("records")])
    keep = max(int(round(quantile * len(table))), 2)
    order = np.argsort(d, kind="stable")[:keep]
    return table.iloc[order].assign(distance=d[order])


def coverage(table: pd.DataFrame, truths: pd.DataFrame, priors: Mapping[str, Prior],
             weights: Mapping[str, float], scales: Mapping[str, float],
             quantile: float = 0.05, level: float = 0.9) -> pd.DataFrame:
    """Per truth and parameter: the true value, its credible interval, inside or not.

    ``truths`` holds parameter columns and statistic columns (a reference table of its own).
    Returns one row per (truth, parameter) with ``lo``, ``hi``, ``inside`` and ``width``
    (the interval's width over the prior's central ``level`` width).
    """
    a = (1.0 - level) / 2.0
    rows = []
    for i, t in enumerate(truths.to_dict("records")):
        post = rejection_posterior(table, {k: t[k] for k in weights}, weights, scales,
                                   quantile)
        for k, p in priors.items():
            lo, hi = np.quantile(post[k], [a, 1.0 - a])
            if p.dist == "uniform":
                plo, phi = p.lo + a * (p.hi - p.lo), p.hi - a * (p.hi - p.lo)
            else:
                ll, lh = np.log(p.lo), np.log(p.hi)
                plo, phi = np.exp(ll + a * (lh - ll)), np.exp(lh - a * (lh - ll))
            rows.append({"truth": i, "parameter": k, "true": t[k], "lo": float(lo),
                         "hi": float(hi), "inside": bool(lo <= t[k] <= hi),
                         "width": float((hi - lo) / (phi - plo))})
    return pd.DataFrame(rows)


def summarise_coverage(cov: pd.DataFrame, level: float) -> pd.DataFrame:
    """Per parameter: coverage with a binomial 95% interval, and the mean relative width."""
    from scipy.stats import binomtest

    rows = []
    for k, g in cov.groupby("parameter", sort=False):
        n, x = len(g), int(g["inside"].sum())
        ci = binomtest(x, n).proportion_ci(0.95)
        rows.append({"parameter": k, "truths": n, "coverage": x / n, "ci_lo": ci.low,
                     "ci_hi": ci.high, "nominal": level,
                     "consistent": bool(ci.low <= level <= ci.high),
                     "relative_width": float(g["width"].mean())})
    return pd.DataFrame(rows)


def run_coverage(spec_path: str, reference: int, truths: int, jobs: int = 1,
                 quantile: float = 0.05, level: float = 0.9) -> pd.DataFrame:
    """Coverage of the spec's statistics and distance on the real model; writes the outputs.

    Writes ``coverage.csv`` (per truth and parameter), ``coverage_summary.csv`` and
    ``reference.csv`` (the reference table) into the spec's output folder.
    """
    import functools
    import json
    from pathlib import Path

    from experiments.inference.posterior import (
        KIND,
        STATISTICS,
        load_posterior_spec,
        simulate_yrd,
    )
    from experiments.running.output import atomic_write, claim
    from experiments.running.run import process_pool

    spec = load_posterior_spec(spec_path)
    out = claim(Path(spec.output), KIND, ("coverage.csv", "coverage_summary.csv",
                                          "reference.csv", "coverage.json"))
    ss_table, ss_truth = np.random.SeedSequence(spec.root_seed).spawn(2)
    draws = sample_prior(spec.priors, reference, np.random.default_rng(ss_table))
    true = sample_prior(spec.priors, truths, np.random.default_rng(ss_truth))
    sim = functools.partial(simulate_yrd, base=spec.base, fixed=spec.params,
                            root_seed=spec.root_seed)
    with process_pool(jobs) as pool:
        table = reference_table(sim, draws, pool)
        truth_table = reference_table(sim, true, pool)
    scales = {k: STATISTICS[k].scale for k in STATISTICS}
    cov = coverage(table, truth_table, spec.priors, spec.fit, scales, quantile, level)
    summary = summarise_coverage(cov, level)
    atomic_write(out / "reference.csv", pd.concat(
        [table.assign(role="reference"), truth_table.assign(role="truth")]).to_csv(index=False))
    atomic_write(out / "coverage.csv", cov.to_csv(index=False))
    atomic_write(out / "coverage_summary.csv", summary.to_csv(index=False))
    atomic_write(out / "coverage.json", json.dumps(
        {"spec": spec.file, "reference": reference, "truths": truths, "quantile": quantile,
         "level": level, "root_seed": spec.root_seed,
         "overall_coverage": float(cov["inside"].mean()),
         "parameters_consistent_with_nominal": int(summary["consistent"].sum()),
         "parameters": len(summary)}, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.inference.diagnostics SPEC --reference N --truths K --jobs J``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m experiments.inference.diagnostics",
                                 description="coverage of known parameters on synthetic data")
    ap.add_argument("spec")
    ap.add_argument("--reference", type=int, default=2000)
    ap.add_argument("--truths", type=int, default=25)
    ap.add_argument("--quantile", type=float, default=0.05)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    s = run_coverage(a.spec, a.reference, a.truths, a.jobs, a.quantile)
    print(s.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
