"""Data: datasets, a batch loader and batch-wise transforms, with PyTorch's names.

Array-backed datasets (TensorDataset, MNIST, FashionMNIST, CIFAR10, ImageFolder,
MNISTSample and their Subsets) hand the loader whole batches with one NumPy
gather; transforms work on whole (N, C, H, W) batches.

>>> from cnnlab.data import DataLoader, MNISTSample, Compose, ToFloat, Normalize
>>> loader = DataLoader(MNISTSample(train=True), batch_size=64, shuffle=True, seed=0,
...                     transform=Compose([ToFloat(), Normalize(0.1307, 0.3081)]))
>>> x, y = next(iter(loader))        # float32 (64, 1, 28, 28), int64 (64,)
"""
from .cifar import CIFAR10
from .dataset import Dataset, ImageDataset, Subset, TensorDataset, collate, random_split
from .download import DatasetNotFoundError, DownloadError, download_url
from .folder import ImageFolder
from .idx import read_idx, write_idx
from .loader import DataLoader
from .mnist import MNIST, FashionMNIST
from .sample import MNISTSample
from .transforms import (
    Compose,
    Normalize,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    ToFloat,
    Transform,
    rotate_translate,
)
from .unpickle import UnsafePickleError

__all__ = [
    "CIFAR10", "Compose", "DataLoader", "Dataset", "DatasetNotFoundError", "DownloadError", "FashionMNIST",
    "ImageDataset", "ImageFolder", "MNIST", "MNISTSample", "Normalize", "RandomAffine", "RandomCrop",
    "RandomHorizontalFlip", "RandomShift", "Subset", "TensorDataset", "ToFloat", "Transform", "UnsafePickleError",
    "collate", "download_url", "random_split", "read_idx", "rotate_translate", "write_idx",
]  # fmt: skip
