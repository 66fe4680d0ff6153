"""Numbers for people: one formatter for the command line, the report and the notebooks.

A fixed number of significant figures, thousands separators, and no scientific notation
for the magnitudes an analyst meets (``15,600`` and ``0.00291``, not ``1.558e+04`` and
``2.91e-03``); integers are shown whole. Scientific notation is kept only below ``1e-6``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["human", "times", "index_growth", "index_summary", "STUDIES_INDEX_GROWTH"]

#: The studies' regional mean index grew from 0.4 (2001) to 138.67 (2021): about 347x
#: (shared/DOMAIN.md, "Facts to calibrate against").
STUDIES_INDEX_GROWTH = 138.67 / 0.4
#: Quarters in the first year: at step 0 the index is 0 everywhere, so growth is measured
#: from the end of the first year.
FIRST_YEAR_STEPS = 4


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


def index_growth(steps, mean_index) -> float:
    """The last mean index over its level at the end of the first year (step 4).

    ``steps`` and ``mean_index``: the region table's columns (any sequences). NaN if the
    run has not reached step 4 or the index is 0 there. Example: steps 0..8 with the index
    0, 1, 2, 3, 4 (step 4), ..., 40 (step 8) -> 10.0.
    """
    pairs = dict(zip((int(s) for s in steps), (float(v) for v in mean_index), strict=True))
    last = max(pairs)
    base = pairs.get(FIRST_YEAR_STEPS, 0.0)
    if last < FIRST_YEAR_STEPS or base <= 0:
        return float("nan")
    return pairs[last] / base


def index_summary(steps, mean_index) -> str:
    """The mean index in model units and on the studies' scale, for people.

    Example: '732 model units (MU) = 59.7x its level at the end of the first year (the
    studies' YRD index grew about 347x from 2001 to 2021)'.
    """
    values = list(mean_index)
    g = index_growth(steps, values)
    scale = (f"{times(g)} its level at the end of the first year" if math.isfinite(g)
             else "no level at the end of the first year yet to compare with")
    return (f"{human(values[-1])} model units (MU) = {scale} (the studies' YRD index grew "
            f"about {human(STUDIES_INDEX_GROWTH)}x from 2001 to 2021)")
