"""SavedModel size on disk and memory after reloading: Keras' `model.export`
against tfunsup's `export_atomically`, for the two pretrained backbones the
flows export most (MobileNetV2 with ImageNet weights, the MiniLM sentence
encoder from the shared data).

Keras 3.15's `model.export` writes each weight twice (keras-team/keras#23553);
`export_atomically` writes it once. Each SavedModel is reloaded --repeats
times in a fresh process (`tf.saved_model.load`, then one batch through
`serve`); the table gives the median growth of the resident set size over
the reload and the call, and the ratio of the two exports.

    python benchmarks/bench_export.py --repeats 3

Needs `KERAS_HOME` with the MobileNetV2 weights (see the README's "Real data
offline") and keras-hub for MiniLM.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Run in a fresh process: RSS growth of loading a SavedModel and serving one batch.
_RELOAD = """
import resource, sys
import tensorflow as tf
if sys.argv[2] == "text":
    import tensorflow_text  # noqa: F401, the tokenizer's ops
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
before = rss()
model = tf.saved_model.load(sys.argv[1])
batch = (tf.constant(["a short text"] * 8) if sys.argv[2] == "text"
         else tf.zeros((8, 224, 224, 3)))
model.serve(batch)
print(rss() - before)
"""


def _folder_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _models():
    from tfunsup.backbones import load_backbone
    from tfunsup.backbones.text_encoder import load_text_encoder
    from tfunsup.data.shared import data_path

    yield "MobileNetV2 (ImageNet), image", "image", load_backbone(
        "keras:MobileNetV2", image_size=(224, 224))
    yield "MiniLM-L6 sentence encoder, text", "text", load_text_encoder(
        str(data_path("text-encoders/all-MiniLM-L6-v2")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from tfunsup.utils.export import export_atomically

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, modality, model in _models():
            paths = {"model.export": Path(tmp) / f"{modality}_keras",
                     "export_atomically": Path(tmp) / f"{modality}_tfunsup"}
            model.export(str(paths["model.export"]), verbose=False)
            export_atomically(model, paths["export_atomically"])
            row = {"model": name, "parameters": model.count_params()}
            for how, path in paths.items():
                growth = [int(subprocess.run([sys.executable, "-c", _RELOAD, str(path), modality],
                                             check=True, capture_output=True,
                                             text=True).stdout.split()[-1])
                          for _ in range(args.repeats)]
                row[how] = {"disk_mb": _folder_bytes(path) / 1e6,
                            "reload_rss_mb": float(np.median(growth)) / 1e6}
            rows.append(row)
    print("| model | parameters | disk, model.export / ours (MB) | ratio "
          "| reload RSS, model.export / ours (MB, median) | ratio |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        keras_, ours = row["model.export"], row["export_atomically"]
        print(f"| {row['model']} | {row['parameters']:,} | {keras_['disk_mb']:.1f} / "
              f"{ours['disk_mb']:.1f} | {keras_['disk_mb'] / ours['disk_mb']:.2f} | "
              f"{keras_['reload_rss_mb']:.0f} / {ours['reload_rss_mb']:.0f} | "
              f"{keras_['reload_rss_mb'] / ours['reload_rss_mb']:.2f} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
