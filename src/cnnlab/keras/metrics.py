"""Keras metrics: running means over the batches of an epoch.

Each metric accumulates ``total`` and ``count`` through ``update_state`` and
reports ``total / count`` from ``result()``; ``fit`` and ``evaluate`` reset them
at the start of every epoch or evaluation. Accuracies compare every sample.

>>> acc = SparseCategoricalAccuracy(name="acc")
>>> acc.update_state(numpy.array([1, 0]), numpy.array([[0.2, 0.8], [0.3, 0.7]]))
>>> acc.result()
0.5
"""
import numpy

from ..tensor import Tensor
from ._names import suggesting_getattr


def _array(value):
    return numpy.asarray(value.array if isinstance(value, Tensor) else value)


class Metric:
    """Base: a ``name``, ``update_state(y_true, y_pred)``, ``result()`` and ``reset_state()``."""

    #: "up" when larger is better (callbacks' ``mode='auto'`` reads it).
    _direction = "down"

    def __init__(self, name=None, dtype=None):
        self.name = name
        self.dtype = dtype
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def result(self):
        return float(self.total / self.count) if self.count else 0.0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The weighted mean of the values given: ``update_state(values, sample_weight)``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(numpy.float64)
        weight = 1.0 if sample_weight is None else float(sample_weight)
        self.total += float(values.sum()) * weight
        self.count += values.size * weight


class _Accuracy(Metric):
    _direction = "up"

    def update_state(self, y_true, y_pred, sample_weight=None):
        matches = self.matches(_array(y_true), _array(y_pred))
        self.total += float(matches.sum())
        self.count += matches.size


class SparseCategoricalAccuracy(_Accuracy):
    """How often ``argmax(y_pred)`` equals the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    @staticmethod
    def matches(y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        return y_pred.argmax(-1) == y_true


class CategoricalAccuracy(_Accuracy):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot labels)."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)

    @staticmethod
    def matches(y_true, y_pred):
        return y_pred.argmax(-1) == y_true.argmax(-1)


class BinaryAccuracy(_Accuracy):
    """How often ``y_pred > threshold`` equals the 0/1 label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name, dtype)

    def matches(self, y_true, y_pred):
        return (y_pred > self.threshold) == (y_true.reshape(y_pred.shape) > 0.5)


class _ResolvedAccuracy(Metric):
    """``"accuracy"``/``"acc"``: binary, sparse or categorical, chosen from the first batch as Keras chooses."""

    _direction = "up"

    def __init__(self, name):
        self._metric = None
        super().__init__(name)

    def reset_state(self):
        if getattr(self, "_metric", None) is not None:
            self._metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._metric is None:
            y_true, y_pred = _array(y_true), _array(y_pred)
            if y_pred.shape[-1] == 1:
                kind = BinaryAccuracy
            elif y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
                kind = SparseCategoricalAccuracy
            else:
                kind = CategoricalAccuracy
            self._metric = kind(name=self.name)
        self._metric.update_state(y_true, y_pred)

    def result(self):
        return 0.0 if self._metric is None else self._metric.result()


_BY_NAME = {"sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy}


def get(identifier):
    """A metric object from a Keras metric name (``"accuracy"``, ``"sparse_categorical_accuracy"``...) or object."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        return _ResolvedAccuracy(identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"compile: each metric must be a Metric object, 'accuracy', 'acc' or one of "
                     f"{', '.join(map(repr, _BY_NAME))}, got {identifier!r}")


__getattr__ = suggesting_getattr(__name__, globals())
