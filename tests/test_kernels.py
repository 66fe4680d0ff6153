"""The proposal kernel's covariance stays usable with fewer particles than parameters."""

import numpy as np
import pandas as pd
from scipy import stats

from experiments.inference.kernels import GlobalGaussianTransition, weighted_mean_cov


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
