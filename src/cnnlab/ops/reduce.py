"""Reductions over dimensions: sum, mean, max/min, var/std."""
import builtins
from collections import namedtuple

from .. import arguments
from ..backend import get_array_module
from ..tensor import Tensor, from_op

MaxResult = namedtuple("MaxResult", "values indices")


def normalize_dims(dim, ndim, where):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if arguments.is_int(dim) else tuple(dim)
    axes = [arguments.dim(where, "dim", d, ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{where}: dim must not repeat a dimension, got {dim}")
    return tuple(sorted(axes))


def _expand(g, axes, shape, keepdim):
    """``g`` reduced over ``axes`` broadcast back to ``shape``."""
    xp = get_array_module(g)
    if not keepdim and shape:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, shape)


def sum(a, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    axes = normalize_dims(dim, a.ndim, "sum")
    out = get_array_module(a.array).asarray(a.array.sum(axis=axes, keepdims=keepdim))
    return from_op(out, (a,), lambda g: (_expand(g, axes, a.shape, keepdim),))


def mean(a, dim=None, keepdim=False):
    axes = normalize_dims(dim, a.ndim, "mean")
    count = 1
    for axis in axes:
        count *= a.shape[axis]
    out = get_array_module(a.array).asarray(a.array.mean(axis=axes, keepdims=keepdim))
    return from_op(out, (a,), lambda g: (_expand(g / count, axes, a.shape, keepdim),))


def _extreme(where, function, a, dim, keepdim):
    xp = get_array_module(a.array)
    axes = normalize_dims(dim, a.ndim, where)
    kept = function(a.array, axis=axes, keepdims=True)
    out = kept if keepdim else xp.asarray(function(a.array, axis=axes))

    def backward(g):
        hit = a.array == kept
        share = g if keepdim or not a.ndim else xp.expand_dims(g, axes)
        # Ties share the gradient evenly, as torch.amax does.
        return (hit * (share / hit.sum(axis=axes, keepdims=True)),)
    return from_op(out, (a,), backward)


def amax(a, dim=None, keepdim=False):
    """Largest values over ``dim`` (all by default); tied maxima share the gradient."""
    return _extreme("amax", get_array_module(a.array).max, a, dim, keepdim)


def amin(a, dim=None, keepdim=False):
    """Smallest values over ``dim`` (all by default); tied minima share the gradient."""
    return _extreme("amin", get_array_module(a.array).min, a, dim, keepdim)


def _extreme_along(where, arg, a, dim, keepdim):
    xp = get_array_module(a.array)
    (axis,) = normalize_dims(dim, a.ndim, where)
    index = xp.expand_dims(arg(a.array, axis=axis), axis)
    values = xp.take_along_axis(a.array, index, axis=axis)

    def backward(g):
        grad = xp.zeros_like(a.array)
        xp.put_along_axis(grad, index, g if keepdim else xp.expand_dims(g, axis), axis=axis)
        return (grad,)
    if keepdim:
        return MaxResult(from_op(values, (a,), backward), Tensor(index))
    return MaxResult(from_op(values.squeeze(axis), (a,), backward), Tensor(index.squeeze(axis)))


def max(a, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """As ``torch.max``: the largest value, or ``(values, indices)`` along ``dim``."""
    if dim is None:
        return amax(a)
    return _extreme_along("max", get_array_module(a.array).argmax, a, dim, keepdim)


def min(a, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """As ``torch.min``: the smallest value, or ``(values, indices)`` along ``dim``."""
    if dim is None:
        return amin(a)
    return _extreme_along("min", get_array_module(a.array).argmin, a, dim, keepdim)


def var(a, dim=None, correction=1, keepdim=False, unbiased=None):
    """Variance over ``dim``: ``sum((x - mean)^2) / (N - correction)``; ``unbiased=False`` means correction 0."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims(dim, a.ndim, "var")
    count = 1
    for axis in axes:
        count *= a.shape[axis]
    centred = a - mean(a, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim=keepdim) / builtins.max(count - correction, 0)


def std(a, dim=None, correction=1, keepdim=False, unbiased=None):
    return var(a, dim, correction, keepdim, unbiased).sqrt()

