"""Clustering algorithms on cached features: k-means vs. data-chosen spectral
graph vs. SCAN-style refinement; auto-K; long-tailed subset; memory at scale.

Takes a features .npz with `features` `(n, d)` and `labels` `(n,)` (labels are
used ONLY to score), optionally `features_flip` (horizontal-flip features,
used with --flip). Every number is mean ± std over --seeds.

    python benchmarks/bench_cluster_algorithms.py --features /tmp/feats/coil20_mnv2.npz --flip
    python benchmarks/bench_cluster_algorithms.py --features f.npz --stages autok
    python benchmarks/bench_cluster_algorithms.py --features f.npz --long-tail 10
    python benchmarks/bench_cluster_algorithms.py --synthetic 50000x256 --stages scale

Stages: kmeans, spectral (k of the k-NN graph chosen by agreement), refine
(spectral -> `refine_clusters`), autok (`estimate_n_clusters`), scale (peak
RSS and time of the approximate-kNN spectral pipeline on a synthetic matrix).

--long-tail R keeps class c's first round(n_c * R ** (-c / (C - 1))) items
(classes in label order, items in file order), so sizes decay R-fold from the
first class to the last: a fixed, label-defined long-tailed subset.
"""

import argparse
import json
import resource
import time

import numpy as np


def long_tail_indices(labels, ratio):
    """Indices of the fixed long-tailed subset (class c keeps a share R^(-c/(C-1)))."""
    classes = np.unique(labels)
    keep = []
    for rank, c in enumerate(classes):
        members = np.flatnonzero(labels == c)
        share = ratio ** (-rank / max(len(classes) - 1, 1))
        keep.append(members[:max(2, int(round(len(members) * share)))])
    return np.concatenate(keep)


def summarize(rows):
    out = {}
    for key in rows[0]:
        values = np.array([r[key] for r in rows], float)
        out[key] = f"{values.mean():.3f} ± {values.std():.3f}"
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", help=".npz with features, labels[, features_flip]")
    parser.add_argument("--synthetic", default=None, help="NxD Gaussian blobs, e.g. 50000x256")
    parser.add_argument("--flip", action="store_true", help="use features_flip (TTA / 2nd view)")
    parser.add_argument("--stages", default="kmeans,spectral,refine")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--long-tail", type=float, default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--prior", default="estimated")
    parser.add_argument("--n-neighbors", default="auto", help="graph k or 'auto'")
    parser.add_argument("--refine-neighbors", type=int, default=20)
    parser.add_argument("--json", default=None, help="write the summary here")
    args = parser.parse_args()
    stages = args.stages.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]

    from tfunsup.cluster.graph import kmeans_labels, l2_normalize, spectral_clustering
    from tfunsup.metrics import clustering_scores

    if "scale" in stages:
        n, d = (int(v) for v in args.synthetic.split("x"))
        rng = np.random.default_rng(0)
        centers = rng.standard_normal((20, d)).astype(np.float32) * 0.35
        labels = rng.integers(0, 20, n)
        features = centers[labels] + rng.standard_normal((n, d)).astype(np.float32) * 0.1
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.time()
        result = spectral_clustering(features, 20, n_neighbors=10, seed=0)
        elapsed = time.time() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        summary = dict(n=n, d=d, method="approximate (pynndescent) + lobpcg",
                       seconds=round(elapsed, 1), peak_rss_mib=round(peak),
                       rss_before_mib=round(before), features_mib=round(features.nbytes / 2**20),
                       dense_n2_float32_mib=round(n * n * 4 / 2**20),
                       **clustering_scores(labels, result.labels))
        print(json.dumps(summary, indent=1, ensure_ascii=False))
        return

    data = np.load(args.features)
    features, labels = data["features"].astype(np.float32), data["labels"]
    flip = data["features_flip"].astype(np.float32) if args.flip else None
    if args.long_tail:
        keep = long_tail_indices(labels, args.long_tail)
        features, labels = features[keep], labels[keep]
        flip = None if flip is None else flip[keep]
        print("long-tailed subset sizes:", np.bincount(labels).tolist())
    n_clusters = len(np.unique(labels))
    # Flip-averaged features: label-free test-time augmentation.
    clustered = features if flip is None else l2_normalize(features) + l2_normalize(flip)
    n_neighbors = args.n_neighbors if args.n_neighbors == "auto" else int(args.n_neighbors)
    rows = {stage: [] for stage in stages}
    extra = {}
    for seed in seeds:
        if "kmeans" in stages:
            rows["kmeans"].append(clustering_scores(
                labels, kmeans_labels(l2_normalize(clustered), n_clusters, seed=seed)))
        if "spectral" in stages or "refine" in stages:
            result = spectral_clustering(clustered, n_clusters, n_neighbors=n_neighbors, seed=seed)
            extra.setdefault("graph_k", []).append(result.n_neighbors)
            if "spectral" in stages:
                rows["spectral"].append(clustering_scores(labels, result.labels))
        if "refine" in stages:
            from tfunsup.cluster.refinement import refine_clusters

            refined = refine_clusters(features, result.labels, features_flip=flip,
                                      prior=args.prior, epochs=args.epochs,
                                      n_neighbors=args.refine_neighbors, seed=seed)
            rows["refine"].append(clustering_scores(labels, refined.labels))
            extra.setdefault("mean_confidence", []).append(float(refined.confidence.mean()))
        if "autok" in stages:
            from tfunsup.cluster.n_clusters import estimate_n_clusters

            k, curve = estimate_n_clusters(clustered, seed=seed)
            extra.setdefault("auto_k", []).append(k)
            extra.setdefault("auto_k_graph", []).append(curve["n_neighbors"])
        print(seed, {s: {k: round(v, 4) for k, v in r[-1].items()} for s, r in rows.items() if r},
              {k: v[-1] for k, v in extra.items()}, flush=True)
    summary = {stage: summarize(r) for stage, r in rows.items() if r}
    summary.update(extra)
    summary.update(features=args.features, flip=args.flip, long_tail=args.long_tail,
                   n=len(labels), n_classes=n_clusters, seeds=seeds)
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
