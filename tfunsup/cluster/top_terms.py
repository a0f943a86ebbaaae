"""Top terms per cluster: the text analogue of a cluster's thumbnail montage."""

import numpy as np


def top_terms(texts, labels, *, n_terms=10, stop_words="english", ngram_range=(1, 1),
              min_df=2):
    """Finds the words that set each cluster's texts apart.

    Each cluster's texts are joined into one document and scored with
    scikit-learn's `TfidfVectorizer` over the K cluster documents: a term
    ranks high when it is frequent in the cluster and rare in the others
    (class-based TF-IDF, as in BERTopic's c-TF-IDF).

    Args:
        texts: sequence of `str`, length n.
        labels: int array `(n,)` of cluster indices (negative = unassigned,
            ignored).
        n_terms: int >= 1. Terms reported per cluster.
        stop_words: passed to `TfidfVectorizer` (`"english"`, a list or None).
        ngram_range: passed to `TfidfVectorizer`.
        min_df: a term must occur in at least this many texts overall.

    Returns:
        dict `{cluster: [(term, score), ...]}` with the `n_terms` best terms of
        each cluster, best first; clusters without texts are left out.

    Raises:
        ValueError: `texts` and `labels` differ in length, or `n_terms` < 1.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    texts = [str(t) for t in texts]
    labels = np.asarray(labels)
    if len(texts) != len(labels):
        raise ValueError(
            f"Expected as many labels as texts. Received: {len(texts)} texts, "
            f"{len(labels)} labels")
    if not isinstance(n_terms, int) or n_terms < 1:
        raise ValueError(f"Expected n_terms >= 1. Received: n_terms={n_terms!r}")
    kept = labels >= 0
    counter = CountVectorizer(stop_words=stop_words, ngram_range=ngram_range,
                              min_df=min(min_df, max(1, int(kept.sum()))),
                              token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")
    counts = counter.fit_transform([t for t, k in zip(texts, kept) if k])
    kept_labels = labels[kept]
    clusters = np.unique(kept_labels)
    indicator = np.zeros((len(clusters), len(kept_labels)), dtype="float64")
    indicator[np.searchsorted(clusters, kept_labels), np.arange(len(kept_labels))] = 1.0
    per_cluster = np.asarray(counts.T.dot(indicator.T).T)  # (K, vocabulary)
    scores = TfidfTransformer(sublinear_tf=True).fit_transform(per_cluster).toarray()
    vocabulary = counter.get_feature_names_out()
    result = {}
    for row, cluster in enumerate(clusters):
        best = np.argsort(-scores[row], kind="stable")[:n_terms]
        result[int(cluster)] = [(str(vocabulary[i]), float(scores[row, i]))
                                for i in best if scores[row, i] > 0]
    return result


__all__ = ["top_terms"]
