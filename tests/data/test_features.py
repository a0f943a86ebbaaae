"""Streaming feature extraction: bad files skipped and listed, cache keys,
shards merged back into the single-process result (also across 2 processes)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from tfunsup.data import (
    FeatureCacheMismatchError,
    ImageSpec,
    extract_features,
    feature_key,
    find_unreadable,
    image_pipeline,
    load_dataset,
    load_features,
    merge_features,
    save_features,
)


def _photos(folder, n=12, corrupt=()):
    """n small RGB JPEG/PNG photos of mixed sizes, some files corrupt."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = folder / f"img{i:02d}.{'jpg' if i % 2 else 'png'}"
        if i in corrupt:
            name.write_bytes(b"\xff\xd8 this is not an image")
            continue
        size = (20 + 3 * i, 30 + 2 * (i % 4))
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(name)
    return folder


def _tiny_backbone(spec=ImageSpec(16, 16, 3, crop_to_aspect_ratio=True)):
    images = keras.Input(spec.shape)
    x = keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.GlorotUniform(1))(images)
    model = keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))
    model.image_spec = spec
    model.spec_name = "tiny"
    return model


def test_pipeline_crops_photos_to_the_backbone_aspect_ratio(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, 10:30] = 255  # a white centre square between black side bands
    Image.fromarray(wide).save(tmp_path / "wide.png")
    data = load_dataset(str(tmp_path))
    (images, index), = list(image_pipeline(
        data, ImageSpec(8, 8, 3, crop_to_aspect_ratio=True), batch_size=4))
    assert images.shape == (1, 8, 8, 3) and index.numpy().tolist() == [0]
    np.testing.assert_allclose(images.numpy(), 1.0, atol=1e-5)  # the bands are cropped
    (stretched, _), = list(image_pipeline(data, ImageSpec(8, 8, 3), batch_size=4))
    assert stretched.numpy()[0, :, 0].max() < 0.1  # stretched: the bands stay


def test_corrupt_files_are_skipped_and_listed(tmp_path):
    data = load_dataset(str(_photos(tmp_path / "photos", corrupt=(3, 8))))
    assert find_unreadable(data) == ["img03.jpg", "img08.png"]
    with pytest.warns(UserWarning, match="Skipped 2 unreadable.*img03.jpg"):
        result = extract_features(_tiny_backbone(), data, batch_size=4)
    assert result.features.shape == (10, 4)
    assert result.skipped == ("img03.jpg", "img08.png")
    np.testing.assert_array_equal(result.index, [i for i in range(12) if i not in (3, 8)])


def test_pipeline_parallelism_is_fixed_and_default_batches_count_backbone_passes():
    from tfunsup.data.features import auto_batch_size
    from tfunsup.data.pipeline import parallel_calls

    ds = image_pipeline(load_dataset("digits"), ImageSpec(8, 8, 1), batch_size=4)
    assert ds.options().autotune.enabled is False  # no autotune thread to wait for
    assert parallel_calls() >= 1
    spec = ImageSpec(224, 224, 3)
    assert auto_batch_size(spec) == 16
    assert auto_batch_size(spec, passes=2) == 8  # a flip-averaged backbone


def test_no_readable_image_is_a_clear_error(tmp_path):
    data = load_dataset(str(_photos(tmp_path / "bad", n=3, corrupt=(0, 1, 2))))
    with pytest.raises(ValueError, match="No readable image.*all 3 files"):
        extract_features(_tiny_backbone(), data)


def test_shards_merge_into_the_single_run_and_keys_guard_the_cache(tmp_path):
    data = load_dataset(str(_photos(tmp_path / "photos", corrupt=(5,))))
    backbone = _tiny_backbone()
    with pytest.warns(UserWarning):
        whole = extract_features(backbone, data, batch_size=5)
        shards = [extract_features(backbone, data, batch_size=2, num_shards=3, shard_index=i)
                  for i in range(3)]
    for i, shard in enumerate(shards):
        save_features(tmp_path / f"s{i}.npz", shard, data.ids)
    merged = merge_features([load_features(tmp_path / f"s{i}.npz") for i in (2, 0, 1)],
                            expected_key=feature_key(data, "tiny", backbone.image_spec))
    np.testing.assert_array_equal(merged.index, whole.index)
    np.testing.assert_allclose(merged.features, whole.features, atol=1e-5)
    assert merged.skipped == ("img05.jpg",)
    with pytest.raises(FeatureCacheMismatchError, match="shards"):
        merge_features(shards[:2])
    with pytest.raises(FeatureCacheMismatchError, match="backbone"):
        merge_features([whole], expected_key=feature_key(data, "other", backbone.image_spec))
    (tmp_path / "photos" / "img00.png").unlink()
    with pytest.raises(FeatureCacheMismatchError, match="fingerprint"):
        merge_features([whole], expected_key=feature_key(
            load_dataset(str(tmp_path / "photos")), "tiny", backbone.image_spec))


def test_two_worker_processes_extract_shards_that_merge_to_one_run(tmp_path):
    """`tfunsup cluster --num-shards 2 --shard-index i` in two local processes
    at once, then `--features` of both: the same features as one process."""
    data = load_dataset(str(_photos(tmp_path / "photos", n=10)))
    backbone_dir = tmp_path / "backbone"
    model = _tiny_backbone(ImageSpec(16, 16, 3))
    model.export(str(backbone_dir), verbose=False)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    workers = [subprocess.Popen(
        [sys.executable, "-c", "import sys; from tfunsup.cli import main; sys.exit(main())",
         "cluster", "--data", str(tmp_path / "photos"),
         "--backbone", str(backbone_dir), "--num-shards", "2", "--shard-index", str(i),
         "--batch-size", "3", "--out", str(tmp_path / f"shard{i}"), "--quiet"],
        env=env, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    merged = merge_features([load_features(tmp_path / f"shard{i}" / "features.npz")
                             for i in range(2)])
    from tfunsup.backbones import flip_averaged, load_backbone

    # Photos: the CLI averages each image's features with its mirror image's.
    single = extract_features(flip_averaged(load_backbone(str(backbone_dir))), data,
                              batch_size=4)
    np.testing.assert_array_equal(merged.index, np.arange(10))
    np.testing.assert_allclose(merged.features, single.features, atol=1e-5)
