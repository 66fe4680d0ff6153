"""Each shipped scenario's claim, and the lever it pulls, against seed noise.

Every scenario file states its claim in ``[expect]``: the outcome its study argues, one
step on from the lever (free flow narrows the differences between cities; it does not
merely raise the cross-province moves it unblocks). Here each runs against its base over
common seeds and the claimed measure's paired 95% interval must exclude zero on the
claimed side. The number of seeds per scenario is what its effect needs.

The lever itself is a smoke test (``LEVERS``): on the same runs, the measure the lever
acts on must move beyond noise, so that a claim that fails is a finding about the
mechanism, not a lever that was never pulled.

The base runs are shared: scenarios on one base run it on the same seeds (replicate
seeds are prefix-stable), so the module turns the run cache on in a directory common to
the session's test workers, and each base run is computed once. A cached run is the very
run (tests/test_cache.py), so no outcome depends on which test ran first.

Known misses are listed in ``KNOWN_MISSES`` with the reason, and run as strict expected
failures: if the model starts to support such a claim the test fails, and the list and
docs/VALIDATION.md must be updated.
"""

import os

import pytest

from experiments.analysis.compare import compare, expectations, summarise
from experiments.running.run import process_pool
from model.scenario import SCENARIO_DIR, base_of, load_scenario

#: Seeds per scenario where the default (8) is too few for its effect size.
SEEDS = {"g60_corridor": 16, "hefei_push": 16, "tokyo": 12, "culture_ip": 16,
         "financial_synergy": 16, "chengdu": 16, "core_leads": 16}

#: Claims the model does not support at the calibrated point (see docs/VALIDATION.md).
KNOWN_MISSES = {
    "free_flow": "removing the barriers moves talent across provinces (the lever) but the CV "
                 "of the index does not fall beyond noise at 8 seeds; at 16 it falls the "
                 "claimed way, -0.025 [-0.052, +0.001], not beyond noise either",
    "g60_corridor": "the calibrated base (yrd_history.toml) already holds the documented G60 "
                    "corridor (2017-2019 on, with integration and platform sharing); starting "
                    "it in 2016 with joint tax relief and more sharing leaves the corridor "
                    "cities' share unchanged: +0.0024 [-0.0025, +0.0074] at 16 seeds",
    "core_leads": "Shanghai's push to lead the second tier moves the targets' mean rank by "
                  "-0.26 [-0.74, +0.22] at 16 seeds, the claimed way but not beyond noise "
                  "(about 49 seeds would show it if the effect is as estimated)",
    "shenzhen": "50% more startups in Shenzhen (the lever works) but its share of the peers' "
                "index falls, -0.014 [-0.018, -0.010] at 16 seeds: the fix moves Shenzhen's "
                "budget from R&D subsidies, procurement and platforms to guidance funds and "
                "basic research, and the new startups add little innovation by 2021",
}


#: The measure each scenario's lever acts on directly, where its claim is a further outcome.
LEVERS = {"boston": ("vc_invested", "up"), "free_flow": ("talent_cross_province", "up"),
          "financial_synergy": ("capital_cross_province", "up"),
          "chengdu": ("target_talent", "up"), "shenzhen": ("target_founded", "up")}

_RUNS: dict[str, object] = {}


def _runs(base, scenario, executor):
    """The comparison of one scenario with its base, run once for both tests."""
    name = scenario.removesuffix(".toml")
    if name not in _RUNS:
        _RUNS[name] = compare(base, [scenario], seeds=SEEDS.get(name, 8), executor=executor)
    return _RUNS[name]


def _claimed():
    out = []
    for p in sorted(SCENARIO_DIR.glob("*.toml")):
        sc = load_scenario(p)
        if sc.expect is None:
            continue
        base = base_of(p)
        marks = ([pytest.mark.xfail(reason=KNOWN_MISSES[p.stem], strict=True)]
                 if p.stem in KNOWN_MISSES else [])
        # the claim and the lever of a scenario share one comparison (_RUNS): in a pool of
        # test workers (./dev test) they run on the same one
        marks.append(pytest.mark.xdist_group(p.stem))
        out.append(pytest.param(base, p.name, id=p.stem, marks=marks))
    return out


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory):
    """The run cache on, in one directory for every test worker of the session."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' base directories share this parent
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INNOGRID_CACHE", str(root / "scenario-runs"))
        yield


@pytest.fixture(scope="module")
def executor(shared_runs):
    with process_pool(2) as ex:  # its workers take the cache setting of now
        yield ex


def test_every_policy_scenario_states_a_claim():
    bases = {"yrd_baseline", "yrd_history", "yrd_posterior_point", "yrd_calibrated",
             "grid_baseline", "peers_baseline", "peers_history", "peers_calibrated"}
    for p in SCENARIO_DIR.glob("*.toml"):
        if p.stem not in bases:
            assert load_scenario(p).expect is not None, f"{p.name} has no [expect] claim"


@pytest.mark.slow
@pytest.mark.parametrize("base,scenario", _claimed())
def test_the_claim_holds_beyond_noise(base, scenario, executor):
    name = scenario.removesuffix(".toml")
    runs = _runs(base, scenario, executor)
    s = summarise(runs, expectations([scenario]))
    row = s[s["expected"] != ""].iloc[0]
    assert row["as_expected"], (f"{name}: {row['measure']} {row['expected']}: diff "
                                f"{row['diff']:+.4g} [{row['ci_low']:+.4g}, {row['ci_high']:+.4g}]")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n))
                                  for n in sorted(LEVERS)])
def test_the_lever_is_pulled(name, executor):
    """Smoke test: the lever moves the measure it acts on directly."""
    scenario = f"{name}.toml"
    measure, direction = LEVERS[name]
    claim = load_scenario(SCENARIO_DIR / scenario).expect
    assert claim.measure != measure, f"{name}: the claim should be an outcome, not the lever"
    runs = _runs(base_of(SCENARIO_DIR / scenario), scenario, executor)
    row = summarise(runs, {name: (measure, direction)}).set_index("measure").loc[measure]
    assert row["as_expected"], (f"{name}: lever {measure} {direction}: diff {row['diff']:+.4g} "
                                f"[{row['ci_low']:+.4g}, {row['ci_high']:+.4g}]")
