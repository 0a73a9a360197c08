"""Fashion-MNIST as ``keras.datasets.fashion_mnist.load_data()`` returns it."""
from ...data.mnist import FashionMNIST
from ._idx import load


def load_data(path=None):
    """``((x_train, y_train), (x_test, y_test))`` of Zalando's 28x28 clothing images, uint8, as MNIST's.

    ``path``: a folder of the IDX files (fetched when missing) or a ``.npz``; by
    default ``$CNNLAB_DATA_DIR/fashion-mnist`` (``data/fashion-mnist``).
    """
    return load(FashionMNIST, path, "fashion-mnist")
