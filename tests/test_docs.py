"""docs/ODD.md stays true to the code: generated tables current, every submodel and
parameter documented, in step() order."""

import dataclasses
import inspect
import re
from pathlib import Path

from model.model import InnovationModel
from model.params import Params, Policy, markdown_param_table

ROOT = Path(__file__).resolve().parent.parent
ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
SUBMODELS = [p.stem for p in (ROOT / "model" / "submodels").glob("*.py") if p.stem != "__init__"]


def test_parameter_tables_are_generated_from_the_code():
    for cls in (Params, Policy):
        assert markdown_param_table(cls) in ODD, (
            f"docs/ODD.md table for {cls.__name__} is stale: run python -m model.params")


def test_every_parameter_is_discussed_outside_the_table():
    body = ODD.split("## Appendix B")[0]
    missing = [f.name for cls in (Params, Policy) for f in dataclasses.fields(cls)
               if f"`{f.name}`" not in body and f.name not in ("n_talent", "n_firms", "n_funds",
                                                               "start_year")]
    assert not missing, f"parameters not described in the ODD text: {missing}"


def test_section_7_follows_step_order():
    src = inspect.getsource(InnovationModel.step)
    found = re.findall(r"^\s+(\w+)\(w, rng", src, re.M)
    # the default order: a submodel called twice under an ordering flag counts at its last place
    calls = [c for k, c in enumerate(found) if c not in found[k + 1:]]
    assert sorted(calls) == sorted(SUBMODELS)
    sections = re.findall(r"^### 7\.(\d+) (\w+)$", ODD, re.M)
    assert [name for _, name in sections] == calls
    assert [int(k) for k, _ in sections] == list(range(1, len(calls) + 1))


def test_license_citation_and_changelog_agree_with_the_package():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"]["text"] == "MIT" and licence.startswith("MIT License")
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r'^version: "?' + re.escape(project["version"]) + '"?$', cff, re.M)
    assert re.search(r"^license: MIT$", cff, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {project['version']}" in changelog
