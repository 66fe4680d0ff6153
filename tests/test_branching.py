"""Branching at the command line: save states, continue one, compare scenarios from them."""

import json

import pandas as pd
import pytest

from experiments.analysis.compare import replicate_seeds
from experiments.cli import main
from experiments.running.output import MANIFEST_NAME
from tests.conftest import small_grid_toml

GRID = small_grid_toml(steps=8)
# a rule from 2002: after a branching point at the end of 2001 (step 4)
LATE = 'base = "grid.toml"\n[[rule]]\ncities = ["c1_1", "c3_3"]\nfrom_year = 2002\n' \
       'share_platform = 0.12\nbudget_multiplier = 2.0\n'
# a rule that ended before that point: never in force in a branch
IDLE = 'base = "grid.toml"\n[[rule]]\ncities = ["c2_2"]\nuntil_year = 2001.5\n' \
       'share_guidance = 0.04\n'


@pytest.fixture
def scen(tmp_path):
    for name, text in (("grid.toml", GRID), ("late.toml", LATE), ("idle.toml", IDLE)):
        (tmp_path / name).write_text(text)
    return {k: str(tmp_path / f"{k}.toml") for k in ("grid", "late", "idle")}


def _parquet(d, name):
    return pd.read_parquet(d / f"{name}.parquet")


def test_run_saves_a_state_and_continues_it_as_one_run(tmp_path, scen, capsys):
    states, first, cont = tmp_path / "states", tmp_path / "first", tmp_path / "cont"
    assert main(["run", scen["grid"], "--seed", "9", "--until", "2001", "--save-state",
                 str(states), "--out", str(first)]) == 0
    assert (states / "seed-9.npz").is_file()
    manifest = json.loads((states / MANIFEST_NAME).read_text())
    assert manifest["files"] == {"seed-9.npz": "state seed-9.npz"}
    assert json.loads((first / "metadata.json").read_text())["state_saved"].endswith("seed-9.npz")
    assert len(_parquet(first, "region")) == 5                      # steps 0..4, to 2002.0
    # a second seed joins the folder; the first stays
    assert main(["run", scen["grid"], "--seed", "10", "--steps", "4", "--save-state",
                 str(states), "--out", str(tmp_path / "second")]) == 0
    assert sorted(p.name for p in states.glob("*.npz")) == ["seed-10.npz", "seed-9.npz"]
    capsys.readouterr()
    assert main(["run", scen["grid"], "--from", str(states), "--seed", "9", "--until", "2002",
                 "--out", str(cont)]) == 0
    printed = capsys.readouterr().out
    assert "seed 9" in printed and "continued" in printed and "saved at step 4" in printed
    meta = json.loads((cont / "metadata.json").read_text())
    assert meta["from_state"]["seed"] == 9 and meta["from_state"]["step"] == 4
    assert len(meta["from_state"]["sha256"]) == 64 and meta["steps"] == 8
    assert meta["steps_run"] == 4 and meta["from_state"]["params_changed"] == {}
    # its report adds the index with the branching point and the tier maps at both ends
    assert main(["report", str(cont)]) == 0
    page = (cont / "report.html").read_text()
    assert "Continued from a saved state" in page and "saved history to 2002" in page
    assert (cont / "report_figures" / "branch_tier_maps.png").stat().st_size > 10_000
    # the continued tables hold the saved steps and equal one run of 8 steps, bit for bit
    replay = tmp_path / "replay"
    assert main(["run", scen["grid"], "--seed", "9", "--steps", "8", "--out", str(replay)]) == 0
    for t in ("cities", "region"):
        pd.testing.assert_frame_equal(_parquet(cont, t), _parquet(replay, t), check_exact=True)
    for k in ("talent", "capital", "knowledge", "collaboration"):
        assert (cont / "flows" / f"{k}.csv").read_text() == (replay / "flows" / f"{k}.csv"
                                                             ).read_text()


def test_compare_branches_every_scenario_from_the_same_states(tmp_path, scen, capsys):
    states = tmp_path / "states"
    assert main(["run", scen["grid"], "--until", "2001", "--seeds", "2", "--root-seed", "5",
                 "--save-state", str(states)]) == 0
    seeds = replicate_seeds(5, 2)
    assert sorted(p.name for p in states.glob("*.npz")) == sorted(f"seed-{s}.npz" for s in seeds)
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["compare", scen["grid"], scen["late"], scen["idle"], "--from", str(states),
                 "--until", "2002", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "2 saved states" in printed.out and "continued to 2003" in printed.out
    warning = [line for line in printed.err.splitlines() if "idle.toml" in line]
    assert len(warning) == 1 and "1 of 1 rules are never in force in this run (2002 to 2003)" \
        in warning[0] and "rule[0] (start to 2001.5)" in warning[0]
    assert "late.toml" not in printed.err
    meta = json.loads((out / "metadata.json").read_text())
    assert sorted(meta["seeds"]) == sorted(seeds) and meta["root_seed"] is None
    assert [s["step"] for s in meta["from_states"]] == [4, 4] and meta["steps"] == 8
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(set(runs["seed"])) == sorted(seeds) and len(runs) == 2 * 2 * 2
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "continued from</th><td>2 saved states at step 4 (2002.0) of grid" in page
    assert "python -m experiments.analysis.projections" in page
    # common random numbers from the branching point: a rule that starts after it gives
    # the same runs as a replay of the same seeds from the start
    replay = tmp_path / "replay"
    assert main(["compare", scen["grid"], scen["late"], "--seeds", "2", "--root-seed", "5",
                 "--until", "2002", "--out", str(replay)]) == 0
    a = runs[runs["comparison"] == "late"].sort_values(["seed", "role"]).reset_index(drop=True)
    b = pd.read_csv(replay / "runs.csv").sort_values(["seed", "role"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert (a[a["role"] == "other"]["public_spending"].to_numpy()
            != a[a["role"] == "base"]["public_spending"].to_numpy()).all()


def test_branching_input_errors_exit_2_with_one_line_and_write_nothing(tmp_path, scen, capsys):
    states = tmp_path / "states"
    assert main(["run", scen["grid"], "--seed", "9", "--until", "2001", "--save-state",
                 str(states), "--out", str(tmp_path / "first")]) == 0
    assert main(["run", scen["grid"], "--seed", "10", "--until", "2002", "--save-state",
                 str(tmp_path / "later"), "--out", str(tmp_path / "f2")]) == 0
    bad = tmp_path / "bad.npz"
    bad.write_bytes((states / "seed-9.npz").read_bytes()[:1000])
    (tmp_path / "big.toml").write_text(GRID.replace("width = 5", "width = 6"))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    out = tmp_path / "never"
    cases = [
        (["run", scen["grid"], "--from", str(bad), "--until", "2003"], "truncated or corrupt"),
        (["run", str(tmp_path / "big.toml"), "--from", str(states), "--until", "2003"],
         "its geography is grid 5x5"),
        (["run", scen["grid"], "--from", str(states), "--until", "2001"],
         "--until = 2001: an end after the start of the run (step 4, 2002)"),
        (["run", scen["grid"], "--from", str(states), "--seed", "11", "--until", "2003"],
         "no state of seed 11"),
        (["run", scen["grid"], "--from", str(tmp_path / "nowhere.npz")], "no such file"),
        (["run", scen["grid"], "--seeds", "2"], "--seeds = 2: only with --save-state"),
        (["run", scen["grid"], "--seeds", "2", "--save-state", str(tmp_path / "s2"), "--seed",
          "4"], "--seed = 4: not with --seeds"),
        (["run", scen["grid"], "--jobs", "2"], "--jobs = 2: only with --seeds"),
        (["run", scen["grid"], "--until", "2001", "--save-state", str(precious)],
         "is not an innogrid output"),
        (["compare", scen["grid"], scen["late"], "--from", str(states), "--seeds", "3"],
         "--seeds = 3: not with --from"),
        (["compare", scen["grid"], scen["late"], "--from", str(states), str(tmp_path / "later")],
         "states saved at different steps [4, 8]"),
        (["compare", scen["grid"], scen["late"], "--from", str(tmp_path / "precious")],
         "a folder with no state file"),
        (["compare", scen["grid"], scen["late"], "--from", str(states / "seed-9.npz"),
          str(states / "seed-9.npz")], "a second state of seed 9"),
    ]
    for argv, message in cases:
        capsys.readouterr()
        if not (argv[0] == "run" and "--seeds" in argv):   # run --seeds takes no --out
            argv = [*argv, "--out", str(out)]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (argv, err)
        assert err[0].startswith("innogrid: error: ")
        assert not out.exists() and not (tmp_path / "s2").exists()
        assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    with pytest.raises(SystemExit) as e:
        main(["run", scen["grid"], "--steps", "4", "--until", "2003"])
    assert e.value.code == 2


def test_a_branch_does_not_warn_of_the_rules_its_saved_history_applied(tmp_path, scen, capsys):
    """A rule that ended before the branching point warns only if the history lacked it."""
    states = tmp_path / "states"
    # the history: idle.toml, whose rule (to 2001.5) is in force in the saved steps 0..3
    assert main(["run", scen["idle"], "--until", "2001", "--seeds", "1", "--root-seed", "5",
                 "--save-state", str(states)]) == 0
    (tmp_path / "fwd.toml").write_text(
        'base = "idle.toml"\n[[rule]]\ncities = ["c1_1"]\nfrom_year = 2002\n'
        'share_platform = 0.12\n')
    (tmp_path / "ended.toml").write_text(
        'base = "idle.toml"\n[[rule]]\ncities = ["c3_3"]\nfrom_year = 2001.25\n'
        'until_year = 2001.75\nshare_guidance = 0.04\n')
    capsys.readouterr()
    assert main(["compare", scen["idle"], str(tmp_path / "fwd.toml"), str(tmp_path / "ended.toml"),
                 "--from", str(states), "--until", "2002", "--out", str(tmp_path / "cmp")]) == 0
    err = capsys.readouterr().err
    assert "idle.toml" not in err and "fwd.toml" not in err
    # the branch's own rule that ended before 2002 never acts: it alone is named
    warning = [line for line in err.splitlines() if "ended.toml" in line]
    assert len(warning) == 1 and "1 of 2 rules are never in force" in warning[0] \
        and "rule[1] (2001.25 to 2001.75)" in warning[0]
    # a run --from of the same state: the same rule
    assert main(["run", str(tmp_path / "ended.toml"), "--from", str(states), "--until", "2002",
                 "--out", str(tmp_path / "one")]) == 0
    err = capsys.readouterr().err
    assert "1 of 2 rules are never in force" in err and "rule[1]" in err
