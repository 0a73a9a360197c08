"""``keras.ops`` for convolution and pooling: Keras's layouts on cnnlab's engine.

Keras keeps images channels-last, ``(N, *spatial, C)``, and kernels as
``(*kernel_size, in_channels / groups, filters)``. These functions permute both
to cnnlab's channels-first layout with differentiable permutes, run
:mod:`cnnlab.functional`, and permute the result back, so gradients reach the
Keras-layout kernel.

>>> ops.conv(numpy.ones((1, 5, 5, 1), "float32"), numpy.ones((3, 3, 1, 2), "float32")).shape
(1, 3, 3, 2)
"""
import numpy

from .. import arguments, functional as F
from ..shapes import same_padding
from ..tensor import Tensor
from ._names import suggesting_getattr

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def convert_to_tensor(x, dtype=None):
    """``x`` as a cnnlab Tensor; float64 and integer arrays become float32 (Keras's floatx) unless ``dtype``."""
    if isinstance(x, Tensor):
        return x if dtype is None else x.astype(dtype)
    array = numpy.asarray(x)
    return Tensor(array.astype(dtype or "float32", copy=False))


def convert_to_numpy(x):
    """A NumPy array holding ``x``'s values."""
    return numpy.asarray(x.array if isinstance(x, Tensor) else x)


def data_format(where, value):
    """``None`` (Keras's default, ``'channels_last'``), ``'channels_last'`` or ``'channels_first'``."""
    if value is None:
        return "channels_last"
    return arguments.choice(where, "data_format", value.lower() if isinstance(value, str) else value,
                            ("channels_last", "channels_first"))


def to_channels_first(x, fmt):
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)`` when ``fmt`` is channels_last."""
    if fmt == "channels_first":
        return x
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def from_channels_first(x, fmt):
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)`` when ``fmt`` is channels_last."""
    if fmt == "channels_first":
        return x
    return x.permute(0, *range(2, x.ndim), 1)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-d convolution in Keras's layouts, as ``keras.ops.conv``.

    Args:
        inputs: ``(N, *spatial, C_in)`` (channels_last) or ``(N, C_in, *spatial)``, 1 to 3 spatial dims.
        kernel: ``(*kernel_size, C_in / groups, C_out)``; ``groups = C_in / kernel.shape[-2]``.
        strides, dilation_rate: int or one int per spatial dim.
        padding: ``'valid'`` (none) or ``'same'`` (``ceil(n / stride)`` outputs; the padding
            ``max((out - 1) * stride + dilation * (k - 1) + 1 - n, 0)`` is split with the
            extra row at the end, TensorFlow's rule, :func:`cnnlab.shapes.same_padding`).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Shape:
        ``out = floor((n - dilation * (k - 1) - 1) / stride) + 1`` for 'valid',
        ``ceil(n / stride)`` for 'same'.
    """
    inputs, kernel = convert_to_tensor(inputs), convert_to_tensor(kernel, dtype=None)
    return conv_with_bias("conv", inputs, kernel, None, strides, padding, data_format, dilation_rate)


def conv_with_bias(where, inputs, kernel, bias, strides, padding, fmt, dilation_rate):
    """:func:`conv` plus an optional bias, the work of Keras's Conv layers."""
    nd = kernel.ndim - 2
    if nd not in _CONV or inputs.ndim != nd + 2:
        raise ValueError(f"{where}: inputs must be {nd + 2}-D for a {kernel.ndim}-D kernel (1 to 3 spatial dims), "
                         f"got inputs of shape {inputs.shape} and kernel of shape {kernel.shape}")
    fmt = data_format(where, fmt)
    x = to_channels_first(inputs, fmt)
    groups = x.shape[1] // kernel.shape[-2] if kernel.shape[-2] else 0
    if groups < 1 or groups * kernel.shape[-2] != x.shape[1]:
        raise ValueError(f"{where}: the input channels must be a multiple of kernel.shape[-2], got "
                         f"{x.shape[1]} input channels and kernel of shape {kernel.shape}")
    weight = kernel.permute(nd + 1, nd, *range(nd))
    out = _CONV[nd](x, weight, bias, stride=strides, padding=_padding(where, padding), dilation=dilation_rate,
                    groups=groups)
    return from_channels_first(out, fmt)


def _padding(where, padding):
    value = padding.lower() if isinstance(padding, str) else padding
    return arguments.choice(where, "padding", value, ("valid", "same"))


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling as ``keras.ops.max_pool``: 'same' pads with -inf, so padded cells never win."""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format, maximum=True)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling as ``keras.ops.average_pool``: with 'same', the mean of the real cells only."""
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format, maximum=False)


def _pool(where, inputs, pool_size, strides, padding, fmt, maximum):
    inputs = convert_to_tensor(inputs)
    nd = inputs.ndim - 2
    if nd not in _MAX_POOL:
        raise ValueError(f"{where}: inputs must be 3-D to 5-D (batch, 1 to 3 spatial dims, channels), "
                         f"got inputs of shape {inputs.shape}")
    pool_size = arguments.ntuple(where, "pool_size", pool_size, nd)
    strides = pool_size if strides is None else arguments.ntuple(where, "strides", strides, nd)
    x = to_channels_first(inputs, data_format(where, fmt))
    if _padding(where, padding) == "same":
        x, counts = _same_pad(x, pool_size, strides, maximum)
    out = (_MAX_POOL if maximum else _AVG_POOL)[nd](x, pool_size, strides)
    if padding.lower() == "same" and not maximum:
        out = out / _AVG_POOL[nd](counts, pool_size, strides)
    return from_channels_first(out, data_format(where, fmt))


def _same_pad(x, pool_size, strides, maximum):
    """``x`` padded by TensorFlow's 'same' split (-inf for max, 0 for mean), and the padded map of real cells."""
    spatial = x.shape[2:]
    pairs = [same_padding(k, stride=s, size=n) for k, s, n in zip(pool_size, strides, spatial)]
    flat = tuple(p for pair in reversed(pairs) for p in pair)
    padded = F.pad(x, flat, value=-numpy.inf if maximum else 0.0)
    ones = Tensor(numpy.ones((1, 1) + spatial, dtype=x.dtype))
    return padded, F.pad(ones, flat)


__getattr__ = suggesting_getattr(__name__, globals())
