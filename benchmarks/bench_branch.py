"""What branching from saved states saves: a 2022-2035 comparison against a replay from 2001.

Usage::

    .venv/bin/python benchmarks/bench_branch.py            # 4 seeds x 3 scenarios, 3 reps
    .venv/bin/python benchmarks/bench_branch.py --full     # 16 seeds x 9 scenarios, 1 rep
    .venv/bin/python benchmarks/bench_branch.py --quick    # smoke test (seconds)

(f) **A scenario comparison to 2035**, ``experiments.analysis.compare.run_compare`` as ``innogrid
    compare`` runs it, on ``--jobs`` worker processes (2): the base ``yrd_calibrated`` and
    the other scenarios over the same seeds, either **from saved states** at the end of
    2021 (step 84; each run loads its seed's state and runs 56 quarters) or **replayed**
    from 2001 (140 quarters). The one-off cost of making the states (``save_states``:
    every seed run to 2021 and saved) is timed apart. Repetitions alternate the two ways
    so that a change in the machine's load hits both; medians are reported.
(g) **One run**, in this process on one thread: load a 2021 state and run 56 quarters,
    against 140 quarters from the start (hefei_push, seed 1); repeated, medians.

The ratio replay / branch is the saving; (f) includes each comparison's start-up of its
worker pool, (g) is the per-run ratio that a larger comparison tends to. Results go to
``benchmarks/results_branch.json`` (``--full``: ``results_branch_full.json``; ``--quick``:
``results_branch_quick.json``, git-ignored) with the machine, the date, the code measured
and every raw timing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ["INNOGRID_CACHE"] = "off"  # time the runs, not reads of the run cache

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_model import machine_info, source_fingerprint, summary  # noqa: E402

from experiments.analysis.compare import replicate_seeds, run_compare  # noqa: E402
from experiments.running.run import save_states  # noqa: E402
from model.model import InnovationModel, last_step  # noqa: E402
from model.scenario import load_scenario  # noqa: E402

BASE = "yrd_calibrated.toml"
OTHERS = ("hefei_push.toml", "free_flow.toml", "core_leads.toml", "culture_ip.toml",
          "financial_synergy.toml", "g60_corridor.toml", "negative_competition.toml",
          "tech_intermediaries.toml")
ROOT_SEED = 20260101
CONFIGS = {
    "default": {"seeds": 4, "others": 2, "reps": 3, "jobs": 2, "branch": 2021, "until": 2035,
                "run_reps": 5},
    "full": {"seeds": 16, "others": 8, "reps": 1, "jobs": 2, "branch": 2021, "until": 2035,
             "run_reps": 5},
    "quick": {"seeds": 1, "others": 1, "reps": 1, "jobs": 1, "branch": 2002, "until": 2004,
              "run_reps": 1},
}


def bench_f(cfg: dict, work: Path) -> dict:
    base = load_scenario(BASE)
    others = list(OTHERS[: cfg["others"]])
    start = last_step(base.params.start_year, cfg["branch"])
    end = last_step(base.params.start_year, cfg["until"])
    seeds = replicate_seeds(ROOT_SEED, cfg["seeds"])
    t0 = time.perf_counter()
    files = save_states(base, seeds, start, work / "states", cfg["jobs"])
    states_s = time.perf_counter() - t0
    branch, replay, agree = [], [], []
    for rep in range(cfg["reps"]):
        for way in (("branch", "replay") if rep % 2 == 0 else ("replay", "branch")):
            t0 = time.perf_counter()
            if way == "branch":
                runs, _, _ = run_compare(BASE, others, cfg["seeds"], ROOT_SEED, end - start,
                                         cfg["jobs"], progress=False,
                                         states=[str(f) for f in files])
                branch.append(time.perf_counter() - t0)
            else:
                runs, _, _ = run_compare(BASE, others, cfg["seeds"], ROOT_SEED, end, cfg["jobs"],
                                         progress=False)
                replay.append(time.perf_counter() - t0)
            agree.append(len(runs))
    b, r = statistics.median(branch), statistics.median(replay)
    return {"config": {**cfg, "base": BASE, "others": others, "scenarios": 1 + len(others),
                       "runs_per_comparison": len(others) * cfg["seeds"] * 2,
                       "branch_step": start, "end_step": end, "root_seed": ROOT_SEED},
            "states_s": states_s, "branch_s": summary(branch), "replay_s": summary(replay),
            "ratio_replay_over_branch": r / b,
            "ratio_replay_over_branch_plus_states": r / (b + states_s), "rows": agree}


def bench_g(cfg: dict, work: Path) -> dict:
    base, other = load_scenario(BASE), load_scenario(OTHERS[0])
    start = last_step(base.params.start_year, cfg["branch"])
    end = last_step(base.params.start_year, cfg["until"])
    m = InnovationModel(base, seed=1, collect_agents=False)
    m.run(start)
    path = m.save(work / "one.npz")
    load, cont, replay = [], [], []
    for _ in range(cfg["run_reps"]):
        t0 = time.perf_counter()
        b = InnovationModel.load(path, other)
        t1 = time.perf_counter()
        b.run(end - start)
        t2 = time.perf_counter()
        r = InnovationModel(other, seed=1, collect_agents=False)
        r.run(end)
        t3 = time.perf_counter()
        load.append(t1 - t0)
        cont.append(t2 - t1)
        replay.append(t3 - t2)
    total = [a + c for a, c in zip(load, cont, strict=True)]
    return {"config": {"scenario": OTHERS[0], "seed": 1, "branch_step": start, "end_step": end,
                       "reps": cfg["run_reps"]},
            "state_file_bytes": path.stat().st_size, "load_s": summary(load),
            "continue_s": summary(cont), "branch_s": summary(total),
            "replay_s": summary(replay),
            "ratio_replay_over_branch": statistics.median(replay) / statistics.median(total)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="16 seeds x 9 scenarios, 1 repetition")
    size.add_argument("--quick", action="store_true", help="smoke test")
    ap.add_argument("--out", default=None, help="results file")
    args = ap.parse_args(argv)
    name = "full" if args.full else "quick" if args.quick else "default"
    cfg = CONFIGS[name]
    out = Path(args.out) if args.out else ROOT / "benchmarks" / {
        "quick": "results_branch_quick.json", "full": "results_branch_full.json",
        "default": "results_branch.json"}[name]
    res = {"machine": machine_info(), "code": source_fingerprint(),
           "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "size": name}
    with tempfile.TemporaryDirectory() as tmp:
        res["g"] = bench_g(cfg, Path(tmp))
        g = res["g"]
        print(f"(g) one run, {g['config']['scenario']}: load {g['load_s']['median']:.3f} s + "
              f"{g['config']['end_step'] - g['config']['branch_step']} quarters "
              f"{g['continue_s']['median']:.2f} s  vs  {g['config']['end_step']} quarters from "
              f"the start {g['replay_s']['median']:.2f} s  ->  ratio "
              f"{g['ratio_replay_over_branch']:.2f}  (state file "
              f"{g['state_file_bytes'] / 2**20:.1f} MB)", flush=True)
        res["f"] = bench_f(cfg, Path(tmp))
    f = res["f"]
    c = f["config"]
    print(f"(f) {c['seeds']} seeds x {c['scenarios']} scenarios ({c['runs_per_comparison']} runs "
          f"each way, {c['jobs']} jobs): states {f['states_s']:.1f} s once; from states "
          f"{f['branch_s']['median']:.1f} s, replay {f['replay_s']['median']:.1f} s (medians of "
          f"{c['reps']})  ->  ratio {f['ratio_replay_over_branch']:.2f} "
          f"({f['ratio_replay_over_branch_plus_states']:.2f} with the states' cost)")
    res["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if res["code"] != source_fingerprint():
        print("WARNING: the code changed during the benchmark", file=sys.stderr)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
