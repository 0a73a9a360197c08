"""MNIST and Fashion-MNIST from their original IDX files.

MNIST: handwritten digits, Y. LeCun, C. Cortes and C. J. C. Burges.
Fashion-MNIST: Zalando article images, H. Xiao, K. Rasul and R. Vollgraf (2017), MIT licence.
Both: 60,000 training and 10,000 test images, 28x28 grey, 10 classes.
"""
import os

from .dataset import ImageDataset
from .download import download_url
from .download import not_found
from .idx import read_idx


class MNIST(ImageDataset):
    """The MNIST digits, read from the four IDX files in ``root`` (each gzipped or not).

    Args:
        root: folder holding ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
            ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (or the
            same names without ``.gz``).
        train: the 60,000 training images if True, else the 10,000 test images.
        download: fetch the split's missing files from ``mirrors`` (tried in order),
            checking each against ``md5``.

    Attributes:
        data: uint8 (N, 1, 28, 28). targets: int64 (N,). classes: 10 names.

    ``mirrors`` and ``md5`` are class attributes, so a subclass (or a test) can
    point them elsewhere. Fashion-MNIST uses the same file names: give each
    dataset its own folder.

    >>> train = MNIST("data/mnist", train=True, download=True)
    >>> train.data.shape, train.targets[:3]
    ((60000, 1, 28, 28), array([5, 0, 4]))
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    md5 = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # fmt: skip
    splits = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}  # fmt: skip

    def __init__(self, root, train=True, download=False):
        self.root, self.train = os.fspath(root), bool(train)
        images_path, labels_path = self._files(download)
        images, labels = read_idx(images_path), read_idx(labels_path)
        _check(images, labels, images_path, labels_path, len(self.classes))
        super().__init__(images[:, None], labels.astype("int64"), self.classes)

    def _files(self, download):
        """Paths of the split's image and label files, downloading missing ones if asked."""
        paths, missing = [], []
        for stem in self.splits[self.train]:
            found = [p for p in (stem + ".gz", stem) if os.path.isfile(os.path.join(self.root, p))]
            paths.append(os.path.join(self.root, found[0] if found else stem + ".gz"))
            if not found:
                missing.append(stem + ".gz")
        if missing and not download:
            raise not_found(type(self).__name__, self.root, missing, " (gzipped or not)")
        for name in missing:
            download_url([mirror + name for mirror in self.mirrors], os.path.join(self.root, name), self.md5.get(name))
        return paths

    def __repr__(self):
        return f"{type(self).__name__}(train={self.train}, n={len(self)})"


def _check(images, labels, images_path, labels_path, num_classes):
    if images.ndim != 3 or images.dtype != "uint8":
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (N, rows, cols); "
            f"got a {images.dtype} array of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != "uint8":
        raise ValueError(
            f"{labels_path}: expected uint8 labels of shape (N,); "
            f"got a {labels.dtype} array of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"image/label count mismatch: {images_path} has {len(images)} images "
            f"but {labels_path} has {len(labels)} labels"
        )
    if len(labels) and labels.max() >= num_classes:
        raise ValueError(f"{labels_path}: labels must be in 0..{num_classes - 1}; got {labels.max()}")


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same IDX files and interface as :class:`MNIST`, with Zalando's images.

    >>> test = FashionMNIST("data/fashion-mnist", train=False, download=True)
    >>> test.classes[test.targets[0]]
    'Ankle boot'
    """

    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    md5 = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
