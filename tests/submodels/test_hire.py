import numpy as np

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
