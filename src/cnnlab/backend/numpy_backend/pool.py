"""Max and average pooling on NumPy arrays, each algorithm forward beside backward.

Fixed pools look at :func:`.window.sliding_windows` of a padded input (``-inf``
pads max pools, ``0`` average pools). :class:`WindowMaxPool` picks one position
per window, reports it as a flat index into each input plane (as PyTorch's
``return_indices``) and sends the gradient back there with one ``bincount``;
:class:`TiledMaxPool` serves non-overlapping windows without a window copy.
:class:`BoxSumAvgPool` sums a window one dimension at a time (a box sum is
separable: ``sum(kernel)`` strided adds rather than ``prod(kernel)``) and sends
the scaled gradient back with :func:`.window.scatter_windows`, dimension by dimension.
"""
import math

import numpy

from .. import get_array_module
from ..algorithms import Algorithm
from .window import pad_constant, scatter_windows, sliding_windows, unpad_index, writable_windows


# ------------------------------------------------------------------ geometry
def window_starts(out, stride, padding):
    """Input position of each window's first tap along one dimension (negative inside the padding)."""
    return numpy.arange(out) * stride - padding


def first_inside(start, dilation):
    """Input position of the first tap at or after 0 of windows starting at ``start``."""
    return start + dilation * numpy.maximum(-(start // dilation), 0)


def on_axis(axis, nd, array):
    """``array`` (1-D, one entry per window along spatial ``axis``) shaped to broadcast over ``(*out)``."""
    return array.reshape((-1,) + (1,) * (nd - 1 - axis))


def flat_index(coords, spatial):
    """Row-major flat index into each input plane of per-dimension positions (arrays broadcast)."""
    index = 0
    for c, n in zip(coords, spatial):
        index = index * n + c
    return index


# --------------------------------------------------------------- max pooling
def max_along_last(windows):
    """Each row's maximum and its position along the last axis, by PyTorch's CPU rule.

    Ties go to the first; a row holding NaN gives NaN at its last NaN.
    """
    xp = get_array_module(windows)
    taps = windows.argmax(axis=-1)
    values = xp.take_along_axis(windows, taps[..., None], axis=-1)[..., 0]
    has_nan = xp.isnan(values)
    if has_nan.any():
        taps[has_nan] = windows.shape[-1] - 1 - xp.isnan(windows[has_nan][:, ::-1]).argmax(axis=-1)
    return values, taps


def input_index(taps, starts, window, dilation, spatial):
    """Flat index in its input plane of each window's chosen tap (``taps`` row-major over ``window``).

    The flat index is linear in the position, so it is the window's start plus
    the tap's offset, looked up in a table with one entry per tap.
    """
    xp = get_array_module(taps)
    tap_positions = xp.unravel_index(xp.arange(math.prod(window)), window)
    tap_offsets = flat_index([t * d for t, d in zip(tap_positions, dilation)], spatial)
    return flat_index(starts, spatial) + tap_offsets[taps]


def max_pool_backward(index, input_shape, nd):
    """Gradient of a max pool: each output's gradient added at its input index (overlaps accumulate)."""
    lead, spatial = tuple(input_shape[:-nd]), tuple(input_shape[-nd:])
    planes, plane = math.prod(lead), math.prod(spatial)

    def backward(g):
        xp = get_array_module(g)
        offsets = (xp.arange(planes) * plane).reshape(lead + (1,) * nd)
        grad = xp.bincount((index + offsets).ravel(), weights=g.ravel(), minlength=planes * plane)
        return grad.astype(g.dtype, copy=False).reshape(input_shape)
    return backward


class WindowMaxPool(Algorithm):
    """Every window copied once, ``argmax`` over it; indices as PyTorch's ``return_indices``."""

    name = "windows"
    rule = "every max pooling"

    def forward(self, backend, x, geometry, needs_grad):
        """``(values, indices, backward)``: a window whose maximum is ``-inf`` reports its first tap inside the input.

        ``needs_grad`` says whether ``backward`` will be called (an algorithm may then skip its bookkeeping).
        """
        xp = get_array_module(x)
        nd, spatial = len(geometry.kernel), geometry.spatial
        kernel, stride, padding, dilation, out = (geometry.kernel, geometry.stride, geometry.padding,
                                                  geometry.dilation, geometry.out)
        windows = sliding_windows(backend.pad_constant(x, geometry.pads, -xp.inf), kernel, stride, dilation, out)
        values, taps = max_along_last(windows.reshape(windows.shape[:-nd] + (math.prod(kernel),)))  # one copy
        starts = [on_axis(i, nd, xp.asarray(window_starts(o, s, p))) for i, (o, s, p) in enumerate(zip(out, stride, padding))]
        index = input_index(taps, starts, kernel, dilation, spatial)
        if any(b or a for b, a in geometry.pads) and (values == -xp.inf).any():
            coords = [st + t * d for st, t, d in zip(starts, xp.unravel_index(taps, kernel), dilation)]
            outside = False
            for c, n in zip(coords, spatial):
                outside = outside | (c < 0) | (c >= n)
            first = flat_index([first_inside(st, d) for st, d in zip(starts, dilation)], spatial)
            index = xp.where(outside, first, index)
        return values, index, max_pool_backward(index, x.shape, nd)


class TiledMaxPool(Algorithm):
    """Max over non-overlapping windows without a window copy.

    Each kernel tap ``t`` of every window is one strided view of ``x``
    (``x[..., t0::k0, t1::k1]`` cropped to whole windows), so the maximum is
    ``prod(kernel)`` in-place ``maximum`` passes over those views. Backward walks
    the taps in the same order and routes each output's gradient to the first
    tap equal to the maximum (PyTorch's tie rule), or to the last NaN of a window
    holding NaN, writing straight into the tap's view of the input gradient.
    Shapes: ``x (*lead, *spatial)`` -> ``(*lead, *out)``, ``out = spatial // kernel``.
    """

    name = "tiled"
    rule = "max pooling with stride = kernel, no padding, dilation 1, whole windows and no indices asked for"

    def refusal(self, geometry):
        nd = len(geometry.kernel)
        for name, wanted in (("stride", geometry.kernel), ("padding", (0,) * nd), ("dilation", (1,) * nd)):
            if tuple(getattr(geometry, name)) != tuple(wanted):
                return f"{name}={tuple(getattr(geometry, name))} with kernel_size={tuple(geometry.kernel)}"
        if any(n % k for n, k in zip(geometry.spatial, geometry.kernel)) and geometry.ceil_mode:
            return f"ceil_mode=True on input {tuple(geometry.spatial)} with a partial last window"
        return "return_indices=True" if geometry.indices else None

    def forward(self, backend, x, geometry, needs_grad):
        xp = get_array_module(x)
        kernel, out = geometry.kernel, geometry.out
        taps = list(numpy.ndindex(*kernel))
        windows = sliding_windows(x, kernel, kernel, (1,) * len(kernel), out)  # (*lead, *out, *kernel) view
        values = windows[(Ellipsis,) + taps[0]].copy(order="K")  # keeps x's memory layout (e.g. channels-last)
        for tap in taps[1:]:
            xp.maximum(values, windows[(Ellipsis,) + tap], out=values)

        def backward(g):
            grad = xp.zeros_like(x, dtype=g.dtype)  # x's memory layout, so each tap's pass runs over like strides
            grad_windows = writable_windows(grad, kernel, out)
            unclaimed = xp.ones(values.shape, dtype=bool)
            for tap in taps:
                hit = windows[(Ellipsis,) + tap] == values
                hit &= unclaimed
                unclaimed &= ~hit
                xp.multiply(g, hit, out=grad_windows[(Ellipsis,) + tap])
            nan = xp.isnan(values)
            if nan.any():  # NaN equals nothing: its gradient goes to the window's last NaN
                for tap in reversed(taps):
                    hit = nan & xp.isnan(windows[(Ellipsis,) + tap])
                    nan &= ~hit
                    xp.copyto(grad_windows[(Ellipsis,) + tap], g, where=hit)
            return grad
        return values, None, backward


#: The NumPy backend's max-pooling algorithms, the automatic choice taking the first that applies.
MAX_ALGORITHMS = (TiledMaxPool(), WindowMaxPool())


# ----------------------------------------------------------- average pooling
def divisor(xp, geometry, count_include_pad, dtype):
    """Each window's divisor, shape ``(*out)``, by PyTorch's rule.

    Along each dim the window ``[start, start + k)`` is cut at the end of the
    padded input, ``n + padding`` (so ceil_mode's extra is never counted); with
    ``count_include_pad=False`` it is cut to the input ``[0, n)``. The divisor is
    the product of the per-dim lengths.
    """
    nd = len(geometry.kernel)
    result = xp.ones((), dtype=dtype)
    for i, (n, k, s, p, o) in enumerate(zip(geometry.spatial, geometry.kernel, geometry.stride, geometry.padding,
                                            geometry.out)):
        start = window_starts(o, s, p)
        end = numpy.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = numpy.maximum(start, 0), numpy.minimum(end, n)
        result = result * on_axis(i, nd, xp.asarray(end - start, dtype=dtype))
    return result


def unit(axis, nd, value):
    """``value`` along spatial ``axis``, 1 along the others: a one-dimensional kernel or stride."""
    return tuple(value if i == axis else 1 for i in range(nd))


def box_sum(padded, kernel, stride, out):
    """Sum over every window, one dimension at a time; also the shape entering each pass (for the backward)."""
    nd = len(kernel)
    sums, shapes = padded, []
    for i in range(nd):
        shapes.append(sums.shape)
        counts = out[:i + 1] + sums.shape[sums.ndim - nd + i + 1:]
        windows = sliding_windows(sums, unit(i, nd, kernel[i]), unit(i, nd, stride[i]), (1,) * nd, counts)
        taps = windows.reshape(windows.shape[:-nd] + (kernel[i],))  # drops the unit axes: still a view
        sums = taps[..., 0].copy()
        for tap in range(1, kernel[i]):
            sums += taps[..., tap]
    return sums, shapes


def box_sum_backward(g, kernel, stride, shapes):
    """Adjoint of :func:`box_sum`: ``scatter_windows`` along each dimension, last pass first."""
    xp = get_array_module(g)
    nd = len(kernel)
    for i in reversed(range(nd)):
        unit_kernel = unit(i, nd, kernel[i])
        windows = xp.broadcast_to(g[(Ellipsis,) + (None,) * nd], g.shape + unit_kernel)
        g = scatter_windows(windows, shapes[i], unit_kernel, unit(i, nd, stride[i]), (1,) * nd)
    return g


class BoxSumAvgPool(Algorithm):
    """Average pooling as a separable box sum over the zero-padded input, divided by PyTorch's divisor."""

    name = "box_sum"
    rule = "every average pooling"

    def forward(self, backend, x, geometry, count_include_pad, divisor_override):
        """``(y, backward)``."""
        xp = get_array_module(x)
        kernel, stride = geometry.kernel, geometry.stride
        sums, shapes = box_sum(backend.pad_constant(x, geometry.pads, 0), kernel, stride, geometry.out)
        if divisor_override is not None:
            scale = xp.asarray(divisor_override, dtype=x.dtype)
        else:
            scale = divisor(xp, geometry, count_include_pad, x.dtype)

        def backward(g):
            grad = box_sum_backward(g / scale, kernel, stride, shapes)
            return grad[unpad_index(geometry.pads, geometry.spatial)]
        return sums / scale, backward


#: The NumPy backend's average-pooling algorithms.
AVG_ALGORITHMS = (BoxSumAvgPool(),)
