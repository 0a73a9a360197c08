"""Linear (fully connected), Identity and Flatten layers, as in ``torch.nn``."""

import numpy

from .. import arguments
from .. import functional as F
from ..backend import default_float
from . import init
from .module import Module, Parameter, format_arguments

__all__ = ["Linear", "Identity", "Flatten"]


class Linear(Module):
    """``y = x W^T + b``: an affine map of the last dimension.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: learn an additive bias ``(out_features,)``.

    Weight ``(out_features, in_features)``, as PyTorch's; both start in
    U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Shape:
        ``(*, in_features) -> (*, out_features)``.

    >>> Linear(400, 120)(cnnlab.randn(8, 400)).shape
    (8, 120)
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = arguments.integer("Linear", "in_features", in_features, minimum=0)
        self.out_features = arguments.integer("Linear", "out_features", out_features, minimum=0)
        # Parameters are created with NumPy on the host.
        self.weight = Parameter(numpy.empty((out_features, in_features), dtype=default_float))
        if bias:
            self.bias = Parameter(numpy.empty(out_features, dtype=default_float))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ``kaiming_uniform_(a=sqrt(5))``, i.e. U(+-1/sqrt(in_features)); bias alike."""
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return format_arguments((self.in_features, self.out_features), bias=(self.bias is not None, True))


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments (a placeholder layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one (by default all but the batch dimension).

    Shape:
        ``(N, C, H, W) -> (N, C * H * W)`` with the defaults.

    >>> Flatten()(cnnlab.zeros(2, 16, 5, 5)).shape
    (2, 400)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = arguments.integer("Flatten", "start_dim", start_dim)
        self.end_dim = arguments.integer("Flatten", "end_dim", end_dim)

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return format_arguments(start_dim=(self.start_dim, 1), end_dim=(self.end_dim, -1))
