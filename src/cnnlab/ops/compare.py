"""Elementwise maximum and minimum of two tensors, broadcast together.

Where the operands tie, each receives half the gradient, as in PyTorch
(``torch.maximum``'s derivative): ``d max(a, b) / da = [a > b] + [a == b] / 2``.
"""
from ..backend import get_array_module
from ..tensor import from_op
from .elementwise import unbroadcast


def _extreme(xp_function, a, b, a_wins):
    xp = get_array_module(a.array, b.array)
    out = xp_function(a.array, b.array)

    def backward(g):
        share = xp.where(a.array == b.array, g / 2, xp.where(a_wins(a.array, b.array), g, 0))
        return (unbroadcast(share, a.shape) if a.requires_grad else None,
                unbroadcast(g - share, b.shape) if b.requires_grad else None)
    return from_op(out, (a, b), backward)


def maximum(a, b):
    """The larger of ``a`` and ``b`` at each position (NaN if either is NaN)."""
    return _extreme(get_array_module(a.array, b.array).maximum, a, b, lambda x, y: x > y)


def minimum(a, b):
    """The smaller of ``a`` and ``b`` at each position (NaN if either is NaN)."""
    return _extreme(get_array_module(a.array, b.array).minimum, a, b, lambda x, y: x < y)


def _input(value):
    """``value`` itself if a Tensor, else a Tensor on it: ``max(array, 1)`` works too."""
    from ..tensor import Tensor

    return value if isinstance(value, Tensor) else Tensor(value)


def max(input, dim=None, keepdim=False):  # noqa: A001, A002 - PyTorch's names
    """As ``torch.max``: ``max(x)`` the largest value; ``max(x, dim)`` the named tuple ``(values, indices)``;
    ``max(x, other)`` with a tensor ``other`` the elementwise :func:`maximum`.

    Along ``dim`` the gradient goes to the position of the maximum, as in PyTorch.

    >>> max(cnnlab.tensor([[1., 5.], [7., 2.]]), 1)
    MaxResult(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    from ..tensor import Tensor

    if isinstance(dim, Tensor):
        return maximum(_input(input), dim)
    return _input(input).max(dim, keepdim)


def min(input, dim=None, keepdim=False):  # noqa: A001, A002 - PyTorch's names
    """As ``torch.min``: the smallest value, ``(values, indices)`` along ``dim``, or the elementwise :func:`minimum`."""
    from ..tensor import Tensor

    if isinstance(dim, Tensor):
        return minimum(_input(input), dim)
    return _input(input).min(dim, keepdim)


def argmax(input, dim=None, keepdim=False):  # noqa: A002 - PyTorch's name
    """Index of the largest value (of the flattened input when ``dim`` is None), int64."""
    return _input(input).argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):  # noqa: A002 - PyTorch's name
    """Index of the smallest value (of the flattened input when ``dim`` is None), int64."""
    return _input(input).argmin(dim, keepdim)
