"""The calibrated historical run against the facts and against the persistence null model.

"Emergent" means better than the initial condition. Over 20 seeds of
``scenarios/yrd_calibrated.toml`` (root 4242, seeds the calibration never used), each
target of the issue "Tiers that emerge instead of being inherited" is checked, and the
persistence null model (the tier rule on 2001 GDP; 2021 GDP shares = 2001 shares) is
scored on the same facts (``experiments.analysis.patterns``).

Targets the model misses are listed in ``MISSES`` with the measured reason and run as
strict expected failures: if the model starts to meet one, the test fails and the list and
docs/VALIDATION.md must be updated. Nothing here is tuned to pass.
"""

import functools

import numpy as np
import pytest

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.validate import run_scores, summarise_scores
from experiments.running.run import process_pool
from model.scenario import load_scenario

#: one test worker runs this whole file (its module fixtures are built once)
pytestmark = pytest.mark.xdist_group("emergence")

SEEDS = 20

#: target -> the measured reason it is missed (docs/VALIDATION.md, "Emergence").
MISSES: dict[str, str] = {
    "named_hits_beat_null": "9.2 of 11 (the null: 9): Nantong is in tier 2 in every seed "
                            "(fact: tier 3; its index follows its output and its nearness to "
                            "Shanghai and Suzhou), and Hefei, "
                            "Changzhou and Wenzhou are in tier 2 in 60%, 75% and 90%",
    "tier2_count": "10.25 cities on average, just outside 8 +/- 2 (the null: 11): with the "
                   "named (Hefei 60%, Changzhou 75%, Wenzhou 90%), Nantong (100%), Shaoxing "
                   "(90%), Jiaxing and Taizhou_ZJ (30% each), Jinhua (15%), Yangzhou, "
                   "Zhenjiang and Taizhou_JS (10% each) and Xuzhou (5%)",
    "gdp_shares_beat_null": "mean absolute log error of the 2021 GDP shares 0.195 against the "
                            "null's 0.183: the model's changes in log share are too flat (sd "
                            "0.118 against the data's 0.237, correlation 0.25; medians over "
                            "the seeds); Shanghai's fall is near the data's (-0.29; -0.26), "
                            "but Zhejiang's mean rises where the data's falls (+0.03; -0.15), "
                            "Anhui's rises where the data's barely moves (+0.14; +0.03) and "
                            "Jiangsu's rise is short (+0.10; +0.16): no input separates the "
                            "provinces",
    "collab_index_247_pm_40": "297 (median), above 247 +/- 40: achievement sharing (the value of "
                              "cross-city co-inventions) grows 4.38-fold 2011-2021, the other "
                              "four 2.00- to 2.86-fold",
    "first_three_indicators_faster": "in 5% of the seeds: innovation cooperation (the count of "
                                     "cross-city co-inventions) grows 2.00-fold 2011-2021, "
                                     "below environmental support (2.49, budgets' shares, "
                                     "which grow with real output, 2.16, plus the "
                                     "programmes' platform money); the innovations grow "
                                     "1.90-fold and the share co-invented across cities only "
                                     "5%; industrial linkage grows 2.00-fold (medians). The "
                                     "innovation ceiling does not bind at this point",
}


@functools.cache
def _summary():
    sc = load_scenario("yrd_calibrated.toml")
    with process_pool(2) as ex:
        scores = run_scores(sc, replicate_seeds(4242, SEEDS), executor=ex)
    return summarise_scores(scores, sc.geography)


@pytest.fixture
def summary():
    """The 20 runs, once per test process: a module fixture is torn down and built again
    when a pool of test workers interleaves this file's tests with others."""
    return _summary()


def _target(name):
    marks = [pytest.mark.xfail(reason=MISSES[name], strict=True)] if name in MISSES else []
    return pytest.param(name, id=name, marks=marks)


CHECKS = {
    "named_hits_beat_null": lambda s: s["named_hits_mean"] >= 10 > s["null"]["named_hits"],
    "hefei_tier2_half_the_seeds": lambda s: s["hefei_tier2_share"] >= 0.5,
    "shanghai_alone_in_tier1": lambda s: s["shanghai_alone_share"] >= 0.9,
    "tier2_count": lambda s: abs(s["tier_counts_mean"]["tier_2"] - 8) <= 2,
    "tier3_count": lambda s: abs(s["tier_counts_mean"]["tier_3"] - 9) <= 3,
    "tier4_count": lambda s: abs(s["tier_counts_mean"]["tier_4"] - 23) <= 4,
    "index_growth_150_700x": lambda s: 150 <= s["index_growth_end2001_end2021"]["median"] <= 700,
    "rd_intensity_rises_1_2x": lambda s: s["rd_intensity_2021_over_2011"]["median"] >= 1.2,
    "gdp_cv_falls": lambda s: s["gdp_cv_2021"]["median"] < s["gdp_cv_2001"],
    "gdp_shares_beat_null": lambda s: (s["gdp_share_male"]["median"]
                                       < s["null"]["gdp_share_male"]),
    "collab_index_247_pm_40": lambda s: abs(s["collab_index_2021"]["median"] - 247.11) <= 40,
    # held out of every calibration: where residents went (settle), against the 2000 census
    "resident_shares_beat_null": lambda s: (s["resident_share_male"]["median"]
                                            < s["null"]["resident_share_male"]),
    "indicators_all_grow": lambda s: s["indicators_all_grow_share"] >= 0.5,
    "first_three_indicators_faster": lambda s: s["fast_beat_slow_share"] >= 0.5,
}


@pytest.mark.parametrize("name", [_target(k) for k in CHECKS])
def test_target(name, summary):
    assert CHECKS[name](summary), {k: summary[k] for k in (
        "named_hits_mean", "hefei_tier2_share", "tier_counts_mean", "null")}


def test_the_null_is_scored_on_the_same_facts(summary):
    null = summary["null"]
    assert null["named_hits"] == 9 and not null["hits"]["Hefei"] and not null["hits"]["Nantong"]
    assert np.isclose(null["gdp_share_male"], 0.1827, atol=0.001)


def test_a_pool_of_test_workers_runs_this_file_on_one_worker(request):
    """The xdist_group mark above takes effect under ``./dev test`` (``--dist loadgroup``):
    pytest-xdist then adds the group to the test's id. With pytest 9.2 it silently did
    not (pyproject.toml pins pytest below 9.2), and every worker built the 20 runs."""
    if not getattr(request.config.option, "loadgroup", False):  # no such option without xdist
        pytest.skip("not in a pool of test workers with --dist loadgroup")
    assert request.node.nodeid.endswith("@emergence"), request.node.nodeid
