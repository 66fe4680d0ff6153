"""A cache of finished runs, shared by every command that runs the model.

A run is fully determined by the model's code (and the numpy, Mesa and pandas it runs on),
the resolved scenario (parameters, default policy, policy rules, geography and its data),
the seed, the number of steps and whether agent data is collected: the model is
deterministic given these. :func:`cached_run` keys
a run by a sha256 over exactly these inputs (:func:`key_inputs`), so ``calibrate``,
``compare``, ``sweep``, ``sensitivity``, ``run``, ``validate`` and the EMA runner reuse
each other's runs instead of recomputing them. A changed parameter, rule, data file, seed,
step count, model source or package version is another key: a miss.

What an entry holds (one directory ``<root>/<key[:2]>/<key>/``):

* ``cities.parquet`` and ``region.parquet``: the model's ``cities_frame()`` and
  ``region_frame()``;
* ``arrays.npz``: the city arrays at the end of the run (every field of
  ``model.entities.CityState``: ``tier``, ``rank``, ``spent``, ``gdp``, ...) and the
  cumulative flow matrices (``world.flows``);
* ``entry.json``: the key, the inputs it was computed from (for inspection), the seconds
  the run took and the size of its data files in bytes (what the size cap counts).

That covers what every caller reads from a finished model: ``compare.measures`` (hence
``sweep`` and ``sensitivity``) reads the frames, the final ``index``/``rank``/``spent``
and the talent and capital flows; ``calibrate.run_facts`` the final ``tier`` and ``gdp``
and the region frame; ``validate`` the final ``tier`` and both frames; the EMA runner the
region frame; ``run.run`` the frames and the flows. Not served: runs continued from a
saved state (``--from``; the state is not part of the key), ``run(keep_model=True)``
(the caller wants the model object itself) and the posterior's simulations (each particle
has parameters of its own, so they would rarely be reused).

Where: the directory in the environment variable ``INNOGRID_CACHE`` (default
``~/.cache/innogrid/runs``); ``INNOGRID_CACHE=off`` turns the cache off. Entries are
written into a scratch directory and renamed into place (``os.replace``), so concurrent
workers, in a process pool or on Dask, never see half an entry; a corrupt or unreadable
entry is a miss (the run is recomputed and the entry rewritten), never an error, and so is
a cache directory that cannot be written. After each write, the least recently used
entries are removed while the cache is larger than ``INNOGRID_CACHE_MAX_GB`` (default 2;
0 or less: no limit).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata as _md
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the model is imported when first run: importing the cache stays light
    from model.model import InnovationModel
    from model.scenario import Scenario

__all__ = ["RunRecord", "cached_run", "cache_dir", "cache_key", "key_inputs", "code_version",
           "max_bytes", "CACHE_FORMAT", "ENV_DIR", "ENV_MAX_GB"]

#: Bumped when the layout of an entry changes (older entries then simply miss).
CACHE_FORMAT = 1
#: The environment variable naming the cache directory (``off``: no cache).
ENV_DIR = "INNOGRID_CACHE"
#: The environment variable capping the cache's size in GB (default 2).
ENV_MAX_GB = "INNOGRID_CACHE_MAX_GB"
DEFAULT_DIR = "~/.cache/innogrid/runs"
_OFF = ("off", "0", "false", "no", "none")
_FILES = ("cities.parquet", "region.parquet", "arrays.npz", "entry.json")
_STALE_SCRATCH_S = 3600.0

_MODEL_DIR = Path(__file__).resolve().parents[2] / "model"


def code_version() -> str:
    """A hash of the model's source code and data (``model/``: .py, .csv, .toml files).

    Runs of other code are not the same runs. (Moved here from
    ``experiments.inference.posterior``, which records it with a posterior; the value is
    unchanged, so databases written before still resume.)
    """
    h = hashlib.sha256()
    for f in sorted(_MODEL_DIR.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".csv", ".toml"):
            h.update(f.relative_to(_MODEL_DIR).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def package_versions() -> dict[str, str]:
    """The versions of the packages a run's numbers depend on.

    numpy's random streams, Mesa's scheduling, pandas' tables: an upgrade is another key,
    like changed code.
    """
    out = {}
    for name in ("numpy", "mesa", "pandas"):
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "unknown"
    return out


def cache_dir() -> Path | None:
    """The cache directory from ``INNOGRID_CACHE`` (default ``~/.cache/innogrid/runs``).

    Returns ``None`` when the cache is off (``INNOGRID_CACHE=off``, or ``0``, ``no``,
    ``false``, ``none``).
    """
    value = os.environ.get(ENV_DIR, "").strip()
    if value.lower() in _OFF:
        return None
    return Path(value or DEFAULT_DIR).expanduser()


def max_bytes() -> int | None:
    """The size cap from ``INNOGRID_CACHE_MAX_GB`` (default 2 GB); ``None``: no cap."""
    value = os.environ.get(ENV_MAX_GB, "").strip()
    try:
        gb = float(value) if value else 2.0
    except ValueError:
        warnings.warn(f"{ENV_MAX_GB}={value!r} is not a number; using 2", stacklevel=2)
        gb = 2.0
    return int(gb * 1e9) if gb > 0 else None


def _plain(value: Any) -> Any:
    """JSON for the values a scenario holds that ``json`` does not know."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be part of a run's key")


def key_inputs(scenario: Scenario, seed: int, steps: int,
               collect_agents: bool = False) -> dict[str, Any]:
    """Everything a run's outcome depends on, as plain JSON-able values.

    The model's code version and the versions of numpy, Mesa and pandas, the resolved
    parameters and default policy, the policy rules
    (cities by name, years as given, overrides), the geography's name and a digest of each
    of its fields (cities, coordinates, distances, GDP and other data), the seed, the number
    of steps and whether agent data is collected. The scenario's name, file and
    description are not inputs: two files that define the same run share its entry.
    """
    from model.state import geography_digest

    geo = scenario.geography
    return {
        "format": CACHE_FORMAT,
        "code_version": code_version(),
        "packages": package_versions(),
        "params": scenario.params.to_dict(),
        "policy": scenario.policy.to_dict(),
        "rules": [{"cities": [geo.cities[i] for i in r.cities], "from_year": r.from_year,
                   "until_year": r.until_year, "overrides": r.overrides}
                  for r in scenario.rules],
        "geography": {"name": geo.name, "fields": geography_digest(geo)},
        "seed": int(seed),
        "steps": int(steps),
        "collect_agents": bool(collect_agents),
    }


def cache_key(inputs: dict[str, Any]) -> str:
    """The sha256 of ``inputs`` as canonical JSON (sorted keys, floats written exactly)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RunRecord:
    """What callers use of a finished run: its tables, final city arrays and flows.

    It answers ``cities_frame()`` and ``region_frame()`` and has ``city`` (the final city
    arrays by name, as ``model.city``), ``geo`` and ``seed`` like the model, so functions
    written for a finished model (``calibrate.run_facts``) accept it.

    Attributes
    ----------
    cities, region : the ``cities_frame()`` and ``region_frame()`` tables.
    city : the ``CityState`` arrays at the end of the run, as attributes.
    flows : the cumulative city-by-city flow matrices (``world.flows``).
    seed : the run's seed.
    geo : the scenario's geography (not stored: the key covers it).
    hit : whether the record came from the cache.
    seconds : how long the run took to compute (on a hit: when it was computed).
    """

    cities: pd.DataFrame
    region: pd.DataFrame
    city: SimpleNamespace
    flows: dict[str, np.ndarray]
    seed: int
    geo: Any = None
    hit: bool = False
    seconds: float = float("nan")
    key: str = field(default="", repr=False)

    def cities_frame(self) -> pd.DataFrame:
        """One row per recorded step and city (as ``InnovationModel.cities_frame``)."""
        return self.cities

    def region_frame(self) -> pd.DataFrame:
        """One row per recorded step (as ``InnovationModel.region_frame``)."""
        return self.region

    def flows_frames(self) -> dict[str, pd.DataFrame]:
        """The flow matrices as tables (as ``InnovationModel.flows_frames``)."""
        names = list(self.geo.cities)
        return {k: pd.DataFrame(v, index=pd.Index(names, name="from"), columns=names)
                for k, v in self.flows.items()}

    @classmethod
    def from_model(cls, m: InnovationModel, seconds: float = float("nan")) -> RunRecord:
        """The record of a finished model (copies of its arrays)."""
        c = m.city
        return cls(cities=m.cities_frame(), region=m.region_frame(),
                   city=SimpleNamespace(**{f.name: np.array(getattr(c, f.name), copy=True)
                                           for f in dataclasses.fields(c)}),
                   flows={k: np.array(v, copy=True) for k, v in m.world.flows.items()},
                   seed=int(m.seed), geo=m.geo, seconds=seconds)


def cached_run(scenario: Scenario | str, seed: int | None = None, steps: int | None = None,
               collect_agents: bool = False) -> RunRecord:
    """Run ``scenario`` with ``seed`` for ``steps`` quarters, or take the run from the cache.

    Parameters
    ----------
    scenario : Scenario or path to a TOML file.
    seed : root seed; default the scenario's ``run.seed``.
    steps : quarters to run; default the scenario's ``run.steps``.
    collect_agents : collect Mesa agent data (part of the key; that data is not stored).

    Returns
    -------
    RunRecord
        With ``hit`` true when it came from the cache. A hit is bit-identical to the run
        it stands for.
    """
    from model.scenario import Scenario, load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    seed = sc.seed if seed is None else int(seed)
    steps = sc.steps if steps is None else int(steps)
    root = cache_dir()
    if root is None:
        return _compute(sc, seed, steps, collect_agents)
    inputs = key_inputs(sc, seed, steps, collect_agents)
    key = cache_key(inputs)
    path = root / key[:2] / key
    rec = _load(path, key, steps)
    if rec is not None:
        rec.geo = sc.geography
        return rec
    rec = _compute(sc, seed, steps, collect_agents)
    rec.key = key
    _store(root, path, rec, inputs)
    return rec


def _compute(sc: Scenario, seed: int, steps: int, collect_agents: bool) -> RunRecord:
    from model.model import InnovationModel

    t0 = time.perf_counter()
    m = InnovationModel(sc, seed=seed, collect_agents=collect_agents)
    m.run(steps)
    return RunRecord.from_model(m, seconds=time.perf_counter() - t0)


def _load(path: Path, key: str, steps: int) -> RunRecord | None:
    """The entry at ``path``, or ``None`` if there is none or it cannot be read whole."""
    if not path.is_dir():
        return None
    try:
        meta = json.loads((path / "entry.json").read_text(encoding="utf-8"))
        if meta["key"] != key:
            raise ValueError("an entry under another key")
        cities = pd.read_parquet(path / "cities.parquet")
        region = pd.read_parquet(path / "region.parquet")
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if len(region) != steps + 1:
            raise ValueError(f"{len(region)} steps recorded, not {steps + 1}")
        city = {k[5:]: v for k, v in arrays.items() if k.startswith("city.")}
        flows = {k[6:]: v for k, v in arrays.items() if k.startswith("flows.")}
        rec = RunRecord(cities=cities, region=region, city=SimpleNamespace(**city), flows=flows,
                        seed=int(meta["inputs"]["seed"]), hit=True,
                        seconds=float(meta["seconds"]), key=key)
    except Exception:  # noqa: BLE001 - any unreadable entry (truncated, foreign, ...) is a miss
        _remove(path)
        return None
    try:
        os.utime(path / "entry.json")  # last used, for the least-recently-used eviction
    except OSError:
        pass
    return rec


def _store(root: Path, path: Path, rec: RunRecord, inputs: dict[str, Any]) -> None:
    """Write ``rec`` as the entry at ``path``, atomically; a failure only warns."""
    scratch = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        rec.cities.to_parquet(scratch / "cities.parquet", index=False)
        rec.region.to_parquet(scratch / "region.parquet", index=False)
        np.savez(scratch / "arrays.npz",
                 **{f"city.{k}": v for k, v in vars(rec.city).items()},
                 **{f"flows.{k}": v for k, v in rec.flows.items()})
        meta = {"key": rec.key, "inputs": inputs, "seconds": rec.seconds,
                "bytes": sum((scratch / f).stat().st_size for f in _FILES[:3]),
                "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        (scratch / "entry.json").write_text(json.dumps(meta, sort_keys=True, indent=1,
                                                       default=_plain), encoding="utf-8")
        try:  # (a corrupt entry was removed by _load)
            os.replace(scratch, path)
            scratch = None
        except OSError:  # another worker has just written the same run: keep theirs
            pass
    except Exception as e:  # noqa: BLE001 - a run whose entry cannot be written is still a run
        warnings.warn(f"run cache {root}: cannot write an entry ({e}); the run is not cached",
                      stacklevel=3)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    _evict(root, keep=path)


def _remove(path: Path) -> None:
    """Remove an entry: renamed away first, so that no reader sees part of it."""
    if not path.exists():
        return
    try:
        gone = path.with_name(f".gone-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(path, gone)
        shutil.rmtree(gone, ignore_errors=True)
    except OSError:
        pass


def _entries(root: Path) -> list[tuple[float, int, Path]]:
    """``(last used, bytes, path)`` of every entry, and stale scratch directories removed."""
    out = []
    now = time.time()
    for sub in root.glob("??"):
        try:
            children = list(sub.iterdir())
        except OSError:
            continue
        for p in children:
            try:
                st = (p / "entry.json").stat() if not p.name.startswith(".") else p.stat()
            except OSError:
                continue
            if p.name.startswith("."):  # a scratch left by a killed worker
                if now - st.st_mtime > _STALE_SCRATCH_S:
                    shutil.rmtree(p, ignore_errors=True)
                continue
            try:
                size = int(json.loads((p / "entry.json").read_text(encoding="utf-8"))["bytes"])
            except (OSError, ValueError, KeyError, TypeError):
                size = sum(f.stat().st_size for f in p.iterdir() if f.is_file())
            out.append((st.st_mtime, size, p))
    return out


def _evict(root: Path, keep: Path | None = None) -> None:
    """Remove the least recently used entries while the cache is above its cap."""
    cap = max_bytes()
    if cap is None:
        return
    try:
        entries = sorted(_entries(root), key=lambda e: e[0])
    except OSError:
        return
    total = sum(e[1] for e in entries)
    for _, size, p in entries:
        if total <= cap:
            break
        if p == keep:
            continue
        _remove(p)
        total -= size
