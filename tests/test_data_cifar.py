"""CIFAR-10 on small batches pickled here in the real layout, and the restricted unpickler refusing code."""
import os
import pickle

import numpy as np
import pytest

from cnnlab.data import CIFAR10, DatasetNotFoundError, UnsafePickleError
from cnnlab.data.unpickle import restricted_loads

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class Python2StylePickler(pickle.Pickler):
    """Pickles arrays as Python 2's cPickle did for CIFAR: raw bytes as a str, under numpy.core's name."""

    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray):
            state = (1, obj.shape, obj.dtype, False, obj.tobytes().decode("latin1"))
            return _reconstruct, (np.ndarray, (0,), "b"), state
        return NotImplemented


def python2_style_dumps(obj):
    import io

    buffer = io.BytesIO()
    Python2StylePickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_cifar(root, n=3, seed=0, python2=True):
    """A cifar-10-batches-py folder with n images per batch; returns {name: (images, labels)}."""
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    dumps = python2_style_dumps if python2 else (lambda obj: pickle.dumps(obj, protocol=4))
    g = np.random.default_rng(seed)
    written = {}
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        images = g.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in g.integers(0, 10, n)]
        names = [f"img{k}.png" for k in range(n)]
        batch = {"batch_label": f"{name} of 5", "labels": labels, "data": images, "filenames": names}
        with open(os.path.join(folder, name), "wb") as f:
            f.write(dumps(batch))
        written[name] = (images, labels)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        f.write(dumps({"label_names": CLASSES, "num_cases_per_batch": n, "num_vis": 3072}))
    return written


class Evil:
    """Pickles to a call of os.system; pickling it runs nothing."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("python2", [True, False])
def test_cifar10_reads_train_and_test(tmp_path, python2):
    written = write_cifar(tmp_path, python2=python2)
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert train.data.shape == (15, 3, 32, 32) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and train.classes == CLASSES
    np.testing.assert_array_equal(train.data[3:6].reshape(3, -1), written["data_batch_2"][0])
    np.testing.assert_array_equal(train.targets[12:], written["data_batch_5"][1])
    np.testing.assert_array_equal(test.data.reshape(3, -1), written["test_batch"][0])
    # the documented layout: 1024 red, then 1024 green, then 1024 blue values, rows of 32
    assert test.data[0, 1, 0, 5] == written["test_batch"][0][0, 1024 + 5]


def test_missing_files_error(tmp_path):
    write_cifar(tmp_path)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    os.remove(tmp_path / "cifar-10-batches-py" / "batches.meta")
    with pytest.raises(DatasetNotFoundError) as info:
        CIFAR10(tmp_path)
    message = str(info.value)
    assert f"CIFAR10: missing data_batch_3, batches.meta in {tmp_path / 'cifar-10-batches-py'}" in message
    assert "cifar-10-python.tar.gz" in message and "download=True" in message


def test_restricted_unpickler_refuses_os_system_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    raw = pickle.dumps(Evil(marker), protocol=0)
    with pytest.raises(UnsafePickleError, match=r"refusing to load global '(posix|nt|os)\.system'"):
        restricted_loads(raw)
    write_cifar(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(pickle.dumps({"data": Evil(marker), "labels": [1]}, protocol=4))
    with pytest.raises(
        ValueError,
        match=r"data_batch_1: refusing to load global '(posix|nt|os)\.system': data pickles may only hold",
    ):
        CIFAR10(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["builtins eval", "subprocess Popen", "numpy load", "numpy.core.multiarray scalar"])
def test_restricted_unpickler_refuses_any_other_global(name):
    module, attribute = name.split()
    raw = f"c{module}\n{attribute}\n(S'1+1'\ntR.".encode()
    with pytest.raises(UnsafePickleError, match=f"refusing to load global '{module}.{attribute}'"):
        restricted_loads(raw)


def test_restricted_unpickler_loads_plain_data_and_arrays():
    obj = {"a": [1, 2.5, "s", None, (True,)], "x": np.arange(6, dtype=np.int16).reshape(2, 3)}
    with_bytes = dict(obj, b=b"\x00\xff")  # protocol 3+ has a bytes opcode; Python 2 pickles have no bytes type
    for raw in (pickle.dumps(with_bytes, protocol=3), pickle.dumps(with_bytes, protocol=4), python2_style_dumps(obj)):
        out = restricted_loads(raw)
        assert out["a"] == obj["a"]
        np.testing.assert_array_equal(out["x"], obj["x"])
    assert restricted_loads(pickle.dumps(with_bytes, protocol=4))["b"] == b"\x00\xff"


def test_truncated_and_malformed_batches(tmp_path):
    written = write_cifar(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    batch = folder / "data_batch_2"
    good = batch.read_bytes()
    batch.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"data_batch_2: truncated or corrupt pickle"):
        CIFAR10(tmp_path)
    images, labels = written["data_batch_2"]
    cases = [
        ([1, 2], r"data_batch_2: expected a dict with keys \['data', 'labels'\]; got list"),
        ({"data": images}, r"data_batch_2: missing key\(s\) \['labels'\]; found \['data'\]"),
        (
            {"data": images[:, :100], "labels": labels},
            r"'data' must be a uint8 array of shape \(N, 3072\); got a uint8 array of shape \(3, 100\)",
        ),
        ({"data": images, "labels": labels[:2]}, r"data_batch_2: image/label count mismatch: 3 images but 2 labels"),
        ({"data": images, "labels": [0, 1, 10]}, r"data_batch_2: labels must be in 0..9; got values from 0 to 10"),
    ]
    for obj, message in cases:
        batch.write_bytes(pickle.dumps(obj, protocol=4))
        with pytest.raises(ValueError, match=message):
            CIFAR10(tmp_path)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": CLASSES[:3]}))
    with pytest.raises(ValueError, match=r"batches.meta: 'label_names' must be a list of 10 strings"):
        CIFAR10(tmp_path, train=False)
