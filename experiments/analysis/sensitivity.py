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

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.sensitivity_indices import (
    analyze_salib,
    noise_share,
    plot_indices,
    plot_morris,
)
from experiments.analysis.sensitivity_indices import problem as make_problem
from experiments.running.output import check_output_dir, claim, output_dir
from experiments.running.sweep import SweepSpec, design_points, spec_from_dict, sweep, trial
from model.scenario import ScenarioError

__all__ = ["sensitivity", "sensitivity_problem", "outcome_matrix", "DEFAULT_OUTCOMES",
           "ANY_SAMPLE"]

DEFAULT_OUTCOMES = ("cv", "morans_i", "tier_2", "leader_share")
#: Methods whose estimator works on any sample (a user's own design of any structure).
#: Sobol' and Morris need their own structure, which is checked
#: (:func:`experiments.running.sweep.check_sample`).
ANY_SAMPLE = ("pawn",)


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
    tables, noise, salib, matrices = [], [], {}, {}
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
        table, salib[k] = analyze_salib(spec.design, prob, X, Y, k, spec.root_seed,
                                        second_order=spec.second_order,
                                        num_resamples=num_resamples, levels=spec.levels)
        tables.append(table)
        matrices[k] = Y
        noise.append({"outcome": k, **noise_share(Y)})
    table = pd.concat(tables, ignore_index=True)
    noise_df = pd.DataFrame(noise)
    figure = Path("morris.png" if spec.design == "morris" else "indices.png")
    report = {"spec": spec.file, "name": spec.name, "method": spec.design,
              "sample_points": len(pts), "replicates": spec.replicates, "runs": len(results),
              "failed_runs": failed, "root_seed": spec.root_seed,
              "seeds": replicate_seeds(spec.root_seed, spec.replicates),
              "sample": spec.sample_source or "drawn", "outcomes": list(outcomes),
              "noise": noise, "figure": figure.name}
    with output_dir(out, "sensitivity") as tmp:
        table.to_csv(tmp / "indices.csv", index=False)
        noise_df.to_csv(tmp / "noise.csv", index=False)
        (plot_morris if spec.design == "morris" else plot_indices)(table, tmp / figure)
        (tmp / "report.json").write_text(json.dumps(report, indent=1, default=float))
    return {"report": report, "indices": table, "noise": noise_df, "X": X, "Y": matrices,
            "salib": salib}


def sensitivity_problem(problem: Any, out: str | Path, scenario: str | Path | None = None,
                        outcomes: tuple[str, ...] | list[str] | None = None, *,
                        method: str | None = None, n: int | None = None, replicates: int = 1,
                        root_seed: int = 0, steps: int | None = None, model: str = "abm",
                        noise: float = 0.0, levels: int = 4, second_order: bool = False,
                        name: str = "problem", series: tuple[str, ...] = (),
                        backend: str = "processes", progress: bool | None = None,
                        num_resamples: int = 1000, **options) -> Any:
    """Run a SALib ``ProblemSpec`` through the sweep runner; return it with the answers.

    Parameters
    ----------
    problem : SALib.ProblemSpec or dict
        The problem: ``names`` (numeric fields of :class:`model.params.Params`, or the
        function model's inputs) and ``bounds``; ``dists``, if given, must all be
        ``"unif"``. If it carries samples (``problem.samples``, e.g. set with
        ``set_samples`` to the user's own design), those rows are run instead of a drawn
        sample: they must lie inside the bounds, and for ``sobol`` and ``morris`` have the
        method's structure (checked; ``pawn`` takes any sample). A plain dict is turned
        into a ``ProblemSpec``.
    out : str or Path
        The output folder, as ``innogrid sensitivity --out``: ``indices.csv``,
        ``noise.csv``, the figure, ``report.json`` and the run store ``runs/`` (re-run the
        same call to resume).
    scenario : str or Path, optional
        The scenario (default ``yrd_calibrated.toml``); unused for a function ``model``.
    outcomes : sequence of str, optional
        Outcomes to analyse (default: the problem's ``outputs`` if it has them, else
        ``y`` for ``model = "ishigami"`` and :data:`DEFAULT_OUTCOMES` otherwise).
    method : {"sobol", "morris", "pawn"}, optional
        Default ``"pawn"`` when the problem carries samples (any sample works), else
        required.
    n : int, optional
        Base samples (sobol), trajectories (morris) or rows (pawn) to draw; not with
        samples.
    replicates, root_seed, steps, model, noise, levels, second_order, name, series
        As the spec keys of the same names (experiments/README.md): every sample point
        runs with ``replicates`` seeds spawned from ``root_seed``, the same at every point
        (common random numbers).
    backend, progress, num_resamples, **options
        As :func:`sensitivity` (``jobs``, ``retries``, ``scheduler``).

    Returns
    -------
    SALib.ProblemSpec
        ``problem`` itself (or the ProblemSpec made of the dict), with ``samples`` (the
        rows run), ``results`` (the replicate mean of each outcome at each row, shape
        ``(rows, outcomes)``, ``outputs`` naming the columns) and ``analysis`` (per outcome
        the indices SALib's analyser returned, the same numbers as ``out/indices.csv``; a
        single ``ResultDict`` for one outcome, as SALib does). ``problem["innogrid"]``
        holds the run's record (root seed, replicate seeds, runs, failed runs, noise
        shares, the output folder); the single runs are in ``out/runs``
        (:func:`experiments.running.sweep.load_results`).

    Raises
    ------
    model.scenario.ScenarioError
        For a problem, sample or option that does not fit (it names the key, the value
        and what is allowed), before any run.
    """
    from SALib import ProblemSpec

    file = "ProblemSpec"
    sp = problem if isinstance(problem, ProblemSpec) else _problem_spec(problem, file)
    names, bounds = list(sp["names"]), sp["bounds"]
    if sp.get("groups") and list(sp["groups"]) != names:  # SALib sets groups = names
        raise ScenarioError(file, "groups", sp["groups"], "None (indices are per parameter)")
    dists = sp.get("dists")
    if dists is not None and any(d != "unif" for d in dists):
        raise ScenarioError(file, "dists", dists, "None, or 'unif' for every parameter "
                            "(innogrid samples uniformly within the bounds)")
    samples = None if sp.samples is None else np.asarray(sp.samples, dtype=float)
    if method is None:
        if samples is None:
            raise ScenarioError(file, "method", None, "sobol, morris or pawn (pawn takes a "
                                "sample of any structure)")
        method = "pawn"
    if samples is None and n is None:
        raise ScenarioError(file, "n", None, "the size of the sample to draw: base samples "
                            "(sobol), trajectories (morris) or rows (pawn); or set the "
                            "ProblemSpec's samples to run your own")
    if outcomes is None:
        outs = sp.get("outputs")
        outcomes = (tuple(outs) if outs and not (len(outs) == 1 and outs[0] == "Y") else
                    ("y",) if model == "ishigami" else DEFAULT_OUTCOMES)
    data: dict[str, Any] = {
        "name": name, "model": model, "replicates": replicates, "root_seed": root_seed,
        "noise": noise, "outcomes": list(outcomes), "series": list(series),
        "design": {"kind": method, "levels": levels, "second_order": second_order},
        "params": {k: [float(b[0]), float(b[1])] for k, b in zip(names, bounds, strict=True)},
    }
    if model == "abm":
        data["scenarios"] = [str(scenario if scenario is not None else "yrd_calibrated.toml")]
    if steps is not None:
        data["steps"] = steps
    if n is not None:
        data["design"]["n"] = n
    spec = spec_from_dict(data, file, Path.cwd(), sample=samples,
                          sample_source="" if samples is None else "ProblemSpec.samples")
    trial(spec)
    res = sensitivity(spec, out, outcomes=tuple(outcomes), backend=backend, progress=progress,
                      num_resamples=num_resamples, **options)
    if samples is None:
        sp.set_samples(res["X"])  # clears earlier results, as SALib's sample() does
    sp["outputs"] = list(outcomes)
    means = np.column_stack([res["Y"][k].mean(axis=1) for k in outcomes])
    sp.set_results(means if len(outcomes) > 1 else means[:, 0])
    # SALib's analyze() sets this attribute (it has no setter): per output, or one result
    sp._analysis = (res["salib"] if len(outcomes) > 1 else res["salib"][outcomes[0]])
    sp["innogrid"] = {**res["report"], "out": str(out)}
    return sp


def _problem_spec(problem: Any, file: str) -> Any:
    """A ``ProblemSpec`` of a SALib problem dict; a malformed one is a ScenarioError."""
    from SALib import ProblemSpec

    if not isinstance(problem, dict):
        raise ScenarioError(file, "problem", type(problem).__name__,
                            "a SALib ProblemSpec or problem dict (names, bounds)")
    try:
        return ProblemSpec({k: v for k, v in problem.items() if k != "num_vars"})
    except (AssertionError, KeyError, TypeError, ValueError) as e:
        raise ScenarioError(file, "problem", problem, f"a SALib problem dict with names and "
                            f"bounds of the same length ({e or type(e).__name__})") from None
