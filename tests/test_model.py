"""Smoke, reproducibility and Mesa-fit tests of the whole model."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.entities import Government, VentureFund
from model.model import CITY_COLUMNS, REGION_COLUMNS, InnovationModel
from model.scenario import ScenarioError, load_scenario
from tests.conftest import small_grid


@pytest.fixture(scope="module")
def yrd_short():
    sc = load_scenario("scenarios/yrd_baseline.toml").with_overrides(
        steps=12, params={"n_talent": 4000, "n_firms": 1000, "n_funds": 40})
    m = InnovationModel(sc, seed=11)
    m.run()
    return m


def test_yrd_steps_and_records(yrd_short):
    m = yrd_short
    cities, region = m.cities_frame(), m.region_frame()
    assert len(region) == 13 and len(cities) == 13 * 41
    assert set(CITY_COLUMNS) <= set(cities.columns)
    assert list(region.columns) == ["seed", *REGION_COLUMNS]
    assert (region[["tier_1", "tier_2", "tier_3", "tier_4"]].sum(axis=1) == 41).all()
    assert region["mean_index"].iloc[-1] > 0
    assert (cities["seed"] == 11).all() and (region["seed"] == 11).all()
    assert region["year"].iloc[4] == 2002.0


SHIPPED = sorted(p.name for p in (Path(__file__).resolve().parent.parent / "scenarios")
                 .glob("*.toml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_steps(name):
    sc = load_scenario(name).with_overrides(params={"n_talent": 2000, "n_firms": 400,
                                                    "n_funds": 20})
    m = InnovationModel(sc, seed=1)
    for _ in range(3):
        m.step()
    assert m.world.step == 3 and m.steps == 3
    assert np.isfinite(m.city.index).all()


def _outputs(seed, steps=10):
    m = InnovationModel(small_grid(steps=steps), seed=seed)
    m.run()
    return m.cities_frame(), m.region_frame(), m.flows_frames()


def test_same_seed_is_bit_identical():
    a, b = _outputs(5), _outputs(5)
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)
    for k in a[2]:
        pd.testing.assert_frame_equal(a[2][k], b[2][k], check_exact=True)


def test_different_seeds_differ():
    a, b = _outputs(5), _outputs(6)
    assert not np.array_equal(a[0]["index"].to_numpy(), b[0]["index"].to_numpy())
    assert not np.array_equal(a[2]["talent"].to_numpy(), b[2]["talent"].to_numpy())


def test_mesa_fit_agents_views_and_collector(yrd_short):
    m = yrd_short
    govs = m.agents_by_type[Government]
    assert len(govs) == 41
    assert {g.name for g in govs} == set(m.geo.cities)
    assert len(m.agents_by_type[VentureFund]) == m.funds.n
    hefei = m.city_view("Hefei")
    assert hefei["province"] == "Anhui" and hefei["tier"] in (1, 2, 3, 4)
    assert "share_platform" in hefei["policy"]
    mf = m.datacollector.get_model_vars_dataframe()
    assert len(mf) == 13 and "mean_index" in mf
    af = m.datacollector.get_agenttype_vars_dataframe(Government)
    assert len(af) == 13 * 41
    f = m.firm(0)
    assert f.as_dict()["city_name"] in m.geo.cities
    t = m.talent_agent(int(m.talent.uid[3]))
    assert 0 <= t.city < 41
    with pytest.raises(IndexError):
        m.firm(10**9)
    with pytest.raises(LookupError):
        m.talent_agent(10**9)
    assert m.time == 12.0


def test_follow_one_firm_and_one_talent():
    m = InnovationModel(small_grid(steps=6, params={"p_talent_exit": 0.0}), seed=2)
    m.track(firms=[0], talent=[0])
    m.run()
    hf, ht = m.history("firm", 0), m.history("talent", 0)
    assert list(hf.index) == list(range(7)) and list(ht.index) == list(range(7))
    assert {"cash", "capability", "city"} <= set(hf.columns)
    with pytest.raises(KeyError, match="not tracked"):
        m.history("firm", 5)


def test_policy_rule_switches_on_at_its_year():
    sc = small_grid(steps=12, rules=[{"cities": ["c2_2"], "from_year": 2002,
                                      "budget_multiplier": 5.0}])
    m = InnovationModel(sc, seed=1)
    i = sc.geography.index("c2_2")
    for _ in range(4):
        m.step()
        assert m.policy["budget_multiplier"][i] == 1.0
    m.step()
    assert m.policy["budget_multiplier"][i] == 5.0
    assert m.governments[i].policy["budget_multiplier"] == 5.0


def test_ordering_choice_is_a_parameter_and_matters():
    def run(flag):
        m = InnovationModel(small_grid(steps=8, params={"migrate_before_hire": flag,
                                                        "p_search": 0.3}), seed=4)
        m.run()
        return m

    a, b = run(False), run(True)
    idle_a = (a.talent.view("employer") < 0).mean()
    idle_b = (b.talent.view("employer") < 0).mean()
    assert idle_b < idle_a  # movers get jobs in the same quarter
    assert "migrate" in InnovationModel.step.__doc__ and "migrate_before_hire" in \
        InnovationModel.step.__doc__


def test_mesa_batch_run_takes_parameter_overrides():
    """Mesa's own batch_run sweeps a parameter by keyword and stops at the scenario's end."""
    import mesa
    sc = small_grid(steps=3)
    out = mesa.batch_run(InnovationModel, parameters={"scenario": sc,
                                                      "innov_rate": [0.001, 0.02]},
                         rng=[1, 2], max_steps=100, display_progress=False)
    runs = {r["RunId"]: r for r in out}  # one row per agent of the last step, per run
    assert len(runs) == 4  # 2 values x 2 seeds
    assert sorted(r["innov_rate"] for r in runs.values()) == [0.001, 0.001, 0.02, 0.02]
    assert all(r["Step"] == 3 for r in out)  # running turned False at the scenario's end
    # the override reached the model: a 20 times higher rate innovates more
    low = sum(r["mean_index"] for r in runs.values() if r["innov_rate"] == 0.001)
    high = sum(r["mean_index"] for r in runs.values() if r["innov_rate"] == 0.02)
    assert high > low
    m = InnovationModel(sc, seed=1, innov_rate=0.02)
    assert m.params.innov_rate == 0.02 and m.running
    m.run()
    assert not m.running
    with pytest.raises(ScenarioError, match="params.innov_rate"):
        InnovationModel(sc, seed=1, innov_rate=-1.0)
