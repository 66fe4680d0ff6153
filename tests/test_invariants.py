"""Invariants over the whole parameter space (property-based: every parameter drawn from
its declared range)."""

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.model import InnovationModel
from model.params import BUDGET_SHARES, Params, Policy
from tests.conftest import small_grid

SCALE_KEYS = {"n_talent", "n_firms", "n_funds", "start_year"}


def _field_strategy(f):
    md = f.metadata
    if md["kind"] is bool:
        return st.booleans()
    if md["kind"] is str:
        return None
    lo, hi = md["lo"], md["hi"]
    if md["kind"] is int:
        return st.integers(int(lo), int(min(hi, lo + 1000)))
    elem = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if isinstance(f.default, tuple):
        return st.tuples(*[elem] * len(f.default))
    return elem


@st.composite
def params_and_policy(draw):
    prm = {}
    for f in dataclasses.fields(Params):
        if f.name in SCALE_KEYS:
            continue
        prm[f.name] = draw(_field_strategy(f))
    if prm["mature_capability"] < prm["scaleup_capability"]:
        prm["mature_capability"], prm["scaleup_capability"] = (prm["scaleup_capability"],
                                                               prm["mature_capability"])
    if prm["capital_share"] + prm["talent_output_share"] >= 1.0:
        prm["capital_share"] = 0.99 * (1.0 - prm["talent_output_share"])
    pol = {}
    for f in dataclasses.fields(Policy):
        s = _field_strategy(f)
        if s is not None:
            pol[f.name] = draw(s)
    total = sum(pol[k] for k in BUDGET_SHARES)
    if total > 1:
        for k in BUDGET_SHARES:
            pol[k] = pol[k] / total * 0.999
    pol["lead_targets"] = draw(st.sampled_from(["", "c0_0", "c4_4, c1_2"]))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in prm.items()}, pol


def check_invariants(m):
    w, c, f, t, fu = m.world, m.city, m.firms, m.talent, m.funds
    for name in ("index", "knowledge", "gdp", "capital", "tfp", "platforms", "wage", "rent",
                 "talent_pool", "credit_pool", "rd_pool", "procurement_pool", "external"):
        arr = getattr(c, name)
        assert np.isfinite(arr).all(), name
        assert (arr >= -1e-9 * max(1.0, np.abs(arr).max())).all(), name
    for name in ("capability", "debt", "vc_in", "value", "rd"):
        arr = f.view(name)
        assert np.isfinite(arr).all() and (arr >= -1e-9).all(), name
    assert np.isfinite(f.view("cash")).all()
    assert (f.view("cash")[f.view("alive")] >= -1e-9).all()
    assert (fu.view("capital") >= -1e-6 * np.maximum(1, fu.view("raised"))).all()
    assert np.isfinite(c.budget).all()  # may be negative: honoured talent offers are owed
    # talent pipeline: entries, exits and moves balance, city by city and step by step
    cities = m.cities_frame()
    k = cities["step"].max() + 1
    n = m.geo.n
    tal = cities["talent"].to_numpy().reshape(k, n)
    flow = (cities["talent_entered"] - cities["talent_left"] + cities["talent_in"]
            - cities["talent_out"]).to_numpy().reshape(k, n)
    assert (tal[1:] == tal[:-1] + flow[1:]).all()
    assert t.n == w.talent_count().sum() == tal[-1].sum()
    uid = t.view("uid")
    assert len(np.unique(uid)) == t.n
    emp = t.view("employer")
    assert (f.alive[emp[emp >= 0]]).all()
    assert (np.bincount(emp[emp >= 0], minlength=f.n) == f.view("staff")).all()
    assert (f.city[emp[emp >= 0]] == t.view("city")[emp >= 0]).all()
    # money accounted: funds and governments
    np.testing.assert_allclose(fu.view("capital"),
                               fu.view("raised") + fu.view("reimbursed") - fu.view("invested"),
                               rtol=1e-9, atol=1e-6)
    held = c.budget + c.talent_pool + c.credit_pool + c.rd_pool + c.procurement_pool
    np.testing.assert_allclose(c.revenue - c.spent - c.lapsed, held, rtol=1e-9,
                               atol=1e-6 * max(1.0, c.revenue.max()))
    np.testing.assert_allclose(fu.view("invested").sum(), w.flows["capital"].sum(), rtol=1e-9)
    # residents: positive everywhere; moves conserve the region's total, which grows by
    # exactly the newcomers from the rest of China (settle)
    r = m.region_frame()
    assert (c.population > 0).all()
    np.testing.assert_allclose(c.population.sum(),
                               m.geo.population.sum() + r["residents_arrived"].sum(), rtol=1e-9)
    # tiers
    assert (r[["tier_1", "tier_2", "tier_3", "tier_4"]].sum(axis=1) == m.geo.n).all()
    assert np.isfinite(r.drop(columns=["seed"]).to_numpy(dtype=float)).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params_and_policy(), st.integers(0, 2**32 - 1))
def test_invariants_hold_over_parameter_space(pp, seed):
    prm, pol = pp
    m = InnovationModel(small_grid(steps=6, params=prm, policy=pol), seed=seed)
    m.run()
    check_invariants(m)


def test_invariants_baseline_long():
    m = InnovationModel(small_grid(steps=40), seed=9)
    m.run()
    check_invariants(m)
