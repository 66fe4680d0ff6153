"""Output never touches a user's file (issue 11, section 1).

Every command that writes recognises its earlier outputs by ``.innogrid-manifest.json``,
replaces only the files that manifest lists, keeps the directory's permissions, and
refuses (exit status 2, one line) anything else. Names are names, not paths, and a
scenario's ``base`` is read only inside its own folder or the shipped scenarios.
"""

import io
import json
import os
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.running.output import MANIFEST_NAME, OutputError, output_dir
from tests.test_cli import GRID  # a small grid scenario

ROOT = Path(__file__).resolve().parent.parent
PI = 3.141592653589793


def _cli(*args, cwd=None):
    """Run the CLI in this process (a traceback would fail the test); return (status, stderr)."""
    err, here = io.StringIO(), os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            status = main([str(a) for a in args])
    finally:
        os.chdir(here)
    return status, err.getvalue().strip()


def _cli_process(*args):
    """Run the CLI as a command: the exit status and stderr a user sees."""
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr.strip()


def _tree(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file()}


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _one_line_error(status, err, *needles):
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert str(n) in err, (n, err)


@pytest.fixture
def scenario(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GRID)
    return p


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_folder_with_a_metadata_json_is_not_taken_for_ours(tmp_path, scenario):
    # the case of the issue: proj/metadata.json + proj/thesis.tex, run --out proj
    proj = tmp_path / "proj"
    proj.mkdir()
    proj.chmod(0o755)
    (proj / "metadata.json").write_text('{"my": 1}')
    (proj / "thesis.tex").write_text("work")
    status, err = _cli_process("run", scenario, "--steps", "2", "--out", proj)
    _one_line_error(status, err, proj, "not an innogrid output", MANIFEST_NAME)
    assert _tree(proj) == {"metadata.json": b'{"my": 1}', "thesis.tex": b"work"}
    assert _mode(proj) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "s.toml"]


def test_rerun_replaces_only_our_files_and_keeps_the_users(tmp_path, scenario):
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--figures"]) == 0
    listed = json.loads((out / MANIFEST_NAME).read_text())
    assert listed["format"] == "innogrid-output" and listed["version"] == 1
    assert set(listed["files"]) == set(_tree(out)) - {MANIFEST_NAME}
    assert set(listed["files"].values()) == {"run"}
    assert "figures/tiers_map.png" in listed["files"]
    out.chmod(0o750)
    (out / "notes.txt").write_text("mine")
    (out / "flows" / "my_flows.csv").write_text("also mine")
    # without --figures: the earlier figures (ours) go, the user's files stay
    assert main(["run", str(scenario), "--steps", "1", "--out", str(out)]) == 0
    tree = _tree(out)
    assert tree["notes.txt"] == b"mine" and tree["flows/my_flows.csv"] == b"also mine"
    assert not (out / "figures").exists()
    assert tree["region.csv"].count(b"\n") == 3  # header + steps 0 and 1: the new run
    assert "notes.txt" not in json.loads((out / MANIFEST_NAME).read_text())["files"]
    assert _mode(out) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]  # no temp left


def test_rerun_into_a_wholly_ours_directory_keeps_its_mode(tmp_path, scenario):
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    out.chmod(0o701)
    assert main(["run", str(scenario), "--steps", "1", "--out", str(out)]) == 0
    assert _mode(out) == 0o701
    assert (out / "region.csv").read_text().count("\n") == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]


def test_a_user_file_where_ours_would_go_is_refused(tmp_path, scenario):
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    (out / "figures").mkdir()
    (out / "figures" / "tiers_map.png").write_text("my drawing")
    before = _tree(out)
    status, err = _cli("run", scenario, "--out", out, "--figures")
    _one_line_error(status, err, "figures/tiers_map.png", "not written by innogrid")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]


def test_new_and_empty_directories_get_normal_permissions(tmp_path, scenario, umask_022):
    new = tmp_path / "new"
    empty = tmp_path / "empty"
    empty.mkdir()
    empty.chmod(0o711)
    assert main(["run", str(scenario), "--out", str(new)]) == 0
    assert main(["run", str(scenario), "--out", str(empty)]) == 0
    assert _mode(new) == 0o755  # the umask's default, not mkdtemp's 0700
    assert _mode(new / "flows") == 0o755
    assert _mode(empty) == 0o711
    assert (empty / "cities.csv").exists()


def test_a_failed_write_leaves_the_target_as_it_was(tmp_path):
    out = tmp_path / "out"
    with output_dir(out, "run") as tmp:
        (tmp / "a.csv").write_text("1")
    with pytest.raises(RuntimeError), output_dir(out, "run") as tmp:
        (tmp / "a.csv").write_text("2")
        raise RuntimeError("killed half-way")
    assert (out / "a.csv").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("manifest", ["not json", '{"format": "innogrid-output", "version": 99,'
                                      ' "files": {}}', '{"format": "innogrid-output", '
                                      '"version": 1, "files": {"../thesis.tex": "run"}}'])
def test_a_manifest_we_cannot_trust_is_not_ours(tmp_path, manifest):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST_NAME).write_text(manifest)
    (tmp_path / "thesis.tex").write_text("work")
    with pytest.raises(OutputError, match="not an innogrid manifest"), output_dir(out, "run"):
        pass
    assert (tmp_path / "thesis.tex").read_text() == "work"


def _ishigami(tmp_path, name="tiny"):
    p = tmp_path / "ish.toml"
    p.write_text(f'name = "{name}"\nmodel = "ishigami"\nreplicates = 1\nroot_seed = 5\n'
                 '[design]\nkind = "sobol"\nn = 8\n[params]\n'
                 + "".join(f"x{i} = [{-PI}, {PI}]\n" for i in (1, 2, 3)))
    return p


def test_sensitivity_does_not_overwrite_a_users_files(tmp_path):
    spec = _ishigami(tmp_path)
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "report.json").write_text("my report")
    (mine / "indices.csv").write_text("my indices")
    status, err = _cli("sensitivity", spec, "--out", mine, "--backend", "serial",
                       "--no-progress", "--resamples", "10")
    _one_line_error(status, err, mine, "not an innogrid output")
    assert _tree(mine) == {"report.json": b"my report", "indices.csv": b"my indices"}
    # into a new directory it works, and again into its own output (resumed, replaced)
    out = tmp_path / "sens"
    for _ in range(2):
        assert main(["sensitivity", str(spec), "--out", str(out), "--backend", "serial",
                     "--no-progress", "--resamples", "10"]) == 0
    files = json.loads((out / MANIFEST_NAME).read_text())["files"]
    assert set(files) == {"indices.csv", "noise.csv", "indices.png", "report.json"}
    assert (out / "runs" / "manifest.json").exists()


def test_report_never_replaces_a_users_file(tmp_path, scenario):
    run_dir = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(run_dir)]) == 0
    docs = tmp_path / "docs"
    docs.mkdir()
    essay = docs / "essay.txt"
    essay.write_text("my essay")
    status, err = _cli("report", run_dir, "--out", essay)
    _one_line_error(status, err, essay, "not written by innogrid")
    assert essay.read_text() == "my essay"
    assert sorted(p.name for p in docs.iterdir()) == ["essay.txt"]  # no report_figures/
    # a new file beside it is fine, and so is replacing our own report
    html = docs / "report.html"
    for _ in range(2):
        assert main(["report", str(run_dir), "--out", str(html)]) == 0
        assert "<html" in html.read_text()
    assert sorted(p.name for p in docs.iterdir()) == ["essay.txt", "report.html",
                                                      "report_figures"]
    # a report_figures/ that is not ours is refused too
    other = tmp_path / "other"
    (other / "report_figures").mkdir(parents=True)
    (other / "report_figures" / "holiday.png").write_text("photo")
    status, err = _cli("report", run_dir, "--out", other / "r.html")
    _one_line_error(status, err, "report_figures", "not an innogrid output")
    assert not (other / "r.html").exists()
    assert _tree(other) == {"report_figures/holiday.png": b"photo"}


def test_the_default_report_inside_a_run_and_a_rerun_of_the_run(tmp_path, scenario):
    run_dir = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    assert main(["run", str(scenario), "--out", str(run_dir)]) == 0
    assert (run_dir / "report.html").exists() and (run_dir / "report_figures").is_dir()


@pytest.mark.parametrize("name", ["../../../escaped_store", "/tmp/victim", "..", "a/b", ".",
                                  "", "a\\b"])
def test_a_spec_name_is_a_name_not_a_path(tmp_path, name):
    spec = _ishigami(tmp_path, name=name.replace("\\", "\\\\"))
    work = tmp_path / "work"
    work.mkdir()
    for command in ("sweep", "sensitivity"):
        status, err = _cli(command, spec, "--backend", "serial", cwd=work)
        _one_line_error(status, err, spec, "name", "not a path")
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ish.toml", "work"]


def test_base_is_read_only_in_the_scenario_folder_or_the_shipped_scenarios(tmp_path, scenario):
    secret = tmp_path / "secret.toml"
    secret.write_text('token = "hunter2-do-not-print"\n')
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "link.toml").symlink_to(secret)
    out = tmp_path / "out"
    for base in (str(secret), "../secret.toml", "link.toml", "/etc/passwd", "/dev/zero",
                 ".", "../scen"):
        child = folder / "child.toml"
        child.write_text(f'base = "{base}"\n')
        status, err = _cli("run", child, "--out", out)
        _one_line_error(status, err, child, "base", "scenario's folder")
        assert "hunter2" not in err
    assert not out.exists()
    # the same folder and the shipped scenarios (by name, or by a path into them) work
    (folder / "mine.toml").write_text(GRID)
    for base in ("mine.toml", "grid_baseline.toml", str(ROOT / "scenarios/grid_baseline.toml")):
        (folder / "child.toml").write_text(f'base = "{base}"\n[run]\nsteps = 1\n')
        assert main(["run", str(folder / "child.toml"), "--out", str(out)]) == 0


def test_calibrate_never_replaces_a_users_file(tmp_path):
    victim = tmp_path / "thesis.toml"
    victim.write_text("my thesis")
    spec = tmp_path / "cal.toml"
    spec.write_text(f'base = "{ROOT / "scenarios/grid_baseline.toml"}"\n'
                    f'output = "{victim}"\nsamples = 1\nseeds = 1\nfinalists = 1\n'
                    'finalist_seeds = 2\nvalidation_seeds = 2\n[free]\ninnov_rate = [0.01, 0.02]\n')
    status, err = _cli("calibrate", spec)
    _one_line_error(status, err, spec, victim, "not written by innogrid")
    assert victim.read_text() == "my thesis" and not victim.with_suffix(".json").exists()


def test_validate_and_robustness_refuse_a_foreign_folder(tmp_path):
    from experiments.analysis.robustness import main as robustness_main
    from experiments.analysis.validate import validate

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "validation.json").write_text("mine")
    with pytest.raises(OutputError, match="not an innogrid output"):
        validate(out=mine)
    assert robustness_main(["--out", str(mine)]) == 2
    assert _tree(mine) == {"validation.json": b"mine"}
