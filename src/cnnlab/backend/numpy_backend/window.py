"""Sliding windows over the trailing (spatial) dimensions, and their adjoint.

Convolution and pooling both see their input as windows: ``sliding_windows``
returns a strided view ``(..., *out, *kernel)`` of a padded array without
copying, and ``scatter_windows`` is its adjoint (im2col's col2im): it adds
window gradients back into the input, looping over kernel taps with strided
slices, never over pixels.
"""
import numpy as np

from .. import get_array_module


def pad_constant(x, pads, value=0.0):
    """``x`` with ``pads = ((before, after), ...)`` added around its trailing dims, filled with ``value``."""
    if not any(b or a for b, a in pads):
        return x
    xp = get_array_module(x)
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + b + a for n, (b, a) in zip(x.shape[lead:], pads))
    out = xp.full(shape, value, dtype=x.dtype)
    out[unpad_index(pads, x.shape[lead:])] = x
    return out


def unpad_index(pads, inner_shape):
    """The index that takes the unpadded interior out of a padded array."""
    return (Ellipsis,) + tuple(slice(b, b + n) for (b, _), n in zip(pads, inner_shape))


def window_counts(spatial, kernel, stride, dilation):
    """Window positions along each spatial dim of an already padded input."""
    return tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(spatial, kernel, stride, dilation))


def sliding_windows(x, kernel, stride, dilation, out=None):
    """A read-only view ``(*lead, *out, *kernel)`` of every window over ``x``'s trailing dims.

    ``x`` is already padded; ``out`` (window counts) is computed when not given.
    """
    nd = len(kernel)
    out = out or window_counts(x.shape[-nd:], kernel, stride, dilation)
    lead = x.ndim - nd
    strides = x.strides
    view_strides = (strides[:lead]
                    + tuple(st * s for st, s in zip(strides[lead:], stride))
                    + tuple(st * d for st, d in zip(strides[lead:], dilation)))
    return get_array_module(x).lib.stride_tricks.as_strided(x, x.shape[:lead] + tuple(out) + tuple(kernel),
                                                            view_strides, writeable=False)


def writable_windows(x, kernel, out):
    """A writable view ``(*lead, *out, *kernel)`` of the non-overlapping windows (stride = kernel) of ``x``."""
    nd = len(kernel)
    lead = x.ndim - nd
    strides = x.strides
    view_strides = strides[:lead] + tuple(st * k for st, k in zip(strides[lead:], kernel)) + strides[lead:]
    return get_array_module(x).lib.stride_tricks.as_strided(x, x.shape[:lead] + tuple(out) + tuple(kernel),
                                                            view_strides)


def scatter_windows(grad_windows, padded_shape, kernel, stride, dilation):
    """The adjoint of ``sliding_windows``: add ``(*lead, *out, *kernel)`` window values into an array.

    Returns an array of ``padded_shape``; one strided-slice addition per kernel tap.
    """
    nd = len(kernel)
    out = grad_windows.shape[-2 * nd:-nd]
    grad = get_array_module(grad_windows).zeros(padded_shape, dtype=grad_windows.dtype)
    for tap in np.ndindex(*kernel):
        target = (Ellipsis,) + tuple(slice(t * d, t * d + s * (o - 1) + 1, s)
                                     for t, d, s, o in zip(tap, dilation, stride, out))
        grad[target] += grad_windows[(Ellipsis,) + tap]
    return grad
