"""The model as one pure call: ``run(scenario, seed, steps) -> Outcomes``.

Experiments see the model only through :func:`run`; sweeps, sensitivity analysis and
backends are thin adapters on it.
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata as _md
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.running.cache import ENV_DIR, ENV_MAX_GB, cached_run
from experiments.running.lifetime import worker_init
from experiments.running.memory import check_memory
from experiments.running.output import OutputError, check_output_dir, output_dir
from model.model import InnovationModel
from model.scenario import Scenario, load_scenario
from model.state import state_info

__all__ = ["Outcomes", "run", "provenance", "write_outputs", "check_output_dir", "OutputError",
           "process_pool", "state_name", "save_state_job", "write_state", "save_states",
           "project_path"]

ROOT = Path(__file__).resolve().parents[2]


def project_path(path: str | Path) -> str:
    """``path`` as a record should hold it: relative to the project root when inside it.

    A shipped record then names the same files in any clone (``scenarios/x.toml``, not the
    machine's ``/home/.../innogrid/scenarios/x.toml``); a path outside the project stays
    absolute. Example: ``ROOT / "scenarios" / "a.toml"`` -> ``"scenarios/a.toml"``;
    ``/tmp/b.toml`` -> ``"/tmp/b.toml"``.
    """
    p = Path(path).resolve()
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else str(p)


@dataclass
class Outcomes:
    """Everything a run produces: the output tables and provenance."""

    cities: pd.DataFrame
    region: pd.DataFrame
    flows: dict[str, pd.DataFrame]
    metadata: dict[str, Any]
    model: InnovationModel | None = None


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        commit = out.stdout.strip()
        if commit:
            dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                    "model", "scenarios"], capture_output=True, text=True,
                                   timeout=5, check=False).stdout.strip()
            return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def _version(pkg: str) -> str:
    try:
        return _md.version(pkg)
    except _md.PackageNotFoundError:
        return "unknown"


def provenance(scenario: Scenario, seed: int, steps: int) -> dict[str, Any]:
    """Package versions, git commit, time, seed and the resolved scenario."""
    return {
        "innogrid_version": _version("innogrid"),
        "git_commit": _git_commit(),
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "steps": steps,
        "scenario": {"name": scenario.name,
                     "file": project_path(scenario.file) if scenario.file else scenario.file,
                     "description": scenario.description},
        "geography": scenario.geography.name,
        "params": scenario.params.to_dict(),
        "policy_default": scenario.policy.to_dict(),
        "policy_rules": [
            {"cities": [scenario.geography.cities[i] for i in r.cities],
             "from_year": r.from_year if r.from_year > -1e8 else None,
             "until_year": r.until_year if r.until_year < 1e8 else None,
             "overrides": r.overrides}
            for r in scenario.rules
        ],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in ("mesa", "numpy", "pandas")},
    }


def run(scenario: Scenario | str, seed: int | None = None, steps: int | None = None,
        keep_model: bool = False, state: str | Path | None = None) -> Outcomes:
    """Run one scenario with one seed for ``steps`` quarters.

    Parameters
    ----------
    scenario : Scenario or path to a TOML file.
    seed : root seed; default the scenario's ``run.seed`` (with ``state``: the state's).
    steps : quarters to run; default the scenario's ``run.steps`` (with ``state``: up to
        step ``run.steps``).
    keep_model : keep the model object in the outcomes (for notebooks).
    state : a state file to continue from, under ``scenario`` (a branch: its parameters
        and rules apply from the saved step on). The tables then hold the saved steps
        too, and the metadata the state's provenance (``from_state``).

    Raises
    ------
    ScenarioError
        If the run's estimated memory exceeds the memory available
        (:func:`experiments.running.memory.check_memory`).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if state is None:
        seed = sc.seed if seed is None else int(seed)
        steps = sc.steps if steps is None else int(steps)
        check_memory(sc, steps)  # a run that would exhaust the memory is refused first
        if not keep_model:  # the tables and flows are all it needs: the run cache serves them
            r = cached_run(sc, seed, steps)
            meta = provenance(sc, seed, steps)
            meta["run_cache"] = "hit" if r.hit else ("miss" if r.key else "off")
            return Outcomes(cities=r.cities, region=r.region, flows=r.flows_frames(),
                            metadata=meta)
        m = InnovationModel(sc, seed=seed, collect_agents=False)
    else:
        m = InnovationModel.load(state, sc)
        if seed is not None and int(seed) != m.seed:
            raise ValueError(f"{state} is a state of seed {m.seed}, not {seed}")
        steps = sc.steps - m.world.step if steps is None else int(steps)
        if steps < 0:
            raise ValueError(f"{state} is at step {m.world.step}, after {sc.name}'s end")
    start = m.world.step
    m.run(steps)
    meta = provenance(sc, m.seed, m.world.step)
    if state is not None:
        meta["from_state"] = {**state_info(state),
                              "params_changed": m.restored_from["params_changed"]}
        meta["steps_run"] = m.world.step - start
    return Outcomes(cities=m.cities_frame(), region=m.region_frame(), flows=m.flows_frames(),
                    metadata=meta, model=m if keep_model else None)


def state_name(seed: int) -> str:
    """The file name of a seed's state in a folder of states: ``seed-<seed>.npz``."""
    return f"seed-{int(seed)}.npz"


def save_state_job(args: tuple) -> str:
    """Run ``(scenario, seed, steps, path)`` from the start and save its state (a worker job)."""
    sc, seed, steps, path = args
    m = InnovationModel(sc, seed=seed, collect_agents=False)
    m.run(steps)
    return str(m.save(path))


def write_state(model: InnovationModel, directory: str | Path) -> Path:
    """Save ``model``'s state into a folder of states as ``seed-<seed>.npz``.

    The folder is an output like any other (:mod:`experiments.running.output`): new, empty or
    ours. Each seed's file is its own kind of output, so the states of other seeds
    written earlier stay and the same seed's is replaced.
    """
    name = state_name(model.seed)
    with output_dir(directory, f"state {name}", flag="--save-state") as tmp:
        model.save(tmp / name)
    return Path(directory) / name


def save_states(scenario: Scenario, seeds: list[int], steps: int, directory: str | Path,
                jobs: int = 1) -> list[Path]:
    """Run ``scenario`` for every seed from the start and save each state into ``directory``.

    Runs go to ``jobs`` worker processes; their states are written into a scratch folder
    beside ``directory`` and then moved in one seed at one time, as :func:`write_state`
    does (an interruption leaves the states already moved, each one whole).
    """
    target = Path(directory).resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.states-", dir=target.parent))
    except OSError as e:
        raise OutputError(f"--save-state {directory}: cannot be written ({e.strerror})") from None
    try:
        args = [(scenario, s, steps, scratch / state_name(s)) for s in seeds]
        if jobs > 1:
            with process_pool(jobs) as ex:
                list(ex.map(save_state_job, args))
        else:
            for a in args:
                save_state_job(a)
        out = []
        for s in seeds:
            name = state_name(s)
            with output_dir(directory, f"state {name}", flag="--save-state") as tmp:
                os.replace(scratch / name, tmp / name)
            out.append(Path(directory) / name)
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes started by a fork server.

    Forking a process that has threads (BLAS, pytest, a notebook kernel) can deadlock;
    the fork server starts workers from a clean single-threaded process. Every worker
    ends when this process ends, even by SIGKILL (:func:`experiments.running.lifetime.worker_init`),
    and sees this process's run-cache settings as they are when the pool is made.
    """
    ctx = mp.get_context("forkserver")
    # workers fork from a server that has the model imported already: fast start-up
    ctx.set_forkserver_preload(["experiments.running.lifetime", "experiments.running.sweep",
                                "experiments.analysis.compare", "model.model"])
    # and they end when this process ends, however it ends (experiments.running.lifetime)
    env = {k: os.environ.get(k) for k in (ENV_DIR, ENV_MAX_GB)}
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=worker_init,
                               initargs=(os.getpid(), env))


def write_outputs(out: Outcomes, directory: str | Path, figures: bool = False) -> Path:
    """Write the output contract into ``directory``.

    See :func:`experiments.running.output.output_dir`.
    """
    with output_dir(directory, "run") as tmp:
        out.cities.to_csv(tmp / "cities.csv", index=False)
        out.region.to_csv(tmp / "region.csv", index=False)
        try:
            out.cities.to_parquet(tmp / "cities.parquet", index=False)
            out.region.to_parquet(tmp / "region.parquet", index=False)
        except ImportError:
            pass
        (tmp / "flows").mkdir()
        for name, df in out.flows.items():
            df.to_csv(tmp / "flows" / f"{name}.csv")
        (tmp / "metadata.json").write_text(json.dumps(out.metadata, indent=2, default=str))
        if figures:
            from experiments.presentation.figures import baseline_figures

            baseline_figures(out, tmp / "figures")
    return Path(directory)
