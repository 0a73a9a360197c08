"""2-D max and average pooling, forward and backward, as compiled loops in either memory layout.

Each output's window is walked tap by tap inside the input only (padding is
never read, so it needs no padded copy), with PyTorch's CPU rules:

- max: start from ``-inf`` at the window's first tap inside the input; a tap
  replaces the running maximum when it is greater or NaN (ties keep the first
  tap in row-major order, NaN windows report their last NaN). ``indices`` are
  flat positions ``h * W + w`` in the input plane.
- average: the window ``[start, start + k)`` is cut at ``n + padding`` for the
  divisor (ceil_mode's extra is never counted), or to the input ``[0, n)`` with
  ``count_include_pad=False``; ``divisor_override`` replaces it.

NCHW cores run one ``(H, W)`` plane per parallel iteration; channels-last cores
one image per iteration with the channels innermost (contiguous, vectorised).
In NCHW a window's loops have run-time trip counts too short for LLVM to
vectorise or unroll, so the zoo's case (2x2 windows at stride 2, no padding)
has cores with the four taps written out; the maximum's update is written as a
select (``v if (v > best) | (v != v) else best``), which compiles to packed
compares rather than branches. Output size: :func:`cnnlab.shapes.conv_output_size`.
"""
import numba
import numpy as np

from ...shapes import conv_output_size
from ..algorithms import PoolGeometry
from ..numpy_backend.pool import divisor
from .elementwise import check_4d, in_layout, like_layout, split_layout


@numba.njit(cache=True)
def _first_inside(o, stride, padding, dilation):
    """The input position of the first tap at or after 0 of window ``o``."""
    first = o * stride - padding
    while first < 0:
        first += dilation
    return first


@numba.njit(cache=True)
def _max_taps(o, stride, padding, kernel, dilation, n):
    """``(first, end)``: the taps of window ``o`` inside ``[0, n)`` are ``range(first, end, dilation)``."""
    return _first_inside(o, stride, padding, dilation), min(o * stride - padding + (kernel - 1) * dilation + 1, n)


@numba.njit(cache=True)
def _avg_taps(o, stride, padding, kernel, n):
    """``(first, end)``: the taps of average window ``o`` inside ``[0, n)``."""
    first = o * stride - padding
    return max(first, 0), min(first + kernel, n)


# --------------------------------------------------------------- max pool
@numba.njit(cache=True, parallel=True)
def _max_planes(x, out, index, lowest, kh, kw, sh, sw, ph, pw, dh, dw):
    """Max pool of ``x (P, H, W)`` into ``out, index (P, OH, OW)``, one window at a time."""
    planes, height, width = x.shape
    for p in numba.prange(planes):
        for oh in range(out.shape[1]):
            h0, h1 = _max_taps(oh, sh, ph, kh, dh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _max_taps(ow, sw, pw, kw, dw, width)
                best, where = lowest, h0 * width + w0
                h = h0
                while h < h1:  # while, not range(h0, h1, dh): no division for the trip count
                    w = w0
                    while w < w1:
                        v = x[p, h, w]
                        if v > best or v != v:
                            best, where = v, h * width + w
                        w += dw
                    h += dh
                out[p, oh, ow] = best
                index[p, oh, ow] = where


@numba.njit(cache=True, parallel=True)
def _max_values_planes(x, out, lowest, kh, kw, sh, sw, ph, pw, dh, dw):
    """The maxima of :func:`_max_planes` alone."""
    planes, height, width = x.shape
    for p in numba.prange(planes):
        for oh in range(out.shape[1]):
            h0, h1 = _max_taps(oh, sh, ph, kh, dh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _max_taps(ow, sw, pw, kw, dw, width)
                best = lowest
                h = h0
                while h < h1:
                    w = w0
                    while w < w1:
                        v = x[p, h, w]
                        best = v if (v > best) | (v != v) else best  # a select, not a branch
                        w += dw
                    h += dh
                out[p, oh, ow] = best


@numba.njit(cache=True, parallel=True)
def _max_2x2_planes(x, out, index):
    """:func:`_max_planes` for 2x2 windows at stride 2 inside ``x``, with the four taps written out."""
    width = x.shape[2]
    for p in numba.prange(x.shape[0]):
        for oh in range(out.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(out.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                best, where = x[p, top, left], top * width + left
                v = x[p, top, right]
                if v > best or v != v:
                    best, where = v, top * width + right
                v = x[p, bottom, left]
                if v > best or v != v:
                    best, where = v, bottom * width + left
                v = x[p, bottom, right]
                if v > best or v != v:
                    best, where = v, bottom * width + right
                out[p, oh, ow] = best
                index[p, oh, ow] = where


@numba.njit(cache=True, parallel=True)
def _max_2x2_values_planes(x, out):
    """The maxima of :func:`_max_2x2_planes` alone."""
    for p in numba.prange(x.shape[0]):
        for oh in range(out.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(out.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                best = x[p, top, left]
                v = x[p, top, right]
                best = v if (v > best) | (v != v) else best
                v = x[p, bottom, left]
                best = v if (v > best) | (v != v) else best
                v = x[p, bottom, right]
                best = v if (v > best) | (v != v) else best
                out[p, oh, ow] = best


@numba.njit(cache=True, parallel=True)
def _max_rows(x, out, index, lowest, kh, kw, sh, sw, ph, pw, dh, dw):
    """Max pool of channels-last ``x (N, H, W, C)`` into ``out, index (N, OH, OW, C)``, channels innermost."""
    batch, height, width, channels = x.shape
    for n in numba.prange(batch):
        for oh in range(out.shape[1]):
            h0, h1 = _max_taps(oh, sh, ph, kh, dh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _max_taps(ow, sw, pw, kw, dw, width)
                for c in range(channels):
                    out[n, oh, ow, c] = lowest
                    index[n, oh, ow, c] = h0 * width + w0
                h = h0
                while h < h1:
                    w = w0
                    while w < w1:
                        for c in range(channels):
                            v = x[n, h, w, c]
                            take = (v > out[n, oh, ow, c]) | (v != v)
                            out[n, oh, ow, c] = v if take else out[n, oh, ow, c]
                            index[n, oh, ow, c] = h * width + w if take else index[n, oh, ow, c]
                        w += dw
                    h += dh


@numba.njit(cache=True, parallel=True)
def _max_values_rows(x, out, lowest, kh, kw, sh, sw, ph, pw, dh, dw):
    """The maxima of :func:`_max_rows` alone."""
    batch, height, width, channels = x.shape
    for n in numba.prange(batch):
        for oh in range(out.shape[1]):
            h0, h1 = _max_taps(oh, sh, ph, kh, dh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _max_taps(ow, sw, pw, kw, dw, width)
                for c in range(channels):
                    out[n, oh, ow, c] = lowest
                h = h0
                while h < h1:
                    w = w0
                    while w < w1:
                        for c in range(channels):
                            v = x[n, h, w, c]
                            out[n, oh, ow, c] = v if (v > out[n, oh, ow, c]) | (v != v) else out[n, oh, ow, c]
                        w += dw
                    h += dh


@numba.njit(cache=True, parallel=True)
def _max_2x2_rows(x, out, index):
    """:func:`_max_rows` for 2x2 windows at stride 2 inside ``x``, with the four taps written out."""
    width, channels = x.shape[2], x.shape[3]
    for n in numba.prange(x.shape[0]):
        for oh in range(out.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(out.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                for c in range(channels):
                    best, where = x[n, top, left, c], top * width + left
                    v = x[n, top, right, c]
                    if v > best or v != v:
                        best, where = v, top * width + right
                    v = x[n, bottom, left, c]
                    if v > best or v != v:
                        best, where = v, bottom * width + left
                    v = x[n, bottom, right, c]
                    if v > best or v != v:
                        best, where = v, bottom * width + right
                    out[n, oh, ow, c] = best
                    index[n, oh, ow, c] = where


@numba.njit(cache=True, parallel=True)
def _max_2x2_values_rows(x, out):
    """The maxima of :func:`_max_2x2_rows` alone."""
    for n in numba.prange(x.shape[0]):
        for oh in range(out.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(out.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                for c in range(x.shape[3]):
                    best = x[n, top, left, c]
                    v = x[n, top, right, c]
                    best = v if (v > best) | (v != v) else best
                    v = x[n, bottom, left, c]
                    best = v if (v > best) | (v != v) else best
                    v = x[n, bottom, right, c]
                    best = v if (v > best) | (v != v) else best
                    out[n, oh, ow, c] = best


@numba.njit(cache=True, parallel=True)
def _max_backward_planes(grad, index, out):
    """``out (P, H * W)``: each ``grad (P, L)`` added at its ``index``."""
    for p in numba.prange(grad.shape[0]):
        for i in range(out.shape[1]):
            out[p, i] = 0
        for i in range(grad.shape[1]):
            out[p, index[p, i]] += grad[p, i]


@numba.njit(cache=True, parallel=True)
def _max_backward_rows(grad, index, out):
    """``out (N, H * W, C)``: each ``grad (N, L, C)`` added at its ``index`` in its channel."""
    batch, size, channels = grad.shape
    for n in numba.prange(batch):
        for i in range(out.shape[1]):
            for c in range(channels):
                out[n, i, c] = 0
        for i in range(size):
            for c in range(channels):
                out[n, index[n, i, c], c] += grad[n, i, c]


# ----------------------------------------------------------- average pool
@numba.njit(cache=True, parallel=True)
def _avg_planes(x, out, divisors, kh, kw, sh, sw, ph, pw):
    """Average pool of ``x (P, H, W)`` into ``out (P, OH, OW)``: window sums over ``divisors (OH, OW)``."""
    planes, height, width = x.shape
    for p in numba.prange(planes):
        for oh in range(out.shape[1]):
            h0, h1 = _avg_taps(oh, sh, ph, kh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _avg_taps(ow, sw, pw, kw, width)
                out[p, oh, ow] = 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        out[p, oh, ow] += x[p, h, w]
                out[p, oh, ow] /= divisors[oh, ow]


@numba.njit(cache=True, parallel=True)
def _avg_2x2_planes(x, out, divisors):
    """:func:`_avg_planes` for 2x2 windows at stride 2 inside ``x``, with the four taps written out."""
    for p in numba.prange(x.shape[0]):
        for oh in range(out.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(out.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                total = x[p, top, left] + x[p, top, right] + x[p, bottom, left] + x[p, bottom, right]
                out[p, oh, ow] = total / divisors[oh, ow]


@numba.njit(cache=True, parallel=True)
def _avg_rows(x, out, divisors, kh, kw, sh, sw, ph, pw):
    """Average pool of channels-last ``x (N, H, W, C)`` into ``out (N, OH, OW, C)``."""
    batch, height, width, channels = x.shape
    for n in numba.prange(batch):
        for oh in range(out.shape[1]):
            h0, h1 = _avg_taps(oh, sh, ph, kh, height)
            for ow in range(out.shape[2]):
                w0, w1 = _avg_taps(ow, sw, pw, kw, width)
                for c in range(channels):
                    out[n, oh, ow, c] = 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(channels):
                            out[n, oh, ow, c] += x[n, h, w, c]
                for c in range(channels):
                    out[n, oh, ow, c] /= divisors[oh, ow]


@numba.njit(cache=True, parallel=True)
def _avg_backward_planes(grad, out, divisors, kh, kw, sh, sw, ph, pw):
    """``out (P, H, W)``: each ``grad (P, OH, OW)`` over its divisor, added over its window."""
    planes, height, width = out.shape
    for p in numba.prange(planes):
        for h in range(height):
            for w in range(width):
                out[p, h, w] = 0
        for oh in range(grad.shape[1]):
            h0, h1 = _avg_taps(oh, sh, ph, kh, height)
            for ow in range(grad.shape[2]):
                w0, w1 = _avg_taps(ow, sw, pw, kw, width)
                g = grad[p, oh, ow] / divisors[oh, ow]
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        out[p, h, w] += g


@numba.njit(cache=True, parallel=True)
def _avg_2x2_backward_planes(grad, out, divisors):
    """:func:`_avg_backward_planes` for 2x2 windows at stride 2 inside ``out``, which arrives zeroed."""
    for p in numba.prange(grad.shape[0]):
        for oh in range(grad.shape[1]):
            top, bottom = 2 * oh, 2 * oh + 1
            for ow in range(grad.shape[2]):
                left, right = 2 * ow, 2 * ow + 1
                g = grad[p, oh, ow] / divisors[oh, ow]
                out[p, top, left] = out[p, top, right] = out[p, bottom, left] = out[p, bottom, right] = g


@numba.njit(cache=True, parallel=True)
def _avg_backward_rows(grad, out, divisors, kh, kw, sh, sw, ph, pw):
    """Channels-last :func:`_avg_backward_planes`: ``grad (N, OH, OW, C)`` into ``out (N, H, W, C)``."""
    batch, height, width, channels = out.shape
    for n in numba.prange(batch):
        for h in range(height):
            for w in range(width):
                for c in range(channels):
                    out[n, h, w, c] = 0
        for oh in range(grad.shape[1]):
            h0, h1 = _avg_taps(oh, sh, ph, kh, height)
            for ow in range(grad.shape[2]):
                w0, w1 = _avg_taps(ow, sw, pw, kw, width)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        for c in range(channels):
                            out[n, h, w, c] += grad[n, oh, ow, c] / divisors[oh, ow]


# ----------------------------------------------------------------- wrappers
def _output_shape(x_shape, kernel, stride, padding, dilation, ceil_mode):
    return tuple(conv_output_size(n, k, s, p, d, ceil_mode)
                 for n, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation))


def _pool_args(kernel, stride, padding, dilation):
    """The pairs as the cores' integer arguments ``kh, kw, sh, sw, ph, pw, dh, dw``."""
    return (*map(int, kernel), *map(int, stride), *map(int, padding), *map(int, dilation))


def _allocate(buffer, channels_last, out, dtype):
    """The output buffer(s) of a core: ``(N, C, OH, OW)``, or ``(N, OH, OW, C)`` for channels-last."""
    batch, channels = (buffer.shape[0], buffer.shape[3]) if channels_last else buffer.shape[:2]
    shape = (batch,) + tuple(out) + (channels,) if channels_last else (batch, channels) + tuple(out)
    return np.empty(shape, dtype=dtype)


def _planes(array):
    """``(N, C, H, W)`` as ``(N * C, H, W)``, a view."""
    return array.reshape((-1,) + array.shape[2:])


def _tiled_2x2(x_shape, kernel, stride, padding, dilation, out):
    """True when every window is a 2x2 tile inside the input (stride 2): the zoo's pools."""
    return (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1) and tuple(out) == (x_shape[2] // 2, x_shape[3] // 2))


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """Max pool of ``x (N, C, H, W)``: ``(values, indices)``, both ``(N, C, OH, OW)`` in ``x``'s layout.

    ``kernel``, ``stride``, ``padding``, ``dilation`` are pairs of ints;
    ``indices`` (int64) are flat positions ``h * W + w`` in each input plane,
    exactly as ``torch.nn.functional.max_pool2d(..., return_indices=True)``.
    """
    check_4d("max_pool2d", "x", x)
    buffer, channels_last = split_layout(x)
    out = _output_shape(x.shape, kernel, stride, padding, dilation, ceil_mode)
    values = _allocate(buffer, channels_last, out, x.dtype)
    indices = _allocate(buffer, channels_last, out, np.int64)
    arrays = (buffer, values, indices) if channels_last else (_planes(buffer), _planes(values), _planes(indices))
    if _tiled_2x2(x.shape, kernel, stride, padding, dilation, out):
        (_max_2x2_rows if channels_last else _max_2x2_planes)(*arrays)
    else:
        args = (x.dtype.type(-np.inf), *_pool_args(kernel, stride, padding, dilation))
        (_max_rows if channels_last else _max_planes)(*arrays, *args)
    return in_layout(values, channels_last), in_layout(indices, channels_last)


def max_pool2d_values(x, kernel, stride, padding, dilation, ceil_mode):
    """The values of :func:`max_pool2d` alone, with no index work (inference, no-grad)."""
    check_4d("max_pool2d_values", "x", x)
    buffer, channels_last = split_layout(x)
    out = _output_shape(x.shape, kernel, stride, padding, dilation, ceil_mode)
    values = _allocate(buffer, channels_last, out, x.dtype)
    arrays = (buffer, values) if channels_last else (_planes(buffer), _planes(values))
    if _tiled_2x2(x.shape, kernel, stride, padding, dilation, out):
        (_max_2x2_values_rows if channels_last else _max_2x2_values_planes)(*arrays)
    else:
        args = (x.dtype.type(-np.inf), *_pool_args(kernel, stride, padding, dilation))
        (_max_values_rows if channels_last else _max_values_planes)(*arrays, *args)
    return in_layout(values, channels_last)


def max_pool2d_backward(grad_out, indices, input_shape):
    """The input gradient of a max pool: ``grad_out`` added at ``indices`` (overlaps accumulate).

    ``grad_out`` and ``indices`` are ``(N, C, OH, OW)``; the result is ``input_shape``,
    ``grad_out``'s dtype and layout.
    """
    check_4d("max_pool2d_backward", "grad_out", grad_out)
    if indices.shape != grad_out.shape:
        raise ValueError(f"max_pool2d_backward: indices must have grad_out's shape {grad_out.shape}, "
                         f"but got {indices.shape}")
    grad, channels_last = split_layout(grad_out)
    index = like_layout(indices, channels_last)
    batch, channels, height, width = input_shape
    if channels_last:
        out = np.empty((batch, height * width, channels), dtype=grad.dtype)
        _max_backward_rows(grad.reshape(batch, -1, channels), index.reshape(batch, -1, channels), out)
        return in_layout(out.reshape(batch, height, width, channels), True)
    out = np.empty((batch * channels, height * width), dtype=grad.dtype)
    _max_backward_planes(grad.reshape(batch * channels, -1), index.reshape(batch * channels, -1), out)
    return out.reshape(input_shape)


def _divisors(x_shape, kernel, stride, padding, out, count_include_pad, divisor_override, dtype):
    """Each window's divisor ``(OH, OW)``: ``divisor_override``, else PyTorch's rule, which
    :func:`cnnlab.backend.numpy_backend.pool.divisor` owns."""
    if divisor_override:
        return np.full(out, divisor_override, dtype=dtype)
    geometry = PoolGeometry(tuple(x_shape), tuple(kernel), tuple(stride), tuple(padding), (1, 1), False,
                            tuple(out), None, False)
    return np.ascontiguousarray(np.broadcast_to(divisor(np, geometry, count_include_pad, dtype), tuple(out)))


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Average pool of ``x (N, C, H, W)`` into ``(N, C, OH, OW)`` in ``x``'s layout, by PyTorch's divisor rule."""
    check_4d("avg_pool2d", "x", x)
    buffer, channels_last = split_layout(x)
    out = _output_shape(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    y = _allocate(buffer, channels_last, out, x.dtype)
    divisors = _divisors(x.shape, kernel, stride, padding, out, count_include_pad, divisor_override, x.dtype)
    args = (divisors, *map(int, kernel), *map(int, stride), *map(int, padding))
    if channels_last:
        _avg_rows(buffer, y, *args)
    elif _tiled_2x2(x.shape, kernel, stride, padding, (1, 1), out):
        _avg_2x2_planes(_planes(buffer), _planes(y), divisors)
    else:
        _avg_planes(_planes(buffer), _planes(y), *args)
    return in_layout(y, channels_last)


def avg_pool2d_backward(grad_out, input_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """The input gradient ``input_shape`` of :func:`avg_pool2d`, in ``grad_out``'s layout and dtype.

    ``ceil_mode`` is implied by ``grad_out``'s shape; it is accepted for a signature like the forward's.
    """
    check_4d("avg_pool2d_backward", "grad_out", grad_out)
    grad, channels_last = split_layout(grad_out)
    batch, channels, height, width = input_shape
    divisors = _divisors(input_shape, kernel, stride, padding, grad_out.shape[2:], count_include_pad,
                         divisor_override, grad.dtype)
    args = (divisors, *map(int, kernel), *map(int, stride), *map(int, padding))
    if channels_last:
        out = np.empty((batch, height, width, channels), dtype=grad.dtype)
        _avg_backward_rows(grad, out, *args)
        return in_layout(out, True)
    if _tiled_2x2(input_shape, kernel, stride, padding, (1, 1), grad.shape[2:]):
        out = np.zeros((batch * channels, height, width), dtype=grad.dtype)
        _avg_2x2_backward_planes(_planes(grad), out, divisors)
    else:
        out = np.empty((batch * channels, height, width), dtype=grad.dtype)
        _avg_backward_planes(_planes(grad), out, *args)
    return out.reshape(input_shape)
