"""`tfunsup cluster` on a large folder of photos: peak memory and throughput.

1. Generates `--n-images` JPEGs of mixed sizes (64 to 480 px a side, random
   aspect ratios) from the shared CIFAR-10 test JPEGs and COIL-20 PNGs, in
   class sub-folders under `--folder` (default /tmp/tfunsup_scale; never
   the repository). Existing files are reused.
2. Runs `tfunsup cluster --data <folder>` (this checkout's code) in a child
   process and reports its wall time and peak resident memory
   (`ru_maxrss`); target <= 2.5 GiB at 50,000 images.
3. Feature-extraction throughput, side by side in one process: tfunsup's
   `extract_features` (files -> tf.data decode/crop/resize -> backbone)
   against a bare `tf.function` forward pass of the same backbone over the
   same images decoded beforehand into in-memory batches (so it pays no
   decoding). Both use the backbone and batch size `tfunsup cluster` uses
   for the folder (flip-averaged MobileNetV2 at 224 x 224, batch 8).
   Repeats alternate which of the two goes first; reports images/s and the
   median ratio (target >= 0.9).

    python benchmarks/bench_cluster_scale.py --n-images 50000
    python benchmarks/bench_cluster_scale.py --n-images 2000 --throughput-images 512
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def generate(folder, n_images, seed=0):
    """Writes n_images JPEGs of mixed sizes into folder/<class>/ (reused)."""
    from PIL import Image

    from tfunsup.data.shared import data_path

    folder = Path(folder)
    existing = sum(1 for _ in folder.glob("*/*.jpg")) if folder.is_dir() else 0
    if existing >= n_images:
        return folder
    sources = sorted(data_path("cifar10-test").glob("*/*.jpg")) + sorted(
        data_path("coil-20").glob("*.png"))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sources))  # every class in any prefix
    for i in range(n_images):
        source = sources[order[i % len(sources)]]
        label = source.parent.name if source.suffix == ".jpg" else "coil"
        target = folder / label / f"{i:06d}.jpg"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in rng.integers(64, 481, size=2))
        image = Image.open(source).convert("RGB").resize((width, height), Image.BILINEAR)
        image.save(target, quality=90)
    return folder


def run_cli(folder, out, n_clusters, extra):
    """`tfunsup cluster` on the folder in a child process running this
    checkout's code (not whichever `tfunsup` script is on PATH); returns its
    wall time, peak RSS (`ru_maxrss` of the child) and scores."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-c", "import sys; from tfunsup.cli import main; sys.exit(main())",
               "cluster", "--data", str(folder), "--n-clusters", str(n_clusters),
               "--out", str(out), "--overwrite", "--quiet", *extra]
    log = Path(f"{out}.log")
    start = time.perf_counter()
    with open(log, "w") as handle:  # a file, not a pipe: a full pipe would block the child
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   text=True)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"tfunsup cluster failed (status {status}), {log}:\n"
                 f"{log.read_text()[-3000:]}")
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {"seconds": seconds, "peak_rss_gib": usage.ru_maxrss / 2**20,
            "acc": metrics.get("acc"), "nmi": metrics.get("nmi"),
            "n_samples": metrics["n_samples"], "skipped": len(metrics["skipped_files"]),
            "backbone": metrics["backbone"], "image_size": metrics["image_size"]}


def throughput(folder, n_images, batch_size, repeats, flip_average="auto"):
    """images/s of extract_features vs a bare tf.function forward pass.

    Both run the backbone `tfunsup cluster` chooses for the folder (by
    default flip-averaged MobileNetV2 at 224), at the same batch size (by
    default the CLI's, `auto_batch_size`), on the same images; the bare pass
    gets them decoded beforehand. The order alternates between repeats.
    """
    import tensorflow as tf

    from tfunsup.cluster.transfer_clustering import load_feature_backbone
    from tfunsup.data import extract_features, image_pipeline, load_dataset
    from tfunsup.data.features import auto_batch_size

    data = load_dataset(str(folder))
    data = data.subset(np.linspace(0, len(data) - 1, min(n_images, len(data))).astype(int))
    backbone, *_ = load_feature_backbone(None, data, flip_average=flip_average)
    batch_size = batch_size or auto_batch_size(
        backbone.image_spec, passes=getattr(backbone, "passes_per_image", 1))
    decoded = [images for images, _ in image_pipeline(data, backbone.image_spec, batch_size)]
    forward = tf.function(lambda x: backbone(x, training=False), reduce_retracing=True)
    for batch in (decoded[0], decoded[-1]):
        forward(batch)  # trace both batch shapes before timing
    extract_features(backbone, data.subset(np.arange(batch_size + 1)), batch_size=batch_size)

    def ours():
        start = time.perf_counter()
        extract_features(backbone, data, batch_size=batch_size)
        return len(data) / (time.perf_counter() - start)

    def bare():
        start = time.perf_counter()
        for batch in decoded:
            forward(batch).numpy()
        return len(data) / (time.perf_counter() - start)

    rows = []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            a, b = ours(), bare()
        else:
            b, a = bare(), ours()
        rows.append({"extract_features": a, "bare_forward": b, "ratio": a / b})
    return {"backbone": backbone.spec_name, "image_size": list(backbone.image_spec.shape[:2]),
            "batch_size": batch_size, "n_images": len(data), "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=50000)
    parser.add_argument("--folder", default="/tmp/tfunsup_scale")
    parser.add_argument("--out", default="/tmp/tfunsup_scale_run")
    parser.add_argument("--n-clusters", type=int, default=11)
    parser.add_argument("--throughput-images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="throughput batch size (default: the CLI's, 8 for the "
                             "flip-averaged 224 x 224 backbone)")
    parser.add_argument("--flip-average", default="auto", choices=["auto", "on", "off"],
                        help="throughput backbone: the CLI's (auto) or forced on/off")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--cli-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for tfunsup cluster")
    args = parser.parse_args()
    folder = Path(args.folder) / f"n{args.n_images}"
    start = time.perf_counter()
    generate(folder, args.n_images)
    print(f"folder {folder}: {args.n_images} JPEGs ready ({time.perf_counter() - start:.0f} s)")
    report = {"n_images": args.n_images}
    if not args.skip_cli:
        report["cluster"] = run_cli(folder, args.out, args.n_clusters, args.cli_args)
        print("tfunsup cluster:", json.dumps(report["cluster"]))
    flip = {"auto": "auto", "on": True, "off": False}[args.flip_average]
    report["throughput"] = throughput(folder, args.throughput_images, args.batch_size,
                                      args.repeats, flip)
    rows = report["throughput"]["rows"]
    report["median_ratio"] = statistics.median(r["ratio"] for r in rows)
    t = report["throughput"]
    print(f"throughput: {t['backbone']} at {t['image_size']}, batch {t['batch_size']}, "
          f"{t['n_images']} images")
    for row in rows:
        print(f"extract_features {row['extract_features']:.1f} img/s, bare tf.function "
              f"forward {row['bare_forward']:.1f} img/s, ratio {row['ratio']:.2f}")
    print(f"median ratio {report['median_ratio']:.2f}; this process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
