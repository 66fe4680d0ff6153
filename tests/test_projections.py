"""Projections from saved states: tier changes per city, fans, figures, outputs."""

import json

import pandas as pd
import pytest

from experiments.analysis.projections import fan, main, tier_changes
from experiments.cli import main as cli
from experiments.running.output import MANIFEST_NAME
from tests.conftest import small_grid_toml

GRID = small_grid_toml(steps=8)
PUSH = 'base = "grid.toml"\n[[rule]]\ncities = ["c1_1"]\nfrom_year = 2002\n' \
       'budget_multiplier = 3.0\n'


def _tiers(rows):
    """rows: (scenario, seed, city, tier at start, tier at end)."""
    out = []
    for sc, seed, city, t0, t1 in rows:
        out.append({"scenario": sc, "seed": seed, "step": 4, "year": 2002.0, "city": city,
                    "tier": t0, "index": 1.0, "rank": 1})
        out.append({"scenario": sc, "seed": seed, "step": 8, "year": 2003.0, "city": city,
                    "tier": t1, "index": 1.0, "rank": 1})
    return pd.DataFrame(out)


def test_tier_changes_are_shares_of_seeds_and_differences_from_the_base():
    rows = [("base", s, "A", 3, 3) for s in range(4)] + \
           [("base", 0, "B", 2, 1), ("base", 1, "B", 2, 2), ("base", 2, "B", 2, 2),
            ("base", 3, "B", 2, 3)] + \
           [("push", s, "A", 3, 2 if s < 3 else 3) for s in range(4)] + \
           [("push", s, "B", 2, 2) for s in range(4)]
    ch = tier_changes(_tiers(rows), base="base").set_index(["scenario", "city"])
    assert ch.loc[("base", "A"), ["p_up", "p_down", "p_change"]].tolist() == [0, 0, 0]
    assert ch.loc[("base", "B"), ["p_up", "p_down", "p_change"]].tolist() == [0.25, 0.25, 0.5]
    assert ch.loc[("base", "B"), "tier_end"] == 2           # modal
    a = ch.loc[("push", "A")]
    assert (a["p_up"], a["tier_start"], a["tier_end"], a["n_seeds"]) == (0.75, 3, 2, 4)
    assert a["p_up_vs_base"] == 0.75 and ch.loc[("push", "B"), "p_down_vs_base"] == -0.25
    assert ch["year_start"].eq(2002.0).all() and ch["year_end"].eq(2003.0).all()


def test_fan_takes_quantiles_over_seeds():
    t = pd.DataFrame({"scenario": "s", "seed": range(21), "year": 2030.0,
                      "mean_index": [float(i) for i in range(21)]})
    f = fan(t).iloc[0]
    assert (f["median"], f["low"], f["high"]) == (10.0, 1.0, 19.0)


@pytest.fixture
def states(tmp_path):
    (tmp_path / "grid.toml").write_text(GRID)
    (tmp_path / "push.toml").write_text(PUSH)
    assert cli(["run", str(tmp_path / "grid.toml"), "--until", "2001", "--seeds", "2",
                "--root-seed", "5", "--save-state", str(tmp_path / "states")]) == 0
    return tmp_path


def test_a_projection_continues_every_scenario_from_the_states(states, capsys):
    out = states / "proj"
    assert main([str(states / "states"), str(states / "grid.toml"), str(states / "push.toml"),
                 "--until", "2002", "--out", str(out)]) == 0
    assert "2 states" in capsys.readouterr().out
    traj = pd.read_csv(out / "trajectories.csv")
    # the history (steps 0-4, saved) and the branch (5-8) in one series per run
    assert sorted(traj["step"].unique()) == list(range(9))
    assert len(traj) == 2 * 2 * 9
    # common history: both scenarios equal to the branching point
    h = traj[traj["step"] <= 4].pivot_table(index=["seed", "step"], columns="scenario",
                                            values="mean_index")
    assert (h["grid"] == h["push"]).all()
    tiers = pd.read_csv(out / "tiers.csv")
    assert sorted(tiers["step"].unique()) == [4, 8] and len(tiers) == 2 * 2 * 2 * 25
    ch = pd.read_csv(out / "tier_changes.csv")
    assert len(ch) == 2 * 25 and ch["p_change"].between(0, 1).all()
    assert (ch.loc[ch["scenario"] == "grid", "p_up_vs_base"] == 0).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["branch_step"] == 4 and meta["base"] == "grid" and len(meta["seeds"]) == 2
    assert len(meta["from_states"]) == 2 and len(meta["from_states"][0]["sha256"]) == 64
    for f in ("projection_fan.png", "tier_maps.png"):
        assert (out / f).stat().st_size > 10_000
    assert set(json.loads((out / MANIFEST_NAME).read_text())["files"]) >= {
        "trajectories.csv", "tiers.csv", "tier_changes.csv", "projection_fan.png"}
    # innogrid report draws the fan and the tier maps of a projection
    capsys.readouterr()
    assert cli(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "Index: history and projection" in page and "Tier changes (share of seeds)" in page
    assert "continued from</th><td>2 saved states at step 4" in page and "git_commit" in page
    assert page.count("data:image/png;base64") == 2
