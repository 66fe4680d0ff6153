import numpy as np
import pandas as pd
import pytest

from model import observe


def test_tiers_follow_the_studies_rule_at_the_boundaries():
    # mean is 1 when values sum to len: ratios are the values themselves
    idx = np.array([5.0 + 1e-9, 5.0, 1.0, 1.0 - 1e-9, 0.5, 0.5 - 1e-9])
    idx = np.append(idx, len(idx) + 1 - idx.sum())  # pad so the mean is exactly 1
    assert idx.mean() == pytest.approx(1.0)
    t = observe.compute_tiers(idx)
    assert t[:6].tolist() == [1, 2, 2, 3, 3, 4]


def test_tiers_docstring_examples():
    assert observe.compute_tiers(np.array([60, 10, 7, 3, 0.0])).tolist() == [2, 3, 4, 4, 4]
    t = observe.compute_tiers(np.array([100.0] + [2.0] * 9))
    assert t[0] == 1 and (t[1:] == 4).all()
    assert (observe.compute_tiers(np.zeros(4)) == 2).all()


def test_gini_and_cv():
    assert observe.gini(np.array([0, 0, 0, 1.0])) == pytest.approx(0.75)
    assert observe.gini(np.ones(5)) == pytest.approx(0.0)
    assert observe.cv(np.array([1.0, 3.0])) == pytest.approx(0.5)


def test_theil_split():
    t, b, w = observe.theil(np.array([1.0, 1, 3, 3]), np.array([0, 0, 1, 1]))
    assert t == pytest.approx(0.25 * np.log(0.5) + 0.75 * np.log(1.5))
    assert b == pytest.approx(t) and w == pytest.approx(0.0, abs=1e-12)
    t, b, w = observe.theil(np.array([1.0, 3, 1, 3]), np.array([0, 0, 1, 1]))
    assert b == pytest.approx(0.0, abs=1e-12) and w == pytest.approx(t)


def test_morans_i_chain():
    adj = np.zeros((4, 4))
    for i in range(3):
        adj[i, i + 1] = adj[i + 1, i] = 1
    assert observe.morans_i(np.array([1.0, 1, 0, 0]), adj) == pytest.approx(0.5)
    assert observe.morans_i(np.array([1.0, 0, 1, 0]), adj) < 0
    li, lab = observe.local_moran(np.array([1.0, 1, 0, 0]), adj)
    assert lab[0] == "HH" and lab[3] == "LL"
    assert li[0] > 0 and li[3] > 0


def test_collab_index_base_year_is_100():
    years = 2010 + np.arange(16) / 4
    df = pd.DataFrame({"year": years, **{k: np.linspace(1, 4, 16) for k in
                                         observe.COLLAB_INDICATORS}})
    ci = observe.collab_index(df, base_year=2011)
    base = ci[(years >= 2011) & (years < 2012)].mean()
    assert base == pytest.approx(100.0)
    assert ci.iloc[-1] > 100


def test_tier_transitions():
    cities = pd.DataFrame({"step": [0, 0, 0, 1, 1, 1], "city": list("abcabc"),
                           "tier": [1, 2, 4, 1, 1, 3]})
    m = observe.tier_transitions(cities, 0, 1)
    assert m.loc[1, 1] == 1 and m.loc[2, 1] == 1 and m.loc[4, 3] == 1
    assert m.to_numpy().sum() == 3


def test_leader_pull():
    flow = np.array([[0, 3.0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    dist = np.array([[0, 100.0, 500], [100, 0, 100], [500, 100, 0]])
    pull = observe.leader_pull(flow, np.array([0]), dist, radius_km=200)
    assert pull[0] == pytest.approx(3.0 / 4.0)
