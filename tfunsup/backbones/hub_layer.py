"""A Keras 3 layer around a TF Hub handle or a SavedModel directory.

`hub.KerasLayer` is a tf_keras layer and fails inside Keras 3 models
(tensorflow/tensorflow#65419, keras-team/keras#20648); `keras.layers.TFSMLayer`
cannot be fine-tuned with Adam (its variable names keep ':0'). `HubLayer`
loads the SavedModel with `hub.load`, calls its function directly, and
re-exposes the loaded `tf.Variable`s as `keras.Variable`s wrapping the very
same variables, so Keras tracks, trains, distributes and exports them.
"""

import re

import keras
import tensorflow as tf


class BackboneUnavailableError(OSError):
    """A backbone spec names something that cannot be loaded here."""


def resolve_handle(handle):
    """Returns the local directory of a TF Hub handle or SavedModel path.

    URLs are downloaded by `tensorflow_hub` into `TFHUB_CACHE_DIR` (or read
    from it when already there).

    Raises:
        BackboneUnavailableError: the handle cannot be downloaded or found.
    """
    import tensorflow_hub as hub

    try:
        return hub.resolve(str(handle))
    except Exception as error:
        first_line = (str(error).splitlines() or [""])[0][:160]
        raise BackboneUnavailableError(
            f"Cannot load backbone '{handle}': {type(error).__name__}: {first_line}. "
            "Downloading a TF Hub handle needs the network, or a TFHUB_CACHE_DIR "
            "that already holds it."
        ) from error


def _sanitize(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name.split(":")[0])


def _accepts_training(function):
    """Whether a restored tf.function takes a `training` argument."""
    for concrete in getattr(function, "concrete_functions", ()):
        args, kwargs = concrete.structured_input_signature
        if "training" in kwargs or len(args) > 1:
            return True
    return False


def _input_specs(function):
    """The `tf.TensorSpec`s of the first traced signature of a function."""
    concretes = getattr(function, "concrete_functions", None)
    if concretes:
        args, kwargs = concretes[0].structured_input_signature
    elif hasattr(function, "structured_input_signature"):
        args, kwargs = function.structured_input_signature
    else:
        return []
    return [s for s in list(args) + list(kwargs.values()) if isinstance(s, tf.TensorSpec)]


def _static_input_shape(function):
    """`(height, width, channels)` of the first traced input, or None."""
    specs = _input_specs(function)
    for spec in specs:
        if isinstance(spec, tf.TensorSpec) and spec.shape.rank == 4:
            return tuple(spec.shape[1:])
    return None


@keras.saving.register_keras_serializable(package="tfunsup")
class HubLayer(keras.layers.Layer):
    """Calls a TF Hub handle or SavedModel as a trainable Keras 3 layer.

    The SavedModel may be a TF Hub TF2 model (a callable object, optionally
    taking `training`), a Keras `model.export()` (endpoint `serve`), or any
    SavedModel with a signature.

    Args:
        handle: TF Hub URL (tfhub.dev / Kaggle Models) or local SavedModel
            directory.
        signature: name of a signature to call (e.g. `"serving_default"`);
            None picks the object's `__call__`, then `serve`, then
            `serving_default`.
        output_key: key of the output to return when the callable returns a
            dict; None takes the only output (or `"default"`).
        trainable: whether the SavedModel's trainable variables are trained.

    Call arguments:
        inputs: float32 tensor `(batch, height, width, channels)` in the
            value range the SavedModel expects (TF Hub image models: [0, 1]).
        training: forwarded to the SavedModel when it takes `training` (batch
            norm / dropout in training mode only when the layer is trainable).

    Returns:
        The SavedModel's output tensor, e.g. `(batch, feature_dim)`.

    Raises:
        BackboneUnavailableError: the handle cannot be resolved.
        ValueError: the SavedModel has no usable callable or output.
    """

    def __init__(self, handle, signature=None, output_key=None, trainable=False, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.handle = str(handle)
        self.signature = signature
        self.output_key = output_key
        self.module_path = resolve_handle(self.handle)
        try:
            self._module = tf.saved_model.load(self.module_path)
        except Exception as error:
            raise ValueError(
                f"Cannot load backbone '{self.handle}' as a SavedModel: {error}"
            ) from error
        self._function, self._takes_training = self._pick_function()
        trainable_ids = {id(v) for v in getattr(self._module, "trainable_variables", ())}
        module_variables = list(getattr(self._module, "variables", ()))
        if not module_variables and self.signature is None:
            module_variables = list(getattr(self._function, "variables", ()))
        self._wrapped_variables = []
        for variable in module_variables:
            wrapped = keras.Variable(
                initializer=variable,
                trainable=id(variable) in trainable_ids or (
                    not trainable_ids and variable.trainable),
                name=_sanitize(variable.name),
            )
            self._track_variable(wrapped)
            self._wrapped_variables.append(wrapped)
        self.built = True

    def _pick_function(self):
        module = self._module
        signatures = getattr(module, "signatures", {})
        if self.signature is not None:
            if self.signature not in signatures:
                raise ValueError(
                    f"Backbone '{self.handle}' has no signature '{self.signature}'. "
                    f"Available: {sorted(signatures)}"
                )
            return signatures[self.signature], False
        if callable(module) and hasattr(module, "__call__"):
            return module.__call__, _accepts_training(module.__call__)
        if hasattr(module, "serve"):
            return module.serve, False
        if "serving_default" in signatures:
            return signatures["serving_default"], False
        raise ValueError(
            f"Backbone '{self.handle}' is neither callable nor has a 'serve' "
            "endpoint or a 'serving_default' signature."
        )

    @property
    def input_shape_hint(self):
        """`(height, width, channels)` the SavedModel was traced with, or None."""
        if self.signature is not None:
            signature = self._function
            specs = [s for s in signature.structured_input_signature[1].values()]
            for spec in specs:
                if spec.shape.rank == 4:
                    return tuple(spec.shape[1:])
            return None
        return _static_input_shape(self._function)

    @property
    def takes_strings(self):
        """Whether the SavedModel's input is a string tensor (text models)."""
        if self.signature is not None:
            specs = list(self._function.structured_input_signature[1].values())
        else:
            specs = _input_specs(self._function)
        return bool(specs) and specs[0].dtype == tf.string

    def call(self, inputs, training=False):
        if self.signature is not None:
            arguments = self._function.structured_input_signature[1]
            outputs = self._function(**{next(iter(arguments)): inputs})
        elif self._takes_training:
            outputs = self._function(inputs, training=bool(training) and self.trainable)
        else:
            outputs = self._function(inputs)
        if isinstance(outputs, dict):
            if self.output_key is not None:
                if self.output_key not in outputs:
                    raise ValueError(
                        f"Backbone '{self.handle}' has no output '{self.output_key}'. "
                        f"Available: {sorted(outputs)}"
                    )
                return outputs[self.output_key]
            if len(outputs) == 1:
                return next(iter(outputs.values()))
            if "default" in outputs:
                return outputs["default"]
            raise ValueError(
                f"Backbone '{self.handle}' returns several outputs {sorted(outputs)}; "
                "pass output_key."
            )
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(handle=self.handle, signature=self.signature,
                      output_key=self.output_key)
        return config
