"""Speed and memory benchmarks of the innogrid model (single core).

Usage::

    .venv/bin/python benchmarks/bench_model.py            # full run (about 10 minutes)
    .venv/bin/python benchmarks/bench_model.py --quick    # smoke test (< 30 s)
    .venv/bin/python benchmarks/bench_model.py --only b   # one measurement (a, b or c)

Measurements (targets from the performance issue):

(a) YRD baseline (41 cities, 84 quarters), 20,000 talent, 5,000 firms, 200 funds:
    construction and run timed separately; target run <= 1 s (median, one core).
    Plus one cProfile run and one run timed per submodel.
(b) 32x32 grid (1,024 cities), 1,000,000 talent, 200,000 firms, 2,000 funds, 40 steps:
    wall time (target <= 60 s) and peak RSS (target <= 4 GB), each repetition in a fresh
    subprocess that reports its own VmHWM (and ``os.wait4`` gives its ru_maxrss). The
    child runs under an address-space cap (``--mem-cap-gb``, default 8) and a time cap
    (``--time-cap-s``) so that a run that blows up cannot take the machine down; a
    repetition that hits a cap is reported as such, with the steps it completed.
(c) cost per agent-step, ``run seconds / ((talent + firms) * steps)``, at about 10k, 100k
    and 1M agents (talent:firms 5:1; 10x10 grid for the two smaller, 32x32 for 1M;
    20 steps).

Every timing is repeated (>= 5 for a and c, >= 3 for b) and reported as min / median /
max. Threads are pinned to one per process through the usual environment variables,
set before numpy is imported (``OPENBLAS_CORETYPE`` is left as the environment has it).
Results go to a table on stdout and to ``benchmarks/results.json`` (``--quick``:
``benchmarks/results_quick.json``); with ``--only`` the other sections already in that
file are kept.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import datetime as dt  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import model.model as model_mod  # noqa: E402
from model.model import InnovationModel  # noqa: E402
from model.scenario import load_scenario, scenario_from_dict  # noqa: E402

SUBMODELS = ("govern", "spill", "innovate", "operate", "invest", "hire", "found", "migrate",
             "relocate", "grow")
HOOKS = ("_observe", "_apply_policy")
GB = 1024 ** 3

# --------------------------------------------------------------------------- configurations
FULL = {
    "a": {"talent": 20_000, "firms": 5_000, "funds": 200, "steps": 84, "reps": 7},
    "b": {"width": 32, "talent": 1_000_000, "firms": 200_000, "funds": 2_000, "steps": 40,
          "reps": 3},
    "c": {"sizes": [  # (label, grid width, talent, firms, funds)
        ("10k", 10, 8_333, 1_667, 200),
        ("100k", 10, 83_333, 16_667, 200),
        ("1M", 32, 833_333, 166_667, 2_000),
    ], "steps": 20, "reps": 5},
}
QUICK = {
    "a": {"talent": 2_000, "firms": 500, "funds": 20, "steps": 12, "reps": 5},
    "b": {"width": 10, "talent": 20_000, "firms": 4_000, "funds": 50, "steps": 10, "reps": 3},
    "c": {"sizes": [
        ("1k", 10, 833, 167, 20),
        ("10k", 10, 8_333, 1_667, 50),
        ("50k", 10, 41_667, 8_333, 100),
    ], "steps": 5, "reps": 5},
}
TARGETS = {"a_run_s": 1.0, "b_wall_s": 60.0, "b_peak_gb": 4.0}


# --------------------------------------------------------------------------- helpers
def yrd_scenario(talent: int, firms: int, funds: int, steps: int):
    sc = load_scenario(ROOT / "scenarios" / "yrd_baseline.toml")
    return sc.with_overrides(steps=steps, params={"n_talent": talent, "n_firms": firms,
                                                  "n_funds": funds})


def grid_scenario(width: int, talent: int, firms: int, funds: int, steps: int):
    if width >= 32:
        geo = {"kind": "grid", "width": width, "height": width, "cores": [[8, 8], [24, 20]],
               "province_blocks": [4, 4]}
    elif width == 10:  # as scenarios/grid_baseline.toml
        geo = {"kind": "grid", "width": 10, "height": 10, "cores": [[2, 2], [7, 6]],
               "province_blocks": [2, 2], "cell_km": 50.0, "seed": 7}
    else:
        geo = {"kind": "grid", "width": width, "height": width,
               "cores": [[width // 4, width // 4], [3 * width // 4, 5 * width // 8]],
               "province_blocks": [2, 2]}
    return scenario_from_dict({"run": {"steps": steps, "seed": 1}, "geography": geo,
                               "params": {"n_talent": talent, "n_firms": firms,
                                          "n_funds": funds}})


def summary(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs), "n": len(xs)}


def vm_status() -> dict[str, int]:
    """VmRSS / VmHWM / VmPeak of this process in kB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "VmPeak"):
                out[k] = int(v.split()[0])
    return out


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def source_fingerprint() -> dict:
    """Which model code is measured: git HEAD, uncommitted files, and a hash of the sources.

    The hash covers ``model/**/*.py``, ``model/data/*`` and ``scenarios/*.toml``; the script
    compares it at start and end and flags a change (code edited while it ran).
    """
    import hashlib

    h = hashlib.sha256()
    files = sorted([*ROOT.glob("model/**/*.py"), *ROOT.glob("model/data/*"),
                    *ROOT.glob("scenarios/*.toml")])
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return {"source_root": str(ROOT), "git_head": sh("git", "rev-parse", "--short", "HEAD"),
            "uncommitted": sh("git", "status", "--porcelain", "model", "scenarios").splitlines(),
            "sources_sha256": h.hexdigest()[:16], "n_files": len(files)}


def machine_info() -> dict:
    cpu = ""
    flags_ok = None
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and flags_ok is None:
                fl = line.split(":", 1)[1].split()
                flags_ok = {f: f in fl for f in ("avx2", "avx512f", "fma")}
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    import mesa

    return {
        "cpu_model": cpu, "cpu_flags": flags_ok, "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "ram_gb": round(mem_kb / 1024 ** 2, 1), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "mesa": mesa.__version__,
        "threads_env": {k: os.environ.get(k) for k in (
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")},
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


class WarningLog:
    """Collect warnings (all of them, 'always') with counts."""

    def __init__(self):
        self.counts: dict[tuple[str, str, str], int] = {}

    @contextlib.contextmanager
    def capture(self):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for w in rec:
                    key = (w.category.__name__, str(w.message), f"{w.filename}:{w.lineno}")
                    self.counts[key] = self.counts.get(key, 0) + 1

    def as_list(self) -> list[dict]:
        return [{"category": c, "message": m, "where": where, "count": n}
                for (c, m, where), n in self.counts.items()]


@contextlib.contextmanager
def submodel_timer(m: InnovationModel):
    """Time each submodel (module globals of model.model) and the model's own hooks.

    Wrapping costs two ``perf_counter`` calls per call (< 1 us), negligible here.
    """
    totals = {k: 0.0 for k in (*SUBMODELS, *HOOKS)}
    originals = {k: getattr(model_mod, k) for k in SUBMODELS}

    def wrap(name, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                totals[name] += time.perf_counter() - t0
        return timed

    for k, fn in originals.items():
        setattr(model_mod, k, wrap(k, fn))
    for k in HOOKS:
        setattr(m, k, wrap(k, getattr(m, k)))
    try:
        yield totals
    finally:
        for k, fn in originals.items():
            setattr(model_mod, k, fn)
        for k in HOOKS:
            with contextlib.suppress(AttributeError):
                delattr(m, k)


def shares(totals: dict[str, float], run_s: float) -> dict[str, dict[str, float]]:
    out = {k: {"s": v, "share": v / run_s} for k, v in totals.items()}
    other = run_s - sum(totals.values())
    out["other (mesa step wrapper, reset_tick, loop)"] = {"s": other, "share": other / run_s}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["s"]))


def instrumented_shares(make_scenario, steps: int, reps: int) -> tuple[float, dict]:
    """Median over ``reps`` instrumented runs: run seconds and per-part seconds and shares."""
    runs, parts = [], []
    for _ in range(reps):
        m = InnovationModel(make_scenario(), seed=1, collect_agents=False)
        gc.collect()
        with submodel_timer(m) as tot:
            t0 = time.perf_counter()
            m.run(steps)
            runs.append(time.perf_counter() - t0)
        parts.append(shares(tot, runs[-1]))
        del m
    keys = parts[0].keys()
    med = {k: {"s": statistics.median(p[k]["s"] for p in parts),
               "share": statistics.median(p[k]["share"] for p in parts),
               "s_each": [p[k]["s"] for p in parts]} for k in keys}
    med = dict(sorted(med.items(), key=lambda kv: -kv[1]["share"]))
    return statistics.median(runs), med


def timed_build_run(make_scenario, steps: int) -> tuple[float, float, InnovationModel]:
    sc = make_scenario()
    gc.collect()
    t0 = time.perf_counter()
    m = InnovationModel(sc, seed=1, collect_agents=False)
    t1 = time.perf_counter()
    m.run(steps)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, m


def profile_top(prof: cProfile.Profile, only_model: bool, key: str, k: int = 10) -> list[dict]:
    st = pstats.Stats(prof)
    rows = []
    for (fname, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():
        rel = fname.replace(str(ROOT) + os.sep, "")
        if only_model and not (rel.startswith("model/submodels/") or rel == "model/model.py"):
            continue
        rows.append({"function": f"{rel}:{line}({func})", "calls": nc, "tottime_s": tt,
                     "cumtime_s": ct})
    rows.sort(key=lambda r: -r[key])
    return rows[:k]


def memory_accounting(m: InnovationModel) -> dict[str, float]:
    """Bytes held by the agent pools, by (N, N) matrices and by the recorded output."""
    w, n = m.world, m.geo.n
    pools = w.firms.nbytes() + w.talent.nbytes() + w.funds.nbytes()
    nn, seen = 0, set()
    cands = [getattr(w.city, k) for k in vars(w.city)] + list(w.flows.values())
    cands += [w.spill_weights, m.geo.dist_km, m.adjacency, *w.policy.values()]
    for a in cands:
        if isinstance(a, np.ndarray) and a.shape == (n, n) and id(a) not in seen:
            seen.add(id(a))
            nn += a.nbytes
    rows = sum(v.nbytes for r in m._city_rows for v in r.values() if isinstance(v, np.ndarray))
    return {"pools_mb": pools / 2**20, "nxn_matrices_mb": nn / 2**20,
            "n_nxn_matrices": len(seen), "city_output_rows_mb": rows / 2**20}


# --------------------------------------------------------------------------- (a)
def bench_a(cfg: dict, log: WarningLog, profile: bool) -> dict:
    def make():
        return yrd_scenario(cfg["talent"], cfg["firms"], cfg["funds"], cfg["steps"])

    with log.capture():
        timed_build_run(make, min(cfg["steps"], 8))  # warm-up (imports, caches), discarded
        build, run = [], []
        for _ in range(cfg["reps"]):
            b, r, m = timed_build_run(make, cfg["steps"])
            build.append(b)
            run.append(r)
        final = {"firms_created": int(m.firms.n), "firms_alive": int(m.firms.view("alive").sum()),
                 "talent": int(m.talent.n)}
        del m
        # separate runs timed per submodel (median of 3)
        inst_run, sub = instrumented_shares(make, cfg["steps"], 3)
        prof_out = None
        if profile:
            m = InnovationModel(make(), seed=1, collect_agents=False)
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            m.run(cfg["steps"])
            prof.disable()
            prof_wall = time.perf_counter() - t0
            prof_out = {"profiled_run_s": prof_wall,
                        "top_model_by_cumtime": profile_top(prof, True, "cumtime_s"),
                        "top_all_by_tottime": profile_top(prof, False, "tottime_s")}
    return {"config": cfg, "construct_s": build, "run_s": run,
            "construct": summary(build), "run": summary(run), "final_state": final,
            "submodel_run_s": inst_run, "submodels": sub, "profile": prof_out,
            "target_run_median_s": TARGETS["a_run_s"],
            "target_met": statistics.median(run) <= TARGETS["a_run_s"]}


# --------------------------------------------------------------------------- (b)
def child_b(spec: dict) -> dict:
    """One repetition of (b), in its own process. Returns a JSON-able dict."""
    log = WarningLog()
    res: dict = {"status": "ok", "steps_done": 0, "step_s": [], "innovations": [],
                 "firms_created": [], "vmhwm_mb_after_step": []}
    t_start = time.perf_counter()
    m = None
    with log.capture():
        try:
            sc = grid_scenario(spec["width"], spec["talent"], spec["firms"], spec["funds"],
                               spec["steps"])
            t0 = time.perf_counter()
            m = InnovationModel(sc, seed=1, collect_agents=False)
            res["construct_s"] = time.perf_counter() - t0
            res["rss_after_construct_mb"] = vm_status()["VmRSS"] / 1024
            res["memory_after_construct"] = memory_accounting(m)
            with submodel_timer(m) as tot:
                t_run = time.perf_counter()
                try:
                    for _ in range(spec["steps"]):
                        s0 = time.perf_counter()
                        m.step()
                        res["step_s"].append(time.perf_counter() - s0)
                        res["innovations"].append(float(m.world.tick["innovations"].sum()))
                        res["firms_created"].append(int(m.firms.n))
                        res["vmhwm_mb_after_step"].append(vm_status()["VmHWM"] / 1024)
                        res["steps_done"] += 1
                        if time.perf_counter() - t_start > spec["time_cap_s"]:
                            if res["steps_done"] < spec["steps"]:
                                res["status"] = "time_cap"
                            break
                except MemoryError as e:
                    res["status"] = "memory_cap"
                    res["error"] = f"{type(e).__name__}: {e}"
                    res["error_where"] = [f"{fr.filename.replace(str(ROOT) + os.sep, '')}:"
                                          f"{fr.lineno} {fr.name}: {fr.line}"
                                          for fr in traceback.extract_tb(e.__traceback__)
                                          if str(ROOT / "model") in fr.filename]
                res["run_s"] = time.perf_counter() - t_run
            res["submodels"] = shares(tot, res["run_s"])
            res["memory_at_end"] = memory_accounting(m)
        except MemoryError as e:
            res["status"] = "memory_cap"
            res["error"] = f"{type(e).__name__}: {e}"
        except Exception as e:  # reported, not hidden
            res["status"] = "error"
            res["error"] = f"{type(e).__name__}: {e}"
    res["wall_s"] = time.perf_counter() - t_start
    st = vm_status()
    res["vmhwm_mb"] = st["VmHWM"] / 1024
    res["vmpeak_mb"] = st["VmPeak"] / 1024
    res["ru_maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["warnings"] = log.as_list()
    return res


def run_child(spec: dict, mem_cap_gb: float) -> dict:
    cap = int(mem_cap_gb * GB)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    with tempfile.TemporaryFile(mode="w+") as errf:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child",
                                 json.dumps(spec)], stdout=subprocess.PIPE, stderr=errf,
                                text=True, preexec_fn=limit, cwd=ROOT)
        killer = threading.Timer(spec["time_cap_s"] + 300, proc.kill)
        killer.start()
        with proc.stdout:
            out = proc.stdout.read()
        # wait4 (not proc.wait) to get this child's own rusage
        _, status, ru = os.wait4(proc.pid, 0)
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if lines:
        res = json.loads(lines[-1])
    else:
        res = {"status": "crashed", "error": err[-2000:]}
    res["exit_code"] = proc.returncode
    res["ru_maxrss_wait4_mb"] = ru.ru_maxrss / 1024
    if err.strip():
        res["stderr_tail"] = err[-2000:]
    return res


def bench_b(cfg: dict, mem_cap_gb: float, time_cap_s: float) -> dict:
    spec = {k: cfg[k] for k in ("width", "talent", "firms", "funds", "steps")}
    spec["time_cap_s"] = time_cap_s
    reps = []
    for i in range(cfg["reps"]):
        r = run_child(spec, mem_cap_gb)
        print(f"  (b) rep {i + 1}: {r.get('status')}, {r.get('steps_done')} steps, "
              f"wall {r.get('wall_s', float('nan')):.1f} s, "
              f"peak {r.get('vmhwm_mb', float('nan')):.0f} MB", flush=True)
        reps.append(r)
    done = [r for r in reps if r.get("status") == "ok"]
    peak = [r["vmhwm_mb"] / 1024 for r in reps if "vmhwm_mb" in r]
    out = {"config": cfg, "mem_cap_gb": mem_cap_gb, "time_cap_s": time_cap_s, "reps": reps,
           "completed_reps": len(done)}
    if done:
        out["construct"] = summary([r["construct_s"] for r in done])
        out["run"] = summary([r["run_s"] for r in done])
        out["wall"] = summary([r["construct_s"] + r["run_s"] for r in done])
        out["peak_rss_gb"] = summary([r["vmhwm_mb"] / 1024 for r in done])
        out["target_wall_met"] = out["wall"]["median"] <= TARGETS["b_wall_s"]
        out["target_memory_met"] = out["peak_rss_gb"]["median"] <= TARGETS["b_peak_gb"]
    else:
        out["target_wall_met"] = False
        out["target_memory_met"] = False
        if peak:
            out["peak_rss_gb_at_stop"] = summary(peak)
        partial = [r for r in reps if r.get("steps_done")]
        if partial:
            out["steps_done"] = summary([r["steps_done"] for r in partial])
            out["wall_at_stop"] = summary([r["wall_s"] for r in partial])
    return out


# --------------------------------------------------------------------------- (c)
def bench_c(cfg: dict, log: WarningLog, profile_largest: bool) -> dict:
    steps = cfg["steps"]
    out = {"config": cfg, "sizes": []}
    with log.capture():
        for label, width, talent, firms, funds in cfg["sizes"]:
            def make(width=width, talent=talent, firms=firms, funds=funds):
                return grid_scenario(width, talent, firms, funds, steps)

            build, run = [], []
            for _ in range(cfg["reps"]):
                b, r, m = timed_build_run(make, steps)
                build.append(b)
                run.append(r)
                final_firms = int(m.firms.n)
                final_innov = float(m.world.tick["innovations"].sum())
                del m
            agents = talent + firms
            per = [r / (agents * steps) for r in run]
            inst, sub = instrumented_shares(make, steps, 3)
            row = {"label": label, "grid": f"{width}x{width}", "talent": talent, "firms": firms,
                   "funds": funds, "agents": agents, "steps": steps,
                   "construct_s": build, "run_s": run, "construct": summary(build),
                   "run": summary(run), "s_per_agent_step": per,
                   "per_agent_step": summary(per), "firms_created_at_end": final_firms,
                   "innovations_last_step": final_innov,
                   "submodel_run_s": inst, "submodels": sub}
            if profile_largest and label == cfg["sizes"][-1][0]:
                m = InnovationModel(make(), seed=1, collect_agents=False)
                prof = cProfile.Profile()
                prof.enable()
                m.run(steps)
                prof.disable()
                row["profile_top_all_by_tottime"] = profile_top(prof, False, "tottime_s")
                del m
            out["sizes"].append(row)
            print(f"  (c) {label}: run median {row['run']['median']:.3f} s, "
                  f"{row['per_agent_step']['median'] * 1e9:.0f} ns/agent-step", flush=True)
            gc.collect()
    meds = [r["per_agent_step"]["median"] for r in out["sizes"]]
    out["flatness_max_over_min"] = max(meds) / min(meds)
    return out


# --------------------------------------------------------------------------- report
def fmt_s(d: dict, scale: float = 1.0, unit: str = "s", prec: int = 3) -> str:
    return (f"{d['min'] * scale:.{prec}f} / {d['median'] * scale:.{prec}f} / "
            f"{d['max'] * scale:.{prec}f} {unit}")


def print_table(res: dict) -> None:
    print()
    print(f"{'measurement':<46} {'min / median / max':<34} {'target':<12} met")
    print("-" * 100)
    a = res.get("a")
    if a:
        c = a["config"]
        name = f"(a) YRD {c['talent']}t/{c['firms']}f/{c['funds']}v, {c['steps']} st"
        print(f"{name + ' build':<46} {fmt_s(a['construct']):<34}")
        print(f"{name + ' run':<46} {fmt_s(a['run']):<34} {'<= 1 s':<12} "
              f"{'yes' if a['target_met'] else 'NO'}")
    b = res.get("b")
    if b:
        c = b["config"]
        name = f"(b) {c['width']}x{c['width']} {c['talent']}t/{c['firms']}f, {c['steps']} st"
        if b.get("completed_reps"):
            print(f"{name + ' build':<46} {fmt_s(b['construct'], prec=2):<34}")
            print(f"{name + ' run':<46} {fmt_s(b['run'], prec=2):<34}")
            print(f"{name + ' wall':<46} {fmt_s(b['wall'], prec=2):<34} {'<= 60 s':<12} "
                  f"{'yes' if b['target_wall_met'] else 'NO'}")
            print(f"{name + ' peak RSS':<46} {fmt_s(b['peak_rss_gb'], unit='GB', prec=2):<34} "
                  f"{'<= 4 GB':<12} {'yes' if b['target_memory_met'] else 'NO'}")
        else:
            st = sorted({r.get("status") for r in b["reps"]})
            print(f"{name:<46} no repetition completed ({', '.join(map(str, st))})")
            if "steps_done" in b:
                print(f"{'    steps completed':<46} {fmt_s(b['steps_done'], unit='', prec=0):<34}")
                print(f"{'    wall at stop':<46} {fmt_s(b['wall_at_stop'], prec=1):<34} "
                      f"{'<= 60 s':<12} NO")
            if "peak_rss_gb_at_stop" in b:
                print(f"{'    peak RSS at stop':<46} "
                      f"{fmt_s(b['peak_rss_gb_at_stop'], unit='GB', prec=2):<34} "
                      f"{'<= 4 GB':<12} NO")
    c = res.get("c")
    if c:
        for r in c["sizes"]:
            name = f"(c) {r['label']} ({r['grid']}, {r['talent']}t/{r['firms']}f, {r['steps']} st)"
            print(f"{name + ' run':<46} {fmt_s(r['run']):<34}")
            print(f"{'    per agent-step':<46} {fmt_s(r['per_agent_step'], 1e9, 'ns', 0):<34}")
        print(f"{'(c) flatness: max/min of medians':<46} {c['flatness_max_over_min']:.2f}")
    for key in ("a", "c"):
        sec = res.get(key)
        if not sec:
            continue
        tables = ([("(a)", sec["submodels"])] if key == "a"
                  else [(f"(c) {r['label']}", r["submodels"]) for r in sec["sizes"]])
        for label, sub in tables:
            top = ", ".join(f"{k.split(' ')[0]} {v['share'] * 100:.0f}%"
                            for k, v in list(sub.items())[:5])
            print(f"{label} time shares: {top}")
    if b:
        for r in b["reps"][:1]:
            if "submodels" in r:
                top = ", ".join(f"{k.split(' ')[0]} {v['share'] * 100:.0f}%"
                                for k, v in list(r["submodels"].items())[:5])
                print(f"(b) rep 1 time shares: {top}")
    for k, ws in res.get("warnings", {}).items():
        errs = [r.get("error") for r in res[k].get("reps", []) if r.get("error")]
        print(f"({k}) warnings: {sum(w['count'] for w in ws)} ({len(ws)} distinct)"
              + (f"; errors: {len(errs)}, e.g. {errs[0][:80]}" if errs else ""))
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small versions (smoke test, < 30 s)")
    ap.add_argument("--only", choices=("a", "b", "c"), help="run one measurement only")
    ap.add_argument("--mem-cap-gb", type=float, default=8.0,
                    help="address-space cap of each (b) child (default 8)")
    ap.add_argument("--time-cap-s", type=float, default=None,
                    help="stop a (b) child after the step that passes this (default 300; "
                         "quick: 60)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile runs")
    ap.add_argument("--out", type=Path, default=None, help="results file")
    ap.add_argument("--label", default="", help="free text stored with the results "
                    "(e.g. which snapshot of the code is measured)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child_b(json.loads(args.child))), flush=True)
        return 0

    cfg = QUICK if args.quick else FULL
    out_path = args.out or (ROOT / "benchmarks" /
                            ("results_quick.json" if args.quick else "results.json"))
    time_cap = args.time_cap_s or (60.0 if args.quick else 300.0)
    which = [args.only] if args.only else ["a", "b", "c"]
    date = sh("date", "-u")
    res: dict = {}
    if args.only and out_path.exists():
        with contextlib.suppress(ValueError, OSError):
            old = json.loads(out_path.read_text())
            if old.get("quick") == args.quick:
                res = old
    res.update({"quick": args.quick, "date_utc": date,
                "date_iso": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": machine_info(), "targets": TARGETS, "label": args.label})
    code_start = source_fingerprint()
    t_all = time.perf_counter()
    if "a" in which:
        print("(a) YRD baseline ...", flush=True)
        log = WarningLog()
        res["a"] = bench_a(cfg["a"], log, profile=not args.no_profile)
        res["a"]["date_utc"] = date
        res["a"]["warnings"] = log.as_list()
    if "b" in which:
        print("(b) large grid, one fresh subprocess per repetition ...", flush=True)
        res["b"] = bench_b(cfg["b"], args.mem_cap_gb, time_cap)
        res["b"]["date_utc"] = date
        res["b"]["warnings"] = [w for r in res["b"]["reps"] for w in r.get("warnings", [])]
    if "c" in which:
        print("(c) cost per agent-step ...", flush=True)
        log = WarningLog()
        res["c"] = bench_c(cfg["c"], log, profile_largest=not args.no_profile)
        res["c"]["date_utc"] = date
        res["c"]["warnings"] = log.as_list()
    res["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    res["warnings"] = {k: res[k]["warnings"] for k in ("a", "b", "c") if k in res}
    code_end = source_fingerprint()
    changed = code_end["sources_sha256"] != code_start["sources_sha256"]
    for k in which:
        res[k]["code"] = code_start
        res[k]["code_changed_during_run"] = changed
    res["code"] = {"start": code_start, "end": code_end, "changed_during_run": changed}
    res["bench_wall_s"] = time.perf_counter() - t_all
    out_path.write_text(json.dumps(res, indent=1, default=float) + "\n")
    print_table(res)
    if changed:
        print("WARNING: the model sources changed while the benchmark ran "
              f"({code_start['sources_sha256']} -> {code_end['sources_sha256']}); "
              "the figures mix two versions of the code.")
    print(f"code measured: {code_start['source_root']} HEAD {code_start['git_head'] or '-'} "
          f"sources {code_start['sources_sha256']}"
          + (f" (uncommitted: {', '.join(x.split()[-1] for x in code_start['uncommitted'])})"
             if code_start["uncommitted"] else ""))
    print(f"results written to {out_path} "
          f"({res['bench_wall_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
