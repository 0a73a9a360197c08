"""Bias + ReLU in place, ReLU's gradient and the bias gradient, over ``(N, C, H, W)`` in either layout.

Also the layout helpers the other kernel modules share: :func:`split_layout`
turns an activation into the buffer a compiled core walks in memory order
(``(N, C, H, W)`` for NCHW, ``(N, H, W, C)`` for a channels-last view) and
:func:`channels_first_view` turns a channels-last result back into ``(N, C, H, W)``.
"""
import numba
import numpy as np

#: Row blocks of the channels-last bias gradient: partial sums reduced in parallel.
BIAS_GRAD_BLOCKS = 64


# ------------------------------------------------------------------ layouts
def split_layout(x):
    """``(buffer, channels_last)``: the C-contiguous array behind ``x (N, C, H, W)`` and whether it is NHWC.

    A C-contiguous ``x`` is its own buffer; a channels-last view gives its
    ``(N, H, W, C)`` buffer; anything else is copied to C-contiguous NCHW.
    """
    if x.flags.c_contiguous:
        return x, False
    buffer = x.transpose(0, 2, 3, 1)
    if buffer.flags.c_contiguous:
        return buffer, True
    return np.ascontiguousarray(x), False


def channels_first_view(buffer):
    """The ``(N, C, H, W)`` view of an ``(N, H, W, C)`` buffer."""
    return buffer.transpose(0, 3, 1, 2)


def in_layout(buffer, channels_last):
    """A core's output buffer as ``(N, C, H, W)``: itself, or the view of a channels-last buffer."""
    return channels_first_view(buffer) if channels_last else buffer


def like_layout(x, channels_last):
    """``x (N, C, H, W)`` as the buffer of the given layout (a copy only when its layout differs)."""
    if channels_last:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return np.ascontiguousarray(x)


def check_4d(name, argument, x):
    """Refuse anything but a 4-D ``(N, C, H, W)`` array, naming the function and the argument."""
    if x.ndim != 4:
        raise ValueError(f"{name}: {argument} must be 4-D (N, C, H, W), but got shape {x.shape}")


# ---------------------------------------------------------- compiled cores
@numba.njit(cache=True, parallel=True)
def _bias_relu_planes(y, bias):
    """``y (N, C, P)`` in place: ``max(y + bias[c], 0)``."""
    batch, channels, size = y.shape
    for plane in numba.prange(batch * channels):
        n, c = plane // channels, plane % channels
        b = bias[c]
        row = y[n, c]
        for i in range(size):
            v = row[i] + b
            row[i] = 0 if v < 0 else v


@numba.njit(cache=True, parallel=True)
def _bias_relu_rows(y, bias):
    """``y (R, C)`` in place: ``max(y + bias, 0)`` along each row."""
    rows, channels = y.shape
    for r in numba.prange(rows):
        row = y[r]
        for c in range(channels):
            v = row[c] + bias[c]
            row[c] = 0 if v < 0 else v


@numba.njit(cache=True, parallel=True)
def _relu_flat(y):
    """``y`` (1-D) in place: ``max(y, 0)``, NaN kept."""
    for i in numba.prange(y.shape[0]):
        if y[i] < 0:
            y[i] = 0


@numba.njit(cache=True, parallel=True)
def _relu_into(x, out):
    """``out = max(x, 0)`` over 1-D buffers, NaN kept."""
    for i in numba.prange(x.shape[0]):
        out[i] = x[i] if not x[i] < 0 else 0


@numba.njit(cache=True, parallel=True)
def _relu_backward_flat(grad, y, out):
    """``out = grad where y > 0 else 0`` over 1-D buffers."""
    for i in numba.prange(grad.shape[0]):
        out[i] = grad[i] if y[i] > 0 else 0


@numba.njit(cache=True, parallel=True, fastmath={"reassoc"})
def _bias_grad_planes(grad, out):
    """``out[c] = sum over n, p of grad (N, C, P)``."""
    batch, channels, size = grad.shape
    for c in numba.prange(channels):
        total = 0.0
        for n in range(batch):
            row = grad[n, c]
            for i in range(size):
                total += row[i]
        out[c] = total


@numba.njit(cache=True, parallel=True)
def _bias_grad_rows(grad, partial):
    """``partial[b] = sum of the rows of grad (R, C) in block b``."""
    rows, channels = grad.shape
    blocks = partial.shape[0]
    for b in numba.prange(blocks):
        acc = partial[b]
        for r in range(b * rows // blocks, (b + 1) * rows // blocks):
            row = grad[r]
            for c in range(channels):
                acc[c] += row[c]


# ----------------------------------------------------------------- wrappers
def bias_relu_(y, bias=None):
    """``y = max(y + bias[c], 0)`` in place over ``y (N, C, H, W)`` in either layout; returns ``y``.

    ``bias (C,)`` may be None (ReLU only). NaN propagates, as in PyTorch.
    """
    check_4d("bias_relu_", "y", y)
    buffer, channels_last = split_layout(y)
    if bias is None:
        _relu_flat(buffer.reshape(-1))
    elif channels_last:
        _bias_relu_rows(buffer.reshape(-1, buffer.shape[-1]), np.ascontiguousarray(bias, dtype=y.dtype))
    else:
        _bias_relu_planes(buffer.reshape(y.shape[0], y.shape[1], -1), np.ascontiguousarray(bias, dtype=y.dtype))
    if not np.may_share_memory(buffer, y):  # y was in neither layout: copy the result back
        y[...] = buffer
    return y


def relu(x):
    """``max(x, 0)`` of ``x (N, C, H, W)`` as a new array in ``x``'s layout, in one pass (NaN stays NaN)."""
    check_4d("relu", "x", x)
    buffer, channels_last = split_layout(x)
    out = np.empty_like(buffer)
    _relu_into(buffer.reshape(-1), out.reshape(-1))
    return in_layout(out, channels_last)


def relu_backward(grad_out, y):
    """ReLU's input gradient ``grad_out * (y > 0)`` (0 where ``y <= 0``), in ``grad_out``'s layout."""
    check_4d("relu_backward", "grad_out", grad_out)
    if grad_out.shape != y.shape:
        raise ValueError(f"relu_backward: grad_out and y must have the same shape, "
                         f"but got {grad_out.shape} and {y.shape}")
    grad, channels_last = split_layout(grad_out)
    y = like_layout(y, channels_last)
    out = np.empty_like(grad)
    _relu_backward_flat(grad.reshape(-1), y.reshape(-1), out.reshape(-1))
    return in_layout(out, channels_last)


def bias_grad(grad_out):
    """The bias gradient ``(C,)``: ``grad_out (N, C, H, W)`` summed over all but the channel axis."""
    check_4d("bias_grad", "grad_out", grad_out)
    grad, channels_last = split_layout(grad_out)
    if not channels_last:
        out = np.empty(grad.shape[1], dtype=grad.dtype)
        _bias_grad_planes(grad.reshape(grad.shape[0], grad.shape[1], -1), out)
        return out
    rows = grad.reshape(-1, grad.shape[-1])
    partial = np.zeros((min(BIAS_GRAD_BLOCKS, max(rows.shape[0], 1)), rows.shape[1]), dtype=grad.dtype)
    _bias_grad_rows(rows, partial)
    return partial.sum(axis=0)
