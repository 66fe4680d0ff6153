"""Scenario discovery with the Patient Rule Induction Method (PRIM).

Question answered: *under which ranges of the uncertain parameters does an outcome of
interest happen* (for example, "the region polarises: cv > 1.2")? Given an experiment's
table of runs, ``X`` (one row per run, one numeric column per uncertain parameter) and a
boolean ``y`` (the run is a *case of interest*), PRIM looks for a box -- an axis-aligned
hyper-rectangle ``lo_j <= x_j <= hi_j`` -- in which cases of interest are concentrated, and
which restricts as few parameters as it can.

Method (Friedman & Fisher 1999; Bryant & Lempert 2010)
------------------------------------------------------
*Peeling* (top-down). The box starts as the whole sample. At each step every parameter
offers two candidate peels: remove the points of the current box below its ``peel_alpha``
quantile (raise the lower limit) or above its ``1 - peel_alpha`` quantile (lower the upper
limit). A parameter with at most :data:`DISCRETE_MAX` distinct values in the sample, or one
whose quantile would remove nothing because of ties, instead loses its single lowest or
highest remaining value. Among the candidates whose remaining mass stays at least
``mass_min``, the one leaving the highest density is taken -- "patient" because each step
removes only a small share of the box. Peeling stops when no admissible peel increases the
density. Every box of the sequence is kept: the *peeling trajectory* trades coverage for
density, and the analyst picks a box from it (:meth:`PrimResult.select`).

*Pasting* (bottom-up, optional). Peeling is greedy and may have cut too deep. The final
peeled box is grown again: for every limit, the ``paste_alpha`` share (relative to the box's
size) of the nearest outside points that satisfy all the other limits is tried, and the
expansion with the highest resulting density is accepted while the density does not
decrease. The pasted box, if it differs from the last peeled box, is appended to the
trajectory as a final row with ``pasted = True``.

Measures of a box, for ``N`` points of which ``P`` are cases of interest, ``n`` inside the box
and ``p`` of those cases of interest:

* coverage ``= p / P``, the share of all cases of interest that the box captures;
* density ``= p / n``, the share of the box's points that are cases of interest (the mean of
  ``y`` in the box);
* mass ``= n / N``, the share of all points that lie in the box.

Limits are values of sample points and are inclusive; a limit equal to the sample's minimum
or maximum of that parameter leaves that side *unrestricted* (:meth:`Box.contains` then does
not test it, so new points beyond the sample's range on that side count as inside).

References
----------
Friedman, J. H. & Fisher, N. I. (1999). Bump hunting in high-dimensional data. *Statistics
and Computing* 9, 123-143.

Bryant, B. P. & Lempert, R. J. (2010). Thinking inside the box: a participatory,
computer-assisted approach to scenario discovery. *Technological Forecasting and Social
Change* 77, 34-49.

Examples
--------
>>> X, y = from_results(runs, ["innov_rate", "spill_decay_km"], "cv", 1.2)  # doctest: +SKIP
>>> res = prim(X, y)  # doctest: +SKIP
>>> print(res.summary(res.select(min_density=0.9)))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DISCRETE_MAX", "Box", "PrimResult", "from_results", "plot_tradeoff", "prim"]

#: A parameter with at most this many distinct sample values is peeled one value at a time.
DISCRETE_MAX = 10

#: Okabe-Ito colours (colour-blind safe), one per number of restricted parameters.
_OKABE_ITO = ["#999999", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7",
              "#000000"]


@dataclass
class Box:
    """An axis-aligned box of parameter space and how well it captures the cases of interest.

    Attributes
    ----------
    limits : dict[str, tuple[float, float]]
        Inclusive ``(lo, hi)`` limits for *every* parameter of ``X``, in column order.
        Unrestricted parameters (and unrestricted sides) carry the sample's full range.
    coverage : float
        Cases of interest in the box / all cases of interest.
    density : float
        Cases of interest in the box / points in the box.
    mass : float
        Points in the box / all points.
    n : int
        Number of sample points in the box.
    bounds : dict[str, tuple[float, float]]
        The sample's ``(min, max)`` of each parameter; a side of ``limits`` equal to its bound
        is unrestricted. Empty if unknown, in which case every limit is treated as restricting.
    """

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    n: int
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def _sides(self, name: str) -> tuple[bool, bool]:
        """Whether the lower and the upper limit of ``name`` restrict the sample."""
        lo, hi = self.limits[name]
        if name not in self.bounds:
            return True, True
        blo, bhi = self.bounds[name]
        return bool(lo > blo), bool(hi < bhi)

    @property
    def restricted(self) -> list[str]:
        """Names of the parameters whose limits are narrower than the sample's range."""
        return [k for k in self.limits if any(self._sides(k))]

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        """Which rows of ``X`` lie inside the box.

        Parameters
        ----------
        X : pandas.DataFrame
            Must have a column for every restricted parameter.

        Returns
        -------
        numpy.ndarray of bool
            One entry per row; limits are inclusive and unrestricted sides are not tested.
        """
        inside = np.ones(len(X), dtype=bool)
        for name, (lo, hi) in self.limits.items():
            low, high = self._sides(name)
            if not (low or high):
                continue
            if name not in X.columns:
                raise ValueError(f"X has no column {name!r}, which the box restricts")
            v = X[name].to_numpy(dtype=float)
            if low:
                inside &= v >= lo
            if high:
                inside &= v <= hi
        return inside


@dataclass
class PrimResult:
    """The peeling (and pasting) trajectory of one PRIM run.

    Attributes
    ----------
    trajectory : pandas.DataFrame
        One row per box: ``step, coverage, density, mass, n, restricted`` (number of
        restricted parameters), ``pasted`` (True only for a final pasted box) and the limits
        as ``<param>_lo``, ``<param>_hi``. Row 0 is the whole sample.
    boxes : list[Box]
        The box of each row of ``trajectory``.
    outcome : str
        What a case of interest is (for example ``"cv > 1.2"``), used by :meth:`summary`.
    """

    trajectory: pd.DataFrame
    boxes: list[Box]
    outcome: str = "case of interest"

    def select(self, min_density: float | None = None, index: int | None = None) -> Box:
        """Choose a box of the trajectory.

        Parameters
        ----------
        min_density : float, optional
            Return the box of highest coverage among those with density >= ``min_density``
            (ties: the denser box).
        index : int, optional
            Return the box of this row of the trajectory (negative counts from the end).

        Returns
        -------
        Box
            With neither argument, the last box (pasted if pasting changed it).

        Raises
        ------
        ValueError
            If both arguments are given or no box reaches ``min_density``.
        """
        if min_density is not None and index is not None:
            raise ValueError("give either min_density or index, not both")
        if index is not None:
            if not -len(self.boxes) <= index < len(self.boxes):
                raise IndexError(f"index {index} is outside the trajectory's "
                                 f"{len(self.boxes)} boxes")
            return self.boxes[index]
        if min_density is None:
            return self.boxes[-1]
        ok = [b for b in self.boxes if b.density >= min_density]
        if not ok:
            best = max(b.density for b in self.boxes)
            raise ValueError(f"no box has density >= {min_density}; the densest box of the "
                             f"trajectory has density {best:.3f}")
        return max(ok, key=lambda b: (b.coverage, b.density))

    def summary(self, box: Box | int | None = None) -> str:
        """A one-line description of a box.

        Parameters
        ----------
        box : Box or int, optional
            The box, or its row in the trajectory; default the last box.

        Returns
        -------
        str
            For example ``"cv > 1.2 when: innov_rate in [0.01, 0.03], spill_decay_km >= 150
            (coverage 0.82, density 0.91)"``.
        """
        if box is None or isinstance(box, int | np.integer):
            box = self.select(index=-1 if box is None else int(box))
        parts = []
        for name in box.restricted:
            lo, hi = box.limits[name]
            low, high = box._sides(name)
            if lo == hi:
                parts.append(f"{name} = {lo:.4g}")
            elif low and high:
                parts.append(f"{name} in [{lo:.4g}, {hi:.4g}]")
            elif low:
                parts.append(f"{name} >= {lo:.4g}")
            else:
                parts.append(f"{name} <= {hi:.4g}")
        cond = ", ".join(parts) if parts else "any parameter values (no restriction)"
        return (f"{self.outcome} when: {cond} "
                f"(coverage {box.coverage:.2f}, density {box.density:.2f})")


def _check_X(X: pd.DataFrame) -> np.ndarray:
    """Validate the parameter table and return it as a float array."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, not {type(X).__name__}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty ({X.shape[0]} rows, {X.shape[1]} columns); PRIM needs "
                         "at least one case and one parameter")
    if not X.columns.is_unique:
        dup = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
        raise ValueError(f"X has duplicated column names: {dup}")
    bad = [str(c) for c in X.columns
           if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_complex_dtype(X[c])]
    if bad:
        raise ValueError(f"X has non-numeric columns {bad}; PRIM needs numeric parameters "
                         "(encode categories as numbers first)")
    values = X.to_numpy(dtype=float)
    finite = np.isfinite(values)
    if not finite.all():
        cols = [str(c) for c, ok in zip(X.columns, finite.all(axis=0), strict=True) if not ok]
        raise ValueError(f"X has missing or infinite values in columns {cols}")
    return values


def _target(y: np.ndarray | pd.Series, threshold: float | None, n: int) -> np.ndarray:
    """Validate ``y`` and return the boolean 'case of interest' vector."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"length mismatch: X has {n} rows but y has {len(arr)} values")
    numeric = arr.dtype == bool or np.issubdtype(arr.dtype, np.number)
    if not numeric:
        raise ValueError(f"y must be boolean or numeric, got dtype {arr.dtype}")
    if threshold is None:
        if arr.dtype == bool:
            out = arr.copy()
        elif np.isin(arr, [0, 1]).all():
            out = arr == 1
        else:
            raise ValueError("y is numeric with values other than 0 and 1; pass threshold= "
                             "to mark cases of interest as y > threshold")
        what = "y is never True"
    else:
        yf = arr.astype(float)
        if np.isnan(yf).any():
            raise ValueError(f"y has {int(np.isnan(yf).sum())} missing values")
        out = yf > threshold
        what = f"no value of y exceeds threshold {threshold:g}"
    if not out.any():
        raise ValueError(f"no case of interest: {what}")
    return out


def _peel_candidates(v: np.ndarray, cy: np.ndarray, alpha: float,
                     discrete: bool) -> list[tuple[str, float, int, int]]:
    """Lower and upper peels of one parameter within the current box.

    ``v`` are the box's values of the parameter in ascending order and ``cy`` the cumulative
    count of cases of interest along that order (with a leading 0). Returns tuples
    ``(side, new_limit, points_kept, cases_kept)``.
    """
    m = len(v)
    out: list[tuple[str, float, int, int]] = []
    if m < 2 or v[0] == v[-1]:
        return out
    k = max(1, math.floor(alpha * m))
    total = int(cy[-1])
    # lower side: keep v >= new_lo
    if discrete or v[k] == v[0]:
        r = int(np.searchsorted(v, v[0], side="right"))
    else:
        r = int(np.searchsorted(v, v[k], side="left"))
    out.append(("lo", float(v[r]), m - r, total - int(cy[r])))
    # upper side: keep v <= new_hi
    if discrete or v[m - 1 - k] == v[-1]:
        keep = int(np.searchsorted(v, v[-1], side="left"))
    else:
        keep = int(np.searchsorted(v, v[m - 1 - k], side="right"))
    out.append(("hi", float(v[keep - 1]), keep, int(cy[keep])))
    return out


def _peel(values: np.ndarray, y: np.ndarray, alpha: float, mass_min: float,
          discrete: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The sequence of (lo, hi) limit arrays of the peeling trajectory."""
    n_all, d = values.shape
    order = np.argsort(values, axis=0, kind="stable").T  # (d, n): row j sorts column j
    lo, hi = values.min(axis=0), values.max(axis=0)
    inside = np.ones(n_all, dtype=bool)
    n_in, p_in = n_all, int(y.sum())
    seq = [(lo.copy(), hi.copy())]
    min_points = mass_min * n_all
    while True:
        best = None  # (density, points kept, j, side, limit, cases kept)
        for j in range(d):
            idx = order[j][inside[order[j]]]
            v = values[idx, j]
            cy = np.concatenate(([0], np.cumsum(y[idx])))
            for side, lim, kept, cases in _peel_candidates(v, cy, alpha, bool(discrete[j])):
                if kept < min_points or kept == 0:
                    continue
                key = (cases / kept, kept)
                if best is None or key > best[:2]:
                    best = (*key, j, side, lim, cases)
        if best is None or best[0] <= p_in / n_in:
            return seq
        dens, kept, j, side, lim, cases = best
        if side == "lo":
            lo[j] = lim
            inside &= values[:, j] >= lim
        else:
            hi[j] = lim
            inside &= values[:, j] <= lim
        n_in, p_in = kept, cases
        seq.append((lo.copy(), hi.copy()))


def _paste(values: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Grow a box limit by limit while its density does not decrease."""
    lo, hi = lo.copy(), hi.copy()
    d = values.shape[1]
    while True:
        sat = (values >= lo) & (values <= hi)
        n_viol = d - sat.sum(axis=1)
        inside = n_viol == 0
        n_in, p_in = int(inside.sum()), int(y[inside].sum())
        k = max(1, math.floor(alpha * n_in))
        best = None  # (density, points added, j, side, limit)
        for j in range(d):
            only_j = (n_viol == 1) & ~sat[:, j]
            for side in ("lo", "hi"):
                beyond = values[:, j] < lo[j] if side == "lo" else values[:, j] > hi[j]
                cand = np.flatnonzero(only_j & beyond)
                if cand.size == 0:
                    continue
                v = values[cand, j]
                o = np.argsort(-v if side == "lo" else v, kind="stable")  # nearest first
                v, yc = v[o], y[cand[o]]
                lim = v[min(k, v.size) - 1]
                add = int(np.count_nonzero(v >= lim if side == "lo" else v <= lim))
                dens = (p_in + int(yc[:add].sum())) / (n_in + add)
                key = (dens, add)
                if best is None or key > best[:2]:
                    best = (*key, j, side, float(lim))
        if best is None or best[0] < p_in / n_in:
            return lo, hi
        _, _, j, side, lim = best
        if side == "lo":
            lo[j] = lim
        else:
            hi[j] = lim


def prim(X: pd.DataFrame, y: np.ndarray | pd.Series, *, peel_alpha: float = 0.05,
         paste_alpha: float = 0.05, mass_min: float = 0.05, threshold: float | None = None,
         paste: bool = True) -> PrimResult:
    """Find boxes of parameter space where cases of interest concentrate (PRIM).

    Parameters
    ----------
    X : pandas.DataFrame
        One row per run, one numeric column per uncertain parameter (bool counts as 0/1).
    y : numpy.ndarray or pandas.Series
        One value per row of ``X``, matched by position. Boolean (or 0/1): the case of
        interest; numeric with ``threshold``: the case of interest is ``y > threshold``.
    peel_alpha : float, default 0.05
        Share of the current box's points removed by one peel, in (0, 0.5).
    paste_alpha : float, default 0.05
        Share (relative to the box's points) of outside points added by one paste, in (0, 1).
    mass_min : float, default 0.05
        Peeling never leaves fewer than this share of all points in the box, in [0, 1).
    threshold : float, optional
        Cases of interest are ``y > threshold``.
    paste : bool, default True
        Whether to paste the final peeled box (appended to the trajectory if it changes).

    Returns
    -------
    PrimResult
        The trajectory and its boxes; row 0 is the whole sample.

    Raises
    ------
    ValueError
        Empty ``X``, lengths of ``X`` and ``y`` that differ, non-numeric or missing values,
        no case of interest, or a tuning parameter out of range.
    """
    if not 0 < peel_alpha < 0.5:
        raise ValueError(f"peel_alpha must lie in (0, 0.5), got {peel_alpha}")
    if not 0 < paste_alpha < 1:
        raise ValueError(f"paste_alpha must lie in (0, 1), got {paste_alpha}")
    if not 0 <= mass_min < 1:
        raise ValueError(f"mass_min must lie in [0, 1), got {mass_min}")
    values = _check_X(X)
    target = _target(y, threshold, len(values))
    yi = target.astype(np.int64)
    names = list(X.columns)
    n_all, n_pos = len(values), int(yi.sum())
    bmin, bmax = values.min(axis=0), values.max(axis=0)
    bounds = {c: (float(a), float(b)) for c, a, b in zip(names, bmin, bmax, strict=True)}
    discrete = np.array([np.unique(values[:, j]).size <= DISCRETE_MAX
                         for j in range(values.shape[1])])

    seq = [(lo, hi, False) for lo, hi in _peel(values, yi, peel_alpha, mass_min, discrete)]
    if paste:
        plo, phi = _paste(values, yi, seq[-1][0], seq[-1][1], paste_alpha)
        if not (np.array_equal(plo, seq[-1][0]) and np.array_equal(phi, seq[-1][1])):
            seq.append((plo, phi, True))

    rows, boxes = [], []
    for step, (lo, hi, pasted) in enumerate(seq):
        inside = ((values >= lo) & (values <= hi)).all(axis=1)
        n_in, p_in = int(inside.sum()), int(yi[inside].sum())
        box = Box(limits={c: (float(a), float(b)) for c, a, b in zip(names, lo, hi, strict=True)},
                  coverage=p_in / n_pos, density=p_in / n_in, mass=n_in / n_all, n=n_in,
                  bounds=dict(bounds))
        boxes.append(box)
        row = {"step": step, "coverage": box.coverage, "density": box.density,
               "mass": box.mass, "n": n_in, "restricted": int(((lo > bmin) | (hi < bmax)).sum()),
               "pasted": pasted}
        for c, a, b in zip(names, lo, hi, strict=True):
            row[f"{c}_lo"], row[f"{c}_hi"] = float(a), float(b)
        rows.append(row)

    name = getattr(y, "name", None)
    label = str(name) if name is not None else "y"
    outcome = f"{label} > {threshold:g}" if threshold is not None else (
        label if name is not None else "case of interest")
    return PrimResult(trajectory=pd.DataFrame(rows), boxes=boxes, outcome=outcome)


def plot_tradeoff(result: PrimResult, path: str | Path) -> None:
    """Plot the coverage-density trade-off of the trajectory and save it as a PNG.

    Parameters
    ----------
    result : PrimResult
        The output of :func:`prim`.
    path : str or pathlib.Path
        Where to write the PNG (parent folders are created).

    Notes
    -----
    Points are coloured by the number of restricted parameters (Okabe-Ito colours, or the
    viridis map beyond eight distinct counts); a pasted box is drawn as a star. Rendered with
    the Agg canvas directly, so the global matplotlib backend is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    traj = result.trajectory
    fig = Figure(figsize=(6.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(traj["coverage"], traj["density"], color="#BBBBBB", lw=0.8, zorder=1)
    counts = sorted(int(c) for c in traj["restricted"].unique())
    if len(counts) <= len(_OKABE_ITO):
        colours = {c: _OKABE_ITO[i] for i, c in enumerate(counts)}
    else:
        from matplotlib import colormaps

        cmap = colormaps["viridis"]
        colours = {c: cmap(i / (len(counts) - 1)) for i, c in enumerate(counts)}
    for c in counts:
        sel = (traj["restricted"] == c) & ~traj["pasted"]
        ax.scatter(traj.loc[sel, "coverage"], traj.loc[sel, "density"], s=22,
                   color=colours[c], edgecolor="black", linewidth=0.3, zorder=2, label=str(c))
    pasted = traj[traj["pasted"]]
    if len(pasted):
        ax.scatter(pasted["coverage"], pasted["density"], s=120, marker="*",
                   color=[colours[int(c)] for c in pasted["restricted"]], edgecolor="black",
                   linewidth=0.6, zorder=3, label="pasted box")
    ax.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's runs that are of interest)")
    ax.set_xlim(0, 1.03)
    ax.set_ylim(0, 1.03)
    ax.set_title(f"PRIM peeling trajectory: {result.outcome}")
    ax.legend(title="restricted parameters", fontsize=8, title_fontsize=8, loc="lower left")
    ax.grid(True, lw=0.3, alpha=0.5)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)


def from_results(df: pd.DataFrame, params: list[str], outcome: str, threshold: float,
                 above: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Turn a tidy results table into ``(X, y)`` for :func:`prim`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run with parameter and outcome columns. If it has a ``status`` column,
        rows whose status is not ``"ok"`` (failed runs) are dropped.
    params : list[str]
        The parameter columns, in the order wanted in ``X``.
    outcome : str
        The outcome column.
    threshold : float
        Cases of interest are ``outcome > threshold`` (``above=True``) or
        ``outcome < threshold`` (``above=False``).
    above : bool, default True
        Direction of the comparison.

    Returns
    -------
    X : pandas.DataFrame
        The parameter columns of the kept rows, with a fresh 0..n-1 index.
    y : numpy.ndarray of bool
        Whether each kept run is a case of interest.

    Raises
    ------
    ValueError
        Missing columns, no parameters, no run left, or missing outcome values in kept runs.
    """
    if not params:
        raise ValueError("params is empty; name at least one parameter column")
    missing = [c for c in [*params, outcome] if c not in df.columns]
    if missing:
        raise ValueError(f"results table has no columns {missing}")
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    if len(df) == 0:
        raise ValueError("no successful runs (status 'ok') in the results table")
    out = pd.to_numeric(df[outcome], errors="coerce").to_numpy(dtype=float)
    if np.isnan(out).any():
        raise ValueError(f"outcome {outcome!r} is missing or non-numeric in "
                         f"{int(np.isnan(out).sum())} successful runs")
    y = out > threshold if above else out < threshold
    return df[list(params)].reset_index(drop=True), y
