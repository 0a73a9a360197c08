"""Convolution and transposed convolution as Tensor ops, and padding.

The arithmetic lives in the kernel layer (:mod:`cnnlab.backend`): :func:`conv`
asks the active backend's algorithm table for the algorithm that runs these
shapes (:func:`conv_algorithm`, or the one named by ``algorithm``), runs its
forward and wraps its backward for autograd. :func:`conv_transpose` is the
adjoint of the im2col path, built from the backend's ``col2im``, ``im2col``
and GEMM. Arguments arrive normalised and validated by :mod:`cnnlab.functional.conv`.
"""
import numpy

from .. import backend
from ..backend import get_array_module
from ..backend.algorithms import ConvGeometry, choose
from ..backend.numpy_backend.conv import add_bias, bias_grad, output_rows, weight_grad, weight_times_cols
from ..backend.numpy_backend.conv import weight_transposed_times
from ..backend.numpy_backend.window import unpad_index
from ..shapes import conv_transpose_output_size
from ..tensor import from_op


def conv_algorithm(x_shape, w_shape, stride, padding, dilation, groups, algorithm="auto"):
    """The algorithm (of the active backend's table) that :func:`conv` runs for these shapes.

    ``padding`` is ``((before, after), ...)``. ``algorithm='auto'`` applies the
    table's rule; a name must be one of the table's and apply (ValueError otherwise).
    """
    geometry = ConvGeometry.of(x_shape, w_shape, stride, padding, dilation, groups)
    return choose("conv", backend.active().conv_algorithms, geometry, algorithm)


def conv(x, w, b, stride, padding, dilation, groups, algorithm="auto"):
    """Convolution (cross-correlation) of ``x (N, C, *in)`` with ``w (O, C/groups, *k)``, plus ``b (O,)`` or None.

    ``stride`` and ``dilation`` are tuples, ``padding`` is ``((before, after), ...)``,
    one entry per spatial dim; arguments are already validated. ``algorithm`` is
    ``'auto'`` or the name of one of the active backend's algorithms that applies.
    """
    kernels = backend.active()
    geometry = ConvGeometry.of(x.shape, w.shape, stride, padding, dilation, groups)
    chosen = choose("conv", kernels.conv_algorithms, geometry, algorithm)
    needs = (x.requires_grad, w.requires_grad, b is not None and b.requires_grad)
    y, backward = chosen.forward(kernels, x.array, w.array, None if b is None else b.array, geometry, needs)
    return from_op(y, (x, w) if b is None else (x, w, b), backward)


def conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups):
    """Transposed convolution of ``x (N, C_in, *in)`` with ``w (C_in, C_out/groups, *k)``: the adjoint of ``conv``.

    Its forward is the convolution's input gradient; its backward is the
    convolution's forward (input) and weight gradient (weight). ``padding`` and
    ``output_padding`` are tuples of ints; arguments are already validated.
    """
    kernels = backend.active()
    kernel = w.shape[2:]
    out_size = tuple(conv_transpose_output_size(n, k, s, p, op, d)
                     for n, k, s, p, op, d in zip(x.shape[2:], kernel, stride, padding, output_padding, dilation))
    out_shape = (x.shape[0], w.shape[1] * groups) + out_size
    pads = tuple((p, p) for p in padding)
    rows = output_rows(x.array, groups)
    y = kernels.col2im(weight_transposed_times(kernels, w.array, rows), out_shape, kernel, stride, pads, dilation,
                       x.shape[2:])
    y = add_bias(y, None if b is None else b.array)
    if not w.requires_grad:
        rows = None  # only the weight gradient needs the input's rows

    def backward(g):
        cols = kernels.im2col(g, kernel, stride, pads, dilation, groups, x.shape[2:])
        gx = weight_times_cols(kernels, w.array, cols, x.shape[0], x.shape[2:]) if x.requires_grad else None
        gw = weight_grad(kernels, rows, cols, w.shape) if w.requires_grad else None
        return gx, gw, bias_grad(g) if b is not None and b.requires_grad else None
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
        return low + numpy.arange(-max(before, 0), kept + max(after, 0)) % kept
    j = numpy.arange(-before, n + after)
    if mode == "reflect":
        return (n - 1) - abs((n - 1) - abs(j))
    return numpy.clip(j, 0, n - 1)


def pad(x, pads, mode="constant", value=0.0):
    """``x`` padded by ``pads = ((before, after), ...)`` over its trailing dims; negative pads crop.

    ``mode`` is 'constant' (fill with ``value``), 'reflect', 'replicate' or
    'circular'; arguments are already validated.
    """
    if mode == "constant":
        return _pad_constant(x, pads, value)
    lead = x.ndim - len(pads)
    xp = get_array_module(x.array)
    steps = [(lead + i, xp.asarray(pad_source_index(n, b, a, mode)), b, a)
             for i, (n, (b, a)) in enumerate(zip(x.shape[lead:], pads)) if b or a]
    y = x.array
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
    xp = get_array_module(g)
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
    cropped = x.array[crop]
    y = backend.active().pad_constant(cropped, grow, value)

    def backward(g):
        inner = g[unpad_index(grow, cropped.shape[lead:])]
        if inner.shape == x.shape:
            return (inner,)
        grad = get_array_module(g).zeros(x.shape, dtype=g.dtype)
        grad[crop] = inner
        return (grad,)
    return from_op(y, (x,), backward)
