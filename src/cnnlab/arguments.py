"""The one home of argument rules: what :mod:`cnnlab.functional` and :mod:`cnnlab.nn` accept and refuse.

Each rule is one function that returns the argument normalised (``stride=2``
becomes ``(2, 2)``) or raises; functions call them with their own name, layer
constructors with the layer's. Every refusal has one shape, naming where, the
argument, the rule and the value received::

    conv2d: stride must be a positive int or a tuple of 2 positive ints, got (1,)

A value of the wrong type raises TypeError; one of the right type that breaks
the rule (a bad length, a number out of range) raises ValueError.

>>> ntuple("conv2d", "stride", 2, 2)
(2, 2)
"""
from numbers import Integral, Real

from .backend import is_float
from .shapes import same_padding
from .tensor import Tensor

_WRAP = "a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) or cnnlab.from_numpy(...))"


def refuse(error, where, name, rule, got):
    """The error every rule raises: ``{where}: {name} must be {rule}, got {got}``."""
    return error(f"{where}: {name} must be {rule}, got {got}")


# ------------------------------------------------------------------ numbers
def is_int(value):
    """True for Python and NumPy integers, False for bools (``stride=True`` is a mistake, not 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _int_rule(minimum):
    return {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")


def integer(where, name, value, minimum=None):
    """``value`` as an int, at least ``minimum`` when given (0: non-negative, 1: positive)."""
    if not is_int(value):
        raise refuse(TypeError, where, name, _int_rule(minimum), repr(value))
    if minimum is not None and value < minimum:
        raise refuse(ValueError, where, name, _int_rule(minimum), repr(value))
    return int(value)


def real(where, name, value, low=None, high=None, open_low=False):
    """``value`` as a Python float (a NumPy scalar would promote float32 arrays), in ``[low, high]``.

    ``open_low`` excludes ``low`` itself (``eps > 0``); NaN is refused.
    """
    rule = "a real number" + _interval(low, high, open_low)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise refuse(TypeError, where, name, rule, repr(value))
    number = float(value)
    above = low is None or (number > low if open_low else number >= low)
    if number != number or not (above and (high is None or number <= high)):
        raise refuse(ValueError, where, name, rule, repr(value))
    return number


def _interval(low, high, open_low):
    if low is None:
        return ""
    if high is None:
        return f" > {low}" if open_low else f" >= {low}"
    return f" in {'(' if open_low else '['}{low}, {high}]"


def choice(where, name, value, options):
    """``value`` if it is one of ``options`` (mode strings such as ``reduction``)."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(map(repr, options[:-1])) + " or " if len(options) > 1 else ""
        raise refuse(ValueError, where, name, listed + repr(options[-1]), repr(value))
    return value


def divisible(where, name, value, by_name, by, context=""):
    """A ValueError unless ``by`` divides ``value`` (channels by groups)."""
    if value % by:
        raise refuse(ValueError, where, name, f"divisible by {by_name}={by}", f"{value}{context}")


# ------------------------------------------------------------ int or tuple
def _tuple_rule(n, minimum):
    word = {0: "non-negative", 1: "positive"}[minimum]
    return f"a {word} int or a tuple of {n} {word} ints"


def _ints(where, name, value, n, minimum, rule):
    values = (value,) * n if is_int(value) else value
    if not isinstance(values, (tuple, list)) or not all(is_int(v) for v in values):
        raise refuse(TypeError, where, name, rule, repr(value))
    if len(values) != n or any(v < minimum for v in values):
        raise refuse(ValueError, where, name, rule, repr(value))
    return tuple(int(v) for v in values)


def ntuple(where, name, value, n, minimum=1):
    """``value``, an int or a sequence of exactly ``n`` ints, as an ``n``-tuple (PyTorch's ``_single/_pair/_triple``).

    Every entry must be at least ``minimum``: 1 for kernel_size, stride and
    dilation, 0 for padding. Bools are not ints here.

    >>> ntuple("max_pool2d", "kernel_size", [3, 2], 2)
    (3, 2)
    """
    return _ints(where, name, value, n, minimum, _tuple_rule(n, minimum))


def shape(where, name, value):
    """A positive int or a non-empty sequence of positive ints as a tuple (LayerNorm's ``normalized_shape``)."""
    rule = "a positive int or a non-empty tuple of positive ints"
    values = (value,) if is_int(value) else value
    if not isinstance(values, (tuple, list)) or not all(is_int(v) for v in values):
        raise refuse(TypeError, where, name, rule, repr(value))
    if not values or any(v < 1 for v in values):
        raise refuse(ValueError, where, name, rule, repr(value))
    return tuple(int(v) for v in values)


# ------------------------------------------------------------------ padding
_PAIR_EXAMPLES = {1: "((left, right),)", 2: "((top, bottom), (left, right))",
                  3: "((front, back), (top, bottom), (left, right))"}


def _padding_rule(n):
    pairs = f"{n} (before, after) pair{'s' if n > 1 else ''} such as {_PAIR_EXAMPLES.get(n, '((before, after), ...)')}"
    return _tuple_rule(n, 0).replace(" or ", ", ") + f", {pairs}, 'valid' or 'same'"


def conv_padding(where, padding, n):
    """A convolution's padding: ``'valid'``, ``'same'``, the same zeros on both sides, or per side.

    Accepted: an int or ``n`` non-negative ints (both sides of each dim), ``n``
    ``(before, after)`` pairs in dim order (``((top, bottom), (left, right))``
    for 2-D; a flat ``(top, bottom, left, right)`` is refused, as its order is
    ambiguous: ``F.pad`` lists the last dim first), ``'valid'`` or ``'same'``
    (any stride: see :func:`cnnlab.shapes.same_padding`). Returns the string, a
    tuple of ints or a tuple of pairs.

    >>> conv_padding("conv2d", [[0, 1], [2, 2]], 2)
    ((0, 1), (2, 2))
    """
    rule = _padding_rule(n)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise refuse(ValueError, where, "padding", rule, repr(padding))
        return padding
    if isinstance(padding, (tuple, list)) and padding and all(isinstance(p, (tuple, list)) for p in padding):
        return _pairs(where, padding, n, rule)
    return _ints(where, "padding", padding, n, 0, rule)


def _pairs(where, padding, n, rule):
    if not all(is_int(v) for pair in padding for v in pair):
        raise refuse(TypeError, where, "padding", rule, repr(padding))
    if len(padding) != n or any(len(pair) != 2 or min(pair) < 0 for pair in padding):
        raise refuse(ValueError, where, "padding", rule, repr(padding))
    return tuple((int(before), int(after)) for before, after in padding)


def padding_pairs(padding, kernel, dilation, stride=None, size=None):
    """:func:`conv_padding`'s result as ``(before, after)`` per spatial dim.

    ``'same'`` is :func:`cnnlab.shapes.same_padding` per dim: with stride 1 it
    splits ``dilation * (kernel - 1)`` (an odd total puts the extra row at the
    end); a larger ``stride`` needs the input's spatial ``size``.

    >>> padding_pairs("same", (3, 3), (1, 1), stride=(2, 2), size=(28, 27))
    ((0, 1), (1, 1))
    """
    if padding == "same":
        stride = (1,) * len(kernel) if stride is None else stride
        size = (None,) * len(kernel) if size is None else size
        return tuple(same_padding(k, d, stride=s, size=n) for k, d, s, n in zip(kernel, dilation, stride, size))
    if padding == "valid":
        return ((0, 0),) * len(kernel)
    if isinstance(padding[0], tuple):
        return padding
    return tuple((p, p) for p in padding)


def output_padding(where, value, stride, dilation):
    """Transposed convolution's ``output_padding``: per dim non-negative, below the stride or the dilation."""
    extras = ntuple(where, "output_padding", value, len(stride), minimum=0)
    if any(e >= s and e >= d for e, s, d in zip(extras, stride, dilation)):
        raise refuse(ValueError, where, "output_padding",
                     f"smaller than either stride={stride} or dilation={dilation}", repr(value))
    return extras


def groups(where, value, in_channels, out_channels):
    """``groups`` as an int: positive, dividing both channel counts."""
    value = integer(where, "groups", value, minimum=1)
    divisible(where, "in_channels", in_channels, "groups", value)
    divisible(where, "out_channels", out_channels, "groups", value)
    return value


def pool_window(where, n, kernel_size, stride, padding, dilation=1):
    """A pooling window's ``(kernel_size, stride, padding, dilation)`` as ``n``-tuples.

    ``stride`` None (or empty) means ``kernel_size``; padding is at most half the
    kernel (``padding <= kernel_size // 2``, as PyTorch).
    """
    kernel = ntuple(where, "kernel_size", kernel_size, n)
    no_stride = stride is None or isinstance(stride, (tuple, list)) and len(stride) == 0
    steps = kernel if no_stride else ntuple(where, "stride", stride, n)
    pads = ntuple(where, "padding", padding, n, minimum=0)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise refuse(ValueError, where, "padding", f"at most half of kernel_size={kernel}", repr(padding))
    return kernel, steps, pads, ntuple(where, "dilation", dilation, n)


def output_size(where, value, n):
    """Adaptive pooling's ``output_size``: an int or ``n`` entries, each a positive int or None (keep that size)."""
    rule = f"a positive int or a tuple of {n} positive ints or None"
    sizes = (value,) * n if is_int(value) else value
    if not isinstance(sizes, (tuple, list)) or not all(s is None or is_int(s) for s in sizes):
        raise refuse(TypeError, where, "output_size", rule, repr(value))
    if len(sizes) != n or any(s is not None and s < 1 for s in sizes):
        raise refuse(ValueError, where, "output_size", rule, repr(value))
    return tuple(None if s is None else int(s) for s in sizes)


def divisor_override(where, value):
    """Average pooling's ``divisor_override``: None or a non-zero int (as PyTorch)."""
    if value is not None and (not is_int(value) or value == 0):
        raise refuse(TypeError if not is_int(value) else ValueError, where, "divisor_override",
                     "a non-zero int or None", repr(value))
    return value


# ---------------------------------------------------------------- dimensions
def dim(where, name, value, ndim):
    """``value`` as a dim of an ``ndim``-D tensor, counted from 0; negatives count from the end (0-D acts as 1-D)."""
    size = max(ndim, 1)
    rule = f"an int in [{-size}, {size - 1}] for a {ndim}-D input"
    if not is_int(value):
        raise refuse(TypeError, where, name, rule, repr(value))
    if not -size <= value < size:
        raise refuse(ValueError, where, name, rule, repr(value))
    return int(value) % size


# ------------------------------------------------------------------- tensors
def _type_name(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def tensor(where, name, value, optional=False):
    """``value`` if it is a :class:`cnnlab.Tensor` (or None when ``optional``).

    NumPy arrays and lists are refused, as PyTorch refuses them: an array
    silently wrapped would lose its gradient and its dtype rules.
    """
    if optional and value is None:
        return None
    if not isinstance(value, Tensor):
        raise refuse(TypeError, where, name, _WRAP, _type_name(value))
    return value


def float_tensor(where, name, value, like=None, optional=False):
    """:func:`tensor` holding float32 or float64 (the dtypes gradients need); of ``like``'s dtype when given."""
    value = tensor(where, name, value, optional)
    if value is None:
        return None
    if not is_float(value.array):
        raise refuse(TypeError, where, name, "a float32 or float64 tensor", f"dtype={value.dtype}")
    if like is not None and value.dtype != like.dtype:
        raise refuse(TypeError, where, name, f"a tensor of the input's dtype {like.dtype}", f"dtype={value.dtype}")
    return value


def index_tensor(where, name, value):
    """:func:`tensor` holding integer class indices."""
    value = tensor(where, name, value)
    if value.dtype.kind not in "iu":
        raise refuse(TypeError, where, name, "a tensor of integer class indices", f"dtype={value.dtype}")
    return value
