"""Generator and discriminator builders for the dataset's image shape."""

import keras
import numpy as np
import pytest

from tfunsup.gan import build_discriminator, build_generator, upsampling_stages

SHAPES = [  # (image_shape, upsampling stages)
    ((28, 28, 1), 2),
    ((32, 32, 3), 3),
    ((8, 8, 1), 1),
    ((7, 7, 1), 0),
    ((64, 48, 3), 3),
]


@pytest.mark.parametrize("shape, stages", SHAPES)
def test_networks_fit_the_image_shape(shape, stages):
    assert upsampling_stages(shape) == stages
    generator = build_generator(shape, latent_dim=5, width=4)
    discriminator = build_discriminator(shape, width=4)
    latents = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    images = np.asarray(generator(latents, training=False))
    assert images.shape == (3, *shape)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert generator.inputs[0].name == "latents"
    assert np.asarray(discriminator(images)).shape == (3, 1)
    assert discriminator.inputs[0].name == "images"


def test_generator_uses_batch_norm_and_discriminator_does_not():
    generator = build_generator((28, 28, 1), 8, 4)
    discriminator = build_discriminator((28, 28, 1), 4)
    names = lambda model: {type(layer).__name__ for layer in model.layers}  # noqa: E731
    assert {"Conv2DTranspose", "BatchNormalization"} <= names(generator)
    fused = build_generator((28, 28, 1), 8, 4, batch_norm="fused")
    assert "FusedBatchNormalization" in names(fused) and "BatchNormalization" not in names(fused)
    assert [w.shape for w in fused.weights] == [w.shape for w in generator.weights]
    with pytest.raises(ValueError, match="batch_norm='cudnn'"):
        build_generator((28, 28, 1), 8, 4, batch_norm="cudnn")
    assert "LeakyReLU" in names(discriminator)
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in discriminator.layers)


@pytest.mark.parametrize("call, match", [
    (lambda: build_generator((28, 28, 1), latent_dim=0), "latent_dim >= 1"),
    (lambda: build_generator((28, 28), latent_dim=8), "image_shape"),
    (lambda: build_generator((28, 28, 2), latent_dim=8), "channels"),
    (lambda: build_discriminator((28, 28, 1), width=0), "width >= 1"),
    (lambda: build_discriminator((28, 28, 1), dropout=1.0), "dropout"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
