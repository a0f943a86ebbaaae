"""Every notebook runs top to bottom in small-budget mode, shows the figures it
draws, and matches its jupytext source (`notebooks/*.py` is the source of
truth); each starts with an "Open in Colab" badge and an install cell."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _code_cells(notebook):
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


def draws(source):
    """Whether a code cell's source draws a figure the reader should see:
    it calls `plt.show()`, or its last line is a bare figure expression
    (`fig`, `plt.gcf()`), which Jupyter renders."""
    lines = [line for line in source.strip().splitlines() if not line.lstrip().startswith("#")]
    if any("plt.show()" in line for line in lines):
        return True
    last = lines[-1].strip() if lines else ""
    return re.fullmatch(r"(fig\w*|plt\.gcf\(\))\s*;?", last) is not None


def has_image(cell):
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def cells_missing_figures(notebook):
    """Indices of executed code cells that draw but produced no image/png output."""
    return [i for i, c in enumerate(notebook.cells)
            if c.cell_type == "code" and draws(c.source) and not has_image(c)]


def test_figure_check_fails_on_a_cell_without_image():
    cell = nbformat.v4.new_code_cell("plt.plot([1, 2])\nplt.show()")
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("x = 1")])
    assert cells_missing_figures(notebook) == [0]
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]
    assert cells_missing_figures(notebook) == []
    assert draws("fig, ax = plt.subplots()\nax.plot([1])\nfig")
    assert not draws("# plt.show()\nx = 1")


def test_figure_check_catches_a_backend_switched_at_import(tmp_path):
    """In a real kernel: a figure drawn after `matplotlib.use("Agg")` (what
    library modules used to do on import) shows no image, and the check
    names that cell; the same figure drawn normally shows one."""
    shown = nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    hidden = nbformat.v4.new_code_cell(
        "import matplotlib\nmatplotlib.use('Agg')\nplt.plot([2, 1])\nplt.show()")
    notebook = nbformat.v4.new_notebook(cells=[shown, hidden])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert cells_missing_figures(notebook) == [1]


OWN_COLAB = ("01_transfer_clustering", "02_autoencoder_anomaly", "03_pretrain_finetune",
             "04_gan", "05_domain_adaptation", "06_cluster_your_photos", "07_text_and_speech")


@pytest.mark.parametrize("name", OWN_COLAB)
def test_colab_badge_and_install_cell(name):
    notebook = nbformat.read(NOTEBOOKS[0].parent / f"{name}.ipynb", as_version=4)
    first = notebook.cells[0].source
    assert "colab-badge.svg" in first and f"notebooks/{name}.ipynb" in first
    install = [c.source for c in notebook.cells if c.cell_type == "code"][0]
    assert install.count("REPO_URL = ") == 1 and "pip" in install
    assert 'find_spec("tfunsup") is None' in install  # skipped when installed


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
def test_notebook_runs_in_small_budget(path, saved_models_dir, shared_data, tmp_path,
                                      monkeypatch):
    shared_data("keras_home", "models")  # the tutorials read real data and ImageNet weights
    monkeypatch.setenv("TFUNSUP_NOTEBOOK_BUDGET", "small")
    monkeypatch.setenv("TFUNSUP_SAVED_MODELS", str(saved_models_dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(draws(c.source) for c in notebook.cells if c.cell_type == "code")
    missing = cells_missing_figures(notebook)
    assert not missing, (f"{path.name}: cells {missing} draw a figure but show no image "
                         "(a backend switched at import?)")
