"""Will a run fit in memory? An estimate made before the model is built, and a refusal.

The peak memory of one run (its resident set above the interpreter's, with the output
tables built) is estimated as

    FIXED + PAIR * N**2 + CITY_STEP * N * (steps + 1)
          + TALENT * (talent rows allocated) + FIRM * (firm rows allocated)

with ``N`` cities. The constants were measured with ``benchmarks/bench_memory.py`` (the
peak resident set, ``VmHWM``, of one run per process against its size; the fit and the
check against other runs are in benchmarks/README.md, "Memory"):

* a talent agent costs about 60 bytes per row allocated (seven columns, 37 bytes, and the
  temporaries of a step), a firm about 125 bytes (sixteen columns, 85 bytes, and
  temporaries);
* a city costs about 740 bytes per recorded step (the observations and the output
  tables), and about 190 bytes per pair of cities (distances, flows, spillover kernels);
  a 32x32 grid run for 10,000 steps records 10 million city-steps, about 7.6 GB.

The rows allocated follow the model's own rules: the talent stock renews towards
``(graduate_rate + inflow_rate) / p_talent_exit`` times its start (``renew``), firms are
never removed (``found`` appends startups, at most ``FOUNDED_PER_TALENT`` startups per
talent agent and quarter at ``p_found = 0.002``, scaled with ``p_found``; the highest rate
measured on the shipped scenarios, so the estimate is on the high side), and a pool's
capacity doubles when it is full.

:func:`check_memory` refuses a run whose estimate exceeds the memory available
(``MemAvailable`` in /proc/meminfo, else the physical memory), or the number of bytes in
the environment variable ``INNOGRID_MEMORY_AVAILABLE`` if it is set (for tests, and for a
machine whose limit /proc does not show, such as a container's). The error is a
:class:`model.scenario.ScenarioError` naming the largest term's key: exit status 2 at the
command line, before anything is built or written.
"""

from __future__ import annotations

import os
from pathlib import Path

from model.scenario import Scenario, ScenarioError

__all__ = ["estimate_bytes", "available_bytes", "check_memory", "FIXED", "PAIR", "CITY_STEP",
           "TALENT", "FIRM", "FOUNDED_PER_TALENT", "MEMORY_ENV"]

FIXED = 16e6            # bytes: the model's own fixed cost (Mesa space, agents, tables)
PAIR = 190.0            # bytes per pair of cities
CITY_STEP = 740.0       # bytes per city and recorded step
TALENT = 60.0           # bytes per talent row allocated
FIRM = 125.0            # bytes per firm row allocated
FOUNDED_PER_TALENT = 0.025  # startups per talent agent and quarter at p_found = 0.002
MEMORY_ENV = "INNOGRID_MEMORY_AVAILABLE"


def _capacity(start: int, rows: float) -> int:
    """The rows a pool holds after growing from ``start`` to ``rows`` (doubling when full)."""
    cap = max(int(start), 1)
    while cap < rows:
        cap *= 2
    return cap


def _talent_rows(prm, steps: int) -> tuple[float, float]:
    """The largest expected talent stock over the run and its sum over the quarters."""
    n0, inflow, out = prm.n_talent, (prm.graduate_rate + prm.inflow_rate) * prm.n_talent, \
        prm.p_talent_exit
    if out > 0:
        eq = inflow / out
        decay = (1.0 - out) ** steps
        last = eq + (n0 - eq) * decay
        total = eq * steps + (n0 - eq) * (1.0 - decay) / out
    else:
        last = n0 + inflow * steps
        total = n0 * steps + inflow * steps * (steps - 1) / 2.0
    return max(n0, last), total


def estimate_bytes(scenario: Scenario, steps: int | None = None) -> dict[str, float]:
    """The estimated peak memory of one run, in bytes, by term, and its ``"total"``.

    The terms: ``"fixed"`` (with the city pairs), ``"steps"`` (city-steps recorded),
    ``"n_talent"`` and ``"n_firms"`` (the rows allocated); ``"founded"`` is the number of
    startups expected over the run (not bytes).

    Parameters
    ----------
    scenario : Scenario
        The resolved scenario (its parameters and geography).
    steps : int, optional
        Quarters to run; default the scenario's ``run.steps``.
    """
    prm = scenario.params
    steps = scenario.steps if steps is None else int(steps)
    n = scenario.geography.n
    talent_max, talent_quarters = _talent_rows(prm, steps)
    founded = min(1.0, FOUNDED_PER_TALENT * prm.p_found / 0.002) * talent_quarters
    terms = {
        "fixed": FIXED + PAIR * n * n,
        "steps": CITY_STEP * n * (steps + 1),
        "n_talent": TALENT * _capacity(prm.n_talent, talent_max),
        "n_firms": FIRM * _capacity(max(2 * prm.n_firms, 16), prm.n_firms + founded),
    }
    terms["total"] = sum(terms.values())
    terms["founded"] = founded
    return terms


def available_bytes() -> tuple[int, str]:
    """The memory a run may use, in bytes, and where the figure comes from."""
    env = os.environ.get(MEMORY_ENV)
    if env:
        try:
            return int(float(env)), MEMORY_ENV
        except ValueError:
            raise ScenarioError(MEMORY_ENV, MEMORY_ENV, env, "a number of bytes") from None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "physical memory"
    except (OSError, ValueError, AttributeError):
        return 2**63 - 1, "unknown"


def _gb(x: float) -> str:
    return (f"{x / 1e9:.1f} GB" if x >= 1e8 else f"{x / 1e6:.0f} MB" if x >= 1e7
            else f"{x / 1e6:.1f} MB")


def check_memory(scenario: Scenario, steps: int | None = None, file: str | None = None) -> float:
    """Refuse a run whose estimated memory exceeds what is available; return the estimate.

    Raises
    ------
    ScenarioError
        Naming the largest term's key (``params.n_talent``, ``params.n_firms`` or
        ``run.steps``), the estimate and the memory available.
    """
    steps = scenario.steps if steps is None else int(steps)
    est = estimate_bytes(scenario, steps)
    have, source = available_bytes()
    if est["total"] <= have:
        return est["total"]
    prm = scenario.params
    # the startups are the talent's doing: their rows count against n_talent
    initial_firms = FIRM * 2 * prm.n_firms
    blame = {"params.n_talent": (est["n_talent"] + est["n_firms"] - initial_firms,
                                 prm.n_talent),
             "params.n_firms": (initial_firms, prm.n_firms),
             "run.steps": (est["steps"], steps)}
    key = max(blame, key=lambda k: blame[k][0])
    raise ScenarioError(
        file or scenario.file, key, blame[key][1],
        f"a run that fits in memory: about {_gb(est['total'])} needed (talent "
        f"{_gb(est['n_talent'])}; firms {_gb(est['n_firms'])}, {prm.n_firms:,} at the start and "
        f"about {est['founded']:,.0f} startups; {scenario.geography.n} cities x {steps:,} "
        f"steps recorded {_gb(est['steps'])}) but {_gb(have)} is available ({source}); lower "
        "n_talent, n_firms or the steps, or use a larger machine")

