"""The proposal kernel's covariance stays usable with fewer particles than parameters, and
never wider than the prior."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.inference.kernels import (
    GlobalGaussianTransition,
    cap_variance,
    weighted_mean_cov,
)


def test_weighted_mean_cov_hand_case():
    mean, cov = weighted_mean_cov(np.array([[0.0], [2.0]]), np.array([1.0, 1.0]))
    assert mean.tolist() == [1.0] and cov[0, 0] == np.float64(1.0 + 1e-8)


def test_fewer_particles_than_parameters_give_every_proposal_a_positive_density():
    # 20 particles in 27 dimensions: the sample covariance has rank 19
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 27)) * np.linspace(0.1, 3.0, 27)
    _, cov = weighted_mean_cov(x, rng.random(20))
    eig = np.linalg.eigvalsh(cov)
    assert eig.min() > 1e6 * np.finfo(float).eps * eig.max()  # scipy keeps every direction
    kernel = GlobalGaussianTransition(scaling=1.5)
    kernel.X = pd.DataFrame(x, columns=[f"p{i}" for i in range(27)])
    kernel.fit(kernel.X, rng.random(20))
    draws = stats.multivariate_normal(kernel.mean, kernel.cov).rvs(50, random_state=4)
    dens = kernel.pdf(pd.DataFrame(draws, columns=kernel.X.columns))
    assert np.all(np.isfinite(dens)) and np.all(dens > 0)


def test_cap_variance_hand_case():
    assert cap_variance(np.diag([4.0, 0.25]), 1.0) == pytest.approx(np.diag([1.0, 0.25]))
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])  # the cap acts on directions, not on axes
    capped = cap_variance(rot @ np.diag([9.0, 0.5]) @ rot.T, 2.0)
    assert np.linalg.eigvalsh(capped) == pytest.approx([0.5, 2.0])
    assert cap_variance(np.diag([4.0]), None)[0, 0] == 4.0


def test_a_proposal_capped_at_the_prior_keeps_the_weights_even():
    # a population as wide as a standard normal prior in 28 dimensions, widened by 1.5:
    # uncapped, prior over proposal varies over orders of magnitude; capped, it is flat
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1000, 28))
    prior = stats.multivariate_normal(np.zeros(28), np.eye(28))

    def ess(cap):
        kernel = GlobalGaussianTransition(scaling=1.5, max_variance=cap)
        kernel.X = pd.DataFrame(x, columns=[f"p{i}" for i in range(28)])
        kernel.fit(kernel.X, np.ones(1000))
        draws = rng.multivariate_normal(kernel.mean, kernel.cov, size=4000)
        w = np.exp(prior.logpdf(draws) - kernel.normal.logpdf(draws))
        w /= w.sum()
        return 1.0 / np.sum(w ** 2) / 4000

    uncapped, capped = ess(None), ess(1.0)
    assert uncapped < 0.25 and capped > 0.8, (uncapped, capped)
