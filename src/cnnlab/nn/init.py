"""Weight initialisation with PyTorch's names and formulas (``torch.nn.init``).

Every function fills ``tensor.array`` in place (keeping its dtype) and returns
the tensor. Random draws come from ``generator`` when given a
``numpy.random.Generator``, else from ``cnnlab.random.default_generator()``, so
``cnnlab.manual_seed(s)`` makes initialisation reproducible.

Fan-in and fan-out of a weight ``(out, in, *kernel)`` are ``in * prod(kernel)``
and ``out * prod(kernel)``; the "He" (Kaiming) and "Glorot" (Xavier) schemes
scale by them:

- Kaiming: ``std = gain / sqrt(fan)``, uniform bound ``sqrt(3) * std``
  (He et al. 2015, https://arxiv.org/abs/1502.01852)
- Xavier: ``std = gain * sqrt(2 / (fan_in + fan_out))``, uniform bound ``sqrt(3) * std``
  (Glorot & Bengio 2010)

>>> w = cnnlab.zeros(64, 3, 3, 3)
>>> kaiming_normal_(w, mode="fan_out", nonlinearity="relu")   # std = sqrt(2 / (64 * 9))
"""
import math

from .. import random as _random

__all__ = [
    "calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_",
    "ones_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d",
                 "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity``, as ``torch.nn.init.calculate_gain``.

    ============================  ==================================
    linear, conv*, sigmoid        1
    tanh                          5/3
    relu                          sqrt(2)
    leaky_relu                    sqrt(2 / (1 + negative_slope^2))   (``param``, default 0.01)
    selu                          3/4
    ============================  ==================================

    >>> calculate_gain("leaky_relu", math.sqrt(5))   # the default for Conv and Linear weights
    0.5773502691896257
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope (param) must be a number, got param={param!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity={nonlinearity!r}; expected one of "
                     f"{', '.join(_LINEAR_GAINS + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``: ``(in * prod(kernel), out * prod(kernel))``.

    >>> fan_in_and_fan_out(cnnlab.zeros(6, 1, 5, 5))
    (25, 150)
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out: the tensor needs at least 2 dimensions, got shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


_calculate_fan_in_and_fan_out = fan_in_and_fan_out


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got mode={mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    array = tensor.array
    array[...] = values
    return tensor


def _generator(generator):
    return _random.default_generator() if generator is None else generator


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _fill(tensor, _generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    return _fill(tensor, _generator(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) samples redrawn until they fall in [a, b] (``a``, ``b`` absolute, as torch)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    generator = _generator(generator)
    values = generator.normal(mean, std, tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = generator.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def constant_(tensor, val):
    """Fill with ``val``."""
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``.

    With ``a=sqrt(5)`` (the default of Conv and Linear layers) the bound is ``1 / sqrt(fan_in)``.

    >>> kaiming_uniform_(cnnlab.zeros(120, 400), a=math.sqrt(5))   # U(-1/20, 1/20)
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan)``, ``gain = calculate_gain(nonlinearity, a)``."""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def default_layer_init_(weight, bias=None):
    """PyTorch's default for Conv and Linear: weight ``kaiming_uniform_(a=sqrt(5))``, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias (if any) uniform in the same bound."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = default_bias_bound(weight)
        uniform_(bias, -bound, bound)


def default_bias_bound(weight):
    """``1 / sqrt(fan_in)`` of ``weight`` (0 when fan_in is 0): Conv and Linear biases start in U(-bound, bound)."""
    fan_in, _ = fan_in_and_fan_out(weight)
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
