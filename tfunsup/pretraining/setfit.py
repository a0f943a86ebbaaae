"""SetFit: contrastive fine-tuning of a sentence encoder on pairs of the few labelled texts."""

import hashlib

import keras
import numpy as np

from tfunsup.backbones.text_encoder import pack_token_rows, tokenize_texts
from tfunsup.pretraining.losses import cosine_similarity_loss
from tfunsup.transfer.target_model import set_trainable
from tfunsup.utils.reproducibility import reseed_random_layers


def setfit_pairs(labels, n_iterations=20, seed=None):
    """SetFit's training pairs from class labels.

    For each of `n_iterations` rounds and each labelled item, one positive
    pair (the item and a random other item of its class) and one negative
    pair (the item and a random item of another class), shuffled.

    Args:
        labels: int array `(n,)`, at least two classes, each with at least
            two items.
        n_iterations: int >= 1, rounds of pair sampling (SetFit's
            `num_iterations`); gives `2 * n_iterations * n` pairs.
        seed: int or None.

    Returns:
        `(pairs, targets)`: int64 `(n_pairs, 2)` indices into `labels` and
        float32 `(n_pairs,)`, 1 for a same-class pair, 0 otherwise.

    Raises:
        ValueError: fewer than two classes, a class with a single item, or a
            bad `n_iterations`.

    Reference:
        Tunstall et al. Efficient Few-Shot Learning Without Prompts
        (SetFit). arXiv:2209.11055, 2022.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"Expected labels of shape (n,). Received shape={labels.shape}")
    if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) \
            or n_iterations < 1:
        raise ValueError(f"Expected n_iterations >= 1. Received: n_iterations={n_iterations!r}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        raise ValueError("Expected at least two classes with at least two labelled items each. "
                         f"Received: classes {classes.tolist()} with counts {counts.tolist()}")
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    others = {c: np.flatnonzero(labels != c) for c in classes}
    pairs, targets = [], []
    for _ in range(int(n_iterations)):
        for i, label in enumerate(labels):
            same = members[label]
            j = same[rng.integers(len(same) - 1)]
            j = same[-1] if j == i else j  # any same-class item but i itself
            pairs += [(i, j), (i, rng.choice(others[label]))]
            targets += [1.0, 0.0]
    order = rng.permutation(len(pairs))
    return (np.asarray(pairs, dtype="int64")[order],
            np.asarray(targets, dtype="float32")[order])


def setfit_text_encoder(encoder, texts, labels, *, n_iterations=20, batch_size=16,
                        learning_rate=2e-5, seed=None, verbose=0):
    """Fine-tunes a sentence encoder on pairs of labelled texts (SetFit's first stage).

    Pairs of the labelled texts (`setfit_pairs`) are embedded by the encoder
    (dropout active) and the cosine similarity of each pair is regressed to
    1 (same class) or 0 (different classes) with `cosine_similarity_loss`,
    Adam, one pass over the pairs. SetFit's second stage, a classifier on the
    fine-tuned encoder's embeddings, is the caller's (`label_efficiency`
    trains the same softmax head as on the shipped encoder).

    Each batch is tokenised once and padded only to its longest text, as
    `encode_texts` does. The encoder is trained in place: its weights
    change, its trainability is restored, and its `spec_name` gains a suffix
    naming the fine-tuning and a hash of its labelled texts, so
    `encode_texts` caches never mix the shipped and fine-tuned embeddings.

    Cost: 2 * n_iterations * len(texts) / batch_size steps; with MiniLM-L6 at
    64 tokens, about 3 s per step of 16 pairs on two CPU cores shared with
    other jobs (20 rounds on 102 texts: 255 steps).

    Args:
        encoder: a text encoder from `load_text_encoder` (it needs
            `preprocessor` and `token_encoder`).
        texts: sequence of `str` `(n,)`, the labelled texts.
        labels: int array `(n,)`, at least two items per class.
        n_iterations: int >= 1, pair-sampling rounds (SetFit's default: 20).
        batch_size: int >= 1, pairs per step (SetFit's default: 16).
        learning_rate: float > 0, Adam learning rate (SetFit's default for
            the encoder: 2e-5).
        seed: int or None; seeds the pairs and restarts the encoder's dropout
            streams (`reseed_random_layers`), so a run repeats whatever the
            encoder did before.
        verbose: int; > 0 prints the loss every 20 steps.

    Returns:
        dict with `"encoder"` (the same, fine-tuned `encoder`), `"loss"`:
        the mean loss over the pass, and `"n_pairs"`.

    Raises:
        ValueError: not a keras-hub text encoder, texts and labels of
            different lengths, too few items per class, or bad parameters.

    Reference:
        Tunstall, Reimers, Jo, Bates, Korat, Wasserblat, Pereg. Efficient
        Few-Shot Learning Without Prompts. arXiv:2209.11055, 2022.
    """
    import tensorflow as tf

    if getattr(encoder, "modality", None) != "text" or \
            getattr(encoder, "token_encoder", None) is None:
        raise ValueError("Expected a keras-hub text encoder (load_text_encoder). Received: "
                         f"encoder={getattr(encoder, 'name', encoder)!r}")
    texts = np.asarray([str(t) for t in texts], dtype=object)
    labels = np.asarray(labels)
    if labels.shape != (len(texts),):
        raise ValueError(f"Expected labels of shape ({len(texts)},) like the texts. "
                         f"Received shape={labels.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size!r}")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"Expected learning_rate > 0. Received: learning_rate={learning_rate!r}")
    pairs, targets = setfit_pairs(labels, n_iterations, seed)

    token_encoder = encoder.token_encoder
    token_ids, lengths = tokenize_texts(encoder, texts)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function(reduce_retracing=True)
    def step(inputs, first, second, target):
        with tf.GradientTape() as tape:
            embeddings = token_encoder(inputs, training=True)
            loss = cosine_similarity_loss(tf.gather(embeddings, first),
                                          tf.gather(embeddings, second), target)
        variables = token_encoder.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    reseed_random_layers(token_encoder, seed)
    was_trainable = bool(encoder.trainable_weights)
    set_trainable(encoder, True)
    losses = []
    try:
        for done, start in enumerate(range(0, len(pairs), batch_size)):
            batch = pairs[start:start + batch_size]
            rows, where = np.unique(batch, return_inverse=True)
            where = where.reshape(batch.shape)
            inputs = pack_token_rows(encoder, token_ids, lengths, rows)
            losses.append(float(step(inputs, where[:, 0], where[:, 1],
                                     targets[start:start + batch_size])))
            if verbose and done % 20 == 0:
                print(f"setfit: step {done + 1}/{-(-len(pairs) // batch_size)}, "
                      f"loss {np.mean(losses[-20:]):.4f}", flush=True)
    finally:
        set_trainable(encoder, was_trainable)
    digest = hashlib.sha256("\0".join(f"{t}\t{y}" for t, y in zip(texts, labels)).encode())
    encoder.spec_name = (f"{getattr(encoder, 'spec_name', encoder.name)},setfit(n={len(texts)},"
                         f"data={digest.hexdigest()[:12]},"
                         f"iterations={n_iterations},batch={batch_size},lr={learning_rate:g},"
                         f"seed={seed})")
    return {"encoder": encoder, "loss": float(np.mean(losses)), "n_pairs": int(len(pairs))}


__all__ = ["setfit_pairs", "setfit_text_encoder"]
