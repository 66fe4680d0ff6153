"""The calibrated scenario's point: candidates scored against the 2021 facts, raced, validated.

The facts (shared/DOMAIN.md, "Facts to calibrate against") enter **only the loss**, never
the model: no city's tier, rank or index is set, forced or clamped. The procedure:

1. the candidate points: with ``posterior = FOLDER`` in the spec, the ``samples``
   particles of that posterior (``innogrid calibrate`` with a posterior spec,
   :mod:`experiments.inference.posterior`) closest to the facts by their ABC distance,
   each with every inferred parameter; otherwise ``samples`` points of the ``[free]``
   parameters by Latin hypercube within their bounds (seeded by the spec's
   ``root_seed``), plus the base scenario's own values;
2. run each point over ``seeds`` replicate seeds (common to all points) and score it;
3. race the ``finalists`` best points again over ``finalist_seeds`` new seeds and pick
   the best of them by that second score: with few seeds the first score of the winner
   is biased low (the winner's curse), and many points fit the facts about equally
   well. The finalists that meet every target on the second score form the **accepted
   set** (the parameter sets the facts cannot tell apart, as in approximate Bayesian
   computation with the targets as the tolerance); it is recorded, so that a policy
   answer can be checked across it (``experiments/analysis/validate.py``);
4. re-run the chosen point over ``validation_seeds`` fresh seeds and report the targets;
5. write the calibrated scenario (the base plus the chosen parameters) and a JSON record
   of the procedure, every point's scores, the accepted set and the provenance.

Targets (over seeds, at the last step; :data:`TARGETS`): Shanghai alone in tier 1 in >= 90%
of seeds; on average >= 10 of the 11 cities the studies name in their 2021 tier
(``experiments.analysis.patterns.FACT_TIER``: Shanghai, the 8 tier-2 cities, Nantong and either
Taizhou in tier 3); Hefei in tier 2 in >= 50% of seeds; tier 2 holds 8 +/- 2 cities, tier 3
9 +/- 3 and tier 4 23 +/- 4; the 2021 GDP shares closer to the shipped 2021 GDPs than the
persistence null's (mean absolute log error <= 0.18; the null, 2001 shares, scores 0.183);
the mean index growing 150-700x from the end of 2001 to the end of 2021; the
collaborative-innovation index at 247 +/- 40 in 2021; the region's R&D spending over its GDP
in 2021 within a factor of 1.5 of 3.05% (the posterior's ``log_rd_intensity_2021``
statistic and its source, :data:`experiments.inference.posterior.STATISTICS`); the region's
real output growing 2001-2021 within 0.2 in logs of the shipped data's 5.86-fold (the
posterior's ``log_real_gdp_growth``, 4.8- to 7.2-fold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.patterns import (
    END_2001,
    END_2021,
    gdp_share_error,
    named_hits,
    region_levels,
)
from experiments.running.cache import cached_run
from experiments.running.output import check_file, write_file
from experiments.running.run import process_pool, project_path, provenance
from model.params import Params
from model.scenario import ScenarioError, load_scenario, read_toml

__all__ = ["CalibrationSpec", "load_spec", "tier_facts", "loss", "targets_met", "calibrate",
           "TARGETS"]

# the marks of what calibrate writes: only files that hold them are ever replaced
SCENARIO_MARK = "re-run `innogrid calibrate` instead"
#: the record's mark, and the one of records written before the posterior candidates
#: existed (still replaceable)
RECORD_MARK = ('"written_by": "innogrid calibrate"', '"procedure": "Latin hypercube search')

@dataclass(frozen=True)
class CalibrationSpec:
    """What to calibrate: base scenario, free parameters with bounds, effort, seeds."""

    file: str
    base: str
    free: dict[str, tuple[float, float]]
    samples: int
    seeds: int
    finalists: int
    finalist_seeds: int
    validation_seeds: int
    root_seed: int
    output: str
    posterior: str | None = None  # a posterior folder: its best particles are the candidates


def load_spec(path: str | Path) -> CalibrationSpec:
    """Read and validate a calibration spec (TOML); errors name file, key, value, range."""
    file = str(path)
    data = read_toml(path)
    allowed = {"base", "samples", "seeds", "finalists", "finalist_seeds", "validation_seeds",
               "root_seed", "output", "free", "posterior"}
    for k in data:
        if k not in allowed:
            raise ScenarioError(file, k, data[k], f"unknown key; allowed: {sorted(allowed)}")
    posterior = None
    if "posterior" in data:
        if "free" in data:
            raise ScenarioError(file, "free", data["free"], "no [free] table with posterior "
                                "(the posterior's inferred parameters are the free ones)")
        if not isinstance(data["posterior"], str):
            raise ScenarioError(file, "posterior", data["posterior"],
                                "the path of a posterior folder (relative to the spec)")
        posterior = str((Path(path).parent / data["posterior"]).resolve())
        from experiments.inference.posterior import best_particles

        names = list(best_particles(posterior, 1, flag=f"{file}: posterior")[0][0])
        data = {**data, "free": _bounds_of(names)}
    meta = {f: Params.__dataclass_fields__[f].metadata for f in Params.__dataclass_fields__}
    free = {}
    for name, bounds in data.get("free", {}).items():
        md = meta.get(name)
        if md is None or md["kind"] is not float:
            raise ScenarioError(file, f"free.{name}", bounds, "a float parameter of Params")
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, (int, float)) for b in bounds)
                or not md["lo"] <= bounds[0] < bounds[1] <= md["hi"]):
            raise ScenarioError(file, f"free.{name}", bounds,
                                f"[lo, hi] with {md['lo']} <= lo < hi <= {md['hi']}")
        free[name] = (float(bounds[0]), float(bounds[1]))
    if not free:
        raise ScenarioError(file, "free", data.get("free"), "at least one free parameter")
    ints = {}
    for k, default, lo in (("samples", 40, 1), ("seeds", 5, 1), ("finalists", 8, 1),
                           ("finalist_seeds", 20, 2), ("validation_seeds", 20, 2),
                           ("root_seed", 2021, 0)):
        v = data.get(k, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ScenarioError(file, k, v, f"an integer >= {lo}")
        ints[k] = v
    base = str((Path(path).parent / data.get("base", "../scenarios/yrd_baseline.toml")).resolve())
    load_scenario(base)
    output = str((Path(path).parent / data.get("output", "../scenarios/yrd_calibrated.toml"))
                 .resolve())
    return CalibrationSpec(file=file, base=base, free=free, output=output, posterior=posterior,
                           **ints)


def _bounds_of(names: list[str]) -> dict[str, list[float]]:
    """Each parameter's declared range in :class:`model.params.Params` (for the record)."""
    f = Params.__dataclass_fields__
    return {k: [f[k].metadata["lo"], f[k].metadata["hi"]] if k in f else None for k in names}


def tier_facts(tiers: np.ndarray, cities: tuple[str, ...], gdp: np.ndarray | None = None,
               gdp_fact: np.ndarray | None = None) -> dict[str, float]:
    """The calibration facts of one run's final state.

    Example: Shanghai alone in tier 1 and Hangzhou, Nanjing in tier 2 ->
    ``shanghai_alone = 1``, ``named_hits`` = 3 (of the 11 cities the studies name). With the
    run's final ``gdp`` and the shipped 2021 GDPs ``gdp_fact``, also ``gdp_share_male``:
    the mean absolute log error of the GDP shares (the persistence null scores 0.183).
    """
    idx = {c: i for i, c in enumerate(cities)}
    by_city = {c: int(tiers[i]) for c, i in idx.items()}
    extra = {}
    if gdp is not None and gdp_fact is not None:
        extra["gdp_share_male"] = gdp_share_error(gdp, gdp_fact)
    return {**extra,
        "shanghai_alone": float(by_city["Shanghai"] == 1 and (tiers == 1).sum() == 1),
        "named_hits": float(sum(named_hits(by_city).values())),
        "hefei_tier2": float(by_city.get("Hefei") == 2),
        "tier_2": float((tiers == 2).sum()),
        "tier_3": float((tiers == 3).sum()),
        "tier_4": float((tiers == 4).sum()),
    }


def run_facts(m) -> dict[str, float]:
    """:func:`tier_facts` of a finished run plus its index growth and collaborative index.

    ``m``: the finished model, or its :class:`experiments.running.cache.RunRecord`.

    ``log_index_growth``: log of the mean index at the end of 2021 over the end of 2001
    (steps 84 and 4; the target band 150-700x is log 324 +/- log(700/324));
    ``collab_index``: the collaborative-innovation index at the last step (2011 = 100);
    ``log_rd_intensity_2021``: log of the region's R&D spending over its GDP in 2021 and
    ``log_real_gdp_growth``: log of its real output growth 2001-2021, both as
    :func:`experiments.analysis.patterns.region_levels` measures them for the validation.
    Runs shorter than 84 steps give the tier facts only.
    """
    facts = tier_facts(m.city.tier, m.geo.cities, m.city.gdp, m.geo.extra.get("gdp_2021"))
    region = m.region_frame()
    if len(region) > END_2021 and region["mean_index"].iloc[END_2001] > 0:
        facts["log_index_growth"] = float(np.log(region["mean_index"].iloc[END_2021]
                                                 / region["mean_index"].iloc[END_2001]))
        facts["collab_index"] = float(region["collab_index"].iloc[END_2021])
        levels = region_levels(region)
        facts["log_rd_intensity_2021"] = float(np.log(levels["rd_intensity_2021"]))
        facts["log_real_gdp_growth"] = float(np.log(levels["real_gdp_growth"]))
    return facts


#: (fact, target, tolerance, scale): a fact's term in the loss is
#: ``(max(0, miss - tolerance) / scale)^2``; one-sided targets (">=") miss only below.
TARGETS = {
    "shanghai_alone": (">=", 0.9, 0.1),
    "named_hits": (">=", 10.0, 1.0),
    "hefei_tier2": (">=", 0.5, 0.25),
    "tier_2": (8.0, 2.0, 2.0),
    "tier_3": (9.0, 3.0, 3.0),
    "tier_4": (23.0, 4.0, 4.0),
    "gdp_share_male": ("<=", 0.18, 0.05),
    "log_index_growth": (float(np.log(324.0)), float(np.log(700.0 / 324.0)), 0.5),
    "collab_index": (247.0, 40.0, 40.0),
    "log_rd_intensity_2021": (float(np.log(0.0305)), float(np.log(1.5)), float(np.log(1.5))),
    "log_real_gdp_growth": (float(np.log(5.86)), 0.2, 0.2),
}
#: The ideal value of each one-sided fact, for the small tie-breaking pull of :func:`loss`.
_IDEAL = {"shanghai_alone": 1.0, "named_hits": 11.0, "hefei_tier2": 1.0, "gdp_share_male": 0.0}


def _terms(m: dict[str, float], banded: bool) -> float:
    out = 0.0
    for k, t in TARGETS.items():
        if k not in m:  # a fact the geography cannot give (no shipped 2021 GDP)
            continue
        if t[0] in (">=", "<="):
            sign = 1.0 if t[0] == ">=" else -1.0
            ref = t[1] if banded else _IDEAL[k]
            out += (max(0.0, sign * (ref - m[k])) / t[2]) ** 2
        else:
            miss = abs(m[k] - t[0])
            out += ((max(0.0, miss - t[1]) if banded else miss) / t[2]) ** 2
    return out


def loss(facts: list[dict[str, float]]) -> float:
    """Distance of mean facts over seeds from the targets (0 inside every tolerance band).

    Each fact of :data:`TARGETS` adds ``(max(0, shortfall or |miss| - band) / scale)^2``,
    plus a small pull (0.01 times the same terms measured from the ideal: 1, 11, 1 and the
    band centres) to break ties. Example: alone 1.0, named 9, Hefei 0.5, tiers 8/9/23 ->
    hard (1/1)^2 = 1, soft (2/1)^2 + (0.5/0.25)^2 = 8, loss 1 + 0.08 = 1.08.
    """
    m = _mean_facts(facts)
    return _terms(m, True) + 0.01 * _terms(m, False)


def targets_met(facts: list[dict[str, float]]) -> dict[str, bool]:
    """Which targets the mean facts over seeds meet."""
    m = _mean_facts(facts)
    out = {}
    for k, t in TARGETS.items():
        if k not in m:
            continue
        out[k] = bool(m[k] >= t[1] if t[0] == ">=" else m[k] <= t[1] if t[0] == "<="
                      else abs(m[k] - t[0]) <= t[1])
    return out


def _mean_facts(facts: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([f[k] for f in facts])) for k in facts[0]}


def _evaluate(args: tuple) -> list[dict[str, float]]:
    base, params, seeds = args
    sc = load_scenario(base).with_overrides(params=params)
    out = []
    for s in seeds:
        out.append(run_facts(cached_run(sc, s)))  # a RunRecord answers what run_facts reads
    return out


def latin_hypercube(n: int, bounds: dict[str, tuple[float, float]],
                    rng: np.random.Generator) -> list[dict[str, float]]:
    """``n`` points, one per stratum in every dimension, randomly paired."""
    cols = {}
    for k, (lo, hi) in bounds.items():
        u = (rng.permutation(n) + rng.random(n)) / n
        cols[k] = lo + (hi - lo) * u
    return [{k: float(cols[k][i]) for k in bounds} for i in range(n)]


def _run_all(jobs_args: list[tuple], jobs: int, progress, label: str) -> list:
    if jobs > 1:
        from experiments.running.progress import Progress

        with process_pool(jobs) as ex, Progress(len(jobs_args), label, unit="point",
                                                preparing="starting the worker processes"
                                                ) as bar:
            results = []
            for r in ex.map(_evaluate, jobs_args):
                results.append(r)
                bar.update()
        progress(f"  {label}: {len(jobs_args)} points done")
        return results
    results = []
    for k, a in enumerate(jobs_args):
        results.append(_evaluate(a))
        progress(f"  {label} {k + 1}/{len(jobs_args)}: loss {loss(results[-1]):.3f}")
    return results


def calibrate(spec: CalibrationSpec, jobs: int = 1, progress=print) -> dict[str, Any]:
    """Run the procedure; write the calibrated scenario and ``<output>.json``; return it."""
    check_outputs(spec)
    posterior = None
    if spec.posterior:
        from experiments.inference.posterior import best_particles

        points, distances, prec = best_particles(spec.posterior, spec.samples,
                                                 flag=f"{spec.file}: posterior")
        posterior = {"folder": project_path(spec.posterior), "spec_digest": prec.get("spec_digest"),
                     "code_version": prec.get("code_version"),
                     "particles": prec.get("particles"), "abc_distances": distances}
    else:
        rng = np.random.default_rng(np.random.SeedSequence(spec.root_seed))
        points = latin_hypercube(spec.samples, spec.free, rng)
        base_params = load_scenario(spec.base).params
        base_point = {k: float(getattr(base_params, k)) for k in spec.free}
        points = [base_point, *points]
    fit_seeds = replicate_seeds(spec.root_seed, spec.seeds)
    race_seeds = replicate_seeds(spec.root_seed + 2, spec.finalist_seeds)
    val_seeds = replicate_seeds(spec.root_seed + 1, spec.validation_seeds)
    results = _run_all([(spec.base, p, fit_seeds) for p in points], jobs, progress, "point")
    scores = [loss(r) for r in results]
    finalists = [int(i) for i in np.argsort(scores, kind="stable")[:spec.finalists]]
    raced = _run_all([(spec.base, points[i], race_seeds) for i in finalists], jobs, progress,
                     "finalist")
    race_scores = [loss(r) for r in raced]
    best = finalists[int(np.argmin(race_scores))]
    accepted = [i for i, r in zip(finalists, raced, strict=True) if all(targets_met(r).values())]
    validation = _evaluate((spec.base, points[best], val_seeds))
    summary = _mean_facts(validation)
    first = (f"the {len(points)} posterior particles closest to the facts (ABC distance)"
             if posterior else "Latin hypercube search")
    record = {
        "written_by": "innogrid calibrate",
        "procedure": (f"{first}; each scored on {spec.seeds} seeds; the best points raced "
                      "again on new seeds and the best of the race chosen; chosen point re-run "
                      "on fresh seeds"),
        "posterior": posterior,
        "spec": {**spec.__dict__, "base": project_path(spec.base),
                 "output": project_path(spec.output),
                 "posterior": project_path(spec.posterior) if spec.posterior else None},
        "fit_seeds": fit_seeds, "finalist_seeds": race_seeds,
        "validation_seeds": val_seeds,
        "points": [{"params": p, "loss": s, "facts_mean": _mean_facts(r)}
                   for p, s, r in zip(points, scores, results, strict=True)],
        "finalists": [{"index": i, "params": points[i], "loss": s, "facts_mean": _mean_facts(r),
                       "met": targets_met(r)}
                      for i, s, r in zip(finalists, race_scores, raced, strict=True)],
        "accepted": [{"index": i, "params": points[i]} for i in accepted],
        "best": {"index": best, "params": points[best],
                 "loss": race_scores[finalists.index(best)],
                 "is_base": best == 0 and not posterior},
        "validation": {"facts_mean": summary, "loss": loss(validation),
                       "per_seed": validation},
        "targets": {k: (f"{t[0]} {t[1]}" if t[0] in (">=", "<=") else f"{t[0]} +/- {t[1]}")
                    for k, t in TARGETS.items()},
        "met": targets_met(validation),
        "provenance": provenance(load_scenario(spec.base), spec.root_seed, 84),
    }
    _write(spec, record)
    return record


def _write(spec: CalibrationSpec, record: dict[str, Any]) -> None:
    out = Path(spec.output)
    best = record["best"]["params"]
    lines = [
        f"# {Path(spec.base).stem}, calibrated: the base plus the parameters found by",
        f"# experiments/inference/calibrate.py from {Path(spec.file).name} "
        f"(root seed {spec.root_seed}).",
        "# Do not edit by hand: re-run `innogrid calibrate` instead. The record of the procedure,",
        f"# every point's score and the validation on fresh seeds is in {out.stem}.json.",
        f'base = "{Path(spec.base).name}"',
        f'description = "{Path(spec.base).stem} with calibrated parameters (see the JSON record)"',
        "",
        "[params]",
        *[f"{k} = {v!r}" for k, v in best.items()],
        "",
    ]
    check_outputs(spec)
    write_file(out.with_suffix(".json"), json.dumps(record, indent=1, default=str),
               RECORD_MARK, flag=f"{spec.file}: output")
    write_file(out, "\n".join(lines), SCENARIO_MARK, flag=f"{spec.file}: output")


def check_outputs(spec: CalibrationSpec) -> None:
    """Refuse, before any run, an ``output`` (or its .json) that innogrid did not write."""
    check_file(spec.output, SCENARIO_MARK, flag=f"{spec.file}: output")
    check_file(Path(spec.output).with_suffix(".json"), RECORD_MARK, flag=f"{spec.file}: output")
