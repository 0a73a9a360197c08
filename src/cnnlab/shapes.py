"""Shape arithmetic of convolution and pooling: one documented function per formula.

The engine (``cnnlab.functional``) calls these same functions, so what the notes
teach and what the code runs cannot drift apart.
"""
from dataclasses import dataclass
from math import prod

import numpy as np


def conv_output_size(n, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Output length of a convolution or pooling window sliding over ``n`` positions.

    ``padding`` is an int (the same on both sides) or a pair ``(before, after)``.
    With ``p_total = before + after``::

        out = floor((n + p_total - dilation * (kernel - 1) - 1) / stride) + 1

    (for symmetric padding ``p_total = 2p``: the familiar
    ``floor((n + 2p - d(k-1) - 1)/s) + 1``). With ``ceil_mode`` the division
    rounds up, but, as in PyTorch, a last window that would start in the right
    padding is dropped. A window larger than the padded input gives 0.

    >>> conv_output_size(28, 5, padding=2)
    28
    >>> conv_output_size(5, 2, stride=2, ceil_mode=True)
    3
    """
    name = "conv_output_size"
    _check_int(name, "n", n, minimum=0)
    _check_int(name, "kernel", kernel)
    _check_int(name, "stride", stride)
    _check_int(name, "dilation", dilation)
    before, after = _padding_pair(name, padding)
    span = n + before + after - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= n + before:
        out -= 1
    return out


def pool_output_size(n, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of a pooling window: :func:`conv_output_size` with ``stride`` defaulting to ``kernel``.

    The formula is the convolution's; only the default differs, as in PyTorch's
    ``MaxPool2d`` (non-overlapping windows unless told otherwise)::

        out = floor((n + 2p - dilation * (kernel - 1) - 1) / stride) + 1,   stride = kernel by default

    >>> pool_output_size(28, 2)
    14
    >>> pool_output_size(7, 2, ceil_mode=True)
    4
    """
    return conv_output_size(n, kernel, kernel if stride is None else stride, padding, dilation, ceil_mode)


def conv_transpose_output_size(n, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of a transposed convolution (the shape inverse of :func:`conv_output_size`).

    As in PyTorch's ``ConvTranspose2d``::

        out = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1

    ``output_padding`` (smaller than ``stride`` or ``dilation``) picks one of the
    ``stride`` input sizes a strided convolution maps to the same ``n``.

    >>> conv_transpose_output_size(14, 2, stride=2)
    28
    >>> conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1)
    14
    """
    name = "conv_transpose_output_size"
    _check_int(name, "n", n, minimum=0)
    _check_int(name, "kernel", kernel)
    _check_int(name, "stride", stride)
    _check_int(name, "dilation", dilation)
    _check_int(name, "padding", padding, minimum=0)
    _check_int(name, "output_padding", output_padding, minimum=0)
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"{name}: output_padding must be smaller than stride or dilation, "
            f"got output_padding={output_padding} with stride={stride} and dilation={dilation}"
        )
    if n == 0:
        return 0
    return max(0, (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1)


def same_padding(kernel, dilation=1, convention="end", stride=1, size=None):
    """Padding ``(before, after)`` that makes a convolution's output ``ceil(size / stride)`` long.

    With stride 1 the output keeps the input's size and the total is
    ``dilation * (kernel - 1)``, whatever the size. With a larger stride the
    total depends on the input's ``size`` ``n`` (TensorFlow's and Keras's
    ``padding='same'``; PyTorch refuses strided 'same')::

        out   = ceil(n / stride)
        total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)

    (for stride 1 this is ``dilation * (kernel - 1)`` again). When the total is
    odd one side gets the extra row: ``convention='end'`` puts it after, as
    PyTorch, TensorFlow and ONNX ``SAME_UPPER`` do; ``convention='start'`` puts
    it before, as ONNX ``SAME_LOWER`` and some course notes do.

    >>> same_padding(3)
    (1, 1)
    >>> same_padding(4)
    (1, 2)
    >>> same_padding(4, convention="start")
    (2, 1)
    >>> same_padding(3, stride=2, size=28)   # out 14: 13 * 2 + 3 - 28 = 1 row, at the end
    (0, 1)
    """
    if convention not in ("end", "start"):
        raise ValueError(f"same_padding: convention must be 'end' or 'start', got convention={convention!r}")
    _check_int("same_padding", "kernel", kernel)
    _check_int("same_padding", "dilation", dilation)
    _check_int("same_padding", "stride", stride)
    total = dilation * (kernel - 1)
    if stride > 1:
        if size is None:
            raise ValueError(f"same_padding: size must be given when stride > 1 (the padding then depends on the "
                             f"input size), got size=None with stride={stride}")
        _check_int("same_padding", "size", size, minimum=0)
        total = max((-(-size // stride) - 1) * stride + total + 1 - size, 0)
    elif size is not None:
        _check_int("same_padding", "size", size, minimum=0)
    small, large = total // 2, total - total // 2
    return (small, large) if convention == "end" else (large, small)


@dataclass(frozen=True)
class Layer:
    """One sliding-window layer for :func:`receptive_field`: kernel, stride, padding and dilation."""

    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1


@dataclass(frozen=True)
class Field:
    """Where one layer's outputs look in the input.

    ``size``: receptive field (input positions one output sees); ``jump``: input
    distance between neighbouring outputs; ``start``: input coordinate of the
    centre of the first output's field (pixel centres at 0, 1, 2, ...).
    """

    size: int
    jump: int
    start: float


def receptive_field(layers):
    """Receptive field, jump and start of every layer in a stack, from the input up.

    Args:
        layers: a sequence of :class:`Layer` or tuples ``(kernel,)``,
            ``(kernel, stride)`` or ``(kernel, stride, dilation)`` (tuples mean no padding).

    With ``k' = dilation * (kernel - 1) + 1`` (the dilated window) and starting
    from ``size = 1, jump = 1, start = 0`` at the input, each layer gives::

        size  = size_in + (k' - 1) * jump_in
        jump  = jump_in * stride
        start = start_in + ((k' - 1) / 2 - padding) * jump_in

    Returns:
        a list of :class:`Field`, one per layer.

    >>> [(f.size, f.jump) for f in receptive_field([(3, 1), (2, 2), (3, 1)])]
    [(3, 1), (4, 2), (8, 2)]
    >>> receptive_field([Layer(5, padding=2), Layer(2, stride=2)])[-1]
    Field(size=6, jump=2, start=0.5)
    """
    size, jump, start = 1, 1, 0.0
    fields = []
    for i, layer in enumerate(layers):
        layer = _as_layer(i, layer)
        span = layer.dilation * (layer.kernel - 1)
        start = start + (span / 2 - layer.padding) * jump
        size = size + span * jump
        jump = jump * layer.stride
        fields.append(Field(size, jump, start))
    return fields


def conv_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    """Number of learnable parameters of a convolution layer.

    ``kernel_size`` is an int (square, 2-D) or a tuple with one entry per spatial axis::

        params = out_channels * (in_channels / groups) * prod(kernel_size) + (out_channels if bias)

    >>> conv_params(1, 6, 5)            # LeNet-5's first layer
    156
    >>> conv_params(32, 32, 3, groups=32, bias=False)   # depthwise
    288
    """
    name = "conv_params"
    _check_int(name, "in_channels", in_channels)
    _check_int(name, "out_channels", out_channels)
    _check_int(name, "groups", groups)
    sizes = (kernel_size, kernel_size) if _is_int(kernel_size) else tuple(kernel_size)
    if not sizes or not all(_is_int(k) and k > 0 for k in sizes):
        raise ValueError(
            f"{name}: kernel_size must be a positive integer or a tuple of them, got kernel_size={kernel_size!r}"
        )
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{name}: {arg} must be divisible by groups, got {arg}={value} and groups={groups}")
    return out_channels * (in_channels // groups) * prod(sizes) + (out_channels if bias else 0)


def linear_params(in_features, out_features, bias=True):
    """Number of learnable parameters of a fully connected layer.

    ::

        params = in_features * out_features + (out_features if bias)

    >>> linear_params(120, 84)
    10164
    """
    _check_int("linear_params", "in_features", in_features)
    _check_int("linear_params", "out_features", out_features)
    return in_features * out_features + (out_features if bias else 0)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_int(name, arg, value, minimum=1):
    if not _is_int(value) or value < minimum:
        rule = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise ValueError(f"{name}: {arg} must be {rule}, got {arg}={value!r}")


def _padding_pair(name, padding):
    if _is_int(padding):
        pair = (padding, padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        pair = tuple(padding)
    else:
        raise ValueError(f"{name}: padding must be an integer or a pair (before, after), got padding={padding!r}")
    if not all(_is_int(p) and p >= 0 for p in pair):
        raise ValueError(f"{name}: padding must be non-negative integers, got padding={padding!r}")
    return pair


def _as_layer(i, layer):
    if isinstance(layer, Layer):
        fields = (layer.kernel, layer.stride, layer.padding, layer.dilation)
    elif isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 3:
        kernel, stride, dilation = (*layer, 1, 1)[:3]
        fields = (kernel, stride, 0, dilation)
        layer = Layer(kernel, stride, 0, dilation)
    else:
        raise ValueError(
            f"receptive_field: layers[{i}] must be a Layer or a tuple (kernel, stride, dilation), got {layer!r}"
        )
    for arg, value, minimum in zip(("kernel", "stride", "padding", "dilation"), fields, (1, 1, 0, 1)):
        _check_int("receptive_field", f"layers[{i}].{arg}", value, minimum)
    return layer
