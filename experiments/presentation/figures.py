"""Figures of the model's outputs (matplotlib, Agg backend, colour-blind-safe palettes).

Every function is pure in the sense that it takes pandas frames of the output contract
(README "Output contract": the cities table, the region table, a flow matrix, a
``compare.csv`` or ``indices.csv`` table) plus a path, writes one PNG at 150 dpi and
returns the path. Nothing is read from disk except the shipped city coordinates of the
map geographies (:func:`model.geography.yrd`, :func:`model.geography.peers`).

Palettes: tiers use Okabe-Ito colours (:data:`TIER_COLOURS`), series use the Okabe-Ito
set, flow maps use viridis.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# No matplotlib.use() here: a library must not switch the backend of the notebook or
# program that imports it. Every figure is saved and closed, so none is shown.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments.presentation.numbers import FIRST_YEAR_STEPS  # noqa: E402

__all__ = ["baseline_figures", "TIER_COLOURS", "FLOW_UNITS", "positions",
           "tier_map_small_multiples", "tier_counts", "index_trajectories", "dispersion",
           "flow_map", "comparison", "tier_map_panel", "tier_legend", "sensitivity_indices",
           "run_figures", "evenly_spaced_years", "place_labels", "defer_labels",
           "flush_labels", "measure_title", "sweep_series", "when_label"]

#: Okabe-Ito colours for tiers 1-4 (colour-blind safe).
TIER_COLOURS = {1: "#D55E00", 2: "#E69F00", 3: "#56B4E9", 4: "#999999"}

#: Units of the accumulated flow matrices (``flows/*.csv``).
FLOW_UNITS = {"talent": "talent agents moved", "capital": "MU of VC invested",
              "knowledge": "knowledge units spilled", "collaboration": "co-inventions"}

# Okabe-Ito series colours
_BLUE, _GREEN, _PINK, _BLACK, _VERMILLION, _ORANGE, _SKY = (
    "#0072B2", "#009E73", "#CC79A7", "#000000", "#D55E00", "#E69F00", "#56B4E9")
_DPI = 150
#: Quarters in the first year; time series of the index start after it (see dispersion).
_GRID_NAME = re.compile(r"^c(\d+)_(\d+)$")


# --------------------------------------------------------------------------- helpers
def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    flush_labels(fig)
    fig.savefig(path, dpi=_DPI, format="png")
    plt.close(fig)
    return path


def defer_labels(ax: Any, *args: Any, **kw: Any) -> None:
    """Ask for :func:`place_labels` once the figure's layout is final (:func:`flush_labels`).

    Label positions are measured on the page, so they are placed after the last layout.
    """
    fig = ax.figure
    pending = getattr(fig, "_innogrid_labels", [])
    pending.append((ax, args, kw))
    fig._innogrid_labels = pending


def flush_labels(fig: Any) -> None:
    """Place every label deferred on ``fig`` (call after the last layout change)."""
    for ax, args, kw in getattr(fig, "_innogrid_labels", []):
        place_labels(ax, *args, **kw)
    fig._innogrid_labels = []


def place_labels(ax: Any, points: Sequence[tuple[float, float]], labels: Sequence[str],
                 radii_pt: Sequence[float] | None = None, obstacles: Sequence[tuple[float, float,
                 float]] = (), fontsize: float = 7, **text_kw: Any) -> list[Any]:
    """Label points without overlaps: each label tries positions around its point.

    ``points`` in data coordinates, ``radii_pt`` the markers' radii in points (labels keep
    clear of their own and every other marker in ``obstacles``: (x, y, radius_pt)). A label
    that finds no free place close by goes further out with a thin leader line. Greedy, in
    the order given (put the most important first). Returns the annotations.
    """
    fig = ax.figure
    fig.canvas.draw()  # fixes the axes' limits and gives a renderer for text sizes
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    radii_pt = list(radii_pt) if radii_pt is not None else [3.0] * len(points)
    marks = [(*ax.transData.transform(p), r * to_px) for p, r in zip(points, radii_pt,
                                                                      strict=True)]
    marks += [(*ax.transData.transform((x, y)), r * to_px) for x, y, r in obstacles]
    taken: list[Any] = []
    out = []
    dirs = [(1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1),
            (1, 2), (-1, 2), (1, -2), (-1, -2)]

    # a margin: text measured at the screen's dpi comes out a little wider when saved
    frame = ax.get_window_extent(renderer).padded(-6)

    def clear(bb) -> bool:
        if not (frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0
                and bb.y1 <= frame.y1):
            return False  # inside the axes, not cut at their edge
        if any(bb.overlaps(t) for t in taken):
            return False
        for mx, my, mr in marks:
            cx, cy = min(max(mx, bb.x0), bb.x1), min(max(my, bb.y0), bb.y1)
            if (cx - mx) ** 2 + (cy - my) ** 2 < mr ** 2:
                return False
        return True

    for (x, y), text, r in zip(points, labels, radii_pt, strict=True):
        best = None
        tries = [(ring, gap, d) for ring, gap in enumerate((2.0, 12.0, 24.0, 38.0, 54.0))
                 for d in dirs]
        for ring, gap, (dx, dy) in tries:
            norm = (dx * dx + dy * dy) ** 0.5
            off = ((r + gap) * dx / norm, (r + gap) * dy / norm)
            ha = "left" if dx > 0.3 else ("right" if dx < -0.3 else "center")
            va = "bottom" if dy > 0.3 else ("top" if dy < -0.3 else "center")
            arrow = ({"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 0,
                      "shrinkB": r} if ring else None)
            ann = ax.annotate(text, (x, y), xytext=off, textcoords="offset points", ha=ha,
                              va=va, fontsize=fontsize, arrowprops=arrow, zorder=5, **text_kw)
            # the text's own box (an annotation's extent would include its leader line),
            # once its offset is applied
            ann.update_positions(renderer)
            bb = Text.get_window_extent(ann, renderer).expanded(1.12, 1.15)
            if clear(bb) or (ring, gap, (dx, dy)) == tries[-1]:
                best = (ann, bb)  # the first free place (or, if none, the last try)
                break
            ann.remove()
        taken.append(best[1])
        out.append(best[0])
    return out


def _after_first_year(region: pd.DataFrame) -> pd.DataFrame:
    """The rows from the end of the first year on (all of them if the run is shorter)."""
    if "step" not in region or region["step"].max() <= FIRST_YEAR_STEPS:
        return region
    return region[region["step"] >= FIRST_YEAR_STEPS]


def _is_grid(names: Iterable[str]) -> bool:
    names = list(names)
    return bool(names) and all(_GRID_NAME.match(str(c)) for c in names)


def positions(geography: Any, names: Iterable[str] | None = None) -> tuple[dict, str]:
    """City positions and the kind of plot they call for.

    Parameters
    ----------
    geography : str, Geography, mapping or None
        ``"yrd"``, ``"peers"``, a grid name such as ``"grid 10x10"``, a
        :class:`model.geography.Geography`, a mapping ``{city: (x, y)}``, or None (infer
        from the city names: ``c<col>_<row>`` names are a grid, otherwise the YRD or the
        peers map, whichever holds them all).
    names : iterable of str, optional
        City names to place (needed for grids given by name and for inference).

    Returns
    -------
    (dict, str)
        ``{city: (x, y)}`` and ``"map"`` (x = longitude, y = latitude in degrees) or
        ``"grid"`` (x = column, y = row, in cells).
    """
    names = [str(c) for c in names] if names is not None else None
    if isinstance(geography, Mapping):
        return {str(k): (float(v[0]), float(v[1])) for k, v in geography.items()}, "map"
    if geography is not None and not isinstance(geography, str):  # a Geography
        if getattr(geography, "grid_shape", None) is not None:
            return _grid_positions(geography.cities), "grid"
        return ({c: (float(geography.x[i]), float(geography.y[i]))
                 for i, c in enumerate(geography.cities)}, "map")
    kind = (geography or "").split(" ")[0].lower()
    if kind == "grid" or (not kind and names is not None and _is_grid(names)):
        if names is None:
            raise ValueError("a grid geography given by name needs the city names")
        return _grid_positions(names), "grid"
    from model.geography import peers, yrd

    if kind in ("yrd", "peers"):
        return positions(yrd() if kind == "yrd" else peers())
    for build in (yrd, peers):
        geo = build()
        if names is not None and set(names) <= set(geo.cities):
            return positions(geo)
    raise ValueError(f"cannot place cities of geography {geography!r}; give 'yrd', 'peers', "
                     "'grid WxH', a Geography or a {city: (x, y)} mapping")


def _grid_positions(names: Iterable[str]) -> dict:
    out = {}
    for c in names:
        m = _GRID_NAME.match(str(c))
        if m is None:
            raise ValueError(f"grid city name {c!r} is not of the form c<column>_<row>")
        out[str(c)] = (float(m.group(1)), float(m.group(2)))
    return out


def _steps_for_years(cities: pd.DataFrame, years: Sequence[float] | None) -> list[int]:
    """The steps whose year is nearest to each requested year (in order, no repeats)."""
    steps = cities[["step", "year"]].drop_duplicates("step").sort_values("step")
    if years is None:
        years = evenly_spaced_years(cities)
    out = []
    for y in years:
        k = int(steps["step"].iloc[int(np.argmin(np.abs(steps["year"].to_numpy() - float(y))))])
        if k not in out:
            out.append(k)
    return out


def evenly_spaced_years(cities: pd.DataFrame, n: int = 4) -> list[float]:
    """``n`` evenly spaced years of the run, the last being the final step's year."""
    steps = np.sort(cities["step"].unique())
    picks = np.unique(np.round(np.linspace(0, len(steps) - 1, n + 1)[1:]).astype(int))
    year = cities.drop_duplicates("step").set_index("step")["year"]
    return [float(year[steps[i]]) for i in picks]


def when_label(year: float, step: int) -> str:
    """When a step is, for a panel title.

    Examples: 2022.0 at step 84 -> 'end of 2021 (step 84)'; 2011.25 at step 41 ->
    'year 2011.25 (step 41)'; 2001.0 at step 0 -> 'start of 2001 (step 0)'.
    """
    if step > 0 and float(year).is_integer():
        return f"end of {int(year) - 1} (step {step})"
    if float(year).is_integer():
        return f"start of {int(year)} (step {step})"
    return f"year {round(year, 2):g} (step {step})"


def _map_aspect(ax: Any, ys: np.ndarray) -> None:
    """Equal-distance aspect for a longitude/latitude plot."""
    ax.set_aspect(1.0 / max(np.cos(np.radians(float(np.mean(ys)))), 0.1))


def tier_legend(fig_or_ax: Any, **kw: Any) -> None:
    """A legend of the four tier colours on a figure or axes."""
    handles = [Patch(facecolor=TIER_COLOURS[t], edgecolor="black", label=f"tier {t}")
               for t in (1, 2, 3, 4)]
    fig_or_ax.legend(handles=handles, **kw)


# --------------------------------------------------------------------------- tier maps
def tier_map_small_multiples(cities: pd.DataFrame, geography: Any, years: Sequence[float] | None,
                             path: str | Path, label_top: int = 8) -> Path:
    """Cities coloured by tier at chosen years, one small panel per year.

    Parameters
    ----------
    cities : DataFrame
        The cities table (columns ``step, year, city, index, tier, rank``).
    geography : str, Geography, mapping or None
        See :func:`positions`. Maps place cities at longitude/latitude (marker area grows
        with the index; the ``label_top`` cities by rank are named); grids are drawn as
        a heatmap of tiers by cell.
    years : sequence of float or None
        Years to show (the nearest step is used); None: four evenly spaced years ending
        at the last step.
    path : str or Path
        PNG file to write.
    label_top : int
        How many top-ranked cities to name on maps.

    Returns
    -------
    Path
    """
    steps = _steps_for_years(cities, years)
    names = cities.loc[cities["step"] == steps[0], "city"].astype(str)
    pos, kind = positions(geography, names)
    n = len(steps)
    ncols = min(n, 4 if kind == "grid" else 2)
    nrows = int(np.ceil(n / ncols))
    # at least 6 inches wide, so the title and the four-entry legend fit one panel too
    size = ((max(3.4 * ncols, 6.0), 3.4 * nrows + 0.8) if kind == "grid"
            else (max(4.3 * ncols, 6.0), 4.9 * nrows + 0.8))
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, step in zip(axes.ravel(), steps, strict=False):
        snap = cities[cities["step"] == step]
        tier_map_panel(ax, snap, pos, kind, label_top)
        ax.set_title(when_label(float(snap["year"].iloc[0]), step))
    tier_legend(fig, loc="lower center", ncol=4, frameon=False, fontsize=9)
    what = ("marker area ~ innovation index; top cities by rank named" if kind == "map"
            else "one cell per city")
    title = "Innovation tiers" + (" over time" if n > 1 else "")
    fig.suptitle(textwrap.fill(f"{title} ({what})", width=int(size[0] * 9)))
    fig.tight_layout(rect=(0, 0.45 / size[1], 1, 1 - 0.5 / size[1]))  # legend, suptitle
    flush_labels(fig)
    fig.savefig(Path(path), dpi=_DPI)
    plt.close(fig)
    return Path(path)


def tier_map_panel(ax: Any, snap: pd.DataFrame, pos: dict, kind: str,
                   label_top: int = 8) -> None:
    """Draw one tier map on ``ax``: a heatmap for grids, real positions for maps.

    ``snap`` holds one step's ``city, tier, index, rank`` (rank 1 = first); ``pos`` and
    ``kind`` come from :func:`positions`. Used by the figures and by the dashboard.
    """
    if kind == "grid":
        _grid_panel(ax, snap, pos)
    else:
        _map_panel(ax, snap, pos, label_top)


def _pad_limits(ax: Any, xs: np.ndarray, ys: np.ndarray, frac: float, extra: float) -> None:
    pad_x = frac * (xs.max() - xs.min()) + extra
    pad_y = frac * (ys.max() - ys.min()) + extra
    ax.set_xlim(xs.min() - pad_x, xs.max() + pad_x)
    ax.set_ylim(ys.min() - pad_y, ys.max() + pad_y)


def _grid_panel(ax: Any, snap: pd.DataFrame, pos: dict) -> None:
    xy = np.array([pos[str(c)] for c in snap["city"]], dtype=int)
    w, h = xy[:, 0].max() + 1, xy[:, 1].max() + 1
    z = np.full((h, w), np.nan)
    z[xy[:, 1], xy[:, 0]] = snap["tier"].to_numpy(float)
    cmap = ListedColormap([TIER_COLOURS[t] for t in (1, 2, 3, 4)]).with_extremes(bad="white")
    ax.imshow(z, origin="lower", cmap=cmap, norm=BoundaryNorm([0.5, 1.5, 2.5, 3.5, 4.5], 4),
              interpolation="nearest")
    for x, y in xy[snap["tier"].to_numpy() == 1]:  # tier 1 also marked by text
        ax.text(x, y, "1", ha="center", va="center", fontsize=7, color="white")
    ax.set_xlabel("grid column (cell)")
    ax.set_ylabel("grid row (cell)")
    ax.set_xticks(range(0, w, max(1, w // 5)))
    ax.set_yticks(range(0, h, max(1, h // 5)))


def _map_panel(ax: Any, snap: pd.DataFrame, pos: dict, label_top: int) -> None:
    snap = snap[snap["city"].astype(str).isin(pos)]
    xs = np.array([pos[str(c)][0] for c in snap["city"]])
    ys = np.array([pos[str(c)][1] for c in snap["city"]])
    idx = snap["index"].to_numpy(float)
    top = float(np.nanmax(idx)) if len(idx) and np.nanmax(idx) > 0 else 1.0
    size = 15 + 260 * np.sqrt(np.clip(idx, 0.0, None) / top)
    tiers = snap["tier"].to_numpy()
    for t in (4, 3, 2, 1):
        sel = tiers == t
        ax.scatter(xs[sel], ys[sel], s=size[sel], c=TIER_COLOURS[t], edgecolors="black",
                   linewidths=0.5, zorder=3)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    _pad_limits(ax, xs, ys, 0.06, 0.2)
    _map_aspect(ax, ys)
    ax.grid(True, lw=0.3, alpha=0.5)
    named = snap.nsmallest(label_top, "rank")
    radius = {str(c): (s ** 0.5) / 2 for c, s in zip(snap["city"], size, strict=True)}
    defer_labels(ax, [pos[str(c)] for c in named["city"]], [str(c) for c in named["city"]],
                 [radius[str(c)] for c in named["city"]],
                 obstacles=[(*pos[str(c)], radius[str(c)]) for c in snap["city"]
                            if str(c) not in set(map(str, named["city"]))])


# --------------------------------------------------------------------------- time series
def _tier_count_lines(ax: Any, region: pd.DataFrame, lw: float) -> None:
    """The number of cities in each tier over time, as steps in the tiers' colours."""
    for t in (1, 2, 3, 4):
        ax.step(region["year"], region[f"tier_{t}"], where="post", color=TIER_COLOURS[t],
                lw=lw, label=f"tier {t}")


def tier_counts(region: pd.DataFrame, path: str | Path) -> Path:
    """Number of cities in tiers 1-4 over time (region table columns ``tier_1..tier_4``).

    From the end of the first year, as :func:`dispersion` (at step 0 every city is in tier 2
    by the rule, the index being 0 everywhere).
    """
    region = _after_first_year(region)
    fig, ax = plt.subplots(figsize=(7, 4))
    _tier_count_lines(ax, region, lw=2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("number of cities")
    ax.set_title("Cities per innovation tier (from the end of the first year)")
    ax.set_ylim(bottom=0)
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return _save(fig, path)


def index_trajectories(cities: pd.DataFrame, path: str | Path,
                       highlight: Sequence[str] | None = None, n_highlight: int = 5) -> Path:
    """Each city's innovation index over time on a log scale, with the tier bands shaded.

    The bands are the studies' tier rule relative to the regional mean ``m`` at each
    step: tier 1 above ``5m``, tier 2 ``m``-``5m``, tier 3 ``0.5m``-``m``, tier 4 below
    ``0.5m``. Values below a floor (``1e-3`` of the largest regional mean) are drawn at
    the floor, as the axis label says.

    Parameters
    ----------
    cities : DataFrame
        The cities table.
    path : str or Path
        PNG file to write.
    highlight : sequence of str, optional
        Cities to draw in colour and name; default the ``n_highlight`` top-ranked cities
        at the last step.
    n_highlight : int
        How many cities to highlight by default.
    """
    wide = cities.pivot_table(index="year", columns="city", values="index", aggfunc="first")
    wide = wide.sort_index()
    mean = wide.mean(axis=1)
    years = wide.index.to_numpy(float)
    peak = float(np.nanmax(wide.to_numpy())) if wide.size else 0.0
    floor = 1e-3 * float(mean.max()) if float(mean.max()) > 0 else 1e-3
    if highlight is None:
        last = cities[cities["step"] == cities["step"].max()]
        highlight = list(last.nsmallest(n_highlight, "rank")["city"].astype(str))
    highlight = [h for h in highlight if h in wide.columns]
    fig, ax = plt.subplots(figsize=(8, 5))
    m = np.clip(mean.to_numpy(float), floor, None)
    top = max(peak, 5 * float(m.max()), floor * 10) * 2.0
    bands = [(5 * m, np.full_like(m, top), 1), (m, 5 * m, 2), (0.5 * m, m, 3),
             (np.full_like(m, floor), 0.5 * m, 4)]
    for lo, hi, t in bands:
        ax.fill_between(years, np.clip(lo, floor, None), np.clip(hi, floor, None),
                        color=TIER_COLOURS[t], alpha=0.18, lw=0, label=f"tier {t} band")
    clipped = wide.clip(lower=floor)
    others = [c for c in wide.columns if c not in highlight]
    if others:
        ax.plot(years, clipped[others].to_numpy(), color="#555555", lw=0.5, alpha=0.4)
    palette = [_BLUE, _VERMILLION, _GREEN, _PINK, _SKY, _ORANGE]
    for k, c in enumerate(highlight):
        ax.plot(years, clipped[c].to_numpy(), color=palette[k % len(palette)], lw=2, label=c)
    ax.plot(years, m, color="black", lw=1.2, ls="--", label="regional mean")
    ax.set_yscale("log")
    ax.set_ylim(floor, top)
    ax.set_xlim(years.min(), years.max())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel(f"innovation index (MU, log scale;\nvalues < {floor:.3g} drawn at {floor:.3g})")
    ax.set_title("Innovation index by city with tier bands (relative to the regional mean)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)


def dispersion(region: pd.DataFrame, path: str | Path) -> Path:
    """CV, Gini, Theil (between/within-province split) and Moran's I over time.

    Drawn from the end of the first year: at step 0 the index is 0 in every city (the
    trailing sums it is made of are empty), so the measures jump from 0 in the first
    quarters, which says nothing about the region.
    """
    first = region["step"].max() > FIRST_YEAR_STEPS
    region = _after_first_year(region)
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True)
    x = region["year"].to_numpy(float)
    a = axes.ravel()
    a[0].plot(x, region["cv"], color=_BLUE, lw=1.8)
    a[0].set_title("Coefficient of variation")
    a[0].set_ylabel("CV (sd / mean, unitless)")
    a[1].plot(x, region["gini"], color=_GREEN, lw=1.8)
    a[1].set_title("Gini coefficient")
    a[1].set_ylabel("Gini (0-1)")
    a[1].set_ylim(0, 1)
    between = region["theil_between"].to_numpy(float)
    within = region["theil_within"].to_numpy(float)
    a[2].stackplot(x, np.nan_to_num(between), np.nan_to_num(within), colors=[_ORANGE, _SKY],
                   labels=["between provinces", "within provinces"], alpha=0.8)
    a[2].plot(x, region["theil"], color=_BLACK, lw=1.2, label="Theil T (total)")
    a[2].set_title("Theil index and its provincial split")
    a[2].set_ylabel("Theil T (unitless)")
    a[2].set_ylim(0, 1.5 * max(float(np.nanmax(region["theil"].to_numpy(float))), 1e-9))
    a[2].legend(loc="upper left", fontsize=8, ncol=2)
    a[3].plot(x, region["morans_i"], color=_PINK, lw=1.8)
    a[3].axhline(0, color="grey", lw=0.8)
    a[3].set_title("Global Moran's I of the index")
    a[3].set_ylabel("Moran's I (unitless)")
    for ax in a:
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in a[2:]:
        ax.set_xlabel("year")
    fig.suptitle("Dispersion and spatial autocorrelation of the innovation index"
                 + (" (from the end of the first year)" if first else ""))
    return _save(fig, path)


# --------------------------------------------------------------------------- flows
def flow_map(flows: pd.DataFrame, geography_or_positions: Any, path: str | Path,
             kind: str = "talent", top: int = 40) -> Path:
    """The largest accumulated flows between cities as lines whose width grows with the flow.

    Parameters
    ----------
    flows : DataFrame
        City-by-city matrix from ``flows/<kind>.csv``: row = from, column = to.
    geography_or_positions : str, Geography, mapping or None
        See :func:`positions`.
    path : str or Path
        PNG file to write.
    kind : str
        ``"talent"``, ``"capital"``, ``"knowledge"`` or ``"collaboration"`` (sets the unit).
    top : int
        Number of largest off-diagonal flows drawn.
    """
    mat = flows.copy()
    mat.index = mat.index.astype(str)
    mat.columns = mat.columns.astype(str)
    names = list(dict.fromkeys([*mat.index, *mat.columns]))
    pos, where = positions(geography_or_positions, names)
    unit = FLOW_UNITS.get(kind, "units")
    long = mat.stack().rename("value").reset_index()
    long.columns = ["src", "dst", "value"]
    long = long[(long["src"] != long["dst"]) & (long["value"] > 0)
                & long["src"].isin(pos) & long["dst"].isin(pos)]
    long = long.nlargest(top, "value")
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    xs = np.array([pos[c][0] for c in names if c in pos])
    ys = np.array([pos[c][1] for c in names if c in pos])
    ax.scatter(xs, ys, s=14, color="#777777", zorder=3)
    if long.empty:
        ax.text(0.5, 0.5, f"no {kind} flows", transform=ax.transAxes, ha="center")
        vmax = 1.0
    else:
        vmax = float(long["value"].max())
        cmap = plt.get_cmap("viridis")
        for r in long.sort_values("value").itertuples():
            share = r.value / vmax
            (x0, y0), (x1, y1) = pos[r.src], pos[r.dst]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": cmap(0.9 * (1 - share)),
                                    "lw": 0.5 + 5.5 * share, "alpha": 0.75,
                                    "shrinkA": 4, "shrinkB": 4, "mutation_scale": 8 + 6 * share,
                                    "connectionstyle": "arc3,rad=0.15"})
        involved = pd.concat([long.groupby("src")["value"].sum(),
                              long.groupby("dst")["value"].sum()]).groupby(level=0).sum()
        named = list(involved.nlargest(10).index)
        defer_labels(ax, [pos[c] for c in named], named, [3.0] * len(named),
                     obstacles=[(*pos[c], 2.0) for c in pos if c not in named],
                     weight="bold")
        refs = [vmax, vmax / 2, vmax / 4]
        handles = [Line2D([0], [0], color=cmap(0.9 * (1 - v / vmax)), lw=0.5 + 5.5 * v / vmax,
                          label=f"{v:,.0f}" if v >= 100 else f"{v:.3g}") for v in refs]
        ax.legend(handles=handles, title=unit, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False, fontsize=8, title_fontsize=8)
    if where == "map":
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        _map_aspect(ax, ys)
    else:
        ax.set_xlabel("grid column (cell)")
        ax.set_ylabel("grid row (cell)")
        ax.set_aspect("equal")
    _pad_limits(ax, xs, ys, 0.05, 0.3)
    ax.grid(True, lw=0.3, alpha=0.4)
    ax.set_title(f"Largest {len(long)} accumulated {kind} flows\n({unit}; arrow = from → to)",
                 fontsize=10)
    return _save(fig, path)


# --------------------------------------------------------------------------- experiments
def comparison(summary: pd.DataFrame, path: str | Path,
               measures: Sequence[str] | None = None) -> Path:
    """Scenario differences (other - base) with 95% intervals, one panel per measure.

    Parameters
    ----------
    summary : DataFrame
        A ``compare.csv`` table (``comparison, measure, diff, ci_low, ci_high,
        beyond_noise``). Filled markers: the interval excludes 0; open: it does not.
    path : str or Path
        PNG file to write.
    measures : sequence of str, optional
        Measures to show; default all in the table, in order.
    """
    if measures is None:
        measures = list(dict.fromkeys(summary["measure"]))
    measures = [m for m in measures if (summary["measure"] == m).any()]
    if not measures:
        raise ValueError("the comparison table has no measures to plot")
    comps = list(dict.fromkeys(summary["comparison"].astype(str)))
    ncols = min(3, len(measures))
    nrows = int(np.ceil(len(measures) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 0.9 + (0.9 + 0.35 * len(comps))
                                                    * nrows), squeeze=False, sharey=True)
    for ax in axes.ravel()[len(measures):]:
        ax.set_visible(False)
    palette = [_BLUE, _VERMILLION, _GREEN, _PINK, _ORANGE, _SKY, _BLACK]
    y = np.arange(len(comps))
    for ax, m in zip(axes.ravel(), measures, strict=False):
        s = summary[summary["measure"] == m].copy()
        s["comparison"] = s["comparison"].astype(str)
        s = s.set_index("comparison").reindex(comps)
        for k, (yy, c) in enumerate(zip(y, comps, strict=True)):
            r = s.loc[c]
            d, lo, hi = float(r["diff"]), float(r["ci_low"]), float(r["ci_high"])
            if not np.isfinite(d):
                continue
            err = [[max(d - lo, 0.0)], [max(hi - d, 0.0)]] if np.isfinite(lo + hi) else None
            beyond = str(r.get("beyond_noise", "")).lower() == "true"
            col = palette[k % len(palette)]
            ax.errorbar(d, yy, xerr=err, fmt="o", color=col, capsize=3,
                        mfc=col if beyond else "white", ms=6)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(measure_title(m), fontsize=8.5)
        ax.set_yticks(y, comps)
        ax.set_ylim(len(comps) - 0.5, -0.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.grid(True, axis="x", lw=0.3, alpha=0.5)
    fig.supxlabel("difference, other − base (in each measure's own unit)", fontsize=10)
    fig.suptitle("Difference from the base scenario: mean over paired seeds with 95% interval\n"
                 "(filled marker: interval excludes 0)", fontsize=11)
    return _save(fig, path)


#: Measures where a lower value is the better outcome for the cities concerned.
LOWER_IS_BETTER = {"target_rank": "lower rank = better"}


def measure_title(measure: str, width: int = 38) -> str:
    """A panel title: the measure's description (wrapped), its name, and which way is better.

    Example: 'target_rank' -> 'mean rank (1 = first) of the targeted / cities at the end /
    [target_rank; lower rank = better]' (three lines).
    """
    from model.observe import SCENARIO_MEASURES

    desc = SCENARIO_MEASURES.get(measure, measure)
    tag = "; ".join(x for x in (measure, LOWER_IS_BETTER.get(measure)) if x)
    return textwrap.fill(desc, width) + f"\n[{tag}]"


def sensitivity_indices(indices: pd.DataFrame, path: str | Path) -> Path:
    """Chart an ``indices.csv`` of ``innogrid sensitivity``.

    Morris tables go to :func:`experiments.analysis.sensitivity_indices.plot_morris`, Sobol' and
    PAWN tables to :func:`experiments.analysis.sensitivity_indices.plot_indices`.
    """
    from experiments.analysis.sensitivity_indices import plot_indices, plot_morris

    if (indices["method"] == "morris").any():
        plot_morris(indices, path)
    else:
        plot_indices(indices, path)
    return Path(path)


#: At most this many design points are drawn in a sweep's series figure (the first ones).
SERIES_MAX_POINTS = 8


def sweep_series(series: pd.DataFrame, path: str | Path,
                 max_points: int = SERIES_MAX_POINTS,
                 measures: Sequence[str] | None = None) -> Path:
    """Per-step series of a sweep by design point: the median over replicates and a band.

    ``series`` is :func:`experiments.running.sweep.load_series`'s long table (``scenario,
    point, replicate, step, measure, value``). One panel per measure; in it one line per
    (scenario, point), at most ``max_points`` of them (the first in the design's order),
    each the median over the point's replicate seeds with the band from the lowest to the
    highest replicate (with one replicate, the line alone). Viridis colours by point.
    ``measures``: the panels' order (default: as they come in ``series``).
    """
    measures = [m for m in (measures or dict.fromkeys(series["measure"]))
                if (series["measure"] == m).any()]
    if not measures:
        raise ValueError("no series to draw")
    keys = list(dict.fromkeys(zip(series["scenario"], series["point"], strict=True)))
    shown = keys[:max_points]
    ncols = min(len(measures), 2)
    nrows = -(-len(measures) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 3.8 * nrows), squeeze=False)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(shown), 1)))
    several = len({k[0] for k in keys}) > 1
    for ax, measure in zip(axes.ravel(), measures, strict=False):
        sub = series[series["measure"] == measure]
        for colour, (scen, point) in zip(colours, shown, strict=False):
            one = sub[(sub["scenario"] == scen) & (sub["point"] == point)]
            g = one.groupby("step")["value"]
            stats = pd.DataFrame({"median": g.median(), "low": g.min(), "high": g.max()})
            label = f"{scen} point {point}" if several else f"point {point}"
            ax.plot(stats.index, stats["median"], color=colour, lw=1.6, label=label)
            if one["replicate"].nunique() > 1:
                ax.fill_between(stats.index, stats["low"], stats["high"], color=colour,
                                alpha=0.18, lw=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step (quarter)")
        ax.set_ylabel(measure)
        ax.set_title(f"{measure} (region.csv)", fontsize=10)
        ax.grid(True, lw=0.3, alpha=0.5)
    for ax in axes.ravel()[len(measures):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, loc="best", ncol=2 if len(shown) > 4 else 1)
    more = f" (the first {len(shown)} of {len(keys)} points)" if len(keys) > len(shown) else ""
    fig.suptitle(f"Series by design point: median over replicates, band lowest to highest{more}",
                 fontsize=10)
    return _save(fig, path)


# --------------------------------------------------------------------------- bundles
def run_figures(cities: pd.DataFrame, region: pd.DataFrame,
                flows: Mapping[str, pd.DataFrame], geography: Any,
                directory: str | Path) -> dict[str, Path]:
    """All figures of one run into ``directory``; returns ``{name: path}`` in display order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = {
        "tier_maps": tier_map_small_multiples(cities, geography, None,
                                              directory / "tier_maps.png"),
        "tier_counts": tier_counts(region, directory / "tier_counts.png"),
        "index_trajectories": index_trajectories(cities, directory / "index_trajectories.png"),
        "dispersion": dispersion(region, directory / "dispersion.png"),
    }
    for kind in ("talent", "capital", "knowledge"):
        if kind in flows:
            out[f"flow_{kind}"] = flow_map(flows[kind], geography, directory / f"flow_{kind}.png",
                                           kind=kind)
    return out


def baseline_figures(out: Any, directory: Path) -> list[Path]:
    """Tier map at the final step, tier counts over time, dispersion over time.

    Parameters
    ----------
    out : experiments.running.run.Outcomes
        A run's outcomes (``cities``, ``region``, ``metadata``).
    directory : Path
        Written: ``tiers_map.png``, ``tiers_and_dispersion.png``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cities, region = out.cities, out.region
    last_year = float(cities.loc[cities["step"] == cities["step"].max(), "year"].iloc[0])
    geo = out.metadata.get("geography") or None
    paths = [tier_map_small_multiples(cities, geo, [last_year], directory / "tiers_map.png")]
    first = region["step"].max() > FIRST_YEAR_STEPS
    region = _after_first_year(region)  # at step 0 the index is 0 everywhere
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    x = region["year"].to_numpy(float)
    _tier_count_lines(axes[0], region, lw=1.8)
    axes[0].set_ylabel("number of cities")
    axes[0].set_title("Cities per innovation tier")
    axes[0].set_ylim(bottom=0)
    axes[0].legend(fontsize=8, ncol=2)
    for col, colour, label in (("cv", _BLUE, "coefficient of variation (sd / mean)"),
                               ("gini", _GREEN, "Gini coefficient (0-1)"),
                               ("theil", _PINK, "Theil T")):
        axes[1].plot(x, region[col], color=colour, lw=1.8, label=label)
    axes[1].set_ylabel("inequality of the index (unitless)")
    axes[1].set_title("Inequality between cities")
    axes[1].set_ylim(bottom=0)
    axes[1].legend(fontsize=8)
    axes[2].plot(x, region["morans_i"], color=_BLACK, lw=1.8)
    axes[2].axhline(0, color="grey", lw=0.8)
    axes[2].set_ylabel("Moran's I (unitless; 0 = no spatial pattern)")
    axes[2].set_title("Spatial clustering (global Moran's I)")
    for ax in axes:
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, lw=0.3, alpha=0.5)
    if first:
        fig.suptitle("From the end of the first year (at the start the index is 0 everywhere)",
                     fontsize=10)
    paths.append(_save(fig, directory / "tiers_and_dispersion.png"))
    return paths


def posterior_marginals(particles: pd.DataFrame, record: Mapping[str, Any],
                        path: str | Path) -> Path:
    """One panel per inferred parameter: the weighted posterior histogram over its prior range.

    The prior (flat on its range, in log units for a log-uniform prior) is the dashed
    line; each title gives the parameter's contraction (1 - posterior var / prior var).
    """
    pars = record["parameters"]
    n = len(pars)
    cols = 4
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    w = particles["weight"].to_numpy(dtype=float)
    for ax, (k, v) in zip(axes.flat, pars.items(), strict=False):
        p = v["prior"]
        log = p["dist"] == "loguniform"
        x = particles[k].to_numpy(dtype=float)
        lo, hi = p["lo"], p["hi"]
        if log:
            x, lo, hi = np.log10(x), np.log10(lo), np.log10(hi)
        bins = np.linspace(lo, hi, 21)
        ax.hist(x, bins=bins, weights=w, density=True, color=_BLUE, alpha=0.8)
        ax.axhline(1.0 / (hi - lo), color="0.3", ls="--", lw=1)
        ax.set_title(f"{k}\ncontraction {v['contraction']:.2f}", fontsize=8)
        from model.params import Params

        unit = Params.__dataclass_fields__[k].metadata["unit"]
        ax.set_xlabel(f"log10 of {unit}" if log else unit, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Posterior (bars) against the prior (dashed) of each inferred parameter",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save(fig, path)


def posterior_predictive(record: Mapping[str, Any], null: Mapping[str, float],
                         path: str | Path) -> Path:
    """Each pattern: the fact, the posterior predictive median and 5-95% range, the null.

    Fitted and held-out statistics are marked; values are in units of the statistic's
    scale around the fact (0 = the fact; the shaded band is +/- one scale).
    """
    stats = {k: v for k, v in record["statistics"].items() if v["role"] in ("fit", "held_out")}
    names = list(stats)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(names) + 1.4))
    ax.axvspan(-1, 1, color="0.9", zorder=0)
    ax.axvline(0, color="0.3", lw=1)
    for i, k in enumerate(names):
        v = stats[k]
        o, s = v["observed"], v["scale"]
        z = [(q - o) / s if q is not None else np.nan for q in (v["q05"], v["median"], v["q95"])]
        color = _BLUE if v["role"] == "fit" else _ORANGE
        ax.plot([z[0], z[2]], [i, i], color=color, lw=3, alpha=0.6)
        ax.plot(z[1], i, "o", color=color)
        if k in null and np.isfinite(null[k]):
            ax.plot((null[k] - o) / s, i, "kx", ms=7)
    ax.set_yticks(range(len(names)),
                  [f"{k} ({'fitted' if stats[k]['role'] == 'fit' else 'held out'})"
                   for k in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("(value - fact) / scale   (shaded: within one scale of the fact)")
    ax.legend(handles=[Line2D([], [], color=_BLUE, lw=3, label="fitted: 5-95% and median"),
                       Line2D([], [], color=_ORANGE, lw=3,
                              label="held out: 5-95% and median"),
                       Line2D([], [], color="k", marker="x", ls="", label="persistence null")],
              fontsize=7, loc="lower right")
    ax.set_title("Posterior predictive of every pattern against the facts", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
