"""Policy comparison: common random numbers, paired intervals, and scenario levers that
move their own targeted measure beyond seed noise."""

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.compare import (
    MEASURES,
    SHOWN_MEASURES,
    compare,
    figure_measures,
    replicate_seeds,
    summarise,
)
from experiments.cli import main


def test_replicate_seeds_are_spawned_and_recorded():
    a = replicate_seeds(7, 5)
    assert a == replicate_seeds(7, 5) and len(set(a)) == 5
    assert a[:3] == replicate_seeds(7, 3)  # spawning is prefix-stable
    assert a != replicate_seeds(8, 5)


def test_summarise_paired_t_interval_hand_case():
    runs = pd.DataFrame({
        "comparison": ["x"] * 6, "role": ["base", "other"] * 3, "seed": [1, 1, 2, 2, 3, 3],
        **{m: 0.0 for m in MEASURES}})
    runs.loc[runs.role == "other", "cv"] = [1.0, 2.0, 3.0]  # diffs 1, 2, 3
    s = summarise(runs).set_index("measure")
    half = 4.302652729911275 * 1.0 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert s.loc["cv", "diff"] == pytest.approx(2.0)
    assert s.loc["cv", "ci_low"] == pytest.approx(2.0 - half)
    assert s.loc["cv", "ci_high"] == pytest.approx(2.0 + half)
    assert not s.loc["cv", "beyond_noise"]  # interval [-0.48, 4.48] includes 0
    assert s.loc["gini", "diff"] == 0.0
    claimed = summarise(runs, {"x": ("cv", "up")}).set_index("measure")
    assert claimed.loc["cv", "expected"] == "up" and not claimed.loc["cv", "as_expected"]
    runs.loc[runs.role == "other", "cv"] = [2.0, 2.1, 2.2]  # tight: beyond noise, upward
    claimed = summarise(runs, {"x": ("cv", "up")}).set_index("measure")
    assert claimed.loc["cv", "as_expected"]
    assert not summarise(runs, {"x": ("cv", "down")}).set_index("measure").loc["cv",
                                                                               "as_expected"]


def test_common_random_numbers_base_runs_identical_across_comparisons():
    runs = compare("yrd_calibrated.toml", ["free_flow.toml", "culture_ip.toml"], seeds=2,
                   steps=6)
    base = runs[runs.role == "base"]
    a = base[base.comparison == "free_flow"].set_index("seed")["mean_index"]
    b = base[base.comparison == "culture_ip"].set_index("seed")["mean_index"]
    pd.testing.assert_series_equal(a, b)


def test_the_base_runs_once_per_seed_and_is_measured_for_each_comparison(monkeypatch):
    import experiments.analysis.compare as cmp
    calls = []
    real = cmp._run

    def counting(sc, seed, steps, state):
        calls.append((sc.name, seed))
        return real(sc, seed, steps, state)

    monkeypatch.setattr(cmp, "_run", counting)
    others = ["hefei_push.toml", "core_leads.toml", "free_flow.toml"]
    runs = compare("yrd_calibrated.toml", others, seeds=2, steps=4)
    assert len(calls) == 2 * (1 + len(others))  # was 2 * 2 * len(others)
    assert len(runs) == 2 * 2 * len(others)     # still one base row per comparison
    base = runs[runs.role == "base"].set_index(["comparison", "seed"])
    # the same base run, measured for each comparison's own targeted cities
    hefei = base.loc["hefei_push"]["target_rank"]
    leads = base.loc["core_leads"]["target_rank"]
    assert not np.allclose(hefei.to_numpy(), leads.to_numpy())
    pd.testing.assert_series_equal(base.loc["hefei_push"]["mean_index"],
                                   base.loc["free_flow"]["mean_index"])
    # and like a single run of the base measured for those targets alone
    from experiments.analysis.compare import scenario_measures
    from model.scenario import load_scenario
    seed = int(hefei.index[0])
    one = scenario_measures("yrd_calibrated.toml", seed, 4,
                            targets=load_scenario("hefei_push.toml").targets())
    assert one["target_rank"] == hefei.loc[seed]


def _effect(other, seeds, measure):
    s = summarise(compare("yrd_calibrated.toml", [other], seeds=seeds)).set_index("measure")
    return s.loc[measure]


def test_free_flow_raises_cross_province_capital_too():
    # its [expect] claim (talent) is checked in test_scenarios; capital moves as well
    r = _effect("free_flow.toml", 6, "capital_cross_province")
    assert r["beyond_noise"] and r["diff"] > 0, r


def test_compare_cli_writes_outputs(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "yrd_calibrated.toml", "hefei_push.toml", "--seeds", "2", "--steps",
                 "4", "--out", str(out)]) == 0
    assert "hefei_push - base" in capsys.readouterr().out
    for f in ("compare.csv", "runs.csv", "compare.png", "metadata.json"):
        assert (out / f).exists()
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["seed"]) == set(replicate_seeds(20260101, 2))


def test_compare_rejects_bad_scenario_before_running(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[params]\nspill_rate = -1\n")
    assert main(["compare", "yrd_calibrated.toml", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "params.spill_rate" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_compare_refuses_scenarios_on_different_maps(tmp_path, capsys):
    """A grid preset against the YRD base printed starred city-by-city differences."""
    assert main(["compare", "yrd_calibrated.toml", "boston.toml", "--seeds", "2",
                 "--steps", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    errors = [x for x in err.splitlines() if "error" in x]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "boston.toml" in errors[0] and "geography" in errors[0] and "yrd" in errors[0]
    assert not (tmp_path / "o").exists()


def test_verdicts_say_not_shown_and_how_many_seeds_would_show_it():
    from experiments.analysis.compare import seeds_needed, verdict
    assert seeds_needed(1.0, 2.0) == 18  # t(17) * 2 / sqrt(18) = 0.995 < 1
    assert np.isnan(seeds_needed(0.0, 1.0)) and np.isnan(seeds_needed(np.nan, 1.0))
    row = {"n_seeds": 4, "as_expected": False, "expected": "up", "diff": 1.0,
           "ci_low": -2.2, "ci_high": 4.2, "seeds_needed": 18.0}
    v = verdict(row)
    assert v.startswith("not shown at 4 seeds (interval -2.2 to +4.2)") and "18 seeds" in v
    assert verdict({**row, "as_expected": True}) == "supported beyond noise"
    assert verdict({**row, "ci_low": -5.0, "ci_high": -1.0, "diff": -3.0}) == \
        "opposite, beyond noise"
    assert "18 seeds" not in verdict({**row, "diff": -1.0})  # the wrong side: no promise
    assert "no interval" in verdict({**row, "n_seeds": 1})
    # summarise fills both for claim rows
    runs = pd.DataFrame({"comparison": "x", "role": ["base", "other"] * 3,
                         "seed": [1, 1, 2, 2, 3, 3],
                         **{m: [0.0, 1.0, 0.0, 3.0, 0.0, -1.0] for m in MEASURES}})
    s = summarise(runs, {"x": ("mean_index", "up")}).set_index("measure")
    assert s.loc["mean_index", "verdict"].startswith("not shown at 3 seeds")
    assert s.loc["mean_index", "seeds_needed"] > 3


def test_cli_prints_the_verdict_in_words_and_no_nan_interval_for_one_seed(tmp_path, capsys):
    assert main(["compare", "yrd_calibrated.toml", "hefei_push.toml", "--seeds", "1",
                 "--steps", "2", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "(no interval from 1 seed)" in out
    assert "claim: down, not shown: 1 seed gives no interval" in out


def test_figure_measures_adds_claimed_measures_and_takes_a_summary_without_claims():
    """A summary whose `expected` column is all missing (a float column) gives the shown
    measures alone, without pandas' warning on filling a float column with a string."""
    import warnings
    none = pd.DataFrame({"measure": ["mean_index", "founded"], "expected": [np.nan, np.nan]})
    some = pd.DataFrame({"measure": ["mean_index", "founded"], "expected": [np.nan, "up"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert figure_measures(none) == list(SHOWN_MEASURES)
        assert figure_measures(some) == [*dict.fromkeys([*SHOWN_MEASURES, "founded"])]
