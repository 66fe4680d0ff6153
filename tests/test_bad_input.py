"""Bad input in a scenario's [geography] ends with one line, exit 2 and nothing written
(issue #11, section 3: the cases that used to crash, produce NaN, or be silently
accepted)."""

import subprocess
import sys

import pytest

CASES = [
    ("cores = [[1]]", "geography.cores"),
    ("cores = []", "geography.cores"),
    ("cores = [[2.9, 3.9]]", "geography.cores"),
    ('cores = [["2", "3"]]', "geography.cores"),
    ("cores = [[inf, 1]]", "geography.cores"),
    ("corridor_cells = [[1]]", "geography.corridor_cells"),
    ("cell_km = true", "geography.cell_km"),
    ("cell_km = 1e-200", "geography.cell_km"),
    ("core_radius_cells = 1e-200", "geography.core_radius_cells"),
    ("province_blocks = [true, true]", "geography.province_blocks"),
]


@pytest.mark.parametrize("line,key", CASES, ids=[c[0] for c in CASES])
def test_bad_geography_exits_2_with_one_line_and_writes_nothing(tmp_path, line, key):
    sc = tmp_path / "s.toml"
    sc.write_text(f'[run]\nsteps = 2\n[geography]\nkind = "grid"\n{line}\n', encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "experiments.cli", "run", str(sc), "--out",
                        str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert str(sc.name) in lines[0] and key in lines[0]
    assert not out.exists()


def test_a_good_grid_still_runs(tmp_path):
    sc = tmp_path / "s.toml"
    sc.write_text('[run]\nsteps = 2\n[geography]\nkind = "grid"\ncores = [[5, 5]]\n'
                  "cell_km = 40.0\ncore_radius_cells = 2.5\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "experiments.cli", "run", str(sc), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "cities.csv").exists()
