"""Loss functions with torch.nn.functional's names, argument order and defaults.

Each function checks its arguments, then calls the fused forward/backward in
:mod:`cnnlab.ops.loss`. ``reduction`` is ``'mean'`` (default), ``'sum'`` or
``'none'``. Float targets receive a gradient where PyTorch gives one.

Inputs, targets and weights are Tensors, as in PyTorch (arrays are refused:
wrap them with ``cnnlab.tensor``).

>>> logits = cnnlab.randn(8, 10, requires_grad=True)
>>> loss = cross_entropy(logits, cnnlab.arange(8))
>>> loss.backward()
"""
from .. import arguments
from ..backend import get_array_module, is_float
from ..ops import loss as ops
from ..tensor import Tensor

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]


REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    arguments.choice(name, "reduction", reduction, REDUCTIONS)


def _float_input(name, input):
    return arguments.float_tensor(name, "input", input)


def _target_like(name, target, input):
    """``target`` as a Tensor of ``input``'s dtype, which must have ``input``'s shape."""
    target = arguments.tensor(name, "target", target)
    if target.shape != input.shape:
        raise ValueError(f"{name}: target must have the input's shape {input.shape}, got {target.shape}")
    if not is_float(target.array):
        target = Tensor(target.array.astype(input.dtype))
    return target.astype(input.dtype)


def _constant(name, argument, value, shape, dtype):
    """A weight argument as an array of ``dtype`` that broadcasts to ``shape`` (None stays None)."""
    if arguments.tensor(name, argument, value, optional=True) is None:
        return None
    array = value.array.astype(dtype, copy=False)
    try:
        fits = get_array_module(array).broadcast_shapes(array.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name}: {argument} must broadcast to the input's shape {shape}, got shape {array.shape}")
    return array


def _operands(name, input, target, reduction):
    _check_reduction(name, reduction)
    input = _float_input(name, input)
    return input, _target_like(name, target, input)


# ----------------------------------------------------------- regression losses
def mse_loss(input, target, reduction="mean"):
    """Mean squared error: ``(x - y)^2`` per element, then reduced.

    Args:
        input: Tensor of any shape.
        target: Tensor of the same shape (receives a gradient if it requires one).
        reduction: 'mean', 'sum' or 'none' (keeps the input's shape).

    >>> mse_loss(cnnlab.Tensor([1.0, 3.0]), cnnlab.tensor([0.0, 0.0]))   # (1 + 9) / 2
    tensor(5.)
    """
    input, target = _operands("mse_loss", input, target, reduction)
    return ops.mse_loss(input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: ``|x - y|`` per element, then reduced (gradient 0 where ``x = y``).

    >>> l1_loss(cnnlab.Tensor([1.0, -3.0]), cnnlab.tensor([0.0, 0.0]))
    tensor(2.)
    """
    input, target = _operands("l1_loss", input, target, reduction)
    return ops.l1_loss(input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1: quadratic near zero, linear beyond ``beta``; ``beta=0`` gives :func:`l1_loss`.

    Formula, for ``d = x - y``: ``0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``.

    >>> smooth_l1_loss(cnnlab.Tensor([0.5, 3.0]), cnnlab.tensor([0.0, 0.0]), reduction="none")
    tensor([0.125, 2.5  ])
    """
    input, target = _operands("smooth_l1_loss", input, target, reduction)
    beta = arguments.real("smooth_l1_loss", "beta", beta, low=0)
    if beta == 0:
        return ops.l1_loss(input, target, reduction)
    return ops.smooth_l1_loss(input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: ``0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``, for ``d = x - y``.

    >>> huber_loss(cnnlab.Tensor([0.5, 3.0]), cnnlab.tensor([0.0, 0.0]), reduction="none", delta=2.0)
    tensor([0.125, 4.   ])
    """
    input, target = _operands("huber_loss", input, target, reduction)
    delta = arguments.real("huber_loss", "delta", delta, low=0, open_low=True)
    return ops.huber_loss(input, target, reduction, delta)


# ----------------------------------------------------------- binary losses
def _check_probabilities(name, argument, array):
    if array.size and not ((array >= 0) & (array <= 1)).all():
        raise ValueError(f"{name}: {argument} values must be probabilities in [0, 1], "
                         f"got values in [{array.min()}, {array.max()}]")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross entropy of probabilities: ``-w (y log x + (1 - y) log(1 - x))``, logs clamped at -100.

    Args:
        input: probabilities in [0, 1], any shape.
        target: probabilities in [0, 1], same shape (receives a gradient if it requires one).
        weight: per-element rescaling that broadcasts to the input's shape (no gradient).
        reduction: 'mean', 'sum' or 'none'.

    >>> binary_cross_entropy(cnnlab.Tensor([0.5]), cnnlab.tensor([1.0]))   # log 2
    tensor(0.6931472)
    """
    name = "binary_cross_entropy"
    input, target = _operands(name, input, target, reduction)
    _check_probabilities(name, "input", input.array)
    _check_probabilities(name, "target", target.array)
    weight = _constant(name, "weight", weight, input.shape, input.dtype)
    return ops.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross entropy of ``sigmoid(z)``, computed from the logits ``z`` without overflow.

    Formula: ``w ((1 - y) z + (1 + (p - 1) y) log(1 + exp(-z)))`` with ``p = pos_weight``.

    Args:
        input: logits ``z``, any shape.
        target: probabilities, same shape (receives a gradient if it requires one).
        weight: per-element rescaling that broadcasts to the input's shape.
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: weight of the positive term, broadcast along the last dimension
            (one per class); ``> 1`` raises recall.

    >>> binary_cross_entropy_with_logits(cnnlab.Tensor([0.0]), cnnlab.tensor([1.0]))   # log 2
    tensor(0.6931472)
    """
    name = "binary_cross_entropy_with_logits"
    input, target = _operands(name, input, target, reduction)
    weight = _constant(name, "weight", weight, input.shape, input.dtype)
    pos_weight = _constant(name, "pos_weight", pos_weight, input.shape, input.dtype)
    return ops.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


# ----------------------------------------------------------- class losses
def _class_input(name, input):
    input = _float_input(name, input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got shape {input.shape}")
    return input


def _class_weight(name, weight, classes, dtype):
    if arguments.tensor(name, "weight", weight, optional=True) is None:
        return None
    array = weight.array.astype(dtype, copy=False)
    if array.shape != (classes,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({classes},), got shape {array.shape}")
    return array


def _sample_shape(input):
    return input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()


def _class_indices(name, target, input, ignore_index):
    """``target`` as an integer array of the input's sample shape, each entry a class or ``ignore_index``."""
    target = arguments.index_tensor(name, "target", target).array
    if target.shape != _sample_shape(input):
        raise ValueError(f"{name}: target must have shape {_sample_shape(input)} (the input's shape {input.shape} "
                         f"without the class dimension), got shape {target.shape}")
    classes = input.shape[1 if input.ndim > 1 else 0]
    bad = (target != ignore_index) & ((target < 0) | (target >= classes))
    if bad.any():
        raise ValueError(f"{name}: target values must be class indices in [0, {classes - 1}] (input has {classes} "
                         f"classes) or ignore_index={ignore_index}, got {target[bad].flat[0]}")
    return target


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities: ``-weight[y] x[y]`` per sample.

    Args:
        input: log-probabilities, shape (N, C), (N, C, d1, ...) or (C,).
        target: integer class indices, shape (N,), (N, d1, ...) or ().
        weight: (C,) per-class weights (no gradient).
        ignore_index: target value that contributes neither loss nor gradient.
        reduction: 'mean' divides by the summed weight of the targets that are not ignored.

    >>> nll_loss(cnnlab.Tensor([[-0.1, -2.3]]), cnnlab.tensor([0]))
    tensor(0.1)
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    input = _class_input(name, input)
    ignore_index = arguments.integer(name, "ignore_index", ignore_index)
    target = _class_indices(name, target, input, ignore_index)
    weight = _class_weight(name, weight, input.shape[1 if input.ndim > 1 else 0], input.dtype)
    return ops.nll_loss(input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits: log-softmax and negative log-likelihood fused, with a closed-form gradient.

    Args:
        input: logits, shape (N, C), (N, C, d1, ...) or (C,).
        target: integer class indices of shape (N,), (N, d1, ...) or (); or class
            probabilities of the input's shape (float; receives a gradient if it requires one).
        weight: (C,) per-class weights (no gradient).
        ignore_index: class-index target value that contributes neither loss nor gradient.
        reduction: 'mean' divides by the summed weight of the targets that are not
            ignored (class indices) or by the number of samples (probabilities).
        label_smoothing: ``e`` in [0, 1]; the target becomes ``(1 - e) onehot(y) + e / C``.

    Formula, per sample with ``p = softmax(x)`` and target distribution ``t``:
    ``loss = -sum_c weight[c] t[c] log p[c]``; for class indices the weight is
    ``weight[y]``, and the gradient is ``p * sum_c(weight[c] t[c]) - weight * t``.

    >>> x = cnnlab.Tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    >>> cross_entropy(x, cnnlab.tensor([0])).backward()
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    input = _class_input(name, input)
    label_smoothing = arguments.real(name, "label_smoothing", label_smoothing, low=0, high=1)
    ignore_index = arguments.integer(name, "ignore_index", ignore_index)
    weight = _class_weight(name, weight, input.shape[1 if input.ndim > 1 else 0], input.dtype)
    if arguments.tensor(name, "target", target).shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    target = _class_indices(name, target, input, ignore_index)
    return ops.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing):
    if not is_float(target.array):
        raise TypeError(f"cross_entropy: a target of the input's shape holds class probabilities and must be float, "
                        f"got dtype={target.dtype}")
    if ignore_index >= 0:
        raise ValueError(f"cross_entropy: ignore_index is not supported with class-probability targets, "
                         f"got ignore_index={ignore_index}")
    return ops.cross_entropy_soft(input, target.astype(input.dtype), weight, reduction, label_smoothing)
