"""Activations, softmax, linear, flatten, one_hot and dropout, as in torch.nn.functional.

Each function checks its arguments, then calls the array-level op in
:mod:`cnnlab.ops.activation`. ``inplace`` arguments exist only so PyTorch's
argument order holds: cnnlab's ops never modify their input, so
``inplace=True`` is an error (use the returned tensor).
"""
import numpy

from .. import arguments
from ..backend import get_array_module
from ..ops import activation as ops
from ..ops import shape as shape_ops
from ..random import default_generator
from ..tensor import Tensor

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "silu",
    "softmax", "log_softmax", "linear", "flatten", "one_hot", "dropout", "dropout2d",
]


# ---------------------------------------------------------- argument checks
def _no_inplace(function, inplace):
    if inplace:
        raise arguments.refuse(ValueError, function, "inplace", "False (cnnlab ops never modify their input; "
                               "use the returned tensor)", repr(inplace))


def _float_input(function, input):  # noqa: A002
    return arguments.float_tensor(function, "input", input)


# ------------------------------------------------------------- activations
def relu(input, inplace=False):  # noqa: A002 - PyTorch's argument name
    """Rectified linear unit, ``max(x, 0)``, element-wise.

    >>> relu(Tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    _no_inplace("relu", inplace)
    return ops.relu(arguments.tensor("relu", "input", input))


def relu6(input, inplace=False):  # noqa: A002
    """``min(max(x, 0), 6)``, element-wise.

    >>> relu6(Tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    _no_inplace("relu6", inplace)
    return ops.relu6(arguments.tensor("relu6", "input", input))


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    >>> leaky_relu(Tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2,  3. ])
    """
    _no_inplace("leaky_relu", inplace)
    slope = arguments.real("leaky_relu", "negative_slope", negative_slope)
    return ops.leaky_relu(_float_input("leaky_relu", input), slope)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """Exponential linear unit: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> elu(Tensor([-1.0, 2.0]))
    tensor([-0.63212055,  2.        ])
    """
    _no_inplace("elu", inplace)
    alpha = arguments.real("elu", "alpha", alpha)
    return ops.elu(_float_input("elu", input), alpha)


def gelu(input, approximate="none"):  # noqa: A002
    """Gaussian error linear unit, ``x Phi(x)`` (Hendrycks & Gimpel, arXiv:1606.08415).

    ``Phi(x) = (1 + erf(x / sqrt(2))) / 2`` is the standard normal CDF; with
    ``approximate='tanh'``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> gelu(Tensor([-1.0, 0.0, 1.0]))
    tensor([-0.15865526,  0.        ,  0.8413447 ])
    """
    arguments.choice("gelu", "approximate", approximate, ("none", "tanh"))
    return ops.gelu(_float_input("gelu", input), approximate)


def sigmoid(input):  # noqa: A002
    """Logistic function ``1 / (1 + exp(-x))``, stable for large ``|x|``.

    >>> sigmoid(Tensor([0.0]))
    tensor([0.5])
    """
    return ops.sigmoid(_float_input("sigmoid", input))


def tanh(input):  # noqa: A002
    """Hyperbolic tangent, element-wise.

    >>> tanh(Tensor([0.0]))
    tensor([0.])
    """
    return ops.tanh(_float_input("tanh", input))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """``log(1 + exp(beta x)) / beta``, a smooth ReLU; ``x`` itself where ``beta x > threshold``.

    >>> softplus(Tensor([0.0]))
    tensor([0.6931472])
    """
    beta = arguments.real("softplus", "beta", beta)
    threshold = arguments.real("softplus", "threshold", threshold)
    if beta == 0:
        raise arguments.refuse(ValueError, "softplus", "beta", "non-zero", repr(beta))
    return ops.softplus(_float_input("softplus", input), beta, threshold)


def silu(input, inplace=False):  # noqa: A002
    """Sigmoid linear unit (swish), ``x sigmoid(x)``.

    >>> silu(Tensor([0.0, 1.0]))
    tensor([0.       , 0.7310586])
    """
    _no_inplace("silu", inplace)
    return ops.silu(_float_input("silu", input))


def softmax(input, dim):  # noqa: A002
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``: each slice becomes a probability vector.

    Computed from ``x - max(x)``, so large inputs do not overflow.

    >>> softmax(Tensor([[1.0, 1.0], [0.0, 1000.0]]), dim=1)
    tensor([[0.5, 0.5],
            [0. , 1. ]])
    """
    input = _float_input("softmax", input)
    return ops.softmax(input, arguments.dim("softmax", "dim", dim, input.ndim))


def log_softmax(input, dim):  # noqa: A002
    """``x_i - log sum_j exp(x_j)`` along ``dim``; more accurate than ``log(softmax(x))``.

    >>> log_softmax(Tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931472, -0.6931472])
    """
    input = _float_input("log_softmax", input)
    return ops.log_softmax(input, arguments.dim("log_softmax", "dim", dim, input.ndim))


# ------------------------------------------------------------------ linear
def linear(input, weight, bias=None):  # noqa: A002
    """Affine map ``y = x W^T + b`` over the last dimension of ``x``.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Shape: output ``(*, out_features)``.

    >>> linear(Tensor([[1.0, 2.0]]), Tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])).shape
    (1, 3)
    """
    input = _float_input("linear", input)
    weight = arguments.float_tensor("linear", "weight", weight, like=input)
    bias = arguments.float_tensor("linear", "bias", bias, like=input, optional=True)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-d (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        features = input.shape[-1] if input.ndim else "no"
        raise ValueError(f"linear: input has {features} features but weight expects {weight.shape[1]} "
                         f"(weight shape {weight.shape})")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), one value per output feature, "
                         f"got shape {bias.shape}")
    return ops.linear(input, weight, bias)


# ------------------------------------------------------------ reshaping, labels
def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    """Merge dimensions ``start_dim`` through ``end_dim`` (inclusive) into one, as ``torch.flatten``.

    >>> flatten(zeros(2, 3, 4), start_dim=1).shape
    (2, 12)
    """
    input = arguments.tensor("flatten", "input", input)
    start = arguments.dim("flatten", "start_dim", start_dim, input.ndim)
    end = arguments.dim("flatten", "end_dim", end_dim, input.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim must not come after end_dim, got start_dim={start_dim}, "
                         f"end_dim={end_dim}")
    return shape_ops.flatten(input, start_dim, end_dim)


def one_hot(tensor, num_classes=-1):
    """Class indices ``(*)`` as int64 one-hot vectors ``(*, num_classes)``.

    ``num_classes=-1`` means one more than the largest index.

    >>> one_hot(Tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    labels = arguments.index_tensor("one_hot", "tensor", tensor).array
    num_classes = arguments.integer("one_hot", "num_classes", num_classes, minimum=-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got a minimum of {labels.min()}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes, "
                             "got num_classes=-1")
        num_classes = int(labels.max()) + 1
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"one_hot: class indices must be smaller than num_classes={num_classes}, "
                         f"got a maximum of {labels.max()}")
    xp = get_array_module(labels)
    return Tensor((labels[..., None] == xp.arange(num_classes)).astype(xp.int64))


# ------------------------------------------------------------------ dropout
def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (inverted dropout).

    Srivastava et al., JMLR 15 (2014). Returns ``input`` itself when not
    training or ``p == 0``; ``p == 1`` gives zeros.

    Args:
        input: any shape, floating point.
        p: probability of zeroing an element, in [0, 1].
        training: apply dropout only when True.
        generator: a ``numpy.random.Generator``; the default one
            (:func:`cnnlab.random.default_generator`) if None.

    >>> dropout(ones(4), p=0.5, generator=numpy.random.default_rng(0))
    tensor([2., 0., 0., 0.])
    """
    return _dropout("dropout", input, p, training, inplace, generator, channelwise=False)


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None):  # noqa: A002
    """Zero whole channels with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        input: ``(N, C, H, W)``; a 3-d input is read as ``(N, C, L)``, as PyTorch does.
        p, training, generator: as in :func:`dropout`.

    >>> dropout2d(ones(1, 2, 2, 2), generator=numpy.random.default_rng(0))[0, :, 0, 0]
    tensor([2., 0.])
    """
    if _float_input("dropout2d", input).ndim not in (3, 4):
        raise ValueError(f"dropout2d: input must be 4-d (N, C, H, W) or 3-d (N, C, L), got shape {input.shape}")
    return _dropout("dropout2d", input, p, training, inplace, generator, channelwise=True)


def _dropout(function, input, p, training, inplace, generator, channelwise):  # noqa: A002
    _float_input(function, input)
    p = arguments.real(function, "p", p, low=0, high=1)
    _no_inplace(function, inplace)
    if not training or p == 0.0:
        return input
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2) if channelwise else None
    if generator is None:
        generator = default_generator()
    elif not isinstance(generator, numpy.random.Generator):
        raise arguments.refuse(TypeError, function, "generator", "a numpy.random.Generator or None",
                               type(generator).__name__)
    return ops.dropout(input, p, generator, mask_shape)
