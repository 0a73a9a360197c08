"""Weight initialisers by their Keras names, drawing from cnnlab's seeded generator.

Keras reads a kernel's fans from its own layout, the receptive field first:
for ``(kH, kW, in, out)``, ``fan_in = kH * kW * in`` and ``fan_out = kH * kW * out``;
for a Dense ``(in, out)``, ``in`` and ``out``.

- ``glorot_uniform``: U(-l, l), ``l = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010)
- ``he_uniform``: U(-l, l), ``l = sqrt(6 / fan_in)`` (He et al. 2015)
- ``glorot_normal`` / ``he_normal``: a normal truncated at two standard deviations, its
  ``stddev = sqrt(scale / fan) / 0.87962566103423978`` so the truncated draws keep the
  variance ``scale / fan`` (scale 1 over ``(fan_in + fan_out) / 2``, or 2 over ``fan_in``)
- ``zeros``, ``ones``

>>> glorot_uniform((3, 3, 1, 64)).shape
(3, 3, 1, 64)
"""
import math

import numpy

from .. import random as _random
from ._names import suggesting_getattr


def fans(shape):
    """``(fan_in, fan_out)`` of a Keras kernel: ``(*receptive_field, in, out)``."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype="float32"):
    return numpy.zeros(shape, dtype=dtype)


def ones(shape, dtype="float32"):
    return numpy.ones(shape, dtype=dtype)


def glorot_uniform(shape, dtype="float32"):
    """U(-l, l) with ``l = sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    return _uniform(shape, math.sqrt(6.0 / (fan_in + fan_out)), dtype)


def he_uniform(shape, dtype="float32"):
    """U(-l, l) with ``l = sqrt(6 / fan_in)``."""
    return _uniform(shape, math.sqrt(6.0 / fans(shape)[0]), dtype)


def glorot_normal(shape, dtype="float32"):
    """Truncated normal of variance ``2 / (fan_in + fan_out)``."""
    fan_in, fan_out = fans(shape)
    return _truncated_normal(shape, 2.0 / (fan_in + fan_out), dtype)


def he_normal(shape, dtype="float32"):
    """Truncated normal of variance ``2 / fan_in``."""
    return _truncated_normal(shape, 2.0 / fans(shape)[0], dtype)


def _uniform(shape, limit, dtype):
    return _random.default_generator().uniform(-limit, limit, shape).astype(dtype)


def _truncated_normal(shape, variance, dtype):
    stddev = math.sqrt(variance) / 0.87962566103423978
    generator = _random.default_generator()
    values = generator.normal(0.0, stddev, shape)
    outside = numpy.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = generator.normal(0.0, stddev, int(outside.sum()))
        outside = numpy.abs(values) > 2 * stddev
    return values.astype(dtype)


_INITIALIZERS = {fn.__name__: fn for fn in (zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal)}


def name_of(where, name, identifier):
    """The Keras name of an initialiser given by name (any case) or as one of these functions."""
    if callable(identifier) and _INITIALIZERS.get(getattr(identifier, "__name__", None)) is identifier:
        return identifier.__name__
    if isinstance(identifier, str) and identifier.lower() in _INITIALIZERS:
        return identifier.lower()
    raise ValueError(f"{where}: {name} must be one of {', '.join(map(repr, _INITIALIZERS))}, got {identifier!r}")


def get(identifier):
    """The initialiser called ``identifier``: ``get("glorot_uniform")(shape)`` is an array."""
    return _INITIALIZERS[name_of("initializers.get", "identifier", identifier)]


__getattr__ = suggesting_getattr(__name__, globals())
