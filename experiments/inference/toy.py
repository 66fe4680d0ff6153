"""A toy model with a known posterior, to check the inference machinery against an answer.

One observation ``y ~ N(mu, noise^2)`` with a uniform prior on ``mu`` much wider than the
noise: the posterior is (up to a negligible truncation) ``N(y0, noise^2)``. ABC with a
tolerance ``eps`` on ``|y - y0|`` (a uniform kernel) widens it to a variance of at most
``noise^2 + eps^2 / 3``.
"""

from __future__ import annotations

import numpy as np

from experiments.inference.posterior import particle_seed

__all__ = ["gaussian", "gaussian_posterior"]


def gaussian(params: dict, noise: float = 1.0, root_seed: int = 7) -> dict[str, float]:
    """Simulate ``y = mu + noise * e``, ``e ~ N(0, 1)`` drawn from the particle's own seed."""
    rng = np.random.default_rng(particle_seed(root_seed, params))
    return {"y": float(params["mu"]) + noise * float(rng.normal())}


def gaussian_posterior(y0: float, noise: float = 1.0) -> tuple[float, float]:
    """The exact posterior's mean and standard deviation. Example: (1.5, 1) -> (1.5, 1)."""
    return y0, noise
