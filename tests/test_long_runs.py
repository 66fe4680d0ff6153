"""Long runs inside the allowed range stay finite at every step (issue #11, section 4).

RuntimeWarnings are errors in this suite (pyproject), so an overflow or a division by a
vanishing number fails the test where it happens, not only when a NaN reaches an output.
"""

import numpy as np
import pytest

from model.model import InnovationModel
from model.scenario import SCENARIO_DIR, load_scenario
from tests.conftest import small_grid

STATE = ("gdp", "capital", "tfp", "knowledge", "index", "culture", "ip", "wage", "rent",
         "platforms", "budget", "talent_pool", "rd_pool", "credit_pool", "talent_offer")


def _finite(m) -> bool:
    c = m.city
    return (all(np.isfinite(getattr(c, k)).all() for k in STATE)
            and np.isfinite(m.firms.view("cash")).all()
            and np.isfinite(m.funds.view("capital")).all())


def test_ten_thousand_quarters_on_a_small_grid_stay_finite():
    m = InnovationModel(small_grid(steps=10_000), seed=5, collect_agents=False)
    for k in range(10_000):
        m.step()
        assert _finite(m), f"non-finite state at step {k + 1}"
    # the growing economy settles instead of exploding
    assert m.talent.n < 10 * 600 and np.isfinite(m.world.income_level)


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIO_DIR.glob("*.toml")))
def test_every_shipped_scenario_runs_to_2035_finite(name):
    sc = load_scenario(name)
    steps = int((2035 - sc.params.start_year) * 4)
    sc = sc.with_overrides(steps=steps, params={"n_talent": 2000, "n_firms": 500,
                                                 "n_funds": 20})
    m = InnovationModel(sc, seed=11, collect_agents=False)
    for k in range(steps):
        m.step()
        assert _finite(m), f"{name}: non-finite state at step {k + 1}"
