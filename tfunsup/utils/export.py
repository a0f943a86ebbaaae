"""Atomic SavedModel export."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Yields a temporary folder path that becomes `path` only on success.

    Args:
        path: destination folder.
        overwrite: replace an existing `path`.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False (before
            anything is written).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"SavedModel path '{path}' exists; pass overwrite=True.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging / "model"
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging / "model", path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_atomically(model, path, overwrite=False):
    """`model.export(path)` through a temporary folder, so `path` holds a
    complete SavedModel or nothing.

    Args:
        model: a built `keras.Model`.
        path: destination folder.
        overwrite: replace an existing `path`.

    Returns:
        `Path` of the SavedModel.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    with atomic_directory(path, overwrite) as staging:
        model.export(str(staging), verbose=False)
    return Path(path)
