"""Convolution as im2col and one GEMM, its transpose (the adjoint), and padding.

The layout (as in Chainer and Caffe): ``im2col`` copies the windows of the
padded input once into a matrix ``cols`` of shape ``(G, C/G * K, N * L)``
(``G`` groups, ``K`` kernel taps, ``L`` output positions); the output is the
batched product ``w (G, O/G, C/G * K) @ cols``, one GEMM for every group at once.
Backward reuses ``cols`` for the weight gradient (one GEMM) and sends the
output gradient back through ``w`` (one GEMM) and ``col2im`` for the input.

The Tensor ops ``conv`` and ``conv_transpose`` reach the arithmetic only
through ``im2col``/``col2im`` and the three products (``weight_times_cols``,
``weight_transposed_times``, ``weight_grad``), so other algorithms plug in beside them: :func:`conv_algorithm` picks, by a
fixed and inspectable rule on the layer's shape, between this im2col + GEMM
path and Winograd's F(2x2, 3x3) (:mod:`cnnlab.ops.winograd`) for 3x3 stride-1
convolutions with enough channels to make the GEMMs dominate. Both agree to
float32 round-off; tests check each against the other and against PyTorch.
"""
from ..backend import xp
from ..shapes import conv_output_size
from ..tensor import from_op
from . import winograd
from .window import pad_constant, scatter_windows, sliding_windows, unpad_index

# ------------------------------------------------------------------ shapes


def conv_transpose_output_size(n, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of a transposed convolution over ``n`` input positions::

        out = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1

    It is the input length of the convolution whose adjoint this is.

    >>> conv_transpose_output_size(14, 4, stride=2, padding=1)
    28
    """
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_output_shape(spatial, kernel, stride, padding, dilation):
    """Output spatial shape of a convolution; ``padding`` is ``((before, after), ...)``."""
    return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))


# ----------------------------------------------------------- im2col / col2im


def im2col(x, kernel, stride, padding, dilation, groups, out):
    """The windows of ``x (N, C, *in)`` as a matrix ``(G, C/G * K, N * L)``: the one copy of the input.

    ``padding`` is ``((before, after), ...)``; ``out`` the output spatial shape.
    """
    batch, channels, nd = x.shape[0], x.shape[1], len(kernel)
    windows = sliding_windows(pad_constant(x, padding), kernel, stride, dilation, out)  # (N, C, *out, *k)
    windows = windows.reshape((batch, groups, channels // groups) + windows.shape[2:])
    # (N, G, Cg, *out, *k) -> (G, Cg, *k, N, *out)
    order = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    cols = xp.ascontiguousarray(windows.transpose(order))
    return cols.reshape(groups, channels // groups * _prod(kernel), batch * _prod(out))


def col2im(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of ``im2col``: add the ``(G, C/G * K, N * L)`` columns back into an ``input_shape`` array."""
    batch, channels, nd = input_shape[0], input_shape[1], len(kernel)
    groups = cols.shape[0]
    cols = cols.reshape((groups, channels // groups) + tuple(kernel) + (batch,) + tuple(out))
    # (G, Cg, *k, N, *out) -> (N, G, Cg, *out, *k) -> (N, C, *out, *k), still a view
    order = (2 + nd, 0, 1) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(2, 2 + nd))
    windows = cols.transpose(order).reshape((batch, channels) + tuple(out) + tuple(kernel))
    padded = input_shape[:2] + tuple(n + b + a for n, (b, a) in zip(input_shape[2:], padding))
    grad = scatter_windows(windows, padded, kernel, stride, dilation)
    return grad[unpad_index(padding, input_shape[2:])]


def output_rows(y, groups):
    """``y (N, O, *out)`` as the GEMM's output matrix ``(G, O/G, N * L)``."""
    batch, channels = y.shape[:2]
    positions = _prod(y.shape[2:])
    rows = y.reshape(batch, groups, channels // groups, positions).transpose(1, 2, 0, 3)
    return rows.reshape(groups, channels // groups, batch * positions)


# --------------------------------------------------------------- the GEMMs


def weight_times_cols(w, cols, batch, out):
    """The convolution's output ``(N, O, *out)``: ``w (O, C/G, *k)`` times the im2col matrix, one batched GEMM."""
    groups = cols.shape[0]
    rows = _weight_matrix(w, groups) @ cols  # (G, O/G, N * L)
    y = rows.reshape(w.shape[0], batch, _prod(out)).transpose(1, 0, 2)
    return xp.ascontiguousarray(y).reshape((batch, w.shape[0]) + tuple(out))


def weight_transposed_times(w, rows):
    """The columns' gradient ``w^T @ rows``: ``(G, C/G * K, N * L)`` from output rows ``(G, O/G, N * L)``."""
    return _weight_matrix(w, rows.shape[0]).swapaxes(-1, -2) @ rows


def weight_grad(rows, cols, weight_shape):
    """The weight's gradient ``rows @ cols^T``, one batched GEMM, reshaped to ``weight_shape``."""
    return (rows @ cols.swapaxes(-1, -2)).reshape(weight_shape)


def _weight_matrix(w, groups):
    return w.reshape(groups, w.shape[0] // groups, _prod(w.shape[1:]))


def _prod(sizes):
    total = 1
    for n in sizes:
        total *= n
    return total


def _add_bias(y, b):
    if b is not None:
        y += b.data.reshape((-1,) + (1,) * (y.ndim - 2))
    return y


def _bias_grad(g, b):
    if b is None or not b.requires_grad:
        return None
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


# ---------------------------------------------------------------- Tensor ops


#: Winograd pays once its 16 GEMMs outweigh its transforms, which are memory-bound in NumPy
#: (``V`` is 4x the input): measured at batch 128 on 2 cores, 128 -> 128 channels on 10x10 maps
#: takes 55 ms forward + backward against im2col's 74 ms, but 64 -> 64 on 26x26 takes 177 ms
#: against 164 ms. So both channel counts must reach this.
WINOGRAD_MIN_CHANNELS = 128


def conv_algorithm(x_shape, w_shape, stride, dilation, groups):
    """The algorithm :func:`conv` uses for these shapes: ``'winograd'`` or ``'im2col'``.

    Winograd F(2x2, 3x3) serves 2-D 3x3 kernels with stride 1, dilation 1, one
    group and at least ``WINOGRAD_MIN_CHANNELS`` input and output channels; the
    rule depends only on the shapes, so a layer always takes the same path.
    """
    if (len(w_shape) == 4 and tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1
            and min(x_shape[1], w_shape[0]) >= WINOGRAD_MIN_CHANNELS):
        return "winograd"
    return "im2col"


def conv(x, w, b, stride, padding, dilation, groups, algorithm="auto"):
    """Convolution (cross-correlation) of ``x (N, C, *in)`` with ``w (O, C/groups, *k)``, plus ``b (O,)`` or None.

    ``stride`` and ``dilation`` are tuples, ``padding`` is ``((before, after), ...)``,
    one entry per spatial dim; arguments are already validated. ``algorithm`` is
    ``'auto'`` (:func:`conv_algorithm`'s choice), ``'im2col'`` or ``'winograd'``
    (which must apply).
    """
    if algorithm == "auto":
        algorithm = conv_algorithm(x.shape, w.shape, stride, dilation, groups)
    if algorithm == "winograd":
        return _conv_winograd(x, w, b, padding)
    kernel = w.shape[2:]
    out = conv_output_shape(x.shape[2:], kernel, stride, padding, dilation)
    cols = im2col(x.data, kernel, stride, padding, dilation, groups, out)
    y = _add_bias(weight_times_cols(w.data, cols, x.shape[0], out), b)
    if not w.requires_grad:
        cols = None  # only the weight gradient needs the im2col matrix

    def backward(g):
        rows = output_rows(g, groups)
        gx = gw = None
        if x.requires_grad:
            gx = col2im(weight_transposed_times(w.data, rows), x.shape, kernel, stride, padding, dilation, out)
        if w.requires_grad:
            gw = weight_grad(rows, cols, w.shape)
        return gx, gw, _bias_grad(g, b)
    return from_op(y, (x, w) if b is None else (x, w, b), backward)


def _conv_winograd(x, w, b, padding):
    """:func:`conv` through Winograd's F(2x2, 3x3) (:func:`cnnlab.ops.winograd.conv3x3`)."""
    padded = pad_constant(x.data, padding)
    y, winograd_backward = winograd.conv3x3(padded, w.data, (x.requires_grad, w.requires_grad))
    y = _add_bias(y, b)

    def backward(g):
        gx, gw = winograd_backward(g)
        if gx is not None:
            gx = gx[unpad_index(padding, x.shape[2:])]
        return gx, gw, _bias_grad(g, b)
    return from_op(y, (x, w) if b is None else (x, w, b), backward)


def conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups):
    """Transposed convolution of ``x (N, C_in, *in)`` with ``w (C_in, C_out/groups, *k)``: the adjoint of ``conv``.

    Its forward is the convolution's input gradient; its backward is the
    convolution's forward (input) and weight gradient (weight). ``padding`` and
    ``output_padding`` are tuples of ints; arguments are already validated.
    """
    kernel = w.shape[2:]
    out_size = tuple(conv_transpose_output_size(n, k, s, p, op, d)
                     for n, k, s, p, op, d in zip(x.shape[2:], kernel, stride, padding, output_padding, dilation))
    out_shape = (x.shape[0], w.shape[1] * groups) + out_size
    pads = tuple((p, p) for p in padding)
    rows = output_rows(x.data, groups)
    y = col2im(weight_transposed_times(w.data, rows), out_shape, kernel, stride, pads, dilation, x.shape[2:])
    y = _add_bias(y, b)
    if not w.requires_grad:
        rows = None  # only the weight gradient needs the input's rows

    def backward(g):
        cols = im2col(g, kernel, stride, pads, dilation, groups, x.shape[2:])
        gx = weight_times_cols(w.data, cols, x.shape[0], x.shape[2:]) if x.requires_grad else None
        gw = weight_grad(rows, cols, w.shape) if w.requires_grad else None
        return gx, gw, _bias_grad(g, b)
    return from_op(y, (x, w) if b is None else (x, w, b), backward)


# ------------------------------------------------------------------- padding


def pad_source_index(n, before, after, mode):
    """For each position along a padded dim of length ``n``, the input position it copies.

    ``reflect`` mirrors about the edge without repeating it, ``replicate`` repeats
    the edge, ``circular`` wraps around. Negative pads crop, as in PyTorch (for
    ``circular`` the crop comes first).

    >>> pad_source_index(4, 2, 1, "reflect")
    array([2, 1, 0, 1, 2, 3, 2])
    """
    if mode == "circular":
        low, kept = max(-before, 0), n - max(-before, 0) - max(-after, 0)
        return low + xp.arange(-max(before, 0), kept + max(after, 0)) % kept
    j = xp.arange(-before, n + after)
    if mode == "reflect":
        return (n - 1) - xp.abs((n - 1) - xp.abs(j))
    return xp.clip(j, 0, n - 1)


def pad(x, pads, mode="constant", value=0.0):
    """``x`` padded by ``pads = ((before, after), ...)`` over its trailing dims; negative pads crop.

    ``mode`` is 'constant' (fill with ``value``), 'reflect', 'replicate' or
    'circular'; arguments are already validated.
    """
    if mode == "constant":
        return _pad_constant(x, pads, value)
    lead = x.ndim - len(pads)
    steps = [(lead + i, pad_source_index(n, b, a, mode), b, a)
             for i, (n, (b, a)) in enumerate(zip(x.shape[lead:], pads)) if b or a]
    y = x.data
    for axis, index, _, _ in steps:
        y = xp.take(y, index, axis=axis)

    def backward(g):
        for axis, index, before, after in reversed(steps):
            g = _take_adjoint(g, axis, index, before, after)
        return (g,)
    return from_op(y, (x,), backward)


def _take_adjoint(g, axis, index, before, after):
    """The gradient of ``take(x, index, axis)``: copy the interior, scatter-add the border."""
    n = g.shape[axis] - before - after
    start, low = max(before, 0), max(-before, 0)
    kept = n - low - max(-after, 0)
    shape = g.shape[:axis] + (n,) + g.shape[axis + 1:]
    grad = xp.zeros(shape, dtype=g.dtype)
    at = (slice(None),) * axis
    grad[at + (slice(low, low + kept),)] = g[at + (slice(start, start + kept),)]
    border = xp.concatenate([xp.arange(start), xp.arange(start + kept, len(index))])
    xp.add.at(grad, at + (index[border],), xp.take(g, border, axis=axis))
    return grad


def _pad_constant(x, pads, value):
    lead = x.ndim - len(pads)
    crop = (Ellipsis,) + tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(x.shape[lead:], pads))
    grow = tuple((max(b, 0), max(a, 0)) for b, a in pads)
    cropped = x.data[crop]
    y = pad_constant(cropped, grow, value)

    def backward(g):
        inner = g[unpad_index(grow, cropped.shape[lead:])]
        if inner.shape == x.shape:
            return (inner,)
        grad = xp.zeros(x.shape, dtype=g.dtype)
        grad[crop] = inner
        return (grad,)
    return from_op(y, (x,), backward)
