"""The callbacks and argument checks every flow's `fit` shares."""

import keras
import numpy as np


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


def check_momentum(value, name="momentum"):
    """Raises ValueError naming `name` unless `value` is a number in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"Expected {name} in (0, 1). Received: {name}={value!r}")


class WeightAverage(keras.callbacks.Callback):
    """Exponential moving average of a model's weights over training steps.

    After every training batch, each floating-point weight of `model`
    (trainable ones and batch-norm statistics alike) moves into its average:
    `average = momentum * average + (1 - momentum) * weight`, starting from
    the weights after the first batch. The callback keeps its averages across
    `fit` calls, so one instance can follow a training loop of many `fit`s;
    `apply()` writes them into `model`. Unlike Keras' optimizer EMA
    (`use_ema=True`), which `fit` writes into the model at the end of every
    call, the averages here are only written when asked.

    Args:
        model: the `keras.Model` (or layer) whose weights are averaged; it
            may be a part of the model being trained.
        momentum: float in (0, 1); the average spans about
            `1 / (1 - momentum)` steps.

    Raises:
        ValueError: `momentum` outside (0, 1).

    References:
        Polyak, Juditsky. Acceleration of stochastic approximation by
        averaging. SIAM J. Control Optim. 1992.
        Tarvainen, Valpola. Mean teachers are better role models. NeurIPS 2017.
    """

    def __init__(self, model, momentum):
        super().__init__()
        check_momentum(momentum)
        self.averaged_model = model  # `self.model` is the model `fit` trains
        self.momentum = float(momentum)
        self.averages = None

    def on_train_batch_end(self, batch, logs=None):
        weights = self.averaged_model.get_weights()
        if self.averages is None:
            self.averages = [w.copy() for w in weights]
            return
        for average, weight in zip(self.averages, weights):
            if np.issubdtype(average.dtype, np.floating):
                average *= self.momentum
                average += (1.0 - self.momentum) * weight
            else:
                average[...] = weight

    def apply(self):
        """Writes the averaged weights into the model (no-op before any batch)."""
        if self.averages is not None:
            self.averaged_model.set_weights(self.averages)
