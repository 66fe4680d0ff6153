"""A larger sample of agents describes the same region (sample-size invariance).

Every flow that is not built from agents (graduates, newcomers, research output, initial
knowledge and platforms, budgets) scales with ``n_talent / REFERENCE_TALENT``, so the
calibrated historical run at 10,000 and at 20,000 talent agents gives the same intensive
results up to sampling noise (3 seeds each).
"""

import numpy as np
import pytest

from model.model import InnovationModel
from model.scenario import load_scenario


def _end_state(n: int) -> np.ndarray:
    sc = load_scenario("yrd_calibrated.toml").with_overrides(
        params={"n_talent": n, "n_firms": n // 4, "n_funds": n // 100})
    rows = []
    for seed in (1, 2, 3):
        m = InnovationModel(sc, seed=seed, collect_agents=False)
        m.run()
        r = m.region_frame().iloc[-1]
        rows.append([r["talent"] / n, r["income_level"], r["rd_intensity"],
                     r["mean_index"] / (n / 20_000), r["firms_alive"] / n,
                     m.city.gdp[0] / m.city.gdp.sum(), r["collab_index"]])
    return np.mean(rows, axis=0)


def test_a_larger_sample_describes_the_same_region():
    small, large = _end_state(10_000), _end_state(20_000)
    names = ["talent growth", "income level", "R&D intensity", "mean index per sample",
             "firms per talent", "Shanghai's GDP share", "collaborative index"]
    tolerance = [0.05, 0.05, 0.08, 0.12, 0.08, 0.05, 0.15]
    for name, a, b, tol in zip(names, small, large, tolerance, strict=True):
        assert a == pytest.approx(b, rel=tol), name
