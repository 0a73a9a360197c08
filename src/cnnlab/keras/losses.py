"""Keras's cross-entropy losses, with its probability clipping and batch-mean reduction.

With ``from_logits=False`` the predictions are probabilities: Keras renormalises
them to sum to 1, clips them into ``[1e-7, 1 - 1e-7]`` and takes the log. With
``from_logits=True`` it takes ``log_softmax``. The loss of a batch is the mean
of the per-sample losses (``reduction='sum_over_batch_size'``).

>>> SparseCategoricalCrossentropy()(numpy.array([0]), cnnlab.tensor([[0.5, 0.5]]))
tensor(0.6931472)
"""
import numpy

from .. import arguments, functional as F
from ..tensor import Tensor
from ._names import suggesting_getattr
from .ops import convert_to_tensor

EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none")


def _log_probabilities(y_pred, from_logits, axis):
    if from_logits:
        return F.log_softmax(y_pred, dim=axis)
    probabilities = y_pred / y_pred.sum(axis, keepdim=True)
    return probabilities.clip(EPSILON, 1.0 - EPSILON).log()


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample ``-sum(y_true * log(p))`` for one-hot (or soft) ``y_true`` of ``y_pred``'s shape."""
    y_pred = convert_to_tensor(y_pred)
    target = numpy.asarray(y_true.array if isinstance(y_true, Tensor) else y_true, dtype=y_pred.dtype)
    if target.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true and y_pred must have the same shape, got "
                         f"y_true.shape={target.shape}, y_pred.shape={y_pred.shape}")
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / target.shape[axis]
    return -(Tensor(target) * _log_probabilities(y_pred, from_logits, axis)).sum(axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Per-sample ``-log(p[y_true])`` for integer class indices ``y_true`` (``(N,)`` or ``(N, 1)``)."""
    y_pred = convert_to_tensor(y_pred)
    labels = numpy.asarray(y_true.array if isinstance(y_true, Tensor) else y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = labels.squeeze(axis)
    classes = y_pred.shape[axis]
    if labels.shape != y_pred.shape[:axis % y_pred.ndim] + y_pred.shape[axis % y_pred.ndim + 1:]:
        raise ValueError(f"sparse_categorical_crossentropy: y_true must have y_pred's shape without the class axis, "
                         f"got y_true.shape={labels.shape}, y_pred.shape={y_pred.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"sparse_categorical_crossentropy: y_true must hold class indices in [0, {classes - 1}], "
                         f"got values from {labels.min()} to {labels.max()}")
    one_hot = numpy.moveaxis(numpy.eye(classes, dtype=y_pred.dtype)[labels.astype(numpy.int64)], -1, axis)
    return -(Tensor(one_hot) * _log_probabilities(y_pred, from_logits, axis)).sum(axis)


class Loss:
    """Base of Keras's loss objects: ``loss(y_true, y_pred)`` reduces the per-sample losses of :meth:`call`."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name
        self.reduction = arguments.choice(type(self).__name__, "reduction", reduction or "none", _REDUCTIONS)
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weights = numpy.asarray(sample_weight, dtype=values.dtype).reshape(values.shape)
            values = values * Tensor(weights)
        if self.reduction == "none":
            return values
        return values.sum() if self.reduction == "sum" else values.sum() / max(values.array.size, 1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer labels, as ``keras.losses.SparseCategoricalCrossentropy``."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name, reduction, dtype)
        if ignore_class is not None:
            raise arguments.refuse(ValueError, type(self).__name__, "ignore_class",
                                   "None (not supported by cnnlab.keras)", repr(ignore_class))
        self.from_logits, self.ignore_class = bool(from_logits), None

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def get_config(self):
        return super().get_config() | {"from_logits": self.from_logits, "ignore_class": None}


class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot labels, as ``keras.losses.CategoricalCrossentropy``.

    ``label_smoothing`` ε replaces the targets by ``y (1 - ε) + ε / classes``.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(name, reduction, dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = arguments.real(type(self).__name__, "label_smoothing", label_smoothing, 0, 1)
        self.axis = arguments.integer(type(self).__name__, "axis", axis)

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing, self.axis)

    def get_config(self):
        return super().get_config() | {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                                       "axis": self.axis}


_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy}


def get(identifier):
    """A loss object from a Keras loss name, a loss object (returned as is) or one of the loss functions."""
    if isinstance(identifier, Loss):
        return identifier
    name = getattr(identifier, "__name__", identifier)
    if isinstance(name, str) and name in _BY_NAME:
        return _BY_NAME[name]()
    raise ValueError(f"compile: loss must be a Loss object or one of {', '.join(map(repr, _BY_NAME))}, "
                     f"got {identifier!r}")


__getattr__ = suggesting_getattr(__name__, globals())
