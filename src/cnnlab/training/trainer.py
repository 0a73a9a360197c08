"""The training loop: ``fit``, ``evaluate`` and ``predict``, Keras-style, over cnnlab modules.

``fit`` is the public entry; :class:`Trainer` underneath holds what one run
shares (model, optimizer, loss, metrics, callbacks) so callbacks and
checkpoints can reach it.
"""
import numpy as np

from .. import functional as F
from ..data import DataLoader, TensorDataset, random_split
from ..random import manual_seed
from ..runtime import process_tuning
from ..tensor import no_grad
from .callbacks import CallbackList, History, ProgressBar
from .metrics import resolve_metric

_LOSS_ALIASES = {
    "cross_entropy": "cross_entropy", "crossentropy": "cross_entropy", "ce": "cross_entropy",
    "nll": "nll_loss", "nll_loss": "nll_loss",
    "mse": "mse_loss", "mse_loss": "mse_loss",
    "l1": "l1_loss", "l1_loss": "l1_loss", "mae": "l1_loss",
    "bce": "binary_cross_entropy", "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
}


def resolve_loss(loss):
    """A loss callable from a callable or its name (``'cross_entropy'``, ``'mse'``, ...)."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in _LOSS_ALIASES:
        return getattr(F, _LOSS_ALIASES[loss.lower()])
    raise ValueError(f"loss must be a callable or one of {sorted(_LOSS_ALIASES)}, got loss={loss!r}")


def make_optimizer(optimizer, model, lr=None):
    """``optimizer`` itself, or a new one of that name (``'adam'``, ``'sgd'``, ...) over the model's parameters."""
    from .. import optim

    if optimizer is None or isinstance(optimizer, optim.Optimizer):
        return optimizer
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD, "rmsprop": optim.RMSprop}
    if not isinstance(optimizer, str) or optimizer.lower() not in classes:
        raise ValueError(f"optimizer must be an Optimizer or one of {sorted(classes)}, got optimizer={optimizer!r}")
    kwargs = {} if lr is None else {"lr": lr}
    if optimizer.lower() == "sgd":
        kwargs = {"lr": 0.01 if lr is None else lr, "momentum": 0.9}
    return classes[optimizer.lower()](model.parameters(), **kwargs)


def as_dataset(data, name):
    """A Dataset from a Dataset or a pair of arrays ``(inputs, targets)``."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return TensorDataset(*data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError(f"{name} must be a Dataset or a pair (inputs, targets), got {type(data).__name__}")


class Trainer:
    """What one training run shares: model, optimizer, loss, metrics and callbacks.

    Args:
        model: a :class:`cnnlab.nn.Module`.
        optimizer: an :class:`cnnlab.optim.Optimizer`, a name (``'adam'``, ``'sgd'``, ``'adamw'``,
            ``'rmsprop'``), or None for a trainer that only evaluates.
        loss: a callable ``loss(outputs, targets) -> scalar Tensor`` or its name.
        metrics: names of metrics computed from outputs and targets (``'accuracy'``).
        lr: learning rate when ``optimizer`` is a name.
    """

    def __init__(self, model, optimizer="adam", loss="cross_entropy", metrics=("accuracy",), lr=None):
        self.model = model
        self.optimizer = make_optimizer(optimizer, model, lr)
        self.loss = resolve_loss(loss)
        self.metrics = {getattr(m, "__name__", m): resolve_metric(m) for m in metrics}
        self.history = History()
        self.callbacks = []
        self.stop_training = False
        self.initial_epoch = 0
        self.epochs = 0
        self.steps_per_epoch = 0
        self.running = ("loss", *self.metrics)

    def train_step(self, x, y):
        """One optimisation step on a batch; returns (outputs, loss)."""
        outputs = self.model(x)
        loss = self.loss(outputs, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return outputs, loss

    def fit(self, train, *, epochs=1, batch_size=32, val=None, validation_split=0.0, callbacks=(), seed=None,
            shuffle=True, transform=None, initial_epoch=0, resume_from=None, verbose=True):
        """Train for ``epochs`` epochs; returns the :class:`History`. See :func:`fit`."""
        train = as_dataset(train, "train")
        if val is None and validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got validation_split={validation_split}")
            n_val = max(1, int(round(len(train) * validation_split)))
            train, val = random_split(train, [len(train) - n_val, n_val], seed=0 if seed is None else seed)
        elif val is not None:
            val = as_dataset(val, "val")
        loader = DataLoader(train, batch_size=batch_size, shuffle=shuffle, seed=seed, transform=transform)
        self.epochs, self.steps_per_epoch = epochs, len(loader)
        self.callbacks = [self.history, *callbacks] + ([ProgressBar()] if verbose else [])
        hooks = CallbackList(self.callbacks, self)
        self.initial_epoch = initial_epoch
        if resume_from is not None:
            from ..io import load_checkpoint

            self.initial_epoch = load_checkpoint(resume_from, self.model, self.optimizer, self.callbacks)["epoch"] + 1
        self.stop_training = False
        with process_tuning():
            hooks.on_train_begin()
            logs = {}
            for epoch in range(self.initial_epoch, epochs):
                if seed is not None:
                    manual_seed([seed, epoch])  # dropout masks: a pure function of (seed, epoch), so resuming matches
                loader.set_epoch(epoch)
                self.model.train()
                hooks.on_epoch_begin(epoch)
                logs = self._train_epoch(loader, hooks)
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                if val is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(val, batch_size=max(batch_size, 256)).items()})
                hooks.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            hooks.on_train_end(logs)
        return self.history

    def _train_epoch(self, loader, hooks):
        totals, seen = dict.fromkeys(self.running, 0.0), 0
        for batch, (x, y) in enumerate(loader):
            hooks.on_batch_begin(batch)
            outputs, loss = self.train_step(x, y)
            n = len(x)
            seen += n
            batch_logs = {"loss": loss.item()}
            for name, metric in self.metrics.items():
                batch_logs[name] = metric(outputs.data, y.data)
            for key in totals:
                totals[key] += batch_logs[key] * n
            hooks.on_batch_end(batch, {k: totals[k] / seen for k in totals})
            if self.stop_training:
                break
        return {k: v / max(seen, 1) for k, v in totals.items()}

    def evaluate(self, data, batch_size=256, transform=None):
        """Mean loss and metrics over ``data`` in eval mode, without gradients."""
        loader = DataLoader(as_dataset(data, "data"), batch_size=batch_size, transform=transform)
        totals, seen = dict.fromkeys(self.running, 0.0), 0
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad(), process_tuning():
                for x, y in loader:
                    outputs = self.model(x)
                    n = len(x)
                    seen += n
                    totals["loss"] += self.loss(outputs, y).item() * n
                    for name, metric in self.metrics.items():
                        totals[name] += metric(outputs.data, y.data) * n
        finally:
            self.model.train(was_training)
        return {k: v / max(seen, 1) for k, v in totals.items()}


def fit(model, train, *, epochs=1, batch_size=32, optimizer="adam", loss="cross_entropy", lr=None, val=None,
        validation_split=0.0, metrics=("accuracy",), callbacks=(), seed=None, shuffle=True, transform=None,
        initial_epoch=0, resume_from=None, verbose=True):
    """Train ``model`` on ``train`` and return its :class:`History`, as Keras's ``Model.fit``.

    Args:
        model: a :class:`cnnlab.nn.Module` mapping an input batch to outputs.
        train: a Dataset, or a pair ``(inputs, targets)`` of arrays (uint8
            images are scaled to [0, 1] by the loader).
        epochs: the epoch to stop after (counting from 0, so with
            ``initial_epoch=k`` it trains ``epochs - k`` more).
        batch_size: samples per optimisation step.
        optimizer: an Optimizer, or a name (``'adam'``, ``'sgd'``, ...) built with ``lr``.
        loss: a callable such as :func:`cnnlab.functional.cross_entropy`, or its name.
        val: validation data (Dataset or pair); when None, ``validation_split``
            (a fraction) of ``train`` is held out instead (0 for none, as in Keras).
        metrics: metric names, e.g. ``('accuracy',)``.
        callbacks: :class:`Callback` instances (EarlyStopping, ModelCheckpoint, ...).
        seed: makes the run reproducible: shuffling, augmentation and dropout of
            epoch k depend only on ``(seed, k)``, so a resumed run ends on the same
            weights as an uninterrupted one.
        transform: batch transform for training inputs (augmentation).
        initial_epoch: the epoch to start at.
        resume_from: a checkpoint written by :class:`ModelCheckpoint`; restores the
            weights, optimizer, history and callback states, and continues after its epoch.
        verbose: print a line per epoch (and a progress bar on a terminal).

    >>> history = cnnlab.fit(model, (x, y), epochs=3, batch_size=64, optimizer="adam",
    ...                      loss="cross_entropy", validation_split=0.1, seed=0)
    >>> history.history["val_accuracy"][-1]
    """
    trainer = Trainer(model, optimizer, loss, metrics, lr=lr)
    return trainer.fit(train, epochs=epochs, batch_size=batch_size, val=val, validation_split=validation_split,
                       callbacks=callbacks, seed=seed, shuffle=shuffle, transform=transform,
                       initial_epoch=initial_epoch, resume_from=resume_from, verbose=verbose)


def evaluate(model, data, *, loss="cross_entropy", metrics=("accuracy",), batch_size=256, transform=None):
    """Mean loss and metrics of ``model`` over ``data`` (Dataset or pair), e.g. ``{'loss': .., 'accuracy': ..}``."""
    trainer = Trainer(model, optimizer=None, loss=loss, metrics=metrics)
    return trainer.evaluate(data, batch_size=batch_size, transform=transform)


def predict(model, inputs, *, batch_size=256, transform=None):
    """The model's outputs for ``inputs`` (array, Tensor or Dataset), as one array, in eval mode."""
    if hasattr(inputs, "__getitem__") and hasattr(inputs, "__len__") and not hasattr(inputs, "shape"):
        dataset = inputs
    else:
        dataset = TensorDataset(np.asarray(inputs))
    loader = DataLoader(dataset, batch_size=batch_size, transform=transform)
    was_training = model.training
    model.eval()
    try:
        with no_grad(), process_tuning():
            batches = [model(batch[0] if isinstance(batch, tuple) else batch).data for batch in loader]
    finally:
        model.train(was_training)
    return np.concatenate(batches) if batches else np.zeros((0,), dtype=np.float32)
