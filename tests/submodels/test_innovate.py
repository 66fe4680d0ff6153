import numpy as np
import pytest

from model.params import Params
from model.submodels.innovate import (
    compute_expected_revenue,
    compute_external_share,
    compute_innovation_rate,
    compute_innovation_values,
)


def test_expected_revenue():
    r = compute_expected_revenue(np.array([10.0]), np.array([3.0]), 1.6, 0.5)
    assert r[0] == pytest.approx(32.0)


def test_innovation_rate_hand_case():
    prm = Params().replace(innov_rate=0.02, elast_rd=0.5, elast_talent=0.5, elast_capability=0.2,
                           elast_knowledge=0.3, rel_intermediary=1.0)
    one = np.ones(1)
    lam = compute_innovation_rate(4 * one, 4 * one, 0 * one, one, 0 * one, prm)
    assert lam[0] == pytest.approx(0.08)
    lam2 = compute_innovation_rate(4 * one, 4 * one, 0 * one, one, one, prm)
    assert lam2[0] == pytest.approx(0.16)  # full intermediary coverage doubles it
    assert compute_innovation_rate(0 * one, 4 * one, 0 * one, one, 0 * one, prm)[0] == 0


def test_innovation_values_mean_and_ip(rng):
    prm = Params().replace(innov_value_sigma=1.0, rel_ip_value=0.5)
    counts = np.array([200_000, 0, 100_000])
    owner, value = compute_innovation_values(counts, np.array([2.0, 5.0, 2.0]),
                                             np.array([1.0, 1.0, 0.0]), prm, rng)
    assert np.bincount(owner).tolist() == [200_000, 0, 100_000]
    assert value[owner == 0].mean() == pytest.approx(2.0, rel=0.03)
    assert value[owner == 2].mean() == pytest.approx(1.0, rel=0.03)  # no IP: half the value


def test_external_share():
    s = compute_external_share(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), 0.5)
    assert s[0] == pytest.approx(1 - 0.5 ** 0.5)
    assert s[1] == 0 and s[2] == 0
