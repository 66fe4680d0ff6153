import numpy as np
import pytest

from model.model import InnovationModel
from model.submodels.renew import compute_graduates, compute_inflow_shares, renew
from tests.conftest import small_grid


def test_graduates_follow_research_capacity():
    rng = np.random.default_rng(0)
    draws = np.array([compute_graduates(np.array([1.0, 3.0]), 0.01, 400, rng)
                      for _ in range(4000)])
    assert draws.mean(axis=0) == pytest.approx([1.0, 3.0], rel=0.05)
    assert compute_graduates(np.zeros(2), 0.01, 400, rng).sum() == 0


def test_inflow_shares_are_a_logit():
    v = np.array([0.0, np.log(3.0)])
    assert compute_inflow_shares(v, np.ones(2)) == pytest.approx([0.25, 0.75])
    assert compute_inflow_shares(v, np.array([3.0, 1.0])) == pytest.approx([0.5, 0.5])


def test_renew_accounting_balances():
    m = InnovationModel(small_grid(steps=4), seed=5)
    m.run(3)
    w = m.world
    before = w.talent_count().copy()
    w.reset_tick()
    renew(w, m.rng)
    after = w.talent_count()
    t = w.tick
    assert (after == before + t["graduates"] + t["talent_inflow"] - t["talent_exit"]).all()
    assert w.talent.n == after.sum()
    # firms' staff stay equal to their employees after leavers are removed
    emp = w.talent.view("employer")
    staff = np.bincount(emp[emp >= 0], minlength=w.firms.n)
    assert (staff == w.firms.view("staff")).all()
    # uids are unique and never reused
    uid = w.talent.view("uid")
    assert len(np.unique(uid)) == len(uid) and uid.max() < w.talent.next_uid


def test_talent_stock_grows_when_entries_exceed_exits():
    sc = small_grid(steps=20, params={"graduate_rate": 0.02, "inflow_rate": 0.01,
                                      "p_talent_exit": 0.005})
    m = InnovationModel(sc, seed=2)
    m.run()
    assert m.talent.n > 1.2 * 600
    sc0 = small_grid(steps=20, params={"graduate_rate": 0.0, "inflow_rate": 0.0,
                                       "p_talent_exit": 0.0})
    m0 = InnovationModel(sc0, seed=2)
    m0.run()
    assert m0.talent.n == 600


def test_tracked_talent_history_ends_when_it_leaves():
    sc = small_grid(steps=12, params={"p_talent_exit": 0.2})
    m = InnovationModel(sc, seed=3)
    m.track(talent=[0, 1, 2, 3, 4])
    m.run()
    gone = [u for u in range(5) if m.talent.row_of(u) is None]
    assert gone, "with a 20% exit rate some of five agents leave in 12 quarters"
    for u in gone:
        with pytest.raises(LookupError):
            _ = m.talent_agent(u).city
        assert m.history("talent", u).index.max() < 12
