"""Saving and restoring a model: bit-identical continuation, every field kept, clear errors.

A model saved at step k and restored continues exactly as one that never stopped: every
array of the world, the generators, Mesa's clock and the recorded tables are compared
after more steps (several k, three scenarios). The encoding walks the objects, so a
field added later is saved without a change to model/state.py; the round-trip test
compares every attribute the objects have, and fails for one that is not restored.
"""

import dataclasses
import json
import zipfile

import mesa
import numpy as np
import pandas as pd
import pytest

from model import state as state_mod
from model.entities import Government, World
from model.model import InnovationModel, last_step
from model.scenario import ScenarioError, load_scenario
from model.state import StateError
from model.submodels.spill import compute_effective_distance, compute_spill_kernel
from tests.conftest import small_grid


def differences(a, b, path="", out=None):
    """Paths where ``a`` and ``b`` differ, comparing arrays bit for bit (dtype included)."""
    out = [] if out is None else out
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        same = (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        if not same:
            out.append(path)
    elif isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            out.append(f"{path} keys {sorted(set(a) ^ set(b))}")
        for k in a:
            if k in b:
                differences(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            out.append(f"{path} ({type(a).__name__} {len(a)} vs {type(b).__name__} {len(b)})")
        else:
            for k, (x, y) in enumerate(zip(a, b, strict=True)):
                differences(x, y, f"{path}/{k}", out)
    elif type(a).__module__ == "model.entities" and type(a) is type(b):
        differences(vars(a), vars(b), path, out)
    elif dataclasses.is_dataclass(a) and type(a) is type(b):  # Params, Geography: inputs
        if a is not b and state_mod.geography_digest(a) != state_mod.geography_digest(b):
            out.append(path)
    elif not (a == b or (a != a and b != b)):  # numbers, strings, None (NaN equals NaN)
        out.append(f"{path}: {a!r} != {b!r}")
    return out


def assert_same_model(ref, got):
    """Everything a continuation depends on or reports is equal, bit for bit."""
    assert differences(ref.world, got.world, "world") == []
    for name in InnovationModel.RECORDED:
        assert differences(getattr(ref, name), getattr(got, name), name) == []
    assert ref.rng.bit_generator.state == got.rng.bit_generator.state
    assert ref.random.getstate() == got.random.getstate()
    assert (ref.steps, ref.time, ref.running) == (got.steps, got.time, got.running)
    assert differences(ref.policy, got.policy, "policy") == []
    assert ref._active_rules == got._active_rules
    pd.testing.assert_frame_equal(ref.cities_frame(), got.cities_frame(), check_exact=True)
    pd.testing.assert_frame_equal(ref.region_frame(), got.region_frame(), check_exact=True)
    dc_a, dc_b = ref.datacollector, got.datacollector
    reporters = {"model_reporters", "agent_reporters", "agenttype_reporters"}
    assert set(vars(dc_a)) == set(vars(dc_b))
    for k in set(vars(dc_a)) - reporters:   # every record Mesa's DataCollector keeps
        assert differences(getattr(dc_a, k), getattr(dc_b, k), f"datacollector.{k}") == [], k
    pd.testing.assert_frame_equal(dc_a.get_model_vars_dataframe(),
                                  dc_b.get_model_vars_dataframe(), check_exact=True)
    if ref.collect_agents:
        pd.testing.assert_frame_equal(dc_a.get_agenttype_vars_dataframe(Government),
                                      dc_b.get_agenttype_vars_dataframe(Government),
                                      check_exact=True)


# scenario, planned steps T, more steps N: saved at k in {0, 1, T // 2, T} and run to T + N.
# hefei_push's own rule starts in 2008 (step 28), after the middle save, and yrd_history's
# dated rules switch on and off within the 34 steps.
CASES = [("grid_baseline.toml", 8, 4), ("yrd_calibrated.toml", 8, 4), ("hefei_push.toml", 30, 4)]


@pytest.mark.parametrize(("name", "T", "N"), CASES)
def test_restored_model_continues_bit_identically(tmp_path, name, T, N):
    sc = load_scenario(name)
    ref = InnovationModel(sc, seed=11)
    ref.track(firms=[0, 3], talent=[0, 5])
    saves = {0, 1, T // 2, T}
    for k in range(T + 1):
        if k in saves:
            ref.save(tmp_path / f"k{k}.npz")
        if k < T:
            ref.step()
    ref.run(N)
    for k in sorted(saves):
        got = InnovationModel.load(tmp_path / f"k{k}.npz")
        assert got.world.step == k and got.steps == k and got.seed == 11
        assert got.restored_from["step"] == k and got.restored_from["params_changed"] == {}
        got.run(T + N - k)
        assert_same_model(ref, got)
        assert ref.history("firm", 3).equals(got.history("firm", 3))


def test_saving_changes_nothing_and_a_restore_equals_the_saved_model(tmp_path):
    sc = small_grid(steps=6, rules=[{"cities": ["c1_1"], "from_year": 2002,
                                     "share_rd_subsidy": 0.1}])
    m = InnovationModel(sc, seed=4)
    m.run(5)
    before = m.rng.bit_generator.state
    m.save(tmp_path / "s.npz")
    assert m.rng.bit_generator.state == before
    got = InnovationModel.load(tmp_path / "s.npz")
    assert_same_model(m, got)
    assert got.params == sc.params and got.config.rules == sc.rules
    assert (got.config.steps, got.config.seed, got.config.policy) == (sc.steps, sc.seed, sc.policy)
    a, b = InnovationModel(sc, seed=4), got
    a.run(8)
    b.run(3)
    assert_same_model(a, b)


def test_every_field_is_round_tripped_including_fields_added_later(tmp_path):
    m = InnovationModel(small_grid(), seed=2)
    m.run(3)
    # what another change might add: new fields on World, CityState and a pool, of the kinds
    # the model holds (arrays, numbers, a dict of arrays, a tuple cache key)
    m.world.talent0 = np.arange(5.0)
    m.world.talent_price = np.float64(1.25)
    m.world.extra_cache = ((1, 2), b"\x00\x01", None)
    m.world.city.talent_price = np.linspace(0, 1, m.geo.n)
    m.world.firms.scratch = {"a": np.ones(3, dtype=np.int8)}
    m.save(tmp_path / "s.npz")
    got = InnovationModel.load(tmp_path / "s.npz")
    assert differences(m.world, got.world, "world") == []
    assert got.world.talent0.dtype == np.float64 and got.world.talent_price == 1.25
    assert type(got.world.talent_price) is np.float64
    assert got.world.extra_cache == ((1, 2), b"\x00\x01", None)
    # every dataclass field and every pool column is there (the generic walk covers them)
    for f in dataclasses.fields(World):
        assert hasattr(got.world, f.name), f.name
    for pool in ("firms", "talent", "funds"):
        p = getattr(got.world, pool)
        for col in type(p).COLUMNS:
            assert np.array_equal(getattr(p, col), getattr(getattr(m.world, pool), col))
    # a kind of value the file cannot hold is refused when saving, naming where it is
    m.world.handle = object()
    with pytest.raises(TypeError, match="world/handle"):
        m.save(tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists() and not list(tmp_path.glob(".t.npz*"))


def test_the_comparison_detects_a_field_that_is_not_restored(tmp_path):
    m = InnovationModel(small_grid(), seed=2)
    m.save(tmp_path / "s.npz")
    got = InnovationModel.load(tmp_path / "s.npz")
    got.world.city.gdp = got.world.city.gdp.copy()
    got.world.city.gdp[0] = np.nextafter(got.world.city.gdp[0], np.inf)
    del got.world.k_ref
    diff = differences(m.world, got.world, "world")
    assert "world/city/gdp" in diff and any("k_ref" in d for d in diff)


def test_every_model_attribute_is_saved_or_re_created():
    """A new data attribute of the model must be saved (RECORDED) or said to be re-created."""
    m = InnovationModel(small_grid(), seed=1)
    mesa_own = set(vars(mesa.Model(rng=0)))
    re_created = {"config", "seed", "geo", "params", "policy", "_active_rules", "world",
                  "collect_agents", "restored_from", "space", "governments", "fund_agents",
                  "adjacency", "datacollector"}
    unknown = set(vars(m)) - mesa_own - re_created - set(InnovationModel.RECORDED)
    assert not unknown, (f"model attributes {sorted(unknown)}: add them to "
                         "InnovationModel.RECORDED (saved) or re-create them in _build")


def test_caches_are_pure_functions_of_the_state(tmp_path):
    """Dropping World.CACHES changes nothing: they are rebuilt, bit for bit, before use."""
    sc = small_grid(policy={"corridor_active": True, "integration": 0.5})
    m = InnovationModel(sc, seed=3)
    m.run(4)
    m.save(tmp_path / "s.npz")
    kept = InnovationModel.load(tmp_path / "s.npz")
    cleared = InnovationModel.load(tmp_path / "s.npz")
    assert all(getattr(cleared.world, k) is not None for k in World.CACHES)
    cleared.world.clear_caches()
    assert all(getattr(cleared.world, k) is None for k in World.CACHES)
    assert set(World.CACHES) <= {f.name for f in dataclasses.fields(World)}
    kept.run(3)
    cleared.run(3)
    assert_same_model(kept, cleared)


def test_branch_rules_work_across_the_branching_point(tmp_path):
    base = small_grid(steps=12)
    m = InnovationModel(base, seed=8)
    m.run(4)  # the state at 2002.0
    m.save(tmp_path / "s.npz")
    early = {"cities": ["c0_0"], "from_year": 2001, "share_rd_subsidy": 0.11}  # in force already
    late = {"cities": ["c4_4"], "from_year": 2003, "share_platform": 0.13}     # from step 8
    gone = {"cities": ["c2_2"], "until_year": 2002, "share_guidance": 0.04}      # ended before
    branch = small_grid(steps=12, rules=[early, late, gone])
    b = InnovationModel.load(tmp_path / "s.npz", branch)
    i0, i4, i2 = (b.geo.index(c) for c in ("c0_0", "c4_4", "c2_2"))
    assert b.policy["share_rd_subsidy"][i0] == 0.11           # active at once
    default = base.policy.share_platform
    assert b.policy["share_platform"][i4] == default
    assert b.policy["share_guidance"][i2] == base.policy.share_guidance
    b.run(3)                                                  # steps 4..6: years < 2003
    assert b.policy["share_platform"][i4] == default
    b.step()                                                  # step 7 starts at 2002.75
    assert b.policy["share_platform"][i4] == default
    b.step()                                                  # step 8 starts at 2003.0
    assert b.policy["share_platform"][i4] == 0.13
    assert branch.idle_rules(4, 12) == [2] and branch.idle_rules(0, 12) == []


def test_a_branch_equals_a_replay_when_its_rules_start_after_the_branching_point(tmp_path):
    late = {"cities": ["c4_4", "c1_1"], "from_year": 2003, "share_platform": 0.13,
            "budget_multiplier": 2.0}
    base, other = small_grid(steps=12), small_grid(steps=12, rules=[late])
    m = InnovationModel(base, seed=8)
    m.run(4)
    m.save(tmp_path / "s.npz")
    branch = InnovationModel.load(tmp_path / "s.npz", other)
    branch.run(8)
    replay = InnovationModel(other, seed=8)
    replay.run(12)
    assert_same_model(replay, branch)
    m.run(8)   # and the rule does act: the base differs
    assert differences(m.world.city, replay.world.city, "city")


def test_a_branch_with_other_parameters_rebuilds_the_caches_for_them(tmp_path):
    base = small_grid(steps=12, policy={"corridor_active": True})
    free = small_grid(steps=12, policy={"corridor_active": True},
                      params={"barrier_spill": 1.0, "spill_decay_km": 120.0})
    m = InnovationModel(base, seed=5)
    m.run(4)
    m.save(tmp_path / "s.npz")
    b = InnovationModel.load(tmp_path / "s.npz", free)
    assert b.restored_from["params_changed"] == {"barrier_spill": [0.5, 1.0],
                                                 "spill_decay_km": [150.0, 120.0]}
    assert b.world.params is free.params and b.world.spill_weights is None
    b.step()
    w = b.world
    active = b.geo.corridor & w.policy["corridor_active"].astype(bool)
    eff = compute_effective_distance(b.geo.dist_km, active, free.params.corridor_distance_factor)
    want = compute_spill_kernel(eff, b.geo.province, 120.0, 1.0, w.barrier)
    assert np.array_equal(w.spill_weights, want)
    kept = InnovationModel.load(tmp_path / "s.npz")
    kept.step()
    assert not np.array_equal(kept.world.spill_weights, want)


def test_last_step_and_run_until():
    assert last_step(2001, 2021) == 84 and last_step(2001, 2035) == 140
    m = InnovationModel(small_grid(), seed=1)
    m.run(until=2001)
    assert m.world.step == 4 and m.year == 2002.0
    with pytest.raises(ValueError, match="after the end of 2000"):
        m.run(until=2000)


def test_the_file_is_a_documented_npz_without_pickles(tmp_path):
    m = InnovationModel(small_grid(), seed=1)
    m.run(2)
    path = m.save(tmp_path / "s.npz")
    header = json.loads(zipfile.ZipFile(path).read("header.json"))
    assert header["format"] == "innogrid-state" and header["format_version"] == 1
    assert header["code_version"] == state_mod.code_version()
    assert header["seed"] == 1 and header["step"] == 2 and header["year"] == 2001.5
    assert header["rng"]["bit_generator"] == "PCG64"
    assert header["scenario"]["resolved"]["params"]["n_talent"] == 600
    with np.load(path, allow_pickle=False) as z:   # numpy reads it, no pickle needed
        assert np.array_equal(z["world/city/gdp"], m.city.gdp)
        assert set(z.files) == {*header["arrays"], "header.json"}


# ---------------------------------------------------------------- files that cannot be restored
def _rewrite(src, dst, header_change=None, drop=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename == drop:
                continue
            data = zin.read(item.filename)
            if item.filename == "header.json" and header_change:
                h = json.loads(data)
                header_change(h)
                data = json.dumps(h).encode()
            zout.writestr(item, data)
    return dst


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("state")
    m = InnovationModel(small_grid(), seed=1)
    m.run(2)
    return m.save(d / "good.npz")


def _set(key, value):
    return lambda h: h.__setitem__(key, value)


BAD = [
    ("truncated", lambda src, dst: dst.write_bytes(src.read_bytes()[: len(src.read_bytes()) // 2]),
     "truncated or corrupt"),
    ("not a zip", lambda src, dst: dst.write_text("seed,step\n1,2\n"), "truncated or corrupt"),
    ("format version", lambda src, dst: _rewrite(src, dst, _set("format_version", 2)),
     "state format version 2; this innogrid reads version 1"),
    ("other format", lambda src, dst: _rewrite(src, dst, _set("format", "something")),
     "not an innogrid state"),
    ("code version", lambda src, dst: _rewrite(src, dst, _set("code_version", "0123456789abcdef")),
     "saved by model code '0123456789abcdef'"),
    ("missing array", lambda src, dst: _rewrite(src, dst, drop="world/city/gdp.npy"),
     "world/city/gdp.npy is missing"),
    ("no header", lambda src, dst: _rewrite(src, dst, drop="header.json"), "no header.json"),
    ("bad tree", lambda src, dst: _rewrite(src, dst, _set("world", {"object": "os"})),
     "cannot be decoded"),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_file_that_cannot_be_restored_is_one_clear_error(tmp_path, saved, case, make, message):
    bad = tmp_path / "bad.npz"
    make(saved, bad)
    with pytest.raises(StateError) as e:
        InnovationModel.load(bad)
    text = str(e.value)
    assert isinstance(e.value, ScenarioError)   # the CLI's exit status 2
    assert text.startswith(str(bad)) and message in text and "allowed:" in text
    assert "\n" not in text


def test_a_corrupt_array_is_found_by_its_checksum(tmp_path, saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo("world/firms/cash.npy")
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[at] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(StateError, match="world/firms/cash cannot be read"):
        InnovationModel.load(bad)


def test_a_scenario_on_another_geography_cannot_continue_a_state(saved):
    with pytest.raises(StateError, match="its geography is grid 5x5 .* allowed: a scenario on"):
        InnovationModel.load(saved, small_grid(width=6))
    with pytest.raises(StateError, match="start_year"):
        InnovationModel.load(saved, small_grid(params={"start_year": 2005}))
