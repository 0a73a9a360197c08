"""The loops behind ``Model.fit``, ``evaluate`` and ``predict``, with Keras's semantics.

- ``validation_split`` takes the last fraction of the arrays, before any shuffling.
- The training rows are shuffled every epoch (``shuffle=True``) by cnnlab's
  default generator, so ``keras.utils.set_random_seed`` makes a run repeatable.
- ``loss`` in the logs is the mean of the epoch's batch losses weighted by batch
  size; metrics accumulate over every sample of the epoch.
- Logs are named by the metrics (``loss``, ``acc``, ``accuracy``...) in sorted
  order, then the same names prefixed ``val_``.

Each loop runs inside :func:`cnnlab.process_tuning`, as :func:`cnnlab.fit` does.
"""
import math
import sys
import time

import numpy

from ..runtime import process_tuning
from ..tensor import Tensor, no_grad
from . import callbacks as callbacks_module
from .ops import convert_to_tensor


def _array(value):
    return numpy.asarray(value.array if isinstance(value, Tensor) else value)


def as_inputs(x):
    """Inputs as a float32 NumPy array (float64 and integer images become float32, Keras's floatx)."""
    array = _array(x)
    return array if array.dtype == numpy.float32 else array.astype(numpy.float32)


def as_targets(y):
    return _array(y)


def validation_split(x, y, fraction):
    """``((x_train, y_train), (x_val, y_val))``: the last ``fraction`` of the rows validates."""
    split_at = int(math.floor(len(x) * (1.0 - fraction)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(f"fit: {len(x)} samples are not enough to split into a training and a validation set with "
                         f"validation_split={fraction}")
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def _batches(n, batch_size, order=None):
    order = numpy.arange(n) if order is None else order
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def train_step(model, x, y):
    """One batch: forward in training mode, loss, backward, optimizer update, metrics."""
    y_pred = model(convert_to_tensor(x), training=True)
    loss = model.compiled_loss(y, y_pred)
    model.zero_grad()
    weights = model.trainable_weights
    loss.backward()
    model.optimizer.apply([None if w.grad is None else w.grad.array for w in weights], weights)
    _update_metrics(model, loss, y, y_pred, len(x))


def _update_metrics(model, loss, y, y_pred, batch_size):
    model.loss_tracker.update_state(loss.array, sample_weight=batch_size)
    for metric in model.compiled_metrics:
        metric.update_state(y, y_pred.array)


def _reset_metrics(model):
    for metric in [model.loss_tracker] + list(model.compiled_metrics):
        metric.reset_state()


def metric_logs(model):
    """``{"loss": ..., metric names...}`` from the metrics' current results, names sorted after the loss."""
    logs = {model.loss_tracker.name: model.loss_tracker.result()}
    logs.update({m.name: m.result() for m in model.compiled_metrics})
    return dict(sorted(logs.items()))


def _fit(model, x, y, batch_size, epochs, verbose, callbacks, split, validation_data, shuffle, initial_epoch,
        validation_batch_size, validation_freq):
    x, y = as_inputs(x), as_targets(y)
    if validation_data is None and split:
        (x, y), validation_data = validation_split(x, y, split)
    if validation_data is not None and len(validation_data) != 2:
        raise ValueError(f"fit: validation_data must be a pair (x_val, y_val), got a tuple of {len(validation_data)}")
    steps = math.ceil(len(x) / batch_size)
    history = callbacks_module.History()
    params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    hooks = callbacks_module.CallbackList(list(callbacks or []) + [history], model, params)
    model.stop_training = False
    hooks.call("on_train_begin", None)
    logs = {}
    from .. import random as _random

    for epoch in range(initial_epoch, epochs):
        _reset_metrics(model)
        hooks.call("on_epoch_begin", epoch, None)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        start = time.perf_counter()
        order = _random.default_generator().permutation(len(x)) if shuffle else None
        for step, rows in enumerate(_batches(len(x), batch_size, order)):
            hooks.call("on_train_batch_begin", step, None)
            train_step(model, x[rows], y[rows])
            batch_logs = metric_logs(model)
            hooks.call("on_train_batch_end", step, batch_logs)
            if verbose == 1:
                _progress(step + 1, steps, batch_logs, time.perf_counter() - start, final=False)
            if model.stop_training:
                break
        logs = metric_logs(model)
        if validation_data is not None and (epoch + 1) % validation_freq == 0:
            val_logs = _evaluate(model, *validation_data, validation_batch_size or batch_size, 0)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        if verbose:
            _progress(steps, steps, logs, time.perf_counter() - start, final=True, bar=verbose == 1)
        hooks.call("on_epoch_end", epoch, logs)
        if model.stop_training:
            break
    hooks.call("on_train_end", logs)
    return history


def _evaluate(model, x, y, batch_size, verbose):
    """The loss and metrics over ``(x, y)`` in inference mode, as ``metric_logs``."""
    x, y = as_inputs(x), as_targets(y)
    _reset_metrics(model)
    start = time.perf_counter()
    with no_grad():
        for rows in _batches(len(x), batch_size):
            y_pred = model(convert_to_tensor(x[rows]), training=False)
            _update_metrics(model, model.compiled_loss(y[rows], y_pred), y[rows], y_pred, len(rows))
    logs = metric_logs(model)
    if verbose:
        steps = math.ceil(len(x) / batch_size)
        _progress(steps, steps, logs, time.perf_counter() - start, final=True, bar=verbose == 1)
    return logs


def _predict(model, x, batch_size, verbose):
    """The model's outputs for ``x``, batch by batch in inference mode, as one NumPy array."""
    x = as_inputs(x)
    start = time.perf_counter()
    with no_grad():
        outputs = [numpy.asarray(model(convert_to_tensor(x[rows]), training=False).array)
                   for rows in _batches(len(x), batch_size)]
    if verbose:
        steps = len(outputs)
        _progress(steps, steps, {}, time.perf_counter() - start, final=True, bar=verbose == 1)
    return numpy.concatenate(outputs) if outputs else numpy.zeros((0,), numpy.float32)


def _progress(step, steps, logs, seconds, final, bar=True):
    """Keras's progress line: ``12/12 [====] - 3s 250ms/step - acc: 0.9000 - loss: 0.3000``."""
    per_step = f"{1000 * seconds / max(step, 1):.0f}ms/step"
    values = "".join(f" - {name}: {value:.4f}" for name, value in logs.items())
    if bar:
        done = int(20 * step / max(steps, 1))
        line = f"{step}/{steps} [{'=' * done}{'.' * (20 - done)}] - {seconds:.0f}s {per_step}{values}"
        sys.stdout.write("\r" + line + ("\n" if final else ""))
    else:
        sys.stdout.write(f"{step}/{steps} - {seconds:.0f}s - {per_step}{values}\n")
    sys.stdout.flush()


def fit(*args, **kwargs):
    """The training loop (see the module docstring), inside :func:`cnnlab.process_tuning`."""
    with process_tuning():
        return _fit(*args, **kwargs)


def evaluate(*args, **kwargs):
    with process_tuning():
        return _evaluate(*args, **kwargs)


def predict(*args, **kwargs):
    with process_tuning():
        return _predict(*args, **kwargs)
