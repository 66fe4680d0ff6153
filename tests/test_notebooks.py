"""Every notebook runs top to bottom with small settings (INNOGRID_NB_SMALL=1).

Outputs are not committed (tests/test_notebooks.py also checks that)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


ROOT = Path(__file__).resolve().parent.parent


def _results_tree() -> set[str]:
    return {str(p) for p in (ROOT / "results").rglob("*")} if (ROOT / "results").exists() else set()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("INNOGRID_NB_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = _results_tree()
    nb = nbformat.read(path, as_version=4)
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells), (
        f"{path.name} has no cell tagged 'parameters'")
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # numbers for people: no table or printed line in scientific notation (issue #14)
    import re

    sci = re.compile(r"\b\d\.\d+e[+-]\d\d\b")
    texts = [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
             + str(o.get("data", {}).get("text/html", ""))
             for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    shown = [m.group(0) for t in texts for m in sci.finditer(t)]
    assert not shown, shown[:5]
    # the tests write nothing into the repository (small runs go to temporary folders)
    assert _results_tree() == before, sorted(_results_tree() - before)[:5]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_outputs_are_not_committed(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")
