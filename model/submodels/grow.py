"""Submodel ``grow``: city output from a production function, capital, wages and rents.

Output (GDP, 100 million CNY a year at the start's prices) of city ``i``:

    Y_i = A_i * C_i^alpha * N_i^(1 - alpha - beta) * (1 + H_i)^beta,

* ``C_i`` physical capital, ``C' = (1 - capital_depreciation) C + I``, with ``I`` the
  quarter's investment: each city saves ``savings_rate * Y / 4`` and invests it at home,
  except that a share ``capital_favoritism`` of the savings of a city that is not its
  province's capital is invested in that capital (capital-market favoritism toward cities
  higher in the administrative hierarchy: Chen, Henderson and Cai 2017, J. Urban Economics
  98; the region's investment is unchanged). ``alpha = capital_share``; at the start
  ``C = init_capital_output * Y``.
* ``N_i`` the city's residents (2000 census, fixed) and ``H_i`` its talent agents (the
  innovative workforce; ``beta = talent_output_share``, its share of output, the same share
  that sets the sample scale in ``init``).
* ``A_i`` total factor productivity, set at the start so that ``Y_i`` is the data GDP, then

      ln A_i' = ln A_i + phi * (ln U_i' - ln U_i) + catch_up_rate * a_i * ln(A_max / A_i),

  with ``U_i = (K_i + E_i) / k_ref`` the knowledge the city can use — its own stock plus
  the spillovers it absorbed this quarter (``spill``) — and ``phi =
  tfp_knowledge_elasticity`` < 1 (diminishing returns to knowledge). The last term is
  catch-up by diffusion from the frontier (Nelson and Phelps; Benhabib and Spiegel): a city
  closes part of its log TFP gap to the most productive city each quarter, in proportion
  to its human capital ``a_i = x_i / (x_i + 1)``, ``x_i`` its talent agents per resident
  relative to the region's, so laggards grow faster when they have the people to absorb.
* National high-tech zones (``hightech_zones``, a dated policy input: the State Council's
  approvals) shift TFP. A city with ``n`` zones has a zone gain target ``g * log2(1 + n)``
  in log TFP (``g = zone_tfp_gain``: the first zone brings ``g``, each further one less);
  its realised gain ``z_i`` moves towards the target by at most ``g / (4 *
  zone_ramp_years)`` a quarter, and ``ln A_i`` moves with it. The zones a city had at the
  start are in its start TFP (``z_i`` starts at its target), so only zones approved later
  raise productivity.
* ``C_i`` also receives the state's industrial investment of the policy
  (``state_investment_cny``, 100 million CNY a year at the prices of the year, deflated to
  the start's prices by ``model.prices``: state-led projects such as Hefei's), financed
  outside the innovation budget.

Congestion: leaders pay through their costs, not their output — rents rise with talent
density and income (below), which pushes talent (``migrate``) and firms (``relocate``) out
and with them the talent and knowledge that output is made from.

Income level and prices. ``income_level = y_mean / y_mean_start`` with ``y_mean`` the
region's output per head (population fixed at the 2000 census). Wages grow with it (the
labour share is constant), so everything priced in labour is scaled by it in the other
submodels:

* wage ``w_i = income_level * (y_i / y_mean)^wage_elasticity`` MU per talent-quarter;
* rent ``r_i = rent_base * income_level * (rho_i / mean rho)^congestion_elasticity
  * (y_i / y_mean)^0.5``, ``rho`` talent agents per 10,000 residents;
* firms' revenue factor ``productivity_i = income_level * (y_i /
  y_mean)^revenue_income_elasticity`` (local productivity and demand, see ``operate``).
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.prices import to_start_prices

__all__ = ["grow", "compute_output", "compute_tfp_start", "compute_tfp", "compute_capital",
           "compute_investment",
           "zone_target", "compute_zone_gain",
           "compute_human_capital",
           "compute_wage",
           "compute_rent", "compute_income_level"]

RENT_INCOME_ELASTICITY = 0.5  # assumption, documented in ODD 7.11


def compute_output(tfp: np.ndarray, capital: np.ndarray, population: np.ndarray,
                   talent: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """``Y = A * C^alpha * N^(1 - alpha - beta) * (1 + H)^beta``, all arrays (N,).

    Example: A 2, C 9, N 16, H 0, alpha 0.5, beta 0.25 -> 2 * 3 * 2 * 1 = 12.
    """
    return (tfp * np.maximum(capital, 0.0) ** alpha * population ** (1.0 - alpha - beta)
            * (1.0 + talent) ** beta)


def compute_tfp_start(gdp: np.ndarray, capital: np.ndarray, population: np.ndarray,
                      talent: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """TFP ``A`` that makes :func:`compute_output` equal ``gdp`` at the start.

    Example: gdp 12, C 9, N 16, H 0, alpha 0.5, beta 0.25 -> 2.
    """
    return gdp / compute_output(np.ones_like(gdp), capital, population, talent, alpha, beta)


def compute_tfp(tfp: np.ndarray, usable_old: np.ndarray, usable_new: np.ndarray,
                absorb: np.ndarray, phi: float, catch_up: float) -> np.ndarray:
    """One quarter of TFP change: knowledge growth plus catch-up to the frontier.

    ``ln A' = ln A + phi * ln(U' / U) + catch_up * a * ln(max A / A)``.
    Example: A [1, 4], U 1 -> 2 for both, a [0.5, 1], phi 0.2, catch_up 0.1 ->
    A' = [2^0.2 * 4^0.05, 4 * 2^0.2] = [1.2397, 4.5948].
    """
    gap = np.log(tfp.max() / tfp)
    growth = (phi * np.log(np.maximum(usable_new, 1e-12) / np.maximum(usable_old, 1e-12))
              + catch_up * absorb * gap)
    return tfp * np.exp(growth)


def zone_target(zones: np.ndarray, gain: float) -> np.ndarray:
    """Log TFP gain a city's ``zones`` national high-tech zones bring: ``gain * log2(1 + n)``.

    Example: zones [0, 1, 3], gain 0.1 -> [0, 0.1, 0.2].
    """
    return gain * np.log2(1.0 + np.asarray(zones, dtype=float))


def compute_zone_gain(current: np.ndarray, zones: np.ndarray, gain: float,
                      ramp_years: float) -> np.ndarray:
    """One quarter of the zones' realised log TFP gain: towards its target, linearly.

    The gain moves by at most ``gain / (4 * ramp_years)`` a quarter (all at once if
    ``ramp_years`` is 0). Example: current [0, 0.1], zones [1, 1], gain 0.1, ramp 5 years
    -> [0.005, 0.1].
    """
    target = zone_target(zones, gain)
    if ramp_years <= 0.0:
        return target
    step = gain / (4.0 * ramp_years)
    return current + np.clip(target - current, -step, step)


def compute_human_capital(talent: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Catch-up capacity ``x / (x + 1)``, ``x`` talent per resident relative to the region.

    Example: talent [1, 3], population [1, 1] -> x [0.5, 1.5] -> [1/3, 0.6].
    """
    x = (talent / population) / max(talent.sum() / population.sum(), 1e-12)
    return x / (x + 1.0)


def compute_capital(capital: np.ndarray, investment: np.ndarray, depreciation: float
                    ) -> np.ndarray:
    """Quarterly capital accumulation ``C' = (1 - d) C + I``.

    Example: C 100, I 4, d 0.025 -> 97.5 + 4 = 101.5.
    """
    return (1.0 - depreciation) * capital + investment


def compute_investment(output: np.ndarray, savings: float, capital_of: np.ndarray,
                       favoritism: float) -> np.ndarray:
    """The quarter's investment per city, from savings ``s Y / 4``.

    A share ``favoritism`` of each city's savings is invested in its province's capital
    (``capital_of``; -1: none, the savings stay at home).
    Example: Y [40, 40, 40], s 0.4, capital_of [1, -1, -1] (city 1 is city 0's capital),
    favoritism 0.25 -> savings [4, 4, 4], city 0 sends 1 -> [3, 5, 4]; the total is kept.
    """
    inv = savings * output / 4.0
    if favoritism <= 0:
        return inv
    src = capital_of >= 0
    sent = favoritism * inv[src]
    out = inv.copy()
    out[src] -= sent
    out += np.bincount(capital_of[src], weights=sent, minlength=len(inv))
    return out


def compute_income_level(gdp: np.ndarray, population: np.ndarray, income0: float) -> float:
    """Regional output per head relative to the start. Example: [2, 4] over [1, 1], y0 2 -> 1.5."""
    return float(gdp.sum() / population.sum() / income0)


def compute_wage(gdp: np.ndarray, population: np.ndarray, elasticity: float,
                 level: float = 1.0) -> np.ndarray:
    """City wage in MU per talent-quarter: ``level * (y / mean y)^elasticity``.

    Example: y = [1, 4], elasticity 0.5, level 2 -> 2 * (y / 2.5)^0.5 = [1.265, 2.530].
    """
    y = gdp / population
    return level * (y / y.mean()) ** elasticity


def compute_rent(talent: np.ndarray, gdp: np.ndarray, population: np.ndarray, base: float,
                 elasticity: float, level: float = 1.0) -> np.ndarray:
    """Rent per talent-quarter, MU.

    Example: equal income, density [1, 3], base 1, elast 1, level 1 -> [0.5, 1.5].
    """
    rho = talent / population
    y = gdp / population
    rho_rel = rho / rho.mean() if rho.mean() > 0 else np.ones_like(rho)
    return level * base * rho_rel ** elasticity * (y / y.mean()) ** RENT_INCOME_ELASTICITY


def grow(world: World, rng: np.random.Generator) -> None:
    """Produce output, accumulate capital, and recompute income level, wages and rents."""
    c, prm = world.city, world.params
    talent = world.talent_count().astype(float)
    usable = (c.knowledge + c.external) / world.k_ref
    c.tfp = compute_tfp(c.tfp, c.usable, usable, compute_human_capital(talent, c.population),
                        prm.tfp_knowledge_elasticity, prm.catch_up_rate)
    c.usable = usable
    zone_gain = compute_zone_gain(c.zone_gain, world.policy["hightech_zones"],
                                  prm.zone_tfp_gain, prm.zone_ramp_years)
    c.tfp *= np.exp(zone_gain - c.zone_gain)
    c.zone_gain = zone_gain
    c.gdp = compute_output(c.tfp, c.capital, c.population, talent, prm.capital_share,
                           prm.talent_output_share)
    invest = compute_investment(c.gdp, prm.savings_rate, world.geo.capital_of,
                                prm.capital_favoritism)
    c.capital = compute_capital(c.capital, invest, prm.capital_depreciation)
    c.capital += to_start_prices(world.policy["state_investment_cny"], world.year,
                                 prm.start_year) / 4.0
    set_prices(world, talent)


def set_prices(world: World, talent: np.ndarray) -> None:
    """Income level, wages, rents and firms' revenue factor from the current output."""
    c, prm = world.city, world.params
    level = compute_income_level(c.gdp, c.population, world.income0)
    world.income_level = level
    c.wage = compute_wage(c.gdp, c.population, prm.wage_elasticity, level)
    # firms' revenue factor: the same form as the wage, with its own elasticity
    c.productivity = compute_wage(c.gdp, c.population, prm.revenue_income_elasticity, level)
    c.rent = compute_rent(talent, c.gdp, c.population, prm.rent_base, prm.congestion_elasticity,
                          level)
