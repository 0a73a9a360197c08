"""The one module that owns the array library.

Every op reaches arrays through ``xp`` (NumPy today). A GPU array module with
NumPy's interface (CuPy) can be plugged in here later without touching the ops:
``get_array_module`` picks the module an array belongs to, as Chainer does.
"""
import numpy

xp = numpy

#: dtype of new floating-point tensors, as in PyTorch.
default_float = numpy.float32

_FLOATS = (numpy.float32, numpy.float64)


def get_array_module(*arrays):
    """The array module (``numpy`` now) that owns ``arrays``."""
    return xp


def is_float(array):
    """True for float32 and float64 arrays, the dtypes that carry gradients."""
    return array.dtype in _FLOATS
