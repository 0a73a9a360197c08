"""MNIST digits as ``keras.datasets.mnist.load_data()`` returns them."""
from ...data.mnist import MNIST
from ._idx import load


def load_data(path=None):
    """``((x_train, y_train), (x_test, y_test))``: 60,000 and 10,000 uint8 images ``(N, 28, 28)``, uint8 labels.

    Args:
        path: a folder holding MNIST's four IDX files (fetched into it when
            missing), or a Keras ``mnist.npz``; by default ``$CNNLAB_DATA_DIR/mnist``,
            ``data/mnist`` when that variable is unset.

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_train.dtype, y_train[:3]
    ((60000, 28, 28), dtype('uint8'), array([5, 0, 4], dtype=uint8))
    """
    return load(MNIST, path, "mnist")
