"""Tensor constructors, as in PyTorch: zeros, ones, randn, rand, randint, arange, *_like; dtype names and tensor types.

New tensors are created on the host, as NumPy arrays; ``*_like`` follow their argument's array module.
Sizes are given either way PyTorch takes them: ``zeros(2, 3)`` or ``zeros((2, 3))``.
"""
import numpy

from . import arguments
from .backend import default_float, get_array_module
from .random import default_generator
from .tensor import Tensor

#: PyTorch's dtype names, as NumPy dtypes (``cnnlab.float32``, ``cnnlab.long``, ...).
DTYPES = {
    "float16": numpy.dtype(numpy.float16), "half": numpy.dtype(numpy.float16),
    "float32": numpy.dtype(numpy.float32), "float": numpy.dtype(numpy.float32),
    "float64": numpy.dtype(numpy.float64), "double": numpy.dtype(numpy.float64),
    "uint8": numpy.dtype(numpy.uint8), "int8": numpy.dtype(numpy.int8),
    "int16": numpy.dtype(numpy.int16), "short": numpy.dtype(numpy.int16),
    "int32": numpy.dtype(numpy.int32), "int": numpy.dtype(numpy.int32),
    "int64": numpy.dtype(numpy.int64), "long": numpy.dtype(numpy.int64),
    "bool": numpy.dtype(numpy.bool_),
}  # fmt: skip


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def zeros(*size, dtype=default_float, requires_grad=False):
    return Tensor(numpy.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=default_float, requires_grad=False):
    return Tensor(numpy.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def full(size, fill_value, dtype=default_float, requires_grad=False):
    return Tensor(numpy.full(_shape((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, requires_grad=False):
    return Tensor(get_array_module(t.array).zeros_like(t.array), requires_grad=requires_grad)


def ones_like(t, requires_grad=False):
    return Tensor(get_array_module(t.array).ones_like(t.array), requires_grad=requires_grad)


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


def randint(*args, size=None, dtype=numpy.int64, generator=None):
    """Integers drawn uniformly from ``[low, high)``, int64 by default, as ``torch.randint``.

    Called as ``randint(high, size)`` or ``randint(low, high, size)`` (``size`` may
    also be a keyword); draws from ``generator`` (the default one, which
    ``cnnlab.manual_seed`` seeds, if None).

    >>> randint(0, 10, (2, 3)).shape
    (2, 3)
    """
    if size is None and args:
        *args, size = args
    if len(args) not in (1, 2) or size is None:
        raise TypeError(f"randint: expects (high, size) or (low, high, size), got {len(args) + (size is not None)} "
                        f"arguments: {(*args, size)!r}")
    low, high = (0, args[0]) if len(args) == 1 else args
    low, high = arguments.integer("randint", "low", low), arguments.integer("randint", "high", high)
    if high <= low:
        raise arguments.refuse(ValueError, "randint", "high", f"greater than low={low}", high)
    size = (size,) if arguments.is_int(size) else tuple(size)
    generator = generator or default_generator()
    return Tensor(generator.integers(low, high, size).astype(dtype))


class TensorType(type):
    """The metaclass of :class:`FloatTensor` and its kin: ``isinstance(t, FloatTensor)`` checks the dtype."""

    def __instancecheck__(cls, value):
        return isinstance(value, Tensor) and value.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'cnnlab.{cls.__name__}'>"


class _TypedTensor(metaclass=TensorType):
    """``Kind(data)`` or ``Kind(*sizes)``: a Tensor of this dtype, as ``torch.FloatTensor([1, 2])``.

    ``Kind(2, 3)`` gives zeros of shape (2, 3) (PyTorch leaves the memory uninitialised).
    """

    dtype = None

    def __new__(cls, *args):
        if not args:
            return zeros(0, dtype=cls.dtype)
        if all(arguments.is_int(a) for a in args):
            return zeros(*args, dtype=cls.dtype)
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}: expects one sequence or array, or sizes as ints, got {args!r}")
        return Tensor(args[0], dtype=cls.dtype)


class FloatTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.float32)


class DoubleTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.float64)


class HalfTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.float16)


class ByteTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.uint8)


class CharTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.int8)


class ShortTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.int16)


class IntTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.int32)


class LongTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.int64)


class BoolTensor(_TypedTensor):
    dtype = numpy.dtype(numpy.bool_)


TENSOR_TYPES = {t.__name__: t for t in (FloatTensor, DoubleTensor, HalfTensor, ByteTensor, CharTensor,
                                        ShortTensor, IntTensor, LongTensor, BoolTensor)}


def tensor_type_name(dtype):
    """The PyTorch-style type string of ``dtype``: ``'cnnlab.FloatTensor'`` for float32."""
    for name, kind in TENSOR_TYPES.items():
        if kind.dtype == dtype:
            return f"cnnlab.{name}"
    raise TypeError(f"type: no tensor type holds dtype {dtype}")


def type_dtype(kind):
    """The dtype a ``Tensor.type(kind)`` call asks for: a tensor type, its name (``'torch.FloatTensor'``) or a dtype."""
    if isinstance(kind, TensorType):
        return kind.dtype
    if isinstance(kind, str):
        module, _, name = kind.rpartition(".")
        if module in ("torch", "cnnlab") and name in TENSOR_TYPES:
            return TENSOR_TYPES[name].dtype
        raise arguments.refuse(ValueError, "type", "dtype", f"one of {', '.join('cnnlab.' + n for n in TENSOR_TYPES)}",
                               repr(kind))
    try:
        return numpy.dtype(kind)
    except TypeError:
        raise arguments.refuse(TypeError, "type", "dtype", "a tensor type such as cnnlab.FloatTensor, its name, "
                               "or a dtype such as cnnlab.float32", repr(kind)) from None
