"""The training loop: ``fit``, ``evaluate`` and ``predict``, Keras-style, over cnnlab modules.

``fit`` is the public entry; :class:`Trainer` underneath holds what one run
shares (model, optimizer, loss, metrics, callbacks) so callbacks and
checkpoints can reach it.

Two ways a run ends early are exceptions, each at a step boundary: a
non-finite loss raises :class:`DivergedError` before it is applied, and Ctrl-C
raises :class:`TrainingInterrupted` at the next boundary between two steps,
where the model, optimizer, callbacks and random states describe exactly the
steps taken, so a checkpoint saved then (``ModelCheckpoint(save_on_interrupt=True)``)
resumes to the very weights an uninterrupted run ends on. For that, while
``fit`` runs in the main thread of a process whose SIGINT handler is Python's
default, Ctrl-C only sets a flag that the loop reads between steps (a second
Ctrl-C interrupts at once); the previous handler is back when ``fit`` returns.
Nothing is copied per step, so this costs the loop nothing.

Started by an MPI launcher as several processes (``mpiexec -n N``), ``fit``
trains data-parallel: each rank takes its share of every batch and the ranks
sum their gradients, losses and Ctrl-C flags at each step
(:mod:`cnnlab.training.data_parallel`; the rules are in :mod:`cnnlab.distributed`).
"""
import math
import numbers
import signal
import threading

import numpy as np

from .. import arguments, distributed
from .. import functional as F
from ..data import DataLoader, Subset, TensorDataset, random_split
from ..random import default_generator, manual_seed
from ..runtime import limited_threads, process_tuning
from ..tensor import no_grad
from .callbacks import CallbackList, History, ProgressBar
from .data_parallel import Replicas, shard_of, sum_totals
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


class DivergedError(FloatingPointError):
    """Training produced a non-finite loss or weights; raised by :func:`fit` at the step where it happened.

    Attributes:
        epoch, step: where (0-based, as the callbacks count them); the message counts from 1.
        epochs, steps: the run's epochs and steps per epoch.
        lr: the optimizer's learning rate at that step.
    """

    def __init__(self, epoch, step, epochs, steps, what, lr):
        self.epoch, self.step, self.epochs, self.steps, self.lr = epoch, step, epochs, steps, lr
        super().__init__(f"training diverged at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps}: {what}; "
                         f"try a lower learning rate (this run's is {lr:g})")


class TrainingInterrupted(KeyboardInterrupt):
    """:func:`fit` was interrupted (Ctrl-C); the model holds the state from before the step it stopped in.

    Attributes:
        epoch, step: where a resumed run continues (0-based; step 0 is the start of the epoch).
        epochs, steps: the run's epochs and steps per epoch.
    """

    def __init__(self, epoch, step, epochs, steps):
        self.epoch, self.step, self.epochs, self.steps = epoch, step, epochs, steps
        super().__init__(f"interrupted at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps}")


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
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf):
        raise arguments.refuse(ValueError, "fit", "lr", "a finite number > 0", repr(lr))
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

    After a Ctrl-C, ``interrupted_at`` is ``{'epoch': last finished epoch,
    'position': where within the next one, or None}``, what a checkpoint records.
    """

    def __init__(self, model, optimizer="adam", loss="cross_entropy", metrics=("accuracy",), lr=None):
        self.model = model
        self.optimizer = make_optimizer(optimizer, model, lr)
        self.loss = resolve_loss(loss)
        self.metrics = {getattr(m, "__name__", m): resolve_metric(m) for m in metrics}
        self.history = History()
        self.callbacks = []
        self.stop_training = False
        self.initial_epoch = self.initial_step = 0
        self.epochs = 0
        self.steps_per_epoch = 0
        self.running = ("loss", *self.metrics)
        self.stop_on_nonfinite = True
        self.interrupted_at = None
        self._interrupt = _DeferredInterrupt()
        self.world = distributed.World()  # the ranks training together; fit() asks for the real one
        self._replicas = None             # set while fit() runs on several ranks
        self._agreed_stop = False         # a Ctrl-C some rank saw, as every rank learnt it (several ranks)

    def train_step(self, x, y):
        """One optimisation step on a batch; returns (outputs, loss).

        With ``stop_on_nonfinite`` a non-finite loss is not applied.
        """
        outputs = self.model(x)
        loss = self.loss(outputs, y)
        if self.stop_on_nonfinite and not math.isfinite(loss.item()):
            return outputs, loss
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return outputs, loss

    def fit(self, train, *, epochs=1, batch_size=32, val=None, validation_split=0.0, callbacks=(), seed=None,
            shuffle=True, transform=None, initial_epoch=0, resume_from=None, verbose=True, stop_on_nonfinite=True):
        """Train for ``epochs`` epochs; returns the :class:`History`. See :func:`fit`."""
        with distributed.abort_on_error(coordinated=(TrainingInterrupted, DivergedError)):
            self.world = distributed.world()
            try:
                return self._fit(train, epochs, batch_size, val, validation_split, callbacks, seed, shuffle,
                                 transform, initial_epoch, resume_from, verbose, stop_on_nonfinite)
            finally:
                self._replicas = None

    def _fit(self, train, epochs, batch_size, val, validation_split, callbacks, seed, shuffle, transform,
             initial_epoch, resume_from, verbose, stop_on_nonfinite):
        train, val = _split(as_dataset(train, "train"), val, validation_split, seed)
        world, shard = self.world, None
        if world.size > 1:
            seed = self._join(train, val, batch_size, seed)
            shard = (world.rank, world.size)
            if world.rank != 0:  # only rank 0 prints and writes files
                callbacks = [c for c in callbacks if not getattr(c, "main_rank_only", False)]
                verbose = False
        loader = DataLoader(train, batch_size=batch_size, shuffle=shuffle, seed=seed, transform=transform, shard=shard)
        self.epochs, self.steps_per_epoch = epochs, len(loader)
        self.stop_on_nonfinite = stop_on_nonfinite
        self.callbacks = [self.history, *callbacks] + ([ProgressBar()] if verbose else [])
        hooks = CallbackList(self.callbacks, self)
        self.initial_epoch, self.initial_step, position = initial_epoch, 0, None
        if resume_from is not None:
            position = self._resume(resume_from, epochs)
        if world.size > 1:
            self._replicas = Replicas(world, self.model, self.optimizer, self.running)
            self._replicas.broadcast_model()
        self.stop_training = self._agreed_stop = False
        with process_tuning(), limited_threads(world.threads() if world.size > 1 else None):
            hooks.on_train_begin()
            logs = self._epochs(loader, val, hooks, seed, position, batch_size)
            hooks.on_train_end(logs)
        return self.history

    def _join(self, train, val, batch_size, seed):
        """Several ranks: check they agree on the batch and the data; returns the seed they share (rank 0's)."""
        world = self.world
        distributed.check_batch(batch_size, world.size, "fit: batch_size")
        distributed.check_same_data(train, "training set", "fit")
        if val is not None:
            distributed.check_same_data(val, "validation set", "fit")
        shared = np.array([-1 if seed is None else seed], dtype=np.int64)
        if seed is None and world.rank == 0:
            shared[0] = default_generator().integers(2**62)
        return int(world.broadcast_(shared)[0])

    def _resume(self, path, epochs):
        """Load the checkpoint at ``path``; returns where within an epoch it stopped, or None."""
        from ..io import load_checkpoint

        if self.world.size > 1:
            distributed.check_same_file(path, "checkpoint", "fit")
        restored = load_checkpoint(path, self.model, self.optimizer, self.callbacks)
        position = restored.get("position")
        self.initial_epoch, self.initial_step = restored["epoch"] + 1, position["step"] if position else 0
        if position is not None and epochs <= position["epoch"]:
            raise arguments.refuse(ValueError, "fit", "epochs", f"more than {position['epoch']} to resume {path}, "
                                   f"which stopped within epoch {position['epoch'] + 1}", epochs)
        return position

    def _epochs(self, loader, val, hooks, seed, position, batch_size):
        """The epochs; at a Ctrl-C, tell the callbacks where the run stands and raise TrainingInterrupted."""
        logs = {}
        # several ranks: mpiexec turns a Ctrl-C into SIGTERM for every rank (and kills them a moment later);
        # it forwards SIGUSR1 as it is, a stop with all the time rank 0 needs to save
        signals = (signal.SIGINT,) if self._replicas is None else _JOB_SIGNALS
        with _DeferredInterrupt(signals) as self._interrupt:
            for epoch in range(self.initial_epoch, self.epochs):
                logs = self._epoch(epoch, loader, val, hooks, seed, position, batch_size)
                position = None
                if self.stop_training:
                    break
        return logs

    def _stop_requested(self):
        """Whether to stop at this boundary: a Ctrl-C here, or, on several ranks, one that every rank has learnt of."""
        return self._interrupt.requested if self._replicas is None else self._agreed_stop

    def _interrupted(self, hooks, finished, position):
        """A Ctrl-C is pending between two steps: save through ``on_train_interrupt`` and raise."""
        self.interrupted_at = {"epoch": finished, "position": position}
        epoch, step = (finished + 1, 0) if position is None else (position["epoch"], position["step"])
        hooks.on_train_interrupt({"epoch": epoch, "step": step})
        raise TrainingInterrupted(epoch, step, self.epochs, self.steps_per_epoch)

    def _epoch(self, epoch, loader, val, hooks, seed, position, batch_size):
        if position is None and self._stop_requested():
            self._interrupted(hooks, epoch - 1, None)
        totals, seen = self._begin_epoch(epoch, loader, seed, position)
        self.model.train()
        hooks.on_epoch_begin(epoch)
        logs = self._train_epoch(epoch, loader, hooks, totals, seen)
        if self._replicas is not None:
            self._replicas.average_buffers()
        self._check_weights(epoch)
        logs["lr"] = self.optimizer.param_groups[0]["lr"]
        if val is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(val, batch_size=max(batch_size, 256)).items()})
        hooks.on_epoch_end(epoch, logs)
        return logs

    def _begin_epoch(self, epoch, loader, seed, position):
        """Seed epoch ``epoch``'s randomness, or restore it from ``position``; returns the running totals."""
        world = self.world
        if position is None:
            if seed is not None:  # dropout masks: a pure function of (seed, epoch[, rank]), so resuming matches
                manual_seed([seed, epoch] if world.size == 1 else [seed, epoch, world.rank])
            loader.set_epoch(epoch)
            return dict.fromkeys(self.running, 0.0), 0
        if set(position["totals"]) != set(self.running):
            resumed = sorted(position["totals"])
            raise arguments.refuse(ValueError, "fit", "metrics", f"those of the run resumed ({resumed})",
                                   sorted(self.running))
        rng, loader_state = position["rng"], position["loader"]
        if world.size > 1:
            rng, transform_rng = _rank_streams(position, world, loader.seed)
            loader_state = dict(loader_state, transform_rng=transform_rng)
        default_generator().bit_generator.state = rng
        loader.load_state_dict(loader_state)
        return dict(position["totals"]), position["seen"]

    def _train_epoch(self, epoch, loader, hooks, totals, seen):
        batches = iter(loader)
        for step in range(loader.state_dict()["batch"], len(loader)):
            if self._stop_requested() and (step > 0 or seen):  # the position is worked out only then
                self._interrupted(hooks, epoch - 1, self._position(epoch, step, loader, totals, seen))
            hooks.on_batch_begin(step)
            x, y = next(batches)
            buffers = self._buffers() if self.stop_on_nonfinite else None
            n, sums = self._step(x, y) if self._replicas is None else self._shared_step(x, y)
            seen += n
            for key in totals:
                totals[key] += sums[key]
            hooks.on_batch_end(step, {k: totals[k] / seen for k in totals})
            loss = sums["loss"] / n
            if self.stop_on_nonfinite and not math.isfinite(loss):
                self._diverged(epoch, step, f"the loss is {loss}", buffers)
            if self.stop_training:
                break
        return {k: v / max(seen, 1) for k, v in totals.items()}

    def _step(self, x, y):
        """One step in one process: ``(samples, {key: batch mean * samples})`` for the running keys."""
        outputs, loss = self.train_step(x, y)
        n = len(x)
        sums = {"loss": loss.item() * n}
        for name, metric in self.metrics.items():
            sums[name] = metric(outputs.array, y.array) * n
        return n, sums

    def _shared_step(self, x, y):
        """One step on several ranks, ``x`` and ``y`` this rank's share: :meth:`_step`'s answer for the whole batch.

        Every rank runs forward and backward on its share; the loss, metrics and Ctrl-C
        flags are summed first, so all ranks agree whether the loss is finite (a non-finite
        one is not applied, as in :meth:`train_step`) and whether to stop; then the
        gradients are summed, each weighted by its rank's share of the batch.
        """
        n = len(x)
        local = dict.fromkeys(self.running, 0.0)
        local["n"] = n
        self.optimizer.zero_grad()
        if n:
            outputs = self.model(x)
            loss = self.loss(outputs, y)
            local["loss"] = loss.item() * n
            for name, metric in self.metrics.items():
                local[name] = metric(outputs.array, y.array) * n
            loss.backward()
        sums, interrupted = self._replicas.step_totals(local, self._interrupt.requested)
        self._agreed_stop = self._agreed_stop or interrupted
        total = sums.pop("n")
        if not (self.stop_on_nonfinite and not math.isfinite(sums["loss"])):
            self._replicas.gradients.sum_(n / total)
            self.optimizer.step()
        return total, sums

    def _buffers(self):
        """Copies of the model's buffers (batch-norm statistics), which a forward pass in training mode moves."""
        return [(buffer, buffer.array.copy()) for buffer in self.model.buffers()]

    def _diverged(self, epoch, step, what, buffers):
        """Undo the forward pass's buffer updates; raise DivergedError unless a callback (TerminateOnNaN) stopped training.

        The parameters and optimizer are untouched: :meth:`train_step` does not apply a non-finite loss.
        """
        for buffer, saved in buffers:
            buffer.array[...] = saved
        if not self.stop_training:
            raise DivergedError(epoch, step, self.epochs, self.steps_per_epoch, what,
                                self.optimizer.param_groups[0]["lr"])

    def _check_weights(self, epoch):
        """Raise DivergedError when a parameter is no longer finite, so no callback saves it."""
        if not self.stop_on_nonfinite:
            return
        for name, parameter in self.model.named_parameters():
            if not np.isfinite(parameter.array).all():
                raise DivergedError(epoch, self.steps_per_epoch - 1, self.epochs, self.steps_per_epoch,
                                    f"{name} is no longer finite", self.optimizer.param_groups[0]["lr"])

    # ------------------------------------------------- interrupt and resume
    def _position(self, epoch, step, loader, totals, seen):
        """Where the run stands before ``step`` of ``epoch``: JSON-able, but for the loader's order (an array).

        On several ranks (all of them call this at the same step), also each rank's random
        streams under ``'ranks'``: ``[{'rng', 'transform_rng'}, ...]`` by rank.
        """
        state = loader.state_dict()
        position = {"epoch": epoch, "step": step, "loader": state,
                    "rng": default_generator().bit_generator.state, "totals": dict(totals), "seen": seen}
        if self._replicas is not None:
            position["ranks"] = self.world.gather_json({"rng": position["rng"],
                                                        "transform_rng": state["transform_rng"]})
        return position

    def evaluate(self, data, batch_size=256, transform=None):
        """Mean loss and metrics over ``data`` in eval mode, without gradients.

        Started as several ranks, each evaluates its share of ``data`` and the results are summed.
        """
        data = as_dataset(data, "data")
        world = distributed.world()
        if world.size > 1:
            data = Subset(data, shard_of(world, len(data)))
        loader = DataLoader(data, batch_size=batch_size, transform=transform)
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
                        totals[name] += metric(outputs.array, y.array) * n
        finally:
            self.model.train(was_training)
        if world.size > 1:
            totals, (seen,) = sum_totals(world, self.running, totals, seen)
        return {k: v / max(seen, 1) for k, v in totals.items()}


#: The signals that stop a data-parallel job at a step boundary (SIGUSR1 is not on every platform).
_JOB_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name))


def _rank_streams(position, world, seed):
    """This rank's ``(rng, transform_rng)`` states to resume ``position`` with, on several ranks.

    Its own when the checkpoint was written by as many ranks; otherwise (the streams
    were per rank) new ones, a pure function of ``(seed, epoch, step, rank)``.
    """
    ranks = position.get("ranks")
    if ranks is not None and len(ranks) == world.size:
        return ranks[world.rank]["rng"], ranks[world.rank]["transform_rng"]
    key = [seed, position["epoch"], position["step"], world.rank]
    rng, transform_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(key).spawn(2))
    return rng.bit_generator.state, transform_rng.bit_generator.state


class _DeferredInterrupt:
    """While entered (main thread, default handlers only), the ``signals`` set ``requested``; a second one
    interrupts at once (KeyboardInterrupt)."""

    _DEFAULTS = {number: signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
                 for number in _JOB_SIGNALS}

    def __init__(self, signals=(signal.SIGINT,)):
        self.signals, self.requested, self._previous = signals, False, {}

    def __enter__(self):
        self.requested = False
        if threading.current_thread() is threading.main_thread():
            for number in self.signals:
                if signal.getsignal(number) is self._DEFAULTS[number]:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def _split(train, val, validation_split, seed):
    """``(train, val)``: ``val`` as a Dataset, or a ``validation_split`` fraction held out of ``train``; never empty."""
    if len(train) == 0:
        raise arguments.refuse(ValueError, "fit", "train", "a dataset of at least one sample", "an empty dataset")
    if val is None and validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must be in (0, 1), got validation_split={validation_split}")
        n_val = max(1, int(round(len(train) * validation_split)))
        if n_val >= len(train):
            raise arguments.refuse(ValueError, "fit", "validation_split", f"small enough to keep some of the "
                                   f"{len(train)} samples for training", validation_split)
        return random_split(train, [len(train) - n_val, n_val], seed=0 if seed is None else seed)
    if val is None:
        return train, None
    val = as_dataset(val, "val")
    if len(val) == 0:
        raise arguments.refuse(ValueError, "fit", "val", "a dataset of at least one sample", "an empty dataset")
    return train, val


def fit(model, train, *, epochs=1, batch_size=32, optimizer="adam", loss="cross_entropy", lr=None, val=None,
        validation_split=0.0, metrics=("accuracy",), callbacks=(), seed=None, shuffle=True, transform=None,
        initial_epoch=0, resume_from=None, verbose=True, stop_on_nonfinite=True):
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
            weights, optimizer, history and callback states, and continues after its epoch,
            or from the very step where an interrupted run stopped.
        verbose: print a line per epoch (and a progress bar on a terminal).
        stop_on_nonfinite: at the first NaN or infinite loss, do not apply it and raise
            :class:`DivergedError` naming the epoch and step (the model keeps the weights
            from before that step; a ``TerminateOnNaN`` callback turns the error into a
            quiet stop). False trains on, as Keras does.

    Raises:
        DivergedError: the loss (or, at an epoch's end, a weight) is no longer finite.
        TrainingInterrupted: Ctrl-C; everything is rewound to the start of the step it
            landed in and ``ModelCheckpoint(..., save_on_interrupt=True)`` has saved it.

    >>> history = cnnlab.fit(model, (x, y), epochs=3, batch_size=64, optimizer="adam",
    ...                      loss="cross_entropy", validation_split=0.1, seed=0)
    >>> history.history["val_accuracy"][-1]
    """
    trainer = Trainer(model, optimizer, loss, metrics, lr=lr)
    return trainer.fit(train, epochs=epochs, batch_size=batch_size, val=val, validation_split=validation_split,
                       callbacks=callbacks, seed=seed, shuffle=shuffle, transform=transform,
                       initial_epoch=initial_epoch, resume_from=resume_from, verbose=verbose,
                       stop_on_nonfinite=stop_on_nonfinite)


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
            batches = [model(batch[0] if isinstance(batch, tuple) else batch).array for batch in loader]
    finally:
        model.train(was_training)
    return np.concatenate(batches) if batches else np.zeros((0,), dtype=np.float32)
