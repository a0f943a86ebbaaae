"""`tfunsup cluster` on a large folder of photos: peak memory and throughput.

1. Generates `--n-images` JPEGs of mixed sizes (64 to 480 px a side, random
   aspect ratios) from the shared CIFAR-10 test JPEGs and COIL-20 PNGs, in
   class sub-folders under `--folder` (default /tmp/tfunsup_scale; never
   the repository). Existing files are reused.
2. Runs `tfunsup cluster --data <folder>` in a child process and reports its
   wall time and peak resident memory (`ru_maxrss`); target <= 2.5 GiB at
   50,000 images.
3. Feature-extraction throughput, side by side in one process: tfunsup's
   `extract_features` (files -> tf.data decode/crop/resize -> backbone)
   against a bare `tf.function` forward pass of the same backbone over the
   same images decoded beforehand into in-memory batches (so it pays no
   decoding). Alternating repeats; reports images/s and the median ratio
   (target >= 0.9).

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
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    command = ["tfunsup", "cluster", "--data", str(folder), "--n-clusters", str(n_clusters),
               "--out", str(out), "--overwrite", "--quiet", *extra]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"tfunsup cluster failed (status {status}):\n{process.stderr.read()[-3000:]}")
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {"seconds": seconds, "peak_rss_gib": usage.ru_maxrss / 2**20,
            "acc": metrics.get("acc"), "nmi": metrics.get("nmi"),
            "n_samples": metrics["n_samples"], "skipped": len(metrics["skipped_files"])}


def throughput(folder, n_images, batch_size, repeats):
    """images/s of extract_features vs a bare tf.function forward pass."""
    import tensorflow as tf

    from tfunsup.backbones import load_backbone
    from tfunsup.data import extract_features, image_pipeline, load_dataset

    data = load_dataset(str(folder))
    data = data.subset(np.linspace(0, len(data) - 1, min(n_images, len(data))).astype(int))
    backbone = load_backbone("keras:MobileNetV2")
    decoded = [images for images, _ in image_pipeline(data, backbone.image_spec, batch_size)]
    forward = tf.function(lambda x: backbone(x, training=False), reduce_retracing=True)
    for batch in decoded[:2]:
        forward(batch)  # trace both batch shapes before timing
    extract_features(backbone, data.subset(np.arange(batch_size)), batch_size=batch_size)
    rows = []
    for _ in range(repeats):
        start = time.perf_counter()
        extract_features(backbone, data, batch_size=batch_size)
        ours = len(data) / (time.perf_counter() - start)
        start = time.perf_counter()
        for batch in decoded:
            forward(batch).numpy()
        bare = len(data) / (time.perf_counter() - start)
        rows.append({"extract_features": ours, "bare_forward": bare, "ratio": ours / bare})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=50000)
    parser.add_argument("--folder", default="/tmp/tfunsup_scale")
    parser.add_argument("--out", default="/tmp/tfunsup_scale_run")
    parser.add_argument("--n-clusters", type=int, default=11)
    parser.add_argument("--throughput-images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=128)
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
    rows = throughput(folder, args.throughput_images, args.batch_size, args.repeats)
    report["throughput"] = rows
    report["median_ratio"] = statistics.median(r["ratio"] for r in rows)
    for row in rows:
        print(f"extract_features {row['extract_features']:.1f} img/s, bare tf.function "
              f"forward {row['bare_forward']:.1f} img/s, ratio {row['ratio']:.2f}")
    print(f"median ratio {report['median_ratio']:.2f}; this process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
