"""Dropout layers: zero elements (or whole channels) with probability ``p`` while training.

Kept elements are scaled by ``1 / (1 - p)`` so the expected output equals the
input; in evaluation mode (``model.eval()``) the input passes through unchanged.
The masks are drawn from ``cnnlab.random.default_generator()``, so
``cnnlab.manual_seed(s)`` makes them reproducible.
"""
from .. import arguments
from .. import functional as F
from .module import Module, format_arguments

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    function = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = arguments.real(type(self).__name__, "p", p, low=0, high=1)
        self.inplace = inplace

    def forward(self, input):
        return getattr(F, self.function)(input, self.p, self.training)

    def extra_repr(self):
        return format_arguments(p=(self.p, 0.5), inplace=(self.inplace, False))


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training, scale the rest by ``1 / (1 - p)``.

    Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html

    >>> drop = Dropout(p=0.2)
    >>> drop(cnnlab.ones(4))           # training: each element 0 or 1.25
    >>> drop.eval()(cnnlab.ones(4))    # evaluation: unchanged
    tensor([1., 1., 1., 1.])
    """

    function = "dropout"


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) of ``(N, C, H, W)`` with probability ``p`` in training.

    Kept channels are scaled by ``1 / (1 - p)`` (Tompson et al. 2015).
    """

    function = "dropout2d"
