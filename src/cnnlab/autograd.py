"""``Variable``: the wrapper old PyTorch code puts around tensors, kept so that such code runs unchanged.

Since PyTorch 0.4 a ``Variable`` is just a Tensor; here too ``Variable(x)``
returns the Tensor ``x`` itself and ``isinstance(t, Variable)`` holds for
every Tensor.

>>> from cnnlab.autograd import Variable
>>> x = Variable(cnnlab.ones(2), requires_grad=True)     # the same Tensor, now requiring grad
"""
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad  # noqa: F401 - torch.autograd's names


class _VariableType(type):
    def __instancecheck__(cls, value):
        return isinstance(value, Tensor)


class Variable(metaclass=_VariableType):
    """``Variable(data, requires_grad=False, volatile=False)``: ``data`` as a Tensor.

    Args:
        data: a Tensor (returned itself) or array-like (wrapped in a new Tensor).
        requires_grad: make the returned tensor require a gradient (a leaf).
        volatile: old PyTorch's "no gradient through this input": the tensor
            is returned detached. As in PyTorch since 0.4, results of later ops
            with parameters still record their graph; wrap inference in
            ``cnnlab.no_grad()`` to avoid that.
    """

    def __new__(cls, data, requires_grad=False, volatile=False):
        tensor = data if isinstance(data, Tensor) else Tensor(data)
        if volatile:
            return tensor.detach()
        return tensor.requires_grad_(True) if requires_grad else tensor
