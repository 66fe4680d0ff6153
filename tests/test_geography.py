import numpy as np
import pytest

from model.geography import GeographyError, build_space, grid, haversine_km, load, yrd


def test_yrd_has_41_cities_in_four_provinces():
    g = yrd()
    assert g.n == 41
    assert len(set(g.cities)) == 41
    counts = np.bincount(g.province)
    expected = {"Shanghai": 1, "Jiangsu": 13, "Zhejiang": 11, "Anhui": 16}
    assert dict(zip(g.provinces, counts, strict=True)) == expected
    assert g.corridor.sum() == 9
    assert (g.population > 0).all() and (g.gdp > 0).all()


def test_yrd_distances_are_great_circle_km():
    g = yrd()
    d = g.dist_km[g.index("Shanghai"), g.index("Hangzhou")]
    assert 150 < d < 185  # ~165 km as the crow flies
    assert np.allclose(g.dist_km, g.dist_km.T)
    assert np.all(np.diag(g.dist_km) == 0)


def test_haversine_quarter_meridian():
    d = haversine_km(np.array([0.0, 90.0]), np.array([0.0, 0.0]))
    assert d[0, 1] == pytest.approx(np.pi / 2 * 6371.0088)


def test_unknown_city_names_the_valid_ones():
    with pytest.raises(GeographyError, match="Shanghai"):
        yrd().index("Atlantis")


@pytest.mark.parametrize("w,h", [(5, 5), (32, 32), (7, 12)])
def test_grid_sizes(w, h):
    g = grid(w, h, rng=np.random.default_rng(0))
    assert g.n == w * h
    assert g.dist_km[0, 1] == pytest.approx(50.0)
    assert len(g.provinces) == 4


@pytest.mark.parametrize("w", [4, 33])
def test_grid_size_limits(w):
    with pytest.raises(GeographyError, match=r"\[5, 32\]"):
        grid(w, 10)


def test_grid_cores_concentrate_population():
    g = grid(11, 11, cores=[(5, 5)], rng=np.random.default_rng(0))
    centre = 5 * 11 + 5
    assert g.population[centre] > 3 * np.median(g.population)


def test_load_rejects_unknown_keys():
    with pytest.raises(GeographyError, match="geography.colour"):
        load({"kind": "grid", "colour": 1}, np.random.default_rng(0))
    with pytest.raises(GeographyError, match="'yrd', 'peers' or 'grid'"):
        load({"kind": "moon"}, np.random.default_rng(0))


def test_build_space_cells_in_city_order():
    import random  # noqa: TID251 - Mesa's spaces take a stdlib Random; the model passes its own

    g = grid(5, 6, rng=np.random.default_rng(0))
    space, cells = build_space(g, random.Random(0))
    assert len(cells) == 30
    assert cells[7].coordinate == (1, 1)
    g2 = yrd()
    space2, cells2 = build_space(g2, random.Random(0))
    assert len(cells2) == 41
    assert all(len(c.connections) >= 4 for c in cells2)


def test_peer_cities_for_the_catch_up_scenarios():
    from model.geography import peers

    g = peers()
    assert g.n == 12 and {"Chengdu", "Shenzhen", "Beijing", "Shanghai"} <= set(g.cities)
    assert g.corridor.sum() == 0
    rd = dict(zip(g.cities, g.extra["rd_intensity_2020"], strict=True))
    assert (rd["Chengdu"], rd["Shanghai"], rd["Shenzhen"]) == (2.8, 4.1, 4.9)
    plat = dict(zip(g.cities, g.extra["open_platforms"], strict=True))
    assert (plat["Chengdu"], plat["Shanghai"], plat["Shenzhen"]) == (9, 22, 18)
    assert np.isnan(plat["Wuhan"])  # unknown stays unknown
    d = g.dist_km[g.index("Chengdu"), g.index("Shenzhen")]
    assert 1100 < d < 1500


def test_research_endowment_is_an_input_not_proportional_to_output():
    from model.geography import RESEARCH_COLUMNS, yrd

    g = yrd()
    assert g.research.shape == (41, len(RESEARCH_COLUMNS)) and (g.research >= 0).all()
    assert (g.research[:, 1] <= g.research[:, 0]).all()  # key universities are universities
    share_res = g.research.sum(axis=1) / g.research.sum()
    share_gdp = g.gdp / g.gdp.sum()
    i = {c: k for k, c in enumerate(g.cities)}
    # Hefei (USTC, CAS institutes) and Nanjing hold more research than their 2001 output
    assert share_res[i["Hefei"]] > 2 * share_gdp[i["Hefei"]]
    assert share_res[i["Nanjing"]] > 2 * share_gdp[i["Nanjing"]]
    assert share_res[i["Ningbo"]] < share_gdp[i["Ningbo"]]


def test_research_file_covers_the_peers_too():
    from model.geography import peers

    g = peers()
    assert g.research.shape[0] == 12 and g.research[:, 0].min() > 0


def test_grid_research_is_synthetic_and_reproducible():
    from model.geography import grid

    a = grid(8, 8, rng=np.random.default_rng(1)).research
    b = grid(8, 8, rng=np.random.default_rng(1)).research
    assert (a == b).all() and a.sum() > 0 and (a[:, 4] == 0).all()
