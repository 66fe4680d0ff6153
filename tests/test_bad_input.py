"""Bad input ends with one line on stderr, exit status 2 and nothing written (issue #11,
section 3: the cases that used to crash with a traceback, run away, or be silently
accepted).

Each case is a row of a table: the files it needs, the command line, and what the one
line must name (the key, and what is allowed). The cases run in-process through
``experiments.cli.main`` (a traceback would fail the test just as well, and it is fast);
a few run end to end in a subprocess.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEEP_ARRAY = "x = " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_TABLE = "[" + ".".join(["a"] * 3000) + "]\n"

# (id, scenario text, what the line must contain)
SCENARIOS = [
    # [geography] of a grid
    ("cores=[[1]]", '[geography]\nkind = "grid"\ncores = [[1]]\n', "geography.cores"),
    ("cores=[]", '[geography]\nkind = "grid"\ncores = []\n', "geography.cores"),
    ("cores floats", '[geography]\nkind = "grid"\ncores = [[2.9, 3.9]]\n', "geography.cores"),
    ("cores strings", '[geography]\nkind = "grid"\ncores = [["2", "3"]]\n', "geography.cores"),
    ("cores inf", '[geography]\nkind = "grid"\ncores = [[inf, 1]]\n', "geography.cores"),
    ("corridor_cells", '[geography]\nkind = "grid"\ncorridor_cells = [[1]]\n',
     "geography.corridor_cells"),
    ("cell_km bool", '[geography]\nkind = "grid"\ncell_km = true\n', "geography.cell_km"),
    ("cell_km tiny", '[geography]\nkind = "grid"\ncell_km = 1e-200\n', "geography.cell_km"),
    ("core_radius tiny", '[geography]\nkind = "grid"\ncore_radius_cells = 1e-200\n',
     "geography.core_radius_cells"),
    ("province_blocks bools", '[geography]\nkind = "grid"\nprovince_blocks = [true, true]\n',
     "geography.province_blocks"),
    # keys of the wrong type
    ("description=5", "description = 5\n", "description = 5: a string"),
    ("run=[]", "run = []\n", "run = []: a table"),
    ("params string", 'params = "fast"\n', "params = 'fast': a table"),
    ("rule=5", "rule = 5\n", "rule = 5: an array of tables"),
    ("rule=[1]", "rule = [1]\n", "rule = [1]: an array of tables"),
    ("rule cities string", '[[rule]]\ncities = "Hefei"\n', "rule[0].cities"),
    ("expect measure=[1]", '[expect]\nmeasure = [1]\ndirection = "up"\n',
     "expect.measure = [1]: one of"),
    ("expect direction", '[expect]\nmeasure = "cv"\ndirection = {a = 1}\n', "expect.direction"),
    ("n_talent huge", "[params]\nn_talent = " + "9" * 400 + "\n",
     "params.n_talent = 999999999999999999...9999"),
    ("int of 5000 digits", "[params]\nn_talent = " + "9" * 5000 + "\n", "64-bit integers"),
    # nesting, size, files that are not regular files
    ("5000 nested brackets", DEEP_ARRAY, "(nesting)"),
    ("3000-deep table", DEEP_TABLE, "(nesting)"),
    ("21-deep arrays", "x = " + "[" * 21 + "]" * 21 + "\n", "at most 20 levels"),
    ("over 1 MB", 'description = "' + "x" * (1 << 20) + '"\n', "(file size)"),
    ("base=.", 'base = "."\n', "base = '.'"),
    ("base=/dev/zero", 'base = "/dev/zero"\n', "base = '/dev/zero'"),
    ("base a directory", 'base = "sub.toml"\n', "base = 'sub.toml'"),
    ("base a link to /dev/zero", 'base = "zero.toml"\n', "base = 'zero.toml'"),
]


def _main(argv, capsys):
    """Exit status and stderr of ``innogrid ARGV`` run in this process."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        rc = e.code
    return rc, capsys.readouterr().err


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


def _one_line(rc, err, *wanted):
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2, err
    assert len(lines) == 1, err[:2000]
    assert "Traceback" not in err and len(lines[0]) < 1000, lines[0][:2000]
    for w in wanted:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.mark.parametrize("text,wanted", [c[1:] for c in SCENARIOS],
                         ids=[c[0] for c in SCENARIOS])
def test_bad_scenario_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, text, wanted):
    sc = tmp_path / "s.toml"
    sc.write_text(text, encoding="utf-8")
    (tmp_path / "sub.toml").mkdir()
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    before = _tree(tmp_path)
    rc, err = _main(["run", sc, "--steps", "2", "--out", tmp_path / "out"], capsys)
    _one_line(rc, err, "s.toml", wanted)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("make", ["directory", "/dev/zero", "fifo"])
def test_the_scenario_itself_must_be_a_regular_file(tmp_path, capsys, make):
    if make == "directory":
        path = tmp_path / "d.toml"
        path.mkdir()
    elif make == "fifo":
        path = tmp_path / "f.toml"
        os.mkfifo(path)  # reading it would wait for a writer for ever
    else:
        path = Path(make)
    rc, err = _main(["run", path, "--out", tmp_path / "out"], capsys)
    _one_line(rc, err, str(path), "(file)", "a regular TOML file")
    assert not (tmp_path / "out").exists()


# (id, command line after 'innogrid', what the line must contain); checked before any work
FLAGS = [
    ("run --seed 2**70", ["run", "grid_baseline.toml", "--seed", str(2**70)],
     "--seed: 1180591620717411303424 is outside [0, 9,223,372,036,854,775,807]"),
    ("run --seed -4", ["run", "grid_baseline.toml", "--seed", "-4"], "--seed: -4 is outside"),
    ("run --steps 1e8", ["run", "grid_baseline.toml", "--steps", "100000000"],
     "--steps: 100000000 is outside [1, 10,000]"),
    ("run --steps 5000 digits", ["run", "grid_baseline.toml", "--steps", "9" * 5000],
     "is not an integer"),
    ("compare --root-seed", ["compare", "grid_baseline.toml", "free_flow.toml", "--root-seed",
                             str(2**63)], "--root-seed"),
    ("compare --seeds", ["compare", "grid_baseline.toml", "free_flow.toml", "--seeds",
                         "10000000"], "--seeds: 10000000 is outside [1, 10,000]"),
    ("compare --steps", ["compare", "grid_baseline.toml", "free_flow.toml", "--steps",
                         "20000"], "--steps"),
    ("sweep --jobs", ["sweep", "experiments/specs/yrd_grid.toml", "--jobs", "100000"],
     "--jobs: 100000 is outside [1, 1,024]"),
    ("sensitivity --resamples", ["sensitivity", "experiments/specs/ishigami_sobol.toml",
                                 "--resamples", "1000000000"], "--resamples"),
    ("viz --port 70000", ["viz", "grid_baseline.toml", "--port", "70000"],
     "--port: 70000 is outside [1, 65,535]"),
    ("viz --port 0", ["viz", "grid_baseline.toml", "--port", "0"], "--port: 0 is outside"),
]


@pytest.mark.parametrize("argv,wanted", [c[1:] for c in FLAGS], ids=[c[0] for c in FLAGS])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, monkeypatch, argv, wanted):
    monkeypatch.chdir(ROOT)
    rc, err = _main([*argv, "--out", tmp_path / "out"] if argv[0] != "viz" else argv, capsys)
    _one_line(rc, err, wanted, f"see 'innogrid {argv[0]} --help'")
    assert not (tmp_path / "out").exists()


def test_end_to_end_no_traceback_in_a_subprocess(tmp_path):
    """The deepest case and a device as the scenario, through the real entry point."""
    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP_ARRAY, encoding="utf-8")
    for scenario in (deep, "/dev/zero"):
        r = subprocess.run([sys.executable, "-m", "experiments.cli", "run", str(scenario),
                            "--out", str(tmp_path / "out")], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
        _one_line(r.returncode, r.stderr, str(scenario))
        assert not (tmp_path / "out").exists()


def test_a_good_grid_still_runs(tmp_path, capsys):
    sc = tmp_path / "s.toml"
    sc.write_text('description = "a good grid"\n[run]\nsteps = 2\n[geography]\nkind = "grid"\n'
                  "cores = [[5, 5]]\ncell_km = 40.0\ncore_radius_cells = 2.5\n[params]\n"
                  "n_talent = 2000\nn_firms = 200\nn_funds = 10\n", encoding="utf-8")
    rc, err = _main(["run", sc, "--out", tmp_path / "out"], capsys)
    assert rc == 0, err
    assert (tmp_path / "out" / "cities.csv").exists()
