"""im2col and col2im for 2-D convolution, in both column layouts, as compiled loops.

Two matrices of windows (``L = OH * OW`` output positions, ``K = kh * kw`` taps):

- ``im2col``: ``(G, C/G * K, N * L)``, rows ``(c, ki, kj)``, columns ``(n, oh, ow)``
  (Chainer/Caffe); with the groups stacked it is the ``(C * K, N * L)`` matrix.
- ``im2col_channels_last``: ``(N * L, K * C)``, rows ``(n, oh, ow)``, columns ``(ki, kj, c)``.

Tap ``(ki, kj)`` of output ``(oh, ow)`` reads input ``(oh * sh - top + ki * dh,
ow * sw - left + kj * dw)``; taps in the padding read 0, so the padding costs no
padded copy of the input. Along each output row the taps inside the input form
one range of ``ow`` (:func:`tap_range`), copied without a test per element. The
col2im functions are the adjoints (taps accumulate, the padding is dropped).

Each core writes in memory order: ``im2col`` one row of ``cols`` per parallel
iteration (writing the ``(C * K, N * L)`` matrix image by image instead would
scatter every image over all its rows), ``col2im`` one channel and block of
images, the channels-last pair one image. In channels-last memory a window row
(``kw`` taps of ``C`` channels, dilation 1) is one contiguous run, copied as one.
"""
import numba
import numpy as np

from .elementwise import check_4d, in_layout, split_layout

#: Blocks of images per channel in :func:`col2im`'s parallel loop (channels x blocks work items).
COL2IM_BATCH_BLOCKS = 16
#: Index cast: Numba wraps negative signed indices (a select per access, which blocks vectorisation);
#: an unsigned index skips that. Used where an index is known non-negative but LLVM cannot prove it.
u64 = np.uint64


@numba.njit(cache=True)
def tap_range(count, stride, offset, n):
    """``(lo, hi)``: the outputs ``o`` in ``[0, count)`` whose tap ``o * stride + offset`` is inside ``[0, n)``.

    The taps inside the input are one run of outputs, so a loop over it needs no test per element.
    """
    lo = 0 if offset >= 0 else (stride - 1 - offset) // stride
    hi = (n - 1 - offset) // stride + 1 if n - 1 - offset >= 0 else 0
    lo = min(lo, count)
    return lo, max(lo, min(hi, count))


# ---------------------------------------------------- (C * K, N * L) layout
@numba.njit(cache=True, parallel=True)
def _im2col_planes(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh_n, ow_n):
    """NCHW ``x (N, C, H, W)`` into ``cols (C * K, N * L)``, one row of ``cols`` per parallel iteration."""
    batch, channels, height, width = x.shape
    for r in numba.prange(channels * kh * kw):
        c, ki, kj = r // (kh * kw), r // kw % kh, r % kw
        offset = kj * dw - left
        lo, hi = tap_range(ow_n, sw, offset, width)
        for n in range(batch):
            for oh in range(oh_n):
                h = oh * sh - top + ki * dh
                base = (n * oh_n + oh) * ow_n
                if h < 0 or h >= height:
                    lo_h = hi_h = ow_n
                else:
                    lo_h, hi_h = lo, hi
                for o in range(lo_h):
                    cols[r, u64(base + o)] = 0
                for o in range(lo_h, hi_h):
                    cols[r, u64(base + o)] = x[n, c, h, u64(o * sw + offset)]
                for o in range(hi_h, ow_n):
                    cols[r, u64(base + o)] = 0


@numba.njit(cache=True, parallel=True)
def _col2im_planes(cols, grad, kh, kw, sh, sw, top, left, dh, dw, oh_n, ow_n):
    """Adjoint of :func:`_im2col_planes` into ``grad (N, C, H, W)``: one channel and block of images per iteration."""
    batch, channels, height, width = grad.shape
    blocks = min(COL2IM_BATCH_BLOCKS, batch)
    for item in numba.prange(channels * blocks):
        c, block = item // blocks, item % blocks
        first, last = block * batch // blocks, (block + 1) * batch // blocks
        for n in range(first, last):
            for h in range(height):
                for w in range(width):
                    grad[n, c, h, w] = 0
        for ki in range(kh):
            for kj in range(kw):
                r = (c * kh + ki) * kw + kj
                offset = kj * dw - left
                lo, hi = tap_range(ow_n, sw, offset, width)
                for n in range(first, last):
                    for oh in range(oh_n):
                        h = oh * sh - top + ki * dh
                        if 0 <= h < height:
                            base = (n * oh_n + oh) * ow_n
                            for o in range(lo, hi):
                                grad[n, c, h, u64(o * sw + offset)] += cols[r, u64(base + o)]


# ---------------------------------------------------- (N * L, K * C) layout
@numba.njit(cache=True, parallel=True)
def _im2col_cl_rows(x, cols, channels, kh, kw, sh, sw, top, left, dh, dw, oh_n, ow_n):
    """Channels-last ``x (N, H, W * C)`` into ``cols (N * L, K * C)``; a window row inside ``x`` is one run."""
    batch, height, width = x.shape[0], x.shape[1], x.shape[2] // channels
    run = kw * channels
    for n in numba.prange(batch):
        for oh in range(oh_n):
            for ow in range(ow_n):
                r = (n * oh_n + oh) * ow_n + ow
                w0 = ow * sw - left
                for ki in range(kh):
                    h = oh * sh - top + ki * dh
                    at = ki * run
                    if h < 0 or h >= height:
                        for i in range(run):
                            cols[r, u64(at + i)] = 0
                    elif dw == 1 and w0 >= 0 and w0 + kw <= width:
                        for i in range(run):
                            cols[r, u64(at + i)] = x[n, h, u64(w0 * channels + i)]
                    else:
                        for kj in range(kw):
                            w, at_tap = w0 + kj * dw, at + kj * channels
                            if 0 <= w < width:
                                for c in range(channels):
                                    cols[r, u64(at_tap + c)] = x[n, h, u64(w * channels + c)]
                            else:
                                for c in range(channels):
                                    cols[r, u64(at_tap + c)] = 0


@numba.njit(cache=True, parallel=True)
def _im2col_cl_planes(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh_n, ow_n):
    """NCHW ``x (N, C, H, W)`` into ``cols (N * L, K * C)``."""
    batch, channels, height, width = x.shape
    for n in numba.prange(batch):
        for oh in range(oh_n):
            for ow in range(ow_n):
                r = (n * oh_n + oh) * ow_n + ow
                for ki in range(kh):
                    h = oh * sh - top + ki * dh
                    for kj in range(kw):
                        w = ow * sw - left + kj * dw
                        at = (ki * kw + kj) * channels
                        if 0 <= h < height and 0 <= w < width:
                            for c in range(channels):
                                cols[r, u64(at + c)] = x[n, c, h, w]
                        else:
                            for c in range(channels):
                                cols[r, u64(at + c)] = 0


@numba.njit(cache=True, parallel=True)
def _col2im_cl_rows(cols, grad, channels, kh, kw, sh, sw, top, left, dh, dw, oh_n, ow_n):
    """Adjoint of :func:`_im2col_cl_rows`: ``cols (N * L, K * C)`` added into ``grad (N, H, W * C)``."""
    batch, height, width = grad.shape[0], grad.shape[1], grad.shape[2] // channels
    run = kw * channels
    for n in numba.prange(batch):
        for h in range(height):
            for i in range(grad.shape[2]):
                grad[n, h, i] = 0
        for oh in range(oh_n):
            for ow in range(ow_n):
                r = (n * oh_n + oh) * ow_n + ow
                w0 = ow * sw - left
                for ki in range(kh):
                    h = oh * sh - top + ki * dh
                    at = ki * run
                    if h < 0 or h >= height:
                        continue
                    if dw == 1 and w0 >= 0 and w0 + kw <= width:
                        for i in range(run):
                            grad[n, h, u64(w0 * channels + i)] += cols[r, u64(at + i)]
                        continue
                    for kj in range(kw):
                        w = w0 + kj * dw
                        if 0 <= w < width:
                            for c in range(channels):
                                grad[n, h, u64(w * channels + c)] += cols[r, u64(at + kj * channels + c)]


# ----------------------------------------------------------------- wrappers
def _window_args(kernel, stride, padding, dilation, out):
    """The cores' integer arguments ``kh, kw, sh, sw, top, left, dh, dw, oh, ow``."""
    (top, _), (left, _) = padding
    return (*map(int, kernel), *map(int, stride), int(top), int(left), *map(int, dilation), *map(int, out))


def _check_groups(channels, groups):
    if groups < 1 or channels % groups:
        raise ValueError(f"im2col: groups must be a positive divisor of the {channels} input channels, "
                         f"but got groups={groups}")


def im2col(x, kernel, stride, padding, dilation, groups, out):
    """The windows of ``x (N, C, H, W)`` (either layout) as ``cols (G, C/G * kh * kw, N * OH * OW)``.

    Rows ``(c, ki, kj)``, columns ``(n, oh, ow)``; ``padding`` is ``((top, bottom), (left, right))``,
    ``out`` the output size ``(OH, OW)``; taps in the padding are 0. A channels-last ``x`` is
    copied to NCHW first: each row of ``cols`` reads one channel, which in channels-last
    memory would stride through all of ``x`` once per row.
    """
    check_4d("im2col", "x", x)
    _check_groups(x.shape[1], groups)
    batch, channels = x.shape[:2]
    cols = np.empty((channels * kernel[0] * kernel[1], batch * out[0] * out[1]), dtype=x.dtype)
    _im2col_planes(np.ascontiguousarray(x), cols, *_window_args(kernel, stride, padding, dilation, out))
    return cols.reshape(groups, -1, cols.shape[1])


def col2im(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of :func:`im2col`: ``cols (G, C/G * K, N * L)`` added into a C-contiguous ``input_shape`` array."""
    cols = np.ascontiguousarray(cols).reshape(-1, cols.shape[-1])
    grad = np.empty(input_shape, dtype=cols.dtype)
    _col2im_planes(cols, grad, *_window_args(kernel, stride, padding, dilation, out))
    return grad


def im2col_channels_last(x, kernel, stride, padding, dilation, out):
    """The windows of ``x (N, C, H, W)`` (either layout) as ``cols (N * OH * OW, kh * kw * C)``.

    Rows ``(n, oh, ow)``, columns ``(ki, kj, c)``; ``padding`` is ``((top, bottom), (left, right))``.
    """
    check_4d("im2col_channels_last", "x", x)
    buffer, channels_last = split_layout(x)
    batch, channels = x.shape[:2]
    cols = np.empty((batch * out[0] * out[1], kernel[0] * kernel[1] * channels), dtype=x.dtype)
    args = _window_args(kernel, stride, padding, dilation, out)
    if channels_last or channels == 1:  # with one channel NCHW is channels-last memory too
        _im2col_cl_rows(buffer.reshape(batch, x.shape[2], -1), cols, channels, *args)
    else:
        _im2col_cl_planes(buffer, cols, *args)
    return cols


def col2im_channels_last(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of :func:`im2col_channels_last`: ``(N, C, H, W)``, the view of a C-contiguous NHWC buffer."""
    batch, channels, height, width = input_shape
    grad = np.empty((batch, height, width * channels), dtype=cols.dtype)
    _col2im_cl_rows(np.ascontiguousarray(cols), grad, channels, *_window_args(kernel, stride, padding, dilation, out))
    return in_layout(grad.reshape(batch, height, width, channels), True)
