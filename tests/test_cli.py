"""The command line: output contract, bad input (exit 2, one clear line, nothing written)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.presentation.numbers import human
from tests.conftest import small_grid_toml

ROOT = Path(__file__).resolve().parent.parent

GRID = small_grid_toml(steps=4)


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_summary_speaks_in_numbers_for_people(tmp_path, capsys):
    sc = _write(tmp_path, GRID)
    assert main(["run", str(sc), "--seed", "9", "--steps", "8", "--out",
                 str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    region = pd.read_csv(tmp_path / "o" / "region.csv")
    factor = region["mean_index"].iloc[8] / region["mean_index"].iloc[4]
    # the index in model units and as growth over its first-year level, with the studies'
    assert "model units" in printed and "its level at the end of the first year" in printed
    assert human(factor) + "x" in printed and "347x" in printed
    assert not re.search(r"\de[+-]\d", printed)  # no scientific notation


def test_run_writes_the_output_contract(tmp_path, capsys):
    sc = _write(tmp_path, GRID)
    out = tmp_path / "out"
    assert main(["run", str(sc), "--seed", "9", "--steps", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tier 1" in printed and "seed 9" in printed
    cities = pd.read_csv(out / "cities.csv")
    region = pd.read_csv(out / "region.csv")
    for col in ("step", "year", "city", "province", "index", "tier", "knowledge", "talent",
                "firms", "vc_invested"):
        assert col in cities.columns
    for col in ("step", "year", "mean_index", "cv", "gini", "theil_between", "theil_within",
                "morans_i", "tier_1", "tier_2", "tier_3", "tier_4", "spillover_share",
                "collab_index"):
        assert col in region.columns
    assert len(region) == 4 and len(cities) == 4 * 25
    assert (cities["seed"] == 9).all() and (region["seed"] == 9).all()
    for k in ("talent", "capital", "knowledge", "collaboration"):
        m = pd.read_csv(out / "flows" / f"{k}.csv", index_col=0)
        assert m.shape == (25, 25)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 9 and meta["steps"] == 3
    assert meta["params"]["n_talent"] == 500
    for k in ("innogrid_version", "git_commit", "time_utc", "policy_default"):
        assert meta[k]
    assert (out / "cities.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert meta["scenario"]["file"] == str(sc.resolve())  # outside the project: absolute


def test_records_name_project_files_relative_to_the_project_root(tmp_path):
    """A shipped record names the same files in any clone; other paths stay absolute."""
    from experiments.running.run import ROOT, project_path

    assert project_path(ROOT / "scenarios" / "yrd_history.toml") == "scenarios/yrd_history.toml"
    assert project_path(ROOT / "experiments" / ".." / "scenarios") == "scenarios"
    assert project_path(tmp_path / "a.toml") == str((tmp_path / "a.toml").resolve())


def test_rerun_replaces_earlier_output(tmp_path):
    sc = _write(tmp_path, GRID)
    out = tmp_path / "out"
    assert main(["run", str(sc), "--steps", "2", "--out", str(out)]) == 0
    assert main(["run", str(sc), "--steps", "3", "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "region.csv")) == 4


def test_refuses_to_overwrite_foreign_directory(tmp_path, capsys):
    sc = _write(tmp_path, GRID)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("do not lose me")
    assert main(["run", str(sc), "--out", str(out)]) == 2
    assert "not an innogrid output" in capsys.readouterr().err
    assert (out / "thesis.txt").read_text() == "do not lose me"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]


BAD = [
    ("[params]\nn_talnt = 5\n", "params.n_talnt", "unknown key"),
    ("[params]\np_search = 2.0\n", "params.p_search", "[0.0, 1.0]"),
    ("[params]\nn_talent = \"many\"\n", "params.n_talent", "integer"),
    ("[params\nn_talent = 5\n", "(syntax)", "valid TOML"),
    ("[[rule]]\ncities = [\"Atlantis\"]\nshare_ip = 0.1\n", "rule[0].cities", "Shanghai"),
    ("[[rule]]\nprovinces = [\"Guangdong\"]\n", "rule[0].provinces", "Jiangsu"),
    ("[[rule]]\nshare_lead = 0.9\n", "share_*", "sum to <= 1"),
    ("[policy]\nlead_targets = \"Hefei, Gotham\"\n", "policy.lead_targets", "Gotham"),
    ("[run]\nsteps = 0\n", "run.steps", "[1, 10000]"),
    ("[geography]\nkind = \"grid\"\nwidth = 40\n", "geography.width", "[5, 32]"),
    ("colour = 1\n", "colour", "unknown key"),
    ("base = \"missing.toml\"\n", "base", "existing TOML"),
    ("[expect]\nmeasure = \"happiness\"\ndirection = \"up\"\n", "expect.measure", "target_rank"),
    ("[expect]\nmeasure = \"cv\"\ndirection = \"sideways\"\n", "expect.direction", "up"),
    ("[expect]\nmeasure = \"cv\"\ndirection = \"up\"\ncities = [\"Gotham\"]\n",
     "expect.cities", "Shanghai"),
]


@pytest.mark.parametrize("text,key,allowed", BAD)
def test_bad_scenarios_exit_2_with_one_clear_line(tmp_path, text, key, allowed):
    sc = _write(tmp_path, text)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "run", str(sc), "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert str(sc) in err and key in err and allowed in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_missing_file_and_bad_options(tmp_path):
    for args in (["run", str(tmp_path / "nope.toml")], ["run", "scenarios/yrd_baseline.toml",
                                                        "--seed", "-4"],
                 ["run", "scenarios/yrd_baseline.toml", "--steps", "abc"], ["frobnicate"]):
        proc = subprocess.run([sys.executable, "-m", "experiments.cli", *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_inheritance_merges_and_appends_rules(tmp_path):
    from model.scenario import load_scenario

    _write(tmp_path, GRID + "[[rule]]\ncities = [\"c0_0\"]\nshare_ip = 0.0\n", "base.toml")
    child = _write(tmp_path, "base = \"base.toml\"\n[params]\nn_firms = 50\n[[rule]]\n"
                   "cities = [\"c1_1\"]\nshare_ip = 0.0\n", "child.toml")
    sc = load_scenario(child)
    assert sc.params.n_firms == 50 and sc.params.n_talent == 500
    assert len(sc.rules) == 2 and sc.steps == 4


def test_params_from_takes_only_the_parameters_of_another_scenario(tmp_path):
    from model.scenario import ScenarioError, load_scenario

    # the source: another geography's chain (a base with parameters, rules and a policy)
    _write(tmp_path, GRID.replace("[params]", "[params]\nspill_rate = 0.3"), "root.toml")
    _write(tmp_path, "base = \"root.toml\"\n[params]\nn_firms = 77\nelast_rd = 0.9\n"
           "[policy]\nshare_ip = 0.0\n[[rule]]\ncities = [\"c0_0\"]\nshare_ip = 0.0\n",
           "source.toml")
    # the taker: its own base (steps 4, no rules) and one parameter of its own
    _write(tmp_path, GRID.replace("[params]", "[params]\nelast_rd = 0.8\nlearning_rate = 0.2"),
           "other.toml")
    taker = _write(tmp_path, "base = \"other.toml\"\nparams_from = \"source.toml\"\n"
                   "[params]\nelast_rd = 0.95\n", "taker.toml")
    sc = load_scenario(taker)
    src = load_scenario(tmp_path / "source.toml")
    assert sc.params.n_firms == 77 and sc.params.spill_rate == 0.3  # the source's chain
    assert sc.params.elast_rd == 0.95          # the file's own win over the source ...
    assert sc.params.learning_rate == 0.2      # ... and the base's stay where not overridden
    assert src.params.elast_rd == 0.9 and src.params.learning_rate != 0.2
    assert sc.rules == () and src.rules != ()  # no rules, policy or run from the source
    assert sc.policy == load_scenario(tmp_path / "other.toml").policy != src.policy
    # a child of the taker inherits the imported parameters, its own still win
    child = _write(tmp_path, "base = \"taker.toml\"\n[params]\nn_firms = 60\n", "child.toml")
    kid = load_scenario(child)
    assert kid.params.n_firms == 60 and kid.params.spill_rate == 0.3
    assert kid.params.elast_rd == 0.95
    # errors name the key
    for text, value in (('params_from = "nope.toml"\n', "nope.toml"),
                        ('params_from = "x.txt"\n', "x.txt"),
                        ('params_from = "loop.toml"\n', "loop.toml")):
        bad = _write(tmp_path, text, "loop.toml" if "loop" in value else "bad.toml")
        with pytest.raises(ScenarioError) as e:
            load_scenario(bad)
        assert e.value.key == "params_from" and value in str(e.value)


def test_expect_is_parsed_and_not_inherited(tmp_path):
    from model.scenario import load_scenario

    _write(tmp_path, GRID + "[[rule]]\ncities = [\"c0_0\"]\nshare_ip = 0.0\n[expect]\n"
           "measure = \"target_rank\"\ndirection = \"down\"\n", "base.toml")
    base = load_scenario(tmp_path / "base.toml")
    assert base.expect.measure == "target_rank" and base.expect.direction == "down"
    assert base.targets() == [base.geography.index("c0_0")]  # the rules' cities
    child = _write(tmp_path, "base = \"base.toml\"\n", "child.toml")
    assert load_scenario(child).expect is None
    named = _write(tmp_path, "base = \"base.toml\"\n[expect]\nmeasure = \"target_share\"\n"
                   "direction = \"up\"\ncities = [\"c2_2\", \"c1_1\"]\n", "named.toml")
    sc = load_scenario(named)
    assert sc.targets() == sorted([sc.geography.index("c2_2"), sc.geography.index("c1_1")])


def test_scenarios_lists_shipped_files(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "yrd_baseline" in out and "grid_baseline" in out
    # the forward scenarios too, by names that run takes as listed
    listed = [ln.split()[0] for ln in out.splitlines() if ln.startswith("forward/fwd_")]
    assert "forward/fwd_status_quo" in listed and "INVALID" not in out
    from model.scenario import find_scenario
    assert all(find_scenario(n).is_file() for n in listed)


def test_every_command_has_help_with_an_example(capsys):
    from experiments.cli import _parser

    commands = _parser()._subparsers._group_actions[0].choices
    assert set(commands) >= {"run", "scenarios", "compare", "calibrate", "sweep", "sensitivity",
                             "report", "viz"}
    for name in [None, *commands]:
        with pytest.raises(SystemExit) as e:
            main(["--help"] if name is None else [name, "--help"])
        assert e.value.code == 0
        assert "example" in capsys.readouterr().out, name


def test_version_broken_pipe_and_names_without_toml(tmp_path):
    """innogrid --version; `innogrid scenarios | head -1` ends quietly; a name as listed
    by `innogrid scenarios` (no .toml) is accepted by run."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "experiments.cli", "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("innogrid ") and "model code" in r.stdout
    p = subprocess.Popen([sys.executable, "-m", "experiments.cli", "scenarios"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first line is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141  # as a command killed by SIGPIPE, but with no noise
    assert "Traceback" not in err and "BrokenPipe" not in err and not err.strip(), err
    assert main(["run", "grid_baseline", "--steps", "1", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "region.csv").exists()
