"""Loss functions, each forward beside its closed-form backward.

Arguments arrive validated from :mod:`cnnlab.functional.loss`. Every loss first
computes one value per element (or per sample, for the class losses), then
reduces: ``'none'`` keeps them, ``'sum'`` adds them, ``'mean'`` divides the sum
by a count (the number of elements, or for class-index targets the summed
weight of the targets that are not ignored, as PyTorch does).
"""
from ..backend import get_array_module
from ..tensor import from_op


def _reduce(values, reduction, count):
    if reduction == "none":
        return values
    xp = get_array_module(values)
    total = values.sum()
    if reduction == "sum":
        return xp.asarray(total)
    with xp.errstate(invalid="ignore", divide="ignore"):  # nothing counted gives nan, as in PyTorch
        return xp.asarray(total / count)


def _spread(g, reduction, count, shape):
    """The upstream gradient of a reduced loss as one gradient per unreduced value."""
    if reduction == "none":
        return g
    xp = get_array_module(g)
    if reduction == "mean":
        with xp.errstate(divide="ignore", invalid="ignore"):  # nothing counted: ignored samples mask it below
            g = g / count
    return xp.broadcast_to(g, shape)


# ----------------------------------------------------------- element-wise losses
def _pointwise(input, target, values, reduction, input_slope, target_slope):
    """The loss reduced from per-element ``values``; ``*_slope(g)`` give ``g * d(values)/d(input or target)``."""
    shape, count = values.shape, values.size

    def backward(g):
        g = _spread(g, reduction, count, shape)
        return (input_slope(g) if input.requires_grad else None,
                target_slope(g) if target.requires_grad else None)
    return from_op(_reduce(values, reduction, count), (input, target), backward)


def mse_loss(input, target, reduction):
    """``(x - y)^2``."""
    diff = input.array - target.array
    return _pointwise(input, target, diff * diff, reduction, lambda g: 2 * diff * g, lambda g: -2 * diff * g)


def l1_loss(input, target, reduction):
    """``|x - y|``; the gradient at ``x = y`` is 0."""
    xp = get_array_module(input.array)
    diff = input.array - target.array
    return _pointwise(input, target, xp.abs(diff), reduction,
                      lambda g: xp.sign(diff) * g, lambda g: -xp.sign(diff) * g)


def smooth_l1_loss(input, target, reduction, beta):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, for ``d = x - y`` (``beta > 0``)."""
    xp = get_array_module(input.array)
    diff = input.array - target.array
    size = xp.abs(diff)
    inside = size < beta
    values = xp.where(inside, 0.5 * diff * diff / beta, size - 0.5 * beta)
    slope = xp.where(inside, diff / beta, xp.sign(diff))
    return _pointwise(input, target, values, reduction, lambda g: slope * g, lambda g: -slope * g)


def huber_loss(input, target, reduction, delta):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``delta`` times smooth L1."""
    xp = get_array_module(input.array)
    diff = input.array - target.array
    size = xp.abs(diff)
    inside = size < delta
    values = xp.where(inside, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    slope = xp.clip(diff, -delta, delta)
    return _pointwise(input, target, values, reduction, lambda g: slope * g, lambda g: -slope * g)


def binary_cross_entropy(input, target, weight, reduction):
    """``-w (y log x + (1 - y) log(1 - x))`` with each log clamped at -100, as in PyTorch."""
    x, y = input.array, target.array
    xp = get_array_module(x)
    with xp.errstate(divide="ignore"):  # log(0) = -inf, then clamped
        log_x, log_rest = xp.maximum(xp.log(x), -100), xp.maximum(xp.log1p(-x), -100)
    values = -(y * log_x + (1 - y) * log_rest)
    weight = 1 if weight is None else weight
    return _pointwise(
        input, target, weight * values, reduction,
        # PyTorch bounds the denominator x (1 - x) below by 1e-12.
        lambda g: weight * g * (x - y) / xp.maximum(x * (1 - x), 1e-12),
        lambda g: weight * g * _negative_logit(x),
    )


def _negative_logit(x):
    """``log(1 - x) - log(x)``, infinite at 0 and 1 as in PyTorch."""
    xp = get_array_module(x)
    with xp.errstate(divide="ignore"):
        return xp.log1p(-x) - xp.log(x)


def _softplus(x):
    """``log(1 + e^x)`` without overflow."""
    xp = get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(x):
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight):
    """``w ((1 - y) z + (1 + (p - 1) y) softplus(-z))``: binary cross entropy of ``sigmoid(z)``, stably."""
    z, y = input.array, target.array
    pos_weight = 1 if pos_weight is None else pos_weight
    log_weight = 1 + (pos_weight - 1) * y
    soft = _softplus(-z)
    values = (1 - y) * z + log_weight * soft
    weight = 1 if weight is None else weight
    return _pointwise(
        input, target, weight * values, reduction,
        lambda g: weight * g * (1 - y - log_weight * _sigmoid(-z)),
        lambda g: weight * g * ((pos_weight - 1) * soft - z),
    )


# -------------------------------------------------------------- class losses
def log_softmax(x, axis):
    """``x - logsumexp(x)`` along ``axis``, shifted by the maximum so large logits don't overflow."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _class_axis(x):
    return 1 if x.ndim > 1 else 0


def _class_weight_view(weight, x, axis):
    """``weight`` (C,) shaped to broadcast along the class axis of ``x``."""
    return weight.reshape(weight.shape + (1,) * (x.ndim - 1 - axis))


def _picked(target, weight, ignore_index, axis, dtype):
    """Per sample: class index (expanded on ``axis``; 0 if ignored), its weight (0 if ignored), kept or not."""
    xp = get_array_module(target)
    kept = target != ignore_index
    index = xp.expand_dims(xp.where(kept, target, 0), axis)
    picked_weight = kept.astype(dtype) if weight is None else xp.where(kept, weight[index.squeeze(axis)], 0)
    return index, picked_weight, kept


def nll_loss(input, target, weight, ignore_index, reduction):
    """``-w[y] x[y]`` per sample, where ``x`` holds log-probabilities along the class axis."""
    xp = get_array_module(input.array)
    axis = _class_axis(input.array)
    index, picked_weight, kept = _picked(target, weight, ignore_index, axis, input.dtype)
    values = -picked_weight * xp.take_along_axis(input.array, index, axis).squeeze(axis)
    count = picked_weight.sum()

    def backward(g):
        g = xp.where(kept, _spread(g, reduction, count, values.shape), 0)  # ignored samples get no gradient
        grad = xp.zeros_like(input.array)
        xp.put_along_axis(grad, index, xp.expand_dims(-g * picked_weight, axis), axis)
        return (grad,)
    return from_op(_reduce(values, reduction, count), (input,), backward)


def cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    """Class-index targets: ``log_softmax`` then NLL, fused; gradient ``softmax * sum(q) - q`` for target weights ``q``.

    With smoothing ``e`` over ``C`` classes the per-sample loss is
    ``(1 - e) w[y] (-log p[y]) + (e / C) sum_c w[c] (-log p[c])``.
    """
    x = input.array
    xp = get_array_module(x)
    axis = _class_axis(x)
    classes = x.shape[axis]
    keep_nll = 1 - label_smoothing
    index, picked_weight, kept = _picked(target, weight, ignore_index, axis, x.dtype)
    log_p = log_softmax(x, axis)
    values = -keep_nll * picked_weight * xp.take_along_axis(log_p, index, axis).squeeze(axis)
    if label_smoothing:
        class_weight = 1 if weight is None else _class_weight_view(weight, x, axis)
        values -= (label_smoothing / classes) * kept * (class_weight * log_p).sum(axis=axis)
    count = picked_weight.sum()

    def backward(g):
        g = xp.where(kept, _spread(g, reduction, count, values.shape), 0)  # ignored samples get no gradient
        g_nll = keep_nll * g * picked_weight
        share = g_nll
        if label_smoothing:
            g_smooth = (label_smoothing / classes) * g * kept
            share = g_nll + g_smooth * (classes if weight is None else weight.sum())
        grad = xp.exp(log_p) * xp.expand_dims(share, axis)
        at_target = xp.take_along_axis(grad, index, axis) - xp.expand_dims(g_nll, axis)
        xp.put_along_axis(grad, index, at_target, axis)
        if label_smoothing:
            grad -= class_weight * xp.expand_dims(g_smooth, axis)
        return (grad,)
    return from_op(_reduce(values, reduction, count), (input,), backward)


def cross_entropy_soft(input, target, weight, reduction, label_smoothing):
    """Class-probability targets ``t``: ``-sum_c w[c] t'[c] log p[c]`` per sample, ``t' = (1 - e) t + e / C``.

    'mean' divides by the number of samples (elements over classes), as in PyTorch.
    """
    x = input.array
    xp = get_array_module(x)
    axis = _class_axis(x)
    classes = x.shape[axis]
    class_weight = 1 if weight is None else _class_weight_view(weight, x, axis)
    log_p = log_softmax(x, axis)
    share = class_weight * ((1 - label_smoothing) * target.array + label_smoothing / classes)
    values = -(share * log_p).sum(axis=axis)
    count = x.size // classes

    def backward(g):
        g = xp.expand_dims(_spread(g, reduction, count, values.shape), axis)
        grad_input = grad_target = None
        if input.requires_grad:
            grad_input = (xp.exp(log_p) * share.sum(axis=axis, keepdims=True) - share) * g
        if target.requires_grad:
            grad_target = -(1 - label_smoothing) * class_weight * log_p * g
        return grad_input, grad_target
    return from_op(_reduce(values, reduction, count), (input, target), backward)
