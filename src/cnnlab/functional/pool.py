"""Pooling: max and average over fixed or adaptive windows, as ``torch.nn.functional``.

Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``. The functions
normalise "int or tuple" arguments, validate them (errors name the argument,
the rule and the value received) and call :mod:`cnnlab.ops.pool`.
"""
from .. import arguments
from ..ops import pool as ops
from ..shapes import conv_output_size

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
]

_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


# ------------------------------------------------------ argument checking
def _spatial_size(fn, input, nd):
    """Check ``input`` is a float ``(C, *spatial)`` or ``(N, C, *spatial)`` Tensor; its spatial size."""
    input = arguments.float_tensor(fn, "input", input)
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{fn}: input must be {nd + 1}-D (C, {_SPATIAL[nd]}) or {nd + 2}-D "
                         f"(N, C, {_SPATIAL[nd]}), got input.shape={input.shape}")
    spatial = input.shape[-nd:]
    if 0 in spatial:
        raise ValueError(f"{fn}: input's spatial sizes ({_SPATIAL[nd]}) must be non-zero, "
                         f"got input.shape={input.shape}")
    return spatial


def _window_args(fn, input, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """Validated ``(kernel, stride, padding, dilation)`` tuples of a fixed-window pool over ``input``."""
    spatial = _spatial_size(fn, input, nd)
    kernel, steps, pads, dilations = arguments.pool_window(fn, nd, kernel_size, stride, padding, dilation)
    out = tuple(conv_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(spatial, kernel, steps, pads, dilations))
    if min(out) < 1:
        raise ValueError(f"{fn}: output size must be at least 1, but kernel_size={kernel_size!r} "
                         f"(dilation={dilation!r}) is larger than the input of size {spatial} "
                         f"padded by padding={padding!r}: output size {out}")
    for n, s, p, d, o in zip(spatial, steps, pads, dilations, out):
        if (ops.first_inside(ops.window_starts(o, s, p), d) >= n).any():
            raise ValueError(f"{fn}: every window must see at least one input position, but with "
                             f"dilation={dilation!r} and padding={padding!r} some windows see only "
                             f"padding for input size {spatial}")
    return kernel, steps, pads, dilations


# --------------------------------------------------------------- max pools
def _max_pool(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel, stride, padding, dilation = _window_args(fn, input, nd, kernel_size, stride, padding, dilation,
                                                     ceil_mode)
    if not return_indices:
        return ops.max_pool_values(input, kernel, stride, padding, dilation, ceil_mode)
    return ops.max_pool(input, kernel, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Largest value in each ``kernel_size`` window, sliding by ``stride`` over -inf-padded input.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding, dilation: int or ``(h, w)``; ``stride`` defaults
            to ``kernel_size``; ``padding`` at most ``kernel_size // 2``.
        ceil_mode: round the output size up (a last, partial window is kept when it
            starts inside the input or the left padding).
        return_indices: also return, per output, the flat index ``h * W + w`` of the
            chosen input in its plane (int64), as ``torch.nn.functional.max_pool2d``.
            Ties go to the first position in the window; the gradient flows there.

    Shape:
        ``(N, C, H_out, W_out)`` with, per dimension,
        ``out = floor((n + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``
        (``ceil`` instead of ``floor`` with ``ceil_mode``); see :func:`cnnlab.shapes.conv_output_size`.

    >>> x = cnnlab.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Largest value in each window of ``(N, C, L)`` or ``(C, L)`` input; arguments as :func:`max_pool2d`.

    >>> max_pool1d(cnnlab.tensor([[1.0, 3.0, 2.0, 0.0]]), 2).tolist()
    [[3.0, 2.0]]
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Largest value in each window of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input; as :func:`max_pool2d`.

    Indices are ``d * H * W + h * W + w``.

    >>> max_pool3d(cnnlab.randn(1, 2, 4, 4, 4), 2).shape
    (1, 2, 2, 2, 2)
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ----------------------------------------------------------- average pools
def _avg_pool(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    kernel, stride, padding, _ = _window_args(fn, input, nd, kernel_size, stride, padding, 1, ceil_mode)
    divisor_override = arguments.divisor_override(fn, divisor_override)
    return ops.avg_pool(input, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean of each ``kernel_size`` window, sliding by ``stride`` over zero-padded input.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding: int or ``(h, w)``; ``stride`` defaults to
            ``kernel_size``; ``padding`` at most ``kernel_size // 2``.
        ceil_mode: round the output size up, as :func:`max_pool2d`.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide every window's sum by this int instead.

    The divisor, per dimension, is the window's length after cutting it at the end
    of the padded input (``[start, min(start + k, n + padding))``, so ceil_mode's
    overhang is never counted) or, with ``count_include_pad=False``, at the input
    itself (``[max(start, 0), min(start + k, n))``); across dimensions, the product.

    Shape:
        ``(N, C, H_out, W_out)``, ``out = floor((n + 2 * padding - kernel_size) / stride) + 1``
        per dimension (``ceil`` with ``ceil_mode``).

    >>> avg_pool2d(cnnlab.ones(1, 1, 3, 3), 2, padding=1).tolist()
    [[[[0.25, 0.5], [0.5, 1.0]]]]
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean of each window of ``(N, C, L)`` or ``(C, L)`` input; arguments as :func:`avg_pool2d`.

    >>> avg_pool1d(cnnlab.tensor([[1.0, 3.0, 2.0, 0.0]]), 2).tolist()
    [[2.0, 1.0]]
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean of each window of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input; as :func:`avg_pool2d`.

    >>> avg_pool3d(cnnlab.ones(1, 1, 4, 4, 4), 2).shape
    (1, 1, 2, 2, 2)
    """
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---------------------------------------------------------- adaptive pools
def _adaptive(fn, nd, input, output_size):
    """``output_size`` as ints, a None entry taking the input's size."""
    spatial = _spatial_size(fn, input, nd)
    sizes = arguments.output_size(fn, output_size, nd)
    return tuple(n if s is None else s for s, n in zip(sizes, spatial))


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows chosen so the output has ``output_size``, whatever the input size.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size: int or ``(H_out, W_out)``; a None entry keeps that input size.

    Output ``i`` of a dimension of size ``n`` averages the input over
    ``[floor(i * n / out), ceil((i + 1) * n / out))``, as PyTorch (windows may
    overlap when ``out`` does not divide ``n``).

    >>> adaptive_avg_pool2d(cnnlab.randn(2, 3, 7, 5), (3, None)).shape
    (2, 3, 3, 5)
    """
    return ops.adaptive_avg_pool(input, _adaptive("adaptive_avg_pool2d", 2, input, output_size))


def adaptive_avg_pool1d(input, output_size):
    """Mean over adaptive windows of ``(N, C, L)`` or ``(C, L)`` input; as :func:`adaptive_avg_pool2d`.

    >>> adaptive_avg_pool1d(cnnlab.tensor([[1.0, 3.0, 2.0, 0.0, 4.0]]), 2).tolist()
    [[2.0, 2.0]]
    """
    return ops.adaptive_avg_pool(input, _adaptive("adaptive_avg_pool1d", 1, input, output_size))


def adaptive_avg_pool3d(input, output_size):
    """Mean over adaptive windows of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input; as :func:`adaptive_avg_pool2d`."""
    return ops.adaptive_avg_pool(input, _adaptive("adaptive_avg_pool3d", 3, input, output_size))


def _adaptive_max(fn, nd, input, output_size, return_indices):
    values, indices = ops.adaptive_max_pool(input, _adaptive(fn, nd, input, output_size))
    return (values, indices) if return_indices else values


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Largest value over windows chosen so the output has ``output_size``, whatever the input size.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size: int or ``(H_out, W_out)``; a None entry keeps that input size.
        return_indices: also return the flat index ``h * W + w`` of each maximum (int64).

    Windows as :func:`adaptive_avg_pool2d`; ties go to the first position, as
    :func:`max_pool2d`.

    >>> adaptive_max_pool2d(cnnlab.randn(2, 3, 7, 5), 1).shape
    (2, 3, 1, 1)
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Largest value over adaptive windows of ``(N, C, L)`` or ``(C, L)`` input; as :func:`adaptive_max_pool2d`.

    >>> adaptive_max_pool1d(cnnlab.tensor([[1.0, 3.0, 2.0, 0.0, 4.0]]), 2).tolist()
    [[3.0, 4.0]]
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Largest value over adaptive windows of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input;
    as :func:`adaptive_max_pool2d` (indices ``d * H * W + h * W + w``)."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)
