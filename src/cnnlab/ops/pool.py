"""Pooling over the trailing (spatial) dimensions: max and average, fixed and adaptive.

Fixed pools look at ``window.sliding_windows`` of a padded input (``-inf`` pads
max pools, ``0`` average pools). Max pools pick one position per window, report
it as a flat index into each input plane (as PyTorch's ``return_indices``) and
send the gradient back there with one ``bincount``. Average pools sum a window
one dimension at a time (a box sum is separable: ``sum(kernel)`` strided adds
rather than ``prod(kernel)``) and send the scaled gradient back with
``window.scatter_windows``, dimension by dimension. Adaptive average pooling is
linear and separable too: one small averaging-matrix product per dimension.
Arguments arrive normalised (tuples of ints, one per spatial dimension) and
validated by :mod:`cnnlab.functional.pool`.
"""
import math

from ..backend import xp
from ..shapes import conv_output_size
from ..tensor import Tensor, from_op
from .window import pad_constant, scatter_windows, sliding_windows, unpad_index, writable_windows


# ------------------------------------------------------------------ geometry
def pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode):
    """Output size and the ``(before, after)`` padding that makes every window exist.

    ``after`` grows past ``padding`` when ``ceil_mode`` keeps a last window that runs
    beyond the padded input; the averages and maxima exclude that extra part.
    """
    out = tuple(conv_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))
    pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p))
                 for n, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out))
    return out, pads


def window_starts(out, stride, padding):
    """Input position of each window's first tap along one dimension (negative inside the padding)."""
    return xp.arange(out) * stride - padding


def first_inside(start, dilation):
    """Input position of the first tap at or after 0 of windows starting at ``start``."""
    return start + dilation * xp.maximum(-(start // dilation), 0)


def adaptive_bounds(n, out):
    """Windows ``[start, end)`` of adaptive pooling, as PyTorch::

        start_i = floor(i * n / out),   end_i = ceil((i + 1) * n / out)
    """
    i = xp.arange(out)
    return i * n // out, -(-(i + 1) * n // out)


def _on_axis(axis, nd, array):
    """``array`` (1-D, one entry per window along spatial ``axis``) shaped to broadcast over ``(*out)``."""
    return array.reshape((-1,) + (1,) * (nd - 1 - axis))


# --------------------------------------------------------------- max pooling
def _max_along_last(windows):
    """Each row's maximum and its position along the last axis, by PyTorch's CPU rule.

    Ties go to the first; a row holding NaN gives NaN at its last NaN.
    """
    taps = windows.argmax(axis=-1)
    values = xp.take_along_axis(windows, taps[..., None], axis=-1)[..., 0]
    has_nan = xp.isnan(values)
    if has_nan.any():
        taps[has_nan] = windows.shape[-1] - 1 - xp.isnan(windows[has_nan][:, ::-1]).argmax(axis=-1)
    return values, taps


def _flat_index(coords, spatial):
    """Row-major flat index into each input plane of per-dimension positions (arrays broadcast)."""
    index = 0
    for c, n in zip(coords, spatial):
        index = index * n + c
    return index


def _input_index(taps, starts, window, dilation, spatial):
    """Flat index in its input plane of each window's chosen tap (``taps`` row-major over ``window``).

    The flat index is linear in the position, so it is the window's start plus
    the tap's offset, looked up in a table with one entry per tap.
    """
    tap_positions = xp.unravel_index(xp.arange(math.prod(window)), window)
    tap_offsets = _flat_index([t * d for t, d in zip(tap_positions, dilation)], spatial)
    return _flat_index(starts, spatial) + tap_offsets[taps]


def _max_backward(index, input_shape, nd):
    """Gradient of a max pool: each output's gradient added at its input index (overlaps accumulate)."""
    lead, spatial = input_shape[:-nd], input_shape[-nd:]
    planes, plane = math.prod(lead), math.prod(spatial)

    def backward(g):
        offsets = (xp.arange(planes) * plane).reshape(lead + (1,) * nd)
        grad = xp.bincount((index + offsets).ravel(), weights=g.ravel(), minlength=planes * plane)
        return (grad.astype(g.dtype, copy=False).reshape(input_shape),)
    return backward


def _max_result(x, values, index, nd):
    return from_op(values, (x,), _max_backward(index, x.shape, nd)), Tensor(index)


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """Max over each window of ``x``'s trailing ``len(kernel)`` dims: ``(values, indices)`` Tensors.

    ``indices`` (int64) are flat positions in each input plane, as PyTorch's
    ``return_indices``. A window whose maximum is ``-inf`` reports its first tap
    inside the input, as PyTorch does, never a padding position.
    """
    nd = len(kernel)
    spatial = x.shape[-nd:]
    out, pads = pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode)
    windows = sliding_windows(pad_constant(x.data, pads, -xp.inf), kernel, stride, dilation, out)
    values, taps = _max_along_last(windows.reshape(windows.shape[:-nd] + (math.prod(kernel),)))  # one copy
    starts = [_on_axis(i, nd, window_starts(o, s, p)) for i, (o, s, p) in enumerate(zip(out, stride, padding))]
    index = _input_index(taps, starts, kernel, dilation, spatial)
    if any(b or a for b, a in pads) and (values == -xp.inf).any():
        coords = [st + t * d for st, t, d in zip(starts, xp.unravel_index(taps, kernel), dilation)]
        outside = False
        for c, n in zip(coords, spatial):
            outside = outside | (c < 0) | (c >= n)
        first = _flat_index([first_inside(st, d) for st, d in zip(starts, dilation)], spatial)
        index = xp.where(outside, first, index)
    return _max_result(x, values, index, nd)


def max_pool_values(x, kernel, stride, padding, dilation, ceil_mode):
    """The values of :func:`max_pool` alone, through :func:`tiled_max_pool` where it applies."""
    nd = len(kernel)
    spatial = x.shape[-nd:]
    tiled = (tuple(stride) == tuple(kernel) and not any(padding) and all(d == 1 for d in dilation)
             and (not ceil_mode or all(n % k == 0 for n, k in zip(spatial, kernel))))
    values = tiled_max_pool(x, kernel) if tiled else None
    return values if values is not None else max_pool(x, kernel, stride, padding, dilation, ceil_mode)[0]


def tiled_max_pool(x, kernel):
    """Max pool over non-overlapping windows (stride = kernel, no padding, no dilation), without a window copy.

    The idea: each kernel tap ``t`` of every window is one strided view of ``x``
    (``x[..., t0::k0, t1::k1]`` cropped to whole windows), so the maximum is
    ``prod(kernel)`` in-place ``maximum`` passes over those views, never a
    ``(*out, *kernel)`` copy and an argmax. Backward walks the taps in the same
    order and routes each output's gradient to the first tap equal to the
    maximum (PyTorch's tie rule), writing straight into the tap's view of the
    input gradient. Returns None when the result holds NaN, whose position
    rule (last NaN) :func:`max_pool` handles.

    Shapes: ``x (*lead, *spatial)`` -> ``(*lead, *out)``, ``out = spatial // kernel``.
    """
    nd = len(kernel)
    out = tuple(n // k for n, k in zip(x.shape[-nd:], kernel))
    taps = list(xp.ndindex(*kernel))
    windows = sliding_windows(x.data, kernel, kernel, (1,) * nd, out)  # (*lead, *out, *kernel) view
    values = windows[(Ellipsis,) + taps[0]].copy(order="K")  # keeps x's memory layout (e.g. channels-last)
    for tap in taps[1:]:
        xp.maximum(values, windows[(Ellipsis,) + tap], out=values)
    if xp.isnan(values).any():
        return None

    def backward(g):
        grad = xp.zeros_like(x.data, dtype=g.dtype)  # x's memory layout, so each tap's pass runs over like strides
        grad_windows = writable_windows(grad, kernel, out)
        unclaimed = xp.ones(values.shape, dtype=bool)
        for tap in taps:
            hit = windows[(Ellipsis,) + tap] == values
            hit &= unclaimed
            unclaimed &= ~hit
            xp.multiply(g, hit, out=grad_windows[(Ellipsis,) + tap])
        return (grad,)
    return from_op(values, (x,), backward)


def adaptive_max_pool(x, output_size):
    """Max over PyTorch's adaptive windows of ``x``'s trailing dims: ``(values, indices)`` Tensors.

    Gathers every window into a ``(*out, *longest)`` block, padding short windows
    with ``-inf``; when each size divides evenly it is a plain max pool.
    """
    nd = len(output_size)
    lead = x.ndim - nd
    spatial = x.shape[lead:]
    if all(n % o == 0 for n, o in zip(spatial, output_size)):
        kernel = tuple(n // o for n, o in zip(spatial, output_size))
        return max_pool(x, kernel, kernel, (0,) * nd, (1,) * nd, False)
    blocks, valid, starts, longest = x.data, True, [], []
    for i, (n, o) in enumerate(zip(spatial, output_size)):
        start, end = adaptive_bounds(n, o)
        width = int((end - start).max())
        taps = xp.arange(width)
        axis = lead + 2 * i  # dims before i are already split into (out, width)
        blocks = xp.take(blocks, xp.minimum(start[:, None] + taps, n - 1).ravel(), axis=axis)
        blocks = blocks.reshape(blocks.shape[:axis] + (o, width) + blocks.shape[axis + 1:])
        valid = valid & (taps < (end - start)[:, None]).reshape((o, width) + (1,) * (2 * (nd - 1 - i)))
        starts.append(_on_axis(i, nd, start))
        longest.append(width)
    xp.copyto(blocks, -xp.inf, where=~valid)
    order = tuple(range(lead)) + tuple(lead + 2 * i for i in range(nd)) + tuple(lead + 2 * i + 1 for i in range(nd))
    flat = blocks.transpose(order).reshape(x.shape[:lead] + tuple(output_size) + (math.prod(longest),))
    values, taps = _max_along_last(flat)
    return _max_result(x, values, _input_index(taps, starts, longest, (1,) * nd, spatial), nd)


# ----------------------------------------------------------- average pooling
def _divisor(spatial, kernel, stride, padding, out, count_include_pad, dtype):
    """Each window's divisor, shape ``(*out)``, by PyTorch's rule.

    Along each dim the window ``[start, start + k)`` is cut at the end of the
    padded input, ``n + padding`` (so ceil_mode's extra is never counted); with
    ``count_include_pad=False`` it is cut to the input ``[0, n)``. The divisor is
    the product of the per-dim lengths.
    """
    nd = len(kernel)
    divisor = xp.ones((), dtype=dtype)
    for i, (n, k, s, p, o) in enumerate(zip(spatial, kernel, stride, padding, out)):
        start = window_starts(o, s, p)
        end = xp.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        divisor = divisor * _on_axis(i, nd, (end - start).astype(dtype))
    return divisor


def _unit(axis, nd, value):
    """``value`` along spatial ``axis``, 1 along the others: a one-dimensional kernel or stride."""
    return tuple(value if i == axis else 1 for i in range(nd))


def _box_sum(padded, kernel, stride, out):
    """Sum over every window, one dimension at a time (a box sum is separable).

    Returns the sums and the shape entering each one-dimensional pass (for the backward).
    """
    nd = len(kernel)
    sums, shapes = padded, []
    for i in range(nd):
        shapes.append(sums.shape)
        counts = out[:i + 1] + sums.shape[sums.ndim - nd + i + 1:]
        windows = sliding_windows(sums, _unit(i, nd, kernel[i]), _unit(i, nd, stride[i]), (1,) * nd, counts)
        taps = windows.reshape(windows.shape[:-nd] + (kernel[i],))  # drops the unit axes: still a view
        sums = taps[..., 0].copy()
        for tap in range(1, kernel[i]):
            sums += taps[..., tap]
    return sums, shapes


def _box_sum_backward(g, kernel, stride, shapes):
    """Adjoint of ``_box_sum``: ``scatter_windows`` along each dimension, last pass first."""
    nd = len(kernel)
    for i in reversed(range(nd)):
        unit_kernel = _unit(i, nd, kernel[i])
        windows = xp.broadcast_to(g[(Ellipsis,) + (None,) * nd], g.shape + unit_kernel)
        g = scatter_windows(windows, shapes[i], unit_kernel, _unit(i, nd, stride[i]), (1,) * nd)
    return g


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Average over each window of ``x``'s trailing ``len(kernel)`` dims (zero padding)."""
    nd = len(kernel)
    spatial = x.shape[-nd:]
    out, pads = pool_geometry(spatial, kernel, stride, padding, (1,) * nd, ceil_mode)
    sums, shapes = _box_sum(pad_constant(x.data, pads, 0), kernel, stride, out)
    if divisor_override is not None:
        divisor = xp.asarray(divisor_override, dtype=x.dtype)
    else:
        divisor = _divisor(spatial, kernel, stride, padding, out, count_include_pad, x.dtype)

    def backward(g):
        grad = _box_sum_backward(g / divisor, kernel, stride, shapes)
        return (grad[unpad_index(pads, spatial)],)
    return from_op(sums / divisor, (x,), backward)


def _averaging_matrix(n, out, dtype):
    """``(out, n)`` matrix whose row ``i`` averages adaptive window ``i``."""
    start, end = adaptive_bounds(n, out)
    positions = xp.arange(n)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _apply_on_axis(array, matrix, axis):
    """Contract ``array``'s ``axis`` with ``matrix``'s columns: ``(..., n, ...) -> (..., m, ...)``."""
    return xp.moveaxis(xp.moveaxis(array, axis, -1) @ matrix.T, -1, axis)


def adaptive_avg_pool(x, output_size):
    """Average over PyTorch's adaptive windows of ``x``'s trailing dims.

    The average over a box is the average along each dim in turn, so the op is
    one ``(out, n)`` averaging-matrix product per dim; its backward is the
    transposed product.
    """
    nd = len(output_size)
    lead = x.ndim - nd
    matrices = [_averaging_matrix(n, o, x.dtype) for n, o in zip(x.shape[lead:], output_size)]
    out = x.data
    for i, matrix in enumerate(matrices):
        out = _apply_on_axis(out, matrix, lead + i)

    def backward(g):
        for i, matrix in enumerate(matrices):
            g = _apply_on_axis(g, matrix.T, lead + i)
        return (g,)
    return from_op(xp.ascontiguousarray(out), (x,), backward)
