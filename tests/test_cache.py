"""The run cache (experiments.running.cache): hits return the very same run; any change of code,
parameters, seed or steps misses; off means off; a damaged entry is recomputed."""

import json
import os

import numpy as np
import pandas as pd
import pytest

import experiments.running.cache as cache
from experiments.cli import main
from experiments.running.cache import cache_dir, cached_run, max_bytes
from tests.conftest import small_grid, small_grid_toml


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A cache directory of this test's own."""
    d = tmp_path / "cache"
    monkeypatch.setenv("INNOGRID_CACHE", str(d))
    monkeypatch.delenv("INNOGRID_CACHE_MAX_GB", raising=False)
    return d


def _entries(d):
    return sorted(p.parent.name for p in d.glob("*/*/entry.json"))


def _same(a, b):
    pd.testing.assert_frame_equal(a.cities, b.cities, check_exact=True)
    pd.testing.assert_frame_equal(a.region, b.region, check_exact=True)
    assert vars(a.city).keys() == vars(b.city).keys() and a.flows.keys() == b.flows.keys()
    for k, v in vars(a.city).items():
        w = getattr(b.city, k)
        assert v.dtype == w.dtype and np.array_equal(v, w, equal_nan=True), k
    for k, v in a.flows.items():
        assert v.dtype == b.flows[k].dtype and np.array_equal(v, b.flows[k]), k


def test_a_second_identical_run_is_a_hit_with_the_same_frames(store):
    sc = small_grid(steps=6)
    a = cached_run(sc, 11)
    b = cached_run(sc, 11)
    assert not a.hit and b.hit and a.key == b.key
    _same(a, b)
    assert _entries(store) == [a.key]
    meta = json.loads((store / a.key[:2] / a.key / "entry.json").read_text())
    assert meta["inputs"]["seed"] == 11 and meta["inputs"]["steps"] == 6
    assert meta["bytes"] > 0 and meta["seconds"] > 0


def test_a_hit_is_bit_identical_to_a_run_without_the_cache(store, monkeypatch):
    sc = small_grid(steps=6)
    cached_run(sc, 5)
    hit = cached_run(sc, 5)
    monkeypatch.setenv("INNOGRID_CACHE", "off")
    plain = cached_run(sc, 5)
    assert hit.hit and not plain.hit and plain.key == ""
    _same(hit, plain)


@pytest.mark.parametrize("change", ["param", "policy", "seed", "steps", "code", "numpy",
                                    "agents"])
def test_any_change_of_the_run_misses(store, monkeypatch, change):
    sc = small_grid(steps=4)
    first = cached_run(sc, 1)
    seed, steps, agents = 1, 4, False
    if change == "param":
        sc = sc.with_overrides(params={"n_talent": 601})
    elif change == "policy":
        sc = small_grid(steps=4, policy={"share_talent": 0.05})
    elif change == "seed":
        seed = 2
    elif change == "steps":
        steps = 5
    elif change == "agents":
        agents = True
    elif change == "numpy":
        monkeypatch.setattr(cache, "package_versions", lambda: {"numpy": "another version"})
    else:
        monkeypatch.setattr(cache, "code_version", lambda: "another version")
    second = cached_run(sc, seed, steps, collect_agents=agents)
    assert not second.hit and second.key != first.key
    assert len(_entries(store)) == 2
    assert cached_run(sc, seed, steps, collect_agents=agents).hit


def test_changed_geography_data_misses(store):
    import dataclasses

    sc = small_grid(steps=3)
    first = cached_run(sc, 1)
    geo = sc.geography
    gdp = np.array(geo.gdp, dtype=float)
    gdp[0] *= 1.01
    moved = dataclasses.replace(sc, geography=dataclasses.replace(geo, gdp=gdp))
    assert cache.cache_key(cache.key_inputs(moved, 1, 3)) != first.key


def test_off_never_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("INNOGRID_CACHE", "off")
    monkeypatch.setenv("HOME", str(tmp_path))  # the default directory would be under here
    assert cache_dir() is None
    r = cached_run(small_grid(steps=3), 1)
    assert not r.hit and not any(tmp_path.rglob("*"))


def test_default_directory_and_size_cap(monkeypatch):
    monkeypatch.delenv("INNOGRID_CACHE", raising=False)
    monkeypatch.delenv("INNOGRID_CACHE_MAX_GB", raising=False)
    assert cache_dir() == cache.Path("~/.cache/innogrid/runs").expanduser()
    assert max_bytes() == 2_000_000_000
    monkeypatch.setenv("INNOGRID_CACHE_MAX_GB", "0")
    assert max_bytes() is None


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage json", "other key"])
def test_a_corrupt_entry_is_recomputed_and_rewritten(store, damage):
    sc = small_grid(steps=4)
    a = cached_run(sc, 3)
    entry = store / a.key[:2] / a.key
    if damage == "truncate":
        data = (entry / "cities.parquet").read_bytes()
        (entry / "cities.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "delete":
        (entry / "arrays.npz").unlink()
    elif damage == "garbage json":
        (entry / "entry.json").write_text("{not json")
    else:
        meta = json.loads((entry / "entry.json").read_text())
        (entry / "entry.json").write_text(json.dumps({**meta, "key": "0" * 64}))
    b = cached_run(sc, 3)
    assert not b.hit
    _same(a, b)
    c = cached_run(sc, 3)
    assert c.hit
    _same(a, c)


def test_an_unwritable_cache_warns_and_runs(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("INNOGRID_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="cannot write"):
        r = cached_run(small_grid(steps=3), 1)
    assert not r.hit and len(r.region) == 4


def test_least_recently_used_entries_are_evicted_above_the_cap(store, monkeypatch):
    sc = small_grid(steps=3)
    first = cached_run(sc, 1)
    size = json.loads((store / first.key[:2] / first.key / "entry.json").read_text())["bytes"]
    # room for two entries: the third write evicts the least recently used one
    monkeypatch.setenv("INNOGRID_CACHE_MAX_GB", str(2.5 * size / 1e9))
    second = cached_run(sc, 2)
    now = os.stat(store / second.key[:2] / second.key / "entry.json").st_mtime
    for rec, age in ((first, 200), (second, 100)):  # the first is the least recently used
        os.utime(store / rec.key[:2] / rec.key / "entry.json", (now - age, now - age))
    assert cached_run(sc, 1).hit  # used again: now the second is the least recently used
    third = cached_run(sc, 3)
    assert _entries(store) == sorted([first.key, third.key])


def test_compare_twice_gives_identical_outputs_and_hits_the_cache(store, tmp_path, capsys,
                                                                  monkeypatch):
    base, other = tmp_path / "base.toml", tmp_path / "other.toml"
    base.write_text(small_grid_toml(steps=4))
    other.write_text(small_grid_toml(steps=4).replace("n_funds = 5", "n_funds = 5\n"
                                                      "spill_rate = 0.3"))
    computed = []
    real = cache._compute

    def counting(*a, **k):
        computed.append(a[1])
        return real(*a, **k)

    monkeypatch.setattr(cache, "_compute", counting)
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert main(["compare", str(base), str(other), "--seeds", "2", "--jobs", "1",
                     "--out", str(out)]) == 0
        outs.append(out)
    capsys.readouterr()
    assert len(computed) == 4  # 2 scenarios x 2 seeds, all on the first call
    assert len(_entries(store)) == 4
    for f in ("compare.csv", "runs.csv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()


def test_run_serves_tables_and_flows_from_the_cache(store, monkeypatch):
    from experiments.running.run import run

    sc = small_grid(steps=4)
    miss, hit = run(sc, seed=7), run(sc, seed=7)
    monkeypatch.setenv("INNOGRID_CACHE", "off")
    plain = run(sc, seed=7)
    assert [o.metadata["run_cache"] for o in (miss, hit, plain)] == ["miss", "hit", "off"]
    for o in (miss, hit):
        pd.testing.assert_frame_equal(o.cities, plain.cities, check_exact=True)
        pd.testing.assert_frame_equal(o.region, plain.region, check_exact=True)
        assert o.flows.keys() == plain.flows.keys()
        for k in plain.flows:
            pd.testing.assert_frame_equal(o.flows[k], plain.flows[k], check_exact=True)
    kept = run(sc, seed=7, keep_model=True)  # the model itself: never from the cache
    assert kept.model is not None and "run_cache" not in kept.metadata
    pd.testing.assert_frame_equal(kept.cities, plain.cities, check_exact=True)


def _in_worker(args):
    sc, seed = args
    r = cached_run(sc, seed)
    return r.hit, r.key, r.region


def test_concurrent_workers_writing_the_same_run_keep_one_whole_entry(store):
    from experiments.running.run import process_pool

    sc = small_grid(steps=4)
    with process_pool(2) as ex:
        out = list(ex.map(_in_worker, [(sc, 9)] * 6))
    assert len({k for _, k, _ in out}) == 1
    for _, _, region in out[1:]:
        pd.testing.assert_frame_equal(region, out[0][2], check_exact=True)
    assert _entries(store) == [out[0][1]]
    assert not [p for p in store.rglob(".*")]  # no scratch or removed entry left behind
    assert cached_run(sc, 9).hit


def _cache_setting(_):
    return os.environ.get("INNOGRID_CACHE")


def test_pool_workers_take_the_cache_setting_of_when_the_pool_was_made(store, monkeypatch):
    from experiments.running.run import process_pool

    monkeypatch.setenv("INNOGRID_CACHE", "off")
    with process_pool(1) as ex:  # the fork server starts now, with the cache off
        assert list(ex.map(_cache_setting, [0])) == ["off"]
    monkeypatch.setenv("INNOGRID_CACHE", str(store))
    with process_pool(2) as ex:
        assert list(ex.map(_cache_setting, range(4))) == [str(store)] * 4
