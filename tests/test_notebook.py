"""examples/tutorial.ipynb, the tutorial's walk in the API's words, runs from top to bottom
(headless, with tiny settings), so it cannot rot; its checks print what they found."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

NOTEBOOK = ROOT / "examples" / "tutorial.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.xdist_group("notebook")
def test_the_tutorial_notebook_runs_and_its_checks_hold(tmp_path, monkeypatch):
    monkeypatch.setenv("STACKGEN_NOTEBOOK_EPOCHS", "3")
    monkeypatch.setenv("STACKGEN_NOTEBOOK_HEAD_EPOCHS", "2")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    printed = "\n".join(_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "(100, 2) (1000, 2)" in printed
    assert printed.count("Model Accuracy: ") == 5
    assert printed.count("Stacked Test Accuracy: ") == 2
    assert "meta-learner's inputs: (100, 5, 3) [rows, members, classes]" in printed
    assert "p_vs_best_member" in printed  # compare's table
    assert "stacked_network gives predict_proba's numbers: True" in printed
    assert "blobs_stack.zip loaded; same predictions: True" in printed
    assert "'final_estimator'" in printed  # the grid search's best parameters
    assert list(tmp_path.iterdir()) == []  # its saved stack went to a temporary folder, now gone
