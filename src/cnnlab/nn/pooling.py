"""Pooling layers: max, average and adaptive pooling in 1, 2 and 3 dimensions, as in ``torch.nn``.

They hold no parameters: the constructor validates and normalises the window
arguments, ``forward`` calls the functional op (``F.max_pool2d``, ...).

Shape (max and average pooling), per spatial dim, ``stride`` defaulting to ``kernel_size``::

    out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

(``ceil`` instead of ``floor`` with ``ceil_mode=True``, dropping a last window
that would start in the right padding; average pooling has ``dilation = 1``).
"""
from .. import arguments
from .. import functional as F
from .module import Module, format_arguments

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


class _Pool(Module):
    dims = None
    function = None

    def _init_window(self, kernel_size, stride, padding, dilation, ceil_mode):
        window = arguments.pool_window(type(self).__name__, self.dims, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = window
        self.ceil_mode = bool(ceil_mode)


class _MaxPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self._init_window(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, input):
        return getattr(F, self.function)(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                         ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        n = self.dims
        return format_arguments(kernel_size=(self.kernel_size, None), stride=(self.stride, self.kernel_size),
                                padding=(self.padding, (0,) * n), dilation=(self.dilation, (1,) * n),
                                ceil_mode=(self.ceil_mode, False), return_indices=(self.return_indices, False))


class MaxPool1d(_MaxPool):
    """Max over sliding windows of ``(N, C, L)``; arguments as :class:`MaxPool2d`, ints or 1-tuples.

    >>> MaxPool1d(2)(cnnlab.randn(1, 3, 9)).shape
    (1, 3, 4)
    """

    dims, function = 1, "max_pool1d"


class MaxPool2d(_MaxPool):
    """Max over sliding windows of ``(N, C, H, W)``, as ``torch.nn.MaxPool2d``.

    Args:
        kernel_size: window size, int or (h, w).
        stride: window step, int or (h, w); defaults to ``kernel_size``.
        padding: implicit -inf padding on both sides, at most ``kernel_size // 2``.
        dilation: spacing between window elements.
        return_indices: also return the flat (h * W + w) index of each maximum.
        ceil_mode: round the output size up instead of down.

    Shape:
        ``out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1`` per spatial dim.

    >>> MaxPool2d(2)(cnnlab.randn(1, 6, 28, 28)).shape
    (1, 6, 14, 14)
    """

    dims, function = 2, "max_pool2d"


class MaxPool3d(_MaxPool):
    """Max over sliding windows of ``(N, C, D, H, W)``; arguments as :class:`MaxPool2d`, tuples of 3."""

    dims, function = 3, "max_pool3d"


class _AvgPool(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self._init_window(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = arguments.divisor_override(type(self).__name__, divisor_override)

    def _arguments(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def forward(self, input):
        return getattr(F, self.function)(input, *self._arguments(), self.divisor_override)

    def extra_repr(self):
        return format_arguments(kernel_size=(self.kernel_size, None), stride=(self.stride, self.kernel_size),
                                padding=(self.padding, (0,) * self.dims), ceil_mode=(self.ceil_mode, False),
                                count_include_pad=(self.count_include_pad, True),
                                divisor_override=(self.divisor_override, None))


class AvgPool1d(_AvgPool):
    """Mean over sliding windows of ``(N, C, L)``; arguments as :class:`AvgPool2d` without ``divisor_override``."""

    dims, function = 1, "avg_pool1d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(input, *self._arguments())


class AvgPool2d(_AvgPool):
    """Mean over sliding windows of ``(N, C, H, W)``, as ``torch.nn.AvgPool2d``.

    Args:
        kernel_size: window size, int or (h, w).
        stride: window step; defaults to ``kernel_size``.
        padding: implicit zero padding on both sides, at most half the kernel.
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the whole window, padding included (else by the real elements).
        divisor_override: divide by this instead.

    Shape:
        ``out = floor((in + 2 * padding - kernel_size) / stride) + 1`` per spatial dim.

    >>> AvgPool2d(2)(cnnlab.randn(1, 6, 28, 28)).shape
    (1, 6, 14, 14)
    """

    dims, function = 2, "avg_pool2d"


class AvgPool3d(_AvgPool):
    """Mean over sliding windows of ``(N, C, D, H, W)``; arguments as :class:`AvgPool2d`, tuples of 3."""

    dims, function = 3, "avg_pool3d"


class _AdaptivePool(Module):
    dims = None
    function = None

    def __init__(self, output_size):
        super().__init__()
        arguments.output_size(type(self).__name__, output_size, self.dims)
        self.output_size = tuple(output_size) if isinstance(output_size, list) else output_size

    def forward(self, input):
        return getattr(F, self.function)(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size!r}"


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, input):
        return getattr(F, self.function)(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return format_arguments(output_size=(self.output_size, None), return_indices=(self.return_indices, False))


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling of ``(N, C, L)`` to a fixed ``output_size``; windows ``[floor(i*L/out), ceil((i+1)*L/out))``."""

    dims, function = 1, "adaptive_avg_pool1d"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling of ``(N, C, H, W)`` to ``output_size`` (int or (h, w); None keeps that size).

    Output cell ``i`` averages input rows ``floor(i * H / h)`` to ``ceil((i + 1) * H / h) - 1``.

    >>> AdaptiveAvgPool2d(1)(cnnlab.randn(2, 512, 7, 7)).shape
    (2, 512, 1, 1)
    """

    dims, function = 2, "adaptive_avg_pool2d"


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average pooling of ``(N, C, D, H, W)`` to ``output_size``; as :class:`AdaptiveAvgPool2d`."""

    dims, function = 3, "adaptive_avg_pool3d"


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling of ``(N, C, L)`` to a fixed ``output_size``; windows as :class:`AdaptiveAvgPool1d`."""

    dims, function = 1, "adaptive_max_pool1d"


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling of ``(N, C, H, W)`` to ``output_size``; windows as :class:`AdaptiveAvgPool2d`.

    >>> AdaptiveMaxPool2d((2, 3))(cnnlab.randn(1, 4, 9, 10)).shape
    (1, 4, 2, 3)
    """

    dims, function = 2, "adaptive_max_pool2d"


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max pooling of ``(N, C, D, H, W)`` to ``output_size``; windows as :class:`AdaptiveAvgPool2d`."""

    dims, function = 3, "adaptive_max_pool3d"
