"""PRIM scenario discovery: a known box is recovered, the trajectory's measures behave,
inputs are checked, and the helpers build (X, y) and draw the trade-off."""

import time

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.discovery import Box, PrimResult, from_results, plot_tradeoff, prim

TOL = 0.06


def uniform_cube(n=2000, d=4, seed=20260101):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(size=(n, d)), columns=[f"x{i}" for i in range(d)])
    return X, rng


def true_box(X):
    return ((X["x0"] > 0.6) & (X["x1"] < 0.3)).to_numpy()


def assert_known_box(box):
    lo0, hi0 = box.limits["x0"]
    lo1, hi1 = box.limits["x1"]
    assert abs(lo0 - 0.6) <= TOL and hi0 >= 1 - TOL
    assert lo1 <= TOL and abs(hi1 - 0.3) <= TOL
    assert set(box.restricted) == {"x0", "x1"}  # x2, x3 keep the sample's full range
    for c in ("x2", "x3"):
        assert box.limits[c] == box.bounds[c]


def test_known_box_is_recovered():
    X, _ = uniform_cube()
    y = true_box(X)
    res = prim(X, y)
    box = res.select(min_density=0.9)
    assert_known_box(box)
    assert box.density >= 0.9 and box.coverage >= 0.8
    text = res.summary(box)
    assert text.startswith("case of interest when: x0 >= 0.")
    assert "x1 <= 0.3" in text and "x2" not in text and "x3" not in text


def test_known_box_with_label_noise():
    X, rng = uniform_cube()
    y = true_box(X) ^ (rng.uniform(size=len(X)) < 0.05)  # 5% of labels flipped
    box = prim(X, y).select(min_density=0.9)
    assert_known_box(box)
    assert box.density >= 0.9
    # with noise, even the true box holds only ~72% of the cases of interest
    ceiling = y[true_box(X)].sum() / y.sum()
    assert 0.6 < ceiling < 0.8
    assert box.coverage >= 0.9 * ceiling


def test_trajectory_starts_full_and_peels_monotonically():
    X, rng = uniform_cube()
    y = true_box(X) ^ (rng.uniform(size=len(X)) < 0.05)
    res = prim(X, y, mass_min=0.08)
    t = res.trajectory
    assert list(t.columns[:7]) == ["step", "coverage", "density", "mass", "n", "restricted",
                                   "pasted"]
    assert [c for c in t.columns[7:]] == [f"x{i}_{s}" for i in range(4) for s in ("lo", "hi")]
    first = t.iloc[0]
    assert first["coverage"] == 1.0 and first["mass"] == 1.0 and first["n"] == len(X)
    assert first["density"] == pytest.approx(y.mean()) and first["restricted"] == 0
    for c in X.columns:
        assert first[f"{c}_lo"] == X[c].min() and first[f"{c}_hi"] == X[c].max()
    peel = t[~t["pasted"]]
    assert len(peel) > 20
    assert (np.diff(peel["coverage"]) <= 0).all()
    assert (np.diff(peel["mass"]) < 0).all()
    assert (np.diff(peel["density"]) > 0).all()  # each peel must raise density
    assert peel["mass"].min() >= 0.08
    assert (t["step"] == np.arange(len(t))).all() and len(res.boxes) == len(t)
    assert all(r == len(b.restricted) for r, b in zip(t["restricted"], res.boxes, strict=True))


def test_threshold_form_equals_boolean_form():
    X, rng = uniform_cube(n=1500, d=3, seed=7)
    cv = pd.Series(X["x0"] * 2 + rng.normal(0, 0.2, len(X)), name="cv")
    a = prim(X, cv, threshold=1.2)
    b = prim(X, (cv > 1.2).to_numpy())
    pd.testing.assert_frame_equal(a.trajectory, b.trajectory)
    assert a.outcome == "cv > 1.2" and b.outcome == "case of interest"
    assert a.summary(a.select(min_density=0.8)).startswith("cv > 1.2 when: x0 >= ")
    # 0/1 integers are read as boolean
    c = prim(X, (cv > 1.2).astype(int).to_numpy())
    pd.testing.assert_frame_equal(b.trajectory, c.trajectory)


def test_contains_agrees_with_reported_measures():
    X, rng = uniform_cube(n=1200, seed=3)
    y = true_box(X) ^ (rng.uniform(size=len(X)) < 0.1)
    res = prim(X, y)
    for box in res.boxes:
        inside = box.contains(X)
        assert inside.dtype == bool and inside.sum() == box.n
        assert box.density == pytest.approx(y[inside].mean())
        assert box.coverage == pytest.approx(y[inside].sum() / y.sum())
        assert box.mass == pytest.approx(box.n / len(X))
    # unrestricted sides are not tested: a new point beyond the sample's range stays inside
    box = res.select(min_density=0.8)
    new = pd.DataFrame({"x0": [0.9, 1.5, 0.1], "x1": [0.1, 0.1, 0.1], "x2": [-3.0, 0.5, 0.5],
                        "x3": [0.5, 9.0, 0.5]})
    assert box.contains(new).tolist() == [True, True, False]


def test_pasting_never_lowers_density_and_sometimes_helps():
    pasted_any = False
    for seed in range(6):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.uniform(size=(600, 3)), columns=list("abc"))
        y = (X["a"] > 0.5).to_numpy() ^ (rng.uniform(size=600) < 0.15)
        with_paste, without = prim(X, y), prim(X, y, paste=False)
        peel_rows = with_paste.trajectory[~with_paste.trajectory["pasted"]]
        pd.testing.assert_frame_equal(peel_rows, without.trajectory)
        assert with_paste.boxes[-1].density >= without.boxes[-1].density
        assert with_paste.trajectory["pasted"].sum() <= 1
        if with_paste.trajectory["pasted"].iloc[-1]:
            pasted_any = True
            big, small = with_paste.boxes[-1], without.boxes[-1]
            assert (big.contains(X) >= small.contains(X)).all()  # pasting only grows the box
            assert big.n > small.n and big.coverage > small.coverage
    assert pasted_any


def test_discrete_parameter_is_peeled_one_value_at_a_time():
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"level": rng.integers(0, 4, 2000), "u": rng.uniform(size=2000)})
    y = ((X["level"] == 3) & (X["u"] < 0.5)).to_numpy()
    res = prim(X, y)
    levels = res.trajectory["level_lo"]
    assert set(levels) <= {0, 1, 2, 3}
    assert (np.diff(levels) <= 1).all()  # never skips a level
    box = res.select(min_density=0.95)
    assert box.limits["level"] == (3.0, 3.0)
    assert res.summary(box).startswith("case of interest when: level = 3, u <= 0.")


def test_select_and_summary_edges():
    X, _ = uniform_cube(n=800, seed=5)
    res = prim(X, true_box(X))
    assert isinstance(res, PrimResult) and isinstance(res.boxes[0], Box)
    assert res.select() is res.boxes[-1] and res.select(index=0) is res.boxes[0]
    assert "no restriction" in res.summary(0) and "coverage 1.00" in res.summary(0)
    with pytest.raises(ValueError, match="not both"):
        res.select(min_density=0.5, index=1)
    with pytest.raises(IndexError, match="outside"):
        res.select(index=len(res.boxes))
    noisy = prim(X, true_box(X) ^ (np.arange(len(X)) % 4 == 0))  # density cannot reach 1
    with pytest.raises(ValueError, match="no box has density >= 0.99"):
        noisy.select(min_density=0.99)


@pytest.mark.parametrize(("X", "y", "kw", "msg"), [
    (pd.DataFrame({"a": []}, dtype=float), np.array([], dtype=bool), {}, "X is empty"),
    (pd.DataFrame(index=range(3)), np.array([True, False, True]), {}, "X is empty"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3]}), np.array([True, False]), {},
     "length mismatch: X has 3 rows but y has 2"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3]}), np.zeros(3, dtype=bool), {}, "no case of interest"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3]}), np.array([1.0, 2.0, 3.0]), {"threshold": 5.0},
     "no case of interest: no value of y exceeds threshold 5"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": ["x", "y", "z"]}), np.ones(3, dtype=bool), {},
     r"non-numeric columns \['b'\]"),
    (pd.DataFrame({"a": [0.1, np.nan, 0.3]}), np.ones(3, dtype=bool), {}, "missing"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3]}), np.array([0.5, 2.0, 3.0]), {}, "pass threshold"),
    (pd.DataFrame({"a": [0.1, 0.2, 0.3]}), np.ones(3, dtype=bool), {"peel_alpha": 0.7},
     "peel_alpha"),
])
def test_bad_input_raises_clear_error(X, y, kw, msg):
    with pytest.raises(ValueError, match=msg):
        prim(X, y, **kw)


def test_from_results_drops_failed_runs_and_builds_y():
    df = pd.DataFrame({
        "run": [0, 1, 2, 3, 4],
        "innov_rate": [0.01, 0.02, 0.03, 0.04, 0.05],
        "spill_decay_km": [100.0, 150.0, 200.0, 250.0, 300.0],
        "cv": [0.9, 1.5, np.nan, 1.2, 1.3],
        "status": ["ok", "ok", "failed", "ok", "ok"],
    })
    X, y = from_results(df, ["spill_decay_km", "innov_rate"], "cv", 1.2)
    assert list(X.columns) == ["spill_decay_km", "innov_rate"]
    assert X["innov_rate"].tolist() == [0.01, 0.02, 0.04, 0.05]
    assert list(X.index) == [0, 1, 2, 3]
    assert y.dtype == bool and y.tolist() == [False, True, False, True]  # 1.2 is not > 1.2
    _, below = from_results(df, ["innov_rate"], "cv", 1.2, above=False)
    assert below.tolist() == [True, False, False, False]
    X2, y2 = from_results(df.drop(columns="status").dropna(), ["innov_rate"], "cv", 1.0)
    assert len(X2) == 4 and y2.tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match=r"no columns \['gini'\]"):
        from_results(df, ["innov_rate"], "gini", 0.5)
    with pytest.raises(ValueError, match="no successful runs"):
        from_results(df.assign(status="failed"), ["innov_rate"], "cv", 1.0)
    with pytest.raises(ValueError, match="missing or non-numeric in 1 successful"):
        from_results(df.assign(status="ok"), ["innov_rate"], "cv", 1.0)
    res = prim(X, y)  # the pair feeds prim directly
    assert res.trajectory["coverage"].iloc[0] == 1.0


def test_plot_tradeoff_writes_png(tmp_path):
    X, rng = uniform_cube(n=1000, seed=9)
    res = prim(X, true_box(X) ^ (rng.uniform(size=len(X)) < 0.05))
    path = tmp_path / "sub" / "tradeoff.png"
    assert plot_tradeoff(res, path) is None
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_five_thousand_by_ten_is_fast():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.uniform(size=(5000, 10)), columns=[f"p{i}" for i in range(10)])
    y = ((X["p0"] + X["p3"] > 1.2) & (X["p7"] < 0.5)).to_numpy()
    start = time.perf_counter()
    res = prim(X, y)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0
    box = res.select(min_density=0.8)
    assert set(box.restricted) >= {"p0", "p3", "p7"} and box.coverage >= 0.7


def test_mass_min_stops_peeling():
    X, _ = uniform_cube()
    y = true_box(X)
    free = prim(X, y, paste=False)
    assert free.trajectory["mass"].min() < 0.2  # unconstrained, peeling goes below 0.2
    res = prim(X, y, mass_min=0.2, paste=False)
    mass = res.trajectory["mass"]
    assert mass.min() >= 0.2
    assert mass.min() < 0.2 / 0.95 + 0.01  # it stopped because one more peel would breach it
    assert res.boxes[-1].density < 1.0


def test_sweep_results_load_into_prim(tmp_path):
    # the whole path: a sampled sweep into a store, loaded, and the box PRIM finds
    from experiments.running.sweep import load_results, load_spec, sweep

    spec = tmp_path / "s.toml"
    spec.write_text('model = "tests.sweep_models:quadratic"\nreplicates = 1\nroot_seed = 4\n'
                    '[design]\nkind = "lhs"\nn = 400\n[params]\nx = [0.0, 1.0]\nz = [0.0, 1.0]\n')
    runs = load_results(sweep(load_spec(spec), tmp_path / "store", backend="serial",
                              progress=False).pipe(lambda _: tmp_path / "store"))
    wide = runs.rename(columns=lambda c: c.split(".", 1)[-1])
    X, y = from_results(wide, ["x", "z"], "y", threshold=0.25)
    res = prim(X, y)
    box = res.select(min_density=0.95)
    lo, hi = box.limits["x"]
    assert abs(lo - 0.5) < 0.05 and hi == pytest.approx(X["x"].max())  # y > 0.25 <=> x > 0.5
    assert box.limits["z"] == (X["z"].min(), X["z"].max())  # z is irrelevant: unrestricted
    assert box.coverage > 0.9
