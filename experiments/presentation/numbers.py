"""Numbers for people: one formatter for the command line, the report and the notebooks.

A fixed number of significant figures, thousands separators, and no scientific notation
for the magnitudes an analyst meets (``15,600`` and ``0.00291``, not ``1.558e+04`` and
``2.91e-03``); integers are shown whole. Scientific notation is kept only below ``1e-6``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["human", "times"]


def human(value, sig: int = 3, sign: bool = False) -> str:
    """``value`` to ``sig`` significant figures, with thousands separators.

    Examples: 15580.2 -> '15,600'; 0.0029137 -> '0.00291'; 732.31 -> '732';
    1.5, sign=True -> '+1.50'; 25955 (an int) -> '25,955'; nan -> 'n/a'.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    plus = "+" if sign else ""
    if isinstance(value, Integral):
        return f"{int(value):{plus},d}"
    if not isinstance(value, Real):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return "n/a" if math.isnan(v) else ("+inf" if v > 0 else "-inf")
    if v == 0:
        return f"{plus}0" if sign else "0"
    mag = math.floor(math.log10(abs(v)))
    if mag < -6:
        return f"{v:{plus}.{sig - 1}e}"
    decimals = sig - 1 - mag
    if decimals <= 0:
        return f"{round(v, decimals):{plus},.0f}"
    return f"{v:{plus},.{decimals}f}"


def times(factor: float, sig: int = 3) -> str:
    """A growth factor: 59.68 -> '59.7x'; 1234.5 -> '1,230x'."""
    return f"{human(factor, sig)}x"
