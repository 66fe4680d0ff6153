"""The forward scenarios (scenarios/forward/): the calibrated history, new levers from 2022."""

from pathlib import Path

from model.params import Params
from model.scenario import SCENARIO_DIR, load_scenario

FORWARD = SCENARIO_DIR / "forward"
POLICIES = ("free_flow", "g60_corridor", "core_leads", "hefei_push", "financial_synergy",
            "tech_intermediaries", "culture_ip", "negative_competition")
BRANCH_STEP = 84          # the end of 2021 from a 2001 start


def test_every_library_policy_has_a_forward_version_with_the_historical_claim():
    assert sorted(p.stem for p in FORWARD.glob("*.toml")) == sorted(
        ["fwd_status_quo"] + [f"fwd_{n}" for n in POLICIES])
    quo = load_scenario(FORWARD / "fwd_status_quo.toml")
    calibrated = load_scenario("yrd_calibrated.toml")
    assert quo.expect is None and quo.rules == calibrated.rules and quo.params == calibrated.params
    for n in POLICIES:
        fwd, hist = load_scenario(FORWARD / f"fwd_{n}.toml"), load_scenario(f"{n}.toml")
        assert fwd.expect == hist.expect, n
        assert Path(FORWARD / f"fwd_{n}.toml").read_text().startswith("# Forward scenario")
        # the inherited rules are the history's; every new one starts in 2022
        assert fwd.rules[:len(quo.rules)] == quo.rules, n
        new = fwd.rules[len(quo.rules):]
        assert all(r.from_year == 2022 for r in new), n
        # before 2022 the policy is the status quo's, and params differ only where the
        # historical version changes them (global: they apply from the branching point)
        for year in (2001.0, 2010.0, 2021.75):
            a, b = fwd.policy_at(year)[0], quo.policy_at(year)[0]
            assert all((a[k] == b[k]).all() for k in a), (n, year)
        changed = {k for k in vars(Params()) if getattr(fwd.params, k) != getattr(quo.params, k)}
        hist_changed = {k for k in vars(Params())
                        if getattr(hist.params, k) != getattr(calibrated.params, k)}
        assert changed == hist_changed, n
        if not new:
            assert changed, n
            continue
        # from 2022 the forward policy in force is the historical version's
        a, b = fwd.policy_at(2030.0)[0], hist.policy_at(2030.0)[0]
        assert all((a[k] == b[k]).all() for k in a), n
        # only the 2001-2021 rules that ended are idle in a 2022-2035 branch
        assert fwd.idle_rules(BRANCH_STEP, 140) == quo.idle_rules(BRANCH_STEP, 140), n
