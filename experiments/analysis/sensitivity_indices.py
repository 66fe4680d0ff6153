"""Analysis layer of global sensitivity analysis (pure functions; never runs the model).

This module turns model inputs and outputs into sensitivity indices with SALib 1.6 and
draws them. It knows nothing about the agent-based model: a sweep elsewhere samples the
parameter space with :func:`sample`, runs the model at every row and hands the outcomes
back to :func:`analyze`, which returns one tidy table (columns ``method, outcome, param,
index, value, conf_low, conf_high``) for every method, so tables of several outcomes and
methods can simply be concatenated, written to CSV and plotted with :func:`plot_indices`
and :func:`plot_morris`.

Three methods are offered:

``"sobol"``
    Variance-based first-order (``S1``), total (``ST``) and optionally second-order
    (``S2``) indices from SALib's Saltelli-type cross-sampling of a scrambled Sobol'
    sequence, with bootstrap intervals. Needs ``n * (D + 2)`` runs (``n * (2D + 2)`` with
    second order); ``n`` should be a power of two.
``"morris"``
    Elementary-effects screening (``mu_star``, ``mu``, ``sigma``): cheap, ``n * (D + 1)``
    runs for ``n`` trajectories, good for ranking and for spotting inputs that do nothing.
``"pawn"``
    The moment-independent PAWN index (Kolmogorov-Smirnov distance between conditional and
    unconditional output distributions) on a Latin hypercube; it also works on any other
    sample, and suits skewed or multi-modal outcomes.

Stochastic models
-----------------
An agent-based model gives a different outcome for every seed, and the seed noise must not
be mistaken for parameter sensitivity. The intended protocol is:

1. run every sample point with the same ``R`` replicate seeds (common random numbers:
   replicate ``k`` uses seed ``s_k`` at every point, so differences between points are
   not inflated by differences between seeds);
2. analyse the replicate mean at each point (``analyze`` accepts ``Y`` of shape
   ``(points, R)`` and averages over replicates itself), which divides the noise variance
   in the analysed outcome by ``R``;
3. report :func:`noise_share` of the ``(points, R)`` matrix next to the indices, so a
   reader can see how much of the single-run variance is seed noise. Noise that survives
   the averaging acts like an extra, unlisted input: it lowers Sobol' ``S1`` of every
   parameter, can make ``ST`` exceed ``S1`` without any interaction, and raises PAWN's
   noise floor. If the noise share of the mean (``within_var / R`` against
   ``between_var``) is not small, add replicates before trusting small indices.

All randomness (scrambling, trajectories, Latin hypercube, bootstraps) comes from the
``seed`` argument of each function, so results are reproducible.

The Ishigami function with its published indices (:data:`ISHIGAMI_PROBLEM`,
:data:`ISHIGAMI_INDICES`, :func:`ishigami`) is included as a known-answer test of the
whole chain.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = [
    "ISHIGAMI_INDICES",
    "ISHIGAMI_PROBLEM",
    "METHODS",
    "TABLE_COLUMNS",
    "analyze",
    "analyze_salib",
    "ishigami",
    "noise_share",
    "plot_indices",
    "plot_morris",
    "problem",
    "sample",
]

#: Sampling/analysis methods understood by :func:`sample` and :func:`analyze`.
METHODS = ("sobol", "morris", "pawn")

#: Columns of the table returned by :func:`analyze`, in order.
TABLE_COLUMNS = ["method", "outcome", "param", "index", "value", "conf_low", "conf_high"]

#: SALib problem for the Ishigami function: three inputs, each uniform on [-pi, pi].
ISHIGAMI_PROBLEM: dict[str, Any] = {
    "num_vars": 3,
    "names": ["x1", "x2", "x3"],
    "bounds": [[-math.pi, math.pi] for _ in range(3)],
}

# Analytic first-order and total Sobol' indices of the Ishigami function for a = 7,
# b = 0.1 (Ishigami & Homma 1990; Sobol' & Levitan 1999), rounded to four decimals as
# tabulated in Saltelli et al. (2008), "Global Sensitivity Analysis: The Primer", Wiley.
# x3 acts only through its interaction with x1, so S1[x3] = 0 and ST[x3] = S13.
ISHIGAMI_INDICES: dict[str, dict[str, float]] = {
    "S1": {"x1": 0.3139, "x2": 0.4424, "x3": 0.0},
    "ST": {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437},
}

_ISHIGAMI_A = 7.0
_ISHIGAMI_B = 0.1

# Okabe-Ito colour-blind-safe palette.
_BLUE = "#0072B2"
_VERMILLION = "#D55E00"
_GREEN = "#009E73"
_GREY = "#999999"
_INDEX_STYLE = {  # index -> (colour, marker, legend label)
    "S1": (_BLUE, "o", "S1 (first order)"),
    "ST": (_VERMILLION, "s", "ST (total)"),
    "median": (_GREEN, "D", "PAWN median"),
}


# --------------------------------------------------------------------------- test function
def ishigami(params: dict[str, float], seed: int | None = None,
             noise: float = 0.0) -> dict[str, float]:
    """Ishigami function, optionally with Gaussian noise, as a stand-in stochastic model.

    ``y = sin(x1) + 7 sin(x2)^2 + 0.1 x3^4 sin(x1)``.

    Parameters
    ----------
    params : dict of str to float
        Values of ``x1``, ``x2`` and ``x3`` (other keys are ignored).
    seed : int or None, optional
        Seed of the noise, mimicking a model run with that seed. As in a model, where the
        random stream interacts with the parameters, the noise depends on the seed *and*
        the point: it is drawn from ``default_rng(SeedSequence([seed, bits of x1, x2,
        x3]))``, so the same seed at the same point gives the same value and the same seed
        at another point an independent one. Unused when ``noise`` is 0.
    noise : float, optional
        Standard deviation of the additive Gaussian noise (default 0: deterministic).

    Returns
    -------
    dict of str to float
        ``{"y": value}``.

    Raises
    ------
    ValueError
        If ``noise`` is negative or not finite.
    """
    if not (math.isfinite(noise) and noise >= 0.0):
        raise ValueError(f"noise must be a finite standard deviation >= 0, got {noise!r}")
    x1, x2, x3 = float(params["x1"]), float(params["x2"]), float(params["x3"])
    y = math.sin(x1) + _ISHIGAMI_A * math.sin(x2) ** 2 + _ISHIGAMI_B * x3**4 * math.sin(x1)
    if noise > 0.0:
        bits = np.array([x1, x2, x3], dtype=np.float64).view(np.uint64).tolist()
        entropy = [int(seed) if seed is not None else 0, *bits]
        y += float(np.random.default_rng(np.random.SeedSequence(entropy)).normal(0.0, noise))
    return {"y": y}


# --------------------------------------------------------------------------- problem/sample
def problem(bounds: dict[str, tuple[float, float]]) -> dict:
    """Build a SALib problem dict from ordered parameter bounds.

    Parameters
    ----------
    bounds : dict of str to (float, float)
        ``{name: (low, high)}`` in the order the parameters should have (the column order
        of samples and the row order of tables).

    Returns
    -------
    dict
        ``{"num_vars": D, "names": [...], "bounds": [[low, high], ...]}``.

    Raises
    ------
    ValueError
        If ``bounds`` is empty, or a pair is not finite with ``low < high``.
    """
    if not bounds:
        raise ValueError("bounds must name at least one parameter")
    names, pairs = [], []
    for name, pair in bounds.items():
        if len(pair) != 2:
            raise ValueError(f"bounds of {name!r} must be a (low, high) pair, got {pair!r}")
        low, high = float(pair[0]), float(pair[1])
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"bounds of {name!r} must be finite with low < high, got {pair!r}")
        names.append(str(name))
        pairs.append([low, high])
    return {"num_vars": len(names), "names": names, "bounds": pairs}


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown sensitivity method {method!r}; allowed: {', '.join(METHODS)}")


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _salib_problem(prob: dict) -> dict:
    """A validated private copy of ``prob`` (SALib writes into the dicts it is given)."""
    try:
        names = [str(n) for n in prob["names"]]
        bounds = [[float(b[0]), float(b[1])] for b in prob["bounds"]]
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError("prob must be a SALib problem dict with 'names' and 'bounds'") from exc
    if not names or len(bounds) != len(names) or prob.get("num_vars", len(names)) != len(names):
        raise ValueError("prob must have one pair of bounds per name and num_vars == len(names)")
    if len(set(names)) != len(names):
        raise ValueError(f"parameter names must be unique, got {names}")
    if prob.get("groups"):
        raise ValueError("grouped problems are not supported: tables are per parameter")
    out: dict[str, Any] = {"num_vars": len(names), "names": names, "bounds": bounds}
    if prob.get("dists") is not None:
        out["dists"] = list(prob["dists"])
    return out


def sample(method: str, prob: dict, n: int, seed: int, *, second_order: bool = False,
           levels: int = 4) -> np.ndarray:
    """Draw the sample a sensitivity method needs.

    Parameters
    ----------
    method : {"sobol", "morris", "pawn"}
        ``"sobol"``: SALib's Saltelli-type cross-sample of a scrambled Sobol' sequence
        (:func:`SALib.sample.sobol.sample`), ``n`` base points, ``n * (D + 2)`` rows, or
        ``n * (2D + 2)`` with ``second_order``; ``n`` should be a power of two (SciPy warns
        otherwise). ``"morris"``: ``n`` Morris trajectories on a ``levels``-level grid,
        ``n * (D + 1)`` rows. ``"pawn"``: a Latin hypercube of ``n`` rows.
    prob : dict
        SALib problem dict (see :func:`problem`); it is not modified.
    n : int
        Base sample size, number of trajectories or number of rows (see ``method``).
    seed : int
        Seed of every random choice (scrambling, trajectories, hypercube).
    second_order : bool, optional
        Sobol' only: include the extra cross-sample needed for ``S2`` indices.
    levels : int, optional
        Morris only: number of grid levels (even; default 4). Pass the same value to
        :func:`analyze`.

    Returns
    -------
    numpy.ndarray
        Sample of shape ``(rows, D)`` in the parameters' own units, columns in
        ``prob["names"]`` order.

    Raises
    ------
    ValueError
        For an unknown method (the message lists the allowed ones), ``n < 1`` or a bad seed.
    """
    _check_method(method)
    seed = _check_seed(seed)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    sp = _salib_problem(prob)
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        X = sobol_sample.sample(sp, int(n), calc_second_order=second_order, scramble=True,
                                seed=seed)
    elif method == "morris":
        from SALib.sample import morris as morris_sample

        X = morris_sample.sample(sp, int(n), num_levels=levels, seed=seed)
    else:
        from SALib.sample import latin

        X = latin.sample(sp, int(n), seed=seed)
    return np.asarray(X, dtype=float)


# --------------------------------------------------------------------------- analysis
def _salib_sobol_seed(seed: int) -> int:
    # SALib 1.6's sobol.analyze only seeds its bootstrap when ``if seed:`` is true; seed 0
    # would silently fall back to the unseeded global numpy state. Derive a non-zero seed
    # deterministically from ``seed`` instead.
    return int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint32)[0]) or 1


def _rows(method: str, outcome: str, param: str, index: str, value: float,
          half_width: float = math.nan, floor: float = -math.inf) -> dict[str, Any]:
    """One row; the interval ``value -/+ half_width``, its low end clipped at ``floor``.

    Example: mu* 0.02 with half-width 0.03 and floor 0 -> interval [0, 0.05] (mu* is a
    mean of absolute values: the normal form would reach below zero, which it cannot).
    """
    value = float(value)
    half_width = float(half_width)
    return {"method": method, "outcome": outcome, "param": param, "index": index,
            "value": value, "conf_low": max(value - half_width, floor),
            "conf_high": value + half_width}


def _check_morris_levels(sp: dict, X: np.ndarray, levels: int) -> None:
    """Refuse a ``levels`` that does not match the grid step found in ``X``.

    SALib divides output differences by the step ``levels / (2 (levels - 1))`` of the unit
    grid, so a wrong ``levels`` would silently rescale every elementary effect.
    """
    if "dists" in sp:  # non-uniform inputs: the unit step cannot be read off X
        return
    D = sp["num_vars"]
    if X.shape[0] % (D + 1):
        raise ValueError(f"a Morris sample has a multiple of D + 1 = {D + 1} rows, "
                         f"got {X.shape[0]}")
    bounds = np.asarray(sp["bounds"], dtype=float)
    unit = (X - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    steps = np.diff(unit.reshape(-1, D + 1, D), axis=1)
    moved = np.abs(steps) > 1e-9
    if not np.all(moved.sum(axis=2) == 1):
        raise ValueError("X is not a Morris sample: each step of a trajectory must move "
                         "exactly one parameter")
    found = np.abs(steps[moved])
    delta = levels / (2.0 * (levels - 1))
    if not np.allclose(found, delta, rtol=0.0, atol=1e-6):
        implied = float(np.median(found))
        raise ValueError(f"levels={levels} implies a grid step of {delta:.4f} of each range, "
                         f"but X moves by {implied:.4f}; pass the levels used by sample()")


def _pawn(sp: dict, X: np.ndarray, Y: np.ndarray, slides: int) -> dict:
    from SALib.analyze import pawn as pawn_analyze

    # SALib's pawn.analyze is deterministic; its ``seed`` argument would only call the
    # global np.random.seed, so it is not passed. The CV is 0/0 when all KS distances of
    # a parameter are 0 (e.g. a constant outcome): that gives NaN, silently.
    with np.errstate(divide="ignore", invalid="ignore"):
        return pawn_analyze.analyze(sp, X, Y, S=slides, print_to_console=False)


def analyze(method: str, prob: dict, X: np.ndarray, Y: np.ndarray, outcome: str, seed: int, *,
            second_order: bool = False, num_resamples: int = 1000, conf_level: float = 0.95,
            levels: int = 4, pawn_slides: int = 10,
            pawn_resamples: int | None = None) -> pd.DataFrame:
    """Sensitivity indices of one outcome as a tidy table.

    The table of :func:`analyze_salib`, which also returns SALib's own result.

    Parameters
    ----------
    method : {"sobol", "morris", "pawn"}
        Method; ``X`` must be the matching sample from :func:`sample` (PAWN accepts any).
    prob : dict
        The SALib problem the sample was drawn from; it is not modified.
    X : numpy.ndarray
        Sample, shape ``(rows, D)``.
    Y : numpy.ndarray
        Outcome at each row, shape ``(rows,)``, or ``(rows, R)`` for ``R`` replicate runs
        per row, in which case the replicate mean is analysed (see the module docstring;
        report :func:`noise_share` of the same matrix). Must be finite.
    outcome : str
        Name of the outcome, copied to the ``outcome`` column.
    seed : int
        Seed of all bootstrap resampling.
    second_order : bool, optional
        Sobol' only: also return ``S2`` (the sample must have been drawn with it).
    num_resamples : int, optional
        Bootstrap resamples for the Sobol' and Morris intervals (default 1000).
    conf_level : float, optional
        Confidence level of the intervals (default 0.95).
    levels : int, optional
        Morris only: grid levels used by :func:`sample` (default 4); checked against ``X``.
    pawn_slides : int, optional
        PAWN only: number of conditioning slides per parameter (SALib's ``S``, default 10).
    pawn_resamples : int or None, optional
        PAWN only: bootstrap resamples of the median interval. Default
        ``min(num_resamples, 200)``, since every resample reruns the whole PAWN analysis.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, outcome, param, index, value, conf_low, conf_high``. Rows:

        - Sobol': ``S1`` and ``ST`` per parameter, plus ``S2`` per pair with
          ``param = "a,b"`` when ``second_order``. Intervals are SALib's bootstrap
          intervals, ``value -/+ z * sd`` of the resampled estimates.
        - Morris: ``mu_star`` (with SALib's bootstrap interval, built the same way, its
          low end clipped at 0 since mu* cannot be negative), ``mu`` and ``sigma``
          (intervals NaN).
        - PAWN: ``minimum, mean, median, maximum, CV, stdev`` of the KS distances over
          the slides, as SALib returns them. Only ``median`` (PAWN's headline index) gets
          an interval, ``median -/+ z * sd`` where ``sd`` is the standard deviation of the
          median over ``pawn_resamples`` bootstrap resamples of the rows of ``(X, Y)``
          drawn with ``numpy.random.default_rng(seed)``. The normal form is used, as
          SALib does for Sobol' and Morris, because percentile intervals are biased here:
          duplicated rows inflate KS distances, so for a weak parameter the resampled
          medians can lie entirely above the estimate (in one Ishigami run with 1000
          rows, ``x3``: 0.106 on the data, 95% of resamples in 0.115-0.166). KS
          distances also have a positive small-sample floor (0.07-0.09 for a dummy
          parameter the outcome ignores, with 1000 rows and 10 slides) that the interval
          does not remove: compare PAWN indices with each other or with a dummy
          parameter added to the problem, not with zero.

        Intervals of a constant outcome are zero-width (Morris, PAWN) or the indices are
        NaN (Sobol', undefined with zero variance; a ``UserWarning`` says so).

    Raises
    ------
    ValueError
        For an unknown method, mismatched shapes, non-finite outcomes, a bad seed,
        ``conf_level`` outside (0, 1), fewer than 2 resamples, or a Morris sample whose
        grid does not match ``levels``.
    """
    return analyze_salib(method, prob, X, Y, outcome, seed, second_order=second_order,
                         num_resamples=num_resamples, conf_level=conf_level, levels=levels,
                         pawn_slides=pawn_slides, pawn_resamples=pawn_resamples)[0]


def analyze_salib(method: str, prob: dict, X: np.ndarray, Y: np.ndarray, outcome: str,
                  seed: int, *, second_order: bool = False, num_resamples: int = 1000,
                  conf_level: float = 0.95, levels: int = 4, pawn_slides: int = 10,
                  pawn_resamples: int | None = None) -> tuple[pd.DataFrame, Any]:
    """:func:`analyze`'s table and the same indices as SALib's ``ResultDict``.

    The second is what SALib's analyser returned (``S1``, ``S1_conf``, ``ST``, ``ST_conf``
    and ``S2``, ``S2_conf`` for Sobol'; ``mu``, ``mu_star``, ``sigma``, ``mu_star_conf``
    for Morris; ``minimum`` to ``stdev`` for PAWN, with ``median_conf``, the half-width of
    the table's interval, added), each with ``names``: what a ``SALib.ProblemSpec``
    holds in ``analysis``. ``*_conf`` are half-widths, as in SALib; the table's interval
    is ``value -/+ conf`` (mu*'s low end clipped at 0).
    """
    _check_method(method)
    seed = _check_seed(seed)
    sp = _salib_problem(prob)
    names = sp["names"]
    D = len(names)
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"X must have shape (rows, {D}), got {X.shape}")
    if Y.ndim == 2:
        Y = Y.mean(axis=1)
    if Y.ndim != 1 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y must have shape ({X.shape[0]},) or ({X.shape[0]}, replicates), "
                         f"got {np.shape(Y)}")
    if not np.all(np.isfinite(Y)) or not np.all(np.isfinite(X)):
        raise ValueError(f"X and Y of outcome {outcome!r} must be finite")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must lie in (0, 1), got {conf_level!r}")
    if num_resamples < 2:
        raise ValueError(f"num_resamples must be >= 2, got {num_resamples!r}")
    outcome = str(outcome)
    rows: list[dict[str, Any]] = []

    if method == "sobol":
        per_base = 2 * D + 2 if second_order else D + 2
        if Y.shape[0] % per_base:
            raise ValueError(f"a Sobol' sample with second_order={second_order} has a "
                             f"multiple of {per_base} rows, got {Y.shape[0]}")
        if np.ptp(Y) == 0.0:
            warnings.warn(f"outcome {outcome!r} is constant: Sobol' indices are undefined "
                          "(NaN)", UserWarning, stacklevel=2)
            S = {"S1": [math.nan] * D, "S1_conf": [math.nan] * D,
                 "ST": [math.nan] * D, "ST_conf": [math.nan] * D,
                 "S2": np.full((D, D), math.nan), "S2_conf": np.full((D, D), math.nan)}
        else:
            from SALib.analyze import sobol as sobol_analyze

            S = sobol_analyze.analyze(sp, Y, calc_second_order=second_order,
                                      num_resamples=int(num_resamples), conf_level=conf_level,
                                      print_to_console=False, seed=_salib_sobol_seed(seed))
        for index in ("S1", "ST"):
            for j, name in enumerate(names):
                rows.append(_rows(method, outcome, name, index, S[index][j],
                                  S[f"{index}_conf"][j]))
        if second_order:
            for j in range(D):
                for k in range(j + 1, D):
                    rows.append(_rows(method, outcome, f"{names[j]},{names[k]}", "S2",
                                      S["S2"][j, k], S["S2_conf"][j, k]))

    elif method == "morris":
        from SALib.analyze import morris as morris_analyze

        if X.shape[0] < 2 * (D + 1):
            raise ValueError("Morris needs at least two trajectories (2 * (D + 1) rows)")
        _check_morris_levels(sp, X, levels)
        S = morris_analyze.analyze(sp, X, Y, num_resamples=int(num_resamples),
                                   conf_level=conf_level, print_to_console=False,
                                   num_levels=levels, seed=seed)
        for j, name in enumerate(names):
            rows.append(_rows(method, outcome, name, "mu_star", S["mu_star"][j],
                              S["mu_star_conf"][j], floor=0.0))
        for index in ("mu", "sigma"):
            for j, name in enumerate(names):
                rows.append(_rows(method, outcome, name, index, S[index][j]))

    else:
        B = int(min(num_resamples, 200) if pawn_resamples is None else pawn_resamples)
        if B < 2:
            raise ValueError(f"pawn_resamples must be >= 2, got {pawn_resamples!r}")
        S = _pawn(sp, X, Y, pawn_slides)
        rng = np.random.default_rng(seed)
        n = Y.shape[0]
        boot = np.empty((B, D))
        for b in range(B):
            idx = rng.integers(n, size=n)
            boot[b] = _pawn(sp, X[idx], Y[idx], pawn_slides)["median"]
        half = norm.ppf(0.5 + conf_level / 2.0) * boot.std(axis=0, ddof=1)
        for index in ("minimum", "mean", "median", "maximum", "CV", "stdev"):
            for j, name in enumerate(names):
                rows.append(_rows(method, outcome, name, index, S[index][j],
                                  half[j] if index == "median" else math.nan))

    from SALib.util import ResultDict

    # SALib's own ResultDict (Sobol's keeps its to_df); the constant-outcome case is built
    result = S if isinstance(S, ResultDict) else ResultDict(S)
    if method == "sobol" and not second_order:
        result.pop("S2", None)
        result.pop("S2_conf", None)
    result["names"] = list(names)
    if not hasattr(result, "problem"):
        result.problem = sp  # what SALib's Sobol' to_df reads the names from
    if method == "pawn":
        result["median_conf"] = half
    return pd.DataFrame(rows, columns=TABLE_COLUMNS), result


def noise_share(Y_reps: np.ndarray) -> dict[str, float]:
    """Split the variance of replicated outcomes into seed noise and parameter effects.

    Parameters
    ----------
    Y_reps : numpy.ndarray
        Outcome of shape ``(points, replicates)``: row ``i`` holds the runs at sample point
        ``i``, column ``k`` the runs with replicate seed ``k`` (common random numbers: the
        same seed at every point).

    Returns
    -------
    dict of str to float
        - ``total_var``: sample variance (``ddof=1``) of all ``points * replicates``
          values, the variance of a single run over the sample.
        - ``within_var``: mean over points of the variance across replicates (``ddof=1``),
          an unbiased estimate of the seed-noise variance ``sigma^2`` of one run (pooled
          over points; exact for a balanced design). NaN with one replicate.
        - ``between_var``: variance (``ddof=1``) of the point means; it estimates
          ``Var(f) + sigma^2 / R`` for independent seeds. Under common random numbers the
          part of the noise shared by all points cancels from differences between
          points, so it can be smaller. NaN with one point.
        - ``signal_var``: ``max(between_var - within_var / R, 0)``, the one-way
          random-effects (ANOVA) estimate of ``Var(f)``, the variance the parameters
          cause. NaN with one replicate or one point.
        - ``noise_share``: ``within_var / (within_var + signal_var)``, the estimated share
          of the variance of a single run that is seed noise, ``sigma^2 / (Var(f) +
          sigma^2)``; in [0, 1] (1 when the parameters explain nothing beyond the noise).
          The replicate mean that :func:`analyze` uses carries noise variance
          ``within_var / R``. NaN if either part is NaN or both are 0.

    Raises
    ------
    ValueError
        If ``Y_reps`` is not a two-dimensional array of finite numbers with at least two
        values.
    """
    Y = np.asarray(Y_reps, dtype=float)
    if Y.ndim != 2 or Y.size < 2:
        raise ValueError(f"Y_reps must have shape (points, replicates) with at least two "
                         f"values, got {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise ValueError("Y_reps must be finite")
    points, reps = Y.shape
    total = float(np.var(Y, ddof=1))
    within = float(np.var(Y, axis=1, ddof=1).mean()) if reps > 1 else math.nan
    between = float(np.var(Y.mean(axis=1), ddof=1)) if points > 1 else math.nan
    signal = max(between - within / reps, 0.0) if (reps > 1 and points > 1) else math.nan
    denom = within + signal
    share = within / denom if (denom == denom and denom > 0.0) else math.nan
    return {"total_var": total, "within_var": within, "between_var": between,
            "signal_var": signal, "noise_share": share}


# --------------------------------------------------------------------------- figures
def _new_figure(panels: int, width: float, height: float) -> tuple[Any, np.ndarray]:
    """An Agg-backed figure with ``panels`` axes (no pyplot state, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = min(panels, 3)
    nrows = math.ceil(panels / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes


def _save(fig: Any, path: str | os.PathLike) -> None:
    out = os.fspath(path)
    parent = os.path.dirname(out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=150, format="png")


def _errors(sub: pd.DataFrame) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n) from conf_low/conf_high; NaN becomes no bar."""
    v = sub["value"].to_numpy(dtype=float)
    low = np.nan_to_num(v - sub["conf_low"].to_numpy(dtype=float), nan=0.0)
    high = np.nan_to_num(sub["conf_high"].to_numpy(dtype=float) - v, nan=0.0)
    return np.vstack([np.clip(low, 0.0, None), np.clip(high, 0.0, None)])


def plot_indices(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Chart Sobol' ``S1``/``ST`` and PAWN medians with their intervals, one panel per outcome.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`analyze` (or several concatenated). Rows of ``method == "sobol"``
        with ``index`` ``S1``/``ST`` and of ``method == "pawn"`` with ``index == "median"``
        are drawn, one panel per (outcome, method); other rows are ignored.
    path : str or os.PathLike
        PNG file to write (parent directories are created).

    Raises
    ------
    ValueError
        If the table has no Sobol' or PAWN rows to draw.
    """
    shown = table[((table["method"] == "sobol") & table["index"].isin(["S1", "ST"]))
                  | ((table["method"] == "pawn") & (table["index"] == "median"))]
    if shown.empty:
        raise ValueError("table has no Sobol' S1/ST or PAWN median rows to plot")
    panels = list(dict.fromkeys(zip(shown["outcome"], shown["method"], strict=True)))
    n_params = shown["param"].nunique()
    fig, axes = _new_figure(len(panels), 4.6, 1.2 + 0.45 * n_params)
    for ax, (outcome, method) in zip(axes, panels, strict=False):
        sub = shown[(shown["outcome"] == outcome) & (shown["method"] == method)]
        params = list(dict.fromkeys(sub["param"]))
        pos = {p: i for i, p in enumerate(params)}
        indices = list(dict.fromkeys(sub["index"]))
        for k, index in enumerate(indices):
            rows = sub[sub["index"] == index]
            colour, marker, label = _INDEX_STYLE[index]
            offset = (k - (len(indices) - 1) / 2) * 0.25
            y = np.array([pos[p] for p in rows["param"]]) + offset
            ax.errorbar(rows["value"].to_numpy(dtype=float), y, xerr=_errors(rows), fmt=marker,
                        color=colour, ecolor=colour, capsize=3, markersize=5, label=label)
        ax.axvline(0.0, color=_GREY, lw=0.8)
        ax.set_yticks(range(len(params)), params)
        ax.set_ylim(len(params) - 0.5, -0.5)  # first parameter at the top
        ax.set_ylabel("parameter")
        ax.set_xlabel("Sobol' index (share of output variance)" if method == "sobol"
                      else "PAWN index (median KS distance)")
        ax.set_title(f"{outcome} ({'Sobol' if method == 'sobol' else 'PAWN'})", fontsize=10)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Sensitivity indices with bootstrap intervals", fontsize=11)
    _save(fig, path)


def plot_morris(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Morris mu* against sigma with the mu* interval, one panel per outcome.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`analyze` (or several concatenated); rows of ``method == "morris"``
        are drawn, other rows are ignored.
    path : str or os.PathLike
        PNG file to write (parent directories are created).

    Raises
    ------
    ValueError
        If the table has no Morris rows.

    Notes
    -----
    Parameters far right matter; high ones act non-linearly or through interactions. The
    dashed line ``sigma = mu*`` helps to read the ratio.
    """
    m = table[table["method"] == "morris"]
    if m.empty:
        raise ValueError("table has no Morris rows to plot")
    outcomes = list(dict.fromkeys(m["outcome"]))
    fig, axes = _new_figure(len(outcomes), 4.8, 4.2)
    for ax, outcome in zip(axes, outcomes, strict=False):
        sub = m[m["outcome"] == outcome]
        star = sub[sub["index"] == "mu_star"].set_index("param")
        sigma = sub[sub["index"] == "sigma"].set_index("param")["value"]
        params = [p for p in star.index if p in sigma.index]
        star = star.loc[params]
        x = star["value"].to_numpy(dtype=float)
        y = sigma.loc[params].to_numpy(dtype=float)
        ax.errorbar(x, y, xerr=_errors(star), fmt="o", color=_BLUE, ecolor=_BLUE, capsize=3,
                    markersize=5, label=r"$\mu^*$ with interval")
        for p, xi, yi in zip(params, x, y, strict=True):
            ax.annotate(str(p), (xi, yi), xytext=(4, 4), textcoords="offset points",
                        fontsize=8, color=_VERMILLION)
        top = float(np.nanmax(np.r_[x + _errors(star)[1], y, 0.0]))
        top = top * 1.1 if top > 0 else 1.0
        ax.plot([0.0, top], [0.0, top], ls="--", color=_GREY, lw=0.8, label=r"$\sigma = \mu^*$")
        ax.set_xlim(0.0, top)
        ax.set_ylim(0.0, top)
        ax.set_xlabel(r"$\mu^*$ (mean |elementary effect|)")
        ax.set_ylabel(r"$\sigma$ (s.d. of elementary effects)")
        ax.set_title(f"{outcome} (Morris)", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Morris screening", fontsize=11)
    _save(fig, path)
