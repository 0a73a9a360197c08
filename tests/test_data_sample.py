"""The embedded MNIST sample: size, shapes, dtypes, class balance, loader round trip."""
import os

import numpy as np

from cnnlab.data import MNIST, DataLoader, MNISTSample
from cnnlab.data.sample import SAMPLE_PATH


def test_sample_file_is_small_and_holds_only_plain_arrays():
    assert os.path.getsize(SAMPLE_PATH) <= 2_000_000
    with np.load(SAMPLE_PATH, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(
            f"{split}_{part}" for split in ("train", "test") for part in ("images", "labels", "index")
        )
        assert archive["train_images"].dtype == np.uint8


def test_train_and_test_shapes_dtypes_and_balance():
    for train, n in ((True, 6000), (False, 1000)):
        sample = MNISTSample(train=train)
        assert sample.data.shape == (n, 1, 28, 28) and sample.data.dtype == np.uint8
        assert sample.targets.shape == (n,) and sample.targets.dtype == np.int64
        np.testing.assert_array_equal(np.bincount(sample.targets, minlength=10), np.full(10, n // 10))
        assert sample.classes == MNIST.classes
        assert np.all(np.diff(sample.indices) > 0) and sample.indices.max() < (60000 if train else 10000)
        assert sample.data.max() == 255 and 20 < sample.data.mean() < 50  # real digits: mostly dark background


def test_sample_feeds_the_loader():
    xb, yb = next(iter(DataLoader(MNISTSample(train=False), batch_size=100, shuffle=True, seed=0)))
    assert xb.array.shape == (100, 1, 28, 28) and xb.array.dtype == np.float32
    assert 0.0 <= xb.array.min() and xb.array.max() <= 1.0 and yb.array.dtype == np.int64
