"""Checks on user-supplied arrays, run before any work starts."""

import numpy as np


def check_images(images, name="images"):
    """Validates an image batch and returns it as float32 `(n, h, w, c)`.

    Args:
        images: array-like of shape `(n, height, width, channels)` with
            channels 1 or 3, or `(n, height, width)` for grayscale; values in
            [0, 1].
        name: the argument name used in error messages.

    Returns:
        float32 numpy array of shape `(n, height, width, channels)`.

    Raises:
        ValueError: on a wrong rank or channel count, an empty batch,
            NaN/Inf, non-numeric data or values outside [0, 1].
    """
    x = np.asarray(images)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"Expected numeric {name}. Received dtype={x.dtype}")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise ValueError(
            f"Expected {name} of rank 4 `(n, height, width, channels)` "
            f"(or rank 3 for grayscale). Received shape={x.shape}"
        )
    if x.shape[-1] not in (1, 3):
        raise ValueError(
            f"Expected {name} with 1 or 3 channels. Received shape={x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"Expected at least one image in {name}. Received 0.")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} NaN or Inf values.")
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"Expected {name} with values in [0, 1]. Received values in "
            f"[{low:g}, {high:g}] (for 8-bit images divide by 255)."
        )
    return x


def check_labels(labels, n_samples, name="labels"):
    """Validates integer class labels for `n_samples` items.

    Returns:
        int64 numpy array of shape `(n_samples,)`.

    Raises:
        ValueError: on a wrong length, rank, or non-integer values.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"Expected {name} of shape ({n_samples},). Received shape={y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)):
            raise ValueError(f"Expected integer {name}. Received dtype={y.dtype}")
    return y.astype(np.int64)


def check_n_clusters(n_clusters, n_samples):
    """Raises ValueError unless 2 <= n_clusters <= n_samples."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"Expected an integer n_clusters. Received: n_clusters={n_clusters!r}")
    if n_clusters < 2:
        raise ValueError(f"Expected n_clusters >= 2. Received: n_clusters={n_clusters}")
    if n_clusters > n_samples:
        raise ValueError(
            f"Expected n_clusters <= number of samples ({n_samples}). "
            f"Received: n_clusters={n_clusters}"
        )


def check_texts(texts, name="texts"):
    """Validates a sequence of texts and returns it as a 1-D object array of `str`.

    Args:
        texts: list, tuple or 1-D array of `str`.
        name: the argument name used in error messages.

    Returns:
        numpy object array of shape `(n,)`, n >= 1.

    Raises:
        ValueError: not 1-D, empty, or an item that is not a `str`.
    """
    texts = np.asarray(texts, dtype=object)
    if texts.ndim != 1 or len(texts) == 0:
        raise ValueError(f"Expected {name} as a non-empty 1-D sequence of str. "
                         f"Received: shape={texts.shape}")
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        raise ValueError(f"Expected {name} of str. Received: {name}[{bad[0]}]="
                         f"{texts[bad[0]]!r} of type {type(texts[bad[0]]).__name__}")
    return texts


def check_waveforms(waveforms, name="waveforms"):
    """Validates a batch of mono waveforms and returns it as float32 `(n, samples)`.

    Args:
        waveforms: array-like of shape `(n, samples)`, values in [-1, 1].
        name: the argument name used in error messages.

    Returns:
        float32 numpy array of shape `(n, samples)`.

    Raises:
        ValueError: on a wrong rank, an empty batch, NaN/Inf, non-numeric
            data or values outside [-1, 1].
    """
    x = np.asarray(waveforms)
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"Expected numeric {name}. Received dtype={x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"Expected {name} of rank 2 `(n, samples)`. Received shape={x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"Expected at least one waveform with samples in {name}. "
                         f"Received shape={x.shape}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(x)))} NaN or Inf values.")
    low, high = float(x.min()), float(x.max())
    if low < -1.0 or high > 1.0:
        raise ValueError(
            f"Expected {name} with values in [-1, 1]. Received values in [{low:g}, {high:g}] "
            "(for 16-bit PCM divide by 32768).")
    return x

