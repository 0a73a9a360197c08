"""Activations, softmax, linear and dropout, each forward beside its backward.

Also ``erf`` (NumPy has none), which the exact GELU needs. ``Tensor.relu``,
``sigmoid``, ``tanh``, ``softmax`` and ``log_softmax`` call these.
"""
import math

from .. import arguments, backend
from ..backend import default_float, get_array_module, is_float, matmul
from ..tensor import from_op

# ------------------------------------------------------------------- erf
# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969) 631-637, with the coefficients of his CALERF routine.
# Each rational function is (numerator, denominator), highest power first.
_ERF_SMALL = (  # erf(x) = x R(x^2) for |x| <= 0.46875
    (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
     3.77485237685302021e02, 3.20937758913846947e03),
    (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
     2.84423683343917062e03),
)
_ERFC_MIDDLE = (  # erfc(y) = exp(-y^2) R(y) for 0.46875 < y <= 4
    (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
     6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
     1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03),
    (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
     1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
     3.43936767414372164e03, 1.23033935480374942e03),
)
_ERFC_TAIL = (  # erfc(y) = exp(-y^2) (1/sqrt(pi) - z R(z)) / y, z = 1/y^2, for y > 4
    (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
     1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4),
    (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
     6.05183413124413191e-2, 2.33520497626869185e-3),
)
_INV_SQRT_PI = 5.6418958354775628695e-1


def _rational(t, fraction):
    numerator, denominator = fraction
    top, bottom = numerator[0], denominator[0]
    for a, b in zip(numerator[1:], denominator[1:]):
        top, bottom = top * t + a, bottom * t + b
    return top / bottom


def _erfc_positive(y):
    """erfc(y) for y > 0.46875 (NaN passes through)."""
    xp = get_array_module(y)
    y = xp.minimum(y, 27.0)  # erfc underflows to 0 beyond ~26.5; this also keeps inf out of the split below
    middle = y <= 4.0
    scaled = xp.empty_like(y)
    scaled[middle] = _rational(y[middle], _ERFC_MIDDLE)
    tail = y[~middle]
    z = 1.0 / (tail * tail)
    scaled[~middle] = (_INV_SQRT_PI - z * _rational(z, _ERFC_TAIL)) / tail
    # exp(-y^2) as exp(-h^2) exp(-(y-h)(y+h)) with h = y rounded down to 1/16: no cancellation in y^2.
    head = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-head * head) * xp.exp(-(y - head) * (y + head)) * scaled


def erf(x):
    """The error function, element-wise: ``erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt``.

    Cody's rational Chebyshev approximations (Math. Comp. 23, 1969): relative
    error below 1e-15 in float64; float32 arrays are computed in float32.

    >>> erf(numpy.array([0.0, 0.5, -3.0]))
    array([ 0.        ,  0.52049988, -0.99997791])
    """
    xp = get_array_module(x)
    x = xp.asarray(x)
    if not is_float(x):
        x = x.astype(default_float)
    y = xp.abs(x)
    small = y <= 0.46875
    out = xp.empty_like(x)
    out[small] = x[small] * _rational(x[small] * x[small], _ERF_SMALL)
    out[~small] = xp.copysign((0.5 - _erfc_positive(y[~small])) + 0.5, x[~small])
    return out


# ------------------------------------------------------------ activations
def relu(a):
    """``max(x, 0)``; the gradient at 0 is 0, as in PyTorch. Backward needs only the output."""
    kernels = backend.active()
    y = kernels.relu(a.array)
    return from_op(y, (a,), lambda g: (kernels.relu_backward(g, y),))


def relu6(a):
    """``min(max(x, 0), 6)``; the gradient passes only strictly inside (0, 6)."""
    inside = (a.array > 0) & (a.array < 6)
    return from_op(get_array_module(a.array).clip(a.array, 0, 6), (a,), lambda g: (g * inside,))


def leaky_relu(a, negative_slope):
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    xp = get_array_module(a.array)
    positive = a.array > 0
    out = xp.where(positive, a.array, a.array * negative_slope)
    return from_op(out, (a,), lambda g: (xp.where(positive, g, g * negative_slope),))


def elu(a, alpha):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    xp = get_array_module(a.array)
    positive = a.array > 0
    out = xp.where(positive, a.array, alpha * xp.expm1(xp.minimum(a.array, 0)))
    return from_op(out, (a,), lambda g: (xp.where(positive, g, g * (out + alpha)),))


def _sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow for large ``|x|``."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def sigmoid(a):
    """``1 / (1 + exp(-x))``; gradient ``s (1 - s)``."""
    out = _sigmoid(a.array)
    return from_op(out, (a,), lambda g: (g * out * (1 - out),))


def tanh(a):
    """Hyperbolic tangent; gradient ``1 - tanh(x)^2``."""
    out = get_array_module(a.array).tanh(a.array)
    return from_op(out, (a,), lambda g: (g * (1 - out * out),))


def softplus(a, beta, threshold):
    """``log(1 + exp(beta x)) / beta``, reverting to ``x`` where ``beta x > threshold``."""
    xp = get_array_module(a.array)
    bx = a.array * beta
    linear = bx > threshold
    out = xp.where(linear, a.array, xp.logaddexp(0, bx) / beta)
    return from_op(out, (a,), lambda g: (xp.where(linear, g, g * _sigmoid(bx)),))


def silu(a):
    """``x sigmoid(x)``; gradient ``s (1 + x (1 - s))``."""
    s = _sigmoid(a.array)
    return from_op(a.array * s, (a,), lambda g: (g * s * (1 + a.array * (1 - s)),))


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def gelu(a, approximate="none"):
    """``x Phi(x)`` with Phi the standard normal CDF, or its tanh approximation."""
    x = a.array
    xp = get_array_module(x)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = xp.tanh(inner)

        def backward(g):
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner),)
        return from_op(0.5 * x * (1 + t), (a,), backward)
    cdf = 0.5 * (1 + erf(x * math.sqrt(0.5)))

    def backward(g):
        return (g * (cdf + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)),)
    return from_op(x * cdf, (a,), backward)


# ---------------------------------------------------------------- softmax
def softmax_axis(dim, ndim, function="softmax"):
    """``dim`` as a non-negative axis of an ``ndim``-d tensor (0-d counts as 1-d), or a ValueError."""
    return arguments.dim(function, "dim", dim, ndim)


def softmax(a, dim):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``, computed from ``x - max(x)`` so it cannot overflow."""
    axis = softmax_axis(dim, a.ndim, "softmax")
    x = a.array.reshape(a.shape or (1,))
    e = get_array_module(x).exp(x - x.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(g):
        g = g.reshape(out.shape)
        return ((out * (g - (g * out).sum(axis=axis, keepdims=True))).reshape(a.shape),)
    return from_op(out.reshape(a.shape), (a,), backward)


def log_softmax(a, dim):
    """``x_i - log sum_j exp(x_j)`` along ``dim``, computed from ``x - max(x)``."""
    axis = softmax_axis(dim, a.ndim, "log_softmax")
    x = a.array.reshape(a.shape or (1,))
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        g = g.reshape(out.shape)
        return ((g - xp.exp(out) * g.sum(axis=axis, keepdims=True)).reshape(a.shape),)
    return from_op(out.reshape(a.shape), (a,), backward)


# ----------------------------------------------------------------- linear
def linear(x, weight, bias=None):
    """``x W^T + b`` over any leading dims of ``x``: one matmul forward, one per gradient."""
    out = matmul(x.array, weight.array.T)
    if bias is not None:
        out += bias.array

    def backward(g):
        rows = g.reshape(-1, g.shape[-1])
        gx = matmul(g, weight.array) if x.requires_grad else None
        gw = matmul(rows.T, x.array.reshape(-1, x.shape[-1])) if weight.requires_grad else None
        gb = rows.sum(axis=0) if bias is not None and bias.requires_grad else None
        return gx, gw, gb
    parents = (x, weight) if bias is None else (x, weight, bias)
    return from_op(out, parents, backward)


# ---------------------------------------------------------------- dropout
def dropout(a, p, generator, mask_shape=None):
    """Zero each element (or each block of ``mask_shape``, broadcast over the rest) with probability ``p``.

    Survivors are scaled by ``1 / (1 - p)`` (inverted dropout) so the expectation
    is unchanged; backward multiplies by the same scaled mask.
    """
    keep = generator.random(a.shape if mask_shape is None else mask_shape) >= p
    mask = get_array_module(a.array).asarray(keep, dtype=a.dtype)
    mask *= 1 / (1 - p) if p < 1 else 0.0
    return from_op(a.array * mask, (a,), lambda g: (g * mask,))

