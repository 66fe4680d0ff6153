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


def test_a_problem_spec_goes_in_and_comes_back_with_the_numbers_of_indices_csv(tmp_path):
    import pandas as pd
    from SALib import ProblemSpec

    from experiments.analysis.sensitivity import sensitivity_problem

    sp = ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3})
    got = sensitivity_problem(sp, tmp_path / "o", model="ishigami", method="sobol", n=64,
                              replicates=2, noise=0.1, root_seed=9, backend="serial",
                              progress=False, num_resamples=100)
    assert got is sp
    assert sp.samples.shape == (64 * 5, 3) and sp.results.shape == (64 * 5,)
    assert sp["outputs"] == ["y"]
    table = pd.read_csv(tmp_path / "o" / "indices.csv").set_index(["param", "index"])
    for j, x in enumerate(["x1", "x2", "x3"]):
        for k in ("S1", "ST"):
            assert sp.analysis[k][j] == pytest.approx(table.loc[(x, k), "value"], rel=1e-12)
            half = table.loc[(x, k), "conf_high"] - table.loc[(x, k), "value"]
            assert sp.analysis[f"{k}_conf"][j] == pytest.approx(half, rel=1e-9)
    # the results are the replicate means of the runs in the store, seeds recorded
    from experiments.running.sweep import load_results

    runs = load_results(tmp_path / "o" / "runs")
    means = runs.groupby("point")["out.y"].mean().to_numpy()
    np.testing.assert_allclose(sp.results, means, rtol=1e-12)
    assert sp["innogrid"]["seeds"] == sorted(set(runs["seed"]), key=list(runs["seed"]).index)
    assert sp["innogrid"]["root_seed"] == 9
    assert isinstance(sp.to_df(), list)  # SALib's own table of a Sobol' result still works


def test_a_users_own_sample_is_run_as_given(tmp_path):
    from SALib import ProblemSpec

    from experiments.analysis.sensitivity import sensitivity_problem
    from experiments.running.sweep import load_results

    rng = np.random.default_rng(2)
    X = rng.uniform(-PI, PI, size=(120, 3))
    sp = ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3,
                      "outputs": ["y"]})
    sp.set_samples(X)
    sensitivity_problem(sp, tmp_path / "o", model="ishigami", backend="serial",
                        progress=False, num_resamples=20)  # PAWN: any sample
    np.testing.assert_array_equal(sp.samples, X)
    runs = load_results(tmp_path / "o" / "runs")
    np.testing.assert_array_equal(runs[["param.x1", "param.x2", "param.x3"]].to_numpy(), X)
    manifest = json.loads((tmp_path / "o" / "runs" / "manifest.json").read_text())
    assert manifest["spec"]["sample_source"] == "ProblemSpec.samples"
    assert len(manifest["points"]) == 120
    # x2 matters most for Ishigami's y, x3 least on its own
    median = dict(zip(sp.analysis["names"], sp.analysis["median"], strict=True))
    assert median["x2"] > median["x3"]


@pytest.mark.parametrize("method,make,wanted", [
    ("sobol", "shuffled", "should be row"),
    ("sobol", "rows", "a multiple of 5 rows"),
    ("morris", "random", "a Morris sample"),
    ("pawn", "outside", "sample x2 (row 4) = 9.0: a finite value in the bounds of params.x2"),
])
def test_a_sample_without_its_methods_structure_is_refused(tmp_path, method, make, wanted):
    from SALib import ProblemSpec

    from experiments.analysis.sensitivity import sensitivity_problem
    from experiments.analysis.sensitivity_indices import problem, sample

    bounds = {f"x{i}": (-PI, PI) for i in (1, 2, 3)}
    X = sample("sobol", problem(bounds), 8, 1)
    if make == "shuffled":
        X = X[np.random.default_rng(0).permutation(len(X))]
    elif make == "rows":
        X = X[:-1]
    elif make == "random":
        X = np.random.default_rng(0).uniform(-PI, PI, size=(40, 3))
    else:
        X[3, 1] = 9.0
    sp = ProblemSpec({"names": list(bounds), "bounds": [list(b) for b in bounds.values()]})
    sp.set_samples(X)
    with pytest.raises(ScenarioError) as e:
        sensitivity_problem(sp, tmp_path / "o", model="ishigami", method=method,
                            backend="serial", progress=False)
    assert wanted in str(e.value)
    assert not (tmp_path / "o").exists()


def test_a_problem_spec_without_samples_needs_a_method_and_a_size(tmp_path):
    from experiments.analysis.sensitivity import sensitivity_problem

    prob = {"names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}
    with pytest.raises(ScenarioError, match="method = None: sobol, morris or pawn"):
        sensitivity_problem(prob, tmp_path / "o", model="ishigami", n=8)
    with pytest.raises(ScenarioError, match="n = None: the size of the sample to draw"):
        sensitivity_problem(prob, tmp_path / "o", model="ishigami", method="sobol")
    with pytest.raises(ScenarioError, match="dists"):
        sensitivity_problem({**prob, "dists": ["norm"] * 3}, tmp_path / "o", model="ishigami",
                            method="pawn", n=8)
    assert not (tmp_path / "o").exists()


def test_salibs_own_samples_pass_the_structure_checks():
    from experiments.analysis.sensitivity_indices import problem, sample
    from experiments.running.sweep import check_sample

    bounds = {"a": (0.0, 1.0), "b": (-2.0, 5.0), "c": (10.0, 11.0)}
    for method, second in (("sobol", False), ("sobol", True), ("morris", False)):
        X = sample(method, problem(bounds), 8, 3, second_order=second)
        check_sample("spec.toml", "sample", X, bounds, method, second)  # no error


def test_the_cli_runs_a_sample_file_and_a_salib_problem_file(tmp_path, capsys):
    rng = np.random.default_rng(4)
    X = rng.uniform(0.0, 1.0, size=(60, 2))
    (tmp_path / "s.csv").write_text("x2,x1\n" + "".join(f"{float(b)!r},{float(a)!r}\n"
                                                         for a, b in X))
    (tmp_path / "p.json").write_text(json.dumps({"names": ["x1", "x2"],
                                                 "bounds": [[0, 1], [0, 1]],
                                                 "dists": ["unif", "unif"],
                                                 "outputs": ["y"]}))
    # columns in another order than the problem's names: matched by name
    p = tmp_path / "spec.toml"
    p.write_text('model = "tests.sweep_models:quadratic2"\nreplicates = 2\nroot_seed = 1\n'
                 'problem = "p.json"\nsample = "s.csv"\n[design]\nkind = "pawn"\n')
    assert main(["sensitivity", str(p), "--out", str(tmp_path / "o"), "--backend", "serial",
                 "--resamples", "20", "--no-progress"]) == 0
    assert "user sample" in capsys.readouterr().out
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["sample"] == str(tmp_path / "s.csv") and rep["runs"] == 120
    assert rep["outcomes"] == ["y"] and len(rep["seeds"]) == 2
    from experiments.running.sweep import load_results

    runs = load_results(tmp_path / "o" / "runs")
    np.testing.assert_array_equal(runs.loc[runs["replicate"] == 0,
                                           ["param.x1", "param.x2"]].to_numpy(), X)
