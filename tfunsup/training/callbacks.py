"""The callbacks and argument checks every flow's `fit` shares."""

import keras


def training_callbacks(backup_dir=None, callbacks=None):
    """`TerminateOnNaN`, `BackupAndRestore(backup_dir)` when given, then `callbacks`.

    With `backup_dir`, an interrupted `fit` leaves the last finished epoch's
    weights, optimizer state and epoch number in `backup_dir`; calling the
    same `fit` again resumes from there (and the backup is deleted when
    training completes).
    """
    result = [keras.callbacks.TerminateOnNaN()]
    if backup_dir is not None:
        result.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    return result + list(callbacks or [])


def check_fit_params(**params):
    """Raises ValueError on a non-positive epochs/batch_size or a bad learning rate."""
    for name in ("epochs", "batch_size"):
        if name in params:
            value = params[name]
            minimum = 0 if name == "epochs" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"Expected {name} >= {minimum}. Received: {name}={value!r}")
    for name, value in params.items():
        if name.endswith("learning_rate") and not (isinstance(value, (int, float))
                                                   and value > 0):
            raise ValueError(f"Expected {name} > 0. Received: {name}={value!r}")
