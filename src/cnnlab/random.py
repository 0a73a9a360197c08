"""The default random generator: parameter initialisation, dropout and shuffling draw from it.

``manual_seed(s)`` makes everything that uses the default reproducible, as
``torch.manual_seed`` does; functions that take a ``generator`` argument use that
``numpy.random.Generator`` instead.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the default generator; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator():
    """The generator used where none is given."""
    return _generator
