"""Loss modules: thin wrappers that hold a loss's options and call ``cnnlab.functional``.

>>> criterion = CrossEntropyLoss()
>>> loss = criterion(logits, targets)    # logits (N, C), integer targets (N,)
"""
from .. import arguments
from .. import functional as F
from ..functional.loss import REDUCTIONS
from .module import Module, format_arguments

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss"]


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = arguments.choice(type(self).__name__, "reduction", reduction, REDUCTIONS)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        owner = type(self).__name__
        self.register_buffer("weight", arguments.float_tensor(owner, "weight", weight, optional=True))
        self.ignore_index = arguments.integer(owner, "ignore_index", ignore_index)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy between logits ``(N, C, *)`` and class indices ``(N, *)`` (or class probabilities).

    Args:
        weight: per-class weights ``(C,)``, saved as a buffer.
        ignore_index: targets equal to it contribute nothing.
        reduction: 'mean' (weighted mean), 'sum' or 'none'.
        label_smoothing: mix the targets with the uniform distribution by this much.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = arguments.real("CrossEntropyLoss", "label_smoothing", label_smoothing, low=0, high=1)

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self):
        return format_arguments(ignore_index=(self.ignore_index, -100), reduction=(self.reduction, "mean"),
                                label_smoothing=(self.label_smoothing, 0.0))


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices ``(N, *)`` under log-probabilities ``(N, C, *)``.

    Args as :class:`CrossEntropyLoss` (without ``label_smoothing``); pair it with ``LogSoftmax(dim=1)``.
    """

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)

    def extra_repr(self):
        return format_arguments(ignore_index=(self.ignore_index, -100), reduction=(self.reduction, "mean"))


class MSELoss(_Loss):
    """Mean squared error ``mean((input - target)^2)`` ('sum' or 'none' with ``reduction``)."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return format_arguments(reduction=(self.reduction, "mean"))
