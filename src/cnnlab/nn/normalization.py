"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm and GroupNorm, as in ``torch.nn``.

BatchNorm normalises each channel by the batch's mean and variance while
training and by running estimates in evaluation; the estimates are buffers
(``running_mean``, ``running_var``, ``num_batches_tracked``), so they are saved
in ``state_dict`` under PyTorch's names.
"""
import numpy

from .. import arguments
from .. import functional as F
from ..backend import default_float
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, format_arguments

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm"]


class _BatchNorm(Module):
    input_ranks = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        owner = type(self).__name__
        self.num_features = arguments.integer(owner, "num_features", num_features, minimum=1)
        self.eps = arguments.real(owner, "eps", eps, low=0, open_low=True)
        self.momentum = None if momentum is None else arguments.real(owner, "momentum", momentum, low=0, high=1)
        self.affine, self.track_running_stats = affine, track_running_stats
        # Parameters and buffers are created with NumPy on the host.
        if affine:
            self.weight = Parameter(numpy.ones(num_features, dtype=default_float))
            self.bias = Parameter(numpy.zeros(num_features, dtype=default_float))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(numpy.zeros(num_features, dtype=default_float)))
            self.register_buffer("running_var", Tensor(numpy.ones(num_features, dtype=default_float)))
            self.register_buffer("num_batches_tracked", Tensor(numpy.array(0, dtype=numpy.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        """Reset the running statistics; weight 1 and bias 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input(self, input):
        owner = type(self).__name__
        if input.ndim not in self.input_ranks:
            expected = " or ".join(f"{r}D" for r in self.input_ranks)
            raise ValueError(f"{owner}: expected {expected} input, "
                             f"got {input.ndim}D input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{owner}: expected {self.num_features} channels (dim 1) as num_features, "
                             f"got input of shape {tuple(input.shape)}")

    def forward(self, input):
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:   # cumulative moving average over all batches seen
                momentum = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return format_arguments((self.num_features,), eps=(self.eps, 1e-5), momentum=(self.momentum, 0.1),
                                affine=(self.affine, True), track_running_stats=(self.track_running_stats, True))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` per channel (Ioffe & Szegedy 2015).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the batch's mean and
    (biased) variance over every dim but C while training, the running estimates
    in evaluation. Each training call updates
    ``running = (1 - momentum) * running + momentum * batch`` (unbiased variance);
    ``momentum=None`` keeps a cumulative average instead.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: weight of the newest batch in the running estimates, or None.
        affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape (C,).
        track_running_stats: keep running estimates; without them batch
            statistics are used in evaluation too.

    >>> BatchNorm1d(120)(cnnlab.randn(8, 120)).shape
    (8, 120)
    """

    input_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` per channel; arguments and formula as :class:`BatchNorm1d`.

    >>> bn = BatchNorm2d(16)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    input_ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of ``(N, C, D, H, W)`` per channel; arguments and formula as :class:`BatchNorm1d`."""

    input_ranks = (5,)


class LayerNorm(Module):
    """Normalise over the last ``len(normalized_shape)`` dims of each sample (Ba et al. 2016).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased variance
    over those trailing dims; ``weight`` (init 1) and ``bias`` (init 0) have
    ``normalized_shape``.

    Args:
        normalized_shape: int or tuple: the trailing shape normalised over.
        eps: added to the variance for stability.
        elementwise_affine: learn ``weight`` and ``bias``.
        bias: learn ``bias`` (with ``elementwise_affine``).

    >>> LayerNorm(64)(cnnlab.randn(2, 10, 64)).shape
    (2, 10, 64)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = arguments.shape("LayerNorm", "normalized_shape", normalized_shape)
        self.eps = arguments.real("LayerNorm", "eps", eps, low=0, open_low=True)
        self.elementwise_affine = elementwise_affine
        # Parameters are created with NumPy on the host.
        if elementwise_affine:
            self.weight = Parameter(numpy.ones(self.normalized_shape, dtype=default_float))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(numpy.zeros(self.normalized_shape, dtype=default_float))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return format_arguments((self.normalized_shape,), eps=(self.eps, 1e-5),
                                elementwise_affine=(self.elementwise_affine, True),
                                bias=(self.bias is not None or not self.elementwise_affine, True))


class GroupNorm(Module):
    """Normalise each sample over groups of channels (Wu & He 2018, https://arxiv.org/abs/1803.08494).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased variance
    over each group's ``num_channels / num_groups`` channels and all positions;
    ``weight`` (init 1) and ``bias`` (init 0) are per channel.

    Args:
        num_groups: how many groups; must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance for stability.
        affine: learn ``weight`` and ``bias`` of shape (C,).

    >>> GroupNorm(4, 32)(cnnlab.randn(2, 32, 8, 8)).shape
    (2, 32, 8, 8)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        self.num_groups = arguments.integer("GroupNorm", "num_groups", num_groups, minimum=1)
        self.num_channels = arguments.integer("GroupNorm", "num_channels", num_channels, minimum=1)
        arguments.divisible("GroupNorm", "num_channels", num_channels, "num_groups", num_groups)
        self.eps = arguments.real("GroupNorm", "eps", eps, low=0, open_low=True)
        self.affine = affine
        # Parameters are created with NumPy on the host.
        if affine:
            self.weight = Parameter(numpy.ones(num_channels, dtype=default_float))
            self.bias = Parameter(numpy.zeros(num_channels, dtype=default_float))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return format_arguments((self.num_groups, self.num_channels), eps=(self.eps, 1e-5),
                                affine=(self.affine, True))
