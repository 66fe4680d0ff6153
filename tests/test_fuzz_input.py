"""Fuzzing the readers (issue #11, section 3): random TOML documents and values given to
the scenario reader and the experiment-spec reader either load or raise the project's
clear error (``ScenarioError``/``ParamError``: one line, exit status 2 at the command
line), never another exception; and what loads is of the declared kinds.

Three kinds of input, each with values of every TOML kind, in range and not (integers at
and beyond 64 bits, NaN and infinities, strings that name cities or nothing, dates,
arrays and tables nested several deep):

* a valid document that uses every key, with one value replaced (each key in turn);
* random documents of the shapes a scenario or spec has, with one fault put anywhere;
* raw text made of TOML's punctuation and the readers' keys (the parser's side).

The readers run in-process; tests/test_bad_input.py has end-to-end cases through the
command line.
"""

import copy
import dataclasses
import datetime as dt
import functools
import re
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments.running.memory import check_memory
from model.observe import SCENARIO_MEASURES
from model.params import ParamError, Params, Policy
from model.scenario import SCENARIO_DIR, ScenarioError, load_scenario

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RAW = settings(FUZZ, max_examples=100)
PER_KEY = settings(FUZZ, max_examples=12)  # per key of a template: every key gets its share

WORDS = ["yrd", "grid", "peers", "Hefei", "Shanghai", "c0_0", "c1_1", "Anhui", "P0", "up",
         "down", "cv", "target_rank", "sobol", "morris", "pawn", "lhs", "abm", "ishigami",
         "grid_baseline.toml", "../../etc/passwd", "/dev/zero", ".", "x.toml", "nope:fn",
         "os:getcwd", "", "é", "a\nb", "\x00"]
EDGE_INTS = [0, 1, -1, 2, 5, 10, 32, 84, 2000, 2010, 10_000, 10_001, 2**31, 2**63 - 1,
             -(2**63), 10**12, 2**63, -(2**63) - 1, 10**30, 10**400]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.0, 1e-200, 1e300, 2.5, 50.0, 1e12]


SCALARS = st.one_of(  # every TOML scalar kind, biased towards the edges the readers check
    st.sampled_from(EDGE_INTS), st.integers(-5, 200),
    st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.sampled_from(WORDS), st.text(max_size=8),
    st.dates(min_value=dt.date(1, 1, 1)), st.times(),
    st.datetimes(min_value=dt.datetime(1, 1, 1)),
)
# scalars, arrays and inline tables nested a few levels deep
NESTED = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["a", "x", "kind", "n", "cities"]), inner, max_size=3),
), max_leaves=8)
ANY = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), NESTED)


def _paths(value, here=()):
    """Every key path into a document (tables and arrays), the document's own keys first."""
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    out = []
    for k, v in items:
        out.append((*here, k))
        out.extend(_paths(v, (*here, k)))
    return out


@st.composite
def fault(draw, doc):
    """``doc`` with one value anywhere in it replaced by anything, or one unknown key added;
    one document in eight is left as it is."""
    paths = _paths(doc)
    # hypothesis's own integers favour the first paths; its Random spreads the faults evenly
    choice = draw(st.randoms(use_true_random=False)).randrange(len(paths) + 2)
    if choice == len(paths) + 1:
        return doc
    if choice == len(paths):
        where = draw(st.sampled_from([(), *[p for p in paths if isinstance(
            _get(doc, p), dict)]]))
        _get(doc, where)[draw(st.sampled_from(["colour", "Run", "x", "a.b"]))] = draw(ANY)
        return doc
    *parent, last = paths[choice]
    _get(doc, tuple(parent))[last] = draw(ANY)
    return doc


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def _in_range(f):
    """A value in a parameter's declared range (or of its kind)."""
    md = f.metadata
    if md["kind"] is bool:
        return st.booleans()
    if md["kind"] is str:
        return st.sampled_from(["", "Hefei", "Hefei, Shanghai", "c0_0", "Gotham"])
    lo, hi = md["lo"], md["hi"]
    if f.name.startswith("share_"):  # budget shares that can sum to at most 1
        hi = min(hi, 0.08)
    elem = (st.integers(int(lo), int(min(hi, lo + 1000))) if md["kind"] is int
            else st.floats(lo, hi, allow_nan=False))
    if isinstance(f.default, tuple):
        return st.lists(elem, min_size=len(f.default), max_size=len(f.default))
    return elem


PARAMS = {f.name: _in_range(f) for f in dataclasses.fields(Params)}
POLICY = {f.name: _in_range(f) for f in dataclasses.fields(Policy)}
PARAM_NAMES = {k: st.lists(st.sampled_from(sorted(d)), max_size=4, unique=True)
               for k, d in (("params", PARAMS), ("policy", POLICY))}
S = {  # the plausible values of the keys, built once
    "text": st.text(max_size=20), "steps": st.integers(1, 84),
    "seed": st.integers(0, 2**63 - 1), "base": st.sampled_from(
        ["grid_baseline.toml", "yrd_baseline.toml", "peers_baseline.toml"]),
    "kind": st.sampled_from(["yrd", "grid", "grid", "peers"]),
    "side": st.integers(5, 12), "cells": st.lists(
        st.lists(st.integers(0, 4), min_size=2, max_size=2), min_size=1, max_size=3),
    "blocks": st.lists(st.integers(1, 4), min_size=2, max_size=2),
    "cell_km": st.floats(0.1, 1000), "radius": st.floats(0.1, 100),
    "cities": st.lists(st.sampled_from(["Hefei", "Shanghai", "c0_0", "c1_1", "Chengdu"]),
                       max_size=3),
    "provinces": st.lists(st.sampled_from(["Anhui", "P0", "Sichuan"]), max_size=2),
    "from": st.integers(1990, 2010), "until": st.integers(2011, 2040), "bool": st.booleans(),
    "n": st.integers(0, 3),
    "measure": st.sampled_from(["cv", "target_rank", "happiness"]),
    "direction": st.sampled_from(["up", "down", "sideways"]),
    "d10": st.integers(0, 9),
}


def _table(draw, fields: dict):
    """Some of ``fields`` (name -> strategy of plausible values)."""
    return {k: draw(v) for k, v in fields.items() if draw(S["bool"])}


@st.composite
def scenarios(draw):
    """A scenario document of the shapes a scenario has, with one fault (:func:`fault`)."""
    doc = _table(draw, {"description": S["text"]})
    if draw(S["d10"]) == 5:
        doc["base"] = draw(S["base"])
    if draw(S["bool"]):
        doc["run"] = _table(draw, {"steps": S["steps"], "seed": S["seed"]})
    kind = draw(S["kind"])
    if kind == "grid":
        doc["geography"] = {"kind": "grid", **_table(draw, {
            "width": S["side"], "height": S["side"], "cores": S["cells"],
            "corridor_cells": S["cells"], "province_blocks": S["blocks"],
            "cell_km": S["cell_km"], "core_radius_cells": S["radius"], "seed": S["steps"]})}
    elif draw(S["bool"]):
        doc["geography"] = {"kind": kind}
    for table, fields in (("params", PARAMS), ("policy", POLICY)):
        if draw(S["bool"]):
            doc[table] = {k: draw(fields[k]) for k in draw(PARAM_NAMES[table])}
    for k in ("n_talent", "n_firms", "n_funds"):  # the fuzz loads, it never runs
        v = doc.get("params", {}).get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 2000:
            doc["params"][k] = 2000
    if draw(S["bool"]):
        doc["rule"] = [{**_table(draw, {"cities": S["cities"], "provinces": S["provinces"],
                                        "corridor": S["bool"], "from_year": S["from"],
                                        "until_year": S["until"]}),
                        **{k: draw(POLICY[k]) for k in draw(PARAM_NAMES["policy"])[:2]}}
                       for _ in range(draw(S["n"]))]
    if draw(S["bool"]):
        doc["expect"] = {"measure": draw(S["measure"]),
                         "direction": draw(S["direction"]),
                         **_table(draw, {"cities": S["cities"]})}
    return draw(fault(doc))


NUMERIC = sorted(f.name for f in dataclasses.fields(Params)
                 if f.metadata["kind"] in (int, float) and not isinstance(f.default, tuple)
                 and f.name not in ("n_talent", "n_firms", "n_funds"))
_META = {f.name: f.metadata for f in dataclasses.fields(Params)}


def _bounds(name, grid):
    md = _META.get(name, {})
    lo = md.get("lo") if md.get("lo") is not None else -3.0
    hi = md.get("hi") if md.get("hi") is not None else 3.0
    x = st.floats(lo, hi, allow_nan=False)
    return (st.lists(x, min_size=1, max_size=3) if grid
            else st.lists(x, min_size=2, max_size=2).map(sorted))


SPEC = {
    "model": st.sampled_from(["abm", "abm", "abm", "ishigami"]),
    "kind": st.sampled_from(["grid", "lhs", "sobol", "morris", "pawn"]),
    "scenarios": st.lists(st.sampled_from(["grid_baseline.toml", "peers_baseline.toml"]),
                          min_size=1, max_size=2),
    "replicates": st.integers(1, 3), "root_seed": st.integers(0, 99),
    "steps": st.integers(1, 84), "noise": st.floats(0, 1),
    "name": st.sampled_from(["a", "b-1", "c.d", "../x", ""]),
    "outcomes": st.lists(st.sampled_from(["cv", "y", "tier_2", "cv", "nope"]), max_size=2),
    "n": st.integers(1, 8), "levels": st.integers(2, 6), "second_order": st.booleans(),
    "ishigami": st.lists(st.sampled_from(["x1", "x2", "x3"]), max_size=3, unique=True),
    "abm": st.lists(st.sampled_from(NUMERIC[:30] + ["n_talent", "lead_targets", "nope"]),
                    min_size=1, max_size=3, unique=True),
    "bounds": {(n, g): _bounds(n, g) for n in [*NUMERIC[:30], "n_talent", "lead_targets",
                                               "nope", "x1", "x2", "x3"] for g in (0, 1)},
}


@st.composite
def specs(draw):
    """An experiment spec of the shapes a spec has, with one fault (:func:`fault`)."""
    model = draw(SPEC["model"])
    kind = draw(SPEC["kind"])
    doc = {"model": model} if draw(S["bool"]) or model != "abm" else {}
    if draw(S["d10"]) != 5:
        doc["scenarios"] = draw(SPEC["scenarios"])
    doc.update(_table(draw, {k: SPEC[k] for k in ("replicates", "root_seed", "steps", "noise",
                                                  "name", "outcomes")}))
    doc["design"] = {"kind": kind, **_table(draw, {k: SPEC[k] for k in
                                                   ("n", "levels", "second_order")})}
    names = draw(SPEC["ishigami" if model == "ishigami" else "abm"])
    params = {k: draw(SPEC["bounds"][k, kind == "grid"]) for k in names}
    if params or draw(S["bool"]):
        doc["params"] = params
    return draw(fault(doc))


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(v) -> str:
    """A Python value as TOML (inline tables and arrays); the documents need no more."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    return '"' + "".join("\\" + c if c in '"\\' else f"\\u{ord(c):04x}"
                         if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text) + '"'


def toml_key(k: str) -> str:
    return k if _BARE.match(k) else toml_string(k)


def toml_text(doc: dict) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


def _raw_texts(keys):
    """Text that is mostly not TOML: fragments of it, brackets, odd bytes."""
    pieces = st.sampled_from(["[", "]", "[[", "]]", "{", "}", "=", " = ", "\n", '"', "'",
                              "'''", '"""', ",", ".", "#", "\\", "1", "1e999", "nan", "true",
                              *keys, "[params]\n", "[[rule]]\n", "[design]\n"])
    return st.lists(st.one_of(pieces, st.text(max_size=4)), max_size=30).map("".join)


def _load(path: Path, text: str, reader):
    """``reader(path)`` on ``text``: the result, or the clear error (anything else fails)."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        out = reader(path)
    except (ScenarioError, ParamError) as e:
        line = str(e)
        assert "\n" not in line and len(line) < 2000, line[:3000]
        event(f"refused: {getattr(e, 'key', '?').split('[')[0].split(' ')[0]}")
        return None
    event("loaded")
    return out


def _scenario(path):
    """Load, and check what loading promises: a scenario of the declared kinds and ranges."""
    sc = load_scenario(path)
    check_memory(sc)  # the one step between a valid scenario and a run
    sc.policy_at(2010.0)
    assert isinstance(sc.description, str)
    assert isinstance(sc.steps, int) and 1 <= sc.steps <= 10_000
    assert isinstance(sc.seed, int) and 0 <= sc.seed <= 2**63 - 1
    assert sc.geography.n >= 1 and np.isfinite(sc.geography.dist_km).all()
    assert np.isfinite(sc.geography.population).all() and (sc.geography.population > 0).all()
    if sc.expect is not None:
        assert sc.expect.measure in SCENARIO_MEASURES and sc.expect.direction in ("up", "down")
    for r in sc.rules:
        assert all(0 <= i < sc.geography.n for i in r.cities)
    return sc


# a valid scenario that uses every key: one value in it at a time is replaced by anything
TEMPLATE = {
    "description": "every key", "base": "grid_baseline.toml",
    "run": {"steps": 8, "seed": 3},
    "geography": {"kind": "grid", "width": 6, "height": 7, "cores": [[1, 1], [4, 5]],
                  "corridor_cells": [[2, 2]], "province_blocks": [2, 1], "cell_km": 40.0,
                  "core_radius_cells": 2.5, "seed": 2},
    "params": {"n_talent": 1000, "n_firms": 100, "innov_rate": 0.02,
               "research_weights": [1.0, 2.0, 1.0, 1.0, 3.0]},
    "policy": {"share_ip": 0.05, "lead_targets": "c0_0", "corridor_active": True},
    "rule": [{"cities": ["c1_1"], "provinces": ["P0"], "corridor": True, "from_year": 2005,
              "until_year": 2015, "share_culture": 0.05, "lead_targets": "c0_1"}],
    "expect": {"measure": "target_rank", "direction": "down", "cities": ["c1_1"]},
}
TEMPLATE_PATHS = _paths(TEMPLATE)


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: ".".join(map(str, p)))
@PER_KEY
@given(value=ANY)
def test_one_bad_value_anywhere_in_a_valid_scenario_fails_clearly(path, value):
    doc = copy.deepcopy(TEMPLATE)
    *parent, last = path
    _get(doc, tuple(parent))[last] = value
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "s.toml", toml_text(doc), _scenario)


def test_the_template_is_valid(tmp_path):
    (tmp_path / "s.toml").write_text(toml_text(TEMPLATE))
    sc = _scenario(tmp_path / "s.toml")
    assert sc.expect.measure == "target_rank" and len(sc.rules) == 1


@FUZZ
@given(doc=scenarios())
def test_random_scenarios_load_or_fail_clearly(doc):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "s.toml", toml_text(doc), _scenario)


@RAW
@given(text=_raw_texts(["run", "params", "rule", "description", "base"]))
def test_random_text_as_a_scenario_fails_clearly(text):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "s.toml", text, _scenario)


@functools.cache
def _shipped(path: str):
    return load_scenario(path)


def _cached(path):
    """The shipped scenarios are read once (they do not change during the test)."""
    p = str(path)
    shipped = "/" not in p or Path(p).parent == SCENARIO_DIR
    return _shipped(p) if shipped else load_scenario(p)


def _spec(path):
    from experiments.running.sweep import load_spec, make_tasks

    # a small cap keeps every example fast: each valid point is checked on its scenario
    with mock.patch("experiments.running.sweep.MAX_RUNS", 200), \
            mock.patch("experiments.running.sweep.load_scenario", _cached):
        spec = load_spec(path)
        make_tasks(spec)
    return spec


SPEC_TEMPLATE = {
    "name": "t", "scenarios": ["grid_baseline.toml"], "replicates": 2, "root_seed": 5,
    "steps": 4, "model": "abm", "noise": 0.0, "outcomes": ["cv", "tier_2"],
    "design": {"kind": "morris", "n": 2, "levels": 4, "second_order": False},
    "params": {"innov_rate": [0.01, 0.03], "spill_decay_km": [100.0, 300.0]},
}
SPEC_PATHS = _paths(SPEC_TEMPLATE)


@pytest.mark.parametrize("path", SPEC_PATHS, ids=lambda p: ".".join(map(str, p)))
@PER_KEY
@given(value=ANY, kind=st.sampled_from(["grid", "lhs", "sobol", "morris", "pawn"]))
def test_one_bad_value_anywhere_in_a_valid_spec_fails_clearly(path, value, kind):
    doc = copy.deepcopy(SPEC_TEMPLATE)
    doc["design"]["kind"] = kind
    *parent, last = path
    _get(doc, tuple(parent))[last] = value
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "spec.toml", toml_text(doc), _spec)


@FUZZ
@given(doc=specs())
def test_random_specs_load_or_fail_clearly(doc):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "spec.toml", toml_text(doc), _spec)


@RAW
@given(text=_raw_texts(["design", "params", "scenarios", "n", "model"]))
def test_random_text_as_a_spec_fails_clearly(text):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp) / "spec.toml", text, _spec)


def test_the_generator_makes_valid_toml_of_its_documents():
    """The fuzzing is only as good as its TOML: round-trip a fixed document."""
    import tomllib

    doc = {"run": {"steps": 5}, "x y": [1, 2.5, float("inf"), "a\nb\x7f\"\\\U0001f600", True,
                                          dt.date(2001, 1, 2)], "t": {"a": {"b": []}}}
    assert tomllib.loads(toml_text(doc)) == doc
