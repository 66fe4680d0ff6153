"""Prices: sourced money amounts at the model's start prices.

Policy rules may give a programme's money in 100 million CNY a year at the prices of the
year it is spent (as sources report it). The model's output is at the start year's prices,
so amounts are deflated with China's GDP deflator (``model/data/china_gdp_deflator.csv``,
NBS, approximate; see model/data/README.md): ``amount * D(start) / D(year)``. Years outside
the table take its nearest year (the last year's prices for projections beyond it).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np

__all__ = ["deflator", "to_start_prices"]


@cache
def _table() -> tuple[np.ndarray, np.ndarray]:
    text = resources.files("model.data").joinpath("china_gdp_deflator.csv").read_text(
        encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return (np.array([int(r["year"]) for r in rows]),
            np.array([float(r["deflator_2001_100"]) for r in rows]))


def deflator(year: float) -> float:
    """The GDP deflator (2001 = 100) of the calendar year containing ``year``."""
    years, values = _table()
    y = int(np.clip(np.floor(year), years[0], years[-1]))
    return float(values[y - years[0]])


def to_start_prices(amount: np.ndarray | float, year: float, start_year: float):
    """``amount`` (prices of ``year``) at the prices of ``start_year``.

    Example: 100 at 2008 prices (deflator 136.5) in a run starting in 2001 -> 73.26.
    """
    return amount * deflator(start_year) / deflator(year)
