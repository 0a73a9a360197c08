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
path, a channels-last GEMM (output positions as the GEMM's rows, so the product
is the channels-last output and no transposing copy is made; for wide layers)
and Winograd's F(2x2, 3x3) (:mod:`cnnlab.ops.winograd`) for 3x3 stride-1
convolutions with enough channels to make the GEMMs dominate. All agree to
float32 round-off; tests check each against the others and against PyTorch.
"""
from ..backend import xp
from ..shapes import conv_output_size
from ..tensor import from_op
from . import winograd
from .blas import matmul
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


# ------------------------------------------------------ channels-last im2col


def channels_last(x):
    """``x (N, C, *spatial)`` viewed as ``(N, *spatial, C)``; free, and contiguous when ``x`` is an NHWC view."""
    return x.transpose((0,) + tuple(range(2, x.ndim)) + (1,))


def channels_first(y):
    """The inverse view of :func:`channels_last`: ``(N, *spatial, C)`` as ``(N, C, *spatial)``."""
    return y.transpose((0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))


def pad_channels_last(x, padding):
    """``x (N, *spatial, C)`` zero-padded by ``((before, after), ...)`` per spatial dim, as a contiguous array."""
    if not any(b or a for b, a in padding):
        return xp.ascontiguousarray(x)
    shape = (x.shape[0],) + tuple(n + b + a for n, (b, a) in zip(x.shape[1:-1], padding)) + x.shape[-1:]
    out = xp.zeros(shape, dtype=x.dtype)
    out[_interior(padding, x.shape[1:-1])] = x
    return out


def _interior(padding, inner):
    """The index of the unpadded interior of a padded ``(N, *spatial, C)`` array."""
    return (slice(None),) + tuple(slice(b, b + n) for (b, _), n in zip(padding, inner)) + (slice(None),)


def _tap_windows(x, kernel, stride, dilation, out):
    """A view ``(N, *out, *kernel, C)`` of the windows of a padded channels-last ``x (N, *spatial, C)``."""
    strides = x.strides
    view_strides = ((strides[0],) + tuple(st * s for st, s in zip(strides[1:-1], stride))
                    + tuple(st * d for st, d in zip(strides[1:-1], dilation)) + strides[-1:])
    shape = x.shape[:1] + tuple(out) + tuple(kernel) + x.shape[-1:]
    return xp.lib.stride_tricks.as_strided(x, shape, view_strides, writeable=False)


def im2col_channels_last(x, kernel, stride, padding, dilation, out):
    """The windows of ``x (N, C, *in)`` as one matrix ``(N * L, K * C)``: rows ``(n, *out)``, columns ``(*k, c)``.

    The idea: in channels-last memory one window row (``kw`` taps of ``C``
    channels) is a contiguous run of ``kw * C`` numbers, so the one copy of the
    input moves runs of memory rather than single numbers, and the GEMM's output
    ``(N * L, O)`` is already the channels-last output, needing no transpose.
    ``x`` is made channels-last (and padded) first unless it already is.
    """
    padded = pad_channels_last(channels_last(x), padding)
    windows = _tap_windows(padded, kernel, stride, dilation, out)
    return windows.reshape(x.shape[0] * _prod(out), _prod(kernel) * x.shape[1])


def window_layout(x_shape, kernel, out):
    """Which im2col copy :func:`conv` with ``algorithm='gemm_nhwc'`` makes: ``'channels_last'`` or ``'channels_first'``.

    The copy is fastest with the longest contiguous runs: a window row holds
    ``kw * C`` contiguous numbers in channels-last memory, an output row ``W_out``
    contiguous numbers in channels-first memory; the longer run wins (ties go
    channels-last).
    """
    return "channels_last" if kernel[-1] * x_shape[1] >= out[-1] else "channels_first"


def _cols_and_weight(x, w, kernel, stride, padding, dilation, out):
    """The im2col matrix ``(N * L, K * C)`` of ``x`` and the weight as the matching ``(K * C, O)`` matrix."""
    if window_layout(x.shape, kernel, out) == "channels_last":
        cols = im2col_channels_last(x, kernel, stride, padding, dilation, out)  # columns (*k, c)
        return cols, xp.ascontiguousarray(channels_last(w).reshape(w.shape[0], -1).T)
    cols = im2col(x, kernel, stride, padding, dilation, 1, out)[0].T  # columns (c, *k), a transposed view
    return cols, xp.ascontiguousarray(w.reshape(w.shape[0], -1).T)


def _weight_from_columns(gw, w_shape, layout):
    """A ``(K * C, O)`` weight-gradient matrix as ``(O, C, *k)``."""
    if layout == "channels_first":
        return xp.ascontiguousarray(gw.T).reshape(w_shape)
    gw = gw.T.reshape((w_shape[0],) + tuple(w_shape[2:]) + (w_shape[1],))
    return xp.ascontiguousarray(channels_first(gw))


def _conv_gemm_nhwc(x, w, b, stride, padding, dilation):
    """:func:`conv` (one group) as ``cols (N * L, K * C) @ w (K * C, O)``, whose product is channels-last.

    The idea: with output positions as the GEMM's rows, its result ``(N * L, O)``
    already is the channels-last output; ``(N, O, *out)`` is returned as a free
    transposed view of it (no transposing copy), which relu and pooling keep and
    the next convolution reads as channels-last windows. The bias is added in
    place. The im2col copy takes the layout :func:`window_layout` picks.
    Backward: ``grad (N * L, O)`` is a free view of a channels-last gradient;
    ``dW = cols^T grad`` and ``dcols^T = W^T grad^T`` (``(C * K, N * L)``, which
    :func:`col2im` adds back with one strided slice per tap). Reference:
    Chellapilla et al., "High Performance Convolutional Neural Networks for
    Document Processing" (2006).
    """
    kernel = w.shape[2:]
    out = conv_output_shape(x.shape[2:], kernel, stride, padding, dilation)
    layout = window_layout(x.shape, kernel, out)
    cols, w_cols = _cols_and_weight(x.data, w.data, kernel, stride, padding, dilation, out)
    y = matmul(cols, w_cols)  # (N * L, O)
    if b is not None:
        y += b.data
    y = channels_first(y.reshape((x.shape[0],) + tuple(out) + (w.shape[0],)))
    if not w.requires_grad:
        cols = None

    def backward(g):
        rows = channels_last(g).reshape(-1, g.shape[1])  # (N * L, O); a copy only if g is channels-first
        gx = gw = gb = None
        if x.requires_grad:
            w_rows = xp.ascontiguousarray(w.data.reshape(w.shape[0], -1).T)  # (C * K, O)
            gx = col2im(matmul(w_rows, rows.T)[None], x.shape, kernel, stride, padding, dilation, out)
        if w.requires_grad:
            gw = _weight_from_columns(matmul(cols.T, rows), w.shape, layout)
        if b is not None and b.requires_grad:
            gb = rows.sum(axis=0)
        return gx, gw, gb
    return from_op(y, (x, w) if b is None else (x, w, b), backward)


# --------------------------------------------------------------- the GEMMs


def weight_times_cols(w, cols, batch, out):
    """The convolution's output ``(N, O, *out)``: ``w (O, C/G, *k)`` times the im2col matrix, one batched GEMM."""
    groups = cols.shape[0]
    rows = matmul(_weight_matrix(w, groups), cols)  # (G, O/G, N * L)
    y = rows.reshape(w.shape[0], batch, _prod(out)).transpose(1, 0, 2)
    return xp.ascontiguousarray(y).reshape((batch, w.shape[0]) + tuple(out))


def weight_transposed_times(w, rows):
    """The columns' gradient ``w^T @ rows``: ``(G, C/G * K, N * L)`` from output rows ``(G, O/G, N * L)``."""
    return matmul(_weight_matrix(w, rows.shape[0]).swapaxes(-1, -2), rows)


def weight_grad(rows, cols, weight_shape):
    """The weight's gradient ``rows @ cols^T``, one batched GEMM, reshaped to ``weight_shape``.

    Computed as ``(cols @ rows^T)^T``: the same numbers, but multi-threaded OpenBLAS can
    stall for seconds on the other orientation (small result, huge shared axis) when one
    core is busy (measured 0.9-1.8 s against 60 ms at ``(64, 73728) @ (73728, 576)``).
    """
    return matmul(cols, rows.swapaxes(-1, -2)).swapaxes(-1, -2).reshape(weight_shape)


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


#: The channels-last GEMM pays on wide layers, where the output transposes and the weight-gradient
#: GEMM orientation of the im2col path cost most and the activations can stay channels-last between
#: layers: keras_mnist_convnet inference 580 -> 410 ms per batch of 512 (2 cores, one busy), while on
#: 6-16-channel layers (lenet5, simple_cnn, tiny_vgg) im2col stayed faster (lenet5 step 37 vs 56 ms).
NHWC_MIN_OUT_CHANNELS = 32

# A per-sample GEMM for the narrow layers (``w (O, C*K) @ cols_n (C*K, L)`` batched over samples, whose
# product already is the NCHW output, so no transposing copy) was measured and dropped: on the idle machine,
# same BLAS settings, training steps were level with im2col's (lenet5 5230 vs 5380 img/s, simple_cnn 6200
# vs 6200) and batch-512 inference slower (lenet5 23600 vs 24900, simple_cnn 13800 vs 15700).


def conv_algorithm(x_shape, w_shape, stride, dilation, groups):
    """The algorithm :func:`conv` uses for these shapes: ``'winograd'``, ``'gemm_nhwc'`` or ``'im2col'``.

    Winograd F(2x2, 3x3) serves 2-D 3x3 kernels with stride 1, dilation 1, one
    group and at least ``WINOGRAD_MIN_CHANNELS`` input and output channels; the
    channels-last GEMM (:func:`_conv_gemm_nhwc`) serves other one-group layers with
    at least ``NHWC_MIN_OUT_CHANNELS`` output channels; im2col the rest. The rule
    depends only on the shapes, so a layer always takes the same path.
    """
    if (len(w_shape) == 4 and tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1) and groups == 1
            and min(x_shape[1], w_shape[0]) >= WINOGRAD_MIN_CHANNELS):
        return "winograd"
    if groups == 1 and w_shape[0] >= NHWC_MIN_OUT_CHANNELS:
        return "gemm_nhwc"
    return "im2col"


def conv(x, w, b, stride, padding, dilation, groups, algorithm="auto"):
    """Convolution (cross-correlation) of ``x (N, C, *in)`` with ``w (O, C/groups, *k)``, plus ``b (O,)`` or None.

    ``stride`` and ``dilation`` are tuples, ``padding`` is ``((before, after), ...)``,
    one entry per spatial dim; arguments are already validated. ``algorithm`` is
    ``'auto'`` (:func:`conv_algorithm`'s choice), ``'im2col'``, ``'gemm_nhwc'``
    (one group only) or ``'winograd'`` (which must apply).
    """
    if algorithm == "auto":
        algorithm = conv_algorithm(x.shape, w.shape, stride, dilation, groups)
    if algorithm == "winograd":
        return _conv_winograd(x, w, b, padding)
    if algorithm == "gemm_nhwc":
        return _conv_gemm_nhwc(x, w, b, stride, padding, dilation)
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
