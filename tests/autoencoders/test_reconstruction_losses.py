import numpy as np

from tfunsup.autoencoders import reconstruction_error


def test_known_values():
    images = np.zeros((2, 2, 2, 1), np.float32)
    reconstructions = np.zeros((2, 2, 2, 1), np.float32)
    reconstructions[0, 0, 0, 0] = 1.0          # one error of 1 over 4 values
    reconstructions[1] = 0.5                   # every value off by 0.5
    errors = np.asarray(reconstruction_error(images, reconstructions))
    np.testing.assert_allclose(errors, [0.25, 0.25])


def test_zero_for_perfect_reconstruction():
    x = np.random.default_rng(0).random((3, 4, 4, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(reconstruction_error(x, x)), 0.0)
