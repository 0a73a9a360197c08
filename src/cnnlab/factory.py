"""Tensor constructors, as in PyTorch: zeros, ones, randn, rand, arange, *_like.

New tensors are created on the host, as NumPy arrays; ``*_like`` follow their argument's array module.
"""
import numpy

from .backend import default_float, get_array_module
from .random import default_generator
from .tensor import Tensor


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def zeros(*size, dtype=default_float, requires_grad=False):
    return Tensor(numpy.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=default_float, requires_grad=False):
    return Tensor(numpy.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def full(size, fill_value, dtype=default_float, requires_grad=False):
    return Tensor(numpy.full(_shape((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, requires_grad=False):
    return Tensor(get_array_module(t.data).zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t, requires_grad=False):
    return Tensor(get_array_module(t.data).ones_like(t.data), requires_grad=requires_grad)


def randn(*size, dtype=default_float, generator=None, requires_grad=False):
    """Standard normal samples from ``generator`` (the default one if None)."""
    generator = generator or default_generator()
    return Tensor(generator.standard_normal(_shape(size)).astype(dtype), requires_grad=requires_grad)


def rand(*size, dtype=default_float, generator=None, requires_grad=False):
    """Uniform samples in [0, 1) from ``generator`` (the default one if None)."""
    generator = generator or default_generator()
    return Tensor(generator.random(_shape(size)).astype(dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None):
    """Evenly spaced values in [start, end): int64 for integer arguments, else float32, as in PyTorch."""
    values = numpy.arange(start, end, step) if end is not None else numpy.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = default_float
    return Tensor(values, dtype=dtype)


def from_numpy(array):
    """A Tensor sharing ``array``'s memory."""
    return Tensor(array)
