"""Element-wise arithmetic with NumPy broadcasting, and matrix multiplication through :func:`cnnlab.backend.matmul`."""
from .. import backend
from ..backend import get_array_module, is_float
from ..tensor import Tensor, from_op


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def operand(value, like):
    """``value`` as a Tensor; Python numbers take ``like``'s float dtype, as in PyTorch."""
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like.array)
    if isinstance(value, (bool, int, float)) and is_float(like.array):
        return Tensor(xp.asarray(value, dtype=like.array.dtype))
    array = xp.asarray(value)
    if array.dtype.kind not in "f" and is_float(like.array):
        array = array.astype(like.array.dtype)
    return Tensor(array)


def add(a, b):
    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)
    return from_op(a.array + b.array, (a, b), backward)


def sub(a, b):
    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)
    return from_op(a.array - b.array, (a, b), backward)


def mul(a, b):
    def backward(g):
        return (unbroadcast(g * b.array, a.shape) if a.requires_grad else None,
                unbroadcast(g * a.array, b.shape) if b.requires_grad else None)
    return from_op(a.array * b.array, (a, b), backward)


def div(a, b):
    out = a.array / b.array

    def backward(g):
        ga = g / b.array
        return (unbroadcast(ga, a.shape) if a.requires_grad else None,
                unbroadcast(-ga * out, b.shape) if b.requires_grad else None)
    return from_op(out, (a, b), backward)


def power(a, b):
    """``a ** b``; the gradient with respect to ``b`` needs ``a > 0``."""
    out = a.array ** b.array
    xp = get_array_module(out)

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g * b.array * a.array ** (b.array - 1), a.shape)
        if b.requires_grad:
            gb = unbroadcast(g * out * xp.log(a.array), b.shape)
        return ga, gb
    return from_op(out, (a, b), backward)


def neg(a):
    return from_op(-a.array, (a,), lambda g: (-g,))


def exp(a):
    out = get_array_module(a.array).exp(a.array)
    return from_op(out, (a,), lambda g: (g * out,))


def log(a):
    return from_op(get_array_module(a.array).log(a.array), (a,), lambda g: (g / a.array,))


def sqrt(a):
    out = get_array_module(a.array).sqrt(a.array)
    return from_op(out, (a,), lambda g: (g / (2 * out),))


def abs(a):  # noqa: A001 - the Tensor method is named abs, as in PyTorch
    xp = get_array_module(a.array)
    return from_op(xp.abs(a.array), (a,), lambda g: (g * xp.sign(a.array),))


def clip(a, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Clamp into ``[min, max]``; the gradient passes where the input was inside."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given, got min=None and max=None")
    xp = get_array_module(a.array)
    out = xp.clip(a.array, min, max)

    def backward(g):
        inside = xp.ones(a.shape, dtype=bool)
        if min is not None:
            inside &= a.array >= min
        if max is not None:
            inside &= a.array <= max
        return (g * inside,)
    return from_op(out, (a,), backward)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (broadcast together)."""
    a = a if isinstance(a, Tensor) else operand(a, b)
    b = operand(b, a)
    xp = get_array_module(a.array, b.array)
    condition = xp.asarray(condition.array if isinstance(condition, Tensor) else condition, dtype=bool)

    def backward(g):
        return (unbroadcast(xp.where(condition, g, 0), a.shape) if a.requires_grad else None,
                unbroadcast(xp.where(condition, 0, g), b.shape) if b.requires_grad else None)
    return from_op(xp.where(condition, a.array, b.array), (a, b), backward)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(
            f"matmul: inner dimensions must agree, got shapes {a.shape} and {b.shape} "
            f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})"
        )
    out = backend.matmul(a.array, b.array)
    xp = get_array_module(out)

    def backward(g):
        a2 = a.array[None, :] if a.ndim == 1 else a.array
        b2 = b.array[:, None] if b.ndim == 1 else b.array
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(backend.matmul(g, xp.swapaxes(b2, -1, -2)), a2.shape)
            ga = ga.reshape(a.shape) if a.ndim == 1 else ga
        if b.requires_grad:
            gb = unbroadcast(backend.matmul(xp.swapaxes(a2, -1, -2), g), b2.shape)
            gb = gb.reshape(b.shape) if b.ndim == 1 else gb
        return ga, gb
    return from_op(out, (a, b), backward)
