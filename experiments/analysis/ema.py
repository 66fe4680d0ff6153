"""A scenario as an EMA Workbench model: uncertainties, levers and outcomes.

The Exploratory Modeling and Analysis (EMA) Workbench (Kwakkel 2017, Environmental
Modelling & Software 96) designs experiments over uncertainties and policy levers, runs
them (sequentially, on processes or on a cluster), and analyses the results: PRIM, CART,
feature scoring, many-objective robust optimisation. :func:`ema_model` exposes an innogrid
scenario to it, so those tools work directly:

>>> from ema_workbench import perform_experiments           # doctest: +SKIP
>>> model = ema_model("yrd_calibrated.toml",                 # doctest: +SKIP
...                   uncertainties=["elast_knowledge", "spill_decay_km"],
...                   levers={"rd_subsidy_max": (0.0, 0.5)})
>>> experiments, outcomes = perform_experiments(model, scenarios=50, policies=4)  # +SKIP

* **Uncertainties and levers** are parameters of ``model.params.Params`` (scalar ones),
  named with their bounds ``{name: (low, high)}`` or by name alone, which takes the range
  the parameter declares (its source is in docs/ODD.md, Appendix B). Integer parameters
  become ``IntegerParameter``, the others ``RealParameter``. EMA's distinction is the
  user's: uncertainties are what nobody controls, levers what a policy sets.
* **Outcomes** are columns of the run's regional table (``region.csv``,
  ``model.model.REGION_COLUMNS``): ``outcomes`` as their value at the last step
  (``ScalarOutcome``), ``series`` as their whole path, one value per step from step 0
  (``TimeSeriesOutcome``; the time axis is ``start_year + step / 4``).
* **Seeds.** Each experiment runs with the scenario's seed (``run.seed``), or with
  ``seed`` if that is given; make ``"seed"`` an uncertainty, e.g. ``{"seed": (1,
  10**6)}``, to draw a seed per experiment (replicates). The seed used is an input of
  every experiment, so each row of EMA's experiments table re-creates its run exactly
  (``InnovationModel(scenario, seed=..., **params)``).

The runner is a module-level callable object, so EMA's ``MultiprocessingEvaluator`` can
send it to worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from experiments.running.cache import cached_run
from model.model import REGION_COLUMNS
from model.params import Params
from model.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["ema_model", "ScenarioRunner"]

_MAX_SEED = 2**63 - 1


class ScenarioRunner:
    """Run one experiment: the scenario with the experiment's parameters and seed.

    Returns ``{outcome: value at the last step}`` plus ``{series: values per step}``.
    """

    def __init__(self, scenario: Scenario, outcomes: tuple[str, ...],
                 series: tuple[str, ...]):
        self.scenario = scenario
        self.outcomes = outcomes
        self.series = series

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        """Run with ``kwargs`` (parameters, and ``seed``) and return the outcomes."""
        seed = int(kwargs.pop("seed", self.scenario.seed))
        sc = self.scenario.with_overrides(params=kwargs) if kwargs else self.scenario
        region = cached_run(sc, seed).region  # as InnovationModel(scenario, seed, **kwargs)
        out: dict[str, Any] = {k: float(region[k].iloc[-1]) for k in self.outcomes}
        out.update({f"{k}_series": region[k].to_numpy(dtype=float) for k in self.series})
        return out


def _bounds(spec: Mapping[str, Any] | Iterable[str] | None
            ) -> dict[str, tuple[float, float] | None]:
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return dict(spec)
    return dict.fromkeys(spec)


def _parameter(file: str, role: str, name: str, bounds: tuple[float, float] | None):
    from ema_workbench import IntegerParameter, RealParameter

    if name == "seed":
        lo, hi = bounds if bounds is not None else (0, _MAX_SEED)
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi <= _MAX_SEED):
            raise ScenarioError(file, f"{role}.seed", bounds,
                                f"a pair of integers 0 <= low < high <= {_MAX_SEED}")
        return IntegerParameter("seed", lo, hi)
    meta = {f.name: f for f in fields(Params)}
    if name not in meta:
        from model.params import unknown_key

        raise ScenarioError(file, f"{role}.{name}", bounds, unknown_key(name, meta))
    m = meta[name].metadata
    if m["kind"] not in (int, float) or isinstance(meta[name].default, tuple):
        raise ScenarioError(file, f"{role}.{name}", bounds,
                            "a scalar numeric parameter (per-sector tuples and switches "
                            "cannot be sampled here)")
    lo, hi = (m["lo"], m["hi"]) if bounds is None else bounds
    if lo is None or hi is None or not (m["lo"] is None or m["lo"] <= lo < hi <= m["hi"]):
        raise ScenarioError(file, f"{role}.{name}", (lo, hi),
                            f"a pair low < high within the declared range [{m['lo']}, {m['hi']}]")
    if m["kind"] is int:
        return IntegerParameter(name, int(lo), int(hi))
    return RealParameter(name, float(lo), float(hi))


def ema_model(scenario: str | Path | Scenario,
              uncertainties: Mapping[str, tuple[float, float]] | Iterable[str] | None = None,
              levers: Mapping[str, tuple[float, float]] | Iterable[str] | None = None,
              outcomes: Iterable[str] = ("mean_index", "cv", "tier_1", "tier_2"),
              series: Iterable[str] = ("mean_index",), name: str | None = None,
              seed: int | None = None):
    """An ``ema_workbench.Model`` that runs ``scenario`` (see the module docstring).

    Bad names or bounds raise ``ScenarioError`` naming the scenario, the key, the value and
    what is allowed, before any run.
    """
    from ema_workbench import Constant, Model, ScalarOutcome, TimeSeriesOutcome

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    file = sc.file
    outcomes, series = tuple(outcomes), tuple(series)
    for role, cols in (("outcomes", outcomes), ("series", series)):
        for k in cols:
            if k not in REGION_COLUMNS:
                raise ScenarioError(file, role, k, f"a column of region.csv: {REGION_COLUMNS}")
    unc = _bounds(uncertainties)
    lev = _bounds(levers)
    both = set(unc) & set(lev)
    if both:
        raise ScenarioError(file, "levers", sorted(both),
                            "names that are not also uncertainties")
    model = Model(name or sc.name.replace("-", "_"), function=ScenarioRunner(sc, outcomes,
                                                                              series))
    model.uncertainties = [_parameter(file, "uncertainties", k, b) for k, b in unc.items()]
    model.levers = [_parameter(file, "levers", k, b) for k, b in lev.items()]
    if "seed" not in unc and "seed" not in lev:
        model.constants = [Constant("seed", int(sc.seed if seed is None else seed))]
    model.outcomes = ([ScalarOutcome(k) for k in outcomes]
                      + [TimeSeriesOutcome(f"{k}_series") for k in series])
    return model
