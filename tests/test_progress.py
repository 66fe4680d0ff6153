"""Progress off a terminal: plain lines at an interval, a 'preparing' line, nothing when off."""

from __future__ import annotations

import io
import time

from experiments.running.progress import Progress, fmt_seconds


def test_plain_lines_off_a_terminal(monkeypatch):
    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "0")
    out = io.StringIO()  # not a terminal
    with Progress(4, "compare", stream=out) as p:
        for _ in range(4):
            p.update()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("compare: 1/4 runs (25%)") and "left" in lines[0]
    assert lines[-1].startswith("compare: 4/4 runs (100%)") and "elapsed" in lines[-1]
    assert "\r" not in out.getvalue()  # no bar characters


def test_the_interval_is_respected_and_short_work_is_silent(monkeypatch):
    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "3600")
    out = io.StringIO()
    with Progress(100, "sweep x", stream=out) as p:
        for _ in range(100):
            p.update()
    assert out.getvalue() == ""


def test_a_slow_start_says_what_is_being_prepared(monkeypatch):
    import experiments.running.progress as prog

    monkeypatch.setattr(prog, "PREPARING_AFTER", 0.05)
    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "3600")
    out = io.StringIO()
    with Progress(2, "compare", stream=out, preparing="starting 2 worker processes") as p:
        time.sleep(0.3)
        p.update()
    assert out.getvalue().splitlines()[0] == "compare: preparing (starting 2 worker processes)"


def test_disabled_prints_nothing(monkeypatch):
    import experiments.running.progress as prog

    monkeypatch.setattr(prog, "PREPARING_AFTER", 0.01)
    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "0")
    out = io.StringIO()
    with Progress(3, "x", stream=out, enabled=False, preparing="y") as p:
        time.sleep(0.05)
        p.update(3)
    assert out.getvalue() == ""


def test_durations_for_people():
    assert fmt_seconds(5) == "5 s" and fmt_seconds(150) == "2.5 min"
    assert fmt_seconds(7200) == "2.0 h"


def test_compare_off_a_terminal_prints_progress_lines(tmp_path, monkeypatch, capsys):
    from experiments.cli import main
    from tests.conftest import small_grid_toml

    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "0")
    base = tmp_path / "b.toml"
    base.write_text(small_grid_toml(steps=3))
    assert main(["compare", str(base), str(base), "--seeds", "2",
                 "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(e.startswith("compare: 4/4 runs (100%)") for e in err), err


def test_a_posterior_comparison_counts_every_draw_on_one_line(tmp_path, monkeypatch, capsys):
    """Over posterior draws the count runs across all draws (it used to restart at 0/N for
    each draw, twenty times, with nothing saying which draw it was)."""
    from experiments.analysis.compare import compare_posterior
    from tests.conftest import small_grid_toml

    monkeypatch.setenv("INNOGRID_PROGRESS_SECONDS", "0")
    base = tmp_path / "b.toml"
    base.write_text(small_grid_toml(steps=3))
    draws = [{"innov_rate": 0.004}, {"innov_rate": 0.006}, {"innov_rate": 0.008}]
    runs = compare_posterior(str(base), [str(base)], draws, seeds=2, root=1, progress=None)
    assert sorted(runs["draw"].unique()) == [0, 1, 2]
    err = [e for e in capsys.readouterr().err.splitlines() if "/12 runs" in e]
    assert err[0].startswith("compare (3 posterior draws x 2 seeds): 1/12 runs"), err
    assert err[-1].startswith("compare (3 posterior draws x 2 seeds): 12/12 runs (100%)"), err
    assert len([e for e in err if "(100%)" in e]) == 1  # no per-draw restart
