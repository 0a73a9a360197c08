"""Convolution on NumPy arrays: im2col and its adjoint, and three algorithms, each forward beside backward.

The layout (as in Chainer and Caffe): ``im2col`` copies the windows of the
padded input once into a matrix ``cols`` of shape ``(G, C/G * K, N * L)``
(``G`` groups, ``K`` kernel taps, ``L`` output positions); the output is the
batched product ``w (G, O/G, C/G * K) @ cols``, one GEMM for every group at once.
Backward reuses ``cols`` for the weight gradient (one GEMM) and sends the
output gradient back through ``w`` (one GEMM) and ``col2im`` for the input.

The algorithms reach the arithmetic only through the backend they are given
(``backend.im2col``, ``backend.col2im``, ``backend.matmul``, ...), so a backend
that overrides a primitive speeds up every algorithm built on it:

- :class:`Im2col`: the textbook im2col + GEMM, any convolution;
- :class:`GemmChannelsLast`: output positions as the GEMM's rows, whose product
  is the channels-last output (no transposing copy), for wide one-group layers;
- :class:`Winograd`: F(2x2, 3x3) (:mod:`.winograd`) for 3x3 stride-1 layers wide
  enough for its GEMMs to outweigh its transforms.

All agree to float32 round-off; the tests check each against the others and
against PyTorch.
"""
import math

from .. import get_array_module
from ..algorithms import Algorithm
from . import winograd
from .window import pad_constant, scatter_windows, sliding_windows, unpad_index


# ----------------------------------------------------------- im2col / col2im
def im2col(x, kernel, stride, padding, dilation, groups, out):
    """The windows of ``x (N, C, *in)`` as a matrix ``(G, C/G * K, N * L)``: the one copy of the input.

    ``padding`` is ``((before, after), ...)``; ``out`` the output spatial shape.
    """
    xp = get_array_module(x)
    batch, channels, nd = x.shape[0], x.shape[1], len(kernel)
    windows = sliding_windows(pad_constant(x, padding), kernel, stride, dilation, out)  # (N, C, *out, *k)
    windows = windows.reshape((batch, groups, channels // groups) + windows.shape[2:])
    # (N, G, Cg, *out, *k) -> (G, Cg, *k, N, *out)
    order = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    cols = xp.ascontiguousarray(windows.transpose(order))
    return cols.reshape(groups, channels // groups * math.prod(kernel), batch * math.prod(out))


def col2im(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of ``im2col``: add the ``(G, C/G * K, N * L)`` columns back into an ``input_shape`` array."""
    batch, channels, nd = input_shape[0], input_shape[1], len(kernel)
    groups = cols.shape[0]
    cols = cols.reshape((groups, channels // groups) + tuple(kernel) + (batch,) + tuple(out))
    # (G, Cg, *k, N, *out) -> (N, G, Cg, *out, *k) -> (N, C, *out, *k), still a view
    order = (2 + nd, 0, 1) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(2, 2 + nd))
    windows = cols.transpose(order).reshape((batch, channels) + tuple(out) + tuple(kernel))
    padded = tuple(input_shape[:2]) + tuple(n + b + a for n, (b, a) in zip(input_shape[2:], padding))
    grad = scatter_windows(windows, padded, kernel, stride, dilation)
    return grad[unpad_index(padding, input_shape[2:])]


def output_rows(y, groups):
    """``y (N, O, *out)`` as the GEMM's output matrix ``(G, O/G, N * L)``."""
    batch, channels = y.shape[:2]
    positions = math.prod(y.shape[2:])
    rows = y.reshape(batch, groups, channels // groups, positions).transpose(1, 2, 0, 3)
    return rows.reshape(groups, channels // groups, batch * positions)


def weight_matrix(w, groups):
    """``w (O, C/G, *k)`` as the GEMM's ``(G, O/G, C/G * K)``."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def weight_times_cols(backend, w, cols, batch, out):
    """The convolution's output ``(N, O, *out)``: ``w (O, C/G, *k)`` times the im2col matrix, one batched GEMM."""
    rows = backend.matmul(weight_matrix(w, cols.shape[0]), cols)  # (G, O/G, N * L)
    y = rows.reshape(w.shape[0], batch, math.prod(out)).transpose(1, 0, 2)
    return get_array_module(y).ascontiguousarray(y).reshape((batch, w.shape[0]) + tuple(out))


def weight_transposed_times(backend, w, rows):
    """The columns' gradient ``w^T @ rows``: ``(G, C/G * K, N * L)`` from output rows ``(G, O/G, N * L)``."""
    return backend.matmul(weight_matrix(w, rows.shape[0]).swapaxes(-1, -2), rows)


def weight_grad(backend, rows, cols, weight_shape):
    """The weight's gradient ``rows @ cols^T``, one batched GEMM, reshaped to ``weight_shape``.

    Computed as ``(cols @ rows^T)^T``: the same numbers, in the orientation
    multi-threaded OpenBLAS handles well (small result, huge shared axis stalls it).
    """
    return backend.matmul(cols, rows.swapaxes(-1, -2)).swapaxes(-1, -2).reshape(weight_shape)


def add_bias(y, b):
    """``y (N, O, *out)`` plus ``b (O,)`` in place (nothing when ``b`` is None)."""
    if b is not None:
        y += b.reshape((-1,) + (1,) * (y.ndim - 2))
    return y


def bias_grad(g):
    """The bias gradient: ``g (N, O, *out)`` summed over all but the channels."""
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


# ------------------------------------------------------ channels-last im2col
def channels_last(x):
    """``x (N, C, *spatial)`` viewed as ``(N, *spatial, C)``; free, and contiguous when ``x`` is an NHWC view."""
    return x.transpose((0,) + tuple(range(2, x.ndim)) + (1,))


def channels_first(y):
    """The inverse view of :func:`channels_last`: ``(N, *spatial, C)`` as ``(N, C, *spatial)``."""
    return y.transpose((0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))


def pad_channels_last(x, padding):
    """``x (N, *spatial, C)`` zero-padded by ``((before, after), ...)`` per spatial dim, as a contiguous array."""
    xp = get_array_module(x)
    if not any(b or a for b, a in padding):
        return xp.ascontiguousarray(x)
    shape = (x.shape[0],) + tuple(n + b + a for n, (b, a) in zip(x.shape[1:-1], padding)) + x.shape[-1:]
    out = xp.zeros(shape, dtype=x.dtype)
    out[(slice(None),) + tuple(slice(b, b + n) for (b, _), n in zip(padding, x.shape[1:-1]))] = x
    return out


def _tap_windows(x, kernel, stride, dilation, out):
    """A view ``(N, *out, *kernel, C)`` of the windows of a padded channels-last ``x (N, *spatial, C)``."""
    strides = x.strides
    view_strides = ((strides[0],) + tuple(st * s for st, s in zip(strides[1:-1], stride))
                    + tuple(st * d for st, d in zip(strides[1:-1], dilation)) + strides[-1:])
    shape = x.shape[:1] + tuple(out) + tuple(kernel) + x.shape[-1:]
    return get_array_module(x).lib.stride_tricks.as_strided(x, shape, view_strides, writeable=False)


def im2col_channels_last(x, kernel, stride, padding, dilation, out):
    """The windows of ``x (N, C, *in)`` as one matrix ``(N * L, K * C)``: rows ``(n, *out)``, columns ``(*k, c)``.

    In channels-last memory one window row (``kw`` taps of ``C`` channels) is a
    contiguous run of ``kw * C`` numbers, so the copy moves runs of memory rather
    than single numbers. ``x`` is made channels-last (and padded) first unless it already is.
    """
    padded = pad_channels_last(channels_last(x), padding)
    windows = _tap_windows(padded, kernel, stride, dilation, out)
    return windows.reshape(x.shape[0] * math.prod(out), math.prod(kernel) * x.shape[1])


def window_layout(x_shape, kernel, out):
    """Which im2col copy the channels-last GEMM makes: ``'channels_last'`` or ``'channels_first'``.

    The copy is fastest with the longest contiguous runs: a window row holds
    ``kw * C`` contiguous numbers in channels-last memory, an output row ``W_out``
    in channels-first memory; the longer run wins (ties go channels-last).
    """
    return "channels_last" if kernel[-1] * x_shape[1] >= out[-1] else "channels_first"


def cols_and_weight(backend, x, w, geometry, layout):
    """The im2col matrix ``(N * L, K * C)`` of ``x`` and the weight as the matching ``(K * C, O)`` matrix."""
    xp = get_array_module(x)
    args = (geometry.kernel, geometry.stride, geometry.padding, geometry.dilation)
    if layout == "channels_last":
        cols = backend.im2col_channels_last(x, *args, geometry.out)  # columns (*k, c)
        return cols, xp.ascontiguousarray(channels_last(w).reshape(w.shape[0], -1).T)
    cols = backend.im2col(x, *args, 1, geometry.out)[0].T  # columns (c, *k), a transposed view
    return cols, xp.ascontiguousarray(w.reshape(w.shape[0], -1).T)


def weight_from_columns(gw, w_shape, layout):
    """A ``(K * C, O)`` weight-gradient matrix as ``(O, C, *k)``."""
    xp = get_array_module(gw)
    if layout == "channels_first":
        return xp.ascontiguousarray(gw.T).reshape(w_shape)
    gw = gw.T.reshape((w_shape[0],) + tuple(w_shape[2:]) + (w_shape[1],))
    return xp.ascontiguousarray(channels_first(gw))


# ---------------------------------------------------------------- algorithms
class Im2col(Algorithm):
    """im2col + one (batched) GEMM: ``w (G, O/G, C/G * K) @ cols (G, C/G * K, N * L)``."""

    name = "im2col"
    rule = "every convolution"

    def forward(self, backend, x, w, b, geometry, needs):
        """``(y, backward)``; ``needs`` is ``(input, weight, bias)`` gradient flags."""
        args = (geometry.kernel, geometry.stride, geometry.padding, geometry.dilation)
        cols = backend.im2col(x, *args, geometry.groups, geometry.out)
        y = add_bias(weight_times_cols(backend, w, cols, x.shape[0], geometry.out), b)
        cols = cols if needs[1] else None  # only the weight gradient needs the im2col matrix

        def backward(g):
            rows = output_rows(g, geometry.groups)
            gx = gw = None
            if needs[0]:
                gx = backend.col2im(weight_transposed_times(backend, w, rows), x.shape, *args, geometry.out)
            if needs[1]:
                gw = weight_grad(backend, rows, cols, w.shape)
            return gx, gw, bias_grad(g) if needs[2] else None
        return y, backward


#: Output channels from which the channels-last GEMM is the automatic choice (``benchmarks/RESULTS.md``).
NHWC_MIN_OUT_CHANNELS = 32


class GemmChannelsLast(Algorithm):
    """``cols (N * L, K * C) @ w (K * C, O)``, whose product is the channels-last output.

    With output positions as the GEMM's rows, the result ``(N * L, O)`` already
    is the channels-last output; ``(N, O, *out)`` is returned as a free
    transposed view of it, which relu and pooling keep and the next convolution
    reads as channels-last windows. Backward: ``grad (N * L, O)`` is a free view
    of a channels-last gradient; ``dW = cols^T grad`` and ``dcols^T = W^T
    grad^T``, added back by ``col2im``. Reference: Chellapilla et al., "High
    Performance Convolutional Neural Networks for Document Processing" (2006).
    """

    name = "gemm_nhwc"
    rule = "one-group convolutions (groups=1)"

    def refusal(self, geometry):
        return None if geometry.groups == 1 else f"groups={geometry.groups}"

    def preferred(self, geometry):
        return geometry.out_channels >= NHWC_MIN_OUT_CHANNELS

    def forward(self, backend, x, w, b, geometry, needs):
        xp = get_array_module(x)
        layout = window_layout(x.shape, geometry.kernel, geometry.out)
        cols, w_cols = cols_and_weight(backend, x, w, geometry, layout)
        y = backend.matmul(cols, w_cols)  # (N * L, O)
        if b is not None:
            y += b
        y = channels_first(y.reshape((x.shape[0],) + tuple(geometry.out) + (w.shape[0],)))
        cols = cols if needs[1] else None
        args = (geometry.kernel, geometry.stride, geometry.padding, geometry.dilation, geometry.out)

        def backward(g):
            rows = channels_last(g).reshape(-1, g.shape[1])  # (N * L, O); a copy only if g is channels-first
            gx = gw = gb = None
            if needs[0]:
                w_rows = xp.ascontiguousarray(w.reshape(w.shape[0], -1).T)  # (C * K, O)
                gx = backend.col2im(backend.matmul(w_rows, rows.T)[None], x.shape, *args)
            if needs[1]:
                gw = weight_from_columns(backend.matmul(cols.T, rows), w.shape, layout)
            if needs[2]:
                gb = rows.sum(axis=0)
            return gx, gw, gb
        return y, backward


#: Input and output channels from which Winograd is the automatic choice (``benchmarks/RESULTS.md``).
WINOGRAD_MIN_CHANNELS = 128


class Winograd(Algorithm):
    """Winograd's F(2x2, 3x3) (:mod:`.winograd`): 16 GEMMs of ``O x C`` on transformed tiles."""

    name = "winograd"
    rule = "2-D 3x3 convolutions with stride 1, dilation 1 and groups=1"

    def refusal(self, geometry):
        if len(geometry.kernel) != 2 or tuple(geometry.kernel) != (3, 3):
            return f"kernel {tuple(geometry.kernel)}"
        for name in ("stride", "dilation"):
            if tuple(getattr(geometry, name)) != (1, 1):
                return f"{name}={tuple(getattr(geometry, name))}"
        return None if geometry.groups == 1 else f"groups={geometry.groups}"

    def preferred(self, geometry):
        return min(geometry.in_channels, geometry.out_channels) >= WINOGRAD_MIN_CHANNELS

    def forward(self, backend, x, w, b, geometry, needs):
        padded = backend.pad_constant(x, geometry.padding)
        y, winograd_backward = winograd.conv3x3(backend, padded, w, needs[:2])
        y = add_bias(y, b)

        def backward(g):
            gx, gw = winograd_backward(g)
            if gx is not None:
                gx = gx[unpad_index(geometry.padding, x.shape[2:])]
            return gx, gw, bias_grad(g) if needs[2] else None
        return y, backward


#: The NumPy backend's convolution algorithms, most specialised first: the automatic choice takes
#: the first that applies and prefers the shapes; im2col takes everything else.
ALGORITHMS = (Winograd(), GemmChannelsLast(), Im2col())
