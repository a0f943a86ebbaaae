import numpy as np
import pytest

from tfunsup.data import check_images, check_labels, check_n_clusters


def test_check_images_accepts_grayscale_rank3():
    assert check_images(np.zeros((2, 4, 4))).shape == (2, 4, 4, 1)


@pytest.mark.parametrize("images, message", [
    (np.zeros((0, 4, 4, 1)), "at least one image"),
    (np.array([[["a"]]]), "numeric"),
    (np.full((1, 2, 2, 3), np.inf), "NaN or Inf"),
    (np.full((1, 2, 2, 3), -0.5), r"\[-0.5, -0.5\]"),
    (np.zeros((1, 2, 2, 2, 1)), "rank 4"),
])
def test_check_images_rejects(images, message):
    with pytest.raises(ValueError, match=message):
        check_images(images, name="images")


def test_check_labels():
    assert check_labels([0.0, 2.0], 2).dtype == np.int64
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        check_labels([0, 1], 3)
    with pytest.raises(ValueError, match="integer"):
        check_labels([0.5, 1.0], 2)


@pytest.mark.parametrize("n_clusters, message", [
    (1, "n_clusters >= 2"), (11, "<= number of samples"), (2.5, "integer")])
def test_check_n_clusters(n_clusters, message):
    with pytest.raises(ValueError, match=message):
        check_n_clusters(n_clusters, 10)


def test_check_texts_returns_a_1d_object_array_and_names_the_bad_item():
    from tfunsup.data.validation import check_texts

    texts = check_texts(["a b", "c"], name="docs")
    assert texts.dtype == object and texts.shape == (2,)
    with pytest.raises(ValueError, match=r"docs as a non-empty 1-D"):
        check_texts([], name="docs")
    with pytest.raises(ValueError, match=r"docs as a non-empty 1-D"):
        check_texts([["a"], ["b"]], name="docs")
    with pytest.raises(ValueError, match=r"docs of str\. Received: docs\[1\]=3"):
        check_texts(["a", 3], name="docs")
