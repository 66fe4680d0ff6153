"""Small models for the sweep tests: each ``f(params, seed, steps) -> outcomes``.

They are importable by worker processes (``model = "tests.sweep_models:<name>"``).
"""

import os
import tempfile
from pathlib import Path

import numpy as np


def quadratic(params, seed, steps):
    """A deterministic function of the parameters plus seeded noise."""
    rng = np.random.default_rng(seed)
    x = params.get("x", 0.0)
    return {"y": x * x + 0.01 * rng.normal(), "x_echo": x}


def fails_on(params, seed, steps):
    """Raises for x >= 0.5 (a run that raises is recorded, the rest go on)."""
    if params.get("x", 0.0) >= 0.5:
        raise ValueError(f"x = {params['x']} is out of this model's domain")
    return quadratic(params, seed, steps)


def _marker(params, seed) -> Path:
    token = params.get("token", 0.0)
    return Path(tempfile.gettempdir()) / f"innogrid-sweep-{token!r}-{params.get('x')!r}-{seed}"


def dies_once(params, seed, steps):
    """Kills its worker process the first time it runs for x = 0.25; succeeds on retry."""
    if params.get("x") == 0.25:
        m = _marker(params, seed)
        if not m.exists():
            m.touch()
            os._exit(1)
    return quadratic(params, seed, steps)


def always_dies(params, seed, steps):
    """Kills its worker every time for x = 0.75."""
    if params.get("x") == 0.75:
        os._exit(1)
    return quadratic(params, seed, steps)


def counting(params, seed, steps):
    """Appends one line per call to a log named by the token (to count what ran)."""
    log = Path(tempfile.gettempdir()) / f"innogrid-count-{params.get('token', 0.0)!r}.log"
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{params.get('x')!r} {seed}\n")
    return quadratic(params, seed, steps)


def fails_once(params, seed, steps):
    """Raises the first time it runs for a task (by token, x and seed); succeeds after."""
    m = _marker({**params, "token": f"fails-once-{params.get('token', 0.0)!r}"}, seed)
    if not m.exists():
        m.touch()
        raise RuntimeError("a transient failure")
    return quadratic(params, seed, steps)


def quadratic2(params, seed, steps):
    """``y = x1 + x2**2`` plus seeded noise: x2 matters more than x1 on [0, 1]."""
    rng = np.random.default_rng(seed)
    return {"y": params["x1"] + 4.0 * params["x2"] ** 2 + 0.01 * rng.normal()}
