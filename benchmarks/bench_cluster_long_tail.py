"""`tfunsup cluster` on a long-tailed COIL-20 subset: final labels vs. k-means.

Builds, in a temporary folder, symlinks to the fixed long-tailed subset of
COIL-20 (object c keeps its first round(72 * R^(-c/19)) views, R = --ratio,
so sizes decay R-fold; `long_tail_indices` of bench_cluster_algorithms.py),
runs the default `tfunsup cluster --n-clusters 20` on it for each seed and
prints the k-means-on-features stage next to the final labels (labels from
the file names, used ONLY to score).

    python benchmarks/bench_cluster_long_tail.py --ratio 10 --seeds 0 1 2
"""

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_cluster_algorithms import long_tail_indices  # noqa: E402

PATTERN = r"obj(\d+)__"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from tfunsup.cli import main as tfunsup_main
    from tfunsup.data.shared import data_path

    coil = data_path("coil-20")
    files = sorted(p for p in coil.iterdir() if re.match(PATTERN, p.name))
    objects = np.array([int(re.match(PATTERN, p.name).group(1)) for p in files])
    views = np.array([int(re.search(r"__(\d+)", p.name).group(1)) for p in files])
    order = np.lexsort((views, objects))
    files, objects = [files[i] for i in order], objects[order]
    keep = long_tail_indices(objects, args.ratio)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "coil20-long-tail"
        folder.mkdir()
        for i in keep:
            os.symlink(files[i], folder / files[i].name)
        print(f"{len(keep)} images, {len(np.unique(objects[keep]))} objects, sizes "
              f"{np.bincount(objects[keep])[1:].max()} -> {np.bincount(objects[keep])[1:].min()}")
        for seed in args.seeds:
            out = Path(tmp) / f"run{seed}"
            tfunsup_main(["cluster", "--data", str(folder), "--label-pattern", PATTERN,
                          "--n-clusters", "20", "--seed", str(seed), "--out", str(out), "--quiet"])
            metrics = json.loads((out / "metrics.json").read_text())
            stages = metrics["stages"]
            results.append([stages["kmeans_features"]["acc"], stages["kmeans_features"]["nmi"],
                            stages["final"]["acc"], stages["final"]["nmi"]])
            print(json.dumps(dict(seed=seed, kmeans=stages["kmeans_features"],
                                  final=stages["final"])), flush=True)
    r = np.array(results)
    print("| | k-means on the features | final |")
    print("|---|---|---|")
    print(f"| ACC | {r[:, 0].mean():.3f} ± {r[:, 0].std():.3f} | {r[:, 2].mean():.3f} ± {r[:, 2].std():.3f} |")
    print(f"| NMI | {r[:, 1].mean():.3f} ± {r[:, 1].std():.3f} | {r[:, 3].mean():.3f} ± {r[:, 3].std():.3f} |")


if __name__ == "__main__":
    main()
