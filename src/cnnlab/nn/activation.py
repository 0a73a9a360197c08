"""Activation layers: thin modules over ``cnnlab.functional``'s elementwise nonlinearities and softmax.

``inplace`` is accepted so code ported from PyTorch runs unchanged; the result is
always a new tensor (the autograd graph needs the input intact).
"""
from .. import arguments
from .. import functional as F
from .module import Module, format_arguments

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """``max(0, x)`` elementwise.

    >>> ReLU()(cnnlab.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return format_arguments(inplace=(self.inplace, False))


class ReLU6(ReLU):
    """``min(max(0, x), 6)`` elementwise (MobileNet's activation)."""

    def forward(self, input):
        return F.relu6(input)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    >>> LeakyReLU(0.1)(cnnlab.tensor([-1.0, 2.0]))
    tensor([-0.1,  2. ])
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = arguments.real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return format_arguments(negative_slope=(self.negative_slope, 0.01), inplace=(self.inplace, False))


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (Clevert et al. 2015)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = arguments.real("ELU", "alpha", alpha), inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return format_arguments(alpha=(self.alpha, 1.0), inplace=(self.inplace, False))


class GELU(Module):
    """``x * Phi(x)`` (``approximate='tanh'``: the tanh approximation), Hendrycks & Gimpel 2016."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = arguments.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return format_arguments(approximate=(self.approximate, "none"))


class SiLU(ReLU):
    """``x * sigmoid(x)`` elementwise (also called swish)."""

    def forward(self, input):
        return F.silu(input)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = arguments.real("Softplus", "beta", beta)
        if self.beta == 0:
            raise arguments.refuse(ValueError, "Softplus", "beta", "non-zero", repr(beta))
        self.threshold = arguments.real("Softplus", "threshold", threshold)

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return format_arguments(beta=(self.beta, 1.0), threshold=(self.threshold, 20.0))


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)`` elementwise."""

    def forward(self, input):
        return F.tanh(input)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice along it sums to 1.

    >>> Softmax(dim=1)(cnnlab.zeros(2, 4))[0]
    tensor([0.25, 0.25, 0.25, 0.25])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = None if dim is None else arguments.integer(type(self).__name__, "dim", dim)

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x - log(sum(exp(x)))`` along ``dim``, computed stably."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = None if dim is None else arguments.integer(type(self).__name__, "dim", dim)

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
