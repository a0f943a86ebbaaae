"""Atomic SavedModel export, each weight written once."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import keras


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
    complete SavedModel or nothing, with each weight written once.

    Args:
        model: a built functional or `Sequential` `keras.Model`.
        path: destination folder.
        overwrite: replace an existing `path`.

    Returns:
        `Path` of the SavedModel.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    # `model.export`'s archive and endpoint. Keras tracks the model's
    # `keras.Variable` wrappers while the endpoint captures the `tf.Variable`
    # inside each; the checkpoint cannot tell the two objects apart, so
    # `model.export` writes every weight twice and a reloaded model holds two
    # copies in memory (keras-team/keras#23553, open in Keras 3.15). The
    # collections below replace the wrappers with the `tf.Variable`s.
    with atomic_directory(path, overwrite) as staging:
        archive = keras.export.ExportArchive()
        archive.track_and_add_endpoint("serve", model, _input_signature(model))
        for collection in ("variables", "trainable_variables", "non_trainable_variables"):
            archive.add_variable_collection(
                collection, [variable.value for variable in getattr(model, collection)])
        archive.write_out(str(staging), verbose=False)
    return Path(path)


def _input_signature(model):
    """`model.export`'s input signature: the model's input tensors (named,
    batch size free); a functional model takes them as one argument."""
    return model.inputs if isinstance(model, keras.Sequential) else [model.input]
