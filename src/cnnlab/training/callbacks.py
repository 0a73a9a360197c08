"""Callbacks for :func:`cnnlab.fit`, with Keras's hooks and ``logs`` dicts.

Every hook is a no-op by default. The trainer hands each callback itself
(``self.trainer``, ``self.model``); a callback stops training by setting
``self.trainer.stop_training = True``. State is reset in ``on_train_begin`` so
an instance can be reused, and callbacks whose state matters for resuming
(``EarlyStopping``, ``ReduceLROnPlateau``) save it in checkpoints through
``state_dict``/``load_state_dict``. When Ctrl-C interrupts :func:`cnnlab.fit`,
``on_train_interrupt`` runs (at the boundary between two steps where the
trainer stopped) instead of ``on_train_end``.
"""
import csv
import math
import os
import string
import warnings

import numpy as np


class Callback:
    """Base class: override the hooks you need.

    ``main_rank_only``: when several ranks train together, only rank 0 runs a callback
    that sets it (those that print or write files: ModelCheckpoint, CSVLogger, the
    progress bar); the others run on every rank, on the logs every rank shares, so
    EarlyStopping and ReduceLROnPlateau decide alike everywhere.
    """

    trainer = None
    main_rank_only = False

    @property
    def model(self):
        return self.trainer.model

    def set_trainer(self, trainer):
        self.trainer = trainer

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_interrupt(self, logs=None):
        """Ctrl-C: ``logs`` holds the ``epoch`` and ``step`` a resumed run continues from."""

    def state_dict(self):
        """JSON-able state to carry across a resumed run (none by default)."""
        return {}

    def load_state_dict(self, state):
        pass


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks, trainer):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_trainer(trainer)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call


class History(Callback):
    """Records each epoch's logs: ``history.history['val_loss'][k]`` is epoch k's."""

    def __init__(self):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self):
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state):
        self.epoch = list(state.get("epoch", []))
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _resolve_mode(owner, mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got mode={mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class _Monitor(Callback):
    """Shared logic of callbacks that watch one metric for improvement."""

    def __init__(self, owner, monitor, mode, min_delta):
        if min_delta < 0:
            raise ValueError(f"{owner}: min_delta must be >= 0, got min_delta={min_delta}")
        self._owner = owner
        self.monitor = monitor
        self.mode = _resolve_mode(owner, mode, monitor)
        self.min_delta = min_delta
        self.best = None

    def _current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{self._owner}: metric {self.monitor!r} is not in the logs; available metrics are: "
                f"{', '.join(sorted(logs or {})) or 'none'}",
                stacklevel=3,
            )
        return value

    def _improved(self, value):
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs, e.g. ``'val_loss'`` or ``'val_accuracy'``.
        min_delta: the least change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: ``'min'``, ``'max'``, or ``'auto'`` (max for accuracies, else min).
        baseline: stop if the metric does not beat this within ``patience`` epochs.
        restore_best_weights: at the end, load the weights of the best epoch.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False):
        super().__init__("EarlyStopping", monitor, mode, min_delta)
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got patience={patience}")
        self.patience = patience
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.wait, self.best, self.best_epoch, self.stopped_epoch = 0, baseline, None, None  # until a checkpoint's

    def on_train_begin(self, logs=None):
        if self.trainer.initial_epoch == 0:
            self.wait, self.best, self.best_epoch, self.stopped_epoch = 0, self.baseline, None, None
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if value is None:
            return
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = {k: v.array.copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)

    def state_dict(self):
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        self.stopped_epoch = None


class ModelCheckpoint(_Monitor):
    """Save a checkpoint (weights, optimizer state, epoch, history) after epochs.

    Files are written atomically: a kill at any instant leaves the previous file
    whole. ``filepath`` may hold format fields of the epoch logs, e.g.
    ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'`` (``epoch`` counts from 1).

    Args:
        save_best_only: save only when ``monitor`` improves.
        save_weights_only: write the weights only (``cnnlab.save(..., architecture=False)``), no
            architecture and no optimizer state; load them with ``cnnlab.load(path, model=model)``, as
            Keras's ``load_weights``.
        save_on_interrupt: when Ctrl-C interrupts training, also save where it stopped within the
            epoch (data order, random states, running metrics), so ``fit(..., resume_from=path)``
            continues from that very step; ``filepath`` may then hold no field but ``{epoch}``.
        info: a JSON-able dict saved with every checkpoint (``cnnlab.io.read_info`` reads it back).
    """

    main_rank_only = True  # several ranks: only rank 0 keeps it (see Callback)

    def __init__(self, filepath, monitor="val_loss", mode="auto", save_best_only=False,
                 save_weights_only=False, min_delta=0.0, verbose=False, save_on_interrupt=False, info=None):
        super().__init__("ModelCheckpoint", monitor, mode, min_delta)
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.verbose = verbose
        self.save_on_interrupt = save_on_interrupt
        self.info = info
        self.last_saved = None
        fields = {field for _, field, _, _ in string.Formatter().parse(self.filepath) if field is not None}
        if save_on_interrupt and (save_weights_only or fields - {"epoch"}):
            raise ValueError(f"ModelCheckpoint: save_on_interrupt needs full checkpoints (save_weights_only=False) "
                             f"at a filepath with no field but {{epoch}}, got filepath={self.filepath!r}, "
                             f"save_weights_only={save_weights_only}")

    def on_train_begin(self, logs=None):
        if self.trainer.initial_epoch == 0:
            self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._current(logs)
            if value is None or not self._improved(value):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        from ..io import save, save_checkpoint

        if self.save_weights_only:
            save(self.model, path, architecture=False)
        else:
            save_checkpoint(path, self.model, self.trainer.optimizer, epoch=epoch, callbacks=self.trainer.callbacks,
                            info=self.info)
        self.last_saved = path
        if self.verbose:
            print(f"saved {path}")

    def on_train_interrupt(self, logs=None):
        if not self.save_on_interrupt:
            return
        from ..io import save_checkpoint

        stopped = self.trainer.interrupted_at
        path = self.filepath.format(epoch=logs["epoch"] + 1)
        save_checkpoint(path, self.model, self.trainer.optimizer, epoch=stopped["epoch"],
                        callbacks=self.trainer.callbacks, info=self.info, position=stopped["position"])
        self.last_saved = path

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start: ``schedule(epoch, lr) -> new lr``.

    ``schedule`` may also be a :mod:`cnnlab.optim.lr_scheduler` scheduler, which
    is stepped once per epoch. Each epoch's change is made once, even when a run
    resumed within that epoch begins it again; checkpoints carry the scheduler's state.
    """

    def __init__(self, schedule, verbose=False):
        if not callable(schedule) and not hasattr(schedule, "step"):
            raise TypeError(f"LearningRateScheduler: schedule must be callable or a scheduler, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self.applied_epoch = None

    def on_train_begin(self, logs=None):
        if self.trainer.initial_epoch == 0 and self.trainer.initial_step == 0:
            self.applied_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.applied_epoch:
            return
        self.applied_epoch = epoch
        if hasattr(self.schedule, "step"):
            if epoch > 0:
                self.schedule.step()
            return
        optimizer = self.trainer.optimizer
        lr = float(self.schedule(epoch, optimizer.param_groups[0]["lr"]))
        for group in optimizer.param_groups:
            group["lr"] = lr
        if self.verbose:
            print(f"epoch {epoch + 1}: learning rate {lr:.3g}")

    def state_dict(self):
        scheduler = self.schedule.state_dict() if hasattr(self.schedule, "state_dict") else None
        return {"applied_epoch": self.applied_epoch, "scheduler": scheduler}

    def load_state_dict(self, state):
        self.applied_epoch = state["applied_epoch"]
        if state["scheduler"] is not None:
            self.schedule.load_state_dict(state["scheduler"])


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0,
                 min_lr=0.0, verbose=False):
        super().__init__("ReduceLROnPlateau", monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got factor={factor}")
        self.factor, self.patience, self.cooldown, self.min_lr = factor, patience, cooldown, min_lr
        self.verbose = verbose
        self.best, self.wait, self.cooldown_left = None, 0, 0

    def on_train_begin(self, logs=None):
        if self.trainer.initial_epoch == 0:
            self.best, self.wait, self.cooldown_left = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if value is None:
            return
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience:
                for group in self.trainer.optimizer.param_groups:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
                if self.verbose:
                    print(f"epoch {epoch + 1}: reducing learning rate to {group['lr']:.3g}")
                self.cooldown_left, self.wait = self.cooldown, 0
        if logs is not None:
            logs["lr"] = self.trainer.optimizer.param_groups[0]["lr"]

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "cooldown_left": self.cooldown_left}

    def load_state_dict(self, state):
        self.best, self.wait, self.cooldown_left = state["best"], state["wait"], state["cooldown_left"]


class CSVLogger(Callback):
    """Append each epoch's logs as a CSV row (header first), flushed every epoch.

    The ``epoch`` column counts from 1, as the console's ``epoch 1/5`` does, and
    a resumed run goes on from the checkpoint's next epoch.
    """

    main_rank_only = True  # several ranks: only rank 0 keeps it (see Callback)

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append

    def on_train_begin(self, logs=None):
        resuming = self.append or self.trainer.initial_epoch > 0
        self._keys = None
        if resuming and os.path.exists(self.filename):
            with open(self.filename, newline="") as file:
                header = next(csv.reader(file, delimiter=self.separator), None)
            self._keys = header[1:] if header else None
        self._file = open(self.filename, "a" if resuming else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch + 1] + [logs.get(key, "") for key in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class TerminateOnNaN(Callback):
    """Stop training quietly as soon as a batch loss is NaN or infinite.

    :func:`cnnlab.fit` raises :class:`DivergedError` at such a loss by default
    (``stop_on_nonfinite=True``), without applying it; with this callback it
    ends the run instead, returning the History, the model keeping the weights
    from before that step. With ``stop_on_nonfinite=False`` it stops after the
    step, as Keras's does.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"batch {batch}: invalid loss {loss}, terminating training")
            self.trainer.stop_training = True


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss and metrics, and one summary line per epoch.

    The bar shows only on a terminal; the summary line prints whenever the
    trainer is not quiet.
    """

    main_rank_only = True  # several ranks: only rank 0 keeps it (see Callback)

    def __init__(self, show_bar=None):
        self.show_bar = show_bar
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        show = self.show_bar
        if show is None:
            import sys

            show = sys.stderr.isatty()
        if show:
            from tqdm.auto import tqdm

            resumed = self.trainer.initial_step if epoch == self.trainer.initial_epoch else 0
            self._bar = tqdm(total=self.trainer.steps_per_epoch, desc=f"epoch {epoch + 1}/{self.trainer.epochs}",
                             leave=False, unit="batch", initial=resumed)

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items() if k in self.trainer.running})

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        parts = [f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in (logs or {}).items()]
        print(f"epoch {epoch + 1}/{self.trainer.epochs}: " + " ".join(parts), flush=True)
