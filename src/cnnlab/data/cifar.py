"""CIFAR-10, python version: pickled batches read with a restricted unpickler.

CIFAR-10: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.
60,000 32x32 colour images in 10 classes: 50,000 for training (5 batches), 10,000 for test.
"""
import os
import tarfile
import tempfile

import numpy as np

from .dataset import ImageDataset
from .download import download_url
from .download import md5sum, missing_files, not_found
from .unpickle import UnsafePickleError, restricted_loads


def load_pickle(path):
    """The object in pickle file ``path``, loaded without running code (see :mod:`.unpickle`).

    Raises ValueError naming the file for a refused global or a truncated or corrupt pickle.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return restricted_loads(raw)
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{path}: {error}") from None
    except Exception as error:  # truncated data surfaces as EOFError, UnpicklingError, ValueError...
        raise ValueError(f"{path}: truncated or corrupt pickle ({type(error).__name__}: {error})") from None


def _entries(obj, path, keys):
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict with keys {keys}; got {type(obj).__name__}")
    obj = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    missing = [k for k in keys if k not in obj]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(map(str, obj))}")
    return [obj[k] for k in keys]


def read_batch(path, num_classes=10):
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) from one CIFAR-10 batch file."""
    data, labels = _entries(load_pickle(path), path, ["data", "labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"a {data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (N, 3072); got {got}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or (len(labels) and labels.dtype.kind not in "iu"):
        raise ValueError(f"{path}: 'labels' must be a list of ints; got {labels.dtype} values of shape {labels.shape}")
    if len(labels) != len(data):
        raise ValueError(f"{path}: image/label count mismatch: {len(data)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{path}: labels must be in 0..{num_classes - 1}; got values from {labels.min()} to {labels.max()}"
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def read_meta(path, num_classes=10):
    """The class names in ``batches.meta``."""
    (names,) = _entries(load_pickle(path), path, ["label_names"])
    names = [n.decode() if isinstance(n, bytes) else n for n in names] if isinstance(names, list) else names
    if not isinstance(names, list) or len(names) != num_classes or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: 'label_names' must be a list of {num_classes} strings; got {names!r:.200}")
    return names


class CIFAR10(ImageDataset):
    """CIFAR-10 from ``root/cifar-10-batches-py/``: ``data_batch_1..5``, ``test_batch``, ``batches.meta``.

    Args:
        root: folder that holds (or will hold) ``cifar-10-batches-py``.
        train: the 50,000 training images if True, else the 10,000 test images.
        download: when files are missing, fetch ``cifar-10-python.tar.gz`` from
            ``mirrors`` into ``root``, check its MD5 and extract the batches.

    Attributes:
        data: uint8 (N, 3, 32, 32). targets: int64 (N,). classes: the 10 names from ``batches.meta``.

    >>> train = CIFAR10("data", train=True, download=True)
    >>> train.data.shape, train.classes[:2]
    ((50000, 3, 32, 32), ['airplane', 'automobile'])
    """

    mirrors = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    archive = "cifar-10-python.tar.gz"
    archive_md5 = "c58f30108f718f92721af3b95e74349a"
    folder = "cifar-10-batches-py"
    #: MD5 of the extracted files, for reference (the archive's MD5 is what a download checks).
    md5 = {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    }
    splits = {True: [f"data_batch_{k}" for k in range(1, 6)], False: ["test_batch"]}

    def __init__(self, root, train=True, download=False):
        self.root, self.train = os.fspath(root), bool(train)
        folder = os.path.join(self.root, self.folder)
        names = self.splits[self.train] + ["batches.meta"]
        missing = missing_files(folder, names)
        if missing and not download:
            raise not_found(type(self).__name__, folder, missing, f" (extract {self.archive} into {self.root})")
        if missing:
            self._download(names)
        batches = [read_batch(os.path.join(folder, name)) for name in self.splits[self.train]]
        classes = read_meta(os.path.join(folder, "batches.meta"))
        data = np.concatenate([b[0] for b in batches])
        targets = np.concatenate([b[1] for b in batches])
        super().__init__(data, targets, classes)

    def _download(self, names):
        """Fetch the archive unless a verified copy is in ``root``, then extract ``names`` from it."""
        archive = os.path.join(self.root, self.archive)
        if not (os.path.isfile(archive) and md5sum(archive) == self.archive_md5):
            download_url(self.mirrors, archive, self.archive_md5)
        extract(archive, self.folder, names, os.path.join(self.root, self.folder))

    def __repr__(self):
        return f"CIFAR10(train={self.train}, n={len(self)})"


def extract(archive, member_folder, names, dest):
    """Copy ``member_folder/name`` for each of ``names`` out of the tar ``archive`` into ``dest``, atomically.

    Only those regular files are read, and each is written under its bare name,
    so no path inside the archive can place a file elsewhere.
    """
    os.makedirs(dest, exist_ok=True)
    wanted = {f"{member_folder}/{name}": name for name in names}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    _write_atomic(os.path.join(dest, wanted.pop(member.name)), tar.extractfile(member).read())
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"{archive}: corrupt or truncated archive ({error})") from None
    if wanted:
        raise ValueError(f"{archive}: archive lacks {', '.join(sorted(wanted))}")


def _write_atomic(path, raw):
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".extract-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(raw)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
