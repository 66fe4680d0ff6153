"""Cities on a synthetic grid or a real map: positions, provinces, distances, corridors.

A :class:`Geography` is plain data (arrays, one entry per city). Two builders:

* :func:`grid` — a ``width x height`` lattice (5x5 to 32x32) split into rectangular
  provinces, with configurable cores around which population and output concentrate.
* :func:`yrd` — the 41 cities of the Yangtze River Delta shipped in
  ``model/data/yrd_cities.csv`` (sources in ``model/data/README.md``), with great-circle
  distances in km.
* :func:`peers` — Chengdu and Shenzhen with ten peer cities (``peer_cities.csv``), for the
  catch-up scenarios.

:func:`build_space` turns a geography into a ``mesa.discrete_space`` space whose cells
are the cities (an ``OrthogonalMooreGrid`` for grids, a ``Network`` for real maps).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

import numpy as np

from model.params import SECTORS, unknown_key

__all__ = ["Geography", "GeographyError", "grid", "yrd", "peers", "haversine_km", "build_space",
           "load", "RESEARCH_COLUMNS"]

#: Columns of the research endowment (``model/data/research_2001.csv``), in the order of
#: ``Params.research_weights``.
RESEARCH_COLUMNS: tuple[str, ...] = ("universities", "key_universities", "cas_institutes",
                                     "national_key_labs", "large_facilities")

EARTH_RADIUS_KM = 6371.0088


class GeographyError(ValueError):
    """Bad geography settings (key, value, allowed)."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class Geography:
    """Static description of the cities.

    Attributes
    ----------
    name : str
        ``"yrd"`` or ``"grid WxH"``.
    cities : tuple of str, shape (N,)
        Unique city names.
    provinces : tuple of str
        Province names; ``province`` indexes into it.
    province : ndarray of int, shape (N,)
    x, y : ndarray of float, shape (N,)
        Positions: longitude/latitude in degrees (real maps) or km (grids).
    dist_km : ndarray of float, shape (N, N)
        Distances in km, zero diagonal, symmetric.
    population : ndarray of float, shape (N,)
        Resident population at the start, 10,000 people.
    gdp : ndarray of float, shape (N,)
        Output at the start, 100 million CNY per year.
    industry : ndarray of int, shape (N,)
        Index into :data:`model.params.SECTORS`.
    corridor : ndarray of bool, shape (N,)
        Member of the science-and-technology corridor (G60 for the YRD).
    amenity : ndarray of float, shape (N,)
        Amenity in [0, 1] (assumption: uniform 0.5 for the YRD; random on grids).
    research : ndarray of float, shape (N, 5)
        Research endowment at the start, columns :data:`RESEARCH_COLUMNS` (universities,
        key universities, CAS institutes, state key laboratories, large facilities):
        ``model/data/research_2001.csv`` for real maps, synthetic on grids. An input of its
        own, not proportional to output.
    grid_shape : tuple of int or None
        ``(width, height)`` for grids; cell ``i`` is at ``(i // height, i % height)``.
    capital : ndarray of bool, shape (N,), or None
        The seat of its province's government in 2001 (a provincial capital, or a
        province-level municipality, which is its own province): the column
        ``provincial_capital`` of the data files; None (no capitals) on grids.
    """

    name: str
    cities: tuple[str, ...]
    provinces: tuple[str, ...]
    province: np.ndarray
    x: np.ndarray
    y: np.ndarray
    dist_km: np.ndarray
    population: np.ndarray
    gdp: np.ndarray
    industry: np.ndarray
    corridor: np.ndarray
    amenity: np.ndarray
    research: np.ndarray
    grid_shape: tuple[int, int] | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    capital: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of cities."""
        return len(self.cities)

    @cached_property
    def capital_of(self) -> np.ndarray:
        """Index of the capital of each city's province, shape (N,) int.

        Computed once (``grow`` reads it every quarter). -1 for a capital itself and where
        the province has none among the cities.
        Example: provinces [0, 0, 1, 1], capitals [False, True, False, False] ->
        [1, -1, -1, -1].
        """
        out = np.full(self.n, -1, dtype=np.int64)
        if self.capital is None:
            return out
        for i in np.flatnonzero(self.capital):
            out[(self.province == self.province[i]) & ~self.capital] = i
        return out

    def index(self, city: str) -> int:
        """Index of a city by name; raises :class:`GeographyError` naming valid cities."""
        try:
            return self.cities.index(city)
        except ValueError:
            raise GeographyError("city", city, f"one of {', '.join(self.cities)}") from None


def haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance matrix in km.

    Parameters
    ----------
    lat, lon : ndarray, shape (N,)
        Degrees.

    Returns
    -------
    ndarray, shape (N, N)

    Examples
    --------
    Shanghai (31.23, 121.47) to Hangzhou (30.27, 120.16) is about 165 km.
    """
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def yrd() -> Geography:
    """The 41 cities of the Yangtze River Delta from the shipped data file."""
    return _from_rows("yrd", _read_rows("yrd_cities.csv"),
                      ("Shanghai", "Jiangsu", "Zhejiang", "Anhui"))


def peers() -> Geography:
    """Chengdu and Shenzhen with their peer cities (``model/data/peer_cities.csv``).

    Twelve large Chinese cities; ``extra`` holds the 2020 R&D intensity and the number of
    high-level open platforms where known (NaN otherwise) — facts to compare outputs
    with, never model inputs.
    """
    rows = _read_rows("peer_cities.csv")
    geo = _from_rows("peers", rows, None)
    geo.extra["rd_intensity_2020"] = np.array([float(r["rd_intensity_2020"]) for r in rows])
    geo.extra["open_platforms"] = np.array([float(r["open_platforms"]) if r["open_platforms"]
                                            else np.nan for r in rows])
    return geo


def _read_rows(file: str) -> list[dict[str, str]]:
    text = resources.files("model.data").joinpath(file).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _research(cities: tuple[str, ...]) -> np.ndarray:
    """The research endowment of ``cities`` from ``research_2001.csv``, shape (N, 5)."""
    rows = {r["city"]: r for r in _read_rows("research_2001.csv")}
    missing = [c for c in cities if c not in rows]
    if missing:
        raise GeographyError("research_2001.csv", missing, "a row for every city of the map")
    return np.array([[float(rows[c][k]) for k in RESEARCH_COLUMNS] for c in cities])


def _from_rows(name: str, rows: list[dict[str, str]],
               provinces: tuple[str, ...] | None) -> Geography:
    if provinces is None:
        provinces = tuple(dict.fromkeys(r["province"] for r in rows))
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    capital = np.array([r["provincial_capital"] == "1" for r in rows])
    province = np.array([provinces.index(r["province"]) for r in rows])
    for p in np.unique(province[capital]):
        if (capital & (province == p)).sum() > 1:
            raise GeographyError("provincial_capital",
                                 [c["city"] for c, k, q in zip(rows, capital, province,
                                                               strict=True) if k and q == p],
                                 f"at most one capital in {provinces[p]}")
    return Geography(
        name=name,
        cities=tuple(r["city"] for r in rows),
        provinces=provinces,
        province=province,
        x=lon,
        y=lat,
        dist_km=haversine_km(lat, lon),
        population=np.array([float(r["pop_2000_10k"]) for r in rows]),
        gdp=np.array([float(r["gdp_2001_100m_cny"]) for r in rows]),
        industry=np.array([SECTORS.index(r["industry_type"]) for r in rows]),
        corridor=np.array([r["g60"] == "1" for r in rows]),
        amenity=np.full(len(rows), 0.5),
        research=_research(tuple(r["city"] for r in rows)),
        capital=capital,
        extra={
            "gdp_2021": np.array([float(r["gdp_2021_100m_cny"]) for r in rows]),
            "population_2021": np.array([float(r["pop_2021_10k"]) for r in rows]),
        },
    )


def grid(
    width: int = 10,
    height: int = 10,
    cores: list[tuple[int, int]] | None = None,
    province_blocks: tuple[int, int] = (2, 2),
    cell_km: float = 50.0,
    core_radius_cells: float = 2.0,
    corridor_cells: list[tuple[int, int]] | None = None,
    rng: np.random.Generator | None = None,
) -> Geography:
    """A synthetic lattice of cities.

    Parameters
    ----------
    width, height : int
        5 to 32 each.
    cores : list of (x, y)
        Cells around which population and output concentrate; default: the centre.
    province_blocks : (bx, by)
        The grid is split into ``bx * by`` rectangular provinces.
    cell_km : float
        Distance between neighbouring cell centres.
    core_radius_cells : float
        e-folding radius of the population around a core, in cells.
    corridor_cells : list of (x, y)
        Cells on the corridor; default: none.
    rng : numpy Generator
        For amenity and the noise in population; the model's own generator.

    Returns
    -------
    Geography
        Population of a cell: ``20 + 600 * max_core exp(-d/core_radius)`` (x lognormal(0, 0.3)),
        GDP proportional to population times the same core profile (richer cores).
    """
    for key, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or not 5 <= v <= 32:
            raise GeographyError(f"geography.{key}", v, "an integer in [5, 32]")
    bx, by = province_blocks
    if not (1 <= bx <= width and 1 <= by <= height):
        raise GeographyError("geography.province_blocks", list(province_blocks),
                             f"two integers in [1, {width}] and [1, {height}]")
    if rng is None:
        rng = np.random.default_rng(0)
    cores = cores if cores is not None else [(width // 2, height // 2)]
    for c in cores:
        if not (0 <= c[0] < width and 0 <= c[1] < height):
            raise GeographyError("geography.cores", list(c),
                                 f"cells with x in [0, {width - 1}] and y in [0, {height - 1}]")
    ix, iy = np.divmod(np.arange(width * height), height)
    x, y = ix * cell_km, iy * cell_km
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    core_idx = [c[0] * height + c[1] for c in cores]
    profile = np.exp(-d[:, core_idx] / (core_radius_cells * cell_km)).max(axis=1)
    population = (20 + 600 * profile) * rng.lognormal(0.0, 0.3, size=width * height)
    gdp = population * (1.0 + 2.0 * profile) * 2.0
    province = (ix * bx // width) * by + (iy * by // height)
    industry = np.where(profile > 0.5, SECTORS.index("high_tech"),
                        np.where(profile > 0.25, SECTORS.index("service"),
                                 SECTORS.index("manufacturing")))
    research = _grid_research(population, profile, rng)
    corridor = np.zeros(width * height, dtype=bool)
    for c in corridor_cells or []:
        if not (0 <= c[0] < width and 0 <= c[1] < height):
            raise GeographyError("geography.corridor_cells", list(c), "cells inside the grid")
        corridor[c[0] * height + c[1]] = True
    return Geography(
        name=f"grid {width}x{height}",
        cities=tuple(f"c{i}_{j}" for i, j in zip(ix, iy, strict=True)),
        provinces=tuple(f"P{k}" for k in range(bx * by)),
        province=province,
        x=x.astype(float),
        y=y.astype(float),
        dist_km=d,
        population=population,
        gdp=gdp,
        industry=industry,
        corridor=corridor,
        amenity=rng.uniform(0.3, 0.7, size=width * height),
        research=research,
        grid_shape=(width, height),
    )


def _grid_research(population: np.ndarray, profile: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """A synthetic research endowment, shape (N, 5): related to size but not proportional.

    Universities ``~ Poisson(population / 100 * LogNormal(0, 0.7))``; key universities
    ``~ Binomial(universities, 0.4 * profile)``; institutes and key labs ``~ Poisson(2 *
    profile * LogNormal(0, 0.7))`` each; no large facilities. The log-normal factors make
    some small cities research-rich and some large ones research-poor, as in the YRD.
    """
    n = len(population)
    univ = rng.poisson(population / 100.0 * rng.lognormal(0.0, 0.7, n))
    key = rng.binomial(univ, 0.4 * profile)
    inst = rng.poisson(2.0 * profile * rng.lognormal(0.0, 0.7, n))
    labs = rng.poisson(2.0 * profile * rng.lognormal(0.0, 0.7, n))
    return np.column_stack([univ, key, inst, labs, np.zeros(n)]).astype(float)


def _int_pair(v: Any) -> bool:
    """A list of exactly two integers (booleans and floats are not integers here)."""
    return (isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v))


def load(spec: dict[str, Any], rng: np.random.Generator) -> Geography:
    """Build a geography from a scenario's ``[geography]`` table.

    ``{"kind": "yrd"}`` or ``{"kind": "grid", "width": 10, "height": 10, "cores": [[5, 5]],
    "province_blocks": [2, 2], "cell_km": 50.0, "core_radius_cells": 2.0,
    "corridor_cells": [[4, 5], [5, 5]]}``.
    """
    spec = dict(spec)
    kind = spec.pop("kind", "yrd")
    if kind in ("yrd", "peers"):
        if spec:
            raise GeographyError(f"geography.{next(iter(spec))}", spec[next(iter(spec))],
                                 f"the {kind} geography takes no other keys")
        return yrd() if kind == "yrd" else peers()
    if kind != "grid":
        raise GeographyError("geography.kind", kind, "'yrd', 'peers' or 'grid'")
    allowed = {"width", "height", "cores", "province_blocks", "cell_km", "core_radius_cells",
               "corridor_cells"}
    for k in spec:
        if k not in allowed:
            raise GeographyError(f"geography.{k}", spec[k], unknown_key(k, allowed))
    for k in ("cores", "corridor_cells"):
        if k in spec:
            cells = spec[k]
            if not (isinstance(cells, list) and all(_int_pair(c) for c in cells)
                    and (cells or k == "corridor_cells")):
                raise GeographyError(f"geography.{k}", cells,
                                     "a list of [x, y] integer pairs"
                                     + (" (at least one)" if k == "cores" else ""))
            spec[k] = [tuple(c) for c in cells]
    if "province_blocks" in spec:
        pb = spec["province_blocks"]
        if not _int_pair(pb):
            raise GeographyError("geography.province_blocks", pb, "two integers [bx, by]")
        spec["province_blocks"] = tuple(pb)
    for k, lo, hi in (("cell_km", 0.1, 1000.0), ("core_radius_cells", 0.1, 100.0)):
        v = spec.get(k)
        if k in spec and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                              and lo <= v <= hi):
            raise GeographyError(f"geography.{k}", v, f"a number in [{lo:g}, {hi:g}]")
    return grid(rng=rng, **spec)


def build_space(geo: Geography, random: Any) -> Any:
    """A ``mesa.discrete_space`` space whose cells are the cities, in city order.

    Grids become an ``OrthogonalMooreGrid``; real maps a ``Network`` linking each city to
    its four nearest neighbours, laid out at (longitude, latitude).

    Returns
    -------
    (space, cells) : the space and the list of its cells in city order.
    """
    from mesa.discrete_space import Network, OrthogonalMooreGrid

    if geo.grid_shape is not None:
        space = OrthogonalMooreGrid(geo.grid_shape, torus=False, random=random)
        w, h = geo.grid_shape
        cells = [space._cells[(i // h, i % h)] for i in range(w * h)]
        return space, cells
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(geo.n))
    order = np.argsort(geo.dist_km, axis=1)[:, 1:5]
    g.add_edges_from((i, int(j)) for i in range(geo.n) for j in order[i])
    layout = {i: (float(geo.x[i]), float(geo.y[i])) for i in range(geo.n)}
    space = Network(g, random=random, layout=layout)
    cells = [space._cells[i] for i in range(geo.n)]
    return space, cells
