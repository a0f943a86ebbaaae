"""`.ci/avx2` runs a command as on a CPU with AVX2 and no AVX-512: the
run-time CPU dispatch of oneDNN, OpenBLAS and NumPy is capped at AVX2."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "avx2"

PROBE = """
import json
from numpy._core._multiarray_umath import __cpu_features__
import tensorflow as tf
from threadpoolctl import threadpool_info

tf.nn.conv2d(tf.ones((1, 8, 8, 4)), tf.ones((3, 3, 4, 4)), 1, "SAME")
print(json.dumps(dict(
    numpy_x86_v4=bool(__cpu_features__.get("X86_V4")),
    openblas=[info.get("architecture") for info in threadpool_info()
              if info["internal_api"] == "openblas"])))
"""


def test_avx2_wrapper_caps_onednn_openblas_and_numpy(tmp_path):
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_ENABLE_ONEDNN_OPTS="1",
               PYTHON=sys.executable)
    run = subprocess.run([str(SCRIPT), sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    isa = [line for line in lines if line.startswith("onednn_verbose") and ",isa:" in line]
    assert isa, run.stdout[-2000:]
    assert isa[0].rsplit(",isa:", 1)[1].strip() == "Intel AVX2", isa
    probe = json.loads(lines[-1])
    assert probe["numpy_x86_v4"] is False, probe
    assert probe["openblas"] and set(probe["openblas"]) == {"Haswell"}, probe


def test_avx2_wrapper_needs_a_command():
    run = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "usage" in run.stderr
