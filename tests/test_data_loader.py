"""DataLoader, TensorDataset, Subset and random_split: order, seeds, epochs, batch gathers, errors."""
import numpy as np
import pytest

from cnnlab import Tensor
from cnnlab.data import DataLoader, Dataset, Subset, TensorDataset, ToFloat, random_split
from cnnlab.data.transforms import RandomHorizontalFlip


def make_data(n=10):
    x = np.arange(n * 2 * 3 * 3, dtype=np.float64).reshape(n, 2, 3, 3)
    y = np.arange(n) % 3
    return x, y


def labels_of(loader):
    return [yb.array.tolist() for _, yb in loader]


class Squares(Dataset):
    """A generic dataset: no gather of its own, so the loader stacks samples."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full((1, 2, 2), i, np.uint8), i * i


def test_batches_are_tensors_of_float32_and_int64_in_order():
    x, y = make_data()
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [len(b[1].array) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.array.dtype == np.float32 and yb.array.dtype == np.int64
    np.testing.assert_array_equal(xb.array, x[:4].astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1].array for b in batches]), y)


def test_len_counts_batches_with_and_without_drop_last():
    x, y = make_data(10)
    assert len(DataLoader(TensorDataset(x, y), batch_size=4)) == 3
    assert len(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(TensorDataset(x, y), batch_size=5, drop_last=True)) == 2
    dropped = list(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True))
    assert len(dropped) == 2 and all(len(b[1].array) == 4 for b in dropped)


def test_same_seed_same_order_and_each_epoch_reshuffles():
    x, y = make_data(50)
    ds = TensorDataset(x, np.arange(50))
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
    epochs_a = [labels_of(a) for _ in range(3)]
    epochs_b = [labels_of(b) for _ in range(3)]
    assert epochs_a == epochs_b
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    assert sorted(sum(epochs_a[1], [])) == list(range(50))
    assert labels_of(DataLoader(ds, batch_size=8, shuffle=True, seed=4)) != epochs_a[0]


def test_resumed_loader_sees_the_same_epoch_as_an_uninterrupted_run():
    x, _ = make_data(20)
    ds = TensorDataset(x, np.arange(20))
    flip = RandomHorizontalFlip(0.5)
    full = DataLoader(ds, batch_size=6, shuffle=True, seed=11, transform=flip)
    runs = [[(xb.array.copy(), yb.array.copy()) for xb, yb in full] for _ in range(3)]
    resumed = DataLoader(ds, batch_size=6, shuffle=True, seed=11, transform=flip)
    resumed.set_epoch(2)
    assert resumed.epoch == 2
    for (xa, ya), (xb, yb) in zip(runs[2], resumed):
        np.testing.assert_array_equal(ya, yb.array)
        np.testing.assert_array_equal(xa, xb.array)
    assert resumed.epoch == 3


def test_unseeded_loader_follows_cnnlab_manual_seed():
    import cnnlab

    ds = TensorDataset(np.zeros((30, 1)), np.arange(30))
    cnnlab.manual_seed(5)
    first = labels_of(DataLoader(ds, batch_size=30, shuffle=True))
    cnnlab.manual_seed(5)
    assert labels_of(DataLoader(ds, batch_size=30, shuffle=True)) == first


def test_batch_gather_equals_per_sample_indexing():
    x, y = make_data(13)
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=0)
    for xb, yb in loader:
        for row, label in zip(xb.array, yb.array):
            matches = [i for i in range(len(ds)) if np.array_equal(ds[i][0], row)]
            assert len(matches) == 1 and ds[matches[0]][1] == label


def test_generic_dataset_falls_back_to_stacking_samples():
    batches = list(DataLoader(Squares(), batch_size=3))
    assert [b[0].array.shape for b in batches] == [(3, 1, 2, 2), (3, 1, 2, 2), (1, 1, 2, 2)]
    np.testing.assert_allclose(batches[1][0].array[:, 0, 0, 0], np.array([3, 4, 5]) / 255)  # uint8 -> [0, 1]
    np.testing.assert_array_equal(batches[1][1].array, [9, 16, 25])
    assert batches[1][1].array.dtype == np.int64


def test_uint8_inputs_are_scaled_like_tofloat_and_float_targets_stay_float():
    x = np.array([[0, 51, 255]], np.uint8)
    ds = TensorDataset(x, np.array([[0.5, 1.5]]))
    xb, yb = next(iter(DataLoader(ds)))
    np.testing.assert_allclose(xb.array, [[0, 0.2, 1]], rtol=1e-6)
    assert yb.array.dtype == np.float32


def test_single_array_dataset_yields_single_tensors_and_tuples_otherwise():
    class Plain(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.array([i, i], np.float32)

    xb = next(iter(DataLoader(Plain(), batch_size=4)))
    assert isinstance(xb, Tensor) and xb.array.shape == (4, 2)
    (only,) = next(iter(DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=2)))
    assert only.array.shape == (2, 2)


def test_transform_runs_on_whole_batches():
    seen = []

    def record(batch):
        seen.append(batch.shape)
        return batch

    x, y = make_data(10)
    list(DataLoader(TensorDataset(x.astype(np.uint8), y), batch_size=4, transform=record))
    assert seen == [(4, 2, 3, 3), (4, 2, 3, 3), (2, 2, 3, 3)]
    xb, _ = next(iter(DataLoader(TensorDataset(x.astype(np.uint8), y), batch_size=2, transform=ToFloat())))
    assert xb.array.dtype == np.float32


def test_tensordataset_accepts_tensors_and_rejects_mismatched_lengths():
    ds = TensorDataset(Tensor(np.zeros((4, 2), np.float32)), Tensor(np.arange(4)))
    assert len(ds) == 4 and ds[2][1] == 2
    with pytest.raises(
        ValueError,
        match=r"TensorDataset: all arrays must have the same first dimension .*got lengths 4, 3",
    ):
        TensorDataset(np.zeros((4, 2)), np.arange(3))
    with pytest.raises(ValueError, match="TensorDataset: needs at least one array; got none"):
        TensorDataset()
    with pytest.raises(ValueError, match="TensorDataset: every array needs a first .* array 1 is a scalar"):
        TensorDataset(np.zeros(3), np.float32(1))


def test_loader_argument_errors():
    ds = TensorDataset(np.zeros((4, 1)), np.arange(4))
    with pytest.raises(ValueError, match=r"DataLoader: batch_size must be a positive integer; got batch_size=0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer; got batch_size=2.5"):
        DataLoader(ds, batch_size=2.5)
    with pytest.raises(ValueError, match=r"DataLoader: seed must be None or a non-negative integer; got seed=-3"):
        DataLoader(ds, seed=-3)
    with pytest.raises(TypeError, match="DataLoader: transform must be callable or None; got int"):
        DataLoader(ds, transform=3)
    with pytest.raises(ValueError, match=r"DataLoader.set_epoch: epoch must be a non-negative integer; got epoch=-1"):
        DataLoader(ds).set_epoch(-1)


def test_subset_of_array_dataset_gathers_with_one_index():
    calls = []

    class Counting(TensorDataset):
        def gather(self, indices):
            calls.append(np.array(indices))
            return super().gather(indices)

        def __getitem__(self, i):
            raise AssertionError("per-sample indexing on the hot path")

    x, y = make_data(10)
    inner = Subset(Counting(x, y), [9, 8, 7, 6, 5, 4])
    sub = Subset(inner, [5, 0, 2])
    xb, yb = next(iter(DataLoader(sub, batch_size=3)))
    np.testing.assert_array_equal(calls[-1], [4, 9, 7])
    np.testing.assert_array_equal(yb.array, y[[4, 9, 7]])
    np.testing.assert_array_equal(xb.array, x[[4, 9, 7]].astype(np.float32))


def test_random_split_with_counts_and_fractions():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    assert sorted(np.concatenate([a.indices, b.indices])) == list(range(10))
    again = random_split(ds, [7, 3], seed=0)
    np.testing.assert_array_equal(again[0].indices, a.indices)
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in parts] == [5, 3, 2]
    assert [len(p) for p in random_split(TensorDataset(np.arange(11)), [0.5, 0.5], seed=0)] == [6, 5]
    assert a[0] == ds[int(a.indices[0])]


def test_random_split_errors():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(
        ValueError,
        match=r"random_split: lengths must sum to the dataset's length \(10\) .*got \[5, 4\] \(sum 9\)",
    ):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match=r"random_split: lengths must be integers summing to 10 .*got \[0.5, 0.7\]"):
        random_split(ds, [0.5, 0.7])
    with pytest.raises(ValueError, match=r"lengths must be a non-empty list of non-negative numbers; got \[12, -2\]"):
        random_split(ds, [12, -2])
