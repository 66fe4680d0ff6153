"""The posterior calibration (experiments/inference/posterior.py): inference, spec, resumption."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.inference.posterior import (
    STATISTICS,
    Prior,
    ess_by_generation,
    infer,
    load_posterior_spec,
    particle_seed,
    particles,
    pattern_distance,
)
from experiments.inference.toy import gaussian, gaussian_many, gaussian_posterior
from model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "yrd_posterior.toml"


MU = {"mu": Prior("uniform", -10.0, 10.0, "test")}


def _moments(h) -> tuple[float, float, float]:
    df = particles(h, MU)  # in the parameter's own units
    w = df["weight"].to_numpy()
    mean = float(np.sum(w * df["mu"]))
    sd = float(np.sqrt(np.sum(w * (df["mu"] - mean) ** 2)))
    return mean, sd, float(h.get_all_populations()["epsilon"].iloc[-1])


@pytest.mark.parametrize(("kernel", "scaling"), [("normal", 1.0), ("global", 2.0)])
def test_abc_smc_recovers_a_gaussian_posterior(tmp_path, kernel, scaling):
    # prior mu ~ U(-10, 10), one observation y0 = 1.5 with unit noise: the posterior is
    # N(1.5, 1) (the truncation at +/-10 is negligible); ABC with tolerance eps adds at most
    # eps^2/3 to the variance. pyABC's single-core sampler draws from numpy's global
    # generator: seeded, so the run is repeatable (unseeded, it failed once in many runs)
    np.random.seed(7)  # noqa: TID251, NPY002
    h = infer(gaussian, {"mu": Prior("uniform", -10.0, 10.0, "test")}, {"y": 1.5},
              {"y": 1.0}, {"y": 1.0}, tmp_path / "abc.db", population=600, generations=6,
              transition=kernel, transition_scaling=scaling)
    mean, sd, eps = _moments(h)
    true_mean, true_sd = gaussian_posterior(1.5)
    assert eps < 0.3
    assert abs(mean - true_mean) < 0.2, mean
    # the bounds allow about six standard errors over seeds
    assert 0.75 * true_sd < sd < math.sqrt(true_sd ** 2 + eps ** 2 / 3) + 0.25, (sd, eps)
    # the prior alone has sd 20/sqrt(12) = 5.8: the data contracted it
    assert sd < 0.25 * 20 / math.sqrt(12)


@pytest.mark.slow
def test_the_global_kernel_keeps_the_weights_even_in_many_dimensions(tmp_path):
    """16 parameters, as many as a real calibration: the default kernel's weights degenerate,
    the global Gaussian's do not (pyABC's single-core sampler draws from numpy's global
    generator, seeded here, so both runs are repeatable)."""
    d = 16
    priors = {f"mu_{i:02d}": Prior("uniform", -10.0, 10.0, "test") for i in range(d)}
    obs = {f"y_{i:02d}": 1.0 for i in range(d)}
    ones = dict.fromkeys(obs, 1.0)
    ess = {}
    for kernel, scaling in (("normal", 1.0), ("global", 2.0)):
        np.random.seed(11)  # noqa: TID251, NPY002 (pyABC draws from numpy's global generator)
        h = infer(gaussian_many, priors, obs, ones, ones, tmp_path / f"{kernel}.db",
                  population=300, generations=4, transition=kernel,
                  transition_scaling=scaling)
        ess[kernel] = ess_by_generation(h)
        df = particles(h, priors)
        w, df = df["weight"].to_numpy(), df[list(priors)]
        sd = np.sqrt(np.sum(w[:, None] * (df - np.sum(w[:, None] * df, axis=0)) ** 2, axis=0))
        assert (sd < 20 / math.sqrt(12)).all()  # contracted from the prior's 5.8
    assert ess["global"][0] == pytest.approx(300.0)
    assert min(ess["global"][1:]) > 0.3 * 300, ess
    assert ess["normal"][-1] < 0.5 * ess["global"][-1], ess


@pytest.mark.slow
def test_the_dask_sampler_runs_the_same_inference(tmp_path):
    # a LocalCluster on 127.0.0.1, started and closed by infer itself
    h = infer(gaussian, {"mu": Prior("uniform", -10.0, 10.0, "test")}, {"y": 1.5},
              {"y": 1.0}, {"y": 1.0}, tmp_path / "abc.db", population=100, generations=2,
              jobs=2, backend="dask")
    mean, sd, eps = _moments(h)
    assert h.max_t == 1 and eps < 4
    assert abs(mean - 1.5) < 1.0 and sd < 3  # the prior's sd is 5.8


def test_a_stopped_inference_resumes_where_it_stopped(tmp_path):
    db = tmp_path / "abc.db"
    args = (gaussian, {"mu": Prior("uniform", -10.0, 10.0, "test")}, {"y": 1.5}, {"y": 1.0},
            {"y": 1.0}, db)
    h1 = infer(*args, population=100, generations=2)
    sims = h1.total_nr_simulations
    assert h1.max_t == 1
    h2 = infer(*args, population=100, generations=3)  # the same database, one more generation
    assert h2.max_t == 2
    assert h2.total_nr_simulations > sims
    eps = h2.get_all_populations().query("t >= 0")["epsilon"].to_numpy()
    assert eps[2] < eps[1] < eps[0]  # it went on, it did not start again


def test_pattern_distance_and_seeds():
    assert pattern_distance({"a": 3, "b": 1}, {"a": 1, "b": 1}, {"a": 1, "b": 4},
                            {"a": 2, "b": 1}) == pytest.approx(1.0)
    assert pattern_distance({"a": float("nan")}, {"a": 1}, {"a": 1}, {"a": 1}) == math.inf
    assert pattern_distance({}, {"a": 1}, {"a": 1}, {"a": 1}) == math.inf
    # statistics not fitted do not count
    assert pattern_distance({"a": 1, "b": 99}, {"a": 1, "b": 1}, {"a": 1}, {"a": 1, "b": 1}) == 0
    s = particle_seed(1, {"x": 0.5, "y": 2.0})
    assert s == particle_seed(1, {"y": 2.0, "x": 0.5})  # order of the keys does not matter
    assert s != particle_seed(2, {"x": 0.5, "y": 2.0})
    assert s != particle_seed(1, {"x": 0.5000001, "y": 2.0})


def test_the_shipped_spec_reads_and_every_prior_has_a_source():
    spec = load_posterior_spec(SPEC)
    assert len(spec.priors) >= 20
    assert all(p.source.strip() for p in spec.priors.values())
    assert set(spec.fit).isdisjoint(spec.held_out)
    assert spec.population >= 1000
    for k in spec.fit:
        assert STATISTICS[k].scale > 0 and STATISTICS[k].source


def _spec_text(**changes) -> str:
    text = SPEC.read_text(encoding="utf-8").replace('base = "../scenarios',
                                                    f'base = "{ROOT}/scenarios')
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


BAD = [
    ({"root_seed = 2021": "root_seed = 2021\nsamples = 3"}, "samples", "unknown key"),
    ({"[prior.elast_rd]": "[prior.no_such_param]"}, "prior.no_such_param", "float parameter"),
    ({"range = [0.85, 1.0]": "range = [0.85, 1.6]"}, "prior.elast_rd.range", "<= 1.5"),
    ({"range = [50.0, 1800.0]": "range = [0.0, 1800.0]"}, "prior.spill_decay_km.range",
     "lo > 0"),
    ({'dist = "uniform"': 'dist = "normal"'}, ".dist", "'uniform' or 'loguniform'"),
    ({'source = "assumption"': 'source = ""'}, ".source", "where the prior comes from"),
    ({'"tier_1", "tier_2"': '"tier_one", "tier_2"'}, "fit.tier_one", "one of"),
    ({'"gdp_cv_2021", ': '"tier_1", '}, "held_out", "not fitted"),
    ({"population = 1000": "population = 5"}, "population", "from 20"),
    ({"max_minutes = 62": "max_minutes = -1"}, "max_minutes", "a number from"),
    ({'transition = "global"': 'transition = "gaussian"'}, "transition",
     "one of ('normal', 'local', 'global')"),
    ({"transition_scaling = 1.5": "transition_scaling = 0"}, "transition_scaling",
     "a number from 0.1"),
    ({"n_funds = 80": "n_funds = 80\nelast_rd = 0.9"}, "params", "none of them with a prior"),
    ({"n_funds = 80": "n_funds = 80\nelast_rdd = 0.9"}, "params.elast_rdd", "did you mean"),
]


@pytest.mark.parametrize(("changes", "key", "allowed"), BAD, ids=[b[1] for b in BAD])
def test_bad_spec_is_one_clear_line_and_writes_nothing(tmp_path, capsys, changes, key, allowed):
    spec = tmp_path / "spec.toml"
    out = tmp_path / "out"
    spec.write_text(_spec_text(**changes).replace('output = "../docs/validation/posterior_yrd"',
                                                  f'output = "{out}"'), encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_posterior_spec(spec)
    assert e.value.key.startswith(key.lstrip(".")) or key in e.value.key
    assert main(["calibrate", str(spec)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(spec) in err[0] and allowed in err[0], err
    assert not out.exists()



def _cli(*args: str) -> int:
    """``innogrid ARGS`` in a fresh process: pyABC's multicore sampler forks its workers,
    and a fork from the test process (a pytest-xdist worker has threads) can kill them."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from experiments.cli import main; "
                           "raise SystemExit(main())", *args], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.returncode


@pytest.mark.slow
def test_yrd_posterior_end_to_end_resumes_and_refuses_another_spec(tmp_path, capsys,
                                                                     monkeypatch):
    """A tiny calibration of the real model through the CLI: written, resumed, guarded."""
    out = tmp_path / "post"
    # a smaller sample of the same region (sample-size invariance) keeps it quick
    text = _spec_text(**{"population = 1000": "population = 20",
                         "generations = 8": "generations = 1",
                         "n_talent = 8000\nn_firms = 2000\nn_funds = 80":
                         "n_talent = 2000\nn_firms = 500\nn_funds = 20"}).replace(
        'output = "../docs/validation/posterior_yrd"', f'output = "{out}"')
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    assert _cli("calibrate", str(spec), "--jobs", "2") == 0
    rec = json.loads((out / "posterior.json").read_text())
    assert rec["generations"] == 1 and rec["particles"] == 20
    assert rec["code_version"] and rec["spec_digest"] and rec["pyabc_version"]
    assert set(rec["parameters"]) == set(load_posterior_spec(spec).priors)
    assert {v["role"] for v in rec["statistics"].values()} >= {"fit", "held_out"}
    import pandas as pd
    parts = pd.read_csv(out / "particles.csv")
    assert len(parts) == 20 and parts["weight"].sum() == pytest.approx(1.0)
    # in the parameters' own units (log-uniform ones are sampled as logarithms)
    for k, p in load_posterior_spec(spec).priors.items():
        assert parts[k].between(p.lo, p.hi).all(), k
    assert parts["seed"].notna().all()
    gens = pd.read_csv(out / "generations.csv")
    # the first generation is drawn from the prior: equal weights, every particle counts
    assert gens["ess"].iloc[0] == pytest.approx(20.0)
    assert rec["ess_by_generation"] == pytest.approx(list(gens["ess"]))
    # resume: one more generation on the same database
    spec.write_text(text.replace("generations = 1", "generations = 2"), encoding="utf-8")
    assert _cli("calibrate", str(spec), "--jobs", "2") == 0
    rec2 = json.loads((out / "posterior.json").read_text())
    assert rec2["generations"] == 2 and rec2["simulations"] > rec["simulations"]
    assert len(rec2["ess_by_generation"]) == 2 and 1.0 <= rec2["ess_by_generation"][1] <= 20.0
    # --report-only rewrites the outputs (figures included) and samples nothing
    assert (out / "posterior_predictive.png").stat().st_size > 0
    assert (out / "posterior_marginals.png").stat().st_size > 0
    (out / "posterior_predictive.png").unlink()
    assert main(["calibrate", str(spec), "--report-only"]) == 0
    rec3 = json.loads((out / "posterior.json").read_text())
    assert rec3["simulations"] == rec2["simulations"] and rec3["generations"] == 2
    assert (out / "posterior_predictive.png").exists()
    manifest = json.loads((out / ".innogrid-manifest.json").read_text())["files"]
    assert {"posterior_predictive.png", "posterior_marginals.png", "abc.db"} <= set(manifest)
    pred = pd.read_csv(out / "predictive.csv").set_index("statistic")
    assert pred.loc["tier_2", "null"] == 11 and pred.loc["named_misses", "null"] == 2
    # other model code: a report (it simulates nothing) still works and keeps the version
    # that sampled the database; resuming (sampling with the other code) is refused
    import experiments.inference.posterior as posterior_mod
    sampled = rec2["code_version"]
    monkeypatch.setattr(posterior_mod, "code_version", lambda: "0123456789abcdef")
    assert main(["calibrate", str(spec), "--report-only"]) == 0
    assert json.loads((out / "posterior.json").read_text())["code_version"] == sampled
    assert json.loads((out / "spec.json").read_text())["code_version"] == sampled
    capsys.readouterr()
    assert main(["calibrate", str(spec), "--jobs", "2"]) == 2
    assert "another version of the model code" in capsys.readouterr().err
    monkeypatch.undo()
    # another spec (a different prior) on the same output is refused, nothing touched
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    spec.write_text(text.replace("range = [0.85, 1.0]", "range = [0.86, 1.0]"), encoding="utf-8")
    capsys.readouterr()
    assert main(["calibrate", str(spec), "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert "another spec" in err and "cannot be resumed" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_report_only_needs_a_database(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(_spec_text().replace('output = "../docs/validation/posterior_yrd"',
                                         f'output = "{tmp_path / "none"}"'), encoding="utf-8")
    assert main(["calibrate", str(spec), "--report-only"]) == 2
    assert "no calibration database" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_an_output_that_is_not_ours_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("a user's file")
    spec = tmp_path / "spec.toml"
    spec.write_text(_spec_text().replace('output = "../docs/validation/posterior_yrd"',
                                         f'output = "{out}"'), encoding="utf-8")
    assert main(["calibrate", str(spec)]) == 2
    assert "not an innogrid output" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    shutil.rmtree(out)


def test_coverage_of_the_toy_is_nominal_and_tracks_the_level():
    from experiments.inference.diagnostics import (
        coverage,
        reference_table,
        sample_prior,
        summarise_coverage,
    )

    priors = {"mu": Prior("uniform", -10.0, 10.0, "test")}
    rng = np.random.default_rng(2021)
    table = reference_table(gaussian, sample_prior(priors, 3000, rng))
    truths = reference_table(gaussian, sample_prior(priors, 80, rng).clip(-8, 8))
    cov = coverage(table, truths, priors, {"y": 1.0}, {"y": 1.0}, quantile=0.02)
    s = summarise_coverage(cov, 0.9).iloc[0]
    assert 0.78 <= s["coverage"] <= 1.0 and s["consistent"]
    # the exact posterior's 90% interval is 3.29 wide, the prior's 18: about 0.18
    assert 0.12 < s["relative_width"] < 0.26
    # 50% intervals cover about half the truths: the check can fail
    half = coverage(table, truths, priors, {"y": 1.0}, {"y": 1.0}, quantile=0.02, level=0.5)
    assert 0.3 < half["inside"].mean() < 0.7


def test_coverage_runs_on_the_model_and_writes_its_outputs(tmp_path):
    from experiments.inference.diagnostics import run_coverage

    out = tmp_path / "cov"
    spec = tmp_path / "spec.toml"
    spec.write_text(_spec_text(**{"n_talent = 8000\nn_firms = 2000\nn_funds = 80":
                                  "n_talent = 4000\nn_firms = 1000\nn_funds = 40"})
                    .replace('output = "../docs/validation/posterior_yrd"', f'output = "{out}"'),
                    encoding="utf-8")
    s = run_coverage(str(spec), reference=6, truths=2, jobs=1, quantile=0.5)
    assert len(s) == len(load_posterior_spec(spec).priors)
    assert s["truths"].eq(2).all() and s["coverage"].between(0, 1).all()
    rec = json.loads((out / "coverage.json").read_text())
    assert rec["reference"] == 6 and rec["truths"] == 2
    import pandas as pd
    ref = pd.read_csv(out / "reference.csv")
    assert (ref["role"] == "reference").sum() == 6 and ref["seed"].notna().all()


def _fake_posterior(folder: Path, rows: list[dict]) -> Path:
    import pandas as pd
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "particles.csv", index=False)
    names = [k for k in rows[0] if k not in ("weight", "distance", "seed")]
    (folder / "posterior.json").write_text(json.dumps({"parameters": dict.fromkeys(names, {})}))
    return folder


def test_compare_over_posterior_draws_gives_claim_probabilities(tmp_path, capsys):
    from tests.conftest import small_grid_toml

    base = tmp_path / "base.toml"
    base.write_text(small_grid_toml(steps=6))
    other = tmp_path / "more_rd.toml"
    other.write_text(small_grid_toml(steps=6) + "[policy]\nbudget_multiplier = 2.0\n"
                     "[expect]\nmeasure = \"rd_spent\"\ndirection = \"up\"\n")
    # two particles; the second carries all the weight, so every draw is it
    post = _fake_posterior(tmp_path / "post", [
        {"innov_rate": 0.001, "elast_knowledge": 0.2, "weight": 0.0, "seed": 1},
        {"innov_rate": 0.01, "elast_knowledge": 0.4, "weight": 1.0, "seed": 2}])
    out = tmp_path / "cmp"
    assert main(["compare", str(base), str(other), "--posterior", str(post), "--draws", "3",
                 "--seeds", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 posterior draws" in text and "claim rd_spent up: holds in" in text
    # the pooled runs give the posterior-mean effect, not a second verdict on the claim
    assert "the posterior-mean effect, pooled over 3 draws x 2 seeds" in text
    assert "supported" not in text and "not shown at" not in text
    import pandas as pd
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["draw"].unique()) == [0, 1, 2] and len(runs) == 3 * 2 * 2
    meta = json.loads((out / "metadata.json").read_text())
    assert all(d == {"innov_rate": 0.01, "elast_knowledge": 0.4}
               for d in meta["posterior_draws"])
    p = pd.read_csv(out / "posterior.csv").set_index("measure")
    row = p.loc["rd_spent"]
    assert row["expected"] == "up" and row["draws"] == 3 and row["seeds_per_draw"] == 2
    assert row["probability"] == pytest.approx(row["p_up"])
    assert 0 <= row["probability"] <= 1
    # identical draws with common seeds: every draw has the same effect
    assert row["effect_q_low"] == pytest.approx(row["effect_q_high"])


def _claim_row(draw_effects, measure, expected, base_value=0.0):
    """``summarise_posterior``'s row for ``measure`` of one comparison "x" whose seeds'
    differences (other - base) in each draw are ``draw_effects[draw]``."""
    import pandas as pd

    from experiments.analysis.compare import MEASURES, summarise_posterior

    rows = []
    for d, effs in enumerate(draw_effects):
        for s, e in enumerate(effs):
            base = dict.fromkeys(MEASURES, base_value)
            rows.append({"comparison": "x", "draw": d, "seed": s, "role": "base", **base})
            rows.append({"comparison": "x", "draw": d, "seed": s, "role": "other",
                         **{**base, measure: base_value + e}})
    return summarise_posterior(pd.DataFrame(rows), {"x": (measure, expected)}).set_index(
        "measure").loc[measure]


def test_summarise_posterior_probability_is_the_share_of_draws_on_the_claimed_side():
    # draw effects on mean_index: +1, +3, -2 (two seeds each, averaged)
    p = _claim_row([(0.5, 1.5), (3.0, 3.0), (-1.0, -3.0)], "mean_index", "up", base_value=1.0)
    assert p["probability"] == pytest.approx(2 / 3)
    assert p["probability_runs"] == pytest.approx(4 / 6)
    assert p["effect_mean"] == pytest.approx((1 + 3 - 2) / 3)


def test_a_draw_whose_seeds_cancel_is_on_neither_side():
    """Seed differences +0.1, +0.2, -0.3 sum to 5.6e-17 in floating point, not 0: such a
    draw is a tie, not a draw that moved the claimed way (or the other)."""
    assert 0.1 + 0.2 - 0.3 != 0  # the rounding this guards against
    p = _claim_row([(0.1, 0.2, -0.3), (-0.1, -0.2, 0.3), (1.0, 1.0, 1.0)], "target_rank",
                   "down")
    assert p["probability"] == 0.0 and p["p_down"] == 0.0
    assert p["p_up"] == pytest.approx(1 / 3)  # only the draw that moved


def test_a_posterior_folder_that_is_not_one_is_refused(tmp_path, capsys):
    from tests.conftest import small_grid_toml

    base = tmp_path / "base.toml"
    base.write_text(small_grid_toml(steps=4))
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert main(["compare", str(base), str(base), "--posterior", str(empty), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--posterior" in err and "particles.csv" in err
    bad = _fake_posterior(tmp_path / "bad", [{"no_such_param": 1.0, "weight": 1.0}])
    assert main(["compare", str(base), str(base), "--posterior", str(bad), "--out",
                 str(tmp_path / "o")]) == 2
    assert "no_such_param" in capsys.readouterr().err
    assert main(["compare", str(base), str(base), "--draws", "3", "--out",
                 str(tmp_path / "o")]) == 2
    assert "only with --posterior" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_target_probabilities_weigh_the_particles():
    import pandas as pd

    from experiments.inference.posterior import TARGETS, target_probabilities

    good = {"tier_1": 1, "tier_2": 8, "tier_3": 9, "tier_4": 23, "named_misses": 0,
            "hefei_tier2": 1, "log_index_growth": math.log(300), "collab_index_2021": 250,
            "gdp_share_error": 0.1, "gdp_cv_2021": 1.1, "log_rd_intensity_ratio": 0.3,
            "log_rd_intensity_2021": math.log(0.03), "log_real_gdp_growth": 1.7,
            "indicators_all_grow": 1, "fast_beat_slow": 1, "resident_share_error": 0.14}
    bad = {**good, "tier_1": 2, "named_misses": 3, "log_index_growth": math.log(60),
           "gdp_share_error": 0.2, "resident_share_error": 0.25}
    p = target_probabilities(pd.DataFrame([{**good, "weight": 3.0}, {**bad, "weight": 1.0}]))
    assert set(p) == set(TARGETS)
    assert p["shanghai_alone"] == pytest.approx(0.75) and p["index_growth"] == pytest.approx(0.75)
    assert p["gdp_shares"] == pytest.approx(0.75) and p["tier_2"] == pytest.approx(1.0)
    assert p["rd_level"] == pytest.approx(1.0) and p["resident_shares"] == pytest.approx(0.75)
    # an older particles table without the R&D level or the residents: those targets are
    # unknown, not 0
    old = pd.DataFrame([{**good, "weight": 1.0}]).drop(
        columns=["log_rd_intensity_2021", "resident_share_error"])
    q = target_probabilities(old)
    assert math.isnan(q["rd_level"]) and math.isnan(q["resident_shares"])
    assert q["shanghai_alone"] == pytest.approx(1.0)


def test_where_residents_went_is_a_statistic_with_the_null_as_its_scale():
    from experiments.analysis.patterns import score_null
    from experiments.inference.posterior import STATISTICS, null_statistics, statistics_of
    from model.geography import yrd

    geo = yrd()
    null = null_statistics(geo)["resident_share_error"]
    assert null == pytest.approx(score_null(geo)["resident_share_male"])
    assert STATISTICS["resident_share_error"].scale == pytest.approx(null, abs=0.0005)
    score = {"tier_1": 1, "tier_2": 8, "tier_3": 9, "tier_4": 23, "named_hits": 10,
             "hefei_tier2": 1.0, "index_growth": 300.0, "collab_index_2021": 250.0,
             "gdp_share_male": 0.19, "gdp_cv_2021": 1.1, "rd_intensity_ratio_2021_2011": 1.5,
             "rd_intensity_2021": 0.03, "real_gdp_growth": 3.0, "indicators_all_grow": True,
             "fast_beat_slow": True}
    assert math.isnan(statistics_of(score)["resident_share_error"])  # residents not scored
    assert statistics_of({**score, "resident_share_male": 0.14})[
        "resident_share_error"] == pytest.approx(0.14)


def test_the_sampler_space_is_standard_normal_and_maps_back_to_the_prior():
    uni, logu = Prior("uniform", 0.0, 10.0, "t"), Prior("loguniform", 1.0, 100.0, "t")
    assert uni.natural(0.0) == pytest.approx(5.0) and logu.natural(0.0) == pytest.approx(10.0)
    for p in (uni, logu):
        for x in (p.lo * 1.01 + 0.01, (p.lo + p.hi) / 2, p.hi * 0.99):
            assert p.natural(p.to_sampler(x)) == pytest.approx(x, rel=1e-9)
    # standard normal draws in the sampler's space are the prior in the parameter's units
    z = np.random.default_rng(3).standard_normal(20000)
    x = np.array([uni.natural(v) for v in z])
    assert 0.0 <= x.min() and x.max() <= 10.0
    assert np.histogram(x, bins=5, range=(0, 10))[0] / len(x) == pytest.approx([0.2] * 5,
                                                                               abs=0.015)
    lx = np.log10([logu.natural(v) for v in z])
    assert np.histogram(lx, bins=4, range=(0, 2))[0] / len(x) == pytest.approx([0.25] * 4,
                                                                               abs=0.015)
