"""Every notebook runs top to bottom in small-budget mode and matches its
jupytext source (`notebooks/*.py` is the source of truth)."""

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _code_cells(notebook):
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(path):
    source = path.with_suffix(".py")
    assert source.is_file(), f"{path.name} has no jupytext source {source.name}"
    generated = jupytext.read(source)
    committed = nbformat.read(path, as_version=4)
    assert _code_cells(generated) == _code_cells(committed), (
        f"{path.name} is out of date: run `jupytext --to ipynb {source}`")


@pytest.mark.large
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_small_budget(path, saved_models_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFUNSUP_NOTEBOOK_BUDGET", "small")
    monkeypatch.setenv("TFUNSUP_SAVED_MODELS", str(saved_models_dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
