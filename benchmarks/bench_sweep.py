"""Throughput of experiments at scale: backend overhead and a full Sobol analysis.

Usage::

    .venv/bin/python benchmarks/bench_sweep.py                 # both, about 15 minutes
    .venv/bin/python benchmarks/bench_sweep.py --only overhead # about 1 minute
    .venv/bin/python benchmarks/bench_sweep.py --only sobol    # the 2,560-run Sobol analysis
    .venv/bin/python benchmarks/bench_sweep.py --quick         # smoke test (seconds): base
                                                               # sample 2, runs of 20 quarters

(d) **Per-run overhead of each backend.** ``K`` runs of a task that computes almost
    nothing (the Ishigami function) through :func:`experiments.running.sweep.sweep` into a fresh
    store, on ``serial``, ``processes`` (2 workers) and ``dask`` (a LocalCluster of 2
    workers on 127.0.0.1). Each sweep runs in a fresh child process, so every
    measurement starts its workers (or cluster) cold. Wall time is split into a start-up
    time (the sweep of one run) and a per-run cost ``(wall(K) - wall(1)) / (K - 1)``.
    Repeated; medians reported.
(e) **Sobol analysis of the calibrated YRD model**: ``experiments/specs/yrd_sobol.toml``,
    8 parameters, N = 256, no second order: 2,560 runs of 84 quarters, through
    ``innogrid sensitivity`` on 2 worker processes. Target: <= 15 minutes wall on this
    2-core machine. Run once (it is the long one); the per-run times of all 2,560 runs
    are summarised (median, p95, max) and the indices written to ``benchmarks/out/``.

Results go to ``benchmarks/results_sweep.json`` (``--out DIR``: into DIR; ``--quick``:
``results_sweep_quick.json``, git-ignored) with the machine, the date and the code measured.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["INNOGRID_CACHE"] = "off"  # time the runs, not reads of the run cache
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_model import machine_info, source_fingerprint  # noqa: E402

from experiments.running.sweep import load_spec, sweep  # noqa: E402


def _ishigami_spec(directory: Path, k: int) -> Path:
    p = directory / f"ish_{k}.toml"
    pi = 3.141592653589793
    p.write_text(f'name = "ish_{k}"\nmodel = "ishigami"\nreplicates = 1\nroot_seed = 1\n'
                 f'[design]\nkind = "pawn"\nn = {k}\n[params]\n'
                 + "".join(f"x{i} = [{-pi}, {pi}]\n" for i in (1, 2, 3)))
    return p


def _wall(spec_path: Path, backend: str, jobs: int) -> float:
    """Wall time of one sweep, measured in a fresh child process (cold workers each time)."""
    out = subprocess.run([sys.executable, __file__, "--child", str(spec_path), backend,
                          str(jobs)], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def _child_wall(spec_path: Path, backend: str, jobs: int) -> float:
    spec = load_spec(spec_path)
    out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        t0 = time.perf_counter()
        res = sweep(spec, out / "store", backend=backend, jobs=jobs, progress=False)
        wall = time.perf_counter() - t0
        assert (res["status"] == "ok").all() and len(res) == spec.n
        return wall
    finally:
        shutil.rmtree(out, ignore_errors=True)


def bench_overhead(k: int, reps: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-specs-"))
    out = {}
    try:
        one, many = _ishigami_spec(tmp, 1), _ishigami_spec(tmp, k)
        for backend in ("serial", "processes", "dask"):
            w1 = [_wall(one, backend, 2) for _ in range(reps)]
            wk = [_wall(many, backend, 2) for _ in range(reps)]
            per = [(b - a) / (k - 1) for a, b in zip(w1, wk, strict=True)]
            out[backend] = {"runs": k, "reps": reps, "startup_s": statistics.median(w1),
                            "wall_s": statistics.median(wk),
                            "per_run_ms": 1000 * statistics.median(per),
                            "raw_wall_1_s": w1, "raw_wall_k_s": wk}
            print(f"  {backend:10s} start-up {out[backend]['startup_s']:.2f} s, "
                  f"{k} runs {out[backend]['wall_s']:.2f} s, per run "
                  f"{out[backend]['per_run_ms']:.2f} ms", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


#: quarters a --quick Sobol run lasts (a smoke test of the pipeline, not a measurement)
QUICK_STEPS = 20


def bench_sobol(n: int | None, keep: Path) -> dict:
    from experiments.analysis.sensitivity import sensitivity

    spec = load_spec(ROOT / "experiments" / "specs" / "yrd_sobol.toml")
    if n is not None:  # --quick: a smaller base sample of the same spec, its first 5 years
        from dataclasses import replace

        spec = replace(spec, n=n, steps=QUICK_STEPS)
    shutil.rmtree(keep, ignore_errors=True)
    t0 = time.perf_counter()
    res = sensitivity(spec, keep, backend="processes", jobs=2, progress=False)
    wall = time.perf_counter() - t0
    from experiments.running.sweep import load_results

    runs = load_results(keep / "runs")
    secs = runs["seconds"].dropna().sort_values().to_numpy()
    st = res["indices"]
    top = {o: st[(st["outcome"] == o) & (st["index"] == "ST")].sort_values(
        "value", ascending=False).head(3)[["param", "value", "conf_low", "conf_high"]]
        .to_dict("records") for o in spec.outcomes}
    out = {"runs": int(len(runs)), "failed": int((runs["status"] != "ok").sum()),
           "wall_s": wall, "wall_min": wall / 60, "target_min": 15.0,
           "run_s_median": float(statistics.median(secs)),
           "run_s_p95": float(secs[int(0.95 * (len(secs) - 1))]), "run_s_max": float(secs[-1]),
           "run_s_sum": float(secs.sum()),
           "parallel_efficiency": float(secs.sum() / (2 * wall)),
           "top_ST": top, "noise": res["report"]["noise"]}
    print(f"  sobol: {out['runs']} runs in {wall / 60:.1f} min (target 15), per run median "
          f"{out['run_s_median']:.3f} s, p95 {out['run_s_p95']:.3f} s; parallel efficiency "
          f"{out['parallel_efficiency']:.2f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and write the results file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("overhead", "sobol"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for the results file and the Sobol run store (default: "
                         "benchmarks/ and benchmarks/out/)")
    ap.add_argument("--child", nargs=3, metavar=("SPEC", "BACKEND", "JOBS"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(_child_wall(Path(a.child[0]), a.child[1], int(a.child[2])))
        return 0
    where = a.out if a.out is not None else ROOT / "benchmarks"
    store = a.out if a.out is not None else ROOT / "benchmarks" / "out"
    path = where / ("results_sweep_quick.json" if a.quick else "results_sweep.json")
    res = json.loads(path.read_text()) if path.exists() and a.only else {}
    res.update(machine=machine_info(), code=source_fingerprint(),
               date_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    if a.only in (None, "overhead"):
        print("(d) per-run overhead of each backend", flush=True)
        res["overhead"] = bench_overhead(k=50 if a.quick else 1000, reps=1 if a.quick else 3)
    if a.only in (None, "sobol"):
        print("(e) Sobol analysis of the YRD model, 2 worker processes", flush=True)
        res["sobol"] = bench_sobol(2 if a.quick else None,
                                   store / ("sobol_quick" if a.quick else "sobol"))
    path.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
