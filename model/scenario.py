"""Scenarios are data: TOML files of overrides on a base, validated with clear errors.

A scenario file has these parts (all optional; see scenarios/README.md)::

    base = "yrd_baseline.toml"     # inherit from a file in this one's folder or scenarios/
    params_from = "yrd_calibrated.toml"   # only the [params] of another scenario (its chain)
    description = "one line"

    [run]                          # run settings, apart from the model's parameters
    steps = 84                     # quarters
    seed = 20010101                # root seed

    [geography]                    # kind = "yrd" | "grid" (+ grid settings)
    kind = "yrd"

    [params]                       # overrides of model.params.Params
    n_talent = 20000

    [policy]                       # overrides of model.params.Policy for every city
    share_platform = 0.25

    [[rule]]                       # policy overrides for some cities, from a year on
    cities = ["Hefei"]             # and/or provinces = [...], corridor = true
    from_year = 2010               # default: always; until_year also possible
    share_guidance = 0.3

    [expect]                       # the claim the levers should support (innogrid compare)
    measure = "target_rank"        # a name in model.observe.SCENARIO_MEASURES
    direction = "down"             # "up" or "down" against the base scenario
    cities = ["Hefei"]             # targeted cities (default: the cities the rules name)

Inheritance merges tables key by key (the child wins) and appends the child's rules to
the base's; ``[expect]`` is not inherited (a claim belongs to the file that makes it).
``params_from`` takes another scenario's merged ``[params]`` alone (not its geography, run,
policy or rules): they override the base's and are overridden by the file's own, so a
calibration of one geography can be carried to another. Every error is a
:class:`ScenarioError` naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import os
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from model import geography as geography_mod
from model.params import ParamError, Params, Policy

__all__ = ["Scenario", "ScenarioError", "Rule", "Expect", "load_scenario",
           "scenario_from_dict", "read_toml", "base_of", "check_name", "shown", "SCENARIO_DIR",
           "find_scenario",
           "MAX_FILE_BYTES", "MAX_DEPTH"]

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
#: Top-level keys and the kind of value each takes.
TOP_KEYS = {"base": "a string", "params_from": "a string", "description": "a string",
            "run": "a table", "geography": "a table", "params": "a table", "policy": "a table",
            "rule": "an array of tables [[rule]]", "expect": "a table"}
EXPECT_KEYS = {"measure", "direction", "cities"}
RUN_KEYS = {"steps": (int, 1, 10_000), "seed": (int, 0, 2**63 - 1)}
RULE_SELECTORS = {"cities", "provinces", "corridor", "from_year", "until_year"}
#: The largest input file read (scenarios, specs): a TOML file of settings is a few KB.
MAX_FILE_BYTES = 1 << 20
#: The deepest nesting of arrays and tables accepted (the shipped files use 3).
MAX_DEPTH = 20
_INT64 = (-(2**63), 2**63 - 1)

_repr = reprlib.Repr(maxlevel=3, maxlist=6, maxtuple=6, maxdict=6, maxset=6, maxstring=60,
                     maxother=60, maxlong=40)


def shown(value: Any, limit: int = 160) -> str:
    """``repr(value)`` cut to at most ``limit`` characters, safe for any value.

    Deep or long values are abbreviated (``...``); an integer too long to print says how
    many digits it has.
    """
    try:
        text = _repr.repr(value)
    except (ValueError, RecursionError):  # an int beyond Python's digit limit, say
        if isinstance(value, int):
            text = f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
        else:
            text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(ValueError):
    """Bad scenario input: names the file, key, value and what is allowed.

    The message is one line; a long or deep value is shown abbreviated (:func:`shown`).
    """

    def __init__(self, file: str, key: str, value: Any, allowed: str):
        self.file, self.key, self.value, self.allowed = file, key, value, allowed
        line = f"{file}: {key} = {shown(value)}: {allowed}"
        super().__init__(line.replace("\r", " ").replace("\n", " "))


NAME_ALLOWED = ("a name, not a path: letters, digits, '.', '_' and '-', starting with a letter "
                "or digit, at most 100 characters")


def check_name(file: str, key: str, value: Any) -> str:
    """``value`` if it is a plain name (it becomes a folder name); else a :class:`ScenarioError`."""
    ok = (isinstance(value, str) and 0 < len(value) <= 100 and value[0].isascii()
          and value[0].isalnum() and all(c.isascii() and (c.isalnum() or c in "._-")
                                         for c in value))
    if not ok:
        raise ScenarioError(file, key, value, NAME_ALLOWED)
    return value


@dataclass(frozen=True)
class Rule:
    """Policy overrides for a set of cities during ``[from_year, until_year)``."""

    cities: tuple[int, ...]
    from_year: float
    until_year: float
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Expect:
    """A scenario's claim: its levers move ``measure`` in ``direction`` against its base."""

    measure: str
    direction: str                 # "up" or "down"
    cities: tuple[int, ...] = ()   # targeted cities; () = the cities the rules name


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: parameters, geography, default policy and rules, run settings."""

    name: str
    file: str
    description: str
    params: Params
    geography: Any
    policy: Policy
    rules: tuple[Rule, ...]
    steps: int
    seed: int
    raw: dict[str, Any] = field(default_factory=dict)
    expect: Expect | None = None
    # a city's policy for each combination of rules met so far (policy_at); not an input
    _city_policies: dict[tuple[int, ...], Policy] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def targets(self) -> list[int]:
        """The targeted cities: ``[expect] cities``, else the cities the rules name."""
        if self.expect is not None and self.expect.cities:
            return list(self.expect.cities)
        n = self.geography.n
        return sorted({i for r in self.rules if len(r.cities) < n for i in r.cities})

    def policy_at(self, year: float) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
        """Per-city policy arrays in force at ``year`` and the indices of active rules."""
        n = self.geography.n
        active = tuple(k for k, r in enumerate(self.rules) if r.from_year <= year < r.until_year)
        applying: list[list[int]] = [[] for _ in range(n)]
        for k in active:
            for i in self.rules[k].cities:
                applying[i].append(k)
        per_city = [self._city_policy(tuple(ids)) for ids in applying]
        arrays: dict[str, np.ndarray] = {}
        for f in fields(Policy):
            if f.name == "lead_targets":
                continue
            arrays[f.name] = np.array([getattr(p, f.name) for p in per_city])
        lead = np.zeros((n, n))
        for i, p in enumerate(per_city):
            targets = [t.strip() for t in p.lead_targets.split(",") if t.strip()]
            for t in targets:
                lead[i, self.geography.index(t)] = 1.0 / len(targets)
        arrays["_lead_targets"] = lead
        return arrays, active

    def _city_policy(self, rule_ids: tuple[int, ...]) -> Policy:
        """The default policy with the rules ``rule_ids`` applied in order (validated).

        Computed once per combination: a run meets the same few combinations at every
        change of the rules in force (loading the scenario has met them all already).
        """
        pol = self._city_policies.get(rule_ids)
        if pol is None:
            pol = self.policy
            for k in rule_ids:
                pol = pol.replace(**self.rules[k].overrides)
            self._city_policies[rule_ids] = pol
        return pol

    def idle_rules(self, first_step: int, last_step: int) -> list[int]:
        """Indices of the rules in force at none of the steps ``first_step .. last_step - 1``.

        A step applies the rules in force at its start, ``start_year + step / 4``: from a
        2001 start, a rule ``from_year = 2024`` is in force from step 92 on, and one that
        ended in 2017 is idle in a run continued from step 84.
        """
        years = self.params.start_year + np.arange(first_step, max(first_step, last_step)) / 4.0
        return [k for k, r in enumerate(self.rules)
                if not ((years >= r.from_year) & (years < r.until_year)).any()]

    def with_overrides(self, steps: int | None = None, seed: int | None = None,
                       params: dict[str, Any] | None = None) -> Scenario:
        """A copy with run settings or parameters replaced (validated)."""
        from dataclasses import replace

        new = replace(self, steps=self.steps if steps is None else steps,
                      seed=self.seed if seed is None else seed)
        if params:
            try:
                new = replace(new, params=new.params.replace(**params))
            except ParamError as e:
                raise ScenarioError(self.file, f"params.{e.key}", e.value, e.allowed) from None
        return new


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if k != "expect"}
    for k, v in child.items():
        if k == "rule":
            out["rule"] = list(base.get("rule", [])) + list(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        elif k != "base":
            out[k] = v
    return out


def _read_bytes(file: str, path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES` (else a ScenarioError).

    A directory, a device (``/dev/zero``), a FIFO or a socket is refused before anything
    is read from it; a larger file is refused after reading just past the limit.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on a regular file)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError(file, "(file)", file, "an existing TOML file") from None
    except IsADirectoryError:
        raise ScenarioError(file, "(file)", file, "a TOML file, not a directory") from None
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) else str(e)
        raise ScenarioError(file, "(file)", file, f"a readable TOML file ({why})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
            raise ScenarioError(file, "(file)", file, f"a regular TOML file (this is {what})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ScenarioError(file, "(file)", file, f"a readable TOML file ({e.strerror})"
                            ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(file, "(file size)", f"over {MAX_FILE_BYTES:,} bytes",
                            f"a TOML file of at most {MAX_FILE_BYTES:,} bytes")
    return data


def _check_shape(file: str, data: dict[str, Any]) -> None:
    """Nesting at most :data:`MAX_DEPTH` deep and integers TOML can hold (64-bit).

    Walked without recursion, so that no input can exhaust the stack.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict):
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        else:
            if (isinstance(value, int) and not isinstance(value, bool)
                    and not _INT64[0] <= value <= _INT64[1]):
                raise ScenarioError(file, where, value,
                                    "an integer in [-2**63, 2**63 - 1] (TOML's 64-bit integers)")
            continue
        if depth >= MAX_DEPTH and items:
            raise ScenarioError(file, "(nesting)", where,
                                f"at most {MAX_DEPTH} levels of nested tables and arrays")
        stack.extend((v, w, depth + 1) for w, v in items)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file into a dict; bad input is a :class:`ScenarioError`.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read; it must be UTF-8,
    valid TOML, nested at most :data:`MAX_DEPTH` deep, with 64-bit integers.
    """
    file = str(path)
    data = _read_bytes(file, Path(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(file, "(encoding)", "not UTF-8", "a UTF-8 TOML file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(file, "(syntax)", str(e), "valid TOML") from None
    except RecursionError:
        raise ScenarioError(file, "(nesting)", "too deep to parse",
                            f"at most {MAX_DEPTH} levels of nested tables and arrays") from None
    except ValueError as e:  # an integer beyond Python's limit for parsing digits
        if "integer string conversion" in str(e):
            raise ScenarioError(file, "(syntax)", "an integer of thousands of digits",
                                "integers in [-2**63, 2**63 - 1] (TOML's 64-bit integers)"
                                ) from None
        raise ScenarioError(file, "(syntax)", str(e), "valid TOML") from None
    _check_shape(file, doc)
    return doc


def find_scenario(path: str | Path) -> Path:
    """Where a scenario named on the command line is.

    The path itself, or the name in ``scenarios/``, with or without ``.toml``
    (``yrd_baseline`` as ``innogrid scenarios`` lists it). A name found nowhere is returned
    unchanged (reading it then fails clearly).
    """
    p = Path(path)
    candidates = [p]
    if not p.is_absolute():
        candidates.append(SCENARIO_DIR / p)
    if p.suffix != ".toml":
        candidates += [c.with_name(c.name + ".toml") for c in list(candidates)]
    return next((c for c in candidates if c.exists()), p)


def base_of(path: str | Path) -> str | None:
    """The ``base`` a scenario file names itself (not inherited), or None."""
    return read_toml(find_scenario(path)).get("base")


def _base_path(file: str, path: Path, base: Any, key: str = "base") -> Path:
    """Where ``base`` (or ``params_from``, as ``key``) points: a TOML file in one of two folders.

    The two are the scenario's own folder and the shipped scenarios/. Nothing outside them
    is ever read (symbolic links are followed first).
    """
    allowed = (f"a .toml file in this scenario's folder ({path.parent}) or in the shipped "
               f"scenarios folder ({SCENARIO_DIR})")
    if not isinstance(base, str) or not base.endswith(".toml") or "\0" in base:
        raise ScenarioError(file, key, base, allowed)
    try:
        folders = (path.parent.resolve(), SCENARIO_DIR.resolve())
        inside = [p for p in ((f / base).resolve() for f in folders)
                  if any(p.is_relative_to(f) for f in folders)]
        found = [p for p in inside if p.is_file()]
    except (OSError, RuntimeError, ValueError):
        inside = found = []
    if found:
        return found[0]
    raise ScenarioError(file, key, base,
                        f"an existing TOML file: {allowed}" if inside else allowed)


def _read(path: Path, seen: tuple[Path, ...] = (), key: str = "base") -> dict[str, Any]:
    file = str(path)
    if path in seen:
        raise ScenarioError(file, key, str(path.name), "inheritance must not loop")
    data = read_toml(path)
    _check_top(file, data)
    own = dict(data.get("params", {}))
    source = data.pop("params_from", None)
    if "base" in data:
        base_path = _base_path(file, path, data["base"])
        base = _read(base_path, (*seen, path))
        data = _merge(base, data)
    if source is not None:
        imported = _read(_base_path(file, path, source, "params_from"), (*seen, path),
                         "params_from")
        data["params"] = {**data.get("params", {}), **imported.get("params", {}), **own}
    return data


def _check_top(file: str, data: dict[str, Any]) -> None:
    """Every top-level key known and of its kind (strings, tables, an array of tables)."""
    for k, v in data.items():
        if k not in TOP_KEYS:
            raise ScenarioError(file, k, v, f"unknown key; allowed: {sorted(TOP_KEYS)}")
        kind = TOP_KEYS[k]
        ok = (isinstance(v, str) if kind == "a string"
              else isinstance(v, dict) if kind == "a table"
              else isinstance(v, list) and all(isinstance(r, dict) for r in v))
        if not ok:
            raise ScenarioError(file, k, v, kind)


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge and validate a scenario file."""
    p = find_scenario(path)
    p = p.resolve() if p.exists() else p
    data = _read(p)
    return scenario_from_dict(data, file=str(path), name=p.stem)


def _table(file: str, data: dict, key: str) -> dict:
    v = data.get(key, {})
    if not isinstance(v, dict):
        raise ScenarioError(file, key, v, "a table")
    return v


def scenario_from_dict(data: dict[str, Any], file: str = "<dict>",
                       name: str = "scenario") -> Scenario:
    """Validate a merged scenario dictionary (the TOML's content)."""
    _check_top(file, data)
    run = _table(file, data, "run")
    for k, v in run.items():
        if k not in RUN_KEYS:
            raise ScenarioError(file, f"run.{k}", v, f"unknown key; allowed: {sorted(RUN_KEYS)}")
        kind, lo, hi = RUN_KEYS[k]
        if isinstance(v, bool) or not isinstance(v, kind) or not lo <= v <= hi:
            raise ScenarioError(file, f"run.{k}", v, f"an integer in [{lo}, {hi}]")
    try:
        params = Params().replace(**_table(file, data, "params"))
    except ParamError as e:
        raise ScenarioError(file, f"params.{e.key}", e.value, e.allowed) from None
    geo_spec = _table(file, data, "geography")
    try:
        seed = geo_spec.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise geography_mod.GeographyError("geography.seed", seed, "a non-negative integer")
        spec = {k: v for k, v in geo_spec.items() if k != "seed"}
        geo = geography_mod.load(spec, np.random.default_rng(seed))
    except geography_mod.GeographyError as e:
        raise ScenarioError(file, e.key, e.value, e.allowed) from None
    try:
        policy = Policy().replace(**_table(file, data, "policy"))
        _check_targets(policy, geo)
    except ParamError as e:
        raise ScenarioError(file, f"policy.{e.key}", e.value, e.allowed) from None
    except geography_mod.GeographyError as e:
        raise ScenarioError(file, "policy.lead_targets", e.value, e.allowed) from None
    rules = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ScenarioError(file, "rule", raw_rules, "an array of tables [[rule]]")
    for k, r in enumerate(raw_rules):
        rules.append(_rule(file, k, r, geo, policy))
    sc = Scenario(name=name, file=file, description=data.get("description", ""),
                  params=params, geography=geo, policy=policy, rules=tuple(rules),
                  steps=run.get("steps", 84), seed=run.get("seed", 0), raw=data,
                  expect=_expect(file, data, geo))
    # every combination of rules that can be in force must give valid per-city policies
    years = sorted({params.start_year, *(r.from_year for r in rules), *(r.until_year for r in rules
                                                                         if r.until_year < 1e9)})
    for y in years:
        try:
            sc.policy_at(y)
        except ParamError as e:
            raise ScenarioError(file, f"rule (in force in {y:g}): {e.key}", e.value,
                                e.allowed) from None
    return sc


def _expect(file: str, data: dict, geo) -> Expect | None:
    if "expect" not in data:
        return None
    from model.observe import SCENARIO_MEASURES

    e = _table(file, data, "expect")
    for k in e:
        if k not in EXPECT_KEYS:
            raise ScenarioError(file, f"expect.{k}", e[k],
                                f"unknown key; allowed: {sorted(EXPECT_KEYS)}")
    measure = e.get("measure")
    if not isinstance(measure, str) or measure not in SCENARIO_MEASURES:
        raise ScenarioError(file, "expect.measure", measure,
                            f"one of {', '.join(SCENARIO_MEASURES)}")
    direction = e.get("direction")
    if direction not in ("up", "down"):
        raise ScenarioError(file, "expect.direction", direction, '"up" or "down"')
    cities = e.get("cities", [])
    if not isinstance(cities, list):
        raise ScenarioError(file, "expect.cities", cities, "a list of city names")
    for c in cities:
        if not isinstance(c, str) or c not in geo.cities:
            raise ScenarioError(file, "expect.cities", c,
                                f"a city of {geo.name}: {', '.join(geo.cities)}")
    return Expect(measure=measure, direction=direction,
                  cities=tuple(sorted(geo.cities.index(c) for c in cities)))


def _check_targets(policy: Policy, geo) -> None:
    for t in policy.lead_targets.split(","):
        if t.strip():
            geo.index(t.strip())


def _rule(file: str, k: int, r: Any, geo, policy: Policy) -> Rule:
    where = f"rule[{k}]"
    if not isinstance(r, dict):
        raise ScenarioError(file, where, r, "a table")
    policy_keys = {f.name for f in fields(Policy)}
    for key in r:
        if key not in RULE_SELECTORS and key not in policy_keys:
            raise ScenarioError(file, f"{where}.{key}", r[key],
                                f"unknown key; allowed: selectors {sorted(RULE_SELECTORS)} "
                                f"or policy keys {sorted(policy_keys)}")
    idx: set[int] = set()
    selected = False
    if "cities" in r:
        selected = True
        if not isinstance(r["cities"], list):
            raise ScenarioError(file, f"{where}.cities", r["cities"], "a list of city names")
        for c in r["cities"]:
            if not isinstance(c, str) or c not in geo.cities:
                raise ScenarioError(file, f"{where}.cities", c,
                                    f"a city of {geo.name}: {', '.join(geo.cities)}")
            idx.add(geo.cities.index(c))
    if "provinces" in r:
        selected = True
        if not isinstance(r["provinces"], list):
            raise ScenarioError(file, f"{where}.provinces", r["provinces"], "a list of provinces")
        for pv in r["provinces"]:
            if pv not in geo.provinces:
                raise ScenarioError(file, f"{where}.provinces", pv,
                                    f"one of {', '.join(geo.provinces)}")
            idx.update(np.flatnonzero(geo.province == geo.provinces.index(pv)).tolist())
    if "corridor" in r:
        selected = True
        if not isinstance(r["corridor"], bool):
            raise ScenarioError(file, f"{where}.corridor", r["corridor"], "true or false")
        if r["corridor"]:
            idx.update(np.flatnonzero(geo.corridor).tolist())
    if not selected:
        idx = set(range(geo.n))
    years = {}
    for key, default in (("from_year", -1e9), ("until_year", 1e9)):
        v = r.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (key in r and not
                                                                      1900 <= v <= 2200):
            raise ScenarioError(file, f"{where}.{key}", v, "a year in [1900, 2200]")
        years[key] = float(v)
    if years["until_year"] <= years["from_year"]:
        raise ScenarioError(file, f"{where}.until_year", r.get("until_year"),
                            f"a year after from_year ({years['from_year']:g})")
    overrides = {key: v for key, v in r.items() if key in policy_keys}
    try:
        p = policy.replace(**overrides)
        _check_targets(p, geo)
    except ParamError as e:
        raise ScenarioError(file, f"{where}.{e.key}", e.value, e.allowed) from None
    except geography_mod.GeographyError as e:
        raise ScenarioError(file, f"{where}.lead_targets", e.value, e.allowed) from None
    return Rule(cities=tuple(sorted(idx)), from_year=years["from_year"],
                until_year=years["until_year"], overrides=overrides)
