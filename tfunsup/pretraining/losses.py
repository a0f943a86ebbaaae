"""Contrastive losses (pure functions)."""

from keras import ops


def nt_xent_loss(z1, z2, temperature=0.5):
    """NT-Xent, SimCLR's normalized temperature-scaled cross-entropy loss.

    For a batch of N pairs, the 2N projections are L2-normalised; each view's
    positive is the other view of its image, the other 2N - 2 views are its
    negatives:

    .. math::
        \\ell_{i,j} = -\\log \\frac{\\exp(\\mathrm{sim}(z_i, z_j)/\\tau)}
        {\\sum_{k \\neq i} \\exp(\\mathrm{sim}(z_i, z_k)/\\tau)}

    averaged over all 2N views (cosine similarity `sim`).

    Args:
        z1: float32 tensor `(batch, dim)`, projections of the first views.
        z2: float32 tensor `(batch, dim)`, projections of the second views.
        temperature: float > 0, τ.

    Returns:
        float32 scalar tensor.

    Reference:
        Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive
        Learning of Visual Representations. ICML 2020.
    """
    n = ops.shape(z1)[0]
    z = ops.concatenate([z1, z2], axis=0)
    z = z / ops.maximum(ops.norm(z, axis=1, keepdims=True), 1e-12)
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    logits = logits - 1e9 * ops.eye(2 * n, dtype=logits.dtype)
    positives = ops.concatenate([ops.arange(n) + n, ops.arange(n)], axis=0)
    losses = ops.sparse_categorical_crossentropy(positives, logits, from_logits=True)
    return ops.mean(losses)


def cosine_similarity_loss(u, v, targets):
    """SetFit's pair loss: squared error between cosine similarity and target.

    .. math::
        \\ell = \\frac{1}{N} \\sum_i (\\cos(u_i, v_i) - t_i)^2

    with target `t_i` = 1 for a pair of texts of the same class and 0 for
    different classes (sentence-transformers' `CosineSimilarityLoss`).

    Args:
        u: float32 tensor `(batch, dim)`, embeddings of the pairs' first texts.
        v: float32 tensor `(batch, dim)`, embeddings of their second texts.
        targets: float32 tensor `(batch,)`, target similarities.

    Returns:
        float32 scalar tensor.

    Reference:
        Tunstall et al. Efficient Few-Shot Learning Without Prompts
        (SetFit). arXiv:2209.11055, 2022. Reimers, Gurevych.
        Sentence-BERT. EMNLP 2019.
    """
    u = u / ops.maximum(ops.norm(u, axis=1, keepdims=True), 1e-12)
    v = v / ops.maximum(ops.norm(v, axis=1, keepdims=True), 1e-12)
    cosine = ops.sum(u * v, axis=1)
    return ops.mean(ops.square(cosine - ops.cast(targets, cosine.dtype)))
