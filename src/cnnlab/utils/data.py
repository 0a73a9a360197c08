"""``torch.utils.data``'s names over :mod:`cnnlab.data`: DataLoader, Dataset, TensorDataset, Subset, random_split.

>>> import cnnlab.utils.data as data
>>> loader = data.DataLoader(dataset=train_data, batch_size=50, shuffle=True)
"""
from .. import arguments
from ..data import Dataset, Subset, TensorDataset, random_split  # noqa: F401 - re-exported
from ..data import DataLoader as _DataLoader


class DataLoader(_DataLoader):
    """:class:`cnnlab.data.DataLoader`, also accepting PyTorch's ``num_workers`` and ``pin_memory``.

    Batches are gathered in this process (one NumPy gather per batch for
    array-backed datasets), so ``num_workers`` and ``pin_memory`` change nothing
    in what the loader yields; they are checked and kept so that PyTorch code
    runs unchanged. Shuffled orders come from cnnlab's seeded generator
    (``cnnlab.manual_seed``), not from PyTorch's.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, transform=None, *,
                 num_workers=0, pin_memory=False):
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
                         transform=transform)
        self.num_workers = arguments.integer("DataLoader", "num_workers", num_workers, minimum=0)
        self.pin_memory = bool(pin_memory)
