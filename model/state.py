"""Saving and restoring a model exactly: the state file (docs/ODD.md section 5.1).

``InnovationModel.save(path)`` writes one file; ``InnovationModel.load(path)`` restores a
model that continues bit for bit as the saved one would have. This module holds the
file format, the generic encoding of the state, and the checks that refuse a file this
code cannot restore exactly.

File format ``innogrid-state``, version 1
-----------------------------------------
A ZIP archive that numpy reads as an ``.npz`` (``np.load(path, allow_pickle=False)``):
nothing in it is pickled, so opening a file from elsewhere cannot run code.

* ``header.json`` (UTF-8 JSON): ``format`` (``"innogrid-state"``), ``format_version``
  (1), ``code_version`` (the hash of the ``model/`` package, sources and data, that
  :func:`code_version` computes; the sweep store keys its tasks by the same hash),
  ``innogrid_version``, ``saved_utc``, ``packages`` (numpy, mesa, python), ``seed``,
  ``step`` and ``year`` of the state, ``collect_agents``, ``scenario`` (``name``,
  ``file`` and ``resolved``: the merged scenario dictionary with the full parameter set
  and run settings, from which :func:`saved_scenario` re-creates the run), ``params``
  (every parameter), ``geography`` (name, number of cities and a digest of every field,
  :func:`geography_digest`), ``rng`` (``rng.bit_generator.state`` of the model's numpy
  Generator, JSON integers of any size), ``python_random`` (the state of Mesa's
  ``model.random``), ``mesa`` (the model's ``steps``, ``time`` and ``running``),
  ``restored_from`` (the state this model was itself restored from, or null), ``world``
  and ``recorded`` (the state trees, below) and ``arrays`` (every array member: dtype,
  shape, and whether it holds Python strings).
* one ``<name>.npy`` member per array (numpy's ``.npy`` format, ``allow_pickle=False``),
  ``name`` being the array's place in the state: ``world/city/gdp``,
  ``world/firms/cash``, ``world/flows/talent``, ``recorded/city_rows/index``.

The state trees are written by :func:`encode`, which walks the objects rather than a
list of their names, so a field added to ``World``, ``CityState`` or a pool later is
saved and restored with no change here: an ndarray becomes an array member; a numpy
scalar, ``bytes``, tuple, list or dict a tagged JSON value; an object of a class of
``model.entities`` (``World``, ``CityState``, the pools) its class name and every
attribute (pools are saved whole, capacity included); the scenario's inputs (the
``Geography`` and ``Params`` objects) a reference filled in from the scenario on load.
Anything else raises ``TypeError`` when saving, naming where it is. Decoding creates only
classes of ``model.entities`` and plain data.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterable
from importlib import metadata as _md
from pathlib import Path
from typing import Any

import numpy as np

from model import entities
from model.scenario import Scenario, ScenarioError, scenario_from_dict

__all__ = ["FORMAT", "FORMAT_VERSION", "StateError", "code_version", "geography_digest",
           "encode", "decode", "write_state", "read_state", "read_header", "saved_scenario",
           "check_branch", "state_info", "MODEL_DIR"]

FORMAT = "innogrid-state"
FORMAT_VERSION = 1
HEADER = "header.json"
MODEL_DIR = Path(__file__).resolve().parent
_MAX_HEADER_BYTES = 256 << 20
ALLOWED = ("a state file of format innogrid-state version 1 saved by this model code "
           "(InnovationModel.save, or innogrid run --save-state)")


class StateError(ScenarioError):
    """A state file that cannot be restored: names the file, what is wrong, what is allowed.

    A :class:`~model.scenario.ScenarioError`, so the command line ends with exit status 2.
    """

    def __init__(self, file: str, problem: str, allowed: str = ALLOWED):
        self.file, self.key, self.value, self.allowed = str(file), "(state)", problem, allowed
        self.problem = problem
        ValueError.__init__(self, f"{file}: {problem}; allowed: {allowed}")


# --------------------------------------------------------------------------- identity
def model_files() -> list[Path]:
    """The files of the ``model/`` package that :func:`code_version` hashes."""
    return sorted(p for p in MODEL_DIR.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


@functools.cache
def code_version(extra: tuple[Path, ...] = ()) -> str:
    """A hash of the code that computes a run: the ``model/`` package (sources and data).

    ``extra`` files (another model's module, for sweeps) are hashed after it.
    """
    h = hashlib.sha256()
    for f in [*model_files(), *extra]:
        name = f.relative_to(MODEL_DIR).as_posix() if f.is_relative_to(MODEL_DIR) else f.name
        h.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _digest(value: Any, h: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"array {value.dtype.str} {value.shape}".encode())
        h.update(repr(value.tolist()).encode() if value.dtype == object
                 else np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        h.update(b"dict")
        for k in sorted(value, key=str):
            h.update(repr(k).encode())
            _digest(value[k], h)
    elif isinstance(value, (tuple, list)):
        h.update(f"seq {len(value)}".encode())
        for v in value:
            _digest(v, h)
    else:
        h.update(repr(value).encode())


def geography_digest(geo: Any) -> dict[str, str]:
    """A digest of every field of a geography (name, cities, distances, ...), by field."""
    out = {}
    for f in dataclasses.fields(geo):
        h = hashlib.sha256()
        _digest(getattr(geo, f.name), h)
        out[f.name] = h.hexdigest()[:16]
    return out


# --------------------------------------------------------------------------- encoding
def _is_state_class(cls: Any) -> bool:
    """A class of ``model.entities`` that holds state: a dataclass or a pool."""
    return (isinstance(cls, type) and getattr(entities, cls.__name__, None) is cls
            and (dataclasses.is_dataclass(cls) or issubclass(cls, entities.Pool)))


def _entity_class(name: Any) -> type:
    cls = getattr(entities, name, None) if isinstance(name, str) else None
    if not _is_state_class(cls):
        raise ValueError(f"{name!r} is not a state class of model.entities")
    return cls


def encode(value: Any, path: str, arrays: dict[str, np.ndarray],
           inputs: dict[int, str] | None = None) -> Any:
    """The JSON tree of ``value``; its arrays go into ``arrays`` under their ``path``.

    ``inputs`` maps ``id(obj)`` to a name for objects that come from the scenario (the
    geography, the parameters): they are written as references, not data.
    """
    inputs = inputs or {}
    if id(value) in inputs:
        return {"input": inputs[id(value)]}
    if isinstance(value, np.ndarray):
        if path in arrays:
            raise ValueError(f"{path}: two arrays at one place")
        arrays[path] = value
        return {"array": path}
    if isinstance(value, np.generic):
        return {"scalar": value.dtype.str, "value": value.item()}
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (tuple, list)):
        items = [encode(v, f"{path}/{k}", arrays, inputs) for k, v in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str) or "/" in k]
        if bad:
            raise TypeError(f"{path}: dict key {bad[0]!r} cannot be saved (str keys without '/')")
        return {"dict": {k: encode(v, f"{path}/{k}", arrays, inputs) for k, v in value.items()}}
    cls = type(value)
    if _is_state_class(cls):
        return {"object": cls.__name__,
                "attrs": {k: encode(v, f"{path}/{k}", arrays, inputs)
                          for k, v in vars(value).items()}}
    raise TypeError(f"{path}: a {cls.__module__}.{cls.__name__} cannot be saved in a state "
                    "file; state is arrays, numbers, strings and the classes of "
                    "model.entities (extend model/state.py to save something else)")


def decode(node: Any, arrays: dict[str, np.ndarray], inputs: dict[str, Any] | None = None) -> Any:
    """The value of a tree written by :func:`encode` (raises ValueError if it is malformed)."""
    if node is None or type(node) in (bool, int, float, str):
        return node
    if not isinstance(node, dict):
        raise ValueError(f"unexpected JSON value {node!r}")
    if "array" in node:
        return arrays[node["array"]]
    if "scalar" in node:
        return np.dtype(node["scalar"]).type(node["value"])
    if "bytes" in node:
        return base64.b64decode(node["bytes"])
    if "tuple" in node:
        return tuple(decode(v, arrays, inputs) for v in node["tuple"])
    if "list" in node:
        return [decode(v, arrays, inputs) for v in node["list"]]
    if "dict" in node:
        return {k: decode(v, arrays, inputs) for k, v in node["dict"].items()}
    if "input" in node:
        return (inputs or {})[node["input"]]
    if "object" in node:
        cls = _entity_class(node["object"])
        obj = cls.__new__(cls)
        obj.__dict__.update({k: decode(v, arrays, inputs) for k, v in node["attrs"].items()})
        return obj
    raise ValueError(f"unknown JSON node with keys {sorted(node)}")


# --------------------------------------------------------------------------- the file
def _version(pkg: str) -> str:
    try:
        return _md.version(pkg)
    except _md.PackageNotFoundError:
        return "unknown"


def new_header() -> dict[str, Any]:
    """The identity part of a header: format, code version, versions, time."""
    import platform

    return {"format": FORMAT, "format_version": FORMAT_VERSION, "code_version": code_version(),
            "innogrid_version": _version("innogrid"),
            "saved_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "packages": {"python": platform.python_version(), "numpy": np.__version__,
                         "mesa": _version("mesa")}}


def write_state(path: str | Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write a state file (through a temporary sibling and one rename)."""
    path = Path(path)
    index = {}
    stored = {}
    for name, arr in arrays.items():
        strings = arr.dtype == object
        if strings:
            if not all(isinstance(x, str) for x in arr.flat):
                raise TypeError(f"{name}: an object array that is not all strings cannot be saved")
            arr = arr.astype(str)
        index[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "strings": strings}
        stored[name] = arr
    header = {**header, "arrays": index}
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(HEADER, json.dumps(header, indent=1))
            for name, arr in stored.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _open(path: str | Path) -> zipfile.ZipFile:
    file = str(path)
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise StateError(file, "no such file") from None
    except IsADirectoryError:
        raise StateError(file, "is a directory, not a state file") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise StateError(file, f"not a readable state file (truncated or corrupt: {e})") from None


def _check_header(file: str, header: Any) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        fmt = header.get("format") if isinstance(header, dict) else None
        raise StateError(file, f"not an innogrid state (its header names format {fmt!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise StateError(file, f"state format version {header.get('format_version')!r}; this "
                         f"innogrid reads version {FORMAT_VERSION}")
    if header.get("code_version") != code_version():
        raise StateError(file, f"saved by model code {header.get('code_version')!r} (innogrid "
                         f"{header.get('innogrid_version')}, {header.get('saved_utc')}), this is "
                         f"model code {code_version()!r}",
                         "a state saved by this model code: a state restores exactly only with "
                         "the code that saved it; re-create it from its scenario (innogrid run "
                         "... --save-state)")
    need = ("seed", "step", "scenario", "params", "geography", "rng", "world", "recorded",
            "arrays")
    missing = [k for k in need if k not in header]
    if missing:
        raise StateError(file, f"its header lacks {missing[0]!r} (corrupt)")
    return header


def _read_header(zf: zipfile.ZipFile, file: str) -> dict[str, Any]:
    try:
        info = zf.getinfo(HEADER)
        if info.file_size > _MAX_HEADER_BYTES:
            raise StateError(file, f"{HEADER} is larger than {_MAX_HEADER_BYTES >> 20} MB")
        header = json.loads(zf.read(HEADER).decode("utf-8"))
    except KeyError:
        raise StateError(file, f"no {HEADER} in the archive: not an innogrid state") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise StateError(file, f"its {HEADER} cannot be read (truncated or corrupt: {e})") from None
    return _check_header(file, header)


def read_header(path: str | Path) -> dict[str, Any]:
    """The checked header of a state file (format, version and code version match)."""
    with _open(path) as zf:
        return _read_header(zf, str(path))


def read_state(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked header and every array of a state file (:class:`StateError` if not)."""
    file = str(path)
    with _open(path) as zf:
        header = _read_header(zf, file)
        index = header["arrays"]
        members = set(zf.namelist())
        expected = {f"{name}.npy" for name in index} | {HEADER}
        if members != expected:
            gone, extra = sorted(expected - members), sorted(members - expected)
            raise StateError(file, f"array member {gone[0]} is missing (truncated or corrupt)"
                             if gone else f"unexpected member {extra[0]} (not written by "
                             "innogrid)")
        arrays = {}
        for name, meta in index.items():
            try:
                with zf.open(f"{name}.npy") as fh:
                    arr = np.lib.format.read_array(fh, allow_pickle=False)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
                raise StateError(file, f"array {name} cannot be read (truncated or corrupt: "
                                 f"{e})") from None
            if arr.dtype.str != meta["dtype"] or list(arr.shape) != meta["shape"]:
                raise StateError(file, f"array {name} is {arr.dtype.str} {list(arr.shape)}, the "
                                 f"header says {meta['dtype']} {meta['shape']} (corrupt)")
            arrays[name] = arr.astype(object) if meta["strings"] else arr
    return header, arrays


def saved_scenario(header: dict[str, Any], file: str) -> Scenario:
    """The scenario a state was saved with, re-created from its resolved dictionary."""
    sc = header["scenario"]
    try:
        return scenario_from_dict(sc["resolved"], file=f"{file} (saved scenario {sc['name']})",
                                  name=sc["name"])
    except ScenarioError as e:
        raise StateError(file, f"its saved scenario is not valid here ({e})") from None


def check_branch(header: dict[str, Any], scenario: Scenario, file: str) -> dict[str, tuple]:
    """Check that ``scenario`` can continue this state; return the parameters it changes.

    The geography must be the state's (every field equal); ``start_year`` too, since it
    fixes the calendar of the steps. Other parameters of the scenario apply from the
    saved step on: returns ``{name: (state's value, scenario's value)}`` for those that
    differ.
    """
    geo = scenario.geography
    saved = header["geography"]
    differ = [k for k, v in geography_digest(geo).items() if saved["digest"].get(k) != v]
    if differ or set(saved["digest"]) != {f.name for f in dataclasses.fields(geo)}:
        shown = ", ".join(differ[:4]) + (", ..." if len(differ) > 4 else "")
        raise StateError(file, f"its geography is {saved['name']} ({saved['n']} cities) and "
                         f"{scenario.file} is on {geo.name} ({geo.n} cities); they differ in "
                         f"{shown or 'their fields'}", "a scenario on the state's geography")
    new = scenario.params.to_dict()
    old = header["params"]
    if old.get("start_year") != new["start_year"]:
        raise StateError(file, f"its start_year is {old.get('start_year')} and {scenario.file}'s "
                         f"is {new['start_year']}", "a scenario with the state's start_year "
                         "(it fixes the calendar of the steps)")
    return {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}


def state_info(path: str | Path) -> dict[str, Any]:
    """Provenance of a state file for metadata: path, sha256, seed, step, year, scenario."""
    p = Path(path)
    header = read_header(p)
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"file": str(p), "sha256": h.hexdigest(), "seed": header["seed"],
            "step": header["step"], "year": header["year"],
            "scenario": header["scenario"]["name"], "code_version": header["code_version"],
            "saved_utc": header.get("saved_utc")}


def stack_rows(rows: Iterable[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Rows of equal keys (arrays or numbers) as one stacked array per key."""
    rows = list(rows)
    keys = list(rows[0]) if rows else []
    return {k: np.stack([np.asarray(r[k]) for r in rows]) for k in keys}


def unstack_rows(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The inverse of :func:`stack_rows`: one-dimensional columns give Python scalars."""
    if not columns:
        return []
    n = len(next(iter(columns.values())))
    cols = {k: v.tolist() if v.ndim == 1 else v for k, v in columns.items()}
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]
