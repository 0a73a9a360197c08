"""Datasets: indexable collections of samples, and the batch gather the loader calls.

A dataset answers ``len(ds)`` and ``ds[i]`` (one sample, usually ``(x, y)``).
Array-backed datasets also answer ``ds.gather(indices)`` with ONE fancy-index
per array, so a batch costs one NumPy gather instead of a Python loop over
samples; a :class:`Subset` of one composes its indices and stays array-backed.
Generic datasets inherit a ``gather`` that indexes sample by sample and stacks.
"""
import numpy as np


def collate(samples):
    """Stack a list of samples into a batch: tuples position by position, arrays along a new axis 0.

    >>> collate([(np.zeros(3), 1), (np.ones(3), 0)])[0].shape
    (2, 3)
    """
    if isinstance(samples[0], (tuple, list)):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))
    return np.stack([np.asarray(s) for s in samples])


def gather(dataset, indices):
    """The batch of ``dataset`` at ``indices`` (int array): ``dataset.gather`` if it has one, else stack samples."""
    if isinstance(dataset, Dataset):
        return dataset.gather(indices)
    return collate([dataset[int(i)] for i in indices]) if len(indices) else _empty(dataset)


def _empty(dataset):
    """A batch of no samples, shaped as the first sample (a data-parallel rank's share can be empty)."""
    batch = collate([dataset[0]])
    return tuple(a[:0] for a in batch) if isinstance(batch, tuple) else batch[:0]


class Dataset:
    """Base class: subclasses implement ``__getitem__(i)`` and ``__len__()``.

    ``gather(indices)`` returns a whole batch; this default builds it sample by
    sample, and array-backed subclasses override it with one fancy index.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 10
    ...     def __getitem__(self, i): return np.float32(i), i * i
    >>> Squares().gather(np.array([2, 3]))[1]
    array([4, 9])
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def gather(self, indices):
        """The batch at ``indices`` (1-D int array), as stacked arrays."""
        return collate([self[int(i)] for i in indices]) if len(indices) else _empty(self)


def _as_arrays(arrays, owner):
    arrays = tuple(np.asarray(a) for a in arrays)
    if not arrays:
        raise ValueError(f"{owner}: needs at least one array; got none")
    for k, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"{owner}: every array needs a first (sample) dimension; array {k} is a scalar")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"{owner}: all arrays must have the same first dimension (number of samples); "
            f"got lengths {', '.join(map(str, lengths))}"
        )
    return arrays


class TensorDataset(Dataset):
    """Samples are the rows of arrays sharing their first dimension, as in PyTorch.

    Args:
        *arrays: NumPy arrays or Tensors, each of shape (N, ...).

    >>> ds = TensorDataset(np.zeros((100, 1, 28, 28)), np.arange(100))
    >>> len(ds), ds[3][1]
    (100, 3)
    """

    def __init__(self, *arrays):
        self.arrays = _as_arrays(arrays, "TensorDataset")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def gather(self, indices):
        """One fancy index per array."""
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"TensorDataset({shapes})"


class ImageDataset(Dataset):
    """Labelled images held in memory: the common shape of MNIST, CIFAR-10 and ImageFolder.

    Attributes:
        data: uint8 array (N, C, H, W).
        targets: int64 array (N,), class indices into ``classes``.
        classes: list of N_classes class names.

    ``ds[i]`` is ``(data[i], targets[i])``; ``gather(idx)`` is
    ``(data[idx], targets[idx])``, one fancy index each.
    """

    def __init__(self, data, targets, classes):
        self.data, self.targets = _as_arrays((data, targets), type(self).__name__)
        self.classes = list(classes)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index], self.targets[index]

    def gather(self, indices):
        """One fancy index per array."""
        return self.data[indices], self.targets[indices]

    def __repr__(self):
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.data.shape[1:]}, classes={len(self.classes)})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``; gathers through the parent's ``gather``.

    Args:
        dataset: any dataset.
        indices: int sequence (M,) of positions in ``dataset``.

    >>> Subset(TensorDataset(np.arange(10)), [7, 2])[0]
    (7,)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def gather(self, indices):
        """The parent's batch at ``self.indices[indices]``: still one gather for array datasets."""
        return gather(self.dataset, self.indices[indices])

    @property
    def classes(self):
        """The parent's class names."""
        return self.dataset.classes

    def __repr__(self):
        return f"Subset(n={len(self)}, of={type(self.dataset).__name__})"


def _split_lengths(n, lengths):
    lengths = list(lengths)
    if not lengths or any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be a non-empty list of non-negative numbers; got {lengths}")
    total = sum(lengths)
    if abs(total - 1) <= 1e-6 and total <= 1 + 1e-6:  # fractions, the rule torch uses
        counts = [int(np.floor(n * f)) for f in lengths]
        for k in range(n - sum(counts)):  # the remainder, round-robin from the first
            counts[k % len(counts)] += 1
        return counts
    if not all(float(x).is_integer() for x in lengths):
        raise ValueError(
            f"random_split: lengths must be integers summing to {n} or fractions summing to 1; "
            f"got {lengths} (sum {total:g})"
        )
    counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(
            f"random_split: lengths must sum to the dataset's length ({n}) or be fractions summing to 1; "
            f"got {lengths} (sum {sum(counts)})"
        )
    return counts


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s, as ``torch.utils.data.random_split``.

    Args:
        dataset: any dataset of length N.
        lengths: ints summing to N, or fractions summing to 1 (floor of
            ``N * f`` each, the remainder handed out one by one from the first).
        seed: int for a reproducible split; None draws from cnnlab's default generator.

    >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    counts = _split_lengths(len(dataset), lengths)
    if seed is None:
        from ..random import default_generator

        rng = default_generator()
    else:
        rng = np.random.default_rng(seed)
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
