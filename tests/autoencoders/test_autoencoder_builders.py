import numpy as np
import pytest

from tfunsup.autoencoders import (
    build_conv_autoencoder,
    build_conv_decoder,
    build_conv_encoder,
    build_dense_autoencoder,
)

BUILDERS = [
    (build_conv_autoencoder, (28, 28, 1)),
    (build_conv_autoencoder, (8, 8, 1)),
    (build_conv_autoencoder, (30, 26, 3)),  # not a multiple of 4: padded then cropped
    (build_dense_autoencoder, (28, 28, 1)),
    (build_dense_autoencoder, (32, 32, 3)),
]


@pytest.mark.parametrize("builder,shape", BUILDERS)
def test_shapes_and_shared_weights(builder, shape):
    autoencoder, encoder, decoder = builder(shape, latent_dim=7)
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    codes = encoder(x).numpy()
    assert codes.shape == (3, 7)
    reconstructions = autoencoder(x).numpy()
    assert reconstructions.shape == (3, *shape)
    assert reconstructions.min() >= 0.0 and reconstructions.max() <= 1.0
    np.testing.assert_allclose(reconstructions, decoder(codes).numpy(), atol=1e-6)
    autoencoder_ids = {id(v) for v in autoencoder.weights}
    assert {id(v) for v in encoder.weights} <= autoencoder_ids
    assert {id(v) for v in decoder.weights} <= autoencoder_ids
    assert encoder.inputs[0].name == "images" and decoder.inputs[0].name == "latent"


def test_denoising_noise_only_in_training():
    autoencoder, encoder, decoder = build_conv_autoencoder((8, 8, 1), 4, noise_stddev=0.5,
                                                           seed=0)
    x = np.full((2, 8, 8, 1), 0.5, np.float32)
    clean = decoder(encoder(x)).numpy()
    np.testing.assert_allclose(autoencoder(x, training=False).numpy(), clean, atol=1e-6)
    assert not np.allclose(autoencoder(x, training=True).numpy(), clean, atol=1e-4)


@pytest.mark.parametrize("latent_dim", [0, -3, 2.5, "8", True])
def test_bad_latent_dim_is_a_clear_error(latent_dim):
    with pytest.raises(ValueError, match="latent_dim"):
        build_conv_encoder((28, 28, 1), latent_dim)
    with pytest.raises(ValueError, match="latent_dim"):
        build_dense_autoencoder((28, 28, 1), latent_dim)


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_shape=(28, 28)), "input_shape"),
    (dict(input_shape=(28, 28, 2)), "input_shape"),
    (dict(filters=()), "filters"),
])
def test_bad_shapes_and_filters(kwargs, match):
    arguments = dict(input_shape=(28, 28, 1), latent_dim=4) | kwargs
    with pytest.raises(ValueError, match=match):
        build_conv_encoder(**arguments)


def test_negative_noise_is_an_error():
    with pytest.raises(ValueError, match="noise_stddev"):
        build_conv_autoencoder((8, 8, 1), 4, noise_stddev=-0.1)


def test_decoder_builds_for_any_output_shape():
    decoder = build_conv_decoder(5, (9, 11, 3), filters=(16, 8))
    assert decoder(np.zeros((1, 5), np.float32)).shape == (1, 9, 11, 3)
