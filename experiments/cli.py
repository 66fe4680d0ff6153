"""The ``innogrid`` command line.

Bad input (scenario files, options, output directories) ends with one line naming the
file, key, value and what is allowed, exit status 2, and no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.params import ParamError
from model.scenario import SCENARIO_DIR, ScenarioError, load_scenario

__all__ = ["main"]

EXAMPLES = {
    "run": "example: innogrid run scenarios/yrd_baseline.toml --seed 7 --steps 84 "
           "--out results/base --figures",
    "scenarios": "example: innogrid scenarios",
}


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{v} is negative; a non-negative integer is required")
    return v


def _pos_int(text: str) -> int:
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innogrid", description="City innovation systems: an "
                                "agent-based model of how cities' innovation capacity grows, "
                                "ranks into tiers and spills over.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one scenario and write the output contract",
                       epilog=EXAMPLES["run"])
    r.add_argument("scenario", help="scenario TOML file (path, or a name in scenarios/)")
    r.add_argument("--seed", type=_nonneg_int, help="root seed (default: the scenario's run.seed)")
    r.add_argument("--steps", type=_pos_int, help="quarters to run (default: run.steps)")
    r.add_argument("--out", default=None, help="output directory (default: results/<scenario>)")
    r.add_argument("--figures", action="store_true", help="also write PNG figures")
    sub.add_parser("scenarios", help="list the shipped scenarios", epilog=EXAMPLES["scenarios"])
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
    from experiments.run import run, write_outputs

    sc = load_scenario(args.scenario)
    out_dir = Path(args.out) if args.out else Path("results") / sc.name
    if out_dir.exists() and not out_dir.is_dir():
        raise _UsageError(f"--out {out_dir}: exists and is not a directory")
    t0 = time.perf_counter()
    out = run(sc, seed=args.seed, steps=args.steps)
    elapsed = time.perf_counter() - t0
    write_outputs(out, out_dir, figures=args.figures)
    print(_summary(out, elapsed))
    print(f"  wrote {out_dir}/ (cities.csv, region.csv, flows/, metadata.json"
          f"{', figures/' if args.figures else ''})")
    return 0


def _cmd_scenarios(args) -> int:
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            sc = load_scenario(path)
            print(f"{path.stem:28s} {sc.description}")
        except ScenarioError as e:
            print(f"{path.stem:28s} INVALID: {e}")
    return 0


class _UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    from experiments.run import OutputError

    try:
        return {"run": _cmd_run, "scenarios": _cmd_scenarios}[args.command](args)
    except (ScenarioError, ParamError, OutputError, _UsageError) as e:
        print(f"innogrid: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("innogrid: interrupted; no partial output was left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
