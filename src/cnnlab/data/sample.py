"""A small sample of real MNIST shipped inside cnnlab, for examples and tests that must run offline.

Attribution: the MNIST database of handwritten digits, by Yann LeCun, Corinna
Cortes and Christopher J. C. Burges, distributed under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0). The sample is a stratified
subset: 6,000 training images (600 per digit) and 1,000 test images (100 per
digit) chosen with a fixed seed from the original files, stored unchanged as
uint8 in ``cnnlab/assets/mnist_sample.npz`` (built by ``scripts/make_mnist_sample.py``).
The ``*_index`` arrays give each image's position in the original files.
"""
import os

import numpy as np

from .dataset import ImageDataset
from .mnist import MNIST

SAMPLE_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "mnist_sample.npz")


class MNISTSample(ImageDataset):
    """The embedded MNIST sample: 6,000 training or 1,000 test digits, balanced over the 10 classes.

    Args:
        train: the training part if True, else the test part.

    Attributes:
        data: uint8 (N, 1, 28, 28). targets: int64 (N,). classes: as :class:`MNIST`.
        indices: int64 (N,), each image's index in the original MNIST split.

    >>> train = MNISTSample(train=True)
    >>> train.data.shape, np.bincount(train.targets)[:3]
    ((6000, 1, 28, 28), array([600, 600, 600]))
    """

    def __init__(self, train=True):
        self.train = bool(train)
        split = "train" if self.train else "test"
        with np.load(SAMPLE_PATH, allow_pickle=False) as archive:
            images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
            self.indices = archive[f"{split}_index"].astype(np.int64)
        super().__init__(images[:, None], labels.astype(np.int64), MNIST.classes)

    def __repr__(self):
        return f"MNISTSample(train={self.train}, n={len(self)})"
