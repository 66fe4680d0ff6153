"""The package layout: experiments/ is grouped by role, and the model never imports it.

The top of experiments/ holds the CLI and the four role packages (running, inference,
analysis, presentation), each with a docstring saying what lives there; model/ is the
model alone, usable without any of experiments/.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
ROLES = ("running", "inference", "analysis", "presentation")
TOP = {"__init__.py", "cli.py", "README.md", "specs", "yrd_calibration.toml",
       "yrd_calibration_residents.toml", "yrd_posterior.toml", *ROLES}


def test_the_top_of_experiments_holds_only_the_cli_the_specs_and_the_role_packages():
    found = {p.name for p in EXPERIMENTS.iterdir()
             if p.name != "__pycache__" and not p.name.startswith(".")}
    assert found == TOP, f"unexpected: {sorted(found - TOP)}; missing: {sorted(TOP - found)}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_package_says_what_lives_in_it(role):
    assert (EXPERIMENTS / role / "__init__.py").is_file()
    doc = importlib.import_module(f"experiments.{role}").__doc__
    assert doc and doc.strip(), f"experiments/{role}/__init__.py has no docstring"
    assert not [p for p in (EXPERIMENTS / role).iterdir() if p.is_dir()
                and p.name != "__pycache__"], "role packages are flat"


def test_the_experiments_readme_maps_every_module():
    readme = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    modules = [p.relative_to(ROOT).as_posix() for role in ROLES
               for p in sorted((EXPERIMENTS / role).glob("*.py")) if p.name != "__init__.py"]
    missing = [m for m in modules if f"`{Path(m).name}`" not in readme.split("\n## ")[0]]
    assert not missing, f"not in the map at the top of experiments/README.md: {missing}"


def _imported(path: Path) -> list[str]:
    """The absolute module names a file imports (relative imports stay in their package)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                  "import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    return names


def test_the_model_never_imports_experiments():
    files = sorted((ROOT / "model").rglob("*.py"))
    assert len(files) > 10
    bad = [f"{f.relative_to(ROOT)}: {name}" for f in files for name in _imported(f)
           if name == "experiments" or name.startswith("experiments.")]
    assert not bad, "model/ must not depend on experiments/: " + "; ".join(bad)


def test_the_import_scan_sees_every_form_of_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import experiments.running.run\nfrom experiments import cli\n"
                 "def g():\n    from experiments.analysis import compare\n"
                 "    importlib.import_module('experiments.presentation.figures')\n")
    assert sorted(_imported(f)) == ["experiments", "experiments.analysis",
                                    "experiments.presentation.figures",
                                    "experiments.running.run"]
