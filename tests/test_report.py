"""The HTML report: self-contained, complete for runs, comparisons and sensitivity analyses."""

import json
import re

import pandas as pd
import pytest

from experiments.analysis.compare import run_compare, write_comparison
from experiments.analysis.sensitivity import sensitivity
from experiments.presentation.report import write_report
from experiments.running.run import run, write_outputs
from experiments.running.sweep import load_spec

PI = 3.141592653589793
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _text(html):
    """The HTML without its base64 payloads (which may contain any letters)."""
    return IMG.sub('<img src="data:image/png;base64,"', html)


def _assert_self_contained(html):
    text = _text(html)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    assert re.findall(r'src="([^"]*)"', text) == ['data:image/png;base64,'] * len(IMG.findall(html))


@pytest.fixture(scope="module")
def yrd_dir(tmp_path_factory):
    out = run("scenarios/yrd_calibrated.toml", seed=1, steps=12)
    return write_outputs(out, tmp_path_factory.mktemp("yrd") / "run")


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    out = run("scenarios/grid_baseline.toml", seed=4, steps=6)
    out.metadata["scenario"]["description"] = 'evil <script>alert("x")</script> & co'
    return write_outputs(out, tmp_path_factory.mktemp("grid") / "run")


def test_run_report_is_self_contained_and_complete(yrd_dir):
    path = write_report(yrd_dir)
    assert path == yrd_dir / "report.html"
    html = path.read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert len(IMG.findall(html)) >= 7  # 4 run figures + 3 flow maps
    pngs = sorted((yrd_dir / "report_figures").glob("*.png"))
    assert len(pngs) >= 7 and all(p.stat().st_size > 5000 for p in pngs)
    meta = json.loads((yrd_dir / "metadata.json").read_text())
    assert meta["scenario"]["name"] in html and "yrd_calibrated" in html
    assert f"<td>{meta['seed']}</td>" in html
    assert meta["git_commit"] in html
    region = pd.read_csv(yrd_dir / "region.csv")
    last = region.iloc[-1]
    for t in (1, 2, 3, 4):
        assert (f'<th scope="row">cities in tier {t}</th><td>{int(last[f"tier_{t}"])}</td>'
                in html)
    # the index in model units and on the studies' scale, with readable names (issue #14)
    assert "model units (MU) =" in html and "its level at the end of the first year" in html
    assert '<th scope="row">cv</th>' not in html and "coefficient of variation" in html
    cities = pd.read_csv(yrd_dir / "cities.csv")
    top = cities[cities["step"] == 12].nsmallest(1, "rank")["city"].iloc[0]
    assert top in html
    assert "tier 1 at step 12" in html  # the transition matrix step 0 -> 12
    assert "Policy rules" in html and "innov_rate" in html  # parameters are listed


def test_run_report_escapes_text_from_files(grid_dir, tmp_path):
    out = tmp_path / "elsewhere" / "r.html"
    path = write_report(grid_dir, out)
    assert path == out
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "evil &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert (tmp_path / "elsewhere" / "report_figures" / "tier_maps.png").is_file()
    _assert_self_contained(html)


def test_comparison_report(tmp_path):
    runs, summary, meta = run_compare("scenarios/yrd_calibrated.toml",
                                      ["scenarios/hefei_push.toml"], seeds=2, root=3, steps=4,
                                      jobs=1)
    summary.loc[summary["measure"] == "cv", "beyond_noise"] = True  # one marked row
    summary.loc[summary["measure"] != "cv", "beyond_noise"] = False
    d = write_comparison(runs, summary, meta, tmp_path / "cmp")
    html = write_report(d).read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert len(IMG.findall(html)) >= 1
    assert "<th>measure</th>" in html and "<th>ci_low</th>" in html
    assert "<th>expected</th>" in html and "<th>as_expected</th>" in html  # hefei's claim
    assert html.count("<td>★</td>") == 1
    assert "target_rank" in html and "hefei_push" in html
    for s in meta["seeds"]:
        assert str(s) in html
    assert meta["git_commit"] in html


def test_sensitivity_report(tmp_path):
    p = tmp_path / "ish.toml"
    p.write_text('name = "tiny_ishigami"\nmodel = "ishigami"\nnoise = 0.1\nreplicates = 2\n'
                 'root_seed = 5\n[design]\nkind = "sobol"\nn = 16\n[params]\n'
                 + "".join(f"x{i} = [{-PI}, {PI}]\n" for i in (1, 2, 3)))
    sensitivity(load_spec(p), tmp_path / "sens", backend="serial", progress=False,
                num_resamples=20)
    html = write_report(tmp_path / "sens").read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert len(IMG.findall(html)) == 1
    assert "tiny_ishigami" in html and "sobol" in html
    assert "<th>conf_high</th>" in html and "<td>ST</td>" in html  # the indices table
    assert "<th>noise_share</th>" in html  # the noise table
    assert '<th scope="row">replicates (seeds per point)</th><td>2</td>' in html
    assert '<th scope="row">sample</th><td>drawn</td>' in html


def test_unknown_directory_raises(tmp_path):
    with pytest.raises(ValueError, match="metadata.json"):
        write_report(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        write_report(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "metadata.json").write_text('{"kind": "comparison"}')  # no compare.csv
    with pytest.raises(ValueError, match="compare.csv"):
        write_report(tmp_path)


def test_cli_report_writes_html_and_rejects_other_directories(tmp_path, capsys):
    from experiments.cli import main

    run_dir = tmp_path / "run"
    assert main(["run", "grid_baseline.toml", "--steps", "6", "--out", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert "report.html" in capsys.readouterr().out
    other = tmp_path / "other"
    other.mkdir()
    assert main(["report", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not an innogrid results directory" in err


def test_run_report_parameters_have_units_descriptions_and_the_scenarios_values_first(yrd_dir):
    from model.scenario import load_scenario

    html = (yrd_dir / "report.html").read_text(encoding="utf-8") if (
        yrd_dir / "report.html").exists() else write_report(yrd_dir).read_text(encoding="utf-8")
    part = html[html.index("resolved parameters"):]
    part = part[:part.index("</table>")]
    rows = [[c.strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S)]
    params = pd.DataFrame(rows[1:], columns=rows[0])
    assert list(params.columns) == ["parameter", "value", "unit", "set by", "default",
                                    "description"]
    calibrated = load_scenario("scenarios/yrd_calibrated.toml")
    # every calibrated parameter is marked as set by the scenario, and they come first
    n = int((params["set by"] == "scenario").sum())
    assert set(params["parameter"].head(n)) >= {"innov_rate", "elast_knowledge"}
    assert (params["set by"].head(n) == "scenario").all()
    row = params.set_index("parameter").loc["spill_decay_km"]
    assert row["unit"] == "km" and row["set by"] == "scenario"
    assert float(str(row["value"]).replace(",", "")) == pytest.approx(
        calibrated.params.spill_decay_km, rel=1e-3)
    assert params["description"].str.len().min() > 10
    assert not re.search(r"\d\.\d+e[+-]\d\d", _text(html))  # no scientific notation


def test_sweep_store_report_has_the_design_the_outcomes_and_the_series(tmp_path):
    from pathlib import Path

    from experiments.presentation.report import detect_kind
    from experiments.running.sweep import load_results, sweep

    grid = Path("scenarios/grid_baseline.toml").resolve()
    p = tmp_path / "tiny_sweep.toml"
    p.write_text(f'scenarios = ["{grid}"]\nreplicates = 2\nroot_seed = 12\nsteps = 3\n'
                 'series = ["mean_index", "gini"]\n[design]\nkind = "grid"\n[params]\n'
                 "spill_rate = [0.1, 0.4]\nn_talent = [500]\nn_firms = [100]\nn_funds = [5]\n")
    store = tmp_path / "store"
    sweep(load_spec(p), store, backend="serial", progress=False)
    assert detect_kind(store) == "sweep"
    html = write_report(store).read_text(encoding="utf-8")
    _assert_self_contained(html)
    text = _text(html)
    assert "Sweep: tiny_sweep" in text
    manifest = json.loads((store / "manifest.json").read_text())
    assert f"<td>{manifest['root_seed']}</td>" in text
    assert ", ".join(map(str, manifest["seeds"])) in text
    assert "spill_rate" in text and "mean_index, gini" in text
    # the outcome summary: the mean of cv over the runs, as the store holds it
    runs = load_results(store)
    from experiments.presentation.report import _fmt

    row = re.search(r"<tr>\s*<td>cv</td>\s*<td>4</td>\s*<td>([^<]+)</td>", text)
    assert row and row.group(1) == _fmt(float(runs["out.cv"].mean()))
    assert len(IMG.findall(html)) == 1
    assert (store / "report_figures" / "sweep_series.png").stat().st_size > 5000
    # the store still resumes with the report beside it (nothing re-run)
    again = sweep(load_spec(p), store, backend="serial", progress=False)
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), runs.drop(columns="seconds"))


def test_sweep_report_without_series_and_of_a_sensitivity_store(tmp_path):
    from experiments.presentation.report import detect_kind

    p = tmp_path / "ish.toml"
    p.write_text('model = "ishigami"\nreplicates = 1\nroot_seed = 2\n[design]\nkind = "pawn"\n'
                 "n = 30\n[params]\n" + "".join(f"x{i} = [{-PI}, {PI}]\n" for i in (1, 2, 3)))
    sensitivity(load_spec(p), tmp_path / "sens", outcomes=("y",), backend="serial",
                progress=False, num_resamples=10)
    store = tmp_path / "sens" / "runs"
    assert detect_kind(store) == "sweep"
    html = write_report(store).read_text(encoding="utf-8")
    assert not IMG.findall(html) and "none (spec key series)" in html
    assert "drawn with SALib from the root seed (n = 30)" in html
    from experiments.presentation.report import _fmt

    assert f"<td>x1</td>\n      <td>{_fmt(-PI)}</td>\n      <td>{_fmt(PI)}</td>" in html
