import numpy as np

from model.submodels.operate import compute_profit_tax, compute_stage


def test_profit_tax():
    tax = compute_profit_tax(np.array([10.0, -5.0, 10.0]), np.array([True, True, False]), 0.15,
                             np.array([0.5, 0.5, 0.5]))
    assert np.allclose(tax, [0.75, 0.0, 1.5])


def test_stage_never_goes_back():
    st = compute_stage(np.array([0, 0, 1, 2], dtype=np.int8), np.array([1.0, 6, 40, 1]), 5, 30)
    assert st.tolist() == [0, 1, 2, 2]
