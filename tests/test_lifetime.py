"""Processes go when their parent goes (issue 11, section 5).

A sweep's workers, its fork server and resource tracker end when the sweep's process is
killed, even by SIGKILL; SIGTERM stops a sweep as cleanly as Ctrl-C and says what was kept;
``innogrid viz`` takes its ``solara run`` server with it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.running.sweep import load_results, load_spec, sweep

ROOT = Path(__file__).resolve().parent.parent
GRID = str(ROOT / "scenarios" / "grid_baseline.toml")


def _session(sid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of session ``sid``: the command and everything it started."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((int(d.name), cmd[:120]))
    return found


def _wait_gone(sid: int, seconds: float = 5.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + seconds
    while (left := _session(sid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def start_sweep(tmp_path, steps=40, rows=2, backend="processes"):
    """A 24-run sweep in its own session, once ``rows`` runs are in its journal."""
    spec = tmp_path / "long.toml"
    spec.write_text(f'scenarios = ["{GRID}"]\nreplicates = 6\nroot_seed = 3\nsteps = {steps}\n'
                    '[design]\nkind = "grid"\n[params]\nspill_rate = [0.1, 0.2, 0.3, 0.4]\n')
    out = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "sweep", str(spec),
                             "--out", str(out), "--jobs", "2", "--no-progress",
                             "--backend", backend], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 180
    while not (journal.exists() and journal.read_bytes().count(b"\n") >= rows):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the sweep ended or stalled before it could be stopped: "
                        f"{proc.stderr.read()}")
        time.sleep(0.05)
    return proc, spec, out


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_sigkill_of_a_sweep_leaves_no_process_behind(tmp_path, backend):
    """Processes: the workers watch the main process (experiments.running.lifetime); Dask's local
    cluster: its nannies and workers end with the scheduler that lived in the main process."""
    proc, _, _ = start_sweep(tmp_path, backend=backend)
    workers = [p for p, cmd in _session(proc.pid) if p != proc.pid]
    assert len(workers) >= 3, _session(proc.pid)  # fork server, workers, resource tracker
    os.kill(proc.pid, signal.SIGKILL)  # the main process only: its children must follow
    proc.wait(timeout=30)
    left = _wait_gone(proc.pid)
    for pid, _ in left:  # do not leave them running whatever the outcome
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_sigterm_stops_a_sweep_as_ctrl_c_does_and_says_how_to_resume(tmp_path):
    proc, spec, out = start_sweep(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    err = proc.stderr.read().strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "of 24 runs kept" in err and "re-run the same command to resume" in err, err
    kept = int(err.split("interrupted: ")[1].split(" of ")[0])
    assert kept == len(load_results(out)) >= 2
    assert _wait_gone(proc.pid) == []
    resumed = sweep(load_spec(spec), out, backend="serial", progress=False)
    assert len(resumed) == 24 and (resumed["status"] == "ok").all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_sigint() -> None:
    """A command started from a process that ignores SIGINT inherits the ignore (as from
    nohup or a background job, where Ctrl-C is not meant for it); start viz as a terminal
    would, so that the test does not depend on what earlier tests did to pytest."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_viz_takes_its_server_with_it(sig):
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "viz",
                             "grid_baseline.toml", "--port", str(_free_port())], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while not [p for p, cmd in _session(proc.pid) if p != proc.pid and "solara" in cmd]:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("viz did not start its server")
        time.sleep(0.1)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    left = _wait_gone(proc.pid)
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
