"""Whether the scenarios' claims hold across every parameter set the calibration accepts.

The tier facts do not pin the free parameters down: several points of the calibration's
race meet every target (the *accepted set* in ``scenarios/yrd_calibrated.json``). A policy
answer that flips between accepted sets rests on an assumption the facts cannot settle,
and a user should know it. For every accepted set and every YRD scenario with an
``[expect]`` claim, this runs the scenario against the calibrated baseline with that set's
parameters over common seeds and records the paired difference with its 95% interval.

``python -m experiments.analysis.robustness [--seeds 12] [--jobs 2] [--out docs/validation]`` writes
``claims.csv`` (one row per scenario and accepted set) and ``claims.json`` (the share of
accepted sets in which each claim is supported).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.analysis.compare import compare, expectations, summarise
from experiments.running.output import OutputError, check_output_dir, output_dir
from experiments.running.run import process_pool
from model.scenario import SCENARIO_DIR, base_of, load_scenario

__all__ = ["claim_robustness", "yrd_claims"]


def yrd_claims(base: str = "yrd_calibrated.toml") -> list[str]:
    """The shipped scenarios built on ``base`` that state a claim."""
    out = []
    for p in sorted(SCENARIO_DIR.glob("*.toml")):
        if base_of(p) == base and load_scenario(p).expect is not None:
            out.append(p.name)
    return out


def claim_robustness(record: str | Path = SCENARIO_DIR / "yrd_calibrated.json",
                     base: str = "yrd_calibrated.toml", scenarios: list[str] | None = None,
                     seeds: int = 12, root: int = 20260101, jobs: int = 1) -> pd.DataFrame:
    """One row per (scenario, accepted set): the claimed measure's paired difference."""
    rec = json.loads(Path(record).read_text(encoding="utf-8"))
    scenarios = yrd_claims(base) if scenarios is None else scenarios
    claims = expectations(scenarios)
    rows: list[dict[str, Any]] = []
    ex = process_pool(jobs) if jobs > 1 else None
    try:
        for acc in rec["accepted"]:
            runs = compare(base, scenarios, seeds=seeds, root=root, executor=ex,
                           params=acc["params"])
            s = summarise(runs, claims)
            s = s[s["expected"] != ""]
            for r in s.itertuples():
                rows.append({"scenario": r.comparison, "set": acc["index"],
                             "chosen": acc["index"] == rec["best"]["index"],
                             "measure": r.measure, "direction": r.expected, "diff": r.diff,
                             "ci_low": r.ci_low, "ci_high": r.ci_high, "n_seeds": r.n_seeds,
                             "supported": bool(r.as_expected), **acc["params"]})
    finally:
        if ex is not None:
            ex.shutdown()
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: write claims.csv and claims.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default="docs/validation")
    a = ap.parse_args(argv)
    try:
        check_output_dir(a.out)
    except OutputError as e:
        print(f"experiments.analysis.robustness: error: {e}", file=sys.stderr)
        return 2
    rec = json.loads((SCENARIO_DIR / "yrd_calibrated.json").read_text(encoding="utf-8"))
    if not rec["accepted"]:
        print("robustness: the calibration accepted no parameter set (no finalist met every "
              "target; see scenarios/yrd_calibrated.json), so there is nothing to check "
              "across; nothing written")
        return 0
    df = claim_robustness(seeds=a.seeds, jobs=a.jobs)
    summary = {
        sc: {"measure": g["measure"].iloc[0], "direction": g["direction"].iloc[0],
             "supported_in": int(g["supported"].sum()), "accepted_sets": len(g),
             "diff_range": [float(g["diff"].min()), float(g["diff"].max())],
             "at_chosen_set": bool(g.loc[g["chosen"], "supported"].all())}
        for sc, g in df.groupby("scenario", sort=False)}
    with output_dir(a.out, "robustness") as tmp:
        df.to_csv(tmp / "claims.csv", index=False)
        (tmp / "claims.json").write_text(json.dumps({"seeds": a.seeds, "claims": summary},
                                                    indent=1))
    for sc, v in summary.items():
        print(f"{sc:22s} {v['measure']:24s} {v['direction']:4s} supported in "
              f"{v['supported_in']}/{v['accepted_sets']} accepted sets "
              f"(differences {v['diff_range'][0]:+.4g} .. {v['diff_range'][1]:+.4g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
