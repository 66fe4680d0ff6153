"""The YRD calibration carried to the peers geography: an out-of-sample check.

``scenarios/peers_calibrated.toml`` takes the YRD-calibrated parameters (``params_from``);
no fact of the twelve peer cities entered a calibration (four of them, Shanghai, Hangzhou,
Nanjing and Suzhou, are also YRD cities, whose 2021 GDP shares within the YRD did). The
claims below are scored on seeds the calibration never used (root 4242) against the
persistence null (2001 GDP shares; 2000 census residents). Nothing here is tuned to pass.
"""

import functools
import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.patterns import score_null
from experiments.analysis.validate_peers import _one, catch_up, rd_order, validate_peers
from experiments.running.run import process_pool
from model import geography
from model.scenario import load_scenario

pytestmark = pytest.mark.xdist_group("peers_out_of_sample")

SEEDS = 8


def test_rd_order_ranks_spending_over_output_in_the_year():
    geo = geography.peers()
    n = geo.n
    # 2020's quarters (years 2020.25 .. 2021.0) and one row of 2019 that must not count
    rows = []
    for year in (2019.75, 2020.25, 2020.5, 2020.75, 2021.0):
        for i, c in enumerate(geo.cities):
            spend = float(n - i) if year > 2020 else float(i)  # 2019's order is the reverse
            rows.append({"year": year, "city": c, "rd_spent": spend, "gdp": 1.0})
    cities = pd.DataFrame(rows)
    want = pd.Series(np.arange(n, 0, -1.0)).rank().corr(
        pd.Series(geo.extra["rd_intensity_2020"]).rank())
    assert rd_order(cities, geo) == pytest.approx(want)


def test_catch_up_is_gdp_over_shanghai():
    geo = geography.peers()
    gdp = np.ones(geo.n)
    gdp[geo.index("Shanghai")] = 4.0
    gdp[geo.index("Chengdu")] = 2.0
    assert catch_up(gdp, geo) == {"Chengdu": 0.5, "Shenzhen": 0.25}
    # the data: Chengdu's GDP rose from 0.31 to 0.46 of Shanghai's (the shipped GDPs)
    assert catch_up(geo.gdp, geo)["Chengdu"] == pytest.approx(1557.00 / 4950.84)


def test_peers_calibrated_takes_the_yrd_calibration_and_the_peers_geography():
    sc = load_scenario("peers_calibrated.toml")
    yrd = load_scenario("yrd_calibrated.toml")
    assert sc.geography.n == 12 and "Chengdu" in sc.geography.cities
    assert sc.params == yrd.params
    assert "Hefei" not in sc.geography.cities and len(yrd.rules) > 0  # no YRD rule came along


def test_the_four_yrd_cities_carry_the_same_dated_policy_in_both_histories():
    """Shanghai, Nanjing, Suzhou and Hangzhou: every policy field, every quarter 2001-2021,
    as in yrd_history.toml (only the G60 corridor's shorter distances need the corridor the
    peers geography does not have)."""
    yrd, peers = load_scenario("yrd_history.toml"), load_scenario("peers_history.toml")
    compared = 0
    for year in np.arange(2001.0, 2022.0, 0.25):
        a, _ = yrd.policy_at(year)
        b, _ = peers.policy_at(year)
        for city in ("Shanghai", "Nanjing", "Suzhou", "Hangzhou"):
            i, j = yrd.geography.index(city), peers.geography.index(city)
            for field in a:
                if field in ("corridor_active", "_lead_targets"):
                    continue
                assert a[field][i] == b[field][j], (year, city, field)
                compared += 1
    assert compared > 1000


def test_the_peers_history_has_its_sourced_events():
    sc = load_scenario("peers_history.toml")
    zones = {c: sc.policy_at(2021.5)[0]["hightech_zones"][sc.geography.index(c)]
             for c in ("Chongqing", "Suzhou", "Chengdu")}
    assert zones == {"Chongqing": 4, "Suzhou": 3, "Chengdu": 1}
    before, _ = sc.policy_at(2015.5)
    assert before["state_investment_cny"][sc.geography.index("Chengdu")] == 66.65
    events = pd.read_csv(resources.files("model.data") / "peers_policy_history.csv")
    assert events["event_id"].is_unique and len(events) >= 70
    keys = {k for cell in events["cities"] for k in cell.split(";")}
    assert keys <= set(geography.peers().cities) | {"ALL"}


@functools.cache
def _scores():
    sc = load_scenario("peers_calibrated.toml")
    with process_pool(2) as ex:
        return sc.geography, list(ex.map(_one, [(sc, s) for s in
                                                replicate_seeds(4242, SEEDS)]))


def test_the_gdp_shares_beat_the_persistence_null_out_of_sample():
    geo, scores = _scores()
    model = np.mean([s["gdp_share_male"] for s in scores])
    assert model < score_null(geo)["gdp_share_male"]


def test_where_residents_went_beats_the_census_out_of_sample():
    geo, scores = _scores()
    model = np.mean([s["resident_share_male"] for s in scores])
    assert model < score_null(geo)["resident_share_male"]
    assert np.mean([s["resident_change_corr"] for s in scores]) > 0.5


def test_the_cities_rd_order_follows_the_data():
    _, scores = _scores()
    assert np.median([s["rd_order_2020"] for s in scores]) > 0


def test_chengdu_closes_part_of_its_gap_to_shanghai():
    geo, scores = _scores()
    start = catch_up(geo.gdp, geo)["Chengdu"]
    assert np.median([s["catch_up_2021"]["Chengdu"] for s in scores]) > start


def test_validate_peers_writes_its_record(tmp_path):
    out = tmp_path / "v"
    res = validate_peers(seeds=2, out=out)
    saved = json.loads((out / "validation.json").read_text())
    assert saved["seeds"] == replicate_seeds(4242, 2) == res["seeds"]
    assert saved["null"]["gdp_share_male"] == pytest.approx(
        score_null(geography.peers())["gdp_share_male"])
    assert set(saved["catch_up_2021"]) == {"Chengdu", "Shenzhen"}
    # the peers' real growth: nominal 24,170 -> 291,475 (100 million CNY), deflator 1.92
    assert saved["real_gdp_growth_fact"] == pytest.approx(6.27, abs=0.01)
    assert saved["params"]["resident_inflow"] == load_scenario(
        "yrd_calibrated.toml").params.resident_inflow

