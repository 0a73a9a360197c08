"""Datasets by name, as the command line names them: ``mnist-sample``, ``mnist``, ``cifar10``, ``folder:PATH``..."""
import os

DATASETS = {
    "mnist-sample": "6,000/1,000 images of real MNIST shipped with cnnlab: works offline",
    "mnist": "MNIST handwritten digits, 60,000/10,000 28x28 grayscale (IDX files in --data-dir)",
    "fashion-mnist": "Fashion-MNIST clothing, 60,000/10,000 28x28 grayscale (IDX files in --data-dir)",
    "cifar10": "CIFAR-10, 50,000/10,000 32x32 colour images (python version in --data-dir)",
    "folder:PATH": "your own images: PATH/train/CLASS/IMAGE and PATH/test/CLASS/..., or PATH/CLASS/... (no test set)",
}


def load_dataset(name, train=True, root="data", download=False, size=None, mode=None):
    """The dataset called ``name`` (a key of :data:`DATASETS`), training or test split.

    ``folder:PATH`` reads an :class:`ImageFolder` from the folders that
    :func:`folder_splits` finds; without a test split, the one folder serves
    both (:func:`has_test_split` tells). ``size`` and ``mode`` ('L' or 'RGB')
    apply to folders of images.
    """
    from . import CIFAR10, MNIST, FashionMNIST, ImageFolder, MNISTSample

    if name == "mnist-sample":
        return MNISTSample(train=train)
    if name == "mnist":
        return MNIST(root, train=train, download=download)
    if name == "fashion-mnist":
        return FashionMNIST(root, train=train, download=download)
    if name == "cifar10":
        return CIFAR10(root, train=train, download=download)
    if name.startswith("folder:"):
        train_folder, test_folder = folder_splits(name[len("folder:"):])
        return ImageFolder(train_folder if train or test_folder is None else test_folder, size=size,
                           mode=mode or "RGB")
    import difflib

    near = difflib.get_close_matches(name, list(DATASETS), n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise ValueError(f"unknown dataset {name!r}{hint} (available: {', '.join(DATASETS)})")


def has_test_split(name):
    """False for a ``folder:PATH`` without ``PATH/test/``, whose "test" images are its training images."""
    return not name.startswith("folder:") or folder_splits(name[len("folder:"):])[1] is not None


def folder_splits(path):
    """``(train folder, test folder or None)`` of the images at ``path``, each a folder of class folders.

    ``PATH/train/`` and ``PATH/test/`` are the two splits and must hold the same
    classes; ``PATH/train/`` alone is the training split, with no test split;
    ``PATH/CLASS/`` folders are one set of images, with no test split. A
    classifier needs two classes at least.

    >>> folder_splits("pets")          # pets/train/{cat,dog}/..., pets/test/{cat,dog}/...
    ('pets/train', 'pets/test')
    """
    from .folder import find_classes

    if not os.path.isdir(path):
        raise FileNotFoundError(f"dataset folder {path!r} does not exist")
    train, test = (os.path.join(path, split) for split in ("train", "test"))
    if not os.path.isdir(train):
        if os.path.isdir(test):
            raise ValueError(f"dataset folder {path!r} has test/ but no train/ folder; put the training images "
                             f"in {os.path.join(path, 'train', 'CLASS')}")
        train = path
    classes = find_classes(train)
    if len(classes) < 2:
        raise ValueError(f"dataset folder {train!r} must hold two class folders or more (a classifier needs two), "
                         f"got {classes}")
    if not os.path.isdir(test):
        return train, None
    _check_same_classes(path, classes, find_classes(test))
    return train, test


def _check_same_classes(path, train, test):
    """Refuse ``train/`` and ``test/`` class folders that differ: class indices would mean different classes."""
    if train == test:
        return
    lacking = {"test": sorted(set(train) - set(test)), "train": sorted(set(test) - set(train))}
    detail = "; ".join(f"missing in {split}/: {names}" for split, names in lacking.items() if names)
    raise ValueError(f"dataset folder {path!r}: train/ and test/ must hold the same class folders; {detail}")
