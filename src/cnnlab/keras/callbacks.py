"""Keras callbacks: hooks ``fit`` calls with a ``logs`` dict, talking back through ``model.stop_training``.

A callback sees ``self.model`` and ``self.params`` (epochs, steps, verbose);
hooks it does not define do nothing. State is reset in ``on_train_begin``, so
one instance can serve several ``fit`` calls.

>>> model.fit(x, y, validation_split=0.1, callbacks=[EarlyStopping(patience=2), CSVLogger("log.csv")])
"""
import csv
import io
import os
import warnings

from ..io import atomic_write
from ._names import suggesting_getattr

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: every hook is a no-op taking ``logs``; ``set_model``/``set_params`` are called by fit."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params


def _no_op(self, *args, **kwargs):
    """Does nothing unless a subclass overrides it."""


for _hook in _HOOKS:
    setattr(Callback, _hook, _no_op)


class CallbackList:
    """Calls one hook on every callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)


class History(Callback):
    """What ``fit`` returns: ``history.history[name]`` lists each epoch's value; ``history.epoch`` the epochs."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        self.model.history = self


class _Monitor(Callback):
    """A callback that watches one logged quantity and decides whether it improved."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__}: mode {mode!r} is unknown, falling back to 'auto'", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode, self.best, self.baseline = monitor, mode, baseline, baseline
        self.min_delta = abs(min_delta)
        self._lower_is_better = None

    def _direction(self):
        if self.mode != "auto":
            return self.mode == "min"
        name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
        if name == "loss":
            return True
        for metric in getattr(self.model, "compiled_metrics", []) or []:
            if metric.name == name:
                return metric._direction == "down"
        raise ValueError(f"{type(self).__name__}: cannot tell whether monitor={self.monitor!r} should be minimised "
                         f"or maximised; pass mode='min' or mode='max'")

    def _is_improvement(self, value, reference):
        if self._lower_is_better is None:
            self._lower_is_better = self._direction()
        if reference is None:
            return True
        if self._lower_is_better:
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def _monitored(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{what} conditioned on metric {self.monitor!r} which is not available. Available metrics "
                          f"are: {','.join(logs or {})}", stacklevel=3)
        return value


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``restore_best_weights`` puts back the weights of the best epoch at the end;
    ``baseline`` must be beaten for an epoch to reset the wait; epochs before
    ``start_from_epoch`` are not watched.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, baseline, min_delta)
        self.patience, self.verbose = patience, verbose
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    ``new_lr = max(lr * factor, min_lr)``; then ``cooldown`` epochs pass before
    waiting starts again. Adds ``learning_rate`` to the epoch's logs.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, None, min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor!r}")
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.cooldown_counter, self.wait = 0, 0

    def on_train_begin(self, logs=None):
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = self._monitored(logs, "Learning rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter, self.wait = self.cooldown, 0

    def _reduce(self, epoch):
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        if old <= self.min_lr:
            return False
        optimizer.learning_rate = max(old * self.factor, self.min_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {optimizer.learning_rate}.")
        return True


class ModelCheckpoint(_Monitor):
    """Save the model (``.keras``) or its weights (``.weights.h5``) after every epoch.

    ``filepath`` may hold ``{epoch}`` (counted from 1) and any logged name, e.g.
    ``"model_at_epoch_{epoch}.keras"`` or ``"best_{val_loss:.2f}.keras"``.
    ``save_best_only`` saves only when ``monitor`` improves.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' (cnnlab.keras saves per epoch), "
                             f"got {save_freq!r}")
        self.save_freq = save_freq
        suffixes = (".weights.h5",) if save_weights_only else (".keras", ".h5")
        if not self.filepath.endswith(suffixes):
            raise ValueError(f"ModelCheckpoint: filepath must end in {' or '.join(suffixes)} with "
                             f"save_weights_only={save_weights_only}, got filepath={self.filepath!r}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise KeyError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: {error} is not logged "
                           f"(available: {', '.join(logs)})") from None
        if self.save_best_only:
            current = self._monitored(logs, "Saving the best model")
            if current is not None and not self._is_improvement(current, self.best):
                return
            self.best = current if current is not None else self.best
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then the logged names, sorted (val_ columns included).

    The file is rewritten whole, atomically, after every epoch; ``append=True``
    keeps the rows already in it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys, self._text = None, ""

    def on_train_begin(self, logs=None):
        self.keys, self._text = None, ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as file:
                self._text = file.read()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.sep, lineterminator="\n")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
            if not self._text:
                writer.writerow(["epoch"] + self.keys)
        writer.writerow([epoch] + [logs.get(key, "NA") for key in self.keys])
        self._text += buffer.getvalue()
        atomic_write(self.filename, self._text.encode("utf-8"))


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``."""

    def __init__(self, **hooks):
        super().__init__()
        unknown = sorted(set(hooks) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; the hooks are {', '.join(_HOOKS)}")
        for name, function in hooks.items():
            setattr(self, name, function)


__getattr__ = suggesting_getattr(__name__, globals())
