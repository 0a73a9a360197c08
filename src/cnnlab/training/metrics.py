"""Metrics computed from a batch of outputs and targets (arrays), averaged over the batch, on the host."""
import numpy as np

from ..backend import to_numpy


def _labels(targets, outputs):
    targets = to_numpy(targets)
    return targets.argmax(axis=1) if targets.shape == outputs.shape and targets.ndim > 1 else targets


def accuracy(outputs, targets):
    """Fraction of samples whose highest-scoring class is the target (class indices or probabilities)."""
    outputs = to_numpy(outputs)
    return float((outputs.argmax(axis=1) == _labels(targets, outputs)).mean())


def top_k_accuracy(k):
    """A metric: fraction of samples whose target is among the ``k`` highest-scoring classes."""
    def metric(outputs, targets):
        outputs = to_numpy(outputs)
        top = np.argpartition(-outputs, kth=min(k, outputs.shape[1]) - 1, axis=1)[:, :k]
        return float((top == _labels(targets, outputs)[:, None]).any(axis=1).mean())
    metric.__name__ = f"top{k}_accuracy"
    return metric


METRICS = {"accuracy": accuracy, "acc": accuracy, "top5_accuracy": top_k_accuracy(5),
           "top3_accuracy": top_k_accuracy(3)}


def resolve_metric(name):
    """The metric function called ``name``."""
    if callable(name):
        return name
    if name not in METRICS:
        raise ValueError(f"metrics: unknown metric {name!r}; available: {', '.join(sorted(METRICS))}")
    return METRICS[name]
