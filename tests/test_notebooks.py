"""Every notebook is committed without outputs and runs top to bottom on small data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.timeout(240)


def test_the_two_exploration_notebooks_exist() -> None:
    assert {path.name for path in NOTEBOOKS} == {
        "ingest_exploration.ipynb",
        "prime_exploration.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code, "a notebook without code cells teaches nothing"
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code)


@pytest.mark.subprocess
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small data: the notebooks read MINI_ORCH_NOTEBOOK_SMALL and shrink their inputs.
    monkeypatch.setenv("MINI_ORCH_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MINI_ORCH_NOTEBOOK_WORKDIR", str(tmp_path))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    )
    # nbformat ships py.typed but leaves read() unannotated
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
