"""Datasets by name, as the command line names them: ``mnist-sample``, ``mnist``, ``cifar10``, ``folder:PATH``..."""
import os

DATASETS = {
    "mnist-sample": "6,000/1,000 images of real MNIST shipped with cnnlab: works offline",
    "mnist": "MNIST handwritten digits, 60,000/10,000 28x28 grayscale (IDX files in --data-dir)",
    "fashion-mnist": "Fashion-MNIST clothing, 60,000/10,000 28x28 grayscale (IDX files in --data-dir)",
    "cifar10": "CIFAR-10, 50,000/10,000 32x32 colour images (python version in --data-dir)",
    "folder:PATH": "your own images: PATH/CLASS/IMAGE, or PATH/train/CLASS/... and PATH/test/CLASS/...",
}


def load_dataset(name, train=True, root="data", download=False, size=None, mode=None):
    """The dataset called ``name`` (a key of :data:`DATASETS`), training or test split.

    ``folder:PATH`` reads an :class:`ImageFolder`; when PATH holds ``train/`` and
    ``test/`` folders they are the two splits, otherwise PATH serves both.
    ``size`` and ``mode`` ('L' or 'RGB') apply to folders of images.
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
        path = name[len("folder:"):]
        split = os.path.join(path, "train" if train else "test")
        if os.path.isdir(os.path.join(path, "train")) and os.path.isdir(split):
            path = split
        if not os.path.isdir(path):
            raise FileNotFoundError(f"dataset folder {path!r} does not exist")
        return ImageFolder(path, size=size, mode=mode or "RGB")
    import difflib

    near = difflib.get_close_matches(name, list(DATASETS), n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise ValueError(f"unknown dataset {name!r}{hint} (available: {', '.join(DATASETS)})")
