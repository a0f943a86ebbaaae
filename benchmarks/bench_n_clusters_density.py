"""How many clusters does a density-based count see in the UMAP embedding?

An alternative to `--n-clusters auto` (the eigengap) that was measured and
not adopted: HDBSCAN (Campello, Moulavi & Sander 2013; scikit-learn's
`HDBSCAN`) on the same UMAP embedding `tfunsup cluster` clusters, counting
its clusters under the excess-of-mass selection (HDBSCAN's default) and
under leaf selection, for minimum cluster sizes given as shares of the items.
With --prediction-strength, also the prediction strength of K-means on
that embedding (Tibshirani & Walther 2005) for K = 2..--max-clusters, over
--splits random halvings, and the largest K whose mean strength reaches each
--thresholds value (the paper suggests 0.8-0.9). Reads the `features.npz` a
`tfunsup cluster --out DIR` run writes; no labels.

    python benchmarks/bench_n_clusters_density.py runs/digits/features.npz \
        runs/coil/features.npz runs/cifar/features.npz
    python benchmarks/bench_n_clusters_density.py runs/digits/features.npz \
        runs/coil/features.npz runs/cifar/features.npz --prediction-strength --shares
"""

import argparse
import warnings

import numpy as np


def prediction_strength(embedding, n_clusters, seed):
    """Tibshirani & Walther's prediction strength of K-means for one random
    halving: the K-means of one half labels the other half; over each of the
    other half's own K-means clusters, the share of its pairs of items that
    the first half's centres also put together; the minimum over clusters."""
    from sklearn.cluster import KMeans

    order = np.random.default_rng(seed).permutation(len(embedding))
    train, test = embedding[order[::2]], embedding[order[1::2]]
    centres = KMeans(n_clusters, n_init=3, random_state=seed).fit(train)
    own = KMeans(n_clusters, n_init=3, random_state=seed + 1).fit_predict(test)
    predicted = centres.predict(test)
    strengths = []
    for k in range(n_clusters):
        members = predicted[own == k]
        if len(members) > 1:
            counts = np.bincount(members, minlength=n_clusters)
            strengths.append((counts * (counts - 1)).sum() / (len(members) * (len(members) - 1)))
    return min(strengths)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", nargs="+", help="features.npz files from tfunsup cluster")
    parser.add_argument("--dims", type=int, nargs="+", default=[10])
    parser.add_argument("--shares", type=float, nargs="*", default=[0.005, 0.01, 0.02],
                        help="HDBSCAN minimum cluster sizes as shares of the items "
                             "(none: skip HDBSCAN)")
    parser.add_argument("--prediction-strength", action="store_true")
    parser.add_argument("--max-clusters", type=int, default=25)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.8, 0.9])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.cluster import HDBSCAN

    from tfunsup.cluster.graph import l2_normalize, umap_embedding

    for path in args.features:
        features = l2_normalize(np.load(path)["features"]).astype(np.float32)
        n = len(features)
        for dim in args.dims:
            embedding = umap_embedding(features, dim, n_neighbors=30, seed=args.seed)
            for selection in ("eom", "leaf"):
                for share in args.shares:
                    size = max(5, int(share * n))
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", FutureWarning)
                        labels = HDBSCAN(min_cluster_size=size,
                                         cluster_selection_method=selection).fit(embedding).labels_
                    print(f"{path}  n={n}  umap_dim={dim}  {selection:4s}  "
                          f"min_cluster_size={size} ({share:.3f} n)  "
                          f"clusters={labels.max() + 1}  noise={np.mean(labels < 0):.2f}",
                          flush=True)
            if args.prediction_strength:
                ks = np.arange(2, args.max_clusters + 1)
                strength = np.array([np.mean([prediction_strength(embedding, int(k), seed)
                                              for seed in range(args.splits)]) for k in ks])
                print(f"{path}  n={n}  umap_dim={dim}  prediction strength "
                      + " ".join(f"{k}:{v:.3f}" for k, v in zip(ks, strength)), flush=True)
                for threshold in args.thresholds:
                    above = ks[strength >= threshold]
                    print(f"{path}  largest K with strength >= {threshold}: "
                          f"{above.max() if above.size else None}", flush=True)


if __name__ == "__main__":
    main()
