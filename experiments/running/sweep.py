"""Experiments at scale: specs, one pure task function, backends and a results store.

An experiment spec (TOML, see experiments/README.md) names scenarios, a design over
parameters (a grid, or a Latin-hypercube, Sobol', Morris or PAWN sample) and a number
of replicates. Each (scenario, design point, replicate) is one :class:`Task`. The
replicate seeds are spawned from one recorded root (``SeedSequence(root).spawn(R)``) and
replicate ``k`` uses the same seed at every point and scenario (common random numbers).

:func:`run_task` is the model as one pure call, ``task -> outcomes``. It never raises:
an exception becomes a row with ``status = "failed"`` and its error. Any
``concurrent.futures`` executor can drive it; :func:`execute` offers three backends:

* ``serial``: in this process;
* ``processes`` (the default): a local pool of worker processes. A worker that dies
  breaks the pool; the runs it held are retried, each in a fresh single-worker pool, so
  the run that kills its worker is found and recorded as failed after ``retries``
  attempts while the others complete;
* ``dask``: a Dask distributed cluster, by scheduler address or a ``LocalCluster`` on
  127.0.0.1; Dask reschedules the runs of a worker that dies.

The same spec gives the same rows, bit for bit, on every backend: a run depends only on
its task.

**The results store** (a directory) holds ``manifest.json`` (the spec, its hash, the
seeds, the design and provenance), ``journal.jsonl`` (one line per finished run, appended
as it finishes) and ``results/part-*.parquet`` (the journal compacted into Parquet). A
sweep killed at any moment, even with SIGKILL, loses at most its in-flight runs: a
finished run is one appended line, a truncated last line is ignored, compaction writes
a new part atomically before it empties the journal, and rows are keyed by task id, so
none is ever read twice. Re-running the spec into the same store computes only the
missing runs.
"""

from __future__ import annotations

import difflib
import fcntl
import functools
import hashlib
import importlib
import importlib.util
import io
import itertools
import json
import math
import os
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.compare import replicate_seeds
from experiments.running.lifetime import stop_pool
from experiments.running.output import OutputError, atomic_write, claim, owned
from experiments.running.run import _git_commit, _version, process_pool, provenance
from model.params import Params
from model.scenario import ScenarioError, check_name, load_scenario, read_toml
from model.state import code_version as model_code_version

__all__ = ["SweepSpec", "Task", "load_spec", "spec_from_dict", "make_tasks", "run_task",
           "execute", "sweep", "load_results", "load_series", "tidy", "Store", "BACKENDS",
           "read_sample", "check_sample", "read_problem", "series_measures"]

BACKENDS = ("serial", "processes", "dask")
DESIGNS = ("grid", "lhs", "sobol", "morris", "pawn")
SPEC_KEYS = {"name", "scenarios", "replicates", "root_seed", "steps", "model", "noise",
             "design", "params", "outcomes", "sample", "problem", "series"}
DESIGN_KEYS = {"kind", "n", "second_order", "levels"}
BUILTIN_MODELS = ("abm", "ishigami")
#: The most runs (scenarios x design points x replicates) a spec may ask for: a million
#: runs of the YRD model take about a week on one core, and the task list about 0.5 GB.
MAX_RUNS = 1_000_000
#: Designs that take a user's sample (``sample = "file.csv"``): any rows for ``lhs`` and
#: ``pawn``; ``sobol`` and ``morris`` only a sample with their structure (checked).
SAMPLE_DESIGNS = ("lhs", "pawn", "sobol", "morris")
#: The largest sample or problem file read (a million rows of eight parameters is ~150 MB).
MAX_SAMPLE_BYTES = 256 << 20


@dataclass(frozen=True)
class SweepSpec:
    """A resolved experiment spec."""

    file: str
    name: str
    scenarios: tuple[str, ...]
    replicates: int
    root_seed: int
    steps: int | None
    model: str
    noise: float
    design: str
    n: int
    second_order: bool
    levels: int
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, tuple[float, ...]] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()
    #: a user's own design points (rows in ``bounds`` order), replacing the drawn sample
    sample: tuple[tuple[float, ...], ...] = ()
    #: where ``sample`` came from (a CSV file, or a ProblemSpec's samples); provenance only
    sample_source: str = ""
    #: region measures recorded at every step of every run (``series/`` in the store)
    series: tuple[str, ...] = ()

    def digest(self) -> str:
        """Hash of everything that determines the store (not the file, not the outcomes read).

        The series recorded are part of it (a store holds one set of series for all its
        runs); a user sample's rows are, not where they came from. Empty new fields are
        left out, so a spec without them keeps the digest it had before they existed.
        """
        d = asdict(self)
        for k in ("file", "outcomes", "sample_source"):
            d.pop(k)
        for k in ("sample", "series"):
            if not d[k]:
                d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Task:
    """One run: a scenario, parameter overrides, a seed."""

    task_id: str
    scenario: str
    point: int
    replicate: int
    seed: int
    params: dict[str, float]
    steps: int | None = None
    model: str = "abm"
    noise: float = 0.0
    series: tuple[str, ...] = ()


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate an experiment spec; errors name the file, key, value and range."""
    return spec_from_dict(read_toml(path), str(path), Path(path).parent)


def spec_from_dict(data: dict[str, Any], file: str, base: Path,
                   sample: np.ndarray | None = None, sample_source: str = "") -> SweepSpec:
    """Validate a spec given as a dict (a spec file's content) into a :class:`SweepSpec`.

    ``file`` names the spec in errors; relative paths in it (scenarios, ``sample``,
    ``problem``) are read from ``base``. ``sample``: a user's design points as an array,
    columns in the order of ``params`` (the Python call's alternative to the ``sample``
    key); it is checked as a sample file is.
    """
    for k in data:
        if k not in SPEC_KEYS:
            raise ScenarioError(file, k, data[k], f"unknown key; allowed: {sorted(SPEC_KEYS)}")
    model = data.get("model", "abm")
    if not isinstance(model, str) or not (model in BUILTIN_MODELS or ":" in model):
        raise ScenarioError(file, "model", model,
                            f"one of {BUILTIN_MODELS} or 'package.module:function'")
    scen = data.get("scenarios", ["yrd_calibrated.toml"] if model == "abm" else ["-"])
    if not isinstance(scen, list) or not scen or not all(isinstance(s, str) for s in scen):
        raise ScenarioError(file, "scenarios", scen, "a non-empty list of scenario files")
    if model == "abm":
        resolved = []
        for s in scen:
            p = Path(s)
            if not p.is_absolute() and (Path(base) / p).exists():
                p = (Path(base) / p).resolve()
            load_scenario(p)  # validates, and errors name the scenario file
            resolved.append(str(p))
        scen = resolved
    ints = {}
    for k, default, lo, hi in (("replicates", 1, 1, 10_000), ("root_seed", 0, 0, 2**63 - 1),
                               ("steps", None, 1, 10_000)):
        v = data.get(k, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi):
            raise ScenarioError(file, k, v, f"an integer in [{lo}, {hi}]")
        ints[k] = v
    noise = data.get("noise", 0.0)
    if not _finite(noise) or noise < 0:
        raise ScenarioError(file, "noise", noise, "a finite number >= 0")
    design = data.get("design", {})
    if not isinstance(design, dict):
        raise ScenarioError(file, "design", design, "a table")
    for k in design:
        if k not in DESIGN_KEYS:
            raise ScenarioError(file, f"design.{k}", design[k],
                       f"unknown key; allowed: {sorted(DESIGN_KEYS)}")
    kind = design.get("kind", "grid")
    if kind not in DESIGNS:
        raise ScenarioError(file, "design.kind", kind, f"one of {', '.join(DESIGNS)}")
    n = design.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(file, "design.n", n, "an integer >= 1")
    levels = design.get("levels", 4)
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ScenarioError(file, "design.levels", levels, "an integer >= 2")
    second = design.get("second_order", False)
    if not isinstance(second, bool):
        raise ScenarioError(file, "design.second_order", second, "true or false")
    if "problem" in data:
        if "params" in data:
            raise ScenarioError(file, "problem", data["problem"],
                                "either a problem file or a [params] table, not both")
        prob = read_problem(file, data["problem"], Path(base))
        if "outcomes" in prob and "outcomes" in data and prob["outcomes"] != data["outcomes"]:
            raise ScenarioError(file, "outcomes", data["outcomes"],
                                f"the problem's outputs {prob['outcomes']}, or no outcomes key")
        data = {**prob, **data}
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ScenarioError(file, "params", params, "a table")
    meta = {f: Params.__dataclass_fields__[f].metadata for f in Params.__dataclass_fields__}
    bounds: dict[str, tuple[float, float]] = {}
    values: dict[str, tuple[float, ...]] = {}
    for name, v in params.items():
        md = meta.get(name)
        lo, hi = (md["lo"], md["hi"]) if md is not None else (-np.inf, np.inf)
        if model == "abm" and (md is None or md["kind"] not in (float, int)):
            raise ScenarioError(file, f"params.{name}", v,
                                "a numeric parameter of model.params.Params")
        whole = model == "abm" and md["kind"] is int
        if kind == "grid":
            if (not isinstance(v, list) or not v
                    or not all(_finite(x) and lo <= x <= hi and (not whole or x == int(x))
                               for x in v)):
                what = "integers" if whole else "finite values"
                raise ScenarioError(file, f"params.{name}", v,
                           f"a non-empty list of {what} in [{lo}, {hi}] (design.kind = grid)")
            values[name] = tuple(float(x) for x in v)
        else:
            if (not isinstance(v, list) or len(v) != 2 or not all(_finite(x) for x in v)
                    or not lo <= v[0] < v[1] <= hi):
                raise ScenarioError(file, f"params.{name}", v,
                           f"[lo, hi] with {lo} <= lo < hi <= {hi} (design.kind = {kind})")
            if model == "abm" and md["kind"] is int:
                raise ScenarioError(file, f"params.{name}", v,
                           "a float parameter (integer parameters only in a grid design)")
            bounds[name] = (float(v[0]), float(v[1]))
    if kind != "grid" and not bounds:
        raise ScenarioError(file, "params", params,
                            f"at least one parameter with bounds for {kind}")
    outcomes = data.get("outcomes", [])
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        raise ScenarioError(file, "outcomes", outcomes, "a list of outcome names")
    if model == "abm":
        from model.observe import SCENARIO_MEASURES

        for o in outcomes:
            if o not in SCENARIO_MEASURES:
                raise ScenarioError(file, "outcomes", o, f"one of {', '.join(SCENARIO_MEASURES)}")
    series = _check_series(file, data.get("series", []), model)
    rows: tuple[tuple[float, ...], ...] = ()
    if "sample" in data or sample is not None:
        if kind not in SAMPLE_DESIGNS:
            raise ScenarioError(file, "sample", data.get("sample", sample_source),
                                f"only with design.kind = {', '.join(SAMPLE_DESIGNS)} (a grid "
                                "lists its values under [params])")
        if "n" in design:
            raise ScenarioError(file, "design.n", n, "not with a sample (its rows are the "
                                "design points)")
        if sample is None:
            sample_source = str(_relative(data["sample"], Path(base), file, "sample"))
            sample = read_sample(file, sample_source, bounds)
        check_sample(file, sample_source or "sample", np.asarray(sample, dtype=float),
                     bounds, kind, second, levels)
        rows = tuple(tuple(float(x) for x in r) for r in np.asarray(sample, dtype=float))
    _check_size(file, kind, len(rows) if rows else n, second, len(scen), ints["replicates"],
                bounds, values, sampled=bool(rows))
    name = check_name(file, "name", data.get("name", Path(file).stem))
    spec = SweepSpec(file=file, name=name, scenarios=tuple(scen), model=model,
                     noise=float(noise), design=kind, n=len(rows) if rows else n,
                     second_order=second, levels=levels, bounds=bounds, values=values,
                     outcomes=tuple(outcomes), sample=rows, sample_source=sample_source,
                     series=series, **ints)
    _check_runs(spec)
    return spec


def _relative(value: Any, base: Path, file: str, key: str) -> Path:
    """A file named in a spec (a string), relative to the spec's folder."""
    if not isinstance(value, str) or not value:
        raise ScenarioError(file, key, value, "a file name (a string; relative to the spec's "
                            "folder)")
    p = Path(value)
    return p if p.is_absolute() else base / p


def _read_file(file: str, key: str, path: Path, what: str) -> bytes:
    """The bytes of a regular file named by ``key`` (else a ScenarioError naming both)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on a regular file)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError(file, key, str(path), f"an existing {what} (no such file)") from None
    except OSError as e:
        raise ScenarioError(file, key, str(path), f"a readable {what} ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(file, key, str(path), f"a regular {what} (this is a directory, "
                                "device, FIFO or socket)")
        if st.st_size > MAX_SAMPLE_BYTES:
            raise ScenarioError(file, key, str(path), f"a {what} of at most "
                                f"{MAX_SAMPLE_BYTES:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_SAMPLE_BYTES + 1)
    except OSError as e:
        raise ScenarioError(file, key, str(path), f"a readable {what} ({e.strerror})") from None
    finally:
        os.close(fd)


def read_problem(file: str, value: Any, base: Path) -> dict[str, Any]:
    """A SALib problem file (JSON) as spec keys: ``params`` bounds, and ``outcomes``.

    The file holds SALib's problem dict: ``names`` and ``bounds`` (required), and
    optionally ``num_vars`` (equal to the number of names), ``dists`` (every one
    ``"unif"``: the bounds are then the parameters' ranges, as in a ``[params]`` table),
    ``groups`` (null) and ``outputs`` (outcome names, used when the spec has no
    ``outcomes``). Errors name the problem file, the key and the value.
    """
    path = _relative(value, base, file, "problem")
    text = _read_file(file, "problem", path, "JSON file of a SALib problem")
    where = str(path)
    try:
        prob = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ScenarioError(where, "(syntax)", shown_error(e), "a JSON object (a SALib problem: "
                            "names, bounds)") from None
    if not isinstance(prob, dict):
        raise ScenarioError(where, "(content)", prob, "a JSON object (a SALib problem: names, "
                            "bounds)")
    allowed = {"names", "bounds", "num_vars", "dists", "groups", "outputs"}
    for k in prob:
        if k not in allowed:
            raise ScenarioError(where, k, prob[k], f"unknown key; allowed: {sorted(allowed)}")
    names, bounds = prob.get("names"), prob.get("bounds")
    if (not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names)
            or len(set(names)) != len(names)):
        raise ScenarioError(where, "names", names, "a non-empty list of distinct parameter "
                            "names")
    if (not isinstance(bounds, list) or len(bounds) != len(names)
            or not all(isinstance(b, list) and len(b) == 2 and all(_finite(x) for x in b)
                       and b[0] < b[1] for b in bounds)):
        raise ScenarioError(where, "bounds", bounds, f"a list of {len(names)} [lo, hi] pairs of "
                            "finite numbers with lo < hi, one per name")
    if prob.get("num_vars", len(names)) != len(names):
        raise ScenarioError(where, "num_vars", prob["num_vars"],
                            f"the number of names, {len(names)}")
    dists = prob.get("dists")
    if dists is not None and (not isinstance(dists, list) or len(dists) != len(names)
                              or any(d != "unif" for d in dists)):
        raise ScenarioError(where, "dists", dists, "null, or \"unif\" for every parameter "
                            "(innogrid samples uniformly within the bounds)")
    if prob.get("groups") is not None:
        raise ScenarioError(where, "groups", prob["groups"], "null (indices are per parameter)")
    out: dict[str, Any] = {"params": dict(zip(names, bounds, strict=True))}
    outputs = prob.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise ScenarioError(where, "outputs", outputs, "a list of outcome names")
        out["outcomes"] = outputs
    return out


def shown_error(e: Exception) -> str:
    """An exception as a short one-line value for an error message."""
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def read_sample(file: str, path: str | Path, bounds: dict[str, tuple[float, float]]
                ) -> np.ndarray:
    """A user's sample from a CSV file: one column per parameter (by name), one row a point.

    Returns the rows with columns in ``bounds`` order. A file that is missing or not a
    regular file, a header that is not exactly the parameters' names (in any order), and a
    cell that is not a finite number are :class:`ScenarioError` naming the file, the
    column (and row), the value and what is allowed; :func:`check_sample` then checks
    the values against the bounds and the method.
    """
    data = _read_file(file, "sample", Path(path), "CSV file of sample points")
    where = str(path)
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ScenarioError(where, "(syntax)", shown_error(e), "a CSV file with a header row "
                            "naming the parameters") from None
    names = list(bounds)
    cols = [str(c).strip() for c in df.columns]
    for c in cols:
        if c not in bounds:
            raise ScenarioError(where, "(header)", c, "a column per parameter of the spec; "
                                + _did_you_mean(c, names))
    missing = [n for n in names if n not in cols]
    if missing:
        raise ScenarioError(where, "(header)", cols, f"a column for every parameter of the "
                            f"spec; missing: {missing}")
    if df.empty:
        raise ScenarioError(where, "(rows)", 0, "at least one sample point (a row)")
    df.columns = cols
    X = np.empty((len(df), len(names)))
    for j, name in enumerate(names):
        col = pd.to_numeric(df[name].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(col))  # not a number, empty, nan or inf
        if len(bad):
            i = int(bad[0])
            raise ScenarioError(where, f"{name} (row {i + 1})", df[name].iloc[i],
                                f"a finite number (a value of parameter {name})")
        X[:, j] = col
    return X


def _did_you_mean(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"{hint}allowed: {', '.join(allowed)}"


def check_sample(file: str, where: str, X: np.ndarray, bounds: dict[str, tuple[float, float]],
                 kind: str, second_order: bool = False, levels: int = 4) -> None:
    """Refuse a user's sample that does not fit the spec (:class:`ScenarioError`).

    Its shape must be ``(rows, parameters)`` with at least one row, every value finite
    and inside its parameter's bounds, and, for a method whose estimator relies on the
    sample's structure, that structure: a Sobol' sample (Saltelli's cross-sample, as
    SALib draws it) must come in blocks of ``D + 2`` rows (``2D + 2`` with second order)
    of ``A``, each ``A`` with one column from ``B``, (second order: each ``B`` with one
    column from ``A``,) and ``B``; a Morris sample must be trajectories of ``D + 1`` rows
    that each move one parameter by the grid step of ``levels``. Latin hypercube and PAWN
    designs take any sample.
    """
    names = list(bounds)
    D = len(names)
    if X.ndim != 2 or X.shape[1] != D or X.shape[0] < 1:
        raise ScenarioError(file, "sample", where, f"a sample of shape (rows, {D}) with at "
                            f"least one row: one column per parameter ({', '.join(names)}); "
                            f"got shape {X.shape}")
    for j, name in enumerate(names):
        lo, hi = bounds[name]
        col = X[:, j]
        bad = np.flatnonzero(~np.isfinite(col) | (col < lo) | (col > hi))
        if len(bad):
            i = int(bad[0])
            raise ScenarioError(file, f"sample {name} (row {i + 1})", float(col[i]),
                                f"a finite value in the bounds of params.{name}, [{lo}, {hi}] "
                                f"({where})")
    if kind == "sobol":
        _check_saltelli(file, where, X, second_order)
    elif kind == "morris":
        from experiments.analysis.sensitivity_indices import _check_morris_levels, problem

        if X.shape[0] < 2 * (D + 1):
            raise ScenarioError(file, "sample", where, f"a Morris sample of at least two "
                                f"trajectories ({2 * (D + 1)} rows); got {X.shape[0]}")
        try:
            _check_morris_levels(problem(bounds), X, levels)
        except ValueError as e:
            raise ScenarioError(file, "sample", where, f"a Morris sample (SALib's trajectories "
                                f"with design.levels = {levels}): {e}") from None


def _check_saltelli(file: str, where: str, X: np.ndarray, second_order: bool) -> None:
    rows, D = X.shape
    per = 2 * D + 2 if second_order else D + 2
    if rows % per:
        raise ScenarioError(file, "sample", where, f"a Sobol' sample (Saltelli's cross-sample"
                            f"{' with second order' if second_order else ''}): a multiple of "
                            f"{per} rows; got {rows}")
    blocks = X.reshape(rows // per, per, D)
    A, B = blocks[:, 0], blocks[:, -1]
    for k in range(D):
        want = A.copy()
        want[:, k] = B[:, k]
        expected = [want]
        if second_order:
            want2 = B.copy()
            want2[:, k] = A[:, k]
            expected.append(want2)
        for m, w in enumerate(expected):
            got = blocks[:, 1 + k + m * D]
            close = np.isclose(got, w, rtol=1e-9, atol=0.0).all(axis=1)
            if not close.all():
                b = int(np.flatnonzero(~close)[0])
                raise ScenarioError(file, "sample", where, f"a Sobol' sample (Saltelli's "
                                    f"cross-sample, blocks of {per} rows as SALib draws it): "
                                    f"row {b * per + 2 + k + m * D} should be row {b * per + 1} "
                                    f"with column {k + 1} from row {b * per + per}"
                                    + (" (or the reverse)" if m else ""))


#: The region measures a sweep can record per step (``series``): region.csv's columns.
def series_measures() -> tuple[str, ...]:
    """The names ``series`` accepts: the region table's columns but ``step`` and ``year``."""
    from model.model import REGION_COLUMNS

    return tuple(c for c in REGION_COLUMNS if c not in ("step", "year"))


def _check_series(file: str, value: Any, model: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(file, "series", value, "a list of region measures (names of "
                            "region.csv's columns)")
    if value and model != "abm":
        raise ScenarioError(file, "series", value, "only with model = \"abm\" (a function "
                            "model has no steps to record)")
    allowed = series_measures()
    for v in value:
        if v not in allowed:
            raise ScenarioError(file, "series", v, "a region measure; "
                                + _did_you_mean(v, list(allowed)))
    if len(set(value)) != len(value):
        raise ScenarioError(file, "series", value, "each measure once")
    return tuple(value)


def design_size(kind: str, n: int, second_order: bool, bounds: dict, values: dict,
                sampled: bool = False) -> int:
    """The number of design points, computed without drawing them (exact integers).

    ``sampled``: a user's sample of ``n`` rows (its points are its rows).
    """
    if sampled:
        return n
    if kind == "grid":
        return math.prod(len(v) for v in values.values())
    d = len(bounds)
    return {"sobol": n * (2 * d + 2 if second_order else d + 2), "morris": n * (d + 1)}.get(
        kind, n)


def _check_size(file: str, kind: str, n: int, second_order: bool, scenarios: int,
                replicates: int, bounds: dict, values: dict, sampled: bool = False) -> None:
    """Refuse, before anything is allocated, a spec of more than :data:`MAX_RUNS` runs."""
    points = design_size(kind, n, second_order, bounds, values, sampled)
    runs = scenarios * points * replicates
    if runs <= MAX_RUNS:
        return
    if sampled:
        key, value = "sample", f"{n:,} rows"
    elif kind == "grid":
        key, value = "params", " x ".join(str(len(v)) for v in values.values()) + " values"
    else:
        key, value = "design.n", n
    raise ScenarioError(file, key, value,
                        f"a design of at most {MAX_RUNS:,} runs (scenarios x design points x "
                        f"replicates); this spec asks for {scenarios:,} x {points:,} x "
                        f"{replicates:,} = {runs:,}")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and bool(np.isfinite(x))


def _check_runs(spec: SweepSpec) -> None:
    """Before any run: the model imports, and every design point is valid and fits.

    Fits: one run of it fits in the memory available (:mod:`experiments.running.memory`).
    """
    try:
        _model_fn(spec.model)
    except Exception as e:  # any import-time failure of the user's module
        raise ScenarioError(spec.file, "model", spec.model,
                            f"an importable 'package.module:function' ({type(e).__name__}: "
                            f"{e})") from None
    if spec.model != "abm":
        return
    from experiments.running.memory import check_memory

    points = design_points(spec)
    for s in spec.scenarios:
        sc = load_scenario(s)
        for p, params in enumerate(points):
            try:
                check_memory(_with_params(sc, params), spec.steps)
            except ScenarioError as e:
                raise ScenarioError(spec.file, e.key, e.value,
                                    f"{e.allowed} (design point {p} on {Path(s).name})") from None


def trial(spec: SweepSpec) -> None:
    """Run the first task for one step (the model only; cheap) before a sweep starts.

    A failure ends the command with exit status 2 before any run is recorded.
    """
    if spec.model != "abm":
        return
    t = make_tasks(spec)[0]
    row = run_task(Task(t.task_id, t.scenario, t.point, t.replicate, t.seed, t.params, 1))
    if row["status"] != "ok":
        raise ScenarioError(spec.file, "params", t.params,
                            f"values a run accepts: a one-step trial of design point {t.point} "
                            f"on {Path(t.scenario).name} failed ({row['error']})")


def design_points(spec: SweepSpec) -> list[dict[str, float]]:
    """The parameter points of the design, in a fixed order."""
    if spec.design == "grid":
        names = list(spec.values)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(spec.values[k] for k in names))] or [{}]
    names = list(spec.bounds)
    if spec.sample:  # a user's own design points
        return [dict(zip(names, row, strict=True)) for row in spec.sample]
    from experiments.analysis.sensitivity_indices import problem, sample

    prob = problem(spec.bounds)
    method = "pawn" if spec.design == "lhs" else spec.design
    X = sample(method, prob, spec.n, spec.root_seed, second_order=spec.second_order,
               levels=spec.levels)
    return [{k: float(x) for k, x in zip(names, row, strict=True)} for row in X]


@functools.cache
def code_version(model: str = "abm") -> str:
    """A hash of the code that computes a run.

    The ``model/`` package (sources and data: :func:`model.state.code_version`, the hash a
    saved state is checked against) and, for ``"package.module:function"`` or
    ``"ishigami"``, the module's source file.
    """
    extra: tuple[Path, ...] = ()
    if model != "abm":
        name = ("experiments.analysis.sensitivity_indices" if model == "ishigami"
                else model.partition(":")[0])
        try:
            origin = importlib.util.find_spec(name).origin
        except (ImportError, AttributeError, ValueError):
            origin = None
        extra = (Path(origin),) if origin and Path(origin).is_file() else ()
    return model_code_version(extra)


def _scenario_content(scenario: str) -> tuple[str, int]:
    """A hash of everything a scenario file resolves to, and its default steps."""
    if scenario == "-":
        return "-", 0
    sc = load_scenario(scenario)
    content = {"params": sc.params.to_dict(), "policy": sc.policy.to_dict(),
               "rules": [[list(r.cities), r.from_year, r.until_year, r.overrides]
                         for r in sc.rules],
               "geography": sc.raw.get("geography", {})}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20], sc.steps


def _task_id(content: str, position: tuple[int, int], params: dict[str, float], seed: int,
             steps: int, model: str, noise: float) -> str:
    # keyed by what determines the result: the scenario's resolved content (not its file
    # name), the point's parameters, seed, steps and the model's code; the positions of
    # the scenario in the spec and of the point in the design are part of the id too, since
    # a spec may list equal scenarios, and a design (Morris) repeat a point, on purpose
    key = json.dumps({"scenario": content, "position": position, "params": params, "seed": seed,
                      "steps": steps, "model": model, "noise": noise,
                      "code": code_version(model)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def make_tasks(spec: SweepSpec) -> list[Task]:
    """Every (scenario, point, replicate) of the spec, with its seed and content-keyed id."""
    seeds = replicate_seeds(spec.root_seed, spec.replicates)
    points = design_points(spec)
    tasks = []
    for i, scen in enumerate(spec.scenarios):
        content, default_steps = _scenario_content(scen)
        steps = spec.steps if spec.steps is not None else default_steps
        for p, params in enumerate(points):
            for r, s in enumerate(seeds):
                tasks.append(Task(_task_id(content, (i, p), params, s, steps, spec.model,
                                           spec.noise),
                                  scen, p, r, s, params, spec.steps, spec.model, spec.noise,
                                  spec.series))
    return tasks


def _abm(task: Task) -> dict[str, float]:
    return _abm_run(task)[0]


def _abm_run(task: Task) -> tuple[dict[str, float], dict[str, list] | None]:
    """The run's measures, and its ``series`` (``step`` and each measure's values) if asked."""
    from experiments.analysis.compare import measures, scenario_measures
    from experiments.running.cache import cached_run

    sc = _with_params(load_scenario(task.scenario), task.params)
    if not task.series:
        return scenario_measures(sc, task.seed, task.steps), None
    # as scenario_measures does: the same run (and cache entry), its table kept for series
    rec = cached_run(sc, task.seed, sc.steps if task.steps is None else task.steps)
    out = measures(rec, sc)
    region = rec.region
    series = {"step": region["step"].astype(int).tolist()}
    series.update({m: region[m].astype(float).tolist() for m in task.series})
    return out, series


def _with_params(sc, params: dict[str, float]):
    """The scenario with a design point's parameters (integer fields as integers)."""
    if not params:
        return sc
    return sc.with_overrides(params={k: (int(v) if isinstance(getattr(sc.params, k), int)
                                         and not isinstance(getattr(sc.params, k), bool)
                                         else v) for k, v in params.items()})


def _model_fn(model: str) -> Callable[[Task], dict[str, float]]:
    if model == "abm":
        return _abm
    if model == "ishigami":
        from experiments.analysis.sensitivity_indices import ishigami

        return lambda t: ishigami(t.params, seed=t.seed, noise=t.noise)
    mod, _, fn = model.partition(":")
    f = getattr(importlib.import_module(mod), fn)
    return lambda t: f(dict(t.params), t.seed, t.steps)


def run_task(task: Task) -> dict[str, Any]:
    """Run one task; return its row (never raises: failures become ``status = failed``)."""
    row: dict[str, Any] = {"task_id": task.task_id, "scenario": Path(task.scenario).stem,
                           "point": task.point, "replicate": task.replicate, "seed": task.seed,
                           **{f"param.{k}": v for k, v in task.params.items()}}
    t0 = time.perf_counter()
    try:
        series = None
        if task.model == "abm":
            out, series = _abm_run(task)
        else:
            out = _model_fn(task.model)(task)
        row.update(status="ok", error="", **{f"out.{k}": float(v) for k, v in out.items()})
        if series is not None:  # the store moves it into series/ (one journal line per run)
            row[SERIES_KEY] = series
    except Exception as e:  # recorded, not raised: the rest of the sweep goes on
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        row.update(status="failed", error=f"{type(e).__name__}: {e}{where}")
    row["seconds"] = time.perf_counter() - t0
    return row


# --- backends --------------------------------------------------------------------------

def _failed_row(task: Task, error: str) -> dict[str, Any]:
    return {"task_id": task.task_id, "scenario": Path(task.scenario).stem, "point": task.point,
            "replicate": task.replicate, "seed": task.seed,
            **{f"param.{k}": v for k, v in task.params.items()}, "status": "failed",
            "error": error, "seconds": float("nan")}


def _serial(tasks: list[Task], **_) -> Iterator[dict[str, Any]]:
    for t in tasks:
        yield run_task(t)


def _processes(tasks: list[Task], jobs: int | None = None, retries: int = 2,
               **_) -> Iterator[dict[str, Any]]:
    jobs = jobs or os.cpu_count() or 1
    pending = list(reversed(tasks))  # pop() from the end keeps the spec's order
    suspects: list[Task] = []
    window = 4 * jobs
    while pending:
        broken = False
        with process_pool(jobs) as ex:
            try:
                running: dict[Any, Task] = {}
                while pending or running:
                    while pending and len(running) < window and not broken:
                        t = pending.pop()
                        try:
                            running[ex.submit(run_task, t)] = t
                        except BrokenProcessPool:
                            pending.append(t)
                            broken = True
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        t = running.pop(fut)
                        try:
                            yield fut.result()
                        except BrokenProcessPool:
                            broken = True
                            suspects.append(t)
                    if broken:
                        suspects.extend(running.values())  # lost with the pool
                        break
            except BaseException:  # interrupted (or the consumer stopped): end the workers now
                stop_pool(ex)
                raise
        # the runs a dying worker took down with it: retry them one at a time
        yield from _isolated(suspects, retries)
        suspects = []


def _isolated(tasks: list[Task], retries: int) -> Iterator[dict[str, Any]]:
    """Run ``tasks`` one at a time in a single worker, so a run that kills it is known."""
    attempts = dict.fromkeys((t.task_id for t in tasks), 0)
    queue = list(tasks)
    ex = None
    try:
        while queue:
            t = queue.pop(0)
            ex = ex or process_pool(1)
            try:
                yield ex.submit(run_task, t).result()
            except BaseException as e:
                if not isinstance(e, BrokenProcessPool):  # interrupted: end the worker now
                    stop_pool(ex)
                    ex = None
                    raise
                ex.shutdown(wait=False)
                ex = None
                attempts[t.task_id] += 1
                if attempts[t.task_id] > retries:
                    yield _failed_row(t, f"worker died on all {attempts[t.task_id]} attempts")
                else:
                    queue.append(t)
    finally:
        if ex is not None:
            ex.shutdown()


def local_cluster(n_workers: int) -> Any:
    """A Dask ``LocalCluster`` on 127.0.0.1: ``n_workers`` single-threaded worker processes.

    No dashboard; the scheduler's own HTTP endpoints (health, metrics) listen on a free port
    of 127.0.0.1, not on 8787, so two clusters at once (two test workers, two studies) do not
    compete for one port.
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


@contextmanager
def dask_client(jobs: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: of the cluster at ``scheduler``, or of a LocalCluster on 127.0.0.1.

    The local cluster has ``jobs`` single-threaded worker processes (default: all cores);
    client and local cluster are closed on leaving.
    """
    from distributed import Client

    cluster = local_cluster(jobs or os.cpu_count() or 1) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask(tasks: list[Task], jobs: int | None = None, retries: int = 2,
          scheduler: str | None = None, **_) -> Iterator[dict[str, Any]]:
    from distributed import as_completed

    with dask_client(jobs, scheduler) as client:
        futs = {client.submit(run_task, t, key=f"innogrid-{t.task_id}", retries=retries,
                              pure=False): t for t in tasks}
        for fut in as_completed(futs):
            t = futs[fut]
            try:
                yield fut.result()
            except Exception as e:  # e.g. KilledWorker: a worker died on it too often
                yield _failed_row(t, f"{type(e).__name__}: {e}")


_BACKEND_FNS = {"serial": _serial, "processes": _processes, "dask": _dask}


def execute(tasks: list[Task], backend: str = "processes", **options) -> Iterator[dict[str, Any]]:
    """Run ``tasks`` on a backend; yield one row per task as it finishes (in any order).

    Options: ``jobs`` (workers; default all cores), ``retries`` (for a worker that dies),
    ``scheduler`` (dask: a scheduler address; default a LocalCluster on 127.0.0.1).
    """
    if backend not in _BACKEND_FNS:
        raise ValueError(f"backend {backend!r}: allowed {', '.join(BACKENDS)}")
    if not tasks:
        return iter(())
    return _BACKEND_FNS[backend](tasks, **options)


# --- the results store -----------------------------------------------------------------

LOCK_NAME = ".lock"
#: The key of a journal row that holds the run's per-step series (moved into ``series/``).
SERIES_KEY = "series"
#: Columns of the long series table (:func:`load_series`).
SERIES_COLUMNS = ["task_id", "scenario", "point", "replicate", "seed", "step", "measure",
                  "value"]


class Interrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C or SIGTERM; its message says what was kept."""


class Store:
    """A results directory: manifest, append-only journal and compacted Parquet parts."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.manifest = self.dir / "manifest.json"
        self.journal = self.dir / "journal.jsonl"
        self.parts = self.dir / "results"
        self.series = self.dir / "series"

    def _claim(self) -> None:
        # innogrid's marker goes first: a kill before manifest.json leaves a store that is
        # still recognised (and resumed), never "a directory that is not ours"
        files = owned(self.dir)
        if files and files.get("manifest.json") != "sweep":
            raise OutputError(f"--out {self.dir}: an innogrid output but not a sweep store; "
                              "choose another directory")
        claim(self.dir, "sweep", ("manifest.json", "journal.jsonl", "results", "series",
                                  LOCK_NAME))

    @contextmanager
    def locked(self) -> Iterator[Store]:
        """Hold the store's lock (a second sweep on it is refused) and clear stale temp files."""
        self._claim()
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another"
                raise OutputError(f"--out {self.dir}: in use by another sweep (process "
                                  f"{holder}); wait for it to end or choose another --out"
                                  ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            # what a kill left half-written (never read: only the renamed files count)
            for stale in [*self.dir.glob(".*.tmp"), *self.parts.glob("*.tmp"),
                          *self.parts.glob(".*.tmp"), *self.series.glob("*.tmp"),
                          *self.series.glob(".*.tmp")]:
                stale.unlink(missing_ok=True)
            yield self
        finally:
            os.close(fd)  # releases the lock

    def open(self, spec: SweepSpec, tasks: list[Task]) -> None:
        """Create the store, or check that an existing one was made by the same spec.

        The directory must be new, empty or a store (see :mod:`experiments.running.output`). The
        manifest records the ids of the spec's current tasks: a scenario edited since
        gives new ids, and :func:`load_results` reads only the current ones.
        """
        self._claim()
        self.parts.mkdir(parents=True, exist_ok=True)
        if spec.series:
            self.series.mkdir(exist_ok=True)
        ids = [t.task_id for t in tasks]
        old = self.read_manifest()
        if old is not None:
            if old.get("spec_digest") != spec.digest():
                raise ScenarioError(str(self.dir), "--out", str(self.dir),
                                    "a store made by this spec (it holds another experiment: "
                                    "choose another --out)")
            if old.get("task_ids") != ids:
                atomic_write(self.manifest, json.dumps({**old, "tasks": len(ids),
                                                        "task_ids": ids}, indent=1))
            return
        if spec.model == "abm":
            meta = provenance(load_scenario(spec.scenarios[0]), spec.root_seed, spec.steps or 0)
        else:
            meta = {"git_commit": _git_commit(), "python": sys.version.split()[0],
                    "packages": {p: _version(p) for p in ("numpy", "pandas", "SALib")}}
        meta["code_version"] = code_version(spec.model)
        dumped = asdict(spec)
        if spec.sample:  # the rows are the manifest's points; not written twice
            dumped["sample"] = f"{len(spec.sample):,} rows (the points below)"
        manifest = {
            "kind": "sweep", "spec": dumped, "spec_digest": spec.digest(),
            "root_seed": spec.root_seed,
            "seeds": replicate_seeds(spec.root_seed, spec.replicates),
            "points": design_points(spec), "tasks": len(tasks), "provenance": meta,
            "task_ids": ids,
        }
        atomic_write(self.manifest, json.dumps(manifest, indent=1, default=str))

    def read_manifest(self) -> dict[str, Any] | None:
        """The store's ``manifest.json``, or None if there is none yet (a new store).

        One that is not a JSON object (or not readable, or over 256 MB) is an
        :class:`OutputError`: the directory is not a store this spec can use.
        """
        if not os.path.lexists(self.manifest):
            return None
        try:
            if self.manifest.stat().st_size > 256 << 20:
                raise ValueError("too large")
            old = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            old = None
        ids = old.get("task_ids", []) if isinstance(old, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise OutputError(f"--out {self.dir}: its manifest.json is not a store manifest (a "
                              "JSON object with a list of task ids); choose another directory")
        return old

    def append(self, row: dict[str, Any]) -> None:
        """Record one finished run: a single appended line (atomic enough for SIGKILL)."""
        line = json.dumps(row, default=float) + "\n"
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def _journal_rows(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        rows = []
        for line in self.journal.read_bytes().split(b"\n"):
            try:
                rows.append(json.loads(line))
            except ValueError:  # the empty tail, or a line a kill cut short
                continue
        return rows

    def _part_frame(self, where: Path | None = None) -> pd.DataFrame:
        where = self.parts if where is None else where
        files = sorted(where.glob("part-*.parquet")) if where.exists() else []
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)

    def load(self) -> pd.DataFrame:
        """All recorded runs, one row per task id, each with its newest outcome.

        Parts are read in order, then the journal: a run retried with ``--retry-failed``
        replaces its failure.
        """
        frames = [self._part_frame(), pd.DataFrame(_scalars(self._journal_rows()))]
        df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
            len(f) for f in frames) else pd.DataFrame()
        if df.empty:
            return df
        return df.drop_duplicates("task_id", keep="last").reset_index(drop=True)

    def compact(self) -> None:
        """Move journal rows into a new Parquet part, then empty the journal.

        The part is written atomically before the journal is emptied; a kill in between
        leaves rows in both, which :meth:`load` and the next compaction deduplicate. A
        journal row whose task is in a part with the same status is such a copy and is
        dropped; one with another status (a retried failure) is newer and is kept.
        """
        rows = self._journal_rows()
        if not rows:
            return
        have = self._part_frame()
        new = pd.DataFrame(_scalars(rows)).drop_duplicates("task_id", keep="last")
        if len(have):
            last = have.drop_duplicates("task_id", keep="last").set_index("task_id")["status"]
            new = new[new["status"].to_numpy() != last.reindex(new["task_id"]).to_numpy()]
        if len(new):
            # the series first: a kill before the results part leaves the rows in the
            # journal, and the next compaction writes both again (load_series keeps one)
            long = _series_frame(rows, set(new["task_id"]))
            if len(long):
                self._write_part(self.series, long)
            self._write_part(self.parts, new)
        atomic_write(self.journal, "")

    def _write_part(self, where: Path, frame: pd.DataFrame) -> None:
        where.mkdir(exist_ok=True)
        k = len(list(where.glob("part-*.parquet")))
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write(where / f"part-{k:05d}-{os.getpid()}-{time.time_ns()}.parquet",
                     buf.getvalue())

    def load_series(self) -> pd.DataFrame:
        """Every recorded step value, one row per (task, step, measure), the newest kept."""
        frames = [self._part_frame(self.series), _series_frame(self._journal_rows())]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=SERIES_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        return df.drop_duplicates(["task_id", "step", "measure"], keep="last")


def _scalars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal rows without their series (which go into ``series/``, not the results)."""
    return [{k: v for k, v in r.items() if k != SERIES_KEY} for r in rows]


def _series_frame(rows: list[dict[str, Any]], ids: set[str] | None = None) -> pd.DataFrame:
    """The long series table of journal rows (of the task ids in ``ids``, if given).

    A row's series ``{"step": [0, 1, ...], "cv": [...], ...}`` becomes one row per step and
    measure: ``task_id, scenario, point, replicate, seed, step, measure, value``.
    """
    parts = []
    for r in rows:
        s = r.get(SERIES_KEY)
        if not isinstance(s, dict) or (ids is not None and r["task_id"] not in ids):
            continue
        steps = np.asarray(s["step"], dtype=np.int64)
        for m, values in s.items():
            if m == "step":
                continue
            parts.append(pd.DataFrame({
                "task_id": r["task_id"], "scenario": r["scenario"], "point": int(r["point"]),
                "replicate": int(r["replicate"]), "seed": int(r["seed"]), "step": steps,
                "measure": m, "value": np.asarray(values, dtype=float)}))
    if not parts:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SERIES_COLUMNS]


def load_results(directory: str | Path) -> pd.DataFrame:
    """The runs of a store as one wide table (one row per run), sorted by task order.

    Only the spec's current tasks are read (rows of a scenario since edited stay in the
    store, unused).
    """
    store = Store(directory)
    df = store.load()
    ids = (store.read_manifest() or {}).get("task_ids")
    if df.empty:
        return df
    if ids is not None:  # the spec's order: scenario, point, replicate
        order = pd.Series(range(len(ids)), index=ids)
        df = df[df["task_id"].isin(order.index)]
        return df.iloc[np.argsort(order[df["task_id"]].to_numpy(), kind="stable")].reset_index(
            drop=True)
    return df.sort_values(["scenario", "point", "replicate"], kind="stable").reset_index(
        drop=True)


def load_series(directory: str | Path) -> pd.DataFrame:
    """The per-step series a sweep recorded (spec key ``series``), as one long table.

    Columns ``task_id, scenario, point, replicate, seed, step, measure, value``: one row per
    run, step and measure, for the spec's current tasks, in task order, then measure and
    step. Empty (with these columns) if the spec recorded no series.
    """
    store = Store(directory)
    df = store.load_series()
    ids = (store.read_manifest() or {}).get("task_ids")
    if df.empty:
        return df.reset_index(drop=True)
    if ids is not None:
        order = pd.Series(range(len(ids)), index=ids)
        df = df[df["task_id"].isin(order.index)]
        df = df.assign(_order=order[df["task_id"]].to_numpy())
        return (df.sort_values(["_order", "measure", "step"], kind="stable")
                .drop(columns="_order").reset_index(drop=True))
    return df.sort_values(["scenario", "point", "replicate", "measure", "step"],
                          kind="stable").reset_index(drop=True)


def tidy(results: pd.DataFrame) -> pd.DataFrame:
    """Long form: one row per run and outcome (``outcome``, ``value``)."""
    outs = [c for c in results.columns if c.startswith("out.")]
    ids = [c for c in results.columns if c not in outs]
    long = results.melt(id_vars=ids, value_vars=outs, var_name="outcome", value_name="value")
    long["outcome"] = long["outcome"].str.removeprefix("out.")
    return long


def sweep(spec: SweepSpec, out: str | Path, backend: str = "processes",
          retry_failed: bool = False, progress: bool | None = None,
          **options) -> pd.DataFrame:
    """Run what the store at ``out`` is missing of ``spec``; return all its runs."""
    tasks = make_tasks(spec)
    store = Store(out)
    with store.locked():
        store.open(spec, tasks)
        store.compact()
        have = store.load()
        done = set()
        if len(have):
            keep = have if not retry_failed else have[have["status"] == "ok"]
            done = set(keep["task_id"])
        todo = [t for t in tasks if t.task_id not in done]
        from experiments.running.progress import Progress

        # progress None: a bar on a terminal, plain lines off it; False: nothing
        bar = Progress(len(tasks), f"sweep {spec.name}", initial=len(tasks) - len(todo),
                       enabled=progress, preparing=f"starting the {backend} backend and "
                       "loading the model")
        last = time.monotonic()
        rows = execute(todo, backend, **options)
        try:
            for row in rows:
                store.append(row)
                bar.update(1)
                if time.monotonic() - last > 30:
                    store.compact()
                    last = time.monotonic()
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: keep what finished, say so
            getattr(rows, "close", lambda: None)()
            store.compact()
            got = store.load()
            kept = int(got["task_id"].isin({t.task_id for t in tasks}).sum()) if len(got) else 0
            raise Interrupted(f"interrupted: {kept} of {len(tasks)} runs kept in {out}; "
                              "re-run the same command to resume") from e
        finally:
            getattr(rows, "close", lambda: None)()
            bar.close()
        store.compact()
    return load_results(out)

