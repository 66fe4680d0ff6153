"""The facts as scores, and the persistence null model they are compared with."""

import numpy as np
import pytest

from experiments.analysis.patterns import (
    FACT_TIER,
    named_hits,
    real_gdp_growth_fact,
    region_levels,
    score_null,
    score_run,
)
from model.geography import yrd
from model.model import InnovationModel
from model.scenario import load_scenario


def test_named_hits_count_either_taizhou():
    tiers = {c: k for c, k in FACT_TIER.items() if c != "Taizhou"}
    assert sum(named_hits({**tiers, "Taizhou_ZJ": 3}).values()) == 11
    assert sum(named_hits({**tiers, "Taizhou_JS": 3, "Taizhou_ZJ": 2}).values()) == 11
    assert not named_hits({**tiers, "Taizhou_JS": 2})["Taizhou"]


def test_the_null_model_scores_as_the_issue_states():
    # the tier rule on 2001 GDP places 9 of the 11 named cities (it misses Hefei and Nantong)
    s = score_null(yrd())
    assert s["named_hits"] == 9
    assert not s["hits"]["Hefei"] and not s["hits"]["Nantong"]
    assert s["gdp_cv_2001"] == pytest.approx(1.34, abs=0.005)
    g = yrd()
    fact_cv = g.extra["gdp_2021"].std() / g.extra["gdp_2021"].mean()
    assert fact_cv == pytest.approx(1.14, abs=0.005)


def test_score_run_reads_end_of_year_states():
    sc = load_scenario("yrd_baseline.toml").with_overrides(
        params={"n_talent": 3000, "n_firms": 800, "n_funds": 30})
    m = InnovationModel(sc, seed=7, collect_agents=False)
    m.run()
    cities, region = m.cities_frame(), m.region_frame()
    s = score_run(cities, region, sc.geography)
    r = region.set_index("step")
    assert s["index_growth"] == pytest.approx(r.loc[84, "mean_index"] / r.loc[4, "mean_index"])
    assert s["tier_1"] + s["tier_2"] + s["tier_3"] + s["tier_4"] == 41
    assert 0 <= s["named_hits"] <= 11 and np.isfinite(s["gdp_share_male"])
    assert s["gdp_cv_2001"] == pytest.approx(1.338, abs=0.001)
    # real output growth: the mean output rate of 2021's quarters (steps 81-84) over 2001's
    annual = r.loc[81:84, "gdp"].mean() / r.loc[1:4, "gdp"].mean()
    assert s["real_gdp_growth"] == pytest.approx(annual)
    lvl = r.loc[80:83, "rd_intensity"].mean()  # calendar 2021: years 2021.0-2021.75
    assert s["rd_intensity_2021"] == pytest.approx(lvl)
    with pytest.raises(ValueError, match="needs 84"):
        score_run(cities[cities.step <= 40], region[region.step <= 40], sc.geography)


def test_gdp_share_error_hand_case():
    from experiments.analysis.patterns import gdp_share_error

    assert gdp_share_error(np.array([1.0, 3.0]), np.ones(2)) == pytest.approx(
        np.mean([abs(np.log(0.5)), abs(np.log(1.5))]))
    assert gdp_share_error(np.array([2.0, 6.0]), np.array([1.0, 3.0])) == 0.0


def test_real_gdp_growth_fact_from_the_shipped_data():
    geo = yrd()
    nominal = geo.extra["gdp_2021"].sum() / geo.gdp.sum()
    assert nominal == pytest.approx(11.27, abs=0.01)
    assert real_gdp_growth_fact(geo) == pytest.approx(nominal / 1.923, rel=1e-3)


def test_resident_scores_hand_case_and_the_null():
    import dataclasses

    from experiments.analysis.patterns import resident_scores

    geo = yrd()
    geo2 = dataclasses.replace(geo, population=np.array([1.0, 1.0]),
                               extra={**geo.extra, "population_2021": np.array([1.0, 2.0])})
    s = resident_scores(np.array([1.0, 3.0]), geo2)
    assert s["resident_share_male"] == pytest.approx(
        np.mean([abs(np.log(0.25 / (1 / 3))), abs(np.log(0.75 / (2 / 3)))]))
    assert s["resident_change_corr"] == pytest.approx(1.0)
    assert np.isnan(resident_scores(np.array([1.0, 1.0]), geo2)["resident_change_corr"])
    # the null keeps the 2000 census: its error against the shipped 2021 residents
    null = score_null(geo)["resident_share_male"]
    assert null == pytest.approx(resident_scores(geo.population.astype(float), geo)[
        "resident_share_male"]) and 0.15 < null < 0.25


def test_share_change_scores_hand_case():
    import dataclasses

    from experiments.analysis.patterns import share_change_scores

    geo = yrd()
    geo2 = dataclasses.replace(geo, gdp=np.array([1.0, 1.0]), province=np.array([0, 1]),
                               extra={**geo.extra, "gdp_2021": np.array([1.0, 2.0])})
    s = share_change_scores(np.array([1.0, 3.0]), geo2)
    assert s["gdp_share_change_sd"] == pytest.approx((np.log(1.5) - np.log(0.5)) / 2)
    assert s["gdp_share_change_corr"] == pytest.approx(1.0)
    prov = s["gdp_share_change_province"]  # one city per province: its own change
    assert prov[geo.provinces[1]] == pytest.approx(np.log(1.5))
    flat = share_change_scores(np.array([2.0, 2.0]), geo2)  # shares unchanged
    assert flat["gdp_share_change_sd"] == 0.0 and np.isnan(flat["gdp_share_change_corr"])


def test_share_change_decomposition_hand_case_and_the_yrd_data():
    from experiments.analysis.patterns import share_change_decomposition

    d = share_change_decomposition(np.ones(4), np.exp([1.0, -1.0, 2.0, 4.0]),
                                   np.array([0, 0, 1, 1]))
    assert d["sd"] == pytest.approx(np.sqrt(3.25))
    assert d["between_share"] == pytest.approx(2.25 / 3.25)
    assert d["group_means_error"] == pytest.approx(1.0)
    # the shipped data: the null's error is the mean absolute change; the provinces'
    # means alone would leave a smaller one (docs/VALIDATION.md quotes both)
    geo = yrd()
    y = share_change_decomposition(geo.gdp, geo.extra["gdp_2021"], geo.province)
    assert y["sd"] == pytest.approx(0.237, abs=0.001)
    assert y["between_share"] == pytest.approx(0.292, abs=0.001)
    assert y["group_means_error"] == pytest.approx(0.139, abs=0.001)
    assert y["group_means_error"] < score_null(geo)["gdp_share_male"]
    assert set(d["group_means"]) == {0, 1}
    assert d["group_means"][1] - d["group_means"][0] == pytest.approx(3.0)


def test_region_levels_by_hand():
    """Calendar-year means of the output rate (steps 1-4 are 2001), R&D over output in 2021."""
    import pandas as pd

    steps = np.arange(85)
    gdp = np.full(85, 50.0)
    gdp[1:5], gdp[81:85] = [90, 100, 110, 100], [240, 250, 260, 250]
    rd = np.where(np.floor(2001 + steps / 4) == 2021, 0.03, 0.01)
    region = pd.DataFrame({"step": steps, "year": 2001 + steps / 4, "gdp": gdp,
                           "rd_intensity": rd})
    out = region_levels(region)
    assert out["real_gdp_growth"] == pytest.approx(250 / 100)
    assert out["rd_intensity_2021"] == pytest.approx(0.03)
    short = region_levels(region[region["step"] <= 40])
    assert np.isnan(short["real_gdp_growth"]) and np.isnan(short["rd_intensity_2021"])
