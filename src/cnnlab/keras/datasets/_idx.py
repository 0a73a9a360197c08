"""Keras's ``load_data()`` arrays from cnnlab's IDX datasets (read from a folder, downloaded when missing)."""
import os

import numpy

#: The folder under which each dataset gets its own subfolder (``data/mnist``...) unless ``path`` is given.
DATA_DIR_VARIABLE = "CNNLAB_DATA_DIR"


def data_folder(path, subfolder):
    """``path`` itself, or ``$CNNLAB_DATA_DIR/subfolder`` (``data/subfolder`` when the variable is unset)."""
    if path is not None:
        return os.fspath(path)
    return os.path.join(os.environ.get(DATA_DIR_VARIABLE) or "data", subfolder)


def load(dataset_class, path, subfolder):
    """``((x_train, y_train), (x_test, y_test))``: uint8 images ``(N, 28, 28)`` and uint8 labels ``(N,)``.

    ``path`` may be a folder of the four IDX files (gzipped or not; missing ones
    are downloaded into it) or a Keras ``.npz`` file with ``x_train``, ``y_train``,
    ``x_test`` and ``y_test``.
    """
    if path is not None and os.fspath(path).endswith(".npz"):
        with numpy.load(path, allow_pickle=False) as arrays:
            return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    folder = data_folder(path, subfolder)
    splits = [dataset_class(folder, train=train, download=True) for train in (True, False)]
    return tuple((split.data[:, 0], split.targets.astype(numpy.uint8)) for split in splits)
