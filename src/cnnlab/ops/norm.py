"""Batch, layer and group normalisation, each forward beside its closed-form backward.

All three standardise ``x`` over some axes, ``xhat = (x - mean) / sqrt(var + eps)``
with the biased variance, then apply a per-channel (or per-element) affine map
``y = xhat * weight + bias``. Backward of the standardisation, with
``d = dL/dxhat`` and the means over the same axes:
``dL/dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps)``.
"""
import math

from ..backend import get_array_module
from ..tensor import from_op


def _standardize(x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes``; also the mean, biased variance and ``1/sqrt(var + eps)``."""
    mean = x.mean(axis=axes, keepdims=True)
    xhat = x - mean
    var = (xhat * xhat).mean(axis=axes, keepdims=True)
    invstd = 1 / get_array_module(x).sqrt(var + eps)
    xhat *= invstd
    return xhat, mean, var, invstd


def _standardize_backward(d, xhat, invstd, axes):
    """Gradient with respect to ``x`` of ``xhat = _standardize(x)``, given ``d = dL/dxhat``."""
    return invstd * (d - d.mean(axis=axes, keepdims=True) - xhat * (d * xhat).mean(axis=axes, keepdims=True))


def _scale_shift(xhat, weight, bias):
    out = xhat if weight is None else xhat * weight
    return out if bias is None else out + bias


def _from_affine_op(out, x, weight, bias, grads):
    """``from_op`` over the parents that are present; ``grads(g)`` returns ``(gx, gweight, gbias)``."""
    inputs = (x, weight, bias)

    def backward(g):
        return [grad for t, grad in zip(inputs, grads(g)) if t is not None]
    return from_op(out, [t for t in inputs if t is not None], backward)


def _wants(t):
    return t is not None and t.requires_grad


# -------------------------------------------------------------- batch norm
def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """Normalise each channel of ``x`` (N, C, *) over the batch and spatial dims.

    ``running_mean``/``running_var`` are arrays of shape (C,) (or None): used in
    eval, updated in place in training with the unbiased batch variance.
    """
    axes = (0,) + tuple(range(2, x.ndim))
    channel_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    w = None if weight is None else weight.array.reshape(channel_shape)
    b = None if bias is None else bias.array.reshape(channel_shape)
    if training:
        return _batch_norm_training(x, running_mean, running_var, weight, bias, w, b, axes, momentum, eps)
    xp = get_array_module(x.array)
    mean = xp.asarray(running_mean, dtype=x.dtype).reshape(channel_shape)
    invstd = 1 / xp.sqrt(xp.asarray(running_var, dtype=x.dtype).reshape(channel_shape) + eps)
    scale = invstd if w is None else invstd * w
    shift = -mean * scale if b is None else b - mean * scale

    def grads(g):
        gx = g * scale if x.requires_grad else None
        gw = (g * (x.array - mean) * invstd).sum(axis=axes) if _wants(weight) else None
        gb = g.sum(axis=axes) if _wants(bias) else None
        return gx, gw, gb
    return _from_affine_op(x.array * scale + shift, x, weight, bias, grads)


def _batch_norm_training(x, running_mean, running_var, weight, bias, w, b, axes, momentum, eps):
    count = x.array.size // x.shape[1]
    xhat, mean, var, invstd = _standardize(x.array, axes, eps)
    _update_running(running_mean, mean, momentum)
    _update_running(running_var, var * (count / (count - 1)), momentum)

    def grads(g):
        # One pass of reductions serves all three gradients.
        sum_g = g.sum(axis=axes, keepdims=True)
        sum_g_xhat = (g * xhat).sum(axis=axes, keepdims=True)
        gx = None
        if x.requires_grad:
            scale = invstd if w is None else invstd * w
            gx = (scale / count) * (count * g - sum_g - xhat * sum_g_xhat)
        gw = sum_g_xhat.reshape(-1) if _wants(weight) else None
        gb = sum_g.reshape(-1) if _wants(bias) else None
        return gx, gw, gb
    return _from_affine_op(_scale_shift(xhat, w, b), x, weight, bias, grads)


def _update_running(running, batch_value, momentum):
    """``running = (1 - momentum) running + momentum batch_value``, in place."""
    if running is not None:
        running *= 1 - momentum
        running += momentum * batch_value.reshape(running.shape)


# -------------------------------------------------------------- layer norm
def layer_norm(x, normalized_ndim, weight, bias, eps):
    """Normalise ``x`` over its last ``normalized_ndim`` dims; ``weight``/``bias`` have those dims' shape."""
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    lead = tuple(range(x.ndim - normalized_ndim))
    xhat, _, _, invstd = _standardize(x.array, axes, eps)
    w = None if weight is None else weight.array
    b = None if bias is None else bias.array

    def grads(g):
        gx = None
        if x.requires_grad:
            gx = _standardize_backward(g if w is None else g * w, xhat, invstd, axes)
        gw = (g * xhat).sum(axis=lead) if _wants(weight) else None
        gb = g.sum(axis=lead) if _wants(bias) else None
        return gx, gw, gb
    return _from_affine_op(_scale_shift(xhat, w, b), x, weight, bias, grads)


# -------------------------------------------------------------- group norm
def group_norm(x, num_groups, weight, bias, eps):
    """Normalise ``x`` (N, C, *) over each group of ``C / num_groups`` channels and the spatial dims."""
    grouped_shape = (x.shape[0], num_groups, math.prod(x.shape[1:]) // num_groups)
    xhat_grouped, _, _, invstd = _standardize(x.array.reshape(grouped_shape), (2,), eps)
    xhat = xhat_grouped.reshape(x.shape)
    channel_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    w = None if weight is None else weight.array.reshape(channel_shape)
    b = None if bias is None else bias.array.reshape(channel_shape)
    axes = (0,) + tuple(range(2, x.ndim))

    def grads(g):
        gx = None
        if x.requires_grad:
            d = (g if w is None else g * w).reshape(grouped_shape)
            gx = _standardize_backward(d, xhat_grouped, invstd, (2,)).reshape(x.shape)
        gw = (g * xhat).sum(axis=axes) if _wants(weight) else None
        gb = g.sum(axis=axes) if _wants(bias) else None
        return gx, gw, gb
    return _from_affine_op(_scale_shift(xhat, w, b), x, weight, bias, grads)
