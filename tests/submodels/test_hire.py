import numpy as np
import pytest

from model.submodels.hire import compute_matches, compute_vacancies


def test_vacancies_hand_case():
    h, lay = compute_vacancies(np.array([2, 2, 5]), np.array([10.0, 10.0, 5.0]),
                               np.array([30.0, 5.0, 0.0]), np.array([5.0, 5.0, 5.0]), 0.5)
    assert h.tolist() == [4, 0, 0]
    assert lay.tolist() == [0, 1, 4]  # a firm keeps its founder


def test_matches_min_of_seekers_and_slots_per_city(rng):
    seekers = np.array([0, 0, 0, 1, 2])
    slots = np.array([0, 1, 1, 1, 2, 2])
    si, vi = compute_matches(seekers, slots, 3, rng)
    assert len(si) == 3 + 0 or len(si) == 2 + 1 + 1 - 1 + 1  # city0: 1, city1: 1, city2: 1
    assert len(si) == 3
    assert (seekers[si] == slots[vi]).all()
    assert len(set(vi.tolist())) == len(vi) and len(set(si.tolist())) == len(si)


def test_filled_vacancies_are_hypergeometric():
    from model.submodels.hire import compute_filled_vacancies

    rng = np.random.default_rng(5)
    hires = np.array([1, 10, 4])
    city = np.array([0, 0, 1])
    seekers = np.array([3, 9])
    first = 0
    for _ in range(4000):
        f = compute_filled_vacancies(hires, city, seekers, rng)
        assert f[:2].sum() == 3 and f[2] == 4 and (f <= hires).all()
        first += f[0]
    assert first / 4000 == pytest.approx(3 / 11, abs=0.025)
