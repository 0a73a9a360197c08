"""Build cnnlab's embedded MNIST sample from the original MNIST files.

Picks, with a fixed seed, the same number of images of every digit (600 per
class from the training set, 100 from the test set), keeps them in their
original order and writes them, uint8, with ``numpy.savez_compressed``.

    python scripts/make_mnist_sample.py --source DIR --out src/cnnlab/assets/mnist_sample.npz

DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or not).
"""
import argparse
import os

import numpy as np

from cnnlab.data.download import md5sum
from cnnlab.data.mnist import MNIST


def stratified_indices(labels, per_class, rng):
    """Sorted indices of ``per_class`` randomly chosen samples of each class in ``labels``."""
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(chosen))


def check_sources(source):
    """Warn about source files whose MD5 differs from the official one (plain files are not checked)."""
    for name, expected in MNIST.md5.items():
        path = os.path.join(source, name)
        if os.path.isfile(path) and md5sum(path) != expected:
            print(f"warning: {name} has MD5 {md5sum(path)}, not the official {expected}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder with the four original MNIST files")
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.add_argument("--train-per-class", type=int, default=600)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    check_sources(args.source)
    rng = np.random.default_rng(args.seed)
    arrays = {}
    for split, train, per_class in (("train", True, args.train_per_class), ("test", False, args.test_per_class)):
        full = MNIST(args.source, train=train)
        index = stratified_indices(full.targets, per_class, rng)
        arrays[f"{split}_images"] = full.data[index, 0]  # uint8 (N, 28, 28)
        arrays[f"{split}_labels"] = full.targets[index].astype(np.uint8)
        arrays[f"{split}_index"] = index.astype(np.int32)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes ({sizes})")


if __name__ == "__main__":
    main()
