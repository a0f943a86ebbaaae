"""SMS spam as text anomaly detection: kNN distance on MiniLM embeddings.

Normal = ham. Each seed draws 70 % of the ham messages as the (label-free)
training set; the test set is the other 30 % of ham plus all spam. The
anomaly score of a message is its mean cosine distance to the `k` nearest
training messages (scikit-learn `NearestNeighbors`), scored by ROC-AUC.
This is a thin benchmark: the anomaly estimators (tfunsup.anomaly) are to
take text backbones later and replace the kNN step.

    TFUNSUP_DATA_DIR=/work/shared/data PYTHONPATH=. \
        python benchmarks/bench_text_anomaly.py --seeds 0 1 2 3 4

Embeddings are cached in --cache-dir, so a second run only re-scores.
"""

import argparse

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import encode_texts
from tfunsup.data.shared import data_path
from tfunsup.data.text import load_text_dataset


def knn_scores(train, test, k):
    """Mean cosine distance of each test row to its k nearest train rows."""
    neighbors = NearestNeighbors(n_neighbors=k, metric="cosine").fit(train)
    distances, _ = neighbors.kneighbors(test)
    return distances.mean(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--train-fraction", type=float, default=0.7)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--cache-dir", default="/tmp/text_emb")
    args = parser.parse_args()

    data = load_text_dataset(data_path("text", "sms_spam.tsv"))
    normal = data.class_names.index("ham")
    encoder = load_backbone(data_path("text-encoders", "all-MiniLM-L6-v2"),
                            sequence_length=args.sequence_length)
    embeddings = encode_texts(encoder, data.texts, cache_dir=args.cache_dir)
    ham = np.flatnonzero(data.labels == normal)
    spam = np.flatnonzero(data.labels != normal)
    results = {"MiniLM": [], "char TF-IDF (baseline)": []}
    for seed in args.seeds:
        shuffled = np.random.default_rng(seed).permutation(ham)
        n_train = int(args.train_fraction * len(ham))
        train, test = shuffled[:n_train], np.concatenate([shuffled[n_train:], spam])
        is_spam = data.labels[test] != normal
        # Baseline: character 2-4-grams TF-IDF fitted on the training ham only.
        tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                min_df=2).fit(data.texts[train])
        views = {"MiniLM": (embeddings[train], embeddings[test]),
                 "char TF-IDF (baseline)": (tfidf.transform(data.texts[train]),
                                            tfidf.transform(data.texts[test]))}
        for name, (fit_rows, test_rows) in views.items():
            scores = knn_scores(fit_rows, test_rows, args.k)
            results[name].append((roc_auc_score(is_spam, scores),
                                  average_precision_score(is_spam, scores)))
            print(f"seed {seed} {name}: train ham {len(train)}, test {len(test)} "
                  f"({is_spam.sum()} spam), ROC-AUC {results[name][-1][0]:.4f}, "
                  f"AP {results[name][-1][1]:.4f}", flush=True)
    for name, values in results.items():
        values = np.asarray(values)
        print(f"SMS spam kNN (k={args.k}) on {name}: ROC-AUC {values[:, 0].mean():.4f} ± "
              f"{values[:, 0].std():.4f}, AP {values[:, 1].mean():.4f} ± "
              f"{values[:, 1].std():.4f} over {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
