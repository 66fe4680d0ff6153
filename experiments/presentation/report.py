"""One self-contained HTML report of a results directory.

:func:`write_report` recognises the three kinds of directories the project writes:

* a run (``innogrid run``): ``metadata.json``, ``cities.csv``, ``region.csv``, ``flows/``;
* a comparison (``innogrid compare``): ``metadata.json`` with ``"kind": "comparison"``,
  ``compare.csv``, ``runs.csv``;
* a sensitivity analysis (``innogrid sensitivity``): ``report.json``, ``indices.csv``,
  ``noise.csv``, ``runs/manifest.json``;
* a sweep store (``innogrid sweep``, or a sensitivity analysis's ``runs/``):
  ``manifest.json`` with ``"kind": "sweep"`` and ``results/``: the design, a summary of
  every outcome over the runs, and, if the spec recorded ``series``, a figure of them by
  design point (median and band over the replicates);
* a projection (``python -m experiments.analysis.projections``, scenarios continued from saved
  states): ``metadata.json`` with ``"kind": "projection"``, ``trajectories.csv``,
  ``tiers.csv``: the index history and projected fan, tier maps at the branching point and
  the end, and the tier changes per city and scenario.

The HTML embeds its figures as base64 PNGs and has no external CSS, scripts or fonts, so
it works offline and can be mailed as one file; the PNGs are also written beside it. All
text read from files is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.presentation import figures as fig
from experiments.presentation.numbers import FIRST_YEAR_STEPS, human, index_summary
from experiments.running.output import OutputError, check_file, output_dir, write_file
from model.scenario import ScenarioError, shown

__all__ = ["write_report", "detect_kind", "REPORT_NAME", "FIGURES_DIR"]

REPORT_NAME = "report.html"
FIGURES_DIR = "report_figures"
# the mark of an innogrid report: only a file that holds it is ever replaced by a report
GENERATOR = '<meta name="generator" content="innogrid report">'

_EXPECTED = ("a run (metadata.json, cities.csv, region.csv, flows/*.csv), a comparison "
             "(metadata.json with \"kind\": \"comparison\", compare.csv, runs.csv), a "
             "sensitivity analysis (report.json, indices.csv, noise.csv, runs/manifest.json), "
             "a sweep store (manifest.json with \"kind\": \"sweep\", results/) "
             "or a projection (metadata.json with \"kind\": \"projection\", trajectories.csv, "
             "tiers.csv)")

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; vertical-align: top; }
th { background: #f0f4f8; }
td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
.note { color: #555; font-size: .9em; }
details { margin: .5em 0 1em; }
"""


# --------------------------------------------------------------------------- html helpers
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) < 1e15:
        return human(int(v))  # counts stored as floats
    if isinstance(v, (float, np.floating, int, np.integer)):
        return human(v, 4)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str)
    return str(v)


def _param_table(params: Mapping[str, Any]) -> tuple[str, int]:
    """The resolved parameters with unit, default and description; how many were set.

    Values that differ from the default were set by the scenario or its bases (for
    ``yrd_calibrated``, the calibrated values); they come first.
    """
    from model.params import Params

    fields = Params.__dataclass_fields__
    rows = []
    for k, v in params.items():
        f = fields.get(k)
        md = f.metadata if f is not None else {}
        default = f.default if f is not None else None
        value = tuple(v) if isinstance(v, list) else v
        rows.append({"parameter": k, "value": _fmt(value), "unit": md.get("unit", ""),
                     "set by": "default" if value == default else "scenario",
                     "default": _fmt(default), "description": md.get("doc", "")})
    df = pd.DataFrame(rows, columns=["parameter", "value", "unit", "set by", "default",
                                     "description"])
    df = pd.concat([df[df["set by"] == "scenario"], df[df["set by"] == "default"]])
    return (df.to_html(index=False, escape=True, border=0, na_rep=""),
            int((df["set by"] == "scenario").sum()))


def _kv(pairs: Iterable[tuple[str, Any]], caption: str | None = None) -> str:
    rows = "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>"
                   for k, v in pairs)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table class=\"kv\">{cap}<tbody>{rows}</tbody></table>"


def _table(df: pd.DataFrame, index: bool = False) -> str:
    return df.to_html(index=index, escape=True, border=0, na_rep="",
                      float_format=lambda v: _fmt(float(v)))


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(caption)}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"{GENERATOR}\n"
            f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n" + "\n".join(body)
            + "\n<p class=\"note\">Generated by innogrid (experiments/presentation/report.py); a "
            "self-contained file: figures are embedded.</p>\n</body>\n</html>\n")


def _provenance(meta: Mapping[str, Any]) -> str:
    keys = ("innogrid_version", "git_commit", "time_utc", "python", "platform")
    pairs = [(k, meta[k]) for k in keys if k in meta]
    pairs += [(f"package {k}", v) for k, v in (meta.get("packages") or {}).items()]
    return "<h2>Provenance</h2>\n" + _kv(pairs)


#: The keys a report reads from each JSON file, with their kinds: required, then optional.
_FIELDS: dict[str, tuple[dict[str, type | tuple], dict[str, type | tuple]]] = {
    "run": ({"scenario": dict, "seed": int, "steps": int},
            {"params": dict, "policy_default": dict, "policy_rules": list, "packages": dict,
             "geography": (str, type(None))}),
    "comparison": ({"kind": str, "base": str},
                   {"others": list, "seeds": list, "packages": dict}),
    "sensitivity": ({"method": str}, {"outcomes": list}),
    "store": ({}, {"seeds": list, "provenance": dict}),
    "sweep": ({"kind": str, "spec": dict},
              {"seeds": list, "points": list, "provenance": dict, "task_ids": list}),
}
_KIND_NAMES = {dict: "an object", list: "a list", int: "an integer", str: "a string"}


def _read_json(path: Path, directory: Path, fields: str | None = None) -> dict[str, Any]:
    """A JSON object from ``path`` (at most 64 MB), with ``fields`` of their kinds.

    Anything else is a :class:`ScenarioError` naming the file, the key and the value.
    """
    try:
        if path.stat().st_size > 64 << 20:
            raise ValueError("over 64 MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ValueError(f"{directory}: cannot read {path.name} ({err}); expected {_EXPECTED}"
                         ) from None
    if not isinstance(data, dict):
        raise ScenarioError(str(path), "(content)", data, "a JSON object written by innogrid")
    if fields is not None:
        required, optional = _FIELDS[fields]
        for key, kind in {**required, **optional}.items():
            if key not in data:
                if key in required:
                    raise ScenarioError(str(path), key, "(missing)",
                                        f"{_KIND_NAMES.get(kind, kind)}: an innogrid {fields} "
                                        "output has it")
                continue
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, kind):
                names = kind if isinstance(kind, tuple) else (kind,)
                raise ScenarioError(str(path), key, v, " or ".join(
                    _KIND_NAMES.get(k, "null") for k in names))
    return data


# --------------------------------------------------------------------------- kinds
def detect_kind(results_dir: str | Path) -> str:
    """``"run"``, ``"comparison"``, ``"sensitivity"``, ``"sweep"`` or ``"projection"``.

    Anything else is a ValueError.
    """
    d = Path(results_dir)
    if not d.is_dir():
        raise ValueError(f"{d}: not a directory; expected {_EXPECTED}")
    if (d / "report.json").is_file() and (d / "indices.csv").is_file():
        return "sensitivity"
    if (d / "manifest.json").is_file() and (d / ".innogrid-manifest.json").is_file():
        if _read_json(d / "manifest.json", d).get("kind") == "sweep":
            return "sweep"
    if (d / "metadata.json").is_file():
        meta = _read_json(d / "metadata.json", d)
        if meta.get("kind") == "comparison" and (d / "compare.csv").is_file():
            return "comparison"
        if meta.get("kind") == "projection" and (d / "trajectories.csv").is_file() \
                and (d / "tiers.csv").is_file():
            return "projection"
        if (d / "cities.csv").is_file() and (d / "region.csv").is_file():
            return "run"
    present = sorted(p.name for p in d.iterdir())[:12]
    raise ValueError(f"{d}: not an innogrid results directory (found {present}); expected "
                     f"{_EXPECTED}")


def write_report(results_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write one self-contained HTML report of a results directory.

    Parameters
    ----------
    results_dir : str or Path
        A run, comparison, sensitivity, sweep store or projection directory (see the
        module docstring).
    out : str or Path, optional
        The HTML file; default ``results_dir/report.html``. The figures are written as
        PNGs into ``report_figures/`` beside it.

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    ValueError
        If the directory is none of these kinds, or its files cannot be read as one;
        the message names the directory and the files expected.
        :class:`model.scenario.ScenarioError` (a ValueError) if one of its JSON files is not
        an object or lacks a key the kind has (it names the file, key and value).
        :class:`experiments.running.output.OutputError` (a ValueError) if the
        HTML file exists and is not an earlier innogrid report, or ``report_figures/``
        beside it is not innogrid's (see :mod:`experiments.running.output`).
    """
    d = Path(results_dir)
    kind = detect_kind(d)
    html_path = Path(out) if out is not None else d / REPORT_NAME
    check_file(html_path, GENERATOR)  # a user's file is never replaced
    build = {"run": _run_report, "comparison": _comparison_report,
             "sensitivity": _sensitivity_report, "projection": _projection_report,
             "sweep": _sweep_report}[kind]
    with output_dir(html_path.parent / FIGURES_DIR, "report") as figdir:
        try:
            title, body = build(d, figdir)
        except (OutputError, ScenarioError):
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
            # a damaged output or one of another version (a column missing, a wrong type)
            raise ValueError(f"{d}: a {kind} output that cannot be read ({type(e).__name__}: "
                             f"{shown(e.args[0] if e.args else '', 120)}); expected "
                             f"{_EXPECTED}") from None
    return write_file(html_path, _page(title, body), GENERATOR)


def _branch_rows(meta: dict) -> list[tuple[str, Any]]:
    """Rows naming the saved state(s) a run or comparison continued, if any."""
    states = meta.get("from_states") or ([meta["from_state"]] if meta.get("from_state") else [])
    if not states:
        return []
    s = states[0]
    return [("continued from", f"{len(states)} saved state{'s' if len(states) > 1 else ''} at "
             f"step {s.get('step')} ({s.get('year')}) of {s.get('scenario')}: "
             + ", ".join(str(x.get("file")) for x in states))]


def _branch_figures(meta: dict, cities: pd.DataFrame, region: pd.DataFrame, name: str,
                    geo: Any, figdir: Path) -> list[str]:
    """Figures of a run continued from a saved state (none for another run).

    The index with the branching point marked, and the tier maps at the branching point
    and the end side by side (one seed: no fan).
    """
    from experiments.analysis.projections import projection_fan, tier_maps

    state = meta.get("from_state")
    if not state or state.get("step") is None:
        return []
    step = int(state["step"])
    traj = region[["step", "year", "mean_index"]].assign(scenario=name, seed=meta.get("seed"))
    ends = cities[cities["step"].isin([step, int(cities["step"].max())])]
    tiers = ends[["step", "year", "city", "tier", "index", "rank"]].assign(
        scenario=name, seed=meta.get("seed"))
    branch = float(region.loc[region["step"] == step, "year"].iloc[0])
    return ["<h2>Continued from a saved state</h2>",
            _img(projection_fan(traj, branch, figdir / "branch_index.png", name),
                 f"Regional mean index: the saved history to {branch:g} (black) and this "
                 "run's continuation (one seed, so no fan; a projection over seeds is "
                 "python -m experiments.analysis.projections)."),
            _img(tier_maps(tiers, geo, name, figdir / "branch_tier_maps.png"),
                 "Tiers at the branching point and at the last step.")]


def _run_report(d: Path, figdir: Path) -> tuple[str, list[str]]:
    from model.observe import tier_transitions

    meta = _read_json(d / "metadata.json", d, "run")
    cities = pd.read_csv(d / "cities.csv")
    region = pd.read_csv(d / "region.csv")
    flows = {p.stem: pd.read_csv(p, index_col=0) for p in sorted((d / "flows").glob("*.csv"))}
    sc = meta.get("scenario") or {}
    name = sc.get("name", d.name)
    body = [f"<p><strong>{_e(sc.get('description', ''))}</strong></p>",
            _kv([("scenario", name), ("scenario file", sc.get("file", "")),
                 ("seed", meta.get("seed", "")), ("steps (quarters)", meta.get("steps", "")),
                 ("geography", meta.get("geography", "")),
                 ("years", f"{region['year'].min():g} to {region['year'].max():g}"),
                 *_branch_rows(meta)])]
    body.append(_provenance(meta))

    last_step = int(cities["step"].max())
    # transitions from the end of the first year (at step 0 the index is 0 everywhere)
    first_step = min(int(cities["step"].min()) + FIRST_YEAR_STEPS, last_step)
    fin = region.sort_values("step").iloc[-1]
    key = {"cv": "coefficient of variation of the index (sd / mean)",
           "gini": "Gini coefficient of the index (0-1)", "theil": "Theil T of the index",
           "theil_between": "Theil T between provinces", "theil_within": "Theil T within "
           "provinces", "morans_i": "global Moran's I of the index (0 = no spatial pattern)",
           "spillover_share": "share of innovation due to external knowledge (0-1)",
           "collab_index": "collaborative-innovation index (2011 = 100)",
           **{f"tier_{t}": f"cities in tier {t}" for t in (1, 2, 3, 4)}}
    body.append(f"<h2>Key numbers at the last step (step {last_step}, year "
                f"{float(fin['year']):g})</h2>")
    ordered = region.sort_values("step")
    body.append(_kv([("mean innovation index", index_summary(ordered["step"],
                                                             ordered["mean_index"]))]
                    + [(label, fin[k]) for k, label in key.items() if k in fin.index]))
    last = cities[cities["step"] == last_step].sort_values("rank")
    rows = [{"tier": t, "cities": int((last["tier"] == t).sum()),
             "members (by rank)": ", ".join(last.loc[last["tier"] == t, "city"].astype(str))}
            for t in (1, 2, 3, 4)]
    body.append("<h3>Tier membership at the last step</h3>")
    body.append(_table(pd.DataFrame(rows)))

    tr = tier_transitions(cities, first_step, last_step)
    tr.index = [f"tier {t} at step {first_step}" for t in tr.index]
    tr.columns = [f"tier {t} at step {last_step}" for t in tr.columns]
    body.append(f"<h2>Tier transitions, step {first_step} to step {last_step}</h2>")
    body.append("<p class=\"note\">Counts of cities; rows: tier at the end of the first "
                "year, columns: tier at the last step. (At step 0 the index is 0 everywhere and "
                "every city is in tier 2 by the rule, so the first year is the base.)</p>")
    body.append(_table(tr, index=True))

    body.append("<h2>Figures</h2>")
    geo = meta.get("geography") or None
    figs = fig.run_figures(cities, region, flows, geo, figdir)
    captions = {
        "tier_maps": "Tiers at four evenly spaced years ending at the last step.",
        "tier_counts": "Number of cities in each tier over time.",
        "index_trajectories": "Innovation index of every city (log scale) with the tier "
                              "bands relative to the regional mean; the top five cities at "
                              "the last step are highlighted.",
        "dispersion": "Dispersion (CV, Gini, Theil with its provincial split) and Moran's I.",
        "flow_talent": "Largest accumulated talent flows (talent agents moved).",
        "flow_capital": "Largest accumulated venture-capital flows (MU invested).",
        "flow_knowledge": "Largest accumulated knowledge spillovers (knowledge units).",
    }
    body += [_img(p, captions.get(k, k)) for k, p in figs.items()]
    body += _branch_figures(meta, cities, region, name, geo, figdir)

    body.append("<h2>Scenario parameters</h2>")
    params = meta.get("params") or {}
    table, changed = _param_table(params)
    body.append(f"<details open><summary>{len(params)} resolved parameters; the {changed} "
                "set by the scenario (or its bases; in yrd_calibrated, the calibrated values) "
                "come first</summary>" + table + "</details>")
    body.append("<h3>Default policy</h3>")
    body.append(_kv((meta.get("policy_default") or {}).items()))
    body.append("<h3>Policy rules</h3>")
    rules = meta.get("policy_rules") or []
    if rules:
        body.append(_table(pd.DataFrame([
            {"cities": ", ".join(map(str, r.get("cities", []))),
             "from year": _fmt(r.get("from_year")), "until year": _fmt(r.get("until_year")),
             "overrides": _fmt(r.get("overrides", {}))} for r in rules])))
    else:
        body.append("<p>None: the default policy applies everywhere.</p>")
    return f"Run report: {name}", body


def _comparison_report(d: Path, figdir: Path) -> tuple[str, list[str]]:
    meta = _read_json(d / "metadata.json", d, "comparison")
    summary = pd.read_csv(d / "compare.csv")
    runs = pd.read_csv(d / "runs.csv") if (d / "runs.csv").is_file() else pd.DataFrame()
    others = meta.get("others") or sorted(summary["comparison"].astype(str).unique())
    base = meta.get("base", "")
    body = [_kv([("base scenario", base), ("compared scenarios", ", ".join(map(str, others))),
                 ("steps (quarters)", meta.get("steps", "")),
                 ("root seed", meta.get("root_seed", meta.get("seed", ""))),
                 ("paired seeds", ", ".join(map(str, meta.get("seeds", [])))),
                 ("runs", len(runs)), *_branch_rows(meta)])]
    if meta.get("from_states"):
        body.append("<p class=\"note\">A comparison keeps each run's measures only; the "
                    "index history with the projected fans and the tier maps at the branching "
                    "point and the end are drawn by <code>python -m "
                    "experiments.analysis.projections STATES BASE OTHER... --until YEAR --out "
                    "DIR</code> from the same states, "
                    "and <code>innogrid report DIR</code>.</p>")
    body.append("<h2>Differences (other − base) with 95% intervals</h2>")
    body.append("<p class=\"note\">Mean paired difference over seeds with a 95% t-interval. "
                "★ marks rows whose interval excludes 0. <em>expected</em> is a scenario's "
                "claim ([expect]) and <em>as_expected</em> its verdict.</p>")
    tab = summary.copy()
    if "beyond_noise" in tab:
        beyond = tab["beyond_noise"].astype(str).str.lower() == "true"
        tab.insert(0, "excludes 0", np.where(beyond, "★", ""))
    show = [c for c in ("excludes 0", "comparison", "measure", "base_mean", "other_mean", "diff",
                        "ci_low", "ci_high", "n_seeds") if c in tab]
    for c in ("expected", "as_expected"):
        if c in tab and tab[c].notna().any() and (tab[c].astype(str).str.strip() != "").any():
            show.append(c)
    body.append(_table(tab[show]))
    body.append("<h2>Figure</h2>")
    from experiments.analysis.compare import figure_measures

    body.append(_img(fig.comparison(summary, figdir / "comparison.png",
                                    measures=figure_measures(summary)),
                     "Differences from the base scenario with 95% intervals, for the headline "
                     "measures and each scenario's claimed one (every measure is in the table "
                     "above); filled markers: the interval excludes 0."))
    if not runs.empty and {"scenario", "seed"} <= set(runs.columns):
        body.append("<h2>Runs</h2>")
        body.append(_table(runs.groupby("scenario", sort=False)["seed"]
                           .agg(runs="count", seeds=lambda s: ", ".join(map(str, s.unique())))
                           .reset_index()))
    body.append(_provenance(meta))
    return f"Scenario comparison: {base} vs {', '.join(map(str, others))}", body


def _projection_report(d: Path, figdir: Path) -> tuple[str, list[str]]:
    from experiments.analysis.projections import projection_fan, tier_changes, tier_maps

    meta = _read_json(d / "metadata.json", d)
    traj = pd.read_csv(d / "trajectories.csv")
    tiers = pd.read_csv(d / "tiers.csv")
    base = str(meta.get("base", traj["scenario"].iloc[0]))
    branch = float(meta.get("branch_year", tiers["year"].min()))
    body = [_kv([("base scenario", base),
                 ("scenarios", ", ".join(map(str, traj["scenario"].unique()))),
                 ("projected", f"{branch:g} to {traj['year'].max():g}"),
                 ("seeds (one saved state each)", ", ".join(map(str, meta.get("seeds", [])))),
                 ("probabilities", meta.get("probabilities", "shares of seeds")),
                 *_branch_rows(meta)])]
    body.append("<h2>Index: history and projection</h2>")
    body.append(_img(projection_fan(traj, branch, figdir / "projection_fan.png", base),
                     "Regional mean index: the saved history (grey) and each scenario's "
                     "projection (median and 5-95% band over seeds) against the base (blue)."))
    body.append("<h2>Tiers at the branching point and at the end</h2>")
    body.append(_img(tier_maps(tiers, None, base, figdir / "tier_maps.png"),
                     f"{base}: each city's modal tier over seeds."))
    ch = tier_changes(tiers, base)
    moved = ch[ch["p_change"] > 0].sort_values(["scenario", "p_change"], ascending=[True, False])
    body.append("<h2>Tier changes (share of seeds)</h2>")
    body.append("<p class=\"note\">p_up: the city climbs (a smaller tier number) between the "
                "branching point and the end; p_down: it falls; *_vs_base: the difference from "
                "the base's share. Cities that change in no seed are omitted.</p>")
    cols = [c for c in ("scenario", "city", "tier_start", "tier_end", "p_up", "p_down",
                        "p_up_vs_base", "p_down_vs_base", "n_seeds") if c in moved]
    body.append(_table(moved[cols]) if len(moved) else "<p>No city changes tier.</p>")
    body.append(_provenance(meta))
    return f"Projection: {base} and {len(traj['scenario'].unique()) - 1} scenarios", body


def _sensitivity_report(d: Path, figdir: Path) -> tuple[str, list[str]]:
    rep = _read_json(d / "report.json", d, "sensitivity")
    indices = pd.read_csv(d / "indices.csv")
    noise = pd.read_csv(d / "noise.csv") if (d / "noise.csv").is_file() else pd.DataFrame()
    manifest_path = d / "runs" / "manifest.json"
    manifest = _read_json(manifest_path, d, "store") if manifest_path.is_file() else {}
    body = [_kv([("spec", rep.get("spec", "")), ("method", rep.get("method", "")),
                 ("sample points", rep.get("sample_points", "")),
                 ("replicates (seeds per point)", rep.get("replicates", "")),
                 ("sample", rep.get("sample", "drawn")),
                 ("runs", rep.get("runs", "")), ("failed runs", rep.get("failed_runs", "")),
                 ("root seed", rep.get("root_seed", "")),
                 ("replicate seeds", ", ".join(map(str, manifest.get("seeds", [])))),
                 ("outcomes", ", ".join(map(str, rep.get("outcomes", []))))])]
    body.append("<h2>Sensitivity indices</h2>")
    body.append(_table(indices))
    body.append("<h2>Seed noise</h2>")
    body.append("<p class=\"note\">noise_share: the share of an outcome's variance due to the "
                "seed (within-point) rather than the parameters.</p>")
    body.append(_table(noise) if not noise.empty else "<p>No noise table.</p>")
    body.append("<h2>Figure</h2>")
    try:
        png = fig.sensitivity_indices(indices, figdir / "indices.png")
        body.append(_img(png, "Sensitivity indices with bootstrap intervals."))
    except ValueError as err:
        body.append(f"<p>No figure: {_e(err)}</p>")
    prov = manifest.get("provenance") or {}
    if prov:
        body.append(_provenance(prov))
    return f"Sensitivity analysis: {rep.get('name', d.name)}", body


def _sweep_report(d: Path, figdir: Path) -> tuple[str, list[str]]:
    from experiments.running.sweep import load_results, load_series

    manifest = _read_json(d / "manifest.json", d, "sweep")
    spec = manifest["spec"]
    runs = load_results(d)
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    points = manifest.get("points") or []
    tasks = len(manifest.get("task_ids") or [])
    sampled = spec.get("design") != "grid"
    series_names = list(spec.get("series") or [])
    rows = [("spec", spec.get("file", "")), ("model", spec.get("model", "")),
            ("scenarios", ", ".join(Path(str(s)).name for s in spec.get("scenarios", []))),
            ("design", spec.get("design", "")),
            ("design points", len(points)),
            ("replicates (seeds per point)", spec.get("replicates", "")),
            ("root seed", manifest.get("root_seed", spec.get("root_seed", ""))),
            ("replicate seeds", ", ".join(map(str, manifest.get("seeds", [])))),
            ("steps (quarters)", spec.get("steps") or "each scenario's run.steps"),
            ("runs in the spec", tasks),
            ("runs recorded", f"{len(runs)} ({len(ok)} ok, {len(runs) - len(ok)} failed)"),
            ("series recorded", ", ".join(series_names) or "none (spec key series)")]
    if spec.get("sample_source"):
        rows.insert(5, ("sample", f"the user's own, from {spec['sample_source']}"))
    elif sampled:
        rows.insert(5, ("sample", f"drawn with SALib from the root seed (n = {spec.get('n')})"))
    body = [_kv(rows)]
    body.append("<h2>Parameters</h2>")
    if spec.get("bounds"):
        body.append(_table(pd.DataFrame([{"parameter": k, "low": v[0], "high": v[1]}
                                         for k, v in spec["bounds"].items()])))
    if spec.get("values"):
        body.append(_table(pd.DataFrame([{"parameter": k, "values": ", ".join(map(_fmt, v))}
                                         for k, v in spec["values"].items()])))
    if not spec.get("bounds") and not spec.get("values"):
        body.append("<p>None: every point runs the scenario as it is.</p>")
    outs = [c for c in ok.columns if c.startswith("out.")] if len(ok) else []
    body.append("<h2>Outcomes over the runs</h2>")
    if outs:
        body.append(f"<p class=\"note\">Each outcome over the {len(ok)} runs that finished "
                    "(all design points and replicate seeds together); quantiles are of "
                    "single runs.</p>")
        vals = ok[outs].astype(float)
        summary = pd.DataFrame({
            "outcome": [c.removeprefix("out.") for c in outs],
            "runs": vals.notna().sum().to_numpy(), "mean": vals.mean().to_numpy(),
            "sd": vals.std(ddof=1).to_numpy(), "min": vals.min().to_numpy(),
            "5%": vals.quantile(0.05).to_numpy(), "median": vals.median().to_numpy(),
            "95%": vals.quantile(0.95).to_numpy(), "max": vals.max().to_numpy()})
        body.append(_table(summary))
        params = [c for c in ok.columns if c.startswith("param.")]
        shown = ok.groupby(["scenario", "point"], sort=False)[[*params, *outs]].mean()
        head = shown.head(50).reset_index()
        head.columns = [c.removeprefix("param.").removeprefix("out.") for c in head.columns]
        more = f" (the first 50 of {len(shown)})" if len(shown) > 50 else ""
        body.append(f"<h3>Mean over the replicates, by design point{more}</h3>")
        body.append(_table(head))
    else:
        body.append("<p>No finished runs yet: run the sweep (re-running it resumes).</p>")
    failed = runs[runs["status"] != "ok"] if len(runs) else runs
    if len(failed):
        body.append("<h3>Failed runs</h3>")
        body.append(_table(failed[["scenario", "point", "replicate", "seed", "error"]].head(20)))
    if series_names:
        body.append("<h2>Series</h2>")
        series = load_series(d)
        if len(series):
            png = fig.sweep_series(series, figdir / "sweep_series.png",
                                   measures=series_names)
            body.append(_img(png, "Each recorded measure per step, by design point: the median "
                                  "over the replicate seeds, with the band from the lowest to "
                                  "the highest replicate."))
            body.append("<p class=\"note\">The per-step values are in series/*.parquet; load "
                        "them with <code>experiments.running.sweep.load_series(DIR)</code>.</p>")
        else:
            body.append("<p>No series recorded yet.</p>")
    prov = manifest.get("provenance") or {}
    if prov:
        body.append(_provenance(prov))
    return f"Sweep: {spec.get('name', d.name)}", body
