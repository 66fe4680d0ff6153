"""Tests of the sensitivity-analysis layer, checked against the Ishigami function."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import sensitivity_indices as sa
from experiments.analysis.sensitivity_indices import (
    ISHIGAMI_INDICES,
    ISHIGAMI_PROBLEM,
    analyze,
    ishigami,
    noise_share,
    plot_indices,
    plot_morris,
    problem,
    sample,
)

NAMES = ISHIGAMI_PROBLEM["names"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def evaluate(X, seeds=None, noise=0.0):
    """Ishigami at every row; ``seeds[i]`` is the seed of row ``i``."""
    out = np.empty(len(X))
    for i, row in enumerate(X):
        seed = None if seeds is None else int(seeds[i])
        out[i] = ishigami(dict(zip(NAMES, row, strict=True)), seed=seed, noise=noise)["y"]
    return out


def values(table, index):
    return table[table["index"] == index].set_index("param").loc[NAMES]


@pytest.fixture(scope="module")
def sobol_table():
    X = sample("sobol", ISHIGAMI_PROBLEM, 1024, seed=11)
    return analyze("sobol", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=11)


@pytest.fixture(scope="module")
def morris_table():
    X = sample("morris", ISHIGAMI_PROBLEM, 500, seed=5, levels=4)
    return analyze("morris", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=5, levels=4)


@pytest.fixture(scope="module")
def pawn_table():
    X = sample("pawn", ISHIGAMI_PROBLEM, 1000, seed=3)
    return analyze("pawn", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=3, pawn_resamples=100)


# --------------------------------------------------------------------------- Ishigami itself
def test_ishigami_formula_and_noise():
    assert ishigami({"x1": 0.0, "x2": 0.0, "x3": 0.0})["y"] == 0.0
    y = ishigami({"x1": math.pi / 2, "x2": math.pi / 2, "x3": 2.0})["y"]
    assert y == pytest.approx(1.0 + 7.0 + 0.1 * 16.0)
    p = {"x1": 0.3, "x2": -1.0, "x3": 2.5}
    assert ishigami(p, seed=4, noise=0.5) == ishigami(p, seed=4, noise=0.5)
    assert ishigami(p, seed=4, noise=0.5) != ishigami(p, seed=5, noise=0.5)
    assert ishigami(p, seed=4) == ishigami(p, seed=5)  # no noise: the seed is irrelevant
    with pytest.raises(ValueError, match="noise"):
        ishigami(p, noise=-1.0)


def test_ishigami_constants():
    assert ISHIGAMI_PROBLEM["num_vars"] == 3 and NAMES == ["x1", "x2", "x3"]
    assert ISHIGAMI_PROBLEM["bounds"] == [[-math.pi, math.pi]] * 3
    # the analytic values are internally consistent: V1 + V2 + V13 = V, ST2 = S1_2
    s1, st = ISHIGAMI_INDICES["S1"], ISHIGAMI_INDICES["ST"]
    assert s1["x1"] + s1["x2"] + st["x3"] == pytest.approx(1.0, abs=2e-4)
    assert st["x2"] == s1["x2"] and s1["x3"] == 0.0


# --------------------------------------------------------------------------- Sobol
def test_sobol_ishigami_known_answer(sobol_table):
    t = sobol_table
    assert list(t.columns) == sa.TABLE_COLUMNS
    assert len(t) == 6 and set(t["index"]) == {"S1", "ST"} and set(t["method"]) == {"sobol"}
    for index in ("S1", "ST"):
        got = values(t, index)
        for name in NAMES:
            row = got.loc[name]
            half = (row["conf_high"] - row["conf_low"]) / 2
            assert np.isfinite(row["conf_low"]) and np.isfinite(row["conf_high"])
            assert 0.0 < half < 0.15
            assert row["conf_low"] <= row["value"] <= row["conf_high"]
            tol = max(0.05, half + 0.02)
            published = ISHIGAMI_INDICES[index][name]
            assert abs(row["value"] - published) <= tol, (index, name, row["value"], published)


def test_sobol_second_order_rows():
    X = sample("sobol", ISHIGAMI_PROBLEM, 512, seed=2, second_order=True)
    t = analyze("sobol", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=2, second_order=True,
                num_resamples=300)
    s2 = t[t["index"] == "S2"].set_index("param")
    assert list(s2.index) == ["x1,x2", "x1,x3", "x2,x3"]
    # the only interaction of Ishigami is x1-x3, S13 = ST3 = 0.2437
    assert abs(s2.loc["x1,x3", "value"] - 0.2437) < 0.1
    assert abs(s2.loc["x1,x2", "value"]) < 0.1 and abs(s2.loc["x2,x3", "value"]) < 0.1
    assert np.all(np.isfinite(s2[["conf_low", "conf_high"]].to_numpy()))


def test_sobol_analysis_is_seeded_even_with_seed_zero():
    X = sample("sobol", ISHIGAMI_PROBLEM, 256, seed=0)
    Y = evaluate(X)
    a = analyze("sobol", ISHIGAMI_PROBLEM, X, Y, "y", seed=0, num_resamples=200)
    b = analyze("sobol", ISHIGAMI_PROBLEM, X, Y, "y", seed=0, num_resamples=200)
    c = analyze("sobol", ISHIGAMI_PROBLEM, X, Y, "y", seed=1, num_resamples=200)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(a["value"], c["value"])  # point estimates do not resample
    assert not np.allclose(a["conf_low"], c["conf_low"])  # intervals do


def test_sobol_rejects_wrong_row_count_and_constant_outcome_is_nan():
    X = sample("sobol", ISHIGAMI_PROBLEM, 64, seed=1)
    with pytest.raises(ValueError, match="multiple of 5"):
        analyze("sobol", ISHIGAMI_PROBLEM, X[:24], evaluate(X[:24]), "y", seed=1)
    with pytest.raises(ValueError, match="multiple of 8"):
        analyze("sobol", ISHIGAMI_PROBLEM, X[:20], evaluate(X[:20]), "y", seed=1,
                second_order=True)
    with pytest.warns(UserWarning, match="constant"):
        t = analyze("sobol", ISHIGAMI_PROBLEM, X, np.ones(len(X)), "flat", seed=1)
    assert t["value"].isna().all() and len(t) == 6


# --------------------------------------------------------------------------- Morris
def test_morris_ishigami(morris_table):
    t = morris_table
    assert len(t) == 9 and list(t["index"].unique()) == ["mu_star", "mu", "sigma"]
    star, mu, sigma = values(t, "mu_star"), values(t, "mu"), values(t, "sigma")
    assert np.all(star["value"] >= np.abs(mu["value"]) - 1e-12)
    assert mu["conf_low"].isna().all() and sigma["conf_high"].isna().all()
    assert np.all(star["conf_low"] <= star["value"]) and np.all(star["conf_high"] >= star["value"])
    # Known answers on the 4-level grid {-pi, -pi/3, pi/3, pi} with step 2/3 of the range,
    # every level equally likely. Steps go -pi <-> pi/3 or -pi/3 <-> pi, so
    # - x2: sin^2 jumps between 0 and 3/4, every effect is +-7 * 0.75 / (2/3) = +-7.875;
    # - x1: sin(x1) always rises by sin(pi/3), times (1 + 0.1 x3^4) with x3^4 in
    #   {(pi/3)^4, pi^4}: every effect is positive (mu = mu*), mean 7.704;
    # - x3: 0.1 sin(x1) (pi^4 - (pi/3)^4) / (2/3) with |sin(x1)| in {0, sin(pi/3)}: mu* 6.249,
    #   effects of both signs (mu near 0) and the largest spread (sigma ~ 8.8 vs 7.9, 6.2).
    s, d = math.sin(math.pi / 3), 2 / 3
    exact = {"x1": s * (1 + 0.05 * ((math.pi / 3) ** 4 + math.pi**4)) / d,
             "x2": 7 * 0.75 / d,
             "x3": 0.1 * (math.pi**4 - (math.pi / 3) ** 4) / d * s / 2}
    assert star.loc["x2", "value"] == pytest.approx(exact["x2"])
    assert star.loc["x2", "conf_high"] == pytest.approx(exact["x2"])  # no spread at all
    for name in ("x1", "x3"):
        half = (star.loc[name, "conf_high"] - star.loc[name, "conf_low"]) / 2
        assert 0 < half < 1.0
        assert abs(star.loc[name, "value"] - exact[name]) <= 2 * half
    assert mu.loc["x1", "value"] == pytest.approx(star.loc["x1", "value"])
    assert abs(mu.loc["x2", "value"]) < 0.25 * star.loc["x2", "value"]
    assert abs(mu.loc["x3", "value"]) < 0.25 * star.loc["x3", "value"]
    # Ranking that held for all of 40 seeds at 500 trajectories (not at 100: mu* of x1 and
    # x3 then overlap): x3 has the smallest mu* but the largest sigma, as it acts only
    # through its interaction with x1. x1 vs x2 (7.70 vs 7.875) is too close to rank.
    assert star["value"].idxmin() == "x3"
    assert sigma["value"].idxmax() == "x3"


def test_mu_star_interval_never_goes_below_zero():
    """A weak parameter's normal-form interval would reach below 0 ([-0.00032, 0.0543]
    was printed); mu* is a mean of absolute effects, so the low end is clipped at 0."""
    from experiments.analysis.sensitivity_indices import _rows
    r = _rows("morris", "y", "p", "mu_star", 0.027, 0.0273, floor=0.0)
    assert r["conf_low"] == 0.0 and r["conf_high"] == pytest.approx(0.0543)
    r = _rows("sobol", "y", "p", "S1", -0.01, 0.02)  # other indices keep the normal form
    assert r["conf_low"] == pytest.approx(-0.03)


def test_morris_levels_must_match_sample():
    X = sample("morris", ISHIGAMI_PROBLEM, 10, seed=1, levels=4)
    assert X.shape == (10 * 4, 3)
    with pytest.raises(ValueError, match="levels"):
        analyze("morris", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=1, levels=6)


# --------------------------------------------------------------------------- PAWN
def test_pawn_ishigami(pawn_table):
    t = pawn_table
    assert set(t["index"]) == {"minimum", "mean", "median", "maximum", "CV", "stdev"}
    assert len(t) == 18
    med = values(t, "median")
    assert np.all((med["conf_low"] <= med["value"]) & (med["value"] <= med["conf_high"]))
    assert np.all(med["conf_high"] - med["conf_low"] > 0)
    assert t.loc[t["index"] != "median", "conf_low"].isna().all()
    # x2 > x1 > x3 by median KS distance (checked over several seeds and sizes), and the
    # intervals separate them.
    assert med.loc["x2", "conf_low"] > med.loc["x1", "conf_high"]
    assert med.loc["x1", "conf_low"] > med.loc["x3", "conf_high"]
    assert np.all(values(t, "minimum")["value"] <= med["value"])
    assert np.all(med["value"] <= values(t, "maximum")["value"])


def test_pawn_bootstrap_is_reproducible():
    X = sample("pawn", ISHIGAMI_PROBLEM, 300, seed=8)
    Y = evaluate(X)
    a = analyze("pawn", ISHIGAMI_PROBLEM, X, Y, "y", seed=8, pawn_resamples=20)
    b = analyze("pawn", ISHIGAMI_PROBLEM, X, Y, "y", seed=8, pawn_resamples=20)
    c = analyze("pawn", ISHIGAMI_PROBLEM, X, Y, "y", seed=9, pawn_resamples=20)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["conf_low"].dropna(), c["conf_low"].dropna())


# --------------------------------------------------------------------------- sampling
def test_sample_rejects_unknown_method():
    with pytest.raises(ValueError, match="fast") as err:
        sample("fast", ISHIGAMI_PROBLEM, 8, seed=1)
    assert all(m in str(err.value) for m in ("sobol", "morris", "pawn"))
    with pytest.raises(ValueError, match="allowed"):
        analyze("delta", ISHIGAMI_PROBLEM, np.zeros((4, 3)), np.zeros(4), "y", seed=1)


@pytest.mark.parametrize("n", [16, 64])
def test_sobol_row_counts(n):
    D = 3
    assert sample("sobol", ISHIGAMI_PROBLEM, n, seed=1).shape == (n * (D + 2), D)
    assert sample("sobol", ISHIGAMI_PROBLEM, n, seed=1, second_order=True).shape == (
        n * (2 * D + 2), D)


@pytest.mark.parametrize("method", ["sobol", "morris", "pawn"])
def test_sample_seeding_and_bounds(method):
    prob = problem({"a": (0.0, 1.0), "b": (10.0, 20.0)})
    a = sample(method, prob, 16, seed=7)
    b = sample(method, prob, 16, seed=7)
    c = sample(method, prob, 16, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all((a[:, 0] >= 0.0) & (a[:, 0] <= 1.0))
    assert np.all((a[:, 1] >= 10.0) & (a[:, 1] <= 20.0))


def test_problem_and_no_mutation():
    prob = problem({"b": (1, 2), "a": (-1.0, 0.5)})
    assert prob == {"num_vars": 2, "names": ["b", "a"], "bounds": [[1.0, 2.0], [-1.0, 0.5]]}
    with pytest.raises(ValueError):
        problem({"a": (1.0, 1.0)})
    with pytest.raises(ValueError):
        problem({})
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in ISHIGAMI_PROBLEM.items()}
    X = sample("morris", ISHIGAMI_PROBLEM, 4, seed=1)
    analyze("morris", ISHIGAMI_PROBLEM, X, evaluate(X), "y", seed=1, num_resamples=10)
    assert ISHIGAMI_PROBLEM == before  # SALib adds keys to dicts it is given


# --------------------------------------------------------------------------- noise
def test_noise_share_hand_case():
    r = noise_share(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert r["within_var"] == pytest.approx(2.0)  # var([1,3]) = var([5,7]) = 2
    assert r["between_var"] == pytest.approx(8.0)  # var([2, 6])
    assert r["total_var"] == pytest.approx(20.0 / 3.0)  # var([1,3,5,7])
    assert r["signal_var"] == pytest.approx(7.0)  # 8 - 2 / 2
    assert r["noise_share"] == pytest.approx(2.0 / 9.0)
    same = noise_share(np.array([[1.0, 3.0], [3.0, 1.0]]))  # the points do not differ
    assert same["signal_var"] == 0.0 and same["noise_share"] == 1.0


def test_noise_share_edge_cases():
    one_rep = noise_share(np.array([[1.0], [2.0], [4.0]]))
    assert math.isnan(one_rep["within_var"]) and math.isnan(one_rep["noise_share"])
    assert one_rep["total_var"] == pytest.approx(7.0 / 3.0)
    assert one_rep["between_var"] == pytest.approx(7.0 / 3.0)
    flat = noise_share(np.ones((3, 2)))
    assert flat["total_var"] == 0.0 and math.isnan(flat["noise_share"])
    one_point = noise_share(np.array([[1.0, 2.0, 3.0]]))
    assert math.isnan(one_point["between_var"]) and math.isnan(one_point["noise_share"])
    with pytest.raises(ValueError):
        noise_share(np.arange(4.0))


def test_noise_share_recovers_noise_variance():
    s, R = 0.8, 4
    X = sample("pawn", ISHIGAMI_PROBLEM, 400, seed=21)
    # independent seeds for every (point, replicate), so the noise is independent
    seeds = np.arange(len(X) * R).reshape(len(X), R) + 10_000
    Y = np.column_stack([evaluate(X, seeds[:, k], noise=s) for k in range(R)])
    r = noise_share(Y)
    assert r["within_var"] == pytest.approx(s**2, rel=0.15)
    f_var = np.var(evaluate(X), ddof=1)
    assert r["noise_share"] == pytest.approx(s**2 / (f_var + s**2), rel=0.15)
    assert r["between_var"] == pytest.approx(f_var + s**2 / R, rel=0.05)


def test_ishigami_noise_depends_on_seed_and_point():
    # like a model run: the same seed at the same point repeats, at another point it does not
    p, q = {"x1": 0.3, "x2": -1.0, "x3": 2.0}, {"x1": 0.3, "x2": -1.0, "x3": 2.5}
    clean_p, clean_q = ishigami(p)["y"], ishigami(q)["y"]
    e_p = ishigami(p, seed=7, noise=1.0)["y"] - clean_p
    e_q = ishigami(q, seed=7, noise=1.0)["y"] - clean_q
    assert e_p == ishigami(p, seed=7, noise=1.0)["y"] - clean_p
    assert e_p != pytest.approx(e_q)
    # so with replicate seeds common to all points the within-point variance is still s^2
    X = sample("pawn", ISHIGAMI_PROBLEM, 400, seed=4)
    Y = np.column_stack([evaluate(X, np.full(len(X), k), noise=0.8) for k in range(4)])
    assert noise_share(Y)["within_var"] == pytest.approx(0.64, rel=0.15)


def test_analyze_uses_replicate_mean():
    X = sample("morris", ISHIGAMI_PROBLEM, 10, seed=3)
    Y = np.column_stack([evaluate(X, np.full(len(X), k), noise=0.3) for k in range(3)])
    a = analyze("morris", ISHIGAMI_PROBLEM, X, Y, "y", seed=3, num_resamples=50)
    b = analyze("morris", ISHIGAMI_PROBLEM, X, Y.mean(axis=1), "y", seed=3, num_resamples=50)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="finite"):
        analyze("morris", ISHIGAMI_PROBLEM, X, np.full(len(X), np.nan), "y", seed=3)


# --------------------------------------------------------------------------- plots
def _is_png(path):
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_plot_indices(tmp_path, sobol_table, pawn_table):
    other = sobol_table.assign(outcome="y2")
    path = tmp_path / "figs" / "indices.png"
    plot_indices(pd.concat([sobol_table, other, pawn_table]), path)
    assert _is_png(path)
    with pytest.raises(ValueError):
        plot_indices(sobol_table[sobol_table["index"] == "none"], tmp_path / "empty.png")


def test_plot_morris(tmp_path, morris_table):
    path = tmp_path / "morris.png"
    plot_morris(pd.concat([morris_table, morris_table.assign(outcome="y2")]), path)
    assert _is_png(path)
    with pytest.raises(ValueError):
        plot_morris(morris_table[morris_table["method"] == "sobol"], tmp_path / "none.png")


@pytest.mark.parametrize("method", ["morris", "pawn"])
def test_analyze_salib_gives_the_tables_numbers_in_salibs_form(method):
    from experiments.analysis.sensitivity_indices import analyze, analyze_salib

    X = sample(method, ISHIGAMI_PROBLEM, 20 if method == "morris" else 300, 5)
    Y = np.array([ishigami(dict(zip(["x1", "x2", "x3"], r, strict=True)))["y"] for r in X])
    table, S = analyze_salib(method, ISHIGAMI_PROBLEM, X, Y, "y", 3, num_resamples=50)
    pd.testing.assert_frame_equal(table, analyze(method, ISHIGAMI_PROBLEM, X, Y, "y", 3,
                                                 num_resamples=50))
    head = "mu_star" if method == "morris" else "median"
    rows = table[table["index"] == head].set_index("param")
    assert S["names"] == ["x1", "x2", "x3"]
    np.testing.assert_array_equal(np.asarray(S[head], float), rows["value"].to_numpy())
    np.testing.assert_allclose(np.asarray(S[f"{head}_conf"], float),
                               (rows["conf_high"] - rows["value"]).to_numpy(), rtol=1e-9,
                               atol=1e-12)
    assert list(S.to_df().index) == ["x1", "x2", "x3"]
