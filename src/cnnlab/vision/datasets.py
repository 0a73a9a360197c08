"""torchvision's MNIST, FashionMNIST and CIFAR10: :mod:`cnnlab.data`'s datasets with torchvision's interface.

Where the files live, as in torchvision: MNIST's four IDX files in
``root/MNIST/raw/`` (``root/FashionMNIST/raw/`` for Fashion-MNIST), CIFAR-10's
batches in ``root/cifar-10-batches-py/``. ``ds[i]`` is ``(transform(image),
target)`` with the image a PIL image and the target an int; the attributes are
torchvision's (for MNIST: ``data`` a uint8 Tensor (N, 28, 28), ``targets`` an
int64 Tensor, and the old names ``train_data``, ``test_data``, ``train_labels``,
``test_labels``; for CIFAR10: ``data`` a uint8 array (N, 32, 32, 3) and
``targets`` a list of ints).

For the loader, ``gather(indices)`` builds a whole batch with one NumPy gather
when the transform has a batch form (see :func:`cnnlab.vision.transforms.is_batched`),
else sample by sample. Without a transform the batch holds the uint8 images,
which the loader scales to [0, 1] (torchvision's loader cannot batch PIL images).
"""
import os

import numpy as np

from .. import data as cnndata
from ..tensor import Tensor
from .transforms import is_batched


class VisionDataset(cnndata.Dataset):
    """A :mod:`cnnlab.data` image dataset (``source``) seen through torchvision's interface."""

    def __init__(self, root, source, transform=None, target_transform=None):
        self.root, self.source = root, source
        self.transform, self.target_transform = transform, target_transform
        self.train = source.train
        self.classes = list(source.classes)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __len__(self):
        return len(self.source)

    def image(self, index):
        """Sample ``index`` as a PIL image (grey for one channel, RGB for three)."""
        from PIL import Image

        array = self.source.data[index]
        return Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))

    def __getitem__(self, index):
        image, target = self.image(index), int(self.source.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def gather(self, indices):
        """The batch at ``indices``: one gather and the transform's batch form when it has one."""
        if self.transform is not None and not is_batched(self.transform):
            return super().gather(indices)
        images, targets = self.source.gather(indices)
        if self.transform is not None:
            images = self.transform.batch(images)
        if self.target_transform is not None:
            targets = np.stack([np.asarray(self.target_transform(int(t))) for t in targets])
        return images, targets

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append("    Transform: " + repr(self.transform).replace("\n", "\n    "))
        return "\n".join(lines)


class MNIST(VisionDataset):
    """``torchvision.datasets.MNIST(root, train=True, transform=None, target_transform=None, download=False)``.

    Reads (and, with ``download``, fetches) the IDX files in ``root/MNIST/raw/``
    through :class:`cnnlab.data.MNIST`.
    """

    source_class = cnndata.MNIST

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        folder = os.path.join(os.fspath(root), type(self).__name__, "raw")
        source = self.source_class(folder, train=train, download=download)
        super().__init__(root, source, transform, target_transform)
        self.data = Tensor(source.data[:, 0])
        self.targets = Tensor(source.targets)

    # torchvision's old names for data and targets, whichever the split.
    train_data = test_data = property(lambda self: self.data)
    train_labels = test_labels = property(lambda self: self.targets)


class FashionMNIST(MNIST):
    """``torchvision.datasets.FashionMNIST``: as :class:`MNIST`, files in ``root/FashionMNIST/raw/``."""

    source_class = cnndata.FashionMNIST


class CIFAR10(VisionDataset):
    """``torchvision.datasets.CIFAR10(root, train=True, transform=None, target_transform=None, download=False)``.

    Reads ``root/cifar-10-batches-py/`` through :class:`cnnlab.data.CIFAR10`.
    """

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        source = cnndata.CIFAR10(os.fspath(root), train=train, download=download)
        super().__init__(root, source, transform, target_transform)
        self.data = source.data.transpose(0, 2, 3, 1)
        self.targets = source.targets.tolist()
