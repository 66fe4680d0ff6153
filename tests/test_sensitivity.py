"""The sensitivity pipeline end to end: the Ishigami known answer through the sweep runner,
Morris on the model itself, and clear errors."""

import json

import numpy as np
import pytest

from experiments.analysis.sensitivity import sensitivity
from experiments.analysis.sensitivity_indices import ISHIGAMI_INDICES
from experiments.cli import main
from experiments.running.sweep import load_spec
from model.scenario import ScenarioError

PI = 3.141592653589793


def _ishigami_spec(tmp_path, n=512, noise=0.5, replicates=2):
    p = tmp_path / "ish.toml"
    p.write_text(f'model = "ishigami"\nnoise = {noise}\nreplicates = {replicates}\n'
                 f'root_seed = 5\n[design]\nkind = "sobol"\nn = {n}\n[params]\n'
                 + "".join(f"x{i} = [{-PI}, {PI}]\n" for i in (1, 2, 3)))
    return load_spec(p)


def test_ishigami_indices_recovered_through_the_runner(tmp_path):
    spec = _ishigami_spec(tmp_path)
    res = sensitivity(spec, tmp_path / "out", backend="processes", jobs=2, progress=False,
                      num_resamples=300)
    tab = res["indices"].set_index(["param", "index"])
    for kind in ("S1", "ST"):
        for x, truth in ISHIGAMI_INDICES[kind].items():
            r = tab.loc[(x, kind)]
            half = (r["conf_high"] - r["conf_low"]) / 2
            assert np.isfinite(half) and half < 0.15
            assert abs(r["value"] - truth) <= max(0.05, half + 0.02), (x, kind, r["value"])
    # the noise report: sd 0.5 per run -> within-point variance about 0.25
    noise = res["noise"].iloc[0]
    assert noise["within_var"] == pytest.approx(0.25, rel=0.1)
    assert 0.0 < noise["noise_share"] < 0.05  # Var(Ishigami) is about 13.8
    out = tmp_path / "out"
    for f in ("indices.csv", "noise.csv", "indices.png", "report.json"):
        assert (out / f).stat().st_size > 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["runs"] == 512 * 5 * 2 and rep["failed_runs"] == 0


def test_morris_on_the_model_with_replicates(tmp_path, capsys):
    grid = __import__("pathlib").Path("scenarios/grid_baseline.toml").resolve()
    p = tmp_path / "m.toml"
    p.write_text(f'scenarios = ["{grid}"]\nreplicates = 2\nroot_seed = 3\nsteps = 6\n'
                 'outcomes = ["cv", "tier_2"]\n[design]\nkind = "morris"\nn = 3\nlevels = 4\n'
                 "[params]\nspill_rate = [0.05, 0.5]\nbarrier_spill = [0.2, 1.0]\n")
    assert main(["sensitivity", str(p), "--out", str(tmp_path / "o"), "--backend", "serial",
                 "--resamples", "50", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "morris, 9 points x 2 replicates = 18 runs" in printed and "seed noise" in printed
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [n["outcome"] for n in rep["noise"]] == ["cv", "tier_2"]
    assert all(0.0 <= n["noise_share"] <= 1.0 for n in rep["noise"])
    assert (tmp_path / "o" / "morris.png").stat().st_size > 0


def test_sensitivity_needs_a_sampled_design_and_one_scenario(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('model = "ishigami"\n[design]\nkind = "grid"\n[params]\nx1 = [0.0]\n')
    with pytest.raises(ScenarioError, match="sobol, morris or pawn"):
        sensitivity(load_spec(p), tmp_path / "o", backend="serial", progress=False)


def test_failed_points_are_named_not_silently_dropped(tmp_path):
    p = tmp_path / "f.toml"
    p.write_text('model = "tests.sweep_models:fails_on"\nreplicates = 1\n[design]\n'
                 'kind = "pawn"\nn = 20\n[params]\nx = [0.0, 1.0]\n')
    with pytest.raises(ScenarioError, match="failed or undefined runs"):
        sensitivity(load_spec(p), tmp_path / "o", outcomes=("y",), backend="serial",
                    progress=False)
