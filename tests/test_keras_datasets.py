"""keras.datasets.mnist / fashion_mnist load_data() from IDX folders or a Keras .npz, never the network."""
import os

import numpy as np
import pytest

from cnnlab import keras
from cnnlab.data import MNIST, write_idx


def _write(folder, seed=0):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", 7), ("t10k", 3)):
        images, labels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)
        arrays[prefix] = images, labels
    return arrays


@pytest.mark.parametrize("module, folder", [("mnist", "mnist"), ("fashion_mnist", "fashion-mnist")])
def test_load_data_reads_the_data_dir_as_keras_returns_it(tmp_path, monkeypatch, module, folder):
    arrays = _write(tmp_path / folder)
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.shape == (7, 28, 28) and y_test.shape == (3,)
    assert np.array_equal(x_train, arrays["train"][0]) and np.array_equal(y_test, arrays["t10k"][1])


def test_load_data_takes_a_folder_or_a_keras_npz(tmp_path):
    arrays = _write(tmp_path / "digits")
    (x_train, _), _ = keras.datasets.mnist.load_data(path=tmp_path / "digits")
    assert np.array_equal(x_train, arrays["train"][0])
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=arrays["train"][1], x_test=arrays["t10k"][0],
             y_test=arrays["t10k"][1])
    (_, y_train), (x_test, _) = keras.datasets.mnist.load_data(path=str(tmp_path / "mnist.npz"))
    assert np.array_equal(y_train, arrays["train"][1]) and np.array_equal(x_test, arrays["t10k"][0])


def test_missing_files_are_downloaded_into_the_folder(tmp_path, monkeypatch):
    source = tmp_path / "mirror"
    _write(source)
    monkeypatch.setattr(MNIST, "mirrors", [source.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "md5", {})
    (x_train, _), _ = keras.datasets.mnist.load_data(path=tmp_path / "cache")
    assert x_train.shape == (7, 28, 28)
    assert sorted(os.listdir(tmp_path / "cache")) == sorted(os.listdir(source))


def test_misspelt_dataset_suggests_the_right_one():
    with pytest.raises(AttributeError, match="did you mean 'fashion_mnist'"):
        keras.datasets.fashion_mnst
