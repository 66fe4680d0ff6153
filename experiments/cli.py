"""The ``innogrid`` command line.

Bad input (scenario files, options, output directories) ends with one line naming the
file, key, value and what is allowed, exit status 2, and no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from model.params import ParamError
from model.scenario import RUN_KEYS, SCENARIO_DIR, ScenarioError, load_scenario, shown

__all__ = ["main"]

EXAMPLES = {
    "run": "example: innogrid run scenarios/yrd_baseline.toml --seed 7 --steps 84 "
           "--out results/base --figures",
    "scenarios": "example: innogrid scenarios",
    "compare": "example: innogrid compare yrd_calibrated.toml hefei_push.toml free_flow.toml "
               "--seeds 20 --out results/compare",
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
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one scenario and write the output contract",
                       epilog=EXAMPLES["run"])
    r.add_argument("scenario", help="scenario TOML file (path, or a name in scenarios/)")
    r.add_argument("--seed", type=SEED,
                   help="root seed, 0 to 2**63-1 (default: the scenario's run.seed)")
    r.add_argument("--steps", type=STEPS, help="quarters to run, 1 to 10,000 (default: run.steps)")
    r.add_argument("--out", default=None, help="output directory (default: results/<scenario>)")
    r.add_argument("--figures", action="store_true", help="also write PNG figures")
    sub.add_parser("scenarios", help="list the shipped scenarios", epilog=EXAMPLES["scenarios"])
    c = sub.add_parser("compare", help="compare scenarios against a base over common seeds",
                       epilog=EXAMPLES["compare"])
    c.add_argument("base", help="the base scenario")
    c.add_argument("others", nargs="+", help="scenarios to compare with the base")
    c.add_argument("--seeds", type=REPLICATES, default=20,
                   help="replicates per scenario, 1 to 10,000 (20)")
    c.add_argument("--root-seed", type=SEED, default=20260101,
                   help="root of the replicate seeds (SeedSequence(root).spawn(N))")
    c.add_argument("--steps", type=STEPS,
                   help="quarters, 1 to 10,000 (default: each scenario's run.steps)")
    c.add_argument("--jobs", type=JOBS, default=1, help="worker processes, 1 to 1,024 (1)")
    c.add_argument("--out", default="results/compare", help="output directory")
    w = sub.add_parser("sweep", help="run an experiment spec into a resumable results store",
                       epilog="example: innogrid sweep experiments/specs/yrd_grid.toml "
                              "--backend processes --jobs 2 --out results/sweeps/yrd_grid   "
                              "(re-run the same command to resume; --backend dask "
                              "--scheduler tcp://host:8786 for a cluster)")
    w.add_argument("spec", help="experiment spec (TOML; see experiments/README.md)")
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
    w.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = sub.add_parser("sensitivity", help="global sensitivity analysis (Sobol, Morris, PAWN)",
                       epilog="example: innogrid sensitivity experiments/specs/yrd_morris.toml "
                              "--jobs 2 --out results/sensitivity/yrd_morris   (re-run to resume)")
    g.add_argument("spec", help="experiment spec with design.kind = sobol, morris or pawn")
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
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    o = sub.add_parser("report", help="write one self-contained HTML report of a results dir",
                       epilog="example: innogrid report results/base   (a run, a comparison "
                              "or a sensitivity analysis; writes results/base/report.html and "
                              "the PNGs in results/base/report_figures/)")
    o.add_argument("results", help="a directory written by run, compare or sensitivity")
    o.add_argument("--out", default=None, help="HTML file (default: RESULTS/report.html)")
    v = sub.add_parser("viz", help="serve the interactive dashboard on 127.0.0.1",
                       epilog="example: innogrid viz yrd_calibrated.toml --port 8765   "
                              "(then open http://127.0.0.1:8765; works offline)")
    v.add_argument("scenario", nargs="?", default="yrd_calibrated.toml",
                   help="scenario to explore (default: yrd_calibrated.toml)")
    v.add_argument("--port", type=PORT, default=8765,
                   help="port on 127.0.0.1, 1 to 65,535 (8765)")
    k = sub.add_parser("calibrate", help="calibrate the YRD baseline to the 2021 tier facts",
                       epilog="example: innogrid calibrate experiments/yrd_calibration.toml "
                              "--jobs 2")
    k.add_argument("spec", help="calibration spec (TOML)")
    k.add_argument("--jobs", type=JOBS, default=1, help="worker processes, 1 to 1,024 (1)")
    return p


def _summary(out, elapsed: float) -> str:
    region, cities = out.region, out.cities
    last_step = int(cities["step"].max())
    last = cities[cities["step"] == last_step].sort_values("rank")
    fin = region.iloc[-1]
    lines = [
        f"innogrid: {out.metadata['scenario']['name']}  seed {out.metadata['seed']}  "
        f"{last_step} quarters to {fin['year']:.2f}  ({elapsed:.2f} s)",
        f"  mean index {fin['mean_index']:.1f} "
        f"(after one year: {region['mean_index'].iloc[min(4, last_step)]:.1f})"
        f"   CV {fin['cv']:.2f}   Gini {fin['gini']:.2f}   Moran's I {fin['morans_i']:.2f}",
        f"  spillover share {fin['spillover_share']:.2f}   collaborative index "
        f"{fin['collab_index']:.0f}   firms alive {int(fin['firms_alive'])}",
    ]
    for t in (1, 2, 3, 4):
        names = last[last["tier"] == t]["city"].tolist()
        shown = ", ".join(names[:12]) + (f", ... (+{len(names) - 12})" if len(names) > 12 else "")
        lines.append(f"  tier {t} ({len(names)}): {shown}")
    return "\n".join(lines)


def _cmd_run(args) -> int:
    from experiments.run import check_output_dir, run, write_outputs

    sc = load_scenario(args.scenario)
    if args.out is None and sc.name in ("", ".", ".."):
        raise ScenarioError(args.scenario, "(file name)", sc.name,
                            "a scenario file name that can name a folder, or give --out")
    out_dir = check_output_dir(Path(args.out) if args.out else Path("results") / sc.name)
    t0 = time.perf_counter()
    out = run(sc, seed=args.seed, steps=args.steps)
    elapsed = time.perf_counter() - t0
    write_outputs(out, out_dir, figures=args.figures)
    print(_summary(out, elapsed))
    print(f"  wrote {out_dir}/ (cities.csv, region.csv, flows/, metadata.json"
          f"{', figures/' if args.figures else ''})")
    return 0


def _cmd_compare(args) -> int:
    from experiments.compare import SHOWN_MEASURES, run_compare, write_comparison
    from experiments.memory import check_memory
    from experiments.run import check_output_dir

    for p in (args.base, *args.others):
        check_memory(load_scenario(p), args.steps)  # every file, target and size before any run
    check_output_dir(args.out)
    t0 = time.perf_counter()
    runs, summary, meta = run_compare(args.base, args.others, args.seeds, args.root_seed,
                                      args.steps, args.jobs)
    write_comparison(runs, summary, meta, args.out)
    print(f"innogrid compare: base {args.base}, {args.seeds} common seeds from root "
          f"{args.root_seed} ({time.perf_counter() - t0:.1f} s)")
    shown = summary[summary["measure"].isin(SHOWN_MEASURES) | (summary["expected"] != "")]
    for comp, g in shown.groupby("comparison", sort=False):
        print(f"  {comp} - base:")
        for r in g.itertuples():
            if np.isnan(r.diff):
                continue
            flag = " *" if r.beyond_noise else ""
            if r.expected:
                flag += (f"   claim: {r.expected}, "
                         f"{'supported' if r.as_expected else 'NOT supported'}")
            print(f"    {r.measure:24s} {r.diff:+12.4g}  [{r.ci_low:+.4g}, {r.ci_high:+.4g}]{flag}")
    print(f"  (* = 95% interval excludes 0; claim = the scenario's [expect])  wrote {args.out}/ "
          "(compare.csv, runs.csv, compare.png, metadata.json)")
    return 0


def _cmd_calibrate(args) -> int:
    from experiments.calibrate import calibrate, load_spec

    spec = load_spec(args.spec)
    t0 = time.perf_counter()
    print(f"innogrid calibrate: {len(spec.free)} free parameters, {spec.samples} points + the "
          f"base, {spec.seeds} seeds each; the best {spec.finalists} raced on "
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
          f"{v.get('collab_index', float('nan')):.0f}")
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
    from experiments.sweep import load_spec, make_tasks, sweep, trial

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
    print(f"  wrote {out}/ (manifest.json, results/*.parquet); load with "
          "experiments.sweep.load_results")
    return 0


def _cmd_sensitivity(args) -> int:
    from experiments.sensitivity import sensitivity
    from experiments.sweep import load_spec, trial

    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / "sensitivity" / spec.name
    opts = _run_options(args)
    trial(spec)
    t0 = time.perf_counter()
    res = sensitivity(spec, out, outcomes=spec.outcomes or None, num_resamples=args.resamples,
                      **opts)
    rep, tab = res["report"], res["indices"]
    print(f"innogrid sensitivity: {spec.name}: {rep['method']}, {rep['sample_points']} points x "
          f"{rep['replicates']} replicates = {rep['runs']} runs "
          f"({time.perf_counter() - t0:.0f} s)")
    head = {"sobol": "ST", "morris": "mu_star", "pawn": "median"}[rep["method"]]
    for n in rep["noise"]:
        t = tab[(tab["outcome"] == n["outcome"]) & (tab["index"] == head)].sort_values(
            "value", ascending=False)
        top = ", ".join(f"{r.param} {r.value:.3g} [{r.conf_low:.3g}, {r.conf_high:.3g}]"
                        for r in t.head(4).itertuples())
        share = n["noise_share"]
        noise = "unknown (1 replicate)" if share != share else f"{share:.2%}"
        print(f"  {n['outcome']}: {head} {top}; seed noise {noise} of the variance")
    print(f"  wrote {out}/ (indices.csv, noise.csv, {rep['figure']}, report.json, runs/)")
    return 0


def viz_command(scenario: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard offline."""
    import os

    import experiments.dashboard_path as dp

    env = {**os.environ, "INNOGRID_VIZ_SCENARIO": scenario,
           "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    solara = str(Path(sys.executable).with_name("solara"))
    return [solara, "run", str(dp.DASHBOARD), "--host", "127.0.0.1", "--port", str(port),
            "--production", "--no-open"], env


def _cmd_viz(args) -> int:
    from experiments.lifetime import call
    from experiments.memory import check_memory

    check_memory(load_scenario(args.scenario))  # a bad scenario ends here, with status 2
    cmd, env = viz_command(args.scenario, args.port)
    print(f"innogrid viz: serving {args.scenario} on http://127.0.0.1:{args.port} (Ctrl-C stops)",
          flush=True)
    return call(cmd, env=env)  # the server goes with this process (Ctrl-C, SIGTERM, a kill)


def _cmd_report(args) -> int:
    from experiments.output import OutputError
    from experiments.report import write_report

    try:
        path = write_report(args.results, args.out)
    except (OutputError, ScenarioError):  # they name the file and key themselves
        raise
    except ValueError as e:
        raise ScenarioError(args.results, "RESULTS", args.results, str(e)) from None
    print(f"innogrid report: wrote {path} (self-contained; figures also beside it)")
    return 0


def _cmd_scenarios(args) -> int:
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            sc = load_scenario(path)
            print(f"{path.stem:28s} {sc.description}")
        except ScenarioError as e:
            print(f"{path.stem:28s} INVALID: {e}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    from experiments.lifetime import Terminated, sigterm_interrupts
    from experiments.output import OutputError

    try:
        with sigterm_interrupts():  # SIGTERM stops a command as cleanly as Ctrl-C
            return {"run": _cmd_run, "scenarios": _cmd_scenarios,
                    "compare": _cmd_compare, "calibrate": _cmd_calibrate,
                    "sweep": _cmd_sweep, "sensitivity": _cmd_sensitivity,
                    "viz": _cmd_viz, "report": _cmd_report}[args.command](args)
    except (ScenarioError, ParamError, OutputError) as e:
        print(f"innogrid: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        # a sweep says what it kept; other commands write their output only when complete
        print(f"innogrid: {e.args[0] if e.args else 'interrupted; nothing was written'}",
              file=sys.stderr)
        return 143 if isinstance(e, Terminated) or isinstance(e.__cause__, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
