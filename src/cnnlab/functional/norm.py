"""Normalisation: batch_norm, layer_norm and group_norm, as in torch.nn.functional.

Each function checks its arguments, then calls :mod:`cnnlab.ops.norm`.
"""
from .. import arguments
from ..ops import norm as ops

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _affine(function, tensor, name, input, shape, rule):  # noqa: A002
    """``tensor`` (weight or bias, may be None), a Tensor of ``input``'s dtype and of ``shape``."""
    tensor = arguments.float_tensor(function, name, tensor, like=input, optional=True)
    if tensor is not None and tensor.shape != shape:
        raise ValueError(f"{function}: {name} must have shape {shape} ({rule}), got shape {tensor.shape}")
    return tensor


def _running_stat(name, value, channels, input_shape):
    """The array behind a running statistic (a float Tensor, updated in place), or None."""
    value = arguments.float_tensor("batch_norm", name, value, optional=True)
    if value is None:
        return None
    if value.array.size != channels:
        raise ValueError(f"batch_norm: {name} has {value.array.size} elements but input has {channels} channels "
                         f"(input shape {input_shape})")
    return value.array


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Batch normalisation (Ioffe & Szegedy, arXiv:1502.03167), per channel.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with ``mean``/``var``
    (biased) taken over the batch and spatial dims in training, and the running
    statistics in eval. Training also updates the running statistics in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, using the
    unbiased batch variance (``var * n / (n - 1)``, ``n`` values per channel).

    Args:
        input: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        running_mean, running_var: ``(C,)`` float Tensors, or None (training only).
        weight, bias: ``(C,)`` or None.
        momentum: a real number; the cumulative average of ``momentum=None`` is
            the BatchNorm module's business (it passes ``1 / batches_seen``).

    >>> x = randn(8, 3, 4, 4)
    >>> mean, var = zeros(3), ones(3)
    >>> y = batch_norm(x, mean, var, training=True)   # mean and var are updated
    """
    input = arguments.float_tensor("batch_norm", "input", input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must have at least 2 dims (N, C, *), got shape {input.shape}")
    channels = input.shape[1]
    running_mean = _running_stat("running_mean", running_mean, channels, input.shape)
    running_var = _running_stat("running_var", running_var, channels, input.shape)
    per_channel = f"one value per channel; input has {channels} channels"
    weight = _affine("batch_norm", weight, "weight", input, (channels,), per_channel)
    bias = _affine("batch_norm", bias, "bias", input, (channels,), per_channel)
    momentum = arguments.real("batch_norm", "momentum", momentum)
    eps = arguments.real("batch_norm", "eps", eps)
    if training and input.array.size // max(channels, 1) <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input shape {input.shape}")
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if not training and stat is None:
            raise ValueError(f"batch_norm: {name} must be given when training=False, got {name}=None")
    return ops.batch_norm(input, running_mean, running_var, weight, bias, bool(training), momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Layer normalisation (Ba et al., arXiv:1607.06450) over the trailing ``normalized_shape`` dims.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased
    variance over the last ``len(normalized_shape)`` dims of each sample.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: an int or a sequence of ints, the trailing dims.
        weight, bias: ``normalized_shape`` or None.

    >>> layer_norm(randn(2, 5, 8), 8).shape
    (2, 5, 8)
    """
    input = arguments.float_tensor("layer_norm", "input", input)
    shape = arguments.shape("layer_norm", "normalized_shape", normalized_shape)
    if len(shape) > input.ndim or input.shape[-len(shape):] != shape:
        raise ValueError(f"layer_norm: normalized_shape={shape} must match the last {len(shape)} dims of the "
                         f"input, got input shape {input.shape}")
    weight = _affine("layer_norm", weight, "weight", input, shape, "normalized_shape")
    bias = _affine("layer_norm", bias, "bias", input, shape, "normalized_shape")
    eps = arguments.real("layer_norm", "eps", eps)
    return ops.layer_norm(input, len(shape), weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Group normalisation (Wu & He, arXiv:1803.08494): each sample's channels split into ``num_groups`` groups.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased
    variance over each group's channels and all spatial positions of a sample.

    Args:
        input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``.
        weight, bias: ``(C,)`` or None.

    >>> group_norm(randn(2, 6, 4, 4), 3).shape
    (2, 6, 4, 4)
    """
    input = arguments.float_tensor("group_norm", "input", input)
    if input.ndim < 2:
        raise ValueError(f"group_norm: input must have at least 2 dims (N, C, *), got shape {input.shape}")
    channels = input.shape[1]
    num_groups = arguments.integer("group_norm", "num_groups", num_groups, minimum=1)
    arguments.divisible("group_norm", "channels", channels, "num_groups", num_groups, f" (input shape {input.shape})")
    per_channel = f"one value per channel; input has {channels} channels"
    weight = _affine("group_norm", weight, "weight", input, (channels,), per_channel)
    bias = _affine("group_norm", bias, "bias", input, (channels,), per_channel)
    eps = arguments.real("group_norm", "eps", eps)
    return ops.group_norm(input, num_groups, weight, bias, eps)
