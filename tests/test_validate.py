import json

import pytest

from experiments.analysis.validate import validate


def test_validation_runs_and_reports_every_pattern(tmp_path):
    res = validate(scenario="yrd_calibrated.toml", seeds=2, out=tmp_path)
    saved = json.loads((tmp_path / "validation.json").read_text())
    assert saved["tier_counts_mean"] == res["tier_counts_mean"]
    assert sum(res["tier_counts_mean"].values()) == 41
    assert res["index_growth_end2001_end2021"]["fact"] == 138.67 / 0.4
    assert res["collab_index_2021"]["fact"] == 247.11
    assert res["gdp_cv_2021"]["fact"] == pytest.approx(1.14, abs=0.005)
    assert set(res["named_hit_rate"]) >= {"Shanghai", "Hefei", "Nantong", "Taizhou"}
    assert res["null"]["named_hits"] == 9  # the persistence null model, scored alike
    assert 0 <= res["named_hits_mean"] <= 11
    # the GDP-share diagnostics: the data's split by province, the runs' against it
    prov = res["gdp_share_change_province"]
    assert set(prov) == {"Shanghai", "Jiangsu", "Zhejiang", "Anhui"}
    assert prov["Jiangsu"]["fact"] > 0 > prov["Zhejiang"]["fact"]
    assert res["gdp_share_change_fact"]["between_share"] == pytest.approx(0.292, abs=0.001)
    assert res["gdp_share_change_sd"]["fact"] == res["gdp_share_change_fact"]["sd"]
    assert -1 <= res["gdp_share_change_corr"]["median"] <= 1
    assert (tmp_path / "patterns.png").exists() and (tmp_path / "named_cities.png").exists()


def test_validation_doc_quotes_the_committed_numbers():
    doc = open("docs/VALIDATION.md").read()
    res = json.load(open("docs/validation/validation.json"))
    assert f"{res['tier_counts_mean']['tier_2']:.2f}" in doc
    assert f"{res['named_hits_mean']:.2f}" in doc
    assert f"{res['index_growth_end2001_end2021']['median']:.0f}" in doc
    assert f"{res['collab_index_2021']['median']:.0f}" in doc
    assert f"{res['gdp_share_male']['median']:.3f}" in doc


def _record(tmp_path, params):
    rec = {"accepted": [{"index": 3, "params": params}], "best": {"index": 3}}
    p = tmp_path / "rec.json"
    p.write_text(json.dumps(rec))
    return p


def test_patterns_and_claims_are_run_at_each_accepted_set(tmp_path):
    from experiments.analysis.robustness import claim_robustness, yrd_claims
    from experiments.analysis.validate import accepted_set_patterns

    rec = _record(tmp_path, {"innov_rate": 0.01})
    pat = accepted_set_patterns("yrd_calibrated.toml", rec, seeds=1)
    assert len(pat) == 1 and pat[0]["chosen"] and pat[0]["params"] == {"innov_rate": 0.01}
    assert sum(pat[0]["tier_counts_mean"].values()) == 41
    df = claim_robustness(rec, scenarios=["hefei_push.toml"], seeds=2)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["scenario"] == "hefei_push" and row["measure"] == "target_rank"
    assert row["set"] == 3 and row["innov_rate"] == 0.01 and row["n_seeds"] == 2
    assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert "hefei_push.toml" in yrd_claims() and "boston.toml" not in yrd_claims()


@pytest.mark.parametrize("module,args", [
    ("validate", ["--seeds", "0"]), ("validate", ["--set-seeds", "0"]),
    ("validate", ["--jobs", "0"]), ("validate_peers", ["--seeds", "0"]),
    ("validate_peers", ["--jobs", "-1"]), ("validate_peers", ["--scenario", "missing.toml"])])
def test_validation_bad_input_exits_2_and_writes_nothing(tmp_path, module, args):
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "v"
    proc = subprocess.run([sys.executable, "-m", f"experiments.analysis.{module}", *args,
                           "--out", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr
    assert not out.exists()
