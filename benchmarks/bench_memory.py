"""Measure the memory constants of ``experiments.running.memory`` and check its estimate.

Usage::

    .venv/bin/python benchmarks/bench_memory.py      # about 5 minutes, up to about 1.2 GB

Each probe runs one model through ``experiments.running.run.run`` (the output tables included) in a
fresh process and reports its peak resident set (``VmHWM``) above the resident set it had
after importing everything and loading the scenario, with the rows its talent and firm
pools hold at the end. The constants are fitted by least squares on the fit probes:

    peak = FIXED + PAIR * N**2 + CITY_STEP * N * (steps + 1) + TALENT * talent rows
           + FIRM * firm rows

(each probe varies one term). The check probes compare the estimate of
``experiments.running.memory.estimate_bytes``, made before the run, with what the run took. The
table goes to stdout and everything to ``benchmarks/results_memory.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import datetime as dt  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GRID = '[geography]\nkind = "grid"\nwidth = {w}\nheight = {w}\n'
# (label, scenario: a shipped name or a grid width, params, steps)
FIT = [
    ("10x10, small", 10, {"n_talent": 2000, "n_firms": 100}, 4),
    ("10x10, 250k talent", 10, {"n_talent": 250_000, "n_firms": 1000}, 4),
    ("10x10, 1M talent", 10, {"n_talent": 1_000_000, "n_firms": 1000}, 4),
    ("10x10, 100k firms", 10, {"n_talent": 2000, "n_firms": 100_000}, 4),
    ("10x10, 1M firms", 10, {"n_talent": 2000, "n_firms": 1_000_000}, 4),
    ("32x32, small", 32, {"n_talent": 2000, "n_firms": 100}, 4),
    ("32x32, 200 steps", 32, {"n_talent": 2000, "n_firms": 100}, 200),
    ("32x32, 1,000 steps", 32, {"n_talent": 2000, "n_firms": 100}, 1000),
]
CHECK = [
    ("YRD calibrated", "yrd_calibrated.toml", {}, 84),
    ("YRD calibrated, 200k talent", "yrd_calibrated.toml", {"n_talent": 200_000}, 84),
    ("YRD calibrated, 1M talent, 20 steps", "yrd_calibrated.toml", {"n_talent": 1_000_000}, 20),
    ("grid baseline, 1,000 steps", "grid_baseline.toml", {}, 1000),
    ("32x32, 1M talent, 200k firms, 40 steps", 32,
     {"n_talent": 1_000_000, "n_firms": 200_000, "n_funds": 2000}, 40),
]

CHILD = r"""
import json, sys
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
from experiments.running.memory import estimate_bytes
from experiments.running.run import run
from model.scenario import load_scenario
scenario, params, steps = json.loads(sys.argv[1])
sc = load_scenario(scenario).with_overrides(params=params)
est = estimate_bytes(sc, steps)
base = status("VmRSS")
w = run(sc, seed=1, steps=steps, keep_model=True).model.world
print(json.dumps({"peak": status("VmHWM") - base, "talent_rows": w.talent._cap,
                  "firm_rows": w.firms._cap, "cities": sc.geography.n, "estimate": est}))
"""


def probe(scenario, params: dict, steps: int, tmp: Path) -> dict:
    """One run in a fresh process: its peak memory, pool sizes and the estimate."""
    if isinstance(scenario, int):
        path = tmp / f"grid{scenario}.toml"
        path.write_text(GRID.format(w=scenario))
        scenario = str(path)
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([scenario, params, steps])],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Fit the constants, check the estimate, print and write the results."""
    results: dict = {"date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "fit": [], "check": []}
    with tempfile.TemporaryDirectory() as tmp:
        for label, scenario, params, steps in FIT:
            r = probe(scenario, params, steps, Path(tmp))
            results["fit"].append({"label": label, "steps": steps, **r})
            print(f"fit   {label:42s} {r['peak'] / 1e6:8.1f} MB", flush=True)
        rows = results["fit"]
        X = np.array([[1.0, r["cities"] ** 2, r["cities"] * (r["steps"] + 1), r["talent_rows"],
                       r["firm_rows"]] for r in rows])
        y = np.array([r["peak"] for r in rows], dtype=float)
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        names = ("FIXED", "PAIR", "CITY_STEP", "TALENT", "FIRM")
        results["constants"] = dict(zip(names, coef.tolist(), strict=True))
        print("fitted: " + ", ".join(f"{k} {v:,.1f}" for k, v in results["constants"].items()))
        for label, scenario, params, steps in CHECK:
            r = probe(scenario, params, steps, Path(tmp))
            ratio = r["estimate"]["total"] / r["peak"]
            results["check"].append({"label": label, "steps": steps, "ratio": ratio, **r})
            print(f"check {label:42s} measured {r['peak'] / 1e6:8.1f} MB, estimated "
                  f"{r['estimate']['total'] / 1e6:8.1f} MB ({ratio:.2f}x)", flush=True)
    (Path(__file__).with_name("results_memory.json")).write_text(
        json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
