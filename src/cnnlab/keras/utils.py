"""``keras.utils``: seeding, one-hot labels and the name counters."""
import random

import numpy

from .. import random as _random
from ._names import clear_names, suggesting_getattr


def set_random_seed(seed):
    """Seed Python's, NumPy's and cnnlab's generators (initialisers, dropout, shuffling), as Keras does."""
    random.seed(seed)
    numpy.random.seed(seed)
    _random.manual_seed(seed)


def to_categorical(x, num_classes=None):
    """One-hot rows for integer labels: ``to_categorical([1, 0], 3)`` is ``[[0, 1, 0], [1, 0, 0]]`` (float32)."""
    labels = numpy.asarray(x, dtype=numpy.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    return numpy.eye(num_classes, dtype=numpy.float32)[labels]


def clear_session():
    """Restart Keras's automatic layer names (the next Conv2D is ``conv2d`` again)."""
    clear_names()


__getattr__ = suggesting_getattr(__name__, globals())
