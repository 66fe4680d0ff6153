import json

from experiments.validate import validate


def test_validation_runs_and_reports_every_pattern(tmp_path):
    res = validate(scenario="yrd_calibrated.toml", seeds=2, out=tmp_path)
    saved = json.loads((tmp_path / "validation.json").read_text())
    assert saved["tier_counts_mean"] == res["tier_counts_mean"]
    assert sum(res["tier_counts_mean"].values()) == 41
    assert res["mean_index_2021_over_2001"]["fact"] == 138.67 / 0.4
    assert res["collab_index_2021"]["fact"] == 247.11
    assert set(res["fact_tier_hit_rate"]) >= {"Shanghai", "Hefei", "Nantong"}
    assert (tmp_path / "patterns.png").exists() and (tmp_path / "named_cities.png").exists()


def test_validation_doc_quotes_the_committed_numbers():
    doc = open("docs/VALIDATION.md").read()
    res = json.load(open("docs/validation/validation.json"))
    assert f"{res['tier_counts_mean']['tier_2']:.2f}" in doc
    assert f"{res['mean_index_2021_over_2001']['median']:.0f}" in doc
    assert f"{res['collab_index_2021']['median']:.0f}" in doc
