"""Figures of the output contract: each writes a PNG, maps use real positions, grids cells."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from experiments.presentation import figures as F
from experiments.running.run import run

#: one test worker runs this whole file (its module fixtures are built once)
pytestmark = pytest.mark.xdist_group("figures")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def grid_out():
    return run("scenarios/grid_baseline.toml", seed=2, steps=8)


@pytest.fixture(scope="module")
def yrd_out():
    return run("scenarios/yrd_calibrated.toml", seed=1, steps=12)


@pytest.fixture
def captured(monkeypatch):
    """Keep the figures the functions close, to inspect what they drew."""
    figs = []
    close = plt.close
    monkeypatch.setattr(F.plt, "close", figs.append)
    yield figs
    for f in figs:
        close(f)


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > 5000


def test_every_run_figure_writes_a_png(grid_out, tmp_path):
    geo = grid_out.metadata["geography"]
    assert geo.startswith("grid")
    paths = [
        F.tier_map_small_multiples(grid_out.cities, geo, [2001.5, 2003.0], tmp_path / "map.png"),
        F.tier_counts(grid_out.region, tmp_path / "counts.png"),
        F.index_trajectories(grid_out.cities, tmp_path / "traj.png"),
        F.dispersion(grid_out.region, tmp_path / "disp.png"),
        *[F.flow_map(grid_out.flows[k], geo, tmp_path / f"flow_{k}.png", kind=k)
          for k in ("talent", "capital", "knowledge")],
    ]
    for p in paths:
        assert p.exists() and _is_png(p), p


def test_run_figures_bundle_on_the_yrd_map(yrd_out, tmp_path):
    bundle = F.run_figures(yrd_out.cities, yrd_out.region, yrd_out.flows, "yrd", tmp_path)
    assert list(bundle) == ["tier_maps", "tier_counts", "index_trajectories", "dispersion",
                            "flow_talent", "flow_capital", "flow_knowledge"]
    assert all(_is_png(p) and p.parent == tmp_path for p in bundle.values())


def test_yrd_tier_map_uses_longitude_and_latitude(yrd_out, tmp_path, captured):
    F.tier_map_small_multiples(yrd_out.cities, "yrd", [2002.0, 2004.0], tmp_path / "m.png")
    fig = captured[-1]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    for ax in panels:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert 114.5 < x0 < x1 < 123.5  # the YRD spans about 115.8-122.2 °E
        assert 27.0 < y0 < y1 < 36.0  # and about 28-34.6 °N
        assert "longitude" in ax.get_xlabel() and "latitude" in ax.get_ylabel()
        names = {t.get_text() for t in ax.texts}
        assert "Shanghai" in names  # top cities are named
    # the geography is inferred from the city names as well
    F.tier_map_small_multiples(yrd_out.cities, None, [2004.0], tmp_path / "m2.png")
    assert 114.5 < captured[-1].axes[0].get_xlim()[0] < 123.5


def test_grid_tier_map_is_a_heatmap_of_tiers_by_cell(grid_out, tmp_path, captured):
    cities = grid_out.cities
    last = int(cities["step"].max())
    year = float(cities.loc[cities["step"] == last, "year"].iloc[0])
    F.tier_map_small_multiples(cities, "grid 10x10", [year], tmp_path / "g.png")
    image = captured[-1].axes[0].get_images()[0].get_array()
    assert image.shape == (10, 10)
    snap = cities[cities["step"] == last]
    for city, tier in zip(snap["city"], snap["tier"], strict=True):
        col, row = (int(v) for v in city[1:].split("_"))
        assert image[row, col] == tier  # column on x, row on y


def test_index_trajectories_log_scale_with_bands_and_highlight(yrd_out, tmp_path, captured):
    F.index_trajectories(yrd_out.cities, tmp_path / "t.png", highlight=["Hefei", "Shanghai"])
    ax = captured[-1].axes[0]
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:4] == ["tier 1 band", "tier 2 band", "tier 3 band", "tier 4 band"]
    assert "Hefei" in labels and "Shanghai" in labels and "regional mean" in labels
    assert ax.get_ylim()[0] > 0  # zeros at step 0 were clipped to a positive floor
    assert "drawn at" in ax.get_ylabel() and "MU" in ax.get_ylabel()


def test_flow_map_draws_only_the_largest_flows_with_units(yrd_out, tmp_path, captured):
    flows = yrd_out.flows["capital"]
    off = flows.to_numpy().copy()
    np.fill_diagonal(off, 0)
    expected = min(15, int((off > 0).sum()))
    F.flow_map(flows, "yrd", tmp_path / "f.png", kind="capital", top=15)
    ax = captured[-1].axes[0]
    # flow arrows are annotations without text (labels may carry a leader line)
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None
              and not t.get_text()]
    assert len(arrows) == expected
    assert ax.get_legend().get_title().get_text() == "MU of VC invested"
    assert 114.5 < ax.get_xlim()[0] < 123.5


def test_flow_map_on_grid_uses_cell_positions(grid_out, tmp_path, captured):
    F.flow_map(grid_out.flows["talent"], "grid 10x10", tmp_path / "g.png", kind="talent")
    ax = captured[-1].axes[0]
    x0, x1 = ax.get_xlim()
    assert -1.5 < x0 < 0 and 9 < x1 < 10.5
    assert ax.get_xlabel() == "grid column (cell)"


def test_comparison_panels_per_measure(tmp_path, captured):
    summary = pd.DataFrame({
        "comparison": ["a", "b", "a", "b"], "measure": ["cv", "cv", "tier_2", "tier_2"],
        "diff": [0.1, -0.2, 1.0, 0.0], "ci_low": [0.05, -0.5, -1.0, 0.0],
        "ci_high": [0.15, 0.1, 3.0, 0.0], "beyond_noise": [True, False, False, False]})
    p = F.comparison(summary, tmp_path / "c.png")
    assert _is_png(p)
    visible = [ax for ax in captured[-1].axes if ax.get_visible()]
    titles = [ax.get_title() for ax in visible]
    # described in words, the name kept in brackets
    assert titles[0].startswith("coefficient of variation") and titles[0].endswith("[cv]")
    assert titles[1].endswith("[tier_2]") and "cities in tier 2" in titles[1]
    assert "lower rank = better" in F.measure_title("target_rank")
    with pytest.raises(ValueError):
        F.comparison(summary, tmp_path / "none.png", measures=["gini"])


def test_sensitivity_indices_delegates_by_method(tmp_path):
    rows = []
    for p, s1 in (("x1", 0.3), ("x2", 0.4)):
        for idx, v in (("S1", s1), ("ST", s1 + 0.1)):
            rows.append({"method": "sobol", "outcome": "y", "param": p, "index": idx,
                         "value": v, "conf_low": v - 0.05, "conf_high": v + 0.05})
    sobol = pd.DataFrame(rows)
    morris = pd.DataFrame([{"method": "morris", "outcome": "y", "param": p, "index": i,
                            "value": v, "conf_low": v - 0.1, "conf_high": v + 0.1}
                           for p in ("x1", "x2") for i, v in (("mu_star", 1.0), ("sigma", 0.5))])
    assert _is_png(F.sensitivity_indices(sobol, tmp_path / "s.png"))
    assert _is_png(F.sensitivity_indices(morris, tmp_path / "m.png"))
    with pytest.raises(ValueError):
        F.sensitivity_indices(sobol.assign(method="pawn", index="other"), tmp_path / "x.png")


def test_positions_resolve_and_refuse():
    pos, kind = F.positions("grid 3x3", ["c0_0", "c2_1"])
    assert kind == "grid" and pos["c2_1"] == (2.0, 1.0)
    pos, kind = F.positions("peers")
    assert kind == "map" and len(pos) == 12
    with pytest.raises(ValueError, match="cannot place"):
        F.positions(None, ["Atlantis"])


def test_baseline_figures_still_written(grid_out, tmp_path):
    paths = F.baseline_figures(grid_out, tmp_path / "figs")
    assert [p.name for p in paths] == ["tiers_map.png", "tiers_and_dispersion.png"]
    assert all(_is_png(p) for p in paths)


def test_library_figures_leave_the_callers_matplotlib_backend_alone(tmp_path):
    # a notebook's inline backend must survive importing and using the figure code
    import importlib

    import matplotlib

    old = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        import experiments.analysis.validate as val
        import experiments.presentation.figures as figs

        importlib.reload(figs)
        importlib.reload(val)
        val.validate(scenario="yrd_calibrated.toml", seeds=1, out=tmp_path, record=None)
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(old)


def _boxes(fig, ax):
    fig.canvas.draw()  # measure at the figure's own dpi (savefig drew at another)
    r = fig.canvas.get_renderer()
    # the labels' text boxes (an annotation's own extent includes its leader line)
    return ax.get_window_extent(r), [Text.get_window_extent(t, r) for t in ax.texts]


def test_map_labels_neither_overlap_nor_leave_their_panel(tmp_path, captured):
    """The YRD's crowded delta (Shanghai, Suzhou, Wuxi, Jiaxing): every named city's label
    sits inside its panel and clear of every other label."""
    from model.geography import yrd

    geo = yrd()
    # an index shaped like output, so the delta's cities are both large and close together
    cities = pd.DataFrame({"city": list(geo.cities) * 2, "step": [4] * 41 + [84] * 41,
                           "year": [2002.0] * 41 + [2022.0] * 41,
                           "index": list(geo.gdp) * 2})
    cities["rank"] = cities.groupby("step")["index"].rank(ascending=False).astype(int)
    cities["tier"] = np.where(cities["rank"] == 1, 1, np.where(cities["rank"] <= 9, 2, 3))
    F.tier_map_small_multiples(cities, geo, [2002, 2022], tmp_path / "t.png", label_top=12)
    fig = captured[-1]
    for ax in fig.axes:
        if not ax.texts:
            continue
        frame, boxes = _boxes(fig, ax)
        assert len(boxes) == 12
        for i, a in enumerate(boxes):
            assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 <= a.y1 <= frame.y1
            assert not any(a.overlaps(b) for b in boxes[i + 1:])


def test_time_series_start_at_the_end_of_the_first_year(grid_out, tmp_path, captured):
    region = grid_out.region
    F.dispersion(region, tmp_path / "d.png")
    F.tier_counts(region, tmp_path / "c.png")
    first = float(region.loc[region["step"] == F.FIRST_YEAR_STEPS, "year"].iloc[0])
    for fig in captured[-2:]:
        xs = [line.get_xdata() for ax in fig.axes for line in ax.get_lines()
              if len(line.get_xdata()) > 2]
        assert xs and all(float(np.min(x)) == pytest.approx(first) for x in xs)


def test_the_baseline_figures_start_after_the_first_year_with_readable_names(
        grid_out, tmp_path, captured):
    """`innogrid run --figures` and `./dev baseline` draw these two: the tier counts and
    dispersion used to spike at step 0 and put cv, gini, theil and morans_i, raw, on one
    axis (issue #14)."""
    F.baseline_figures(grid_out, tmp_path / "figs")
    fig = captured[-1]
    region = grid_out.region
    first = float(region.loc[region["step"] == F.FIRST_YEAR_STEPS, "year"].iloc[0])
    xs = [line.get_xdata() for ax in fig.axes for line in ax.get_lines()
          if len(line.get_xdata()) > 2]
    assert xs and all(float(np.min(x)) == pytest.approx(first) for x in xs)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend()
              for t in ax.get_legend().get_texts()]
    assert not {"cv", "gini", "theil", "morans_i"} & set(labels)
    # Moran's I (a spatial measure around 0) has its own axis, not the inequality one
    morans = [ax for ax in fig.axes if "Moran" in ax.get_title()]
    assert len(morans) == 1 and len(morans[0].get_lines()) >= 1
    assert not any("Moran" in lab for lab in labels)


@pytest.mark.parametrize("which", ["grid", "yrd"])
def test_a_single_tier_map_keeps_its_title_and_legend_inside(which, grid_out, yrd_out,
                                                             tmp_path):
    """The one-panel tier map of `innogrid run --figures` cut its title and legend at both
    edges (issue #14): nothing drawn may touch the image's left or right edge."""
    import matplotlib.image as mpimg

    out = grid_out if which == "grid" else yrd_out
    path = F.baseline_figures(out, tmp_path / which)[0]
    img = mpimg.imread(path)[..., :3]
    edges = np.concatenate([img[:, :3], img[:, -3:]], axis=1)
    assert edges.min() > 0.97, "something is drawn against the image's edge (cut off)"


def test_panel_titles_say_when_in_years():
    assert F.when_label(2022.0, 84) == "end of 2021 (step 84)"
    assert F.when_label(2011.25, 41) == "year 2011.25 (step 41)"
    assert F.when_label(2001.0, 0) == "start of 2001 (step 0)"
