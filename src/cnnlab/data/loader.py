"""DataLoader: batches of a dataset, shuffled reproducibly, transformed a whole batch at a time."""
import numpy as np

from ..distributed import split_evenly
from .dataset import gather
from .transforms import Transform, uint8_to_float


def epoch_generators(seed, epoch, shard=None):
    """Two independent generators for one epoch: ``(order, transforms)``, a pure function of ``(seed, epoch)``.

    Keeping them apart means adding or removing a random transform never changes
    the order in which samples are visited. With ``shard=(rank, ranks)`` and more
    than one rank, the transforms' generator is rank ``rank``'s own (a child of the
    single-process one), while the order stays the one every rank shares.
    """
    order_seq, transform_seq = np.random.SeedSequence([seed, epoch]).spawn(2)
    if shard is not None and shard[1] > 1:
        transform_seq = transform_seq.spawn(shard[0] + 1)[shard[0]]
    return np.random.default_rng(order_seq), np.random.default_rng(transform_seq)


def _input_array(x):
    if x.dtype == np.uint8:  # images: scaled to [0, 1] as ToFloat does
        return uint8_to_float(x)
    return x.astype(np.float32, copy=False)


def _target_array(y):
    if y.dtype.kind in "biu":
        return y.astype(np.int64, copy=False)
    return y.astype(np.float32, copy=False)


def _apply(transform, x, rng):
    if isinstance(transform, Transform):
        return transform(x, rng)
    return transform(x)


class _Cursor:
    """One epoch's iteration: its order, the transforms' generator, and the batches handed out so far."""

    def __init__(self, epoch, order, transform_rng, batch=0):
        self.epoch, self.order, self.transform_rng, self.batch = epoch, order, transform_rng, batch


class DataLoader:
    """Iterate over a dataset in batches of ``(Tensor(x), Tensor(y))``, as ``torch.utils.data.DataLoader``.

    Each batch is gathered with ``dataset.gather(indices)``: one fancy index per
    array for array-backed datasets (TensorDataset, MNIST, CIFAR10, ImageFolder,
    their Subsets), a stack of ``dataset[i]`` otherwise. ``transform`` then runs
    on the whole input batch ``x`` (N, C, H, W). Finally ``x`` becomes float32
    (uint8 images are scaled to [0, 1], as :class:`ToFloat` does) and integer
    targets int64 (float targets float32). Datasets of tuples give tuples of
    Tensors (``(x, y)``); datasets of single arrays give single Tensors.

    Epochs: every ``iter(loader)`` runs epoch ``loader.epoch`` and then advances
    the counter. The order and the transforms' random draws of epoch ``k`` depend
    only on ``(seed, k)``, so a run resumed with ``loader.set_epoch(k)`` sees
    exactly the batches an uninterrupted run sees at epoch ``k``. Between two
    batches, :meth:`state_dict` records where the epoch stands (its order, the
    batches handed out, the transforms' generator), and :meth:`load_state_dict`
    makes the next ``iter(loader)`` continue from there.

    Args:
        dataset: a :class:`Dataset` (or anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch.
        shuffle: visit samples in a new random order every epoch.
        drop_last: drop the last batch when it has fewer than ``batch_size`` samples.
        seed: int seeding shuffling and random transforms; None draws one from
            cnnlab's default generator (so ``cnnlab.manual_seed`` fixes it).
        transform: callable applied to each input batch; a :class:`Transform` is
            called as ``transform(x, rng)`` with the loader's per-epoch generator.

    ``len(loader)`` is the number of batches: ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last``.

    Data-parallel training: with ``shard=(rank, ranks)`` the loader visits the
    batches of a single process (same order, same ``len``) but hands out only
    share ``rank`` of each: ``ranks`` contiguous shares differing by at most one
    sample (the last batch's may be empty), transformed with the rank's own generator.

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    >>> for xb, yb in loader:           # xb: float32 Tensor (64, ...), yb: int64 Tensor (64,)
    ...     ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, transform=None, shard=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer; got batch_size={batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable or None; got {type(transform).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be None or a non-negative integer; got seed={seed!r}")
        if seed is None:
            from ..random import default_generator

            seed = int(default_generator().integers(2**63))
        if shard is not None and not (len(shard) == 2 and 0 <= shard[0] < shard[1]):
            raise ValueError(f"DataLoader: shard must be None or (rank, ranks) with 0 <= rank < ranks; got shard={shard!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shard = None if shard is None else (int(shard[0]), int(shard[1]))
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.transform = transform
        self.epoch = 0
        self._cursor = None  # the epoch being iterated
        self._resume = None  # where the next iter(loader) starts, from load_state_dict

    def set_epoch(self, epoch):
        """Make the next ``iter(loader)`` run epoch ``epoch`` (0-based)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative integer; got epoch={epoch!r}")
        self.epoch, self._resume = int(epoch), None

    def state_dict(self):
        """Where iteration stands between two batches, to continue from with :meth:`load_state_dict`.

        ``{'seed', 'batch_size', 'epoch', 'batch', 'order', 'transform_rng'}``: ``batch``
        counts the batches of epoch ``epoch`` handed out so far, ``order`` is that
        epoch's permutation of the dataset and ``transform_rng`` the state of the
        transforms' generator before batch ``batch``. Between epochs it is the
        start of the next one.
        """
        cursor = self._resume or self._cursor
        if cursor is None or cursor.batch >= len(self):
            cursor = self._start(self.epoch)
        return {"seed": self.seed, "batch_size": self.batch_size, "epoch": cursor.epoch, "batch": cursor.batch,
                "order": cursor.order, "transform_rng": cursor.transform_rng.bit_generator.state}

    def load_state_dict(self, state):
        """Make the next ``iter(loader)`` continue where :meth:`state_dict` was taken.

        The dataset must have as many samples as the order and the loader the same batch size.
        """
        where = "DataLoader.load_state_dict"
        order = np.asarray(state["order"])
        if len(order) != len(self.dataset):
            raise ValueError(f"{where}: the state orders {len(order)} samples but the dataset has {len(self.dataset)}")
        if state["batch_size"] != self.batch_size:
            raise ValueError(f"{where}: the state was taken with batch_size={state['batch_size']}, "
                             f"but this loader has batch_size={self.batch_size}")
        transform_rng = np.random.default_rng()
        transform_rng.bit_generator.state = state["transform_rng"]
        self.seed, self.epoch = state["seed"], state["epoch"]
        self._resume = _Cursor(state["epoch"], order, transform_rng, state["batch"])
        if state["batch"] >= len(self):  # the epoch was done: the next one follows
            self.epoch, self._resume = state["epoch"] + 1, None

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        cursor, self._resume = self._resume or self._start(self.epoch), None
        self._cursor, self.epoch = cursor, cursor.epoch + 1
        return self._batches(cursor)

    def _start(self, epoch):
        order_rng, transform_rng = epoch_generators(self.seed, epoch, self.shard)
        n = len(self.dataset)
        return _Cursor(epoch, order_rng.permutation(n) if self.shuffle else np.arange(n), transform_rng)

    def _batches(self, cursor):
        from ..tensor import Tensor

        while cursor.batch < len(self):
            start = cursor.batch * self.batch_size
            indices = cursor.order[start : start + self.batch_size]
            if self.shard is not None:
                first, stop = split_evenly(len(indices), self.shard[1], self.shard[0])
                indices = indices[first:stop]
            batch = gather(self.dataset, indices)
            single = not isinstance(batch, tuple)
            x, *targets = (batch,) if single else batch
            if self.transform is not None and len(indices):
                x = _apply(self.transform, x, cursor.transform_rng)
            x = Tensor(_input_array(np.asarray(x)))
            cursor.batch += 1
            yield x if single else (x, *(Tensor(_target_array(np.asarray(y))) for y in targets))

    def __repr__(self):
        extras = "".join(
            f", {k}={v!r}"
            for k, v, default in (
                ("shuffle", self.shuffle, False),
                ("drop_last", self.drop_last, False),
                ("transform", self.transform, None),
            )
            if v != default
        )
        return f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}{extras})"
