"""The EMA Workbench adapter: a scenario as an EMA model that perform_experiments runs."""

import warnings

import numpy as np
import pytest

from experiments.analysis.ema import ema_model
from model.model import InnovationModel
from model.scenario import ScenarioError
from tests.conftest import small_grid

warnings.filterwarnings("ignore", message="ipyparallel not installed")
ema = pytest.importorskip("ema_workbench")


def test_perform_experiments_runs_the_scenario_and_each_row_recreates_its_run():
    sc = small_grid(steps=3)
    model = ema_model(sc, uncertainties={"innov_rate": (0.001, 0.05)},
                      levers={"rd_subsidy_max": (0.0, 0.5)},
                      outcomes=("mean_index", "tier_2"), series=("mean_index", "talent"))
    experiments, outcomes = ema.perform_experiments(model, scenarios=4, policies=2)
    assert len(experiments) == 8
    assert {"innov_rate", "rd_subsidy_max"} <= set(experiments.columns)
    assert [(c.name, c.value) for c in model.constants] == [("seed", sc.seed)]
    assert outcomes["mean_index"].shape == (8,)
    assert outcomes["talent_series"].shape == (8, 4)  # steps 0..3
    assert np.all(np.isfinite(outcomes["mean_index"]))
    # every row re-creates its run exactly from the experiment's inputs
    row = experiments.iloc[5]
    m = InnovationModel(sc, seed=sc.seed, innov_rate=float(row["innov_rate"]),
                        rd_subsidy_max=float(row["rd_subsidy_max"]))
    m.run()
    assert outcomes["mean_index"][5] == m.region_frame()["mean_index"].iloc[-1]
    assert np.array_equal(outcomes["mean_index_series"][5],
                          m.region_frame()["mean_index"].to_numpy())
    # the uncertainty acts: more innovation where the sampled rate is higher
    hi = experiments["innov_rate"].to_numpy() > np.median(experiments["innov_rate"])
    assert outcomes["mean_index"][hi].mean() > outcomes["mean_index"][~hi].mean()


def test_declared_ranges_and_seed_as_an_uncertainty():
    model = ema_model(small_grid(steps=2), uncertainties=["elast_knowledge", "n_firms"],
                      levers={"seed": (1, 1000)})
    u = {p.name: p for p in model.uncertainties}
    ek = u["elast_knowledge"]
    assert (ek.lower_bound, ek.upper_bound) == (0.0, 1.5)  # its declared range
    assert type(u["n_firms"]).__name__ == "IntegerParameter"
    assert [p.name for p in model.levers] == ["seed"]


@pytest.mark.parametrize("kw,key", [
    ({"uncertainties": {"innov_ratee": (0, 1)}}, "uncertainties.innov_ratee"),
    ({"uncertainties": {"innov_rate": (0.5, 0.1)}}, "uncertainties.innov_rate"),
    ({"uncertainties": {"innov_rate": (0.0, 99.0)}}, "uncertainties.innov_rate"),
    ({"levers": ["rd_intensity"]}, "levers.rd_intensity"),
    ({"outcomes": ["happiness"]}, "outcomes"),
    ({"uncertainties": ["innov_rate"], "levers": ["innov_rate"]}, "levers"),
])
def test_bad_names_and_bounds_are_refused_before_any_run(kw, key):
    with pytest.raises(ScenarioError) as e:
        ema_model(small_grid(steps=2), **kw)
    assert key in str(e.value)
