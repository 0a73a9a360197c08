"""Pooling over the trailing (spatial) dimensions as Tensor ops: max and average, fixed and adaptive.

Fixed pools run an algorithm of the active backend's tables
(:mod:`cnnlab.backend.numpy_backend.pool` holds the reference ones), chosen by
:func:`pool_algorithm`. Adaptive average pooling is linear and separable: one
small averaging-matrix product per dimension; adaptive max pooling gathers
PyTorch's uneven windows into one block. Arguments arrive normalised (tuples of
ints, one per spatial dimension) and validated by :mod:`cnnlab.functional.pool`.
"""
import math

import numpy

from .. import backend
from ..backend import get_array_module
from ..backend.algorithms import PoolGeometry, choose
from ..backend.numpy_backend.pool import first_inside, input_index, max_along_last, max_pool_backward, on_axis
from ..backend.numpy_backend.pool import window_starts
from ..tensor import Tensor, from_op, is_grad_enabled

__all__ = ["adaptive_avg_pool", "adaptive_max_pool", "avg_pool", "first_inside", "max_pool", "max_pool_values",
           "pool_algorithm", "window_starts"]


def pool_algorithm(kind, x_shape, kernel, stride, padding, dilation, ceil_mode, indices=False, algorithm="auto"):
    """The algorithm of the active backend's ``kind`` table (``'max'`` or ``'avg'``) for these shapes."""
    geometry = PoolGeometry.of(x_shape, kernel, stride, padding, dilation, ceil_mode, indices)
    table = backend.active().max_pool_algorithms if kind == "max" else backend.active().avg_pool_algorithms
    return choose(f"{kind}_pool", table, geometry, algorithm)


def max_pool(x, kernel, stride, padding, dilation, ceil_mode, algorithm="auto"):
    """Max over each window of ``x``'s trailing ``len(kernel)`` dims: ``(values, indices)`` Tensors.

    ``indices`` (int64) are flat positions in each input plane, as PyTorch's
    ``return_indices``. A window whose maximum is ``-inf`` reports its first tap
    inside the input, as PyTorch does, never a padding position.
    """
    return _max_pool(x, kernel, stride, padding, dilation, ceil_mode, True, algorithm)


def max_pool_values(x, kernel, stride, padding, dilation, ceil_mode, algorithm="auto"):
    """The values of :func:`max_pool` alone, through the fastest algorithm that needs no indices."""
    return _max_pool(x, kernel, stride, padding, dilation, ceil_mode, False, algorithm)[0]


def _max_pool(x, kernel, stride, padding, dilation, ceil_mode, indices, algorithm):
    kernels = backend.active()
    geometry = PoolGeometry.of(x.shape, kernel, stride, padding, dilation, ceil_mode, indices)
    chosen = choose("max_pool", kernels.max_pool_algorithms, geometry, algorithm)
    values, index, backward = chosen.forward(kernels, x.array, geometry, x.requires_grad and is_grad_enabled())
    return from_op(values, (x,), lambda g: (backward(g),)), (None if index is None else Tensor(index))


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, algorithm="auto"):
    """Average over each window of ``x``'s trailing ``len(kernel)`` dims (zero padding), by PyTorch's divisor rule."""
    kernels = backend.active()
    geometry = PoolGeometry.of(x.shape, kernel, stride, padding, (1,) * len(kernel), ceil_mode)
    chosen = choose("avg_pool", kernels.avg_pool_algorithms, geometry, algorithm)
    y, backward = chosen.forward(kernels, x.array, geometry, count_include_pad, divisor_override)
    return from_op(y, (x,), lambda g: (backward(g),))


# -------------------------------------------------------------- adaptive pools
def adaptive_bounds(n, out):
    """Windows ``[start, end)`` of adaptive pooling, as PyTorch::

        start_i = floor(i * n / out),   end_i = ceil((i + 1) * n / out)
    """
    i = numpy.arange(out)
    return i * n // out, -(-(i + 1) * n // out)


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
    xp = get_array_module(x.array)
    blocks, valid, starts, longest = x.array, True, [], []
    for i, (n, o) in enumerate(zip(spatial, output_size)):
        start, end = (xp.asarray(bound) for bound in adaptive_bounds(n, o))
        width = int((end - start).max())
        taps = xp.arange(width)
        axis = lead + 2 * i  # dims before i are already split into (out, width)
        blocks = xp.take(blocks, xp.minimum(start[:, None] + taps, n - 1).ravel(), axis=axis)
        blocks = blocks.reshape(blocks.shape[:axis] + (o, width) + blocks.shape[axis + 1:])
        valid = valid & (taps < (end - start)[:, None]).reshape((o, width) + (1,) * (2 * (nd - 1 - i)))
        starts.append(on_axis(i, nd, start))
        longest.append(width)
    xp.copyto(blocks, -xp.inf, where=~valid)
    order = tuple(range(lead)) + tuple(lead + 2 * i for i in range(nd)) + tuple(lead + 2 * i + 1 for i in range(nd))
    flat = blocks.transpose(order).reshape(x.shape[:lead] + tuple(output_size) + (math.prod(longest),))
    values, taps = max_along_last(flat)
    index = input_index(taps, starts, longest, (1,) * nd, spatial)
    backward = max_pool_backward(index, x.shape, nd)
    return from_op(values, (x,), lambda g: (backward(g),)), Tensor(index)


def _averaging_matrix(n, out, dtype):
    """``(out, n)`` matrix whose row ``i`` averages adaptive window ``i``."""
    start, end = adaptive_bounds(n, out)
    positions = numpy.arange(n)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _apply_on_axis(array, matrix, axis):
    """Contract ``array``'s ``axis`` with ``matrix``'s columns: ``(..., n, ...) -> (..., m, ...)``."""
    xp = get_array_module(array)
    return xp.moveaxis(backend.matmul(xp.moveaxis(array, axis, -1), matrix.T), -1, axis)


def adaptive_avg_pool(x, output_size):
    """Average over PyTorch's adaptive windows of ``x``'s trailing dims.

    The average over a box is the average along each dim in turn, so the op is
    one ``(out, n)`` averaging-matrix product per dim; its backward is the
    transposed product.
    """
    nd = len(output_size)
    lead = x.ndim - nd
    xp = get_array_module(x.array)
    matrices = [xp.asarray(_averaging_matrix(n, o, x.dtype)) for n, o in zip(x.shape[lead:], output_size)]
    out = x.array
    for i, matrix in enumerate(matrices):
        out = _apply_on_axis(out, matrix, lead + i)

    def backward(g):
        for i, matrix in enumerate(matrices):
            g = _apply_on_axis(g, matrix.T, lead + i)
        return (g,)
    return from_op(xp.ascontiguousarray(out), (x,), backward)
