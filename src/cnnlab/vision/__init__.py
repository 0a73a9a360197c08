"""torchvision's names for datasets and transforms, over :mod:`cnnlab.data` (``import cnnlab.vision as torchvision``).

Datasets give one sample at a time as torchvision's do (a PIL image through
``transform``), and whole batches to the :class:`~cnnlab.data.DataLoader` with
one gather when their transform works on batches (:class:`transforms.ToTensor`,
:class:`transforms.Normalize` and a :class:`transforms.Compose` of them).

>>> import cnnlab.vision as torchvision
>>> train = torchvision.datasets.MNIST(root="./mnist/", train=True,
...                                    transform=torchvision.transforms.ToTensor(), download=True)
"""
from . import datasets, transforms  # noqa: F401
