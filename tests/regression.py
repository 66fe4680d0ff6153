"""The regression case: a short YRD run whose summary is committed in tests/baseline/.

Update deliberately, after a change that is meant to alter results:
    .venv/bin/python -m tests.update_baseline
and say in the commit why the numbers moved.
"""

from model.model import InnovationModel
from model.scenario import load_scenario

BASELINE = "tests/baseline/yrd_regression.json"
COLUMNS = ("mean_index", "cv", "gini", "theil", "morans_i", "tier_1", "tier_2", "tier_3",
           "tier_4", "spillover_share", "innovations", "firms_alive", "vc_invested",
           "talent_migration")


def regression_summary() -> dict:
    sc = load_scenario("scenarios/yrd_baseline.toml").with_overrides(
        steps=16, params={"n_talent": 5000, "n_firms": 1200, "n_funds": 50})
    m = InnovationModel(sc, seed=424242, collect_agents=False)
    m.run()
    region = m.region_frame()
    cities = m.cities_frame()
    last = cities[cities["step"] == 16]
    return {
        "region": {c: [float(v) for v in region[c]] for c in COLUMNS},
        "final_index": dict(zip(last["city"], map(float, last["index"]), strict=True)),
    }
