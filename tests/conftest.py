import os

import numpy as np
import pytest

from model.scenario import scenario_from_dict


def pytest_configure(config):
    """The run cache is off under the test suite (tests/test_cache.py turns it on per test;
    tests/test_scenarios.py for its module, where every claim's base runs are the same).

    Off rather than a per-session directory: a shared cache would make a test's outcome
    depend on which tests ran before it (a run another test cached comes back at once,
    so e.g. a sweep meant to be interrupted mid-run may already be finished), and it
    must never write into the user's ~/.cache. Set before any test, so the command-line
    tests' child processes inherit it.
    """
    os.environ["INNOGRID_CACHE"] = "off"


def pytest_collection_modifyitems(config, items):
    """The slow tests first (marked ``slow``), the rest in their order.

    A pool of test workers (pytest-xdist, ``./dev test``) hands out the tests in this
    order, so the long ones start while the short ones can still fill the other worker,
    rather than one of them starting last and running alone (longest first is the usual
    remedy for a pool's tail).
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def small_grid_toml(steps=8):
    """The text of a small grid scenario file (5x5, 500 talent), for command-line tests."""
    return (f"[run]\nsteps = {steps}\nseed = 3\n[geography]\nkind = \"grid\"\nwidth = 5\n"
            "height = 5\n[params]\nn_talent = 500\nn_firms = 100\nn_funds = 5\n")


def small_grid(steps=8, seed=3, params=None, policy=None, rules=None, width=5, height=5):
    """A small grid scenario for fast tests."""
    data = {
        "run": {"steps": steps, "seed": seed},
        "geography": {"kind": "grid", "width": width, "height": height, "cores": [[1, 1], [3, 3]],
                      "province_blocks": [2, 1], "corridor_cells": [[1, 1], [2, 2], [3, 3]]},
        "params": {"n_talent": 600, "n_firms": 120, "n_funds": 6, **(params or {})},
        "policy": policy or {},
        "rule": rules or [],
    }
    return scenario_from_dict(data, file="<test>")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
