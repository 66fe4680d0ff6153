"""Submodel ``operate``: firms' books, public procurement, credit, failure and growth stages.

Per alive firm ``f`` in city ``c`` each quarter:

* revenue ``staff * productivity * (1 + capability)^capability_return * z_c`` (``z_c`` the
  city's revenue factor from ``grow``: the income level and the city's relative output per
  head — local productivity and demand) plus its share of
  the city's procurement pool (in proportion to the value of its innovations so far);
* costs: wages ``sum(skill) * wage_c`` and office/land costs ``staff * rent_c``
  (congestion: ``rent`` rises with density, see ``grow``);
* profit tax ``firm_tax_rate * max(profit - tax_relief_c * rd, 0)`` to the city budget
  (``profit`` is after R&D; ``tax_relief`` is an R&D super-deduction that deducts that
  share of R&D a second time, which lowers R&D's user cost in ``innovate``); interest
  ``credit_rate * debt`` and repayment ``credit_repay * debt`` (as cash allows) to the
  credit pool;
* a firm with negative cash borrows the shortfall plus one quarter's wage bill from the
  city's SME credit pool (pro rata when the pool is short);
* a firm with no staff left closes (it has no one to carry on);
* a firm still in negative cash fails: its staff are released, its debt written off; if
  VC-backed and a startup, the government reimburses ``angel_risk_share`` of the VC money
  invested in it to the fund (as its budget allows).

Stage: a startup whose capability reaches ``scaleup_capability`` becomes a scale-up, a
scale-up reaching ``mature_capability`` becomes mature.
"""

from __future__ import annotations

import numpy as np

from model.entities import World
from model.sampling import prorate
from model.submodels.innovate import compute_expected_revenue

__all__ = ["operate", "compute_profit_tax", "compute_stage"]


def compute_profit_tax(profit: np.ndarray, rd: np.ndarray, rate: float,
                       relief: np.ndarray) -> np.ndarray:
    """``rate * max(profit - relief * rd, 0)`` (profit already net of R&D).

    Example: profit [10, -5, 10, 1], rd [4, 4, 0, 4], rate .15, relief 1 -> [.9, 0, 1.5, 0].
    """
    return rate * np.maximum(profit - relief * rd, 0.0)


def compute_stage(stage: np.ndarray, capability: np.ndarray, scaleup: float,
                  mature: float) -> np.ndarray:
    """Advance stages by capability thresholds (never backwards).

    Example: stage [0, 0, 1], capability [1, 6, 40], thresholds 5 / 30 -> [0, 1, 2].
    """
    new = np.where(capability >= mature, 2, np.where(capability >= scaleup, 1, 0))
    return np.maximum(stage, new).astype(stage.dtype)


def operate(world: World, rng: np.random.Generator) -> None:
    """Book revenue and costs, collect taxes, lend, fail firms and advance stages."""
    c, f, t, prm, n = world.city, world.firms, world.talent, world.params, world.geo.n
    alive = np.flatnonzero(f.view("alive"))
    city = f.city[alive]
    revenue = compute_expected_revenue(f.staff[alive].astype(float), f.capability[alive],
                                       prm.productivity, prm.capability_return,
                                       c.productivity[city])
    # public procurement: buys from innovative firms in proportion to their innovation value
    val = f.value[alive]
    val_city = np.bincount(city, weights=val, minlength=n)
    spend = np.where(val_city > 0, c.procurement_pool, 0.0)
    procurement = np.divide(val * spend[city], val_city[city], out=np.zeros(len(alive)),
                            where=val_city[city] > 0)
    c.procurement_pool -= spend
    c.spent += spend
    world.tick["procurement"] += spend
    revenue += procurement
    # wages: employed talent earn the city wage times their skill
    emp = t.view("employer")
    employed = emp >= 0
    tw = np.zeros(t.n)
    tw[employed] = c.wage[t.view("city")[employed]] * t.view("skill")[employed]
    t.view("wage")[:] = tw
    wage_bill = np.bincount(emp[employed], weights=tw[employed], minlength=f.n)[alive]
    rent = f.staff[alive] * c.rent[city]
    profit = revenue - wage_bill - rent - f.rd[alive]
    tax = compute_profit_tax(profit, f.rd[alive], prm.firm_tax_rate,
                             world.policy["tax_relief"][city])
    tax_city = np.bincount(city, weights=tax, minlength=n)
    c.budget += tax_city
    c.revenue += tax_city
    cash = f.cash[alive] + revenue - wage_bill - rent - tax  # R&D was paid in innovate
    # debt service
    debt = f.debt[alive]
    service = np.minimum(np.maximum(cash, 0.0), debt * (prm.credit_rate + prm.credit_repay))
    interest_part = np.minimum(service, debt * prm.credit_rate)
    debt = debt - (service - interest_part)
    cash -= service
    back = np.bincount(city, weights=service, minlength=n)
    c.credit_pool += back
    c.revenue += back
    # low-interest credit for firms short of cash
    need = np.where(cash < 0, -cash + wage_bill, 0.0)
    loan = prorate(need, city, c.credit_pool)
    lent = np.bincount(city, weights=loan, minlength=n)
    c.credit_pool = np.maximum(c.credit_pool - lent, 0.0)  # rounding of a pool lent out in full
    c.spent += lent
    world.tick["loans"] += lent
    cash += loan
    debt += loan
    f.cash[alive] = cash
    f.debt[alive] = debt
    # failure
    fail = alive[(cash < 0) | (f.staff[alive] == 0)]
    if len(fail):
        _fail(world, fail)
    # stage transitions
    live = np.flatnonzero(f.view("alive"))
    f.stage[live] = compute_stage(f.stage[live], f.capability[live], prm.scaleup_capability,
                                  prm.mature_capability)


def _fail(world: World, ids: np.ndarray) -> None:
    f, t, c, n = world.firms, world.talent, world.city, world.geo.n
    f.alive[ids] = False
    f.died[ids] = world.step
    f.cash[ids] = 0.0
    f.debt[ids] = 0.0  # written off: the loan was already booked as spent
    world.tick["failed"] += np.bincount(f.city[ids], minlength=n)
    dead = np.zeros(f.n, dtype=bool)
    dead[ids] = True
    emp = t.view("employer")
    world.set_employer(np.flatnonzero((emp >= 0) & dead[np.maximum(emp, 0)]), -1)
    # angel risk sharing: the government reimburses part of the VC money lost on startups
    backed = ids[(f.fund[ids] >= 0) & (f.stage[ids] == 0)]
    if len(backed):
        city = f.city[backed]
        claim = world.policy["angel_risk_share"][city] * f.vc_in[backed]
        pay = prorate(claim, city, np.maximum(c.budget, 0.0))
        paid_city = np.bincount(city, weights=pay, minlength=n)
        c.budget -= paid_city
        c.spent += paid_city
        fund = f.fund[backed]
        np.add.at(world.funds.capital, fund, pay)
        np.add.at(world.funds.reimbursed, fund, pay)
    f.fund[ids] = -1
