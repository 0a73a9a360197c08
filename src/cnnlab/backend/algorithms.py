"""Algorithms as a table: each declares when it applies and whether the automatic choice takes it.

A backend lists its convolution and pooling algorithms in order of preference
(:attr:`NumpyBackend.conv_algorithms` and friends). :func:`choose` picks the
first that applies and that its own rule prefers for the shapes at hand, or the
one asked for by name, refusing an unknown name or one that does not apply with
an error that names the algorithm, its rule and the value that breaks it. The
choice depends only on the shapes, so a layer always runs the same algorithm,
and ``cnnlab summary`` shows it per layer.
"""
import contextlib
import threading
from typing import NamedTuple

from ..shapes import conv_output_size


class ConvGeometry(NamedTuple):
    """The shapes and arguments of one convolution: what an algorithm's choice depends on.

    ``padding`` is ``((before, after), ...)`` per spatial dim; ``out`` the output spatial shape.
    """
    x_shape: tuple
    w_shape: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int
    out: tuple

    @classmethod
    def of(cls, x_shape, w_shape, stride, padding, dilation, groups):
        """The geometry of convolving ``x_shape (N, C, *in)`` with ``w_shape (O, C/groups, *k)``."""
        out = tuple(conv_output_size(n + b + a, k, s, 0, d)
                    for n, k, s, (b, a), d in zip(x_shape[2:], w_shape[2:], stride, padding, dilation))
        return cls(tuple(x_shape), tuple(w_shape), tuple(stride), tuple(tuple(p) for p in padding), tuple(dilation),
                   groups, out)

    @property
    def kernel(self):
        return self.w_shape[2:]

    @property
    def in_channels(self):
        return self.x_shape[1]

    @property
    def out_channels(self):
        return self.w_shape[0]


class PoolGeometry(NamedTuple):
    """The shapes and arguments of one pooling over the trailing ``len(kernel)`` dims of ``x_shape``.

    ``pads`` is ``((before, after), ...)``: ``after`` grows past ``padding`` when
    ``ceil_mode`` keeps a last window that runs beyond the padded input.
    """
    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    ceil_mode: bool
    out: tuple
    pads: tuple
    indices: bool

    @classmethod
    def of(cls, x_shape, kernel, stride, padding, dilation, ceil_mode, indices=False):
        spatial = x_shape[len(x_shape) - len(kernel):]
        out = tuple(conv_output_size(n, k, s, p, d, ceil_mode)
                    for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))
        pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p))
                     for n, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out))
        return cls(tuple(x_shape), tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), bool(ceil_mode),
                   out, pads, bool(indices))

    @property
    def spatial(self):
        return self.x_shape[len(self.x_shape) - len(self.kernel):]


class Algorithm:
    """One way to compute an op. Subclasses set ``name`` and ``rule`` and define the methods below.

    ``rule`` completes the sentence "algorithm NAME applies to ..." (for the docs and errors).
    """

    name = ""
    rule = ""

    def refusal(self, geometry):
        """None when the algorithm can compute ``geometry``; otherwise what breaks its rule, e.g. ``'kernel (5, 5)'``."""
        return None

    def preferred(self, geometry):
        """Whether the automatic choice takes this algorithm for ``geometry`` (asked only when it applies)."""
        return True

    def __repr__(self):
        return f"<algorithm {self.name!r}: {self.rule}>"


_trace = threading.local()


@contextlib.contextmanager
def traced():
    """A list that receives the name of every algorithm :func:`choose` picks in this thread inside the block."""
    previous = getattr(_trace, "log", None)
    _trace.log = log = []
    try:
        yield log
    finally:
        _trace.log = previous


def choose(op, algorithms, geometry, requested="auto"):
    """The algorithm of ``algorithms`` that runs ``op`` on ``geometry``.

    ``requested='auto'`` takes the first that applies and is preferred; a name
    takes that algorithm, which must exist and apply (ValueError otherwise).
    """
    chosen = _find(op, algorithms, geometry, requested)
    log = getattr(_trace, "log", None)
    if log is not None:
        log.append(chosen.name)
    return chosen


def _find(op, algorithms, geometry, requested):
    if requested in (None, "auto"):
        for algorithm in algorithms:
            if algorithm.refusal(geometry) is None and algorithm.preferred(geometry):
                return algorithm
        raise RuntimeError(f"{op}: no algorithm applies to {geometry}; this is a bug in cnnlab")
    for algorithm in algorithms:
        if algorithm.name == requested:
            reason = algorithm.refusal(geometry)
            if reason is not None:
                raise ValueError(f"{op}: algorithm {requested!r} applies to {algorithm.rule}; got {reason}")
            return algorithm
    names = ", ".join(repr(a.name) for a in algorithms)
    raise ValueError(f"{op}: unknown algorithm {requested!r}; the algorithms are 'auto', {names}")
