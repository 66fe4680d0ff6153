import numpy as np
import pytest

from model.sampling import prorate, rank_within, sample_rows, softmax_rows


def test_sample_rows_degenerate_rows(rng):
    prob = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert sample_rows(prob, np.array([0, 1, 0]), rng).tolist() == [1, 0, 1]


def test_sample_rows_frequencies(rng):
    prob = np.array([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])
    rows = np.repeat([0, 1], 100_000)
    draws = sample_rows(prob, rows, rng)
    f0 = np.bincount(draws[:100_000], minlength=3) / 100_000
    f1 = np.bincount(draws[100_000:], minlength=3) / 100_000
    assert np.allclose(f0, prob[0], atol=0.01)
    assert np.allclose(f1, prob[1], atol=0.01)
    assert f1[1] == 0


def test_sample_rows_zero_row_does_not_break_others(rng):
    prob = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    draws = sample_rows(prob, np.array([1, 2] * 50), rng)
    assert draws.tolist() == [2, 0] * 50


def test_rank_within(rng):
    groups = np.array([2, 1, 2, 2, 0])
    order, rank = rank_within(groups, rng)
    assert sorted(order.tolist()) == list(range(5))
    assert groups[order].tolist() == [0, 1, 2, 2, 2]
    assert rank[4] == 0 and rank[1] == 0
    assert sorted(rank[[0, 2, 3]].tolist()) == [0, 1, 2]


def test_prorate():
    pay = prorate(np.array([2.0, 2.0, 1.0]), np.array([0, 0, 1]), np.array([1.0, 5.0]))
    assert pay.tolist() == [0.5, 0.5, 1.0]


def test_softmax_rows():
    p = softmax_rows(np.array([[0.0, -1.0], [1000.0, 1000.0]]))
    assert p[0] == pytest.approx([0.7311, 0.2689], abs=1e-4)
    assert p[1].tolist() == [0.5, 0.5]


def test_cumsum_within():
    from model.sampling import cumsum_within

    out = cumsum_within(np.array([0, 0, 1, 1, 1]), np.array([2.0, 2, 1, 1, 1]))
    assert out.tolist() == [2, 4, 1, 2, 3]
    assert len(cumsum_within(np.array([], dtype=int), np.array([]))) == 0
