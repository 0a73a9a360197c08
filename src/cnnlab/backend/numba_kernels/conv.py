"""2-D convolution (one group) for narrow layers: im2col in cache-sized blocks of output rows, each fed to a small GEMM.

The idea: the im2col + GEMM of :mod:`cnnlab.backend.numpy_backend.conv` writes the whole window
matrix ``(C * kh * kw, N * OH * OW)`` to memory and reads it back, and on narrow
layers (6-16 output channels) that traffic and the transposes around the skinny
GEMM cost more than the arithmetic. Here the threads take samples one at a time
(a dynamic schedule, so a thread slowed by another process holds up little),
each as a flat padded buffer (a view of ``x`` when the layer has no padding,
else a zero-bordered copy in the thread's buffer), and walk the sample's output
rows in blocks of ``block_rows`` rows: per block the thread copies the windows
into ``cols (K, m)`` (``K = C * kh * kw``) and multiplies by the weight
``w (O, K)`` with one BLAS GEMM (``np.dot`` inside the compiled loop).

With a horizontal stride of 1 each row of ``cols`` is one contiguous run of the
padded sample: the block keeps ``pitch`` = padded width columns per output row,
of which the first ``OW`` are outputs and the rest are computed and dropped
(one long copy vectorises, many copies of ``OW`` numbers do not). The block is
sized so that each GEMM does at most ``BLOCK_MNK`` multiply-adds: below that
OpenBLAS runs it on the calling thread, so the GEMMs never start BLAS threads
inside the parallel loop. A caller that has pinned the BLAS to one thread for
the call passes ``blas_pinned=True``, and wide layers get the larger
``WIDE_BLOCK_MNK`` and ``WIDE_BLOCK_BYTES`` blocks, whose GEMMs run near the
BLAS's single-core peak: that is what makes the kernels pay on wide layers too
(:func:`applies`); narrow layers keep the small blocks.

Forward: ``y[block] = w @ cols + b``. Backward, per block, with ``g (O, m)`` the
output gradient's block (zeros in the dropped columns): ``gw^T += cols @ g^T``
(per-sample partial sums, reduced in sample order at the end, so the result does
not depend on which thread took which sample), ``gx += col2im(w^T @ g)`` (into
the thread's padded buffer, whose interior is the sample's ``gx``) and
``gb += g.sum(1)``.

Layouts: ``x`` is read as C-contiguous NCHW (a channels-last view is copied to
NCHW first); ``y`` and ``gx`` are C-contiguous NCHW. float32 and float64 compile
separately. Reference: Chellapilla et al., "High Performance Convolutional
Neural Networks for Document Processing" (2006).
"""
import numba
import numpy as np

#: Largest GEMM (``O * K * m`` multiply-adds) per block: OpenBLAS keeps products up to
#: 65536 * 4 multiply-adds on the calling thread.
BLOCK_MNK = 1 << 18

#: Largest window buffer ``cols (K, m)`` per block, in bytes (a share of a core's L2).
BLOCK_BYTES = 1 << 18

#: The same two limits when the caller has pinned the BLAS to one thread (``blas_pinned=True``).
WIDE_BLOCK_MNK = 1 << 24
WIDE_BLOCK_BYTES = 1 << 21

#: Largest layer the kernels are the better choice for (see :func:`applies`).
MAX_OUT_CHANNELS = 16
MAX_TAPS = 150


# ------------------------------------------------------------------ public


def applies(x_shape, w_shape, stride, padding, dilation, groups, blas_pinned=False):
    """True when these kernels beat im2col + one GEMM for this layer.

    With the BLAS pinned to one thread (large blocks) they serve every 2-D layer
    of one group; otherwise only those with at most ``MAX_OUT_CHANNELS`` output
    channels and at most ``MAX_TAPS`` weights per output channel (``C * kh * kw``),
    the narrow layers of lenet5, simple_cnn and tiny_vgg, as measured in
    ``benchmarks/numba_conv.py``; wider ones keep one large GEMM.
    """
    if len(x_shape) != 4 or len(w_shape) != 4 or groups != 1:
        return False
    return blas_pinned or _narrow(w_shape)


def _narrow(w_shape):
    """At most ``MAX_OUT_CHANNELS`` output channels and ``MAX_TAPS`` weights per output channel."""
    return w_shape[0] <= MAX_OUT_CHANNELS and w_shape[1] * w_shape[2] * w_shape[3] <= MAX_TAPS


def conv2d_forward(x, w, b, stride, padding, dilation, blas_pinned=False):
    """Cross-correlation of ``x (N, C, H, W)`` with ``w (O, C, kh, kw)``, plus ``b (O,)`` or None.

    ``stride`` and ``dilation`` are pairs, ``padding`` is ``((top, bottom), (left,
    right))``. Returns ``y (N, O, OH, OW)``, C-contiguous, with
    ``OH = (H + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1`` (``OW`` alike).

    >>> x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    >>> conv2d_forward(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1))[0, 0]
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    x, w = _operands(x, w)
    geometry = _geometry(x.shape, w.shape, stride, padding, dilation)
    bias = np.zeros(w.shape[0], x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    y = np.empty((x.shape[0], w.shape[0], geometry[10], geometry[11]), x.dtype)
    with numba.parallel_chunksize(1):
        _forward(x, w.reshape(w.shape[0], -1), bias, geometry, _block_rows(w.shape, geometry, blas_pinned),
                 numba.get_num_threads(), y)
    return y


def conv2d_backward(g, x, w, stride, padding, dilation, need_input, need_weight, need_bias, blas_pinned=False):
    """The gradients ``(gx, gw, gb)`` of :func:`conv2d_forward` for the output gradient ``g (N, O, OH, OW)``.

    Each is None unless its ``need_*`` flag is set; ``gx`` has ``x``'s shape
    (C-contiguous NCHW), ``gw`` ``w``'s, ``gb`` is ``(O,)``.
    """
    if not (need_input or need_weight):
        return None, None, np.asarray(g).sum(axis=(0, 2, 3)) if need_bias else None
    x, w = _operands(x, w)
    g = np.ascontiguousarray(g, dtype=x.dtype)
    geometry = _geometry(x.shape, w.shape, stride, padding, dilation)
    gx = np.empty(x.shape if need_input else (0,) + x.shape[1:], x.dtype)
    gw = np.zeros((x.shape[0] if need_weight else 0, w[0].size, w.shape[0]), x.dtype)
    gb = np.zeros((x.shape[0], w.shape[0]), x.dtype)
    with numba.parallel_chunksize(1):
        _backward(g, x, w.reshape(w.shape[0], -1), geometry, _block_rows(w.shape, geometry, blas_pinned),
                  numba.get_num_threads(), bool(need_input), bool(need_weight), gx, gw, gb)
    return (gx if need_input else None, gw.sum(axis=0).T.reshape(w.shape) if need_weight else None,
            gb.sum(axis=0) if need_bias else None)


# ------------------------------------------------------------- arguments


def _operands(x, w):
    """``x`` and ``w`` as C-contiguous arrays of one float dtype (float32 unless either is float64)."""
    dtype = np.float64 if np.float64 in (x.dtype, w.dtype) else np.float32
    return np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(w, dtype=dtype)


def _geometry(x_shape, w_shape, stride, padding, dilation):
    """The ints a kernel needs: ``(kh, kw, sh, sw, dh, dw, top, left, padded H, padded W, OH, OW)``."""
    (top, bottom), (left, right) = padding
    padded = (x_shape[2] + top + bottom, x_shape[3] + left + right)
    out = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(padded, w_shape[2:], stride, dilation))
    if min(out) < 1:
        raise ValueError(f"conv2d: the padded input must hold one dilated kernel, but got input {tuple(x_shape)}, "
                         f"padding {padding}, kernel {tuple(w_shape[2:])}, dilation {tuple(dilation)}")
    return tuple(int(v) for v in (*w_shape[2:], *stride, *dilation, top, left, *padded, *out))


def _block_rows(w_shape, geometry, blas_pinned):
    """Output rows per block: few enough to keep the GEMM within ``BLOCK_MNK`` and ``cols`` within ``BLOCK_BYTES``
    (``WIDE_BLOCK_MNK`` and ``WIDE_BLOCK_BYTES`` for a wide layer when the BLAS is pinned to one thread).

    The sample's rows are split into blocks of equal size (up to one row).
    """
    taps = w_shape[1] * w_shape[2] * w_shape[3]
    wide = blas_pinned and not _narrow(w_shape)
    mnk, size = (WIDE_BLOCK_MNK, WIDE_BLOCK_BYTES) if wide else (BLOCK_MNK, BLOCK_BYTES)
    positions = min(mnk // (w_shape[0] * taps), size // (8 * taps))
    most, rows = max(1, positions // _pitch(geometry)), geometry[10]
    blocks = -(-rows // most)
    return -(-rows // blocks)


@numba.njit(cache=True)
def _pitch(geometry):
    """Columns per output row in a block: the padded width when the horizontal stride is 1, else ``OW``."""
    return geometry[9] if geometry[3] == 1 else geometry[11]


# --------------------------------------------------------------- kernels


@numba.njit(parallel=True, cache=True)
def _forward(x, w, b, geometry, block_rows, threads, y):
    """``y (N, O, OH, OW) = w (O, K) @ im2col(x) + b``, block by block, samples in parallel."""
    out_channels, taps, out_rows = w.shape[0], w.shape[1], geometry[10]
    size = block_rows * _pitch(geometry)
    padded = _padded_buffers(threads, x.shape[1], geometry, x.dtype)
    cols, prod = np.empty((threads, taps * size), x.dtype), np.empty((threads, out_channels * size), x.dtype)
    for n in numba.prange(x.shape[0]):
        t = numba.get_thread_id()
        sample = _sample(x, n, geometry, padded[t])
        for start in range(0, out_rows, block_rows):
            stop = min(start + block_rows, out_rows)
            m = (stop - start) * _pitch(geometry)
            block, out = cols[t, :taps * m].reshape((taps, m)), prod[t, :out_channels * m].reshape((out_channels, m))
            _gather(sample, x.shape[1], geometry, start, stop, block)
            np.dot(w, block, out)
            _store(out, b, _pitch(geometry), geometry[11], start, stop, y[n])


@numba.njit(parallel=True, cache=True)
def _backward(g, x, w, geometry, block_rows, threads, need_input, need_weight, gx, gw, gb):
    """Adds each sample's share of the gradients into ``gw[n] (K, O)`` and ``gb[n]``; writes ``gx`` sample by sample."""
    channels, out_channels, taps = x.shape[1], w.shape[0], w.shape[1]
    out_rows, pitch = geometry[10], _pitch(geometry)
    size = block_rows * pitch
    padded = _padded_buffers(threads, channels, geometry, x.dtype)
    grad_padded = _padded_buffers(threads, channels, geometry, x.dtype)
    cols, grad = np.empty((threads, taps * size), x.dtype), np.empty((threads, out_channels * size), x.dtype)
    product = np.empty((threads, taps, out_channels), x.dtype)
    for n in numba.prange(x.shape[0]):
        t = numba.get_thread_id()
        sample = _sample(x, n, geometry, padded[t]) if need_weight else padded[t]
        if need_input:
            grad_padded[t] = 0
        for start in range(0, out_rows, block_rows):
            stop = min(start + block_rows, out_rows)
            m = (stop - start) * pitch
            block, rows = cols[t, :taps * m].reshape((taps, m)), grad[t, :out_channels * m].reshape((out_channels, m))
            _load(g[n], pitch, geometry[11], start, stop, rows, gb[n])
            if need_weight:
                _gather(sample, channels, geometry, start, stop, block)
                np.dot(block, rows.T, product[t])
                gw[n] += product[t]
            if need_input:
                np.dot(w.T, rows, block)
                _scatter(block, channels, geometry, start, stop, grad_padded[t])
        if need_input:
            _unpad(grad_padded[t], geometry, gx[n])


# ------------------------------------------------------------ padded sample


@numba.njit(cache=True)
def _padded_buffers(threads, channels, geometry, dtype):
    """One zeroed flat buffer per thread for a padded sample ``(C, padded H, padded W)`` and a block row's overrun."""
    kw, dw, height, width = geometry[1], geometry[5], geometry[8], geometry[9]
    return np.zeros((threads, channels * height * width + (kw - 1) * dw + width), dtype)


@numba.njit(cache=True)
def _sample(x, n, geometry, padded):
    """Sample ``n`` as a flat padded sample: a view into ``x`` if it needs no padding, else copied into ``padded``.

    A block row may run up to ``(kw - 1) * dw`` numbers past the sample's end (they
    feed only dropped columns): into the next sample, or the padded buffer's tail
    for the last sample.
    """
    unpadded = geometry[8] == x.shape[2] and geometry[9] == x.shape[3]
    if unpadded and n < x.shape[0] - 1:
        return x.reshape(x.size)[n * x[0].size:]
    _pad_into(x[n], geometry, padded)
    return padded


@numba.njit(cache=True)
def _pad_into(sample, geometry, padded):
    """Copies ``sample (C, H, W)`` into the interior of the flat padded buffer (its border stays zero)."""
    top, left, height, width = geometry[6], geometry[7], geometry[8], geometry[9]
    for c in range(sample.shape[0]):
        for h in range(sample.shape[1]):
            at = (c * height + top + h) * width + left
            _copy(padded[at:at + sample.shape[2]], sample[c, h])


@numba.njit(cache=True)
def _unpad(padded, geometry, sample):
    """Copies the interior of the flat padded buffer into ``sample (C, H, W)``."""
    top, left, height, width = geometry[6], geometry[7], geometry[8], geometry[9]
    for c in range(sample.shape[0]):
        for h in range(sample.shape[1]):
            at = (c * height + top + h) * width + left
            _copy(sample[c, h], padded[at:at + sample.shape[2]])


# ----------------------------------------------------------- block copies


@numba.njit(cache=True)
def _copy(dst, src):
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@numba.njit(cache=True)
def _add(dst, src):
    for k in range(dst.shape[0]):
        dst[k] += src[k]


@numba.njit(cache=True)
def _window_start(c, oh, i, j, geometry):
    """Where tap ``(c, i, j)`` of output row ``oh``'s first window lies in the flat padded sample."""
    sh, dh, dw, height, width = geometry[2], geometry[4], geometry[5], geometry[8], geometry[9]
    return (c * height + oh * sh + i * dh) * width + j * dw


@numba.njit(cache=True)
def _gather(padded, channels, geometry, start, stop, cols):
    """The im2col rows ``(c, i, j)`` of output rows ``[start, stop)`` into ``cols (K, rows * pitch)``."""
    kh, kw, sh, sw = geometry[:4]
    pitch = _pitch(geometry)
    r = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                if sw == 1 and sh == 1:  # the block's row of cols is one run of the padded sample
                    at = _window_start(c, start, i, j, geometry)
                    _copy(cols[r], padded[at:at + cols.shape[1]])
                else:
                    for oh in range(start, stop):
                        at, q = _window_start(c, oh, i, j, geometry), (oh - start) * pitch
                        _copy(cols[r, q:q + pitch], padded[at:at + (pitch - 1) * sw + 1:sw])
                r += 1


@numba.njit(cache=True)
def _scatter(cols, channels, geometry, start, stop, padded):
    """Adds ``cols (K, rows * pitch)`` back into the flat padded sample: the adjoint of ``_gather``."""
    kh, kw, sh, sw = geometry[:4]
    pitch = _pitch(geometry)
    r = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                if sw == 1 and sh == 1:
                    at = _window_start(c, start, i, j, geometry)
                    _add(padded[at:at + cols.shape[1]], cols[r])
                else:
                    for oh in range(start, stop):
                        at, q = _window_start(c, oh, i, j, geometry), (oh - start) * pitch
                        _add(padded[at:at + (pitch - 1) * sw + 1:sw], cols[r, q:q + pitch])
                r += 1


@numba.njit(cache=True)
def _store(out, b, pitch, width, start, stop, y):
    """Writes the first ``width`` columns of each row of ``out (O, rows * pitch)`` plus ``b`` into ``y (O, OH, OW)``."""
    for o in range(out.shape[0]):
        bias = b[o]
        for oh in range(start, stop):
            src, dst = out[o, (oh - start) * pitch:], y[o, oh]
            for k in range(width):
                dst[k] = src[k] + bias


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def _load(g, pitch, width, start, stop, rows, gb):
    """Copies rows ``[start, stop)`` of ``g (O, OH, OW)`` into ``rows (O, rows * pitch)`` and adds their sums to ``gb``.

    The columns of each row past ``width`` (the dropped ones) are zeros.
    """
    for o in range(rows.shape[0]):
        total = 0.0
        for oh in range(start, stop):
            src, dst = g[o, oh], rows[o, (oh - start) * pitch:(oh - start + 1) * pitch]
            for k in range(width):
                dst[k] = src[k]
                total += src[k]
            for k in range(width, pitch):
                dst[k] = 0
        gb[o] += total
