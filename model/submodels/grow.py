"""Submodel ``grow``: city output, wages and congestion costs.

* GDP: ``gdp' = gdp * (1 + gdp_growth * (1 + gdp_innovation_elasticity
  * tanh(log((I + eps) / (mean I + eps)))))`` — innovation leaders grow faster, laggards
  slower (``eps`` = 1e-9 MU keeps it finite before the first innovation).
* Wage: ``wage = (y / mean y)^wage_elasticity`` MU, ``y = gdp / population`` (1 MU at the
  regional mean output per head).
* Rent (cost of living and land, the congestion cost): ``rent = rent_base
  * (rho / mean rho)^congestion_elasticity * (y / mean y)^0.5``, ``rho`` = talent agents
  per 10,000 residents. Dense, rich cities are dear (Shenzhen's rents push firms and talent
  out through ``migrate`` and ``relocate``).
"""

from __future__ import annotations

import numpy as np

from model.entities import World

__all__ = ["grow", "compute_gdp_growth", "compute_wage", "compute_rent"]

EPS = 1e-9
RENT_INCOME_ELASTICITY = 0.5  # assumption, documented in ODD 7.10


def compute_gdp_growth(index: np.ndarray, base: float, elasticity: float) -> np.ndarray:
    """Quarterly growth rate per city, shape (N,).

    Example: index [1, 3] (mean 2), base 0.02, elasticity 1 ->
    0.02 * (1 + tanh(log(0.5))) = 0.012 and 0.02 * (1 + tanh(log(1.5))) = 0.0277.
    """
    rel = np.log((index + EPS) / (index.mean() + EPS))
    return base * (1.0 + elasticity * np.tanh(rel))


def compute_wage(gdp: np.ndarray, population: np.ndarray, elasticity: float) -> np.ndarray:
    """City wage in MU per talent-quarter. Example: y = [1, 4] -> (y / 2.5)^0.5 = [.632, 1.265]."""
    y = gdp / population
    return (y / y.mean()) ** elasticity


def compute_rent(talent: np.ndarray, gdp: np.ndarray, population: np.ndarray, base: float,
                 elasticity: float) -> np.ndarray:
    """Rent per talent-quarter, MU.

    Example: equal income, density [1, 3], base 1, elast 1 -> [0.5, 1.5].
    """
    rho = talent / population
    y = gdp / population
    rho_rel = rho / rho.mean() if rho.mean() > 0 else np.ones_like(rho)
    return base * rho_rel ** elasticity * (y / y.mean()) ** RENT_INCOME_ELASTICITY


def grow(world: World, rng: np.random.Generator) -> None:
    """Advance GDP and recompute wages and rents."""
    c, prm = world.city, world.params
    c.gdp = c.gdp * (1.0 + compute_gdp_growth(c.index, prm.gdp_growth,
                                              prm.gdp_innovation_elasticity))
    c.wage = compute_wage(c.gdp, c.population, prm.wage_elasticity)
    c.rent = compute_rent(world.talent_count().astype(float), c.gdp, c.population, prm.rent_base,
                          prm.congestion_elasticity)
