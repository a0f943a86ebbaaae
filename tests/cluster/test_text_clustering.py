"""Real-data check of the text road: BBC articles -> MiniLM -> k-means."""

import numpy as np
import pytest
from sklearn.cluster import KMeans

from tfunsup.backbones import load_backbone
from tfunsup.backbones.text_encoder import encode_texts
from tfunsup.cluster.top_terms import top_terms
from tfunsup.data.text import load_text_dataset
from tfunsup.metrics.clustering import cluster_accuracy


@pytest.mark.large
def test_bbc_subset_clusters_by_topic(shared_data):
    pytest.importorskip("keras_hub")
    data = load_text_dataset(shared_data("text", "bbc"))
    # The first 30 articles of each of the 5 topics (150 texts), 128 tokens.
    keep = np.concatenate([np.flatnonzero(data.labels == c)[:30] for c in range(5)])
    encoder = load_backbone(shared_data("text-encoders", "all-MiniLM-L6-v2"), sequence_length=128)
    embeddings = encode_texts(encoder, data.texts[keep], batch_size=16)
    labels = data.labels[keep]
    accuracies = [cluster_accuracy(labels, KMeans(5, n_init=10, random_state=seed)
                                   .fit_predict(embeddings)) for seed in range(3)]
    assert min(accuracies) >= 0.85, accuracies
    predicted = KMeans(5, n_init=10, random_state=0).fit_predict(embeddings)
    terms = top_terms(data.texts[keep], predicted, n_terms=10)
    sport = np.bincount(predicted[labels == data.class_names.index("sport")]).argmax()
    assert {"match", "game", "cup", "team", "club", "athletics", "race", "champion",
            "olympic", "championships"} & {
        term for term, _ in terms[sport]}, terms[sport]
