"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, as in ``torch.nn``.

The constructor validates and normalises the arguments once and creates the
weight ``(out_channels, in_channels / groups, *kernel_size)`` (transposed:
``(in_channels, out_channels / groups, *kernel_size)``) and bias
``(out_channels,)``; ``reset_parameters`` initialises them as PyTorch does;
``forward`` calls the functional op (``F.conv2d``, ``F.conv_transpose2d``, ...).
"""
import numpy

from .. import arguments
from .. import functional as F
from ..backend import default_float
from . import init
from .module import Module, Parameter, format_arguments

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv and ConvTranspose share: arguments, parameters, default initialisation, repr."""

    dims = None          # number of spatial dimensions
    function = None      # the name of the functional op in cnnlab.functional

    def _init_common(self, in_channels, out_channels, kernel_size, stride, dilation, groups, bias):
        owner = type(self).__name__
        self.in_channels = arguments.integer(owner, "in_channels", in_channels, minimum=1)
        self.out_channels = arguments.integer(owner, "out_channels", out_channels, minimum=1)
        self.groups = arguments.groups(owner, groups, in_channels, out_channels)
        self.kernel_size = arguments.ntuple(owner, "kernel_size", kernel_size, self.dims)
        self.stride = arguments.ntuple(owner, "stride", stride, self.dims)
        self.dilation = arguments.ntuple(owner, "dilation", dilation, self.dims)

    def _create_parameters(self, weight_shape, bias):
        # Parameters are created with NumPy on the host.
        self.weight = Parameter(numpy.empty(weight_shape, dtype=default_float))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_channels, dtype=default_float))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ``kaiming_uniform_(a=sqrt(5))``, i.e. U(+-1/sqrt(fan_in)); bias the same bound."""
        init.default_layer_init_(self.weight, self.bias)


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        owner = type(self).__name__
        self._init_common(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        self.padding = arguments.conv_padding(owner, padding, self.dims)
        self.padding_mode = arguments.choice(owner, "padding_mode", padding_mode, PADDING_MODES)
        self._create_parameters((out_channels, in_channels // groups, *self.kernel_size), bias)

    def _padding_pairs(self, size=None):
        """``(before, after)`` per spatial dim; strided 'same' needs the input's spatial ``size``."""
        return arguments.padding_pairs(self.padding, self.kernel_size, self.dilation, self.stride, size)

    def forward(self, input):
        conv = getattr(F, self.function)
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        pairs = self._padding_pairs(input.shape[-self.dims:])
        pads = [p for pair in reversed(pairs) for p in pair]   # last dim first, as F.pad
        padded = F.pad(input, tuple(pads), mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        n = self.dims
        return format_arguments((self.in_channels, self.out_channels), kernel_size=(self.kernel_size, None),
                                stride=(self.stride, (1,) * n), padding=(self.padding, (0,) * n),
                                dilation=(self.dilation, (1,) * n), groups=(self.groups, 1),
                                bias=(self.bias is not None, True), padding_mode=(self.padding_mode, "zeros"))


class Conv1d(_Conv):
    """1-D convolution (cross-correlation) over ``(N, C_in, L)``: ``out = bias + sum_c weight[:, c] * x[:, c]``.

    Args:
        in_channels, out_channels: channel counts, both divisible by ``groups``.
        kernel_size, stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, ``((left, right),)``, 'valid' (none) or 'same' (``L_out = ceil(L_in / stride)``,
            for stride > 1 as TensorFlow pads: see :class:`Conv2d`).
        groups: split the channels into ``groups`` independent convolutions.
        bias: learn an additive bias ``(out_channels,)``.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape:
        ``(N, C_in, L_in) -> (N, C_out, L_out)`` with
        ``L_out = floor((L_in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``.

    >>> Conv1d(16, 33, 3, stride=2)(cnnlab.randn(20, 16, 50)).shape
    (20, 33, 24)
    """

    dims, function = 1, "conv1d"


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) over ``(N, C_in, H, W)``, as ``torch.nn.Conv2d``.

    Args:
        in_channels, out_channels: channel counts, both divisible by ``groups``.
        kernel_size, stride, dilation: int or (h, w).
        padding: int or (h, w) (both sides), ``((top, bottom), (left, right))`` (per side), 'valid'
            (none) or 'same': output ``ceil(in / stride)`` per dim, the input's size for stride 1. With a
            stride > 1, which PyTorch refuses, the padding depends on the input's size and is TensorFlow's
            and Keras's (:func:`cnnlab.shapes.same_padding`; the extra row at the end).
        groups: split the channels into ``groups`` independent convolutions
            (``groups == in_channels``: depthwise).
        bias: learn an additive bias ``(out_channels,)``.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Weight ``(C_out, C_in / groups, kH, kW)``.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``, per spatial dim
        ``out = floor((in + before + after - dilation * (kernel_size - 1) - 1) / stride) + 1``
        (``before = after = padding`` for an int).

    >>> Conv2d(1, 6, kernel_size=5)(cnnlab.randn(1, 1, 32, 32)).shape
    (1, 6, 28, 28)
    >>> Conv2d(1, 6, 3, stride=2, padding="same")(cnnlab.randn(1, 1, 28, 27)).shape
    (1, 6, 14, 14)
    """

    dims, function = 2, "conv2d"


class Conv3d(_Conv):
    """3-D convolution over ``(N, C_in, D, H, W)``; arguments as :class:`Conv2d`, tuples of 3.

    Shape:
        per spatial dim ``out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``.

    >>> Conv3d(2, 4, 3, padding=1)(cnnlab.randn(1, 2, 5, 6, 7)).shape
    (1, 4, 5, 6, 7)
    """

    dims, function = 3, "conv3d"


class _ConvTranspose(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros"):
        super().__init__()
        owner = type(self).__name__
        self._init_common(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        self.padding = arguments.ntuple(owner, "padding", padding, self.dims, minimum=0)
        self.output_padding = arguments.output_padding(owner, output_padding, self.stride, self.dilation)
        self.padding_mode = arguments.choice(owner, "padding_mode", padding_mode, ("zeros",))
        self._create_parameters((in_channels, out_channels // groups, *self.kernel_size), bias)

    def forward(self, input):
        return getattr(F, self.function)(input, self.weight, self.bias, self.stride, self.padding,
                                         self.output_padding, self.groups, self.dilation)

    def extra_repr(self):
        n = self.dims
        return format_arguments((self.in_channels, self.out_channels), kernel_size=(self.kernel_size, None),
                                stride=(self.stride, (1,) * n), padding=(self.padding, (0,) * n),
                                dilation=(self.dilation, (1,) * n), output_padding=(self.output_padding, (0,) * n),
                                groups=(self.groups, 1), bias=(self.bias is not None, True))


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the adjoint of Conv1d; "deconvolution") over ``(N, C_in, L)``.

    Args as :class:`ConvTranspose2d`, ints or 1-tuples.

    Shape:
        ``L_out = (L_in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``.

    >>> ConvTranspose1d(4, 2, 3, stride=2)(cnnlab.randn(1, 4, 5)).shape
    (1, 2, 11)
    """

    dims, function = 1, "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution over ``(N, C_in, H, W)``: the gradient of Conv2d with respect to its input.

    Args:
        in_channels, out_channels: channel counts, both divisible by ``groups``.
        kernel_size, stride, dilation: int or (h, w).
        padding: int or (h, w): rows/columns cut from each side of the full output
            (the padding of the Conv2d this layer is the adjoint of).
        output_padding: extra rows/columns added on one side (smaller than stride or dilation),
            to pick among the input sizes a strided Conv2d maps to the same output size.
        groups, bias: as :class:`Conv2d`.

    Weight ``(C_in, C_out / groups, kH, kW)``.

    Shape:
        per spatial dim
        ``out = (in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``.

    >>> ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)(cnnlab.randn(1, 16, 12, 12)).shape
    (1, 8, 24, 24)
    """

    dims, function = 2, "conv_transpose2d"


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution over ``(N, C_in, D, H, W)``; arguments as :class:`ConvTranspose2d`, tuples of 3.

    Shape:
        per spatial dim
        ``out = (in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``.
    """

    dims, function = 3, "conv_transpose3d"
