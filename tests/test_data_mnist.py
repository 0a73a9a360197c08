"""IDX reading (gzip and plain) and MNIST / FashionMNIST on small files written here in the real format."""
import gzip
import os
import struct

import numpy as np
import pytest

from cnnlab.data import MNIST, DataLoader, DatasetNotFoundError, FashionMNIST, read_idx, write_idx
from cnnlab.data.idx import idx_bytes


def idx_by_hand(array):
    """IDX bytes built from the format description, independently of cnnlab.data.idx."""
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    head = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim)
    head += struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(root, n_train=12, n_test=5, gz=True, seed=0):
    """Four MNIST-format files with random images and labels; returns the arrays."""
    g = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = g.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = g.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_read_idx_plain_and_gz_matches_hand_built_bytes(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else np.arange(24, dtype=dtype)
    raw = idx_by_hand(array)
    assert idx_bytes(array) == raw
    (tmp_path / "a.idx").write_bytes(raw)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(raw))
    for name in ("a.idx", "a.idx.gz"):
        out = read_idx(tmp_path / name)
        assert out.dtype == dtype and out.dtype.isnative
        np.testing.assert_array_equal(out, array)


def test_read_idx_errors_name_the_file_and_the_problem(tmp_path):
    good = idx_by_hand(np.zeros((3, 2, 2), np.uint8))
    cases = {
        "short": (b"\x00\x00", r"short: too short for an IDX header: 2 bytes, need at least 4"),
        "magic": (b"\x12\x34" + good[2:], r"magic: not an IDX file: magic number must start with 0x0000; got 0x1234"),
        "dtype": (b"\x00\x00\x07\x03" + good[4:], r"dtype: unknown IDX element type 0x07"),
        "header": (good[:10], r"header: truncated IDX header: 3 dimensions need 16 bytes; got 10"),
        "data": (good[:-1], r"data: truncated: header says shape \(3, 2, 2\) \(12 bytes of data\); got 11 bytes"),
        "extra": (good + b"\x00", r"extra: has trailing bytes: header says shape \(3, 2, 2\) .*; got 13 bytes"),
        "gz": (gzip.compress(good)[:-12], r"gz: corrupt or truncated gzip data"),
    }
    for name, (raw, message) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ValueError, match=message):
            read_idx(tmp_path / name)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_both_splits(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    train, test = MNIST(tmp_path), MNIST(str(tmp_path), train=False)
    assert train.data.shape == (12, 1, 28, 28) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and len(test) == 5
    np.testing.assert_array_equal(train.data[:, 0], arrays["train"][0])
    np.testing.assert_array_equal(test.targets, arrays["t10k"][1])
    assert train.classes[3] == "3 - three" and len(train.classes) == 10
    images, labels = train[4]
    assert images.shape == (1, 28, 28) and labels == arrays["train"][1][4]
    xb, yb = next(iter(DataLoader(train, batch_size=12)))
    np.testing.assert_allclose(xb.array, arrays["train"][0][:, None] / 255, rtol=1e-6)


def test_fashion_mnist_same_format_own_classes_and_checksums(tmp_path):
    write_mnist(tmp_path)
    fashion = FashionMNIST(tmp_path, train=False)
    assert fashion.classes[9] == "Ankle boot" and len(fashion) == 5
    assert FashionMNIST.md5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert FashionMNIST.mirrors != MNIST.mirrors


def test_missing_files_error_names_files_folder_and_download(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(tmp_path)
    message = str(info.value)
    assert "MNIST: missing train-labels-idx1-ubyte.gz in " + str(tmp_path) in message
    assert "train-images" not in message and "download=True" in message
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(
        FileNotFoundError,
        match="FashionMNIST: missing t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
    ):
        FashionMNIST(tmp_path, train=False)


def test_count_mismatch_wrong_shape_and_label_range(tmp_path):
    write_mnist(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(11, np.uint8))
    with pytest.raises(
        ValueError,
        match=r"image/label count mismatch: "
        r".*train-images-idx3-ubyte.gz has 12 images but .*train-labels-idx1-ubyte.gz has 11 labels",
    ):
        MNIST(tmp_path)
    write_idx(labels, np.full(12, 10, np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: labels must be in 0..9; got 10"):
        MNIST(tmp_path)
    write_idx(labels, np.zeros((12, 1), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"train-labels-idx1-ubyte.gz: expected uint8 labels of shape \(N,\); "
        r"got a uint8 array of shape \(12, 1\)",
    ):
        MNIST(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.float32))
    with pytest.raises(
        ValueError,
        match=r"t10k-images-idx3-ubyte.gz: expected uint8 images of shape \(N, rows, cols\); got a float32 array",
    ):
        MNIST(tmp_path, train=False)


def test_truncated_gz_file_is_a_value_error_naming_it(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: corrupt or truncated gzip data"):
        MNIST(tmp_path, train=False)
