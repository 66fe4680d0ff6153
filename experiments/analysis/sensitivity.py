"""``innogrid sensitivity SPEC``: global sensitivity analysis through the sweep runner.

The spec is an experiment spec (experiments/README.md) whose design is ``sobol``,
``morris`` or ``pawn``, with one scenario (or a test function as ``model``), bounds for
the parameters and ``outcomes`` to analyse. The pipeline:

1. draw the method's sample (seeded by ``root_seed``) and run every sample point for
   every replicate seed through :func:`experiments.running.sweep.sweep` (so it is resumable, runs
   on any backend, and records failed runs);
2. per outcome, average the replicates at each point (common random numbers: replicate
   ``k`` has the same seed at every point) and compute the indices with bootstrap
   intervals (:mod:`experiments.analysis.sensitivity_indices`);
3. report how much of the outcome's variance is seed noise (:func:`noise_share`), so a
   reader sees whether an index describes the parameters or the dice;
4. write ``indices.csv``, ``noise.csv``, a figure per method and ``report.json`` beside
   the run store.

The Ishigami test function runs through exactly the same path (``model = "ishigami"``)
and its published indices check the pipeline end to end (tests/test_sensitivity.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.sensitivity_indices import analyze, noise_share, plot_indices, plot_morris
from experiments.analysis.sensitivity_indices import problem as make_problem
from experiments.running.output import check_output_dir, claim, output_dir
from experiments.running.sweep import SweepSpec, design_points, sweep
from model.scenario import ScenarioError

__all__ = ["sensitivity", "outcome_matrix", "DEFAULT_OUTCOMES"]

DEFAULT_OUTCOMES = ("cv", "morans_i", "tier_2", "leader_share")


def outcome_matrix(results: pd.DataFrame, outcome: str, points: int,
                   replicates: int) -> np.ndarray:
    """``(points, replicates)`` matrix of one outcome; NaN where a run failed or is missing."""
    Y = np.full((points, replicates), np.nan)
    ok = results[results["status"] == "ok"]
    col = f"out.{outcome}"
    if col not in ok.columns:
        raise KeyError(outcome)
    Y[ok["point"].to_numpy(int), ok["replicate"].to_numpy(int)] = ok[col].to_numpy(float)
    return Y


def sensitivity(spec: SweepSpec, out: str | Path, outcomes: tuple[str, ...] | None = None,
                backend: str = "processes", progress: bool | None = None,
                num_resamples: int = 1000, **options) -> dict[str, Any]:
    """Run the spec's sample and analyse it; write the tables and figures; return a report."""
    if spec.design not in ("sobol", "morris", "pawn"):
        raise ScenarioError(spec.file, "design.kind", spec.design,
                            "sobol, morris or pawn for a sensitivity analysis")
    if len(spec.scenarios) != 1:
        raise ScenarioError(spec.file, "scenarios", list(spec.scenarios),
                            "exactly one scenario for a sensitivity analysis")
    # new, empty or ours, writable, not a mount point: checked before any run
    check_output_dir(out)
    out = claim(out, "sensitivity")
    results = sweep(spec, out / "runs", backend=backend, progress=progress, **options)
    names = list(spec.bounds)
    pts = design_points(spec)
    X = np.array([[p[k] for k in names] for p in pts])
    prob = make_problem(spec.bounds)
    if outcomes is None:
        outcomes = ("y",) if spec.model == "ishigami" else DEFAULT_OUTCOMES
    tables, noise = [], []
    failed = int((results["status"] != "ok").sum())
    for k in outcomes:
        try:
            Y = outcome_matrix(results, k, len(pts), spec.replicates)
        except KeyError:
            raise ScenarioError(spec.file, "outcomes", k,
                                "an outcome the runs report") from None
        usable = np.isfinite(Y).all(axis=1)
        if not usable.all():
            # a method's sample is structured: a missing point cannot simply be dropped
            raise ScenarioError(spec.file, "outcomes", k,
                                f"finite values at every point ({int((~usable).sum())} points "
                                "have failed or undefined runs; see the run store)")
        tables.append(analyze(spec.design, prob, X, Y, k, spec.root_seed,
                              second_order=spec.second_order, num_resamples=num_resamples,
                              levels=spec.levels))
        noise.append({"outcome": k, **noise_share(Y)})
    table = pd.concat(tables, ignore_index=True)
    noise_df = pd.DataFrame(noise)
    figure = Path("morris.png" if spec.design == "morris" else "indices.png")
    report = {"spec": spec.file, "name": spec.name, "method": spec.design,
              "sample_points": len(pts), "replicates": spec.replicates, "runs": len(results),
              "failed_runs": failed, "root_seed": spec.root_seed, "outcomes": list(outcomes),
              "noise": noise, "figure": figure.name}
    with output_dir(out, "sensitivity") as tmp:
        table.to_csv(tmp / "indices.csv", index=False)
        noise_df.to_csv(tmp / "noise.csv", index=False)
        (plot_morris if spec.design == "morris" else plot_indices)(table, tmp / figure)
        (tmp / "report.json").write_text(json.dumps(report, indent=1, default=float))
    return {"report": report, "indices": table, "noise": noise_df}
