"""Sweeps: specs, the same rows on every backend (Dask included), resume, faults."""

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.running.sweep import (
    Store,
    load_results,
    load_spec,
    local_cluster,
    make_tasks,
    sweep,
    tidy,
)
from model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
GRID = str(ROOT / "scenarios" / "grid_baseline.toml")


def _spec(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return load_spec(p)


def _abm_spec(tmp_path, replicates=2, values="[0.1, 0.3]", steps=4):
    return _spec(tmp_path, f'scenarios = ["{GRID}"]\nreplicates = {replicates}\nroot_seed = 7\n'
                 f'steps = {steps}\n[design]\nkind = "grid"\n[params]\nspill_rate = {values}\n'
                 "n_talent = [500]\nn_firms = [100]\nn_funds = [5]\n")


def _toy_spec(tmp_path, model, xs, token, replicates=2):
    return _spec(tmp_path, f'model = "tests.sweep_models:{model}"\nreplicates = {replicates}\n'
                 f'root_seed = 11\n[design]\nkind = "grid"\n[params]\nx = {xs}\n'
                 f"token = [{token!r}]\n", name=f"{model}.toml")


def _same(a, b):
    cols = [c for c in a.columns if c != "seconds"]  # timing is metadata, not a result
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))


def test_tasks_spawn_replicate_seeds_from_one_root_with_common_random_numbers(tmp_path):
    spec = _abm_spec(tmp_path, replicates=3)
    tasks = make_tasks(spec)
    assert len(tasks) == 2 * 3
    seeds = {t.replicate: t.seed for t in tasks if t.point == 0}
    assert all(t.seed == seeds[t.replicate] for t in tasks)  # same seeds at every point
    assert len({t.task_id for t in tasks}) == 6
    assert [t.task_id for t in make_tasks(spec)] == [t.task_id for t in tasks]  # stable ids


@pytest.mark.parametrize("text,key", [
    ("colour = 1\n", "colour"),
    ('[design]\nkind = "lattice"\n', "design.kind"),
    ('[design]\nkind = "grid"\n[params]\nspill_rate = [-1.0]\n', "params.spill_rate"),
    ('[design]\nkind = "sobol"\nn = 8\n[params]\nspill_rate = [0.5, 0.1]\n', "params.spill_rate"),
    ('[design]\nkind = "grid"\n[params]\nnot_a_param = [1.0]\n', "params.not_a_param"),
    ("replicates = 0\n", "replicates"),
    ('model = "nowhere"\n', "model"),
])
def test_spec_errors_name_the_key(tmp_path, text, key):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_spec(p)
    assert e.value.key == key and str(p) in str(e.value)


def test_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text('[design]\nkind = "lattice"\n')
    assert main(["sweep", str(p), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "design.kind" in err and "sobol" in err
    assert not (tmp_path / "o").exists()


def test_same_rows_bit_for_bit_on_serial_processes_and_dask(tmp_path):
    spec = _abm_spec(tmp_path)
    a = sweep(spec, tmp_path / "serial", backend="serial", progress=False)
    b = sweep(spec, tmp_path / "processes", backend="processes", jobs=2, progress=False)
    c = sweep(spec, tmp_path / "dask_local", backend="dask", jobs=2, progress=False)
    # a real scheduler address: a cluster on 127.0.0.1 that the test starts and stops
    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        d = sweep(spec, tmp_path / "dask_addr", backend="dask", scheduler=cluster.scheduler_address,
                  progress=False)
    assert len(a) == 4 and (a["status"] == "ok").all()
    for other in (b, c, d):
        _same(a, other)
    assert a["out.mean_index"].nunique() == 4  # the runs differ; they are not one run copied
    manifest = json.loads((tmp_path / "serial" / "manifest.json").read_text())
    assert manifest["root_seed"] == 7 and len(manifest["seeds"]) == 2
    assert manifest["points"] == [{"spill_rate": 0.1, "n_talent": 500.0, "n_firms": 100.0,
                                   "n_funds": 5.0},
                                  {"spill_rate": 0.3, "n_talent": 500.0, "n_firms": 100.0,
                                   "n_funds": 5.0}]
    long = tidy(a)
    assert set(long.columns) >= {"task_id", "seed", "outcome", "value"}
    assert len(long) == 4 * len([col for col in a.columns if col.startswith("out.")])


def test_rerun_computes_only_what_is_missing(tmp_path):
    token = float(time.time_ns() % 10**9)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"innogrid-count-{token!r}.log"
    spec = _toy_spec(tmp_path, "counting", "[0.1, 0.2, 0.3]", token)
    full = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    assert len(full) == 6 and len(log.read_text().splitlines()) == 6
    again = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    assert len(log.read_text().splitlines()) == 6  # nothing ran twice
    _same(full, again)
    # a store holding half the runs (as after an interruption) gets the other half only
    half = tmp_path / "half"
    Store(half).open(spec, make_tasks(spec))
    for row in full.iloc[:3].to_dict("records"):
        Store(half).append(row)
    resumed = sweep(spec, half, backend="serial", progress=False)
    assert len(log.read_text().splitlines()) == 9
    _same(full, resumed)
    log.unlink()


def test_store_refuses_another_spec(tmp_path):
    a = _abm_spec(tmp_path)
    sweep(a, tmp_path / "s", backend="serial", progress=False)
    b = _abm_spec(tmp_path, values="[0.2]")
    with pytest.raises(ScenarioError, match="another experiment"):
        sweep(b, tmp_path / "s", backend="serial", progress=False)


def test_a_run_that_raises_is_recorded_and_the_rest_go_on(tmp_path):
    spec = _toy_spec(tmp_path, "fails_on", "[0.1, 0.5, 0.9]", 1.0)
    res = sweep(spec, tmp_path / "s", backend="processes", jobs=2, progress=False)
    assert len(res) == 6
    bad = res[res["status"] == "failed"]
    assert sorted(bad["param.x"]) == [0.5, 0.5, 0.9, 0.9]
    assert bad["error"].str.contains("ValueError: x = ").all()
    assert bad["seed"].notna().all() and (res[res["status"] == "ok"]["param.x"] == 0.1).all()
    # recorded failures are not re-run unless asked
    again = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    _same(res, again)


def test_a_worker_that_dies_is_retried_and_a_run_that_always_kills_it_fails(tmp_path):
    token = float(time.time_ns() % 10**9)
    spec = _toy_spec(tmp_path, "dies_once", "[0.1, 0.25, 0.5]", token)
    res = sweep(spec, tmp_path / "once", backend="processes", jobs=2, progress=False)
    assert len(res) == 6 and (res["status"] == "ok").all()  # retried after the death
    ref = sweep(_toy_spec(tmp_path, "quadratic", "[0.1, 0.25, 0.5]", token),
                tmp_path / "ref", backend="serial", progress=False)
    assert np.array_equal(res["out.y"], ref["out.y"])
    spec = _toy_spec(tmp_path, "always_dies", "[0.1, 0.75]", token)
    res = sweep(spec, tmp_path / "always", backend="processes", jobs=2, retries=1,
                progress=False)
    dead = res[res["param.x"] == 0.75]
    assert len(res) == 4 and (dead["status"] == "failed").all()
    assert dead["error"].str.contains("worker died").all()
    assert (res[res["param.x"] == 0.1]["status"] == "ok").all()


def test_a_local_cluster_keeps_to_127_0_0_1_and_leaves_port_8787_alone():
    """Two clusters at once (two test workers, two studies) must not compete for 8787."""
    import socket
    import warnings

    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        busy.bind(("127.0.0.1", 8787))
        busy.listen()
    except OSError:  # already held by someone else: busy either way
        pass
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with local_cluster(1) as cluster:
                assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
                http = cluster.scheduler.http_server
                assert http.address == "127.0.0.1" and http.port != 8787
        assert not [w for w in caught if "already in use" in str(w.message)]
    finally:
        busy.close()


def test_dask_retries_a_run_whose_worker_died(tmp_path):
    token = float(time.time_ns() % 10**9)
    spec = _toy_spec(tmp_path, "dies_once", "[0.1, 0.25]", token)
    res = sweep(spec, tmp_path / "d", backend="dask", jobs=2, progress=False)
    assert len(res) == 4 and (res["status"] == "ok").all()


def test_store_survives_a_cut_line_and_a_kill_during_compaction(tmp_path):
    spec = _toy_spec(tmp_path, "quadratic", "[0.1, 0.2]", 2.0)
    full = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    store = Store(tmp_path / "s")
    # a kill between writing a part and emptying the journal: rows in both places
    for row in full.to_dict("records"):
        store.append(row)
    with open(store.journal, "ab") as fh:
        fh.write(b'{"task_id": "cut sh')  # a line a kill cut short
    loaded = load_results(tmp_path / "s")
    assert len(loaded) == 4 and loaded["task_id"].is_unique
    _same(full, loaded)
    store.compact()
    assert store.journal.read_text() == ""
    assert len(pd.read_parquet(store.parts)) == 4  # the dataset itself has no duplicate


def test_sigkill_loses_only_in_flight_runs_and_resume_completes(tmp_path):
    from tests.test_lifetime import start_sweep

    proc, spec_file, out = start_sweep(tmp_path, steps=12, rows=3)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, at once
    proc.wait(timeout=30)
    spec = load_spec(spec_file)
    partial = load_results(out)
    assert 3 <= len(partial) < 24 and partial["task_id"].is_unique
    assert (partial["status"] == "ok").all()
    resumed = sweep(spec, out, backend="serial", progress=False)
    assert len(resumed) == 24 and resumed["task_id"].is_unique
    fresh = sweep(spec, tmp_path / "fresh", backend="serial", progress=False)
    _same(fresh, resumed)


def test_cli_sweep_prints_a_summary_and_help_has_an_example(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('model = "tests.sweep_models:quadratic"\nreplicates = 2\n'
                    '[design]\nkind = "grid"\n[params]\nx = [0.1, 0.2]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--backend", "serial",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "4 runs" in out and "4 ok, 0 failed" in out
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "example: innogrid sweep" in capsys.readouterr().out


# --- the store keyed by content, newest outcome, locking, whole-spec checks (issue 11) ---

SMALL = ("[run]\nsteps = 2\n[geography]\nkind = \"grid\"\nwidth = 5\nheight = 5\n"
         "[params]\nn_talent = {talent}\nn_firms = 60\nn_funds = 3\n")


def _two_folders_spec(tmp_path, talent_a=300, talent_b=900):
    for d, talent in (("a", talent_a), ("b", talent_b)):
        (tmp_path / d).mkdir(exist_ok=True)
        (tmp_path / d / "s.toml").write_text(SMALL.format(talent=talent))
    return _spec(tmp_path, 'scenarios = ["a/s.toml", "b/s.toml"]\nreplicates = 2\n'
                 'root_seed = 5\n[design]\nkind = "grid"\n')


def test_tasks_are_keyed_by_content_not_by_file_name(tmp_path):
    spec = _two_folders_spec(tmp_path)
    res = sweep(spec, tmp_path / "st", backend="serial", progress=False)
    assert len(res) == 4 and (res["status"] == "ok").all() and res["task_id"].is_unique
    a, b = res.iloc[:2], res.iloc[2:]  # the same file name "s", different parameters
    assert not np.allclose(a["out.talent_cross_province"].to_numpy(),
                           b["out.talent_cross_province"].to_numpy())
    # an edited scenario is a new task: a's runs are recomputed, b's are kept as they were
    _two_folders_spec(tmp_path, talent_a=600)
    again = sweep(spec, tmp_path / "st", backend="serial", progress=False)
    assert len(again) == 4 and again["task_id"].is_unique
    assert not set(again["task_id"][:2]) & set(res["task_id"])
    assert list(again["task_id"][2:]) == list(res["task_id"][2:])
    assert list(again["seconds"][2:]) == list(res["seconds"][2:])  # not run again
    fresh = sweep(spec, tmp_path / "fresh", backend="serial", progress=False)
    _same(fresh, again)


def test_the_model_code_is_part_of_the_key(tmp_path, monkeypatch):
    import experiments.running.sweep as sw

    spec = _toy_spec(tmp_path, "quadratic", "[0.1]", 3.0)
    before = [t.task_id for t in make_tasks(spec)]
    monkeypatch.setattr(sw, "code_version", lambda model="abm": "another version")
    assert not set(before) & {t.task_id for t in make_tasks(spec)}


def test_retry_failed_keeps_the_newest_outcome_through_compaction(tmp_path):
    token = float(time.time_ns() % 10**9)
    spec = _toy_spec(tmp_path, "fails_once", "[0.1, 0.2]", token)
    first = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    assert (first["status"] == "failed").all()
    retried = sweep(spec, tmp_path / "s", backend="serial", progress=False, retry_failed=True)
    assert len(retried) == 4 and (retried["status"] == "ok").all()
    # after further compactions and a plain re-run the successes still win
    Store(tmp_path / "s").compact()
    again = sweep(spec, tmp_path / "s", backend="serial", progress=False)
    assert len(again) == 4 and (again["status"] == "ok").all()
    _same(retried, again)


def test_a_store_killed_before_its_manifest_resumes(tmp_path):
    from experiments.running.output import claim

    spec = _toy_spec(tmp_path, "quadratic", "[0.1, 0.2]", 4.0)
    ref = sweep(spec, tmp_path / "ref", backend="serial", progress=False)
    (tmp_path / "empty").mkdir()  # killed right after creating the folder
    # killed after the marker, before manifest.json
    claim(tmp_path / "marked", "sweep", ("manifest.json", "journal.jsonl", "results"))
    for d in ("empty", "marked"):
        _same(ref, sweep(spec, tmp_path / d, backend="serial", progress=False))


def test_stale_temporary_files_are_cleared_when_a_store_is_opened(tmp_path):
    spec = _toy_spec(tmp_path, "quadratic", "[0.1]", 5.0)
    out = tmp_path / "s"
    sweep(spec, out, backend="serial", progress=False)
    stale = [out / ".journal.jsonl.1a2b3c4d.tmp", out / "results" / ".part-00007.parquet.x.tmp",
             out / "results" / "tmpq1w2e3.tmp"]
    for p in stale:
        p.write_text("left by a kill")
    sweep(spec, out, backend="serial", progress=False)
    assert not [p for p in stale if p.exists()]


def test_a_second_sweep_on_a_store_in_use_exits_2(tmp_path, capsys):
    token = float(time.time_ns() % 10**9)
    spec = _toy_spec(tmp_path, "counting", "[0.1]", token)
    out = tmp_path / "s"
    with Store(out).locked():  # a sweep running on it
        assert main(["sweep", spec.file, "--out", str(out), "--backend", "serial",
                     "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "in use by another sweep" in err
    assert f"process {os.getpid()}" in err
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"innogrid-count-{token!r}.log"
    assert not log.exists()  # nothing ran
    assert not (out / "journal.jsonl").exists()


@pytest.mark.parametrize("text,key,allowed", [
    ('model = "tests.sweep_models:quadratic"\nnoise = nan\n', "noise", "finite"),
    ('model = "tests.sweep_models:quadratic"\nnoise = inf\n', "noise", "finite"),
    (f'scenarios = ["{GRID}"]\n[params]\nn_firms = [100.7]\n', "params.n_firms", "integers"),
    (f'scenarios = ["{GRID}"]\n[params]\nspill_rate = [nan]\n', "params.spill_rate", "finite"),
    ('model = "no_such_package.module:f"\n', "model", "importable"),
    ('model = "tests.sweep_models:no_such_function"\n', "model", "importable"),
    (f'scenarios = ["{GRID}"]\n[params]\nmature_capability = [1.0]\n', "mature_capability",
     "scaleup_capability"),
])
def test_a_spec_that_cannot_run_exits_2_before_any_run(tmp_path, capsys, text, key, allowed):
    spec = tmp_path / "bad.toml"
    spec.write_text(text + ('[design]\nkind = "grid"\n' if "[params]" not in text else ""))
    out = tmp_path / "o"
    assert main(["sweep", str(spec), "--out", str(out), "--backend", "serial",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(spec) in err and key in err and allowed in err, err
    assert not out.exists()


def test_a_trial_run_stops_a_spec_whose_model_fails(tmp_path, capsys, monkeypatch):
    def broken(sc, seed, steps=None):
        raise FloatingPointError("the model cannot run this")

    monkeypatch.setattr("experiments.analysis.compare.scenario_measures", broken)
    spec = tmp_path / "t.toml"
    spec.write_text(f'scenarios = ["{GRID}"]\n[design]\nkind = "grid"\n[params]\n'
                    'spill_rate = [0.1]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--backend", "serial",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "trial" in err and "FloatingPointError" in err
    assert not (tmp_path / "o").exists()


def _series_spec(tmp_path, series='["mean_index", "cv"]', steps=3):
    return _spec(tmp_path, f'scenarios = ["{GRID}"]\nreplicates = 2\nroot_seed = 7\n'
                 f"steps = {steps}\nseries = {series}\n[design]\nkind = \"grid\"\n[params]\n"
                 "spill_rate = [0.1, 0.3]\nn_talent = [500]\nn_firms = [100]\nn_funds = [5]\n",
                 name="series.toml")


def test_series_record_every_step_of_every_run_as_the_model_computes_them(tmp_path):
    from experiments.running.cache import cached_run
    from experiments.running.sweep import _with_params, load_series
    from model.scenario import load_scenario

    spec = _series_spec(tmp_path)
    res = sweep(spec, tmp_path / "store", backend="serial", progress=False)
    series = load_series(tmp_path / "store")
    assert list(series.columns) == ["task_id", "scenario", "point", "replicate", "seed", "step",
                                    "measure", "value"]
    assert len(series) == 4 * 4 * 2  # runs x steps 0..3 x measures
    assert not series.duplicated(["task_id", "step", "measure"]).any()
    assert set(series["seed"]) == set(res["seed"])  # the seeds are in the table
    # one run against the model's own region table
    t = make_tasks(spec)[3]
    rec = cached_run(_with_params(load_scenario(t.scenario), t.params), t.seed, 3)
    for m in ("mean_index", "cv"):
        got = series[(series["task_id"] == t.task_id) & (series["measure"] == m)]
        assert got["step"].tolist() == [0, 1, 2, 3]
        np.testing.assert_array_equal(got["value"].to_numpy(), rec.region[m].to_numpy(float))
    # the end-of-run outcome agrees with the series' last step
    last = series[(series["step"] == 3) & (series["measure"] == "cv")].set_index("task_id")
    np.testing.assert_allclose(res.set_index("task_id")["out.cv"].loc[last.index],
                               last["value"], rtol=1e-12)
    # a spec without series records none, and its store has no series/
    plain = sweep(_abm_spec(tmp_path, steps=3), tmp_path / "plain", backend="serial",
                  progress=False)
    assert len(plain) == 4 and load_series(tmp_path / "plain").empty
    assert not (tmp_path / "plain" / "series").exists()


def test_series_survive_a_kill_between_the_two_parts_of_a_compaction(tmp_path, monkeypatch):
    from experiments.running.sweep import load_series, run_task

    spec = _series_spec(tmp_path)
    tasks = make_tasks(spec)
    store = Store(tmp_path / "store")
    with store.locked():
        store.open(spec, tasks)
        for t in tasks:
            store.append(run_task(t))
        written = []
        real = Store._write_part

        def killed_after_the_series(self, where, frame):
            real(self, where, frame)
            written.append(where.name)
            raise KeyboardInterrupt  # as if killed before the results part

        monkeypatch.setattr(Store, "_write_part", killed_after_the_series)
        with pytest.raises(KeyboardInterrupt):
            store.compact()
        monkeypatch.setattr(Store, "_write_part", real)
        assert written == ["series"] and store.load().shape[0] == 4  # rows still in the journal
        store.compact()  # the next compaction writes both again
    assert len(list((tmp_path / "store" / "series").glob("part-*.parquet"))) == 2
    series = load_series(tmp_path / "store")
    assert len(series) == 32 and not series.duplicated(["task_id", "step", "measure"]).any()
    assert len(load_results(tmp_path / "store")) == 4
    # resuming runs nothing and keeps them
    again = sweep(spec, tmp_path / "store", backend="serial", progress=False)
    assert len(again) == 4 and len(load_series(tmp_path / "store")) == 32


@pytest.mark.parametrize("series,wanted", [
    ('["mean_indx"]', "series = 'mean_indx': a region measure; did you mean 'mean_index'?"),
    ('["cv", "cv"]', "each measure once"),
    ('"cv"', "a list of region measures"),
])
def test_series_names_are_checked_with_a_suggestion(tmp_path, series, wanted):
    with pytest.raises(ScenarioError) as e:
        _series_spec(tmp_path, series)
    assert e.value.key == "series" and wanted in str(e.value) and "series.toml" in str(e.value)


def test_series_need_the_model(tmp_path):
    with pytest.raises(ScenarioError, match="only with model"):
        _spec(tmp_path, 'model = "ishigami"\nseries = ["cv"]\n[design]\nkind = "grid"\n'
              "[params]\nx1 = [0.0]\n")


def test_new_spec_keys_leave_the_digest_of_an_existing_spec_as_it_was():
    """Stores made before ``sample`` and ``series`` existed still resume (same digest)."""
    # computed by the code before the keys were added (a spec of the model would hold the
    # scenario's absolute path, which differs between checkouts)
    spec = load_spec(ROOT / "experiments" / "specs" / "ishigami_sobol.toml")
    assert spec.digest() == "e4d08303f4cdf637"
