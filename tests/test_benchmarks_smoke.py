"""The benchmark script stays runnable (its --quick mode; figures are not asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmark_quick_mode_runs(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "benchmarks/bench_model.py", "--quick", "--no-profile",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"machine", "date_utc", "a", "b", "c"} <= set(data)
    assert data["machine"]["cpu_model"] and data["machine"]["python"]
    assert "(a)" in proc.stdout


@pytest.mark.slow
def test_sweep_benchmark_quick_mode_runs(tmp_path):
    proc = subprocess.run([sys.executable, "benchmarks/bench_sweep.py", "--quick", "--only",
                           "sobol", "--out", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # written where asked, never into the repository
    data = json.loads((tmp_path / "results_sweep_quick.json").read_text())
    assert (tmp_path / "sobol_quick" / "indices.csv").is_file()
    assert data["sobol"]["runs"] == 2 * (8 + 2) and data["sobol"]["failed"] == 0
    assert data["machine"]["cpu_model"]


@pytest.mark.slow
def test_branch_benchmark_quick_mode_runs(tmp_path):
    out = tmp_path / "branch.json"
    proc = subprocess.run([sys.executable, "benchmarks/bench_branch.py", "--quick", "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"machine", "code", "date_utc", "f", "g"} <= set(data)
    assert data["f"]["config"]["runs_per_comparison"] == 2 and data["f"]["rows"] == [2, 2]
    assert data["g"]["replay_s"]["median"] > 0 and data["f"]["ratio_replay_over_branch"] > 0
    assert "(f)" in proc.stdout and "(g)" in proc.stdout
