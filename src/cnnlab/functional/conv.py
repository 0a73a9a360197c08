"""Convolution, transposed convolution and padding, with torch.nn.functional's API.

Each function checks its arguments (errors name the argument, the rule and the
value received), normalises "int or tuple" arguments once, then calls the
array-level ops in :mod:`cnnlab.ops.conv`. One N-d implementation serves 1-d,
2-d and 3-d.
"""
from .. import arguments
from ..ops import conv as ops
from ..shapes import conv_transpose_output_size

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "pad"]

_KERNEL_DIMS = {1: "kW", 2: "kH, kW", 3: "kD, kH, kW"}
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


# ------------------------------------------------------------- convolution


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: ``input (N, C_in, L)`` or ``(C_in, L)``, ``weight (C_out, C_in/groups, kW)``.

    Arguments and output size as :func:`conv2d`, with one spatial dim.

    >>> conv1d(Tensor([[[1., 1, 0, 0, 1]]]), Tensor([[[1., -1]]]))
    tensor([[[ 0.,  1.,  0., -1.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every deep-learning library) of a batch of images.

    Args:
        input: ``(N, C_in, H, W)``, or ``(C_in, H, W)`` unbatched.
        weight: ``(C_out, C_in/groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride: int or ``(sH, sW)``.
        padding: int or ``(pH, pW)`` zeros on both sides; per side
            ``((top, bottom), (left, right))``; ``'valid'`` (none) or ``'same'``:
            output ``ceil(H / sH)`` by ``ceil(W / sW)`` (the input's size for
            stride 1), an odd total padding putting the extra row or column at the
            end, as PyTorch and TensorFlow do. PyTorch refuses 'same' with a
            stride > 1; cnnlab pads as TensorFlow and Keras do
            (:func:`cnnlab.shapes.same_padding`).
        dilation: int or ``(dH, dW)``, the spacing between kernel taps.
        groups: split the channels into this many independent convolutions;
            ``groups = C_in`` is a depthwise convolution.

    Shape:
        ``H_out = floor((H + top + bottom - dH * (kH - 1) - 1) / sH) + 1`` (``top = bottom = pH``
        for an int padding), likewise ``W_out`` (:func:`cnnlab.shapes.conv_output_size`).
        Output ``(N, C_out, H_out, W_out)``.

    >>> x = Tensor([[[[0., 1, 2], [3, 4, 5], [6, 7, 8]]]])
    >>> conv2d(x, Tensor([[[[0., 1], [2, 3]]]]))
    tensor([[[[19., 25.],
              [37., 43.]]]])
    >>> conv2d(ones(1, 1, 28, 28), ones(1, 1, 3, 3), stride=2, padding="same").shape
    (1, 1, 14, 14)
    >>> conv2d(ones(1, 1, 5, 5), ones(1, 1, 3, 3), padding=((0, 2), (1, 1))).shape
    (1, 1, 5, 5)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution: ``input (N, C_in, D, H, W)`` or unbatched, ``weight (C_out, C_in/groups, kD, kH, kW)``.

    Arguments and output size as :func:`conv2d`, with three spatial dims.

    >>> conv3d(ones(1, 2, 4, 4, 4), ones(3, 2, 3, 3, 3), padding="same").shape
    (1, 3, 4, 4, 4)
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv(where, nd, input, weight, bias, stride, padding, dilation, groups):
    input, weight, bias = _tensors(where, input, weight, bias)
    _check_ranks(where, nd, input, weight, f"(out_channels, in_channels/groups, {_KERNEL_DIMS[nd]})")
    in_channels, out_channels = input.shape[-nd - 1], weight.shape[0]
    groups = arguments.groups(where, groups, in_channels, out_channels)
    if weight.shape[1] * groups != in_channels:
        raise ValueError(f"{where}: weight.shape[1] * groups must equal in_channels, got weight.shape[1]="
                         f"{weight.shape[1]}, groups={groups} and in_channels={in_channels}")
    strides = arguments.ntuple(where, "stride", stride, nd)
    dilations = arguments.ntuple(where, "dilation", dilation, nd)
    padding = arguments.conv_padding(where, padding, nd)
    pads = arguments.padding_pairs(padding, weight.shape[2:], dilations, strides, input.shape[-nd:])
    _check_kernel_fits(where, input.shape[-nd:], weight.shape[2:], dilations, pads)
    _check_bias(where, bias, out_channels)
    batched = input.ndim == nd + 2
    out = ops.conv(input if batched else input.unsqueeze(0), weight, bias, strides, pads, dilations, groups)
    return out if batched else out.reshape(out.shape[1:])


# --------------------------------------------------- transposed convolution


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution: ``input (N, C_in, L)`` or unbatched, ``weight (C_in, C_out/groups, kW)``.

    Arguments and output size as :func:`conv_transpose2d`, with one spatial dim.

    >>> conv_transpose1d(Tensor([[[1., 2]]]), Tensor([[[1., 10]]]), stride=2)
    tensor([[[ 1., 10.,  2., 20.]]])
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution ("deconvolution"): the adjoint of :func:`conv2d`, which upsamples.

    Each input pixel adds a copy of the kernel, scaled by the pixel, into the
    output, ``stride`` apart; it is the gradient of ``conv2d`` with respect to its
    input, so ``conv_transpose2d(conv2d(x, w, ...), w, ...)`` has ``x``'s shape.

    Args:
        input: ``(N, C_in, H, W)``, or ``(C_in, H, W)`` unbatched.
        weight: ``(C_in, C_out/groups, kH, kW)`` (note: in_channels first, as in PyTorch).
        bias: ``(C_out,)`` or None.
        stride: int or ``(sH, sW)``.
        padding: int or ``(pH, pW)``, the padding of the convolution this is the
            adjoint of: it trims ``pH`` rows (``pW`` columns) from each side of the output.
        output_padding: int or ``(opH, opW)`` extra rows/columns at the end (choosing
            among the input sizes a strided conv2d maps to the same output size);
            must be smaller than the stride or the dilation.
        groups: independent groups of channels, as in :func:`conv2d`.
        dilation: int or ``(dH, dW)``.

    Shape:
        ``H_out = (H - 1) * sH - 2 * pH + dH * (kH - 1) + opH + 1``, likewise ``W_out``
        (:func:`cnnlab.shapes.conv_transpose_output_size`).

    >>> conv_transpose2d(ones(1, 8, 14, 14), ones(8, 3, 4, 4), stride=2, padding=1).shape
    (1, 3, 28, 28)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution: ``input (N, C_in, D, H, W)`` or unbatched, ``weight (C_in, C_out/groups, *k)``.

    Arguments and output size as :func:`conv_transpose2d`, with three spatial dims.

    >>> conv_transpose3d(ones(1, 2, 3, 3, 3), ones(2, 4, 2, 2, 2), stride=2).shape
    (1, 4, 6, 6, 6)
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def _conv_transpose(where, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    input, weight, bias = _tensors(where, input, weight, bias)
    _check_ranks(where, nd, input, weight, f"(in_channels, out_channels/groups, {_KERNEL_DIMS[nd]})")
    in_channels = input.shape[-nd - 1]
    out_channels = weight.shape[1] * arguments.integer(where, "groups", groups, minimum=1)
    if weight.shape[0] != in_channels:
        raise ValueError(f"{where}: weight.shape[0] must equal in_channels, got weight.shape[0]={weight.shape[0]} "
                         f"and in_channels={in_channels}")
    groups = arguments.groups(where, groups, in_channels, out_channels)
    strides = arguments.ntuple(where, "stride", stride, nd)
    dilations = arguments.ntuple(where, "dilation", dilation, nd)
    pads = arguments.ntuple(where, "padding", padding, nd, minimum=0)
    extras = arguments.output_padding(where, output_padding, strides, dilations)
    _check_transpose_output(where, input.shape[-nd:], weight.shape[2:], strides, pads, extras, dilations)
    _check_bias(where, bias, out_channels)
    batched = input.ndim == nd + 2
    out = ops.conv_transpose(input if batched else input.unsqueeze(0), weight, bias, strides, pads, extras,
                             dilations, groups)
    return out if batched else out.reshape(out.shape[1:])


def _check_transpose_output(where, spatial, kernel, stride, padding, output_padding, dilation):
    size = tuple(conv_transpose_output_size(*args)
                 for args in zip(spatial, kernel, stride, padding, output_padding, dilation))
    if min(size) < 1:
        raise ValueError(f"{where}: the output size must be positive, got output size {size} from input size "
                         f"{tuple(spatial)}, kernel {tuple(kernel)} and padding {padding}")


# --------------------------------------------------------- argument checks


def _tensors(where, input, weight, bias):
    """Input, weight and bias (or None) as Tensors of one floating dtype."""
    input = arguments.float_tensor(where, "input", input)
    return (input, arguments.float_tensor(where, "weight", weight, like=input),
            arguments.float_tensor(where, "bias", bias, like=input, optional=True))


def _check_ranks(where, nd, input, weight, layout):
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{where}: input must be {nd + 1}-D (unbatched) or {nd + 2}-D (batched), "
                         f"got input of shape {input.shape}")
    if weight.ndim != nd + 2:
        raise ValueError(f"{where}: weight must be {nd + 2}-D {layout}, got weight of shape {weight.shape}")


def _check_kernel_fits(where, spatial, kernel, dilation, pads):
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(n + b + a for n, (b, a) in zip(spatial, pads))
    if any(s > p for s, p in zip(span, padded)):
        raise ValueError(f"{where}: the kernel must fit in the padded input, got kernel size {tuple(kernel)} "
                         f"(spanning {span} with dilation {dilation}) and padded input size {padded}")


def _check_bias(where, bias, out_channels):
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{where}: bias must have shape (out_channels,) = ({out_channels},), "
                         f"got bias of shape {bias.shape}")


# ------------------------------------------------------------------ padding


def pad(input, pad, mode="constant", value=0.0):  # noqa: A002 - PyTorch's argument names
    """Pad (or, with negative pads, crop) the trailing dims of ``input``, as ``torch.nn.functional.pad``.

    Args:
        input: a Tensor of any shape.
        pad: ``(left, right)`` for the last dim, then ``(top, bottom)`` for the one
            before, and so on: last dim first, as in PyTorch; asymmetric pads allowed.
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without
            repeating the edge; each pad smaller than its dim), ``'replicate'``
            (repeat the edge) or ``'circular'`` (wrap around; each pad at most its dim).
        value: the fill of ``'constant'`` mode.

    Shape:
        each padded dim grows from ``n`` to ``n + before + after``.

    >>> pad(Tensor([[1., 2, 3]]), (2, 1), mode="reflect")
    tensor([[3., 2., 1., 2., 3., 2.]])
    """
    input = arguments.tensor("pad", "input", input)
    pads = _pad_pairs(pad, input.ndim)
    arguments.choice("pad", "mode", mode, _PAD_MODES)
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value is used only by mode='constant', got value={value!r} with mode={mode!r}")
    sizes = input.shape[input.ndim - len(pads):]
    for dim, (n, (before, after)) in enumerate(zip(sizes, pads), start=input.ndim - len(pads)):
        _check_pad_size(mode, dim, n, before, after)
    return ops.pad(input, pads, mode, 0.0 if value is None else value)


def _pad_pairs(pad, ndim):
    """torch's flat pad tuple (last dim first) as ``((before, after), ...)`` for the trailing dims in order."""
    if not isinstance(pad, (tuple, list)) or not all(arguments.is_int(p) for p in pad):
        raise arguments.refuse(TypeError, "pad", "pad", "a tuple of ints", repr(pad))
    if len(pad) % 2:
        raise ValueError(f"pad: pad must hold (before, after) pairs, so its length must be even, "
                         f"got pad={tuple(pad)} of length {len(pad)}")
    if len(pad) > 2 * ndim:
        raise ValueError(f"pad: pad can cover at most the input's {ndim} dims (length {2 * ndim}), "
                         f"got pad={tuple(pad)} of length {len(pad)}")
    return tuple((int(pad[i]), int(pad[i + 1])) for i in range(len(pad) - 2, -1, -2))


def _check_pad_size(mode, dim, n, before, after):
    got = f"got padding ({before}, {after}) for dim {dim} of size {n}"
    kept = n - max(-before, 0) - max(-after, 0)
    if n + before + after < 0:
        raise ValueError(f"pad: padding must not make a dim's size negative, {got}")
    if mode == "reflect" and max(before, after) >= n:
        raise ValueError(f"pad: reflect padding must be smaller than the size of its dim, {got}")
    if mode == "replicate" and n == 0:
        raise ValueError(f"pad: replicate padding needs a non-empty dim, {got}")
    if mode == "circular" and max(before, after) > kept:
        raise ValueError(f"pad: circular padding may wrap around at most once, so must not exceed the size of "
                         f"its dim after cropping ({kept}), {got}")
