import numpy as np
import pytest

from model.submodels.spill import (
    compute_absorptive_capacity,
    compute_effective_distance,
    compute_platform_sharing,
    compute_spill_kernel,
    compute_spillover,
)


def test_kernel_distance_barrier_corridor():
    d = np.array([[0, 150.0], [150.0, 0]])
    prov = np.array([0, 1])
    def kernel(corridor, province):
        return compute_spill_kernel(compute_effective_distance(d, corridor, 0.5), province,
                                    150.0, 0.5)

    w = kernel(np.array([False, False]), prov)
    assert w[0, 1] == pytest.approx(np.exp(-1) * 0.5)
    assert w[0, 0] == 0
    w = kernel(np.array([True, True]), prov)
    assert w[0, 1] == pytest.approx(np.exp(-0.5) * 0.5)
    w = kernel(np.array([True, False]), np.array([0, 0]))
    assert w[0, 1] == pytest.approx(np.exp(-1))


def test_absorptive_capacity():
    a = compute_absorptive_capacity(np.array([10.0, 0.0]), np.array([10.0, 5.0]), 1.0)
    assert a.tolist() == [0.5, 0.0]


def test_spillover_flow_matrix():
    w = np.array([[0, 0.5], [0.5, 0]])
    f = compute_spillover(w, np.array([2.0, 4.0]), np.array([1.0, 0.5]), 1.0)
    assert f.tolist() == [[0, 2.0], [0.5, 0]]
    assert f.sum(1).tolist() == [2.0, 0.5]


def test_collab_intensity_is_a_share():
    from model.submodels.spill import compute_collab_intensity

    c = np.array([[0, 3.0], [3.0, 0]])
    out = compute_collab_intensity(c, np.array([10.0, 2.0]))
    assert out[0, 1] == pytest.approx(0.5)
    assert compute_collab_intensity(10 * c, np.array([100.0, 20.0]))[0, 1] == pytest.approx(0.5)


def test_effective_distance_shortens_only_corridor_pairs():

    d = np.array([[0, 100.0, 100.0], [100.0, 0, 100.0], [100.0, 100.0, 0]])
    e = compute_effective_distance(d, np.array([True, True, False]), 0.5)
    assert e[0, 1] == 50.0 and e[1, 0] == 50.0
    assert e[0, 2] == 100.0 and e[1, 2] == 100.0


def test_high_speed_rail_shortens_only_pairs_of_stations():

    d = np.array([[0, 100.0, 100.0], [100.0, 0, 100.0], [100.0, 100.0, 0]])
    hsr = np.array([True, True, False])
    e = compute_effective_distance(d, np.zeros(3, bool), 0.5, hsr, 0.6)
    assert e[0, 1] == pytest.approx(60.0) and e[1, 0] == pytest.approx(60.0)
    assert e[0, 2] == 100.0 and e[2, 1] == 100.0
    # both a corridor pair and a rail pair: the two factors multiply (the docstring's case)
    e = compute_effective_distance(d, np.array([True, True, False]), 0.5, hsr, 0.6)
    assert e[0, 1] == pytest.approx(30.0)
    # a factor of 1 (the default) changes nothing, stations or not
    assert np.array_equal(compute_effective_distance(d, np.zeros(3, bool), 0.5, hsr, 1.0), d)


def test_a_dated_station_shortens_distances_from_its_date_for_every_flow():
    from model.model import InnovationModel
    from tests.conftest import small_grid

    names = small_grid().geography.cities
    n, a, b = len(names), names[0], names[1]
    sc = small_grid(steps=6, params={"hsr_distance_factor": 0.4},
                    rules=[{"cities": [a, b], "from_year": 2001.5, "hsr_station": True}])
    m = InnovationModel(sc, seed=1)
    geo = sc.geography
    m.step()  # 2001.0: no station yet
    assert np.array_equal(m.world.distances(), geo.dist_km)
    m.step()
    m.step()  # 2001.5: both stations open
    d = m.world.distances()
    assert d[0, 1] == pytest.approx(geo.dist_km[0, 1] * 0.4)
    off = [k for k in range(n) if k > 1]
    assert np.array_equal(d[0, off], geo.dist_km[0, off])
    # the spillover kernel uses the shortened distance (no collaboration yet between them)
    w0 = np.exp(-d[0, 1] / sc.params.spill_decay_km) * (
        1.0 if geo.province[0] == geo.province[1] else sc.params.barrier_spill)
    assert m.world.spill_weights[0, 1] == pytest.approx(w0)


def test_active_corridor_shortens_distances_for_every_flow():
    from model.model import InnovationModel
    from tests.conftest import small_grid

    sc = small_grid(steps=2, rules=[{"corridor": True, "corridor_active": True}])
    m = InnovationModel(sc, seed=1)
    m.step()
    corr = np.flatnonzero(sc.geography.corridor)
    i, j = corr[0], corr[1]
    d = m.world.distances()
    assert d[i, j] == pytest.approx(sc.geography.dist_km[i, j] * sc.params.corridor_distance_factor)
    assert m.world.distances() is m.world.eff_dist


def test_platform_sharing_follows_reach_or_lead_targets():
    w = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0.0]])
    shared = np.array([4.0, 0.0, 3.0])
    to = compute_platform_sharing(w, shared)
    assert to[:, 0].tolist() == [0.0, 2.0, 2.0]  # spread over the cities it reaches
    assert to[:, 2].tolist() == [3.0, 0.0, 0.0]
    lead = np.zeros((3, 3))
    lead[0, 2] = 1.0  # city 0 leads city 2
    to = compute_platform_sharing(w, shared, lead)
    assert to[:, 0].tolist() == [0.0, 0.0, 4.0]  # all of it to the led city
    assert to[:, 2].tolist() == [3.0, 0.0, 0.0]  # non-leaders unchanged
    assert to.sum() == pytest.approx(shared.sum())


def test_integration_lifts_the_barrier_between_pairs_that_both_have_it():
    from model.submodels.spill import compute_barrier

    b = compute_barrier(np.array([0, 1, 1]), np.array([0.5, 1.0, 0.0]))
    assert b[0, 1] == 0.5 and b[0, 2] == 1.0 and b[1, 2] == 0.0 and b[0, 0] == 0.0
    d = np.array([[0, 150.0], [150.0, 0]])
    w = compute_spill_kernel(d, np.array([0, 1]), 150.0, 0.5,
                             compute_barrier(np.array([0, 1]), np.array([0.5, 0.5])))
    assert w[0, 1] == pytest.approx(np.exp(-1) * 0.75)


def test_integration_raises_cross_province_flows():
    from model.model import InnovationModel
    from tests.conftest import small_grid

    base = InnovationModel(small_grid(steps=12), seed=8)
    base.run()
    lifted = InnovationModel(small_grid(steps=12, policy={"integration": 1.0}), seed=8)
    lifted.run()
    assert (lifted.region_frame()["talent_cross_province"].sum()
            > base.region_frame()["talent_cross_province"].sum())
    assert lifted.world.barrier.max() == 0.0
