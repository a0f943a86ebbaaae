"""The README's Python code runs and its Quickstart has the two commands."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_quickstart_has_setup_and_main_job_then_tests():
    section = re.search(r"^## Quickstart\s*$(.*?)(?=^## )", README, re.M | re.S).group(1)
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    assert blocks[0].strip().endswith("tfunsup cluster")
    assert "pytest" in blocks[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "blocks[1]" in ci  # .ci/run executes exactly this block


@pytest.mark.large
def test_python_examples_run(saved_models_dir, shared_data, monkeypatch, tmp_path):
    shared_data("mnist-test")  # the examples read real data and ImageNet weights
    shared_data("keras_home", "models")
    monkeypatch.chdir(tmp_path)
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        namespace = {}
        exec(compile(block, "README.md", "exec"), namespace)
        if "estimator" in namespace:
            assert namespace["estimator"].score(
                namespace["digits"].images, namespace["digits"].labels)["acc"] >= 0.88
