"""The ``innogrid`` command line.

Bad input (scenario files, options, output directories) ends with one line naming the
file, key, value and what is allowed, exit status 2, and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from experiments.presentation.numbers import human, index_summary
from model.params import ParamError
from model.scenario import (
    RUN_KEYS,
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
    read_toml,
    shown,
)
from model.state import StateError, check_branch, read_header

__all__ = ["main"]

EXAMPLES = {
    "run": "examples: innogrid run scenarios/yrd_baseline.toml --seed 7 --steps 84 "
           "--out results/base --figures;   innogrid run yrd_calibrated.toml --until 2021 "
           "--seeds 16 --save-state states/yrd2021 --jobs 2   (one state per seed);   "
           "innogrid run hefei_push.toml --from states/yrd2021 --seed SEED --until 2035",
    "scenarios": "example: innogrid scenarios",
    "compare": "examples: innogrid compare yrd_calibrated.toml hefei_push.toml free_flow.toml "
               "--seeds 20 --out results/compare;   innogrid compare yrd_calibrated.toml "
               "hefei_push.toml --from states/yrd2021 --until 2035 --jobs 2",
}


def _int_in(lo: int, hi: int):
    """An argparse type: an integer in ``[lo, hi]`` (the same ranges as the files' keys)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not an integer; an integer "
                                             f"in [{lo:,}, {hi:,}] is required") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{shown(v)} is outside [{lo:,}, {hi:,}]")
        return v

    parse.__name__ = "integer"
    return parse


SEED = _int_in(*RUN_KEYS["seed"][1:])    # as run.seed and root_seed in files: [0, 2**63 - 1]
STEPS = _int_in(*RUN_KEYS["steps"][1:])  # as run.steps and steps in files: [1, 10,000]
REPLICATES = _int_in(1, 10_000)          # as replicates in a spec
JOBS = _int_in(1, 1024)                  # worker processes
RETRIES = _int_in(0, 100)
RESAMPLES = _int_in(1, 100_000)          # bootstrap resamples
PORT = _int_in(1, 65_535)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (exit status 2), as every other error."""

    def error(self, message: str):
        """Print one line naming the command and the problem, and exit with status 2."""
        line = f"{self.prog}: error: {message}; see '{self.prog} --help'"
        self.exit(2, line.replace("\n", " ") + "\n")


def _year(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a calendar year") from None
    if not 1900 <= v <= 2200:
        raise argparse.ArgumentTypeError(f"{v}: a calendar year in [1900, 2200] is required")
    return v


def _version() -> str:
    """``innogrid VERSION (model code HASH)``: what every output's metadata records too."""
    from importlib import metadata

    from model.state import code_version
    try:
        v = metadata.version("innogrid")
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        v = "unknown"
    return f"innogrid {v} (model code {code_version()[:12]})"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="innogrid", description="City innovation systems: an agent-based model "
                "of how cities' innovation capacity grows, ranks into tiers and spills over.",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="examples:\n"
                       "  innogrid run yrd_calibrated.toml --out results/base\n"
                       "  innogrid report results/base\n"
                       "  innogrid compare yrd_calibrated.toml hefei_push.toml "
                       "--seeds 20 --jobs 2\n"
                       "  innogrid sensitivity experiments/specs/yrd_morris.toml --jobs 2\n"
                       "  innogrid viz yrd_calibrated.toml\n"
                       "'innogrid COMMAND --help' shows each command's options and an example.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one scenario and write the output contract",
                       epilog=EXAMPLES["run"])
    r.add_argument("scenario", help="scenario TOML file (path, or a name in scenarios/)")
    r.add_argument("--seed", type=SEED, help="root seed, 0 to 2**63-1 (default: the "
                   "scenario's run.seed; with --from a folder: which seed's state)")
    span = r.add_mutually_exclusive_group()
    span.add_argument("--steps", type=STEPS,
                      help="quarters to run, 1 to 10,000 (default: up to run.steps)")
    span.add_argument("--until", type=_year, metavar="YEAR",
                      help="run through the end of YEAR (from a 2001 start, 2021 is step 84)")
    r.add_argument("--out", default=None, help="output directory (default: results/<scenario>)")
    r.add_argument("--figures", action="store_true", help="also write PNG figures")
    r.add_argument("--from", dest="from_state", metavar="STATE",
                   help="continue a saved state (a state file, or a folder of states with "
                        "--seed) under this scenario: its parameters and rules apply from the "
                        "saved step on; the tables include the saved steps")
    r.add_argument("--save-state", metavar="DIR",
                   help="also save the final state into the folder DIR as seed-<seed>.npz (a "
                        "folder of states, one per seed, for --from)")
    r.add_argument("--seeds", type=REPLICATES, metavar="N",
                   help="with --save-state: run N replicate seeds (SeedSequence(--root-seed)."
                        "spawn(N), as compare) and write only their states")
    r.add_argument("--root-seed", type=SEED, default=None,
                   help="root of the --seeds replicate seeds (20260101)")
    r.add_argument("--jobs", type=JOBS, default=1,
                   help="worker processes for --seeds, 1 to 1,024 (1)")
    sub.add_parser("scenarios", help="list the shipped scenarios", epilog=EXAMPLES["scenarios"])
    c = sub.add_parser("compare", help="compare scenarios against a base over common seeds",
                       epilog=EXAMPLES["compare"])
    c.add_argument("base", help="the base scenario")
    c.add_argument("others", nargs="+", help="scenarios to compare with the base")
    c.add_argument("--seeds", type=REPLICATES, default=None,
                   help="replicates per scenario, 1 to 10,000 (20)")
    c.add_argument("--root-seed", type=SEED, default=None,
                   help="root of the replicate seeds (SeedSequence(root).spawn(N); 20260101)")
    c.add_argument("--posterior", metavar="DIR",
                   help="run every scenario under parameter sets drawn from the posterior in "
                        "DIR (written by innogrid calibrate with a posterior spec) and report "
                        "each claim's probability")
    c.add_argument("--draws", type=REPLICATES, default=None,
                   help="with --posterior: parameter sets drawn by weight, 1 to 10,000 (20)")
    cspan = c.add_mutually_exclusive_group()
    cspan.add_argument("--steps", type=STEPS,
                       help="quarters, 1 to 10,000 (default: each scenario's run.steps)")
    cspan.add_argument("--until", type=_year, metavar="YEAR",
                       help="run through the end of YEAR (from a 2001 start, 2035 is step 140)")
    c.add_argument("--from", dest="from_states", nargs="+", metavar="STATE",
                   help="start every scenario from these saved states, one per seed (a folder "
                        "of states, or state files); their seeds replace --seeds")
    c.add_argument("--jobs", type=JOBS, default=1, help="worker processes, 1 to 1,024 (1)")
    c.add_argument("--out", default="results/compare", help="output directory")
    w = sub.add_parser("sweep", help="run an experiment spec into a resumable results store",
                       epilog="example: innogrid sweep experiments/specs/yrd_grid.toml "
                              "--backend processes --jobs 2 --out results/sweeps/yrd_grid   "
                              "(re-run the same command to resume; --backend dask "
                              "--scheduler tcp://host:8786 for a cluster)")
    w.add_argument("spec", help="experiment spec (TOML; see experiments/README.md); "
                                "series = [\"mean_index\", ...] records those region measures "
                                "at every step of every run")
    w.add_argument("--out", default=None, help="results store (default: results/sweeps/<name>)")
    w.add_argument("--backend", choices=("serial", "processes", "dask"), default="processes",
                   help="serial, local worker processes (default) or a Dask cluster")
    w.add_argument("--jobs", type=JOBS, default=None,
                   help="workers for processes or a local Dask cluster, 1 to 1,024 "
                        "(default: all cores)")
    w.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (default: a LocalCluster on 127.0.0.1)")
    w.add_argument("--retries", type=RETRIES, default=2,
                   help="retries of a run whose worker died (2)")
    w.add_argument("--retry-failed", action="store_true",
                   help="also re-run runs recorded as failed")
    w.add_argument("--no-progress", action="store_true", help="no progress (bar or lines)")
    g = sub.add_parser("sensitivity", help="global sensitivity analysis (Sobol, Morris, PAWN)",
                       epilog="example: innogrid sensitivity experiments/specs/yrd_morris.toml "
                              "--jobs 2 --out results/sensitivity/yrd_morris   (re-run to "
                              "resume). Your own sample: the spec key sample = \"FILE.csv\" "
                              "(a column per parameter, named as in [params]); pawn takes any "
                              "sample, sobol and morris only one with their structure "
                              "(checked). A SALib problem: the spec key problem = "
                              "\"FILE.json\" (names, bounds) instead of [params]. See "
                              "experiments/README.md")
    g.add_argument("spec", help="experiment spec with design.kind = sobol, morris or pawn "
                                "(keys sample and problem: see below)")
    g.add_argument("--out", default=None,
                   help="output directory (default: results/sensitivity/<name>)")
    g.add_argument("--backend", choices=("serial", "processes", "dask"), default="processes")
    g.add_argument("--jobs", type=JOBS, default=None,
                   help="workers, 1 to 1,024 (default: all cores)")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address")
    g.add_argument("--retries", type=RETRIES, default=2,
                   help="retries of a run whose worker died (2)")
    g.add_argument("--resamples", type=RESAMPLES, default=1000,
                   help="bootstrap resamples for the intervals, 1 to 100,000 (1000)")
    g.add_argument("--no-progress", action="store_true", help="no progress (bar or lines)")
    o = sub.add_parser("report", help="write one self-contained HTML report of a results dir",
                       epilog="example: innogrid report results/base   (a run, a comparison, "
                              "a sensitivity analysis, a projection or a sweep store, with its "
                              "series if the spec recorded any; writes results/base/report.html "
                              "and the PNGs in results/base/report_figures/)")
    o.add_argument("results", help="a directory written by run, compare, sensitivity or "
                                   "the projections, or a sweep store")
    o.add_argument("--out", default=None, help="HTML file (default: RESULTS/report.html)")
    v = sub.add_parser("viz", help="serve the interactive dashboard on 127.0.0.1",
                       epilog="example: innogrid viz yrd_calibrated.toml --port 8765   "
                              "(then open http://127.0.0.1:8765; works offline)")
    v.add_argument("scenario", nargs="?", default="yrd_calibrated.toml",
                   help="scenario to explore (default: yrd_calibrated.toml)")
    v.add_argument("--port", type=PORT, default=8765,
                   help="port on 127.0.0.1, 1 to 65,535 (8765)")
    k = sub.add_parser("calibrate", help="calibrate the historical YRD run: a posterior by "
                       "ABC-SMC (a spec with [prior]) or the older point search",
                       epilog="example: innogrid calibrate experiments/yrd_posterior.toml "
                              "--jobs 2   (re-run the same command to resume after a stop; "
                              "--backend dask [--scheduler tcp://host:8786] for a cluster)")
    k.add_argument("spec", help="calibration spec (TOML)")
    k.add_argument("--jobs", type=JOBS, default=1, help="worker processes, 1 to 1,024 (1)")
    k.add_argument("--backend", choices=("processes", "dask"), default="processes",
                   help="local worker processes (default) or a Dask cluster (posterior only)")
    k.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (default: a LocalCluster on 127.0.0.1)")
    k.add_argument("--report-only", action="store_true",
                   help="posterior only: rewrite the outputs (tables, figures, record) from "
                        "the database already in the output folder, sampling nothing")
    return p


def _summary(out, elapsed: float) -> str:
    region, cities = out.region, out.cities
    last_step = int(cities["step"].max())
    last = cities[cities["step"] == last_step].sort_values("rank")
    fin = region.iloc[-1]
    lines = [
        f"innogrid: {out.metadata['scenario']['name']}  seed {out.metadata['seed']}  "
        f"{last_step} quarters to {fin['year']:.2f}  ({elapsed:.2f} s)",
        f"  mean index {index_summary(region['step'], region['mean_index'])}",
        f"  CV {human(fin['cv'])}   Gini {human(fin['gini'])}   Moran's I "
        f"{human(fin['morans_i'])}   spillover share {human(fin['spillover_share'])}",
        f"  collaborative index {human(fin['collab_index'])} (2011 = 100)   firms alive "
        f"{human(int(fin['firms_alive']))}",
    ]
    for t in (1, 2, 3, 4):
        names = last[last["tier"] == t]["city"].tolist()
        shown = ", ".join(names[:12]) + (f", ... (+{len(names) - 12})" if len(names) > 12 else "")
        lines.append(f"  tier {t} ({len(names)}): {shown}")
    return "\n".join(lines)


ROOT_SEED = 20260101
STATES_ALLOWED = "a state file, or a folder of them (innogrid run ... --save-state DIR)"


def _state_files(paths: list[str]) -> list[Path]:
    """State files as given, and the ``*.npz`` files of the folders given (sorted)."""
    out = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found = sorted(p.glob("*.npz"))
            if not found:
                raise StateError(text, "a folder with no state file (*.npz) in it", STATES_ALLOWED)
            out += found
        else:
            out.append(p)
    return out


def _read_states(paths: list[str]) -> list[tuple[Path, dict]]:
    """The checked headers of the states named: one per seed, all at one step."""
    states = [(p, read_header(p)) for p in _state_files(paths)]
    seen: dict[int, Path] = {}
    for p, h in states:
        if h["seed"] in seen:
            raise StateError(str(p), f"a second state of seed {h['seed']} (after "
                             f"{seen[h['seed']]})", "one state per seed")
        seen[h["seed"]] = p
    steps = sorted({h["step"] for _, h in states})
    if len(steps) > 1:
        raise StateError(" ".join(paths), f"states saved at different steps {steps}",
                         "states saved at one step (the branching point)")
    return states


def _pick_state(path: str, seed: int | None) -> tuple[Path, dict]:
    """The one state ``run --from`` continues: a file, or a folder's state of ``seed``."""
    states = [(p, read_header(p)) for p in _state_files([path])]
    if seed is not None:
        states = [(p, h) for p, h in states if h["seed"] == seed] or states
        if states[0][1]["seed"] != seed:
            raise StateError(path, f"no state of seed {seed} (it has seeds "
                             f"{sorted(h['seed'] for _, h in states)})",
                             "--seed naming one of the states' seeds, or no --seed")
    if len(states) > 1:
        raise StateError(path, f"a folder of {len(states)} states (seeds "
                         f"{sorted(h['seed'] for _, h in states)})", "--seed choosing one of them")
    return states[0]


def _last_step(sc, start: int, steps: int | None, until: int | None, file: str) -> int:
    """The last step of a run from ``start``: by --until, --steps or the scenario's run.steps."""
    from model.model import last_step

    if until is not None:
        end, key, value = last_step(sc.params.start_year, until), "--until", until
    elif steps is not None:
        end, key, value = start + steps, "--steps", steps
    else:
        end, key, value = sc.steps, "run.steps", sc.steps
    if end <= start:
        year = sc.params.start_year + start / 4
        raise ScenarioError(file, key, value, f"an end after the start of the run (step {start}, "
                            f"{year:g}); give --until YEAR or --steps N")
    return end


def _rule_span(r) -> str:
    lo = "start" if r.from_year < -1e8 else f"{r.from_year:g}"
    hi = "on" if r.until_year > 1e8 else f"{r.until_year:g}"
    return f"{lo} to {hi}"


def _warn_idle(sc, first: int, last: int, header: dict | None = None) -> None:
    """Say on stderr which rules are never in force in the steps ``first .. last - 1``.

    A branch (``header`` of the saved state it continues) does not warn of a rule the
    saved history also had and that was in force in its steps ``0 .. first - 1``: it
    acted there (the 2001-2021 rules of a 2022-2035 branch). A rule of the branch alone
    that ended before the branching point still warns: it never acts.
    """
    from model.state import saved_scenario

    idle = sc.idle_rules(first, last)
    if idle and header is not None and first > 0:
        hist = saved_scenario(header, sc.file)
        off = set(hist.idle_rules(0, first))
        acted = [r for k, r in enumerate(hist.rules) if k not in off]
        idle = [k for k in idle if sc.rules[k] not in acted]
    if not idle:
        return
    y = sc.params.start_year
    shown = ", ".join(f"rule[{k}] ({_rule_span(sc.rules[k])})" for k in idle[:6])
    more = f", ... (+{len(idle) - 6})" if len(idle) > 6 else ""
    print(f"innogrid: warning: {sc.file}: {len(idle)} of {len(sc.rules)} rules are never in force "
          f"in this run ({y + first / 4:g} to {y + last / 4:g}): {shown}{more}", file=sys.stderr)


def _note_params(sc, changed: dict, header: dict) -> None:
    if changed:
        text = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items())
        print(f"innogrid: note: {sc.file}: parameters that differ from the state's apply from "
              f"{header['year']:g} on: {text}", file=sys.stderr)


def _cmd_run(args) -> int:
    from experiments.running.run import (
        check_output_dir,
        run,
        state_name,
        write_outputs,
        write_state,
    )

    sc = load_scenario(args.scenario)
    if args.seeds is not None:
        return _run_seeds(args, sc)
    jobs = None if args.jobs == 1 else args.jobs
    for flag, v in (("--root-seed", args.root_seed), ("--jobs", jobs)):
        if v is not None:
            raise ScenarioError(args.scenario, flag, v, "only with --seeds")
    if args.out is None and sc.name in ("", ".", ".."):
        raise ScenarioError(args.scenario, "(file name)", sc.name,
                            "a scenario file name that can name a folder, or give --out")
    out_dir = check_output_dir(Path(args.out) if args.out else Path("results") / sc.name)
    state, start = None, 0
    if args.from_state:
        state, header = _pick_state(args.from_state, args.seed)
        changed = check_branch(header, sc, str(state))
        start = header["step"]
    end = _last_step(sc, start, args.steps, args.until, args.scenario)
    if args.save_state:
        check_output_dir(args.save_state, "--save-state")
    _warn_idle(sc, start, end, header if state is not None else None)
    if state is not None:
        _note_params(sc, changed, header)
    t0 = time.perf_counter()
    out = run(sc, seed=None if state else args.seed, steps=end - start, state=state,
              keep_model=bool(args.save_state))
    elapsed = time.perf_counter() - t0
    if args.save_state:
        out.metadata["state_saved"] = str(Path(args.save_state) / state_name(out.model.seed))
        write_state(out.model, args.save_state)
    write_outputs(out, out_dir, figures=args.figures)
    print(_summary(out, elapsed))
    if state is not None:
        print(f"  continued {state} (seed {header['seed']}, saved at step {start}, "
              f"{header['year']:g}, scenario {header['scenario']['name']})")
    print(f"  wrote {out_dir}/ (cities.csv, region.csv, flows/, metadata.json"
          f"{', figures/' if args.figures else ''})"
          + (f" and {out.metadata['state_saved']}" if args.save_state else ""))
    return 0


def _run_seeds(args, sc) -> int:
    """``run --seeds N --save-state DIR``: one state per replicate seed, nothing else."""
    from experiments.analysis.compare import replicate_seeds
    from experiments.running.run import check_output_dir, save_states, state_name

    if not args.save_state:
        raise ScenarioError(args.scenario, "--seeds", args.seeds,
                            "only with --save-state DIR (it writes one state per seed)")
    for flag, v in (("--out", args.out), ("--figures", args.figures or None),
                    ("--seed", args.seed), ("--from", args.from_state)):
        if v is not None:
            raise ScenarioError(args.scenario, flag, v, "not with --seeds (it writes only the "
                                "states; continue one with run --from DIR --seed SEED)")
    root = ROOT_SEED if args.root_seed is None else args.root_seed
    end = _last_step(sc, 0, args.steps, args.until, args.scenario)
    check_output_dir(args.save_state, "--save-state")
    _warn_idle(sc, 0, end)
    seeds = replicate_seeds(root, args.seeds)
    t0 = time.perf_counter()
    save_states(sc, seeds, end, args.save_state, args.jobs)
    year = sc.params.start_year + end / 4
    print(f"innogrid run: {sc.name}, {len(seeds)} seeds from root {root}, {end} quarters to "
          f"{year:g} ({time.perf_counter() - t0:.1f} s)")
    names = ", ".join(state_name(s) for s in seeds[:2]) + (", ..." if len(seeds) > 2 else "")
    print(f"  wrote {args.save_state}/ ({names}: one state per seed, for --from)")
    return 0


def _cmd_compare(args) -> int:
    from experiments.analysis.compare import SHOWN_MEASURES, run_compare, write_comparison
    from experiments.running.memory import check_memory
    from experiments.running.run import check_output_dir

    # validate every file and the target before any run
    scs = [load_scenario(p) for p in (args.base, *args.others)]
    states, start = None, 0
    if args.from_states:
        for flag, v in (("--seeds", args.seeds), ("--root-seed", args.root_seed)):
            if v is not None:
                raise ScenarioError(args.base, flag, v, "not with --from (the states' seeds are "
                                    "the seeds)")
        found = _read_states(args.from_states)
        states = [str(p) for p, _ in found]
        start = found[0][1]["step"]
        for sc in scs:
            changed = {}
            for p, h in found:
                changed = check_branch(h, sc, str(p))
            _note_params(sc, changed, found[0][1])
    draws = None
    if args.draws is not None and not args.posterior:
        raise ScenarioError(args.base, "--draws", args.draws, "only with --posterior")
    if args.posterior:
        from experiments.inference.posterior import posterior_draws

        if args.from_states:
            raise ScenarioError(args.base, "--posterior", args.posterior,
                                "not with --from (a saved state carries its own parameters)")
        draws = posterior_draws(args.posterior, 20 if args.draws is None else args.draws,
                                ROOT_SEED if args.root_seed is None else args.root_seed)
        for sc in scs:  # every draw is valid in every scenario, before any run
            for d in draws:
                sc.with_overrides(params=d)
    seeds = (4 if draws else 20) if args.seeds is None else args.seeds
    root = ROOT_SEED if args.root_seed is None else args.root_seed
    steps = None
    if args.until is not None or args.steps is not None:
        steps = _last_step(scs[0], start, args.steps, args.until, args.base) - start
    for sc in scs:
        check_memory(sc, start + steps if steps else None)  # the size too, before any run
    check_output_dir(args.out)  # errors before warnings
    for sc, p in zip(scs, (args.base, *args.others), strict=True):
        _warn_idle(sc, start, start + steps if steps else _last_step(sc, start, None, None, p),
                   found[0][1] if states else None)
    t0 = time.perf_counter()
    runs, summary, meta = run_compare(args.base, args.others, seeds, root, steps, args.jobs,
                                      states=states, draws=draws)
    post = None
    if draws:
        from experiments.analysis.compare import expectations, summarise_posterior

        post = summarise_posterior(runs, expectations(args.others))
        meta["posterior"] = str(args.posterior)
    write_comparison(runs, summary, meta, args.out, posterior=post)
    if states:
        y = scs[0].params.start_year
        print(f"innogrid compare: base {args.base}, {len(states)} saved states (seeds "
              f"{', '.join(str(s) for s in meta['seeds'])}) at {y + start / 4:g}, continued "
              f"to {y + meta['steps'] / 4:g} ({time.perf_counter() - t0:.1f} s)")
    elif draws:
        print(f"innogrid compare: base {args.base}, {len(draws)} posterior draws from "
              f"{args.posterior} x {seeds} common seeds from root {root} "
              f"({time.perf_counter() - t0:.1f} s)")
        for r in post[post["expected"] != ""].itertuples():
            print(f"  {r.comparison}: claim {r.measure} {r.expected}: holds in "
                  f"{r.probability:.0%} of the posterior draws (effect averaged over "
                  f"{r.seeds_per_draw} seeds; in {r.probability_runs:.0%} of single runs); "
                  f"effect {human(r.effect_mean, sign=True)}, 90% of draws in "
                  f"[{human(r.effect_q_low, sign=True)}, "
                  f"{human(r.effect_q_high, sign=True)}]")
    else:
        print(f"innogrid compare: base {args.base}, {seeds} common seeds from root "
              f"{root} ({time.perf_counter() - t0:.1f} s)")
    shown = summary[summary["measure"].isin(SHOWN_MEASURES) | (summary["expected"] != "")]
    if draws:
        # pooled runs mix the parameter uncertainty into a seed-noise interval: they give
        # the posterior-mean effect, not a verdict on the claim (the probabilities above)
        print(f"  the posterior-mean effect, pooled over {len(draws)} draws x {seeds} seeds "
              "(its 95% interval is of that mean; whether a claim holds is the probability "
              "above):")
    for comp, g in shown.groupby("comparison", sort=False):
        print(f"  {comp} - base:")
        for r in g.itertuples():
            if np.isnan(r.diff):
                continue
            flag = " *" if r.beyond_noise else ""
            if r.expected:
                flag += (f"   claim: {r.expected}" if draws
                         else f"   claim: {r.expected}, {r.verdict}")
            ci = (f"[{human(r.ci_low, sign=True)}, {human(r.ci_high, sign=True)}]"
                  if r.n_seeds > 1 else "(no interval from 1 seed)")
            print(f"    {r.measure:24s} {human(r.diff, sign=True):>12}  {ci}{flag}")
    extra = ", posterior.csv" if draws else ""
    print(f"  (* = 95% interval excludes 0; claim = the scenario's [expect])  wrote {args.out}/ "
          f"(compare.csv, runs.csv, compare.png, metadata.json{extra})")
    return 0


def _cmd_posterior(args) -> int:
    from experiments.inference.posterior import load_posterior_spec, run_posterior

    spec = load_posterior_spec(args.spec)
    if args.backend != "dask" and args.scheduler:
        raise ScenarioError(args.spec, "--scheduler", args.scheduler, "only with --backend dask")
    print(f"innogrid calibrate: ABC-SMC posterior of {len(spec.priors)} parameters against "
          f"{len(spec.fit)} fitted statistics ({len(spec.held_out)} held out); "
          f"{spec.population:,} particles, up to {spec.generations} generations, "
          f"{spec.max_simulations:,} simulations or {spec.max_minutes:g} min", flush=True)
    rec = run_posterior(spec, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                        progress=lambda s: print(f"  {s}", flush=True),
                        report_only=args.report_only)
    print(f"  {rec['generations']} generations, {rec['simulations']:,} simulations, "
          f"{rec['particles']:,} particles (effective sample size {human(rec['ess'])}), final "
          f"tolerance {human(rec['epsilon'][-1])}")
    for k, v in rec["statistics"].items():
        if v["role"] in ("fit", "held_out"):
            print(f"  {v['role']:>8} {k:<24} fact {human(v['observed']):>8}  posterior "
                  f"predictive {human(v['median'])} [{human(v['q05'])}, {human(v['q95'])}]")
    print(f"  wrote {spec.output} (particles.csv, predictive.csv, generations.csv, "
          "posterior.json, posterior_marginals.png, posterior_predictive.png)")
    return 0


def _cmd_calibrate(args) -> int:
    from experiments.inference.calibrate import calibrate, load_spec

    if "prior" in read_toml(args.spec):
        return _cmd_posterior(args)
    if args.report_only:
        raise ScenarioError(args.spec, "--report-only", True, "only with a posterior spec "
                            "(one with [prior] tables)")
    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    cands = (f"the {spec.samples} particles of {spec.posterior} closest to the facts"
             if spec.posterior else f"{spec.samples} points + the base")
    print(f"innogrid calibrate: {len(spec.free)} free parameters, {cands}, "
          f"{spec.seeds} seeds each; the best {spec.finalists} raced on "
          f"{spec.finalist_seeds} new seeds; validation on {spec.validation_seeds} fresh seeds")
    rec = calibrate(spec, jobs=args.jobs)
    v = rec["validation"]["facts_mean"]
    print(f"  best point {rec['best']['index']} (loss {rec['best']['loss']:.3f}"
          f"{', the base itself' if rec['best']['is_base'] else ''}): {rec['best']['params']}")
    print(f"  validation over {spec.validation_seeds} seeds: Shanghai alone in tier 1 "
          f"{v['shanghai_alone']:.0%}, named cities in their tier {v['named_hits']:.2f}/11, "
          f"Hefei in tier 2 {v['hefei_tier2']:.0%}, tiers 2/3/4 {v['tier_2']:.1f} / "
          f"{v['tier_3']:.1f} / {v['tier_4']:.1f}, GDP-share error "
          f"{v.get('gdp_share_male', float('nan')):.3f}, index growth "
          f"{np.exp(v.get('log_index_growth', float('nan'))):.0f}x, collaborative index "
          f"{v.get('collab_index', float('nan')):.0f}, R&D "
          f"{np.exp(v.get('log_rd_intensity_2021', float('nan'))):.2%} of GDP, real output "
          f"{np.exp(v.get('log_real_gdp_growth', float('nan'))):.2f}-fold 2001-2021")
    print(f"  accepted set (finalists meeting every target): {len(rec['accepted'])} of "
          f"{len(rec['finalists'])}")
    print(f"  targets met: {rec['met']}  ({time.perf_counter() - t0:.0f} s)")
    print(f"  wrote {spec.output} and its .json record")
    return 0


def _run_options(args) -> dict:
    """Backend options shared by ``sweep`` and ``sensitivity`` (checked before any run)."""
    if args.backend != "dask" and args.scheduler:
        raise ScenarioError(args.spec, "--scheduler", args.scheduler,
                            "only with --backend dask")
    opts = {"backend": args.backend, "progress": False if args.no_progress else None,
            "jobs": args.jobs, "retries": args.retries}
    if args.backend == "dask":
        opts["scheduler"] = args.scheduler
    return opts


def _cmd_sweep(args) -> int:
    from experiments.running.sweep import load_spec, make_tasks, sweep, trial

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / "sweeps" / spec.name
    opts = _run_options(args)
    trial(spec)
    n = len(make_tasks(spec))
    t0 = time.perf_counter()
    res = sweep(spec, out, retry_failed=args.retry_failed, **opts)
    ok = int((res["status"] == "ok").sum()) if len(res) else 0
    failed = res[res["status"] != "ok"] if len(res) else res
    print(f"innogrid sweep: {spec.name}: {n} runs ({spec.design} design, {spec.replicates} "
          f"replicates, root seed {spec.root_seed}), {ok} ok, {len(failed)} failed, "
          f"{time.perf_counter() - t0:.1f} s on {args.backend}")
    for r in failed.head(5).itertuples():
        print(f"  failed: point {r.point} replicate {r.replicate} seed {r.seed}: {r.error}")
    series = (", series/*.parquet (load_series)") if spec.series else ""
    print(f"  wrote {out}/ (manifest.json, results/*.parquet{series}); load with "
          "experiments.running.sweep.load_results")
    return 0


def _cmd_sensitivity(args) -> int:
    from experiments.analysis.sensitivity import sensitivity
    from experiments.running.sweep import load_spec, trial

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / "sensitivity" / spec.name
    opts = _run_options(args)
    trial(spec)
    t0 = time.perf_counter()
    res = sensitivity(spec, out, outcomes=spec.outcomes or None, num_resamples=args.resamples,
                      **opts)
    rep, tab = res["report"], res["indices"]
    own = f" (user sample {spec.sample_source})" if spec.sample else ""
    print(f"innogrid sensitivity: {spec.name}: {rep['method']}, {rep['sample_points']} points"
          f"{own} x {rep['replicates']} replicates = {rep['runs']} runs "
          f"({time.perf_counter() - t0:.0f} s)")
    head = {"sobol": "ST", "morris": "mu_star", "pawn": "median"}[rep["method"]]
    for n in rep["noise"]:
        t = tab[(tab["outcome"] == n["outcome"]) & (tab["index"] == head)].sort_values(
            "value", ascending=False)
        top = ", ".join(f"{r.param} {human(r.value)} [{human(r.conf_low)}, "
                        f"{human(r.conf_high)}]" for r in t.head(4).itertuples())
        share = n["noise_share"]
        noise = "unknown (1 replicate)" if share != share else f"{share:.2%}"
        print(f"  {n['outcome']}: {head} {top}; seed noise {noise} of the variance")
    print(f"  wrote {out}/ (indices.csv, noise.csv, {rep['figure']}, report.json, runs/)")
    return 0


def viz_command(scenario: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard offline.

    A session whose page went away without saying so (a browser killed, a lost
    connection) ends after ``SOLARA_KERNEL_CULL_TIMEOUT`` (30 s unless set): its model
    stops then.
    """
    import os

    import experiments.presentation.dashboard_path as dp

    env = {"SOLARA_KERNEL_CULL_TIMEOUT": "30s", **os.environ, "INNOGRID_VIZ_SCENARIO": scenario,
           "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    solara = str(Path(sys.executable).with_name("solara"))
    return [solara, "run", str(dp.DASHBOARD), "--host", "127.0.0.1", "--port", str(port),
            "--production", "--no-open"], env


def port_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why the server could not listen on ``host:port``, or None if it can.

    Checked as the server binds, with ``SO_REUSEADDR`` (a port left in TIME_WAIT is free).
    """
    import errno
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return f"{host}:{port} is already in use (another server?); choose another port"
            if e.errno == errno.EACCES:
                return f"{host}:{port} needs privileges this user lacks; choose a port above 1023"
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


def _cmd_viz(args) -> int:
    from experiments.running.lifetime import call
    from experiments.running.memory import check_memory

    check_memory(load_scenario(args.scenario))  # a bad scenario ends here, with status 2
    if problem := port_problem(args.port):
        print(f"innogrid: error: --port {args.port}: {problem}", file=sys.stderr)
        return 2
    cmd, env = viz_command(args.scenario, args.port)
    print(f"innogrid viz: serving {args.scenario} on http://127.0.0.1:{args.port} (Ctrl-C stops)",
          flush=True)
    return call(cmd, env=env)  # the server goes with this process (Ctrl-C, SIGTERM, a kill)


def _cmd_report(args) -> int:
    from experiments.presentation.report import write_report
    from experiments.running.output import OutputError

    try:
        path = write_report(args.results, args.out)
    except (OutputError, ScenarioError):  # they name the file and key themselves
        raise
    except ValueError as e:
        raise ScenarioError(args.results, "RESULTS", args.results, str(e)) from None
    print(f"innogrid report: wrote {path} (self-contained; figures also beside it)")
    return 0


def _cmd_scenarios(args) -> int:
    groups = [("", sorted(SCENARIO_DIR.glob("*.toml"))),
              ("forward/", sorted((SCENARIO_DIR / "forward").glob("*.toml")))]
    for prefix, paths in groups:
        if prefix and paths:
            print(f"\n{prefix} (policies from 2022, to continue saved 2021 states with --from; "
                  "docs/PROJECTIONS.md):")
        for path in paths:
            name = prefix + path.stem
            try:
                sc = load_scenario(path)
                print(f"{name:32s} {sc.description}")
            except ScenarioError as e:
                print(f"{name:32s} INVALID: {e}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    from experiments.running.lifetime import Terminated, sigterm_interrupts
    from experiments.running.output import OutputError

    try:
        with sigterm_interrupts():  # SIGTERM stops a command as cleanly as Ctrl-C
            return {"run": _cmd_run, "scenarios": _cmd_scenarios,
                    "compare": _cmd_compare, "calibrate": _cmd_calibrate,
                    "sweep": _cmd_sweep, "sensitivity": _cmd_sensitivity,
                    "viz": _cmd_viz, "report": _cmd_report}[args.command](args)
    except (ScenarioError, ParamError, OutputError) as e:
        print(f"innogrid: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (innogrid scenarios | head -1): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as e:
        # a sweep says what it kept; other commands write their output only when complete
        print(f"innogrid: {e.args[0] if e.args else 'interrupted; nothing was written'}",
              file=sys.stderr)
        return 143 if isinstance(e, Terminated) or isinstance(e.__cause__, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
