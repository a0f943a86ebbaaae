"""Text clustering with the MiniLM sentence encoder: AG News 4,000 and BBC.

Embeds each dataset once (cached in --cache-dir; AG News truncated to 128
tokens, BBC articles to 256), then per seed: k-means (K = number of topics,
10 inits) on the L2-normalised embeddings, and the same partition refined by
`tfunsup.cluster.refinement.refine_clusters` (SCAN-style head over the frozen
embeddings, from branch h-clusteralg). With --estimator, also the choices
behind `tfunsup cluster`'s text defaults, through `TransferClustering` on the
same cached embeddings: UMAP + K-means, K-means + the self-labeling head,
K-means + the refinement head (the CLI default for texts). With
--postprocess, also k-means on post-processed embeddings: centred,
PCA-whitened to 64 dimensions (as in BERT-whitening, Su et al. 2021) and
with the top principal component removed ("all-but-the-top", Mu &
Viswanath 2018), each L2-normalised again. Labels are used
only for scoring. Prints ACC / NMI mean ± std over seeds and the top terms
per cluster.

    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. \
        python benchmarks/bench_text_cluster.py --seeds 0 1 2
    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. \
        python benchmarks/bench_text_cluster.py --datasets bbc --estimator --seeds 0 1 2
    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. \
        python benchmarks/bench_text_cluster.py --datasets ag_news --postprocess --seeds 0 1 2
"""

import argparse

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score

from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import encode_texts
from tfunsup.cluster import TransferClustering
from tfunsup.cluster.refinement import refine_clusters
from tfunsup.cluster.top_terms import top_terms
from tfunsup.data.features import Features
from tfunsup.data.shared import data_path
from tfunsup.data.text import load_text_dataset
from tfunsup.metrics.clustering import cluster_accuracy

DATASETS = {
    "ag_news": (("text", "ag_news", "test.csv"), {"label_column": 0}, 128),
    "bbc": (("text", "bbc"), {}, 256),
}


def postprocessed(embeddings):
    """Centred, PCA-whitened (64-d) and top-PC-removed views, L2-normalised."""
    def unit(x):
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    centred = embeddings - embeddings.mean(axis=0)
    top = PCA(1).fit(centred).components_
    return {"centred": unit(centred),
            "whitened 64-d": unit(PCA(64, whiten=True, random_state=0).fit_transform(centred)),
            "top PC removed": unit(centred - (centred @ top.T) @ top)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache-dir", default="/tmp/text_emb")
    parser.add_argument("--n-terms", type=int, default=8)
    parser.add_argument("--estimator", action="store_true",
                        help="also run TransferClustering's text variants")
    parser.add_argument("--postprocess", action="store_true",
                        help="also k-means on centred / whitened / top-PC-removed embeddings")
    args = parser.parse_args()
    for name in args.datasets:
        parts, options, sequence_length = DATASETS[name]
        data = load_text_dataset(data_path(*parts), **options)
        encoder = load_backbone(data_path("text-encoders", "all-MiniLM-L6-v2"),
                                sequence_length=sequence_length)
        embeddings = encode_texts(encoder, data.texts, cache_dir=args.cache_dir, verbose=True)
        n_clusters = len(data.class_names)
        scores = {"kmeans": [], "kmeans+refine": []}
        variants = {}
        if args.estimator:
            variants = {"TransferClustering umap+head": {"clustering": "umap"},
                        "TransferClustering kmeans+head": {"clustering": "kmeans"},
                        "TransferClustering kmeans+refinement (CLI default)": {
                            "clustering": "kmeans", "refinement": True}}
            scores.update({name: [] for name in variants})
        features = Features(embeddings, np.arange(len(data)), (), {})
        views = postprocessed(embeddings) if args.postprocess else {}
        scores.update({f"kmeans on {view}": [] for view in views})
        for seed in args.seeds:
            initial = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(embeddings)
            refined = refine_clusters(embeddings, initial, seed=seed).labels
            results = [("kmeans", initial), ("kmeans+refine", refined)]
            results += [(f"kmeans on {view}",
                         KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(x))
                        for view, x in views.items()]
            for method, options in variants.items():
                estimator = TransferClustering(encoder, n_clusters, seed=seed, verbose=0,
                                               **options)
                results.append((method, estimator.fit(data.without_labels(),
                                                      features=features).labels_))
            for method, labels in results:
                scores[method].append((cluster_accuracy(data.labels, labels),
                                       normalized_mutual_info_score(data.labels, labels)))
                print(f"{name} seed {seed} {method}: ACC {scores[method][-1][0]:.3f} "
                      f"NMI {scores[method][-1][1]:.3f}", flush=True)
        for method, values in scores.items():
            values = np.asarray(values)
            print(f"{name} {method} (n={len(data)}, {sequence_length} tokens): "
                  f"ACC {values[:, 0].mean():.3f} ± {values[:, 0].std():.3f}, "
                  f"NMI {values[:, 1].mean():.3f} ± {values[:, 1].std():.3f} "
                  f"over {len(args.seeds)} seeds")
        for cluster, terms in top_terms(data.texts, refined, n_terms=args.n_terms).items():
            members = data.labels[refined == cluster]
            majority = data.class_names[np.bincount(members).argmax()] if len(members) else "-"
            print(f"  {name} cluster {cluster} ({len(members)} texts, mostly {majority}): "
                  + ", ".join(term for term, _ in terms))


if __name__ == "__main__":
    main()
