"""High-speed rail in the historical scenarios: the dated rules are the shipped data's dates.

`model/data/hsr_openings.csv` gives each city's first high-speed service (year, month,
line, sources); `yrd_history.toml` and `peers_history.toml` turn it into `hsr_station`
rules (docs/ODD.md 7.2). These tests keep the two in step, and check that the policy in
force with the many dated rules is the rules applied afresh (``policy_at`` reuses a city's
policy per combination of rules).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd
import pytest

from model.scenario import load_scenario


def _openings() -> pd.DataFrame:
    return pd.read_csv(resources.files("model.data") / "hsr_openings.csv")


def test_every_dated_opening_has_a_source_and_a_valid_month():
    d = _openings()
    assert d["city"].is_unique
    dated = d.dropna(subset=["year"])
    assert dated["month"].between(1, 12).all() and dated["year"].between(2001, 2021).all()
    assert dated["source"].str.startswith("http").all()
    assert set(dated["confidence"]) <= {"sourced", "weak"}
    # the undated ones say why (no railway; no qualifying line) and are not "sourced"
    undated = d[d["year"].isna()]
    assert set(undated["city"]) == {"Zhoushan", "Taizhou_JS"}
    assert (undated["confidence"] == "none").all() and undated["notes"].notna().all()


@pytest.mark.parametrize("file", ["yrd_history.toml", "peers_history.toml"])
def test_the_history_opens_each_station_in_the_month_of_the_data(file):
    sc = load_scenario(file)
    d = _openings().set_index("city")
    want = {c: round(float(r.year + (r.month - 1) / 12), 2)
            for c, r in d.loc[list(sc.geography.cities)].dropna(subset=["year"]).iterrows()}
    got = {}
    for r in sc.rules:
        if "hsr_station" in r.overrides:
            assert r.overrides["hsr_station"] is True and r.until_year >= 2100
            for i in r.cities:
                city = sc.geography.cities[i]
                assert city not in got, f"{city} opened twice"
                got[city] = r.from_year
    assert got == want
    # and the policy in force follows: no station before the month, a station from it
    for city, year in want.items():
        i = sc.geography.index(city)
        assert not sc.policy_at(year - 0.01)[0]["hsr_station"][i]
        assert sc.policy_at(year)[0]["hsr_station"][i]


def test_the_policy_in_force_is_the_rules_applied_in_order_whatever_was_met_before():
    """``policy_at`` reuses a city's policy per combination of rules: the arrays are those
    of applying the rules afresh, in any order of the years asked."""
    sc = load_scenario("yrd_calibrated.toml")
    years = [2021.5, 2001.0, 2015.25, 2008.75, 2019.0, 2001.0]
    for year in years:
        arrays, active = sc.policy_at(year)
        for i in range(sc.geography.n):
            pol = sc.policy
            for k in active:
                if i in sc.rules[k].cities:
                    pol = pol.replace(**sc.rules[k].overrides)
            for name, values in arrays.items():
                if name != "_lead_targets":
                    assert values[i] == getattr(pol, name), (year, i, name)
