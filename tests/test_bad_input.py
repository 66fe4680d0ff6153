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


def test_viz_on_a_busy_port_exits_2_with_one_line_and_serves_nothing():
    """End to end: the port is checked before anything is served (it used to print
    "serving on ..." and end with solara's exit status 3 and its messages)."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "experiments.cli", "viz", "grid_baseline.toml",
                            "--port", str(port)], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert r.stdout == ""  # no "serving on ..."
    _one_line(r.returncode, r.stderr, f"--port {port}: 127.0.0.1:{port} is already in use",
              "choose another port")


ISHIGAMI = 'model = "ishigami"\noutcomes = ["y"]\n'
BOUNDS = "[params]\nx1 = [0.0, 1.0]\nx2 = [0.0, 1.0]\nx3 = [0.0, 1.0]\n"
GRID10 = "[params]\n" + "".join(f"x{i} = {[float(v) for v in range(10)]}\n" for i in (1, 2, 3))
# (id, spec text, what the line must contain)
SPECS = [
    ("design.n = 1e12", ISHIGAMI + '[design]\nkind = "lhs"\nn = 1e12\n' + BOUNDS,
     "design.n = 1000000000000.0: an integer >= 1"),
    ("design.n = 10**12", ISHIGAMI + '[design]\nkind = "lhs"\nn = 1000000000000\n' + BOUNDS,
     "design.n = 1000000000000: a design of at most 1,000,000 runs"),
    ("sobol second order", ISHIGAMI + '[design]\nkind = "sobol"\nsecond_order = true\n'
     "n = 131072\n" + BOUNDS, "asks for 1 x 1,048,576 x 1 = 1,048,576"),
    ("grid x replicates", ISHIGAMI + "replicates = 10000\n" + GRID10,
     "params = '10 x 10 x 10 values': a design of at most 1,000,000 runs"),
    ("replicates 10**9", ISHIGAMI + "replicates = 1000000000\n" + GRID10, "replicates"),
    ("5000 nested brackets", DEEP_ARRAY, "(nesting)"),
    ("params string", ISHIGAMI + 'params = "x"\n', "params = 'x': a table"),
]


@pytest.mark.parametrize("text,wanted", [c[1:] for c in SPECS], ids=[c[0] for c in SPECS])
def test_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, text, wanted):
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    for command in ("sweep", "sensitivity"):
        rc, err = _main([command, spec, "--out", tmp_path / "out", "--backend", "serial",
                         "--no-progress"], capsys)
        _one_line(rc, err, "spec.toml", wanted)
        assert _tree(tmp_path) == ["spec.toml"]


GOOD_CSV = "x1,x2,x3\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n"
PAWN = ISHIGAMI + 'sample = "s.csv"\n[design]\nkind = "pawn"\n'
# (id, sample.csv or None, problem.json or None, spec text, what the line must contain)
SAMPLES = [
    ("no sample file", None, None, ISHIGAMI + 'sample = "nope.csv"\n[design]\nkind = "pawn"\n'
     + BOUNDS, "nope.csv': an existing CSV file of sample points (no such file)"),
    ("sample a directory", "DIR", None, PAWN + BOUNDS, "a regular CSV file of sample points"),
    ("unknown column", "x1,x2,xx3\n0.1,0.2,0.3\n", None, PAWN + BOUNDS,
     "s.csv: (header) = 'xx3': a column per parameter of the spec; did you mean 'x3'?"),
    ("missing column", "x1,x2\n0.1,0.2\n", None, PAWN + BOUNDS, "missing: ['x3']"),
    ("no rows", "x1,x2,x3\n", None, PAWN + BOUNDS, "s.csv: (rows) = 0: at least one sample"),
    ("not a number", "x1,x2,x3\n0.1,0.2,0.3\n0.1,abc,0.3\n", None, PAWN + BOUNDS,
     "s.csv: x2 (row 2) = 'abc': a finite number (a value of parameter x2)"),
    ("empty cell", "x1,x2,x3\n0.1,,0.3\n", None, PAWN + BOUNDS, "x2 (row 1) = '': a finite"),
    ("nan", "x1,x2,x3\nnan,0.2,0.3\n", None, PAWN + BOUNDS, "x1 (row 1) = 'nan': a finite"),
    ("outside the bounds", "x1,x2,x3\n0.1,0.2,0.3\n0.1,0.2,1.5\n", None, PAWN + BOUNDS,
     "sample x3 (row 2) = 1.5: a finite value in the bounds of params.x3, [0.0, 1.0]"),
    ("with design.n", GOOD_CSV, None, PAWN + "n = 10\n" + BOUNDS,
     "design.n = 10: not with a sample"),
    ("with a grid", GOOD_CSV, None, ISHIGAMI + 'sample = "s.csv"\n[design]\nkind = "grid"\n'
     "[params]\nx1 = [0.1]\nx2 = [0.2]\nx3 = [0.3]\n", "only with design.kind = lhs, pawn"),
    ("sobol of any rows", GOOD_CSV, None, ISHIGAMI + 'sample = "s.csv"\n[design]\n'
     'kind = "sobol"\n' + BOUNDS, "a multiple of 5 rows; got 3"),
    ("morris of any rows", "x1,x2,x3\n" + "0.1,0.2,0.3\n" * 8, None,
     ISHIGAMI + 'sample = "s.csv"\n[design]\nkind = "morris"\n' + BOUNDS,
     "a Morris sample (SALib's trajectories with design.levels = 4): X is not a Morris sample"),
    ("sample not a string", None, None, ISHIGAMI + 'sample = 5\n[design]\nkind = "pawn"\n'
     + BOUNDS, "sample = 5: a file name"),
    ("problem not JSON", None, "{names", ISHIGAMI + 'problem = "p.json"\n[design]\n'
     'kind = "pawn"\nn = 8\n', "p.json: (syntax)"),
    ("problem dists", None, '{"names": ["x1"], "bounds": [[0, 1]], "dists": ["norm"]}',
     ISHIGAMI + 'problem = "p.json"\n[design]\nkind = "pawn"\nn = 8\n',
     "p.json: dists = ['norm']: null, or \"unif\" for every parameter"),
    ("problem bounds", None, '{"names": ["x1", "x2"], "bounds": [[0, 1]]}',
     ISHIGAMI + 'problem = "p.json"\n[design]\nkind = "pawn"\nn = 8\n',
     "p.json: bounds = [[0, 1]]: a list of 2 [lo, hi] pairs"),
    ("problem key", None, '{"names": ["x1"], "bounds": [[0, 1]], "colour": 1}',
     ISHIGAMI + 'problem = "p.json"\n[design]\nkind = "pawn"\nn = 8\n',
     "p.json: colour = 1: unknown key"),
    ("problem and params", None, '{"names": ["x1"], "bounds": [[0, 1]]}',
     ISHIGAMI + 'problem = "p.json"\n[design]\nkind = "pawn"\nn = 8\n' + BOUNDS,
     "problem = 'p.json': either a problem file or a [params] table, not both"),
    ("series unknown", None, None, f'scenarios = ["{ROOT}/scenarios/grid_baseline.toml"]\n'
     'series = ["gini", "moran"]\n[design]\nkind = "grid"\n',
     "series = 'moran': a region measure; did you mean 'morans_i'?"),
    ("series of a function", None, None, ISHIGAMI + 'series = ["cv"]\n[design]\nkind = "lhs"\n'
     "n = 4\n" + BOUNDS, "only with model = \"abm\""),
]


@pytest.mark.parametrize("csv,problem,text,wanted", [c[1:] for c in SAMPLES],
                         ids=[c[0] for c in SAMPLES])
def test_a_bad_sample_problem_or_series_exits_2_and_writes_nothing(tmp_path, capsys, csv, problem,
                                                                   text, wanted):
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    if csv == "DIR":
        (tmp_path / "s.csv").mkdir()
    elif csv is not None:
        (tmp_path / "s.csv").write_text(csv, encoding="utf-8")
    if problem is not None:
        (tmp_path / "p.json").write_text(problem, encoding="utf-8")
    before = {p: (p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")}
    for command in ("sweep", "sensitivity"):
        rc, err = _main([command, spec, "--out", tmp_path / "out", "--backend", "serial",
                         "--no-progress"], capsys)
        _one_line(rc, err, wanted)
        assert str(tmp_path) in err  # the file is named with its path
        # nothing written, the user's files untouched
        assert {p: (p.read_bytes() if p.is_file() else None)
                for p in tmp_path.rglob("*")} == before


def test_the_size_check_counts_the_points_a_design_draws():
    import dataclasses

    from experiments.running.sweep import design_points, design_size, load_spec

    spec = load_spec(ROOT / "experiments" / "specs" / "ishigami_sobol.toml")
    for kind, n, second in (("sobol", 8, False), ("sobol", 8, True), ("morris", 5, False),
                            ("pawn", 7, False), ("lhs", 9, False)):
        s = dataclasses.replace(spec, design=kind, n=n, second_order=second)
        assert design_size(kind, n, second, s.bounds, s.values) == len(design_points(s))
    grid = load_spec(ROOT / "experiments" / "specs" / "yrd_grid.toml")
    assert design_size("grid", 1, False, {}, grid.values) == len(design_points(grid)) == 9


@pytest.mark.parametrize("manifest", ["not json", "[1, 2]", '"a string"', "null",
                                      '{"task_ids": 5}', '{"task_ids": [1]}', "[" * 5000])
def test_a_store_with_a_damaged_manifest_is_refused(tmp_path, capsys, manifest):
    spec = tmp_path / "spec.toml"
    spec.write_text(ISHIGAMI + '[design]\nkind = "grid"\n[params]\nx1 = [0.0, 1.0]\n'
                    "x2 = [0.0]\nx3 = [0.0]\n", encoding="utf-8")
    store = tmp_path / "store"
    argv = ["sweep", spec, "--out", store, "--backend", "serial", "--no-progress"]
    assert _main(argv, capsys)[0] == 0
    (store / "manifest.json").write_text(manifest, encoding="utf-8")
    files = {p: p.read_bytes() for p in store.rglob("*") if p.is_file() and p.name != ".lock"}
    rc, err = _main(argv, capsys)
    _one_line(rc, err, f"--out {store}: its manifest.json is not a store manifest")
    assert {p: p.read_bytes() for p in store.rglob("*")
            if p.is_file() and p.name != ".lock"} == files
    from experiments.running.output import OutputError
    from experiments.running.sweep import load_results

    with pytest.raises(OutputError, match="not a store manifest"):
        load_results(store)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A small run's output, made once; each test copies it."""
    from experiments.running.run import run, write_outputs

    sc = tmp_path_factory.mktemp("sc") / "tiny.toml"
    sc.write_text('[run]\nsteps = 3\n[geography]\nkind = "grid"\nwidth = 5\nheight = 5\n'
                  "[params]\nn_talent = 500\nn_firms = 100\nn_funds = 5\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("run") / "out"
    write_outputs(run(str(sc)), out)
    return out


# (id, file to damage, its new content, what the line must contain)
REPORTS = [
    ("metadata {}", "metadata.json", "{}", "metadata.json: scenario = '(missing)'"),
    ("metadata []", "metadata.json", "[]", "metadata.json: (content) = []: a JSON object"),
    ("metadata not JSON", "metadata.json", "{", "cannot read metadata.json"),
    ("scenario = 5", "metadata.json", '{"scenario": 5, "seed": 1, "steps": 3}',
     "metadata.json: scenario = 5: an object"),
    ("params = [1]", "metadata.json",
     '{"scenario": {}, "seed": 1, "steps": 3, "params": [1]}', "params = [1]: an object"),
    ("region.csv without year", "region.csv", "step,cv\n0,1.0\n",
     "a run output that cannot be read (KeyError: 'year')"),
    ("cities.csv empty", "cities.csv", "", "a run output that cannot be read"),
]


@pytest.mark.parametrize("name,content,wanted", [c[1:] for c in REPORTS],
                         ids=[c[0] for c in REPORTS])
def test_report_on_a_damaged_output_exits_2_and_writes_nothing(tmp_path, capsys, run_dir, name,
                                                               content, wanted):
    import shutil

    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    (d / name).write_text(content, encoding="utf-8")
    before = _tree(tmp_path)
    rc, err = _main(["report", d], capsys)
    _one_line(rc, err, wanted)
    assert _tree(tmp_path) == before  # no report.html, no report_figures/, no temporary


def test_report_on_a_sensitivity_output_with_a_damaged_store_manifest(tmp_path, capsys):
    d = tmp_path / "sens"
    (d / "runs").mkdir(parents=True)
    (d / "report.json").write_text('{"method": "sobol"}')
    (d / "indices.csv").write_text("method,outcome,param,index,value,conf_low,conf_high\n")
    (d / "runs" / "manifest.json").write_text("[1]")
    before = _tree(tmp_path)
    rc, err = _main(["report", d], capsys)
    _one_line(rc, err, "runs/manifest.json: (content) = [1]")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("manifest,wanted", [
    ('{"kind": "sweep"}', "manifest.json: spec = '(missing)': an object"),
    ('{"kind": "sweep", "spec": [1]}', "manifest.json: spec = [1]: an object"),
    ('{"kind": "sweep", "spec": {}, "task_ids": 3}', "manifest.json: task_ids = 3: a list"),
])
def test_report_on_a_sweep_store_with_a_damaged_manifest(tmp_path, capsys, manifest, wanted):
    d = tmp_path / "store"
    (d / "results").mkdir(parents=True)
    (d / ".innogrid-manifest.json").write_text(
        '{"format": "innogrid-output", "version": 1, "files": {"manifest.json": "sweep"}}')
    (d / "manifest.json").write_text(manifest)
    from experiments.presentation.report import detect_kind

    assert detect_kind(d) == "sweep"
    before = _tree(tmp_path)
    rc, err = _main(["report", d], capsys)
    _one_line(rc, err, wanted)
    assert _tree(tmp_path) == before


COMMANDS = ("run", "compare", "sweep", "sensitivity", "report")


def _command(name, tmp_path, out, run_dir):
    """``innogrid NAME ... --out OUT``: small and valid, so only OUT can be wrong."""
    spec = tmp_path / "spec.toml"
    if not spec.exists():
        spec.write_text(ISHIGAMI + '[design]\nkind = "morris"\nn = 2\n' + BOUNDS)
    return {"run": ["run", "grid_baseline.toml", "--steps", "1", "--out", out],
            "compare": ["compare", "grid_baseline.toml", "free_flow.toml", "--seeds", "2",
                        "--steps", "1", "--out", out],
            "sweep": ["sweep", spec, "--backend", "serial", "--no-progress", "--out", out],
            "sensitivity": ["sensitivity", spec, "--backend", "serial", "--no-progress",
                            "--out", out],
            "report": ["report", run_dir, "--out", Path(out) / "r.html"]}[name]


def _check_out(tmp_path, capsys, run_dir, outs, wanted):
    for name in COMMANDS:
        for out in outs:
            _command(name, tmp_path, out, run_dir)  # writes the spec before the snapshot
            before = _tree(tmp_path)
            rc, err = _main(_command(name, tmp_path, out, run_dir), capsys)
            _one_line(rc, err, f"--out {out}", wanted)
            assert _tree(tmp_path) == before, name


def test_out_under_a_regular_file(tmp_path, capsys, run_dir):
    (tmp_path / "afile").write_text("mine")
    _check_out(tmp_path, capsys, run_dir, [tmp_path / "afile" / "sub"],
               f"{tmp_path / 'afile'} is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_out_in_an_immutable_folder(tmp_path, capsys, run_dir):
    """As root, permissions do not stop a write; the immutable attribute does."""
    ro = tmp_path / "ro"
    (ro / "empty").mkdir(parents=True)
    try:
        r = subprocess.run(["chattr", "+i", str(ro / "empty"), str(ro)], capture_output=True)
    except OSError:
        pytest.skip("chattr is not installed: no way to make a folder unwritable for root")
    if r.returncode != 0:
        pytest.skip(f"chattr +i failed here ({r.stderr.decode().strip()}): no way to make a "
                    "folder unwritable for root on this file system")
    try:
        _check_out(tmp_path, capsys, run_dir, [ro / "new", ro / "empty"], "is not writable")
    finally:
        subprocess.run(["chattr", "-i", str(ro / "empty"), str(ro)], check=True)


def test_out_at_a_mount_point(tmp_path):
    """A tmpfs mounted in a private mount namespace (gone when the process ends)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f"mount -t tmpfs none {mnt} || exit 99; exec {sys.executable} -m experiments.cli "
              f"run grid_baseline.toml --steps 1 --out {mnt}")
    try:
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    except OSError:
        pytest.skip("unshare is not installed: cannot mount a file system for the test")
    if r.returncode == 99 or "unshare:" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()[:200]}")
    _one_line(r.returncode, r.stderr, f"--out {mnt}: a mount point")
    assert _tree(tmp_path) == ["mnt"]


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "viz"])
def test_a_run_that_would_not_fit_in_memory_is_refused_up_front(tmp_path, capsys, monkeypatch,
                                                                 command):
    """The memory available is set through the environment, not by allocating gigabytes."""
    import experiments.running.lifetime

    monkeypatch.setenv("INNOGRID_MEMORY_AVAILABLE", "20e6")  # 20 MB
    monkeypatch.chdir(ROOT)

    def no_server(*a, **k):
        raise AssertionError("viz started its server")

    monkeypatch.setattr(experiments.running.lifetime, "call", no_server)
    spec = tmp_path / "spec.toml"
    spec.write_text('scenarios = ["grid_baseline.toml"]\n[design]\nkind = "grid"\n')
    out = tmp_path / "out"
    argv = {"run": ["run", "grid_baseline.toml", "--out", out],
            "compare": ["compare", "grid_baseline.toml", "free_flow.toml", "--out", out],
            "sweep": ["sweep", spec, "--backend", "serial", "--no-progress", "--out", out],
            "viz": ["viz", "grid_baseline.toml"]}[command]
    rc, err = _main(argv, capsys)
    line = _one_line(rc, err, "params.n_talent = 20000: a run that fits in memory: about ",
                     "but 20 MB is available (INNOGRID_MEMORY_AVAILABLE)")
    assert "grid_baseline.toml" in line or "spec.toml" in line
    assert _tree(tmp_path) == ["spec.toml"]


def test_the_memory_estimate():
    from experiments.running.memory import available_bytes, check_memory, estimate_bytes
    from model.scenario import load_scenario

    yrd = load_scenario("yrd_calibrated.toml")
    small = estimate_bytes(yrd)
    # the benchmark measured 26 MB for this run (benchmarks/README.md, Memory)
    assert 26e6 <= small["total"] <= 50e6
    big = estimate_bytes(yrd.with_overrides(params={"n_talent": 50_000_000}), 2)
    assert big["n_talent"] >= 50_000_000 * 100  # the issue saw 7.2 GB for 5e7 talent
    longer = estimate_bytes(yrd, 400)
    assert longer["steps"] > small["steps"] and longer["n_firms"] > small["n_firms"]
    assert longer["founded"] > 5 * small["founded"] > 0
    have, source = available_bytes()
    assert have > 0 and source in ("MemAvailable", "physical memory", "INNOGRID_MEMORY_AVAILABLE")
    assert check_memory(yrd) == small["total"]  # the shipped scenarios fit


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
