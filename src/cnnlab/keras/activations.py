"""Activation functions by their Keras names; layers store the name (``activation="relu"``).

>>> from cnnlab.keras import activations
>>> activations.get("softmax")(cnnlab.tensor([[0.0, 0.0]]))
tensor([[0.5, 0.5]])
"""
from .. import functional as F
from ._names import suggesting_getattr


def linear(x):
    """The identity: what ``activation=None`` means."""
    return x


def relu(x):
    """``max(x, 0)``."""
    return F.relu(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return F.sigmoid(x)


def tanh(x):
    return F.tanh(x)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last, the classes, by default)."""
    return F.softmax(x, dim=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(x, dim=axis)


def elu(x):
    return F.elu(x)


def gelu(x):
    """GELU in its exact (erf) form, Keras's default ``approximate=False``."""
    return F.gelu(x)


def softplus(x):
    return F.softplus(x)


def silu(x):
    """``x * sigmoid(x)``; Keras also calls it swish."""
    return F.silu(x)


_ACTIVATIONS = {fn.__name__: fn for fn in (linear, relu, sigmoid, tanh, softmax, log_softmax, elu, gelu, softplus,
                                           silu)}
_ACTIVATIONS["swish"] = silu


def get(identifier):
    """The function called ``identifier`` (None means ``linear``), or ``identifier`` itself if it is one of ours."""
    return _ACTIVATIONS[name_of("activation", identifier)]


def name_of(where, identifier):
    """The Keras name of an activation given by name, by function, or as None (``"linear"``)."""
    if identifier is None:
        return "linear"
    if callable(identifier) and _ACTIVATIONS.get(getattr(identifier, "__name__", None)) is identifier:
        return identifier.__name__
    if isinstance(identifier, str) and identifier in _ACTIVATIONS:
        return identifier
    import difflib

    near = difflib.get_close_matches(str(identifier), list(_ACTIVATIONS), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"{where}: activation must be None or one of {', '.join(map(repr, _ACTIVATIONS))}{hint}, "
                     f"got {identifier!r}")


__getattr__ = suggesting_getattr(__name__, globals())
