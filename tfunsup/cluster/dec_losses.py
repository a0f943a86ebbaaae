"""Deep Embedded Clustering's self-training target and loss (pure functions)."""

from keras import ops


def target_distribution(q):
    """DEC's sharpened target distribution P from soft assignments Q.

    .. math::
        p_{ij} = \\frac{q_{ij}^2 / f_j}{\\sum_{j'} q_{ij'}^2 / f_{j'}},
        \\qquad f_j = \\sum_i q_{ij}

    Squaring emphasises confident assignments; dividing by the soft cluster
    frequency :math:`f_j` keeps large clusters from swallowing the rest.

    Args:
        q: float tensor or array `(n, n_clusters)` of soft assignments (rows
            sum to 1), computed over the whole data set (or a large batch).

    Returns:
        float tensor `(n, n_clusters)`, rows summing to 1.

    Reference:
        Xie, Girshick, Farhadi. Unsupervised Deep Embedding for Clustering
        Analysis. ICML 2016.
    """
    q = ops.convert_to_tensor(q)
    weight = ops.square(q) / ops.sum(q, axis=0, keepdims=True)
    return weight / ops.sum(weight, axis=1, keepdims=True)


def clustering_kl_loss(p, q, epsilon=1e-7):
    """Per-sample KL divergence KL(P || Q), DEC's clustering objective.

    .. math::
        L_i = \\sum_j p_{ij} \\log \\frac{p_{ij}}{q_{ij}}

    Args:
        p: float tensor `(batch, n_clusters)`, target distribution (treated
            as a constant).
        q: float tensor `(batch, n_clusters)`, soft assignments.
        epsilon: float added inside the logarithms (0 * log 0 = 0).

    Returns:
        float tensor `(batch,)`.
    """
    p = ops.stop_gradient(ops.convert_to_tensor(p))
    q = ops.convert_to_tensor(q)
    return ops.sum(p * (ops.log(p + epsilon) - ops.log(q + epsilon)), axis=-1)
