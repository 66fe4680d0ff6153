"""A toy model with a known posterior, to check the inference machinery against an answer.

One observation ``y ~ N(mu, noise^2)`` with a uniform prior on ``mu`` much wider than the
noise: the posterior is (up to a negligible truncation) ``N(y0, noise^2)``. ABC with a
tolerance ``eps`` on ``|y - y0|`` (a uniform kernel) widens it to a variance of at most
``noise^2 + eps^2 / 3``.

:func:`gaussian_many` is the same in many dimensions (one observation per mean), to see how
the proposal kernel's importance weights behave when there are as many parameters as in
the YRD calibration.
"""

from __future__ import annotations

import numpy as np

from experiments.inference.posterior import particle_seed

__all__ = ["gaussian", "gaussian_posterior", "gaussian_many"]


def gaussian(params: dict, noise: float = 1.0, root_seed: int = 7) -> dict[str, float]:
    """Simulate ``y = mu + noise * e``, ``e ~ N(0, 1)`` drawn from the particle's own seed."""
    rng = np.random.default_rng(particle_seed(root_seed, params))
    return {"y": float(params["mu"]) + noise * float(rng.normal())}


def gaussian_posterior(y0: float, noise: float = 1.0) -> tuple[float, float]:
    """The exact posterior's mean and standard deviation. Example: (1.5, 1) -> (1.5, 1)."""
    return y0, noise


def gaussian_many(params: dict, noise: float = 1.0, root_seed: int = 7) -> dict[str, float]:
    """``y_k = mu_k + noise * e_k`` for every parameter ``mu_k``; statistics named ``y_k``."""
    rng = np.random.default_rng(particle_seed(root_seed, params))
    return {f"y_{k[3:]}": float(v) + noise * float(rng.normal())
            for k, v in sorted(params.items())}
