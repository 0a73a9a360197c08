"""Backend ``numpy``: the readable reference implementation of the kernel layer, in whole-array NumPy.

Every primitive is a method, so another backend is a subclass that overrides
what it computes faster and inherits the rest; the algorithms call the
primitives through the backend object they are given, so an override (say a
compiled ``im2col``) speeds up every algorithm built on it. Arrays in, arrays
out: no Tensors and no autograd here (that is :mod:`cnnlab.ops`).
"""
from .. import get_array_module
from . import blas, conv, pool, window


class NumpyBackend:
    """The kernel layer on NumPy (and on any array module with NumPy's interface)."""

    name = "numpy"
    #: Algorithm tables, most specialised first (see :mod:`cnnlab.backend.algorithms`).
    conv_algorithms = conv.ALGORITHMS
    max_pool_algorithms = pool.MAX_ALGORITHMS
    avg_pool_algorithms = pool.AVG_ALGORITHMS

    def __repr__(self):
        return f"<cnnlab backend {self.name!r}>"

    # The GEMM: every matrix product of the engine.
    def matmul(self, a, b):
        """``a @ b``, batched as ``numpy.matmul``."""
        return blas.matmul(a, b)

    # Windows.
    def pad_constant(self, x, pads, value=0.0):
        """``x`` with ``pads = ((before, after), ...)`` around its trailing dims, filled with ``value``."""
        return window.pad_constant(x, pads, value)

    def im2col(self, x, kernel, stride, padding, dilation, groups, out):
        """The windows of ``x (N, C, *in)`` as ``(G, C/G * K, N * L)``, rows ``(c, *k)``, columns ``(n, *out)``."""
        return conv.im2col(x, kernel, stride, padding, dilation, groups, out)

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation, out):
        """The adjoint of :meth:`im2col`: the columns added back into an ``input_shape`` array."""
        return conv.col2im(cols, input_shape, kernel, stride, padding, dilation, out)

    def im2col_channels_last(self, x, kernel, stride, padding, dilation, out):
        """The windows of ``x (N, C, *in)`` as ``(N * L, K * C)``, columns ``(*k, c)``."""
        return conv.im2col_channels_last(x, kernel, stride, padding, dilation, out)

    # Element-wise passes that run between the layers.
    def relu(self, x):
        """``max(x, 0)`` in ``x``'s memory layout (NaN stays NaN, as in PyTorch)."""
        return get_array_module(x).maximum(x, 0)

    def relu_backward(self, g, y):
        """ReLU's input gradient from its output ``y``: ``g`` where ``y > 0``, else 0."""
        return g * (y > 0)
