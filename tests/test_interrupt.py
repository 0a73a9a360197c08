"""Ctrl-C keeps the work: fit stops at the next step boundary, saves where it stopped, a resumed run ends bit-identical.

The tests press Ctrl-C for real, ``signal.raise_signal(SIGINT)`` in a callback or
in the middle of an optimizer step, so they go through fit's own handler.
"""
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cnnlab
import helpers
from helpers import weights
from cnnlab import nn
from cnnlab.data import RandomShift
from cnnlab.training import Callback, LearningRateScheduler, ModelCheckpoint, TrainingInterrupted


def small_net(seed=0):
    """Convolution, batch norm (buffers), dropout (random masks): every kind of state a step changes."""
    cnnlab.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(4 * 7 * 7, 4))




def blobs(n=200, seed=0):
    return helpers.blobs(n, seed)


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def ctrl_c():
    signal.raise_signal(signal.SIGINT)


class InterruptAt(Callback):
    """Press Ctrl-C in ``hook`` at (``epoch``, ``step``)."""

    def __init__(self, hook, epoch, step=None):
        self.hook, self.at, self.epoch = hook, (epoch, step), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._maybe("on_epoch_begin", None)

    def on_batch_begin(self, batch, logs=None):
        self._maybe("on_batch_begin", batch)

    def on_batch_end(self, batch, logs=None):
        self._maybe("on_batch_end", batch)

    def on_epoch_end(self, epoch, logs=None):
        self._maybe("on_epoch_end", None)

    def _maybe(self, hook, step):
        if hook == self.hook and (self.epoch, step) == self.at:
            self.at = None  # once
            ctrl_c()


class InterruptingSGD(cnnlab.optim.SGD):
    """SGD that gets a Ctrl-C halfway through its ``n``-th step: some parameters updated, the others not yet."""

    def __init__(self, params, n, **kwargs):
        super().__init__(params, **kwargs)
        self.n, self.updates = n, 0

    def _update(self, param, grad, state, group):
        super()._update(param, grad, state, group)
        self.updates += 1
        if self.updates == (self.n - 1) * 6 + 4:  # 6 parameter tensors: interrupted after the 4th of step n
            ctrl_c()


DATA = blobs()
OPTIONS = dict(epochs=3, batch_size=16, seed=3, validation_split=0.2, transform=RandomShift(2), verbose=False)


def train(model, optimizer, callbacks=(), **overrides):
    return cnnlab.fit(model, DATA, optimizer=optimizer, callbacks=callbacks, **{**OPTIONS, **overrides})


@pytest.fixture(scope="module")
def uninterrupted():
    model = small_net()
    history = train(model, sgd(model))
    return weights(model), history.history


def sgd(model, interrupt_at=None):
    if interrupt_at is None:
        return cnnlab.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return InterruptingSGD(model.parameters(), interrupt_at, lr=0.05, momentum=0.9)


def interrupt_and_resume(tmp_path, callbacks=(), interrupt_at=None, **overrides):
    path = tmp_path / "ckpt.safetensors"
    model = small_net()
    with pytest.raises(TrainingInterrupted) as stopped:
        train(model, sgd(model, interrupt_at), [ModelCheckpoint(path, save_on_interrupt=True), *callbacks],
              **overrides)
    resumed = small_net(seed=99)  # other initial weights: everything must come from the checkpoint
    history = train(resumed, sgd(resumed, interrupt_at and 10**9), resume_from=path, **overrides)
    return stopped.value, weights(resumed), history.history


@pytest.mark.parametrize("hook,epoch,step,expected", [
    ("on_batch_end", 1, 4, (1, 5)),     # the step is kept: the run stops before the next one
    ("on_batch_begin", 0, 0, (0, 1)),   # the step goes on to its end first
    ("on_epoch_end", 1, None, (2, 0)),  # the epoch's end (validation, checkpoints) is finished first
    ("on_epoch_begin", 2, None, (2, 1)),
])
def test_an_interrupt_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted, hook, epoch, step, expected):
    stopped, resumed, history = interrupt_and_resume(tmp_path, [InterruptAt(hook, epoch, step)])
    assert (stopped.epoch, stopped.step) == expected
    assert_same_weights(resumed, uninterrupted[0])
    assert history == uninterrupted[1]  # the interrupted epoch's running loss and accuracy were saved too


def test_an_interrupt_inside_the_optimizer_step_lets_the_step_finish(tmp_path, uninterrupted):
    stopped, resumed, history = interrupt_and_resume(tmp_path, interrupt_at=13)
    assert (stopped.epoch, stopped.step) == (1, 3)  # 10 steps per epoch: the 13th is epoch 1's third
    assert str(stopped) == "interrupted at epoch 2/3, step 4/10"
    assert_same_weights(resumed, uninterrupted[0])
    assert history == uninterrupted[1]


def test_an_interrupt_after_the_last_step_lets_the_run_finish(uninterrupted):
    model = small_net()
    history = train(model, sgd(model), [InterruptAt("on_batch_end", 2, 9)])
    assert_same_weights(weights(model), uninterrupted[0])
    assert history.history == uninterrupted[1]


def test_a_second_ctrl_c_interrupts_at_once_and_the_handler_is_restored():
    class Twice(Callback):
        def on_batch_begin(self, batch, logs=None):
            ctrl_c()
            ctrl_c()

    model = small_net()
    with pytest.raises(KeyboardInterrupt) as stopped:
        train(model, sgd(model), [Twice()])
    assert not isinstance(stopped.value, TrainingInterrupted)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_interrupted_model_holds_the_steps_taken(tmp_path):
    runs = []
    for hook, step in (("on_batch_end", 3), ("on_batch_begin", 3)):  # both stop before step 4
        model = small_net()
        optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        with pytest.raises(TrainingInterrupted) as stopped:
            train(model, optimizer, [InterruptAt(hook, 0, step)])
        assert (stopped.value.epoch, stopped.value.step) == (0, 4)
        runs.append((weights(model), optimizer.state_dict()["state"]))
    assert_same_weights(runs[0][0], runs[1][0])
    assert runs[0][1].keys() == runs[1][1].keys()
    for index, state in runs[0][1].items():
        assert np.array_equal(state["momentum_buffer"], runs[1][1][index]["momentum_buffer"])


def test_without_a_seed_a_mid_epoch_resume_is_still_exact(tmp_path):
    """The checkpoint holds the loader's seed and the generators' states, so no seed is needed within an epoch."""
    path = tmp_path / "ckpt.safetensors"
    runs = []
    for callbacks in ([], [ModelCheckpoint(path, save_on_interrupt=True), InterruptAt("on_batch_end", 2, 5)]):
        model = small_net()
        cnnlab.manual_seed(7)  # the unseeded run's shuffling and dropout
        try:
            train(model, sgd(model), callbacks, seed=None)
        except TrainingInterrupted:
            model = small_net(seed=99)
            train(model, sgd(model), seed=None, resume_from=path)
        runs.append(weights(model))
    assert_same_weights(*runs)


@pytest.mark.parametrize("hook,epoch", [("on_batch_end", 1), ("on_epoch_begin", 2)])
def test_a_learning_rate_schedule_resumes_where_it_was(tmp_path, hook, epoch):
    """The scheduler's state is in the checkpoint, and the resumed epoch's change is not made twice."""
    path = tmp_path / "ckpt.safetensors"
    runs = []
    interrupt = InterruptAt(hook, epoch, 3 if hook == "on_batch_end" else None)
    for callbacks in ([], [ModelCheckpoint(path, save_on_interrupt=True), interrupt]):
        model = small_net()
        optimizer = sgd(model)
        schedule = LearningRateScheduler(cnnlab.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5))
        try:
            history = train(model, optimizer, [schedule, *callbacks])
        except TrainingInterrupted:
            model = small_net(seed=99)
            optimizer = sgd(model)
            schedule = LearningRateScheduler(cnnlab.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5))
            history = train(model, optimizer, [schedule], resume_from=path)
        runs.append((weights(model), history.history["lr"]))
    assert runs[0][1] == runs[1][1] == [0.05, 0.025, 0.0125]
    assert_same_weights(runs[0][0], runs[1][0])


def test_an_interrupt_without_save_on_interrupt_writes_nothing(tmp_path):
    model = small_net()
    with pytest.raises(KeyboardInterrupt):
        train(model, "adam", [ModelCheckpoint(tmp_path / "c.safetensors"), InterruptAt("on_batch_end", 0, 2)])
    assert not (tmp_path / "c.safetensors").exists()


def test_save_on_interrupt_needs_a_plain_path():
    with pytest.raises(ValueError, match="save_on_interrupt needs full checkpoints .* got filepath='c-{val_loss}'"):
        ModelCheckpoint("c-{val_loss}", save_on_interrupt=True)


def test_resuming_a_mid_epoch_checkpoint_needs_more_epochs(tmp_path):
    stopped_path = tmp_path / "ckpt.safetensors"
    model = small_net()
    with pytest.raises(TrainingInterrupted):
        train(model, "adam", [ModelCheckpoint(stopped_path, save_on_interrupt=True), InterruptAt("on_batch_end", 1, 2)])
    with pytest.raises(ValueError, match=r"fit: epochs must be more than 1 to resume .*, which stopped within "
                                         r"epoch 2, got 1"):
        train(small_net(), "adam", epochs=1, resume_from=stopped_path)


def test_a_mid_epoch_checkpoint_loads_as_a_model(tmp_path):
    stopped_path = tmp_path / "ckpt.safetensors"
    model = small_net()
    with pytest.raises(TrainingInterrupted):
        train(model, "adam", [ModelCheckpoint(stopped_path, save_on_interrupt=True), InterruptAt("on_batch_end", 0, 2)])
    assert_same_weights(weights(cnnlab.load(stopped_path)), weights(model))


# ------------------------------------------------------------------ the command
def command(*argv):
    return [sys.executable, "-m", "cnnlab", "train", *map(str, argv)]


def final_weights(folder):
    return weights(cnnlab.load(folder / "model.safetensors"))


RUN = ["--epochs", "2", "--batch-size", "8", "--seed", "5"]  # 675 steps an epoch: seconds, on any machine


def test_ctrl_c_writes_a_checkpoint_and_resume_ends_bit_identical(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command(*RUN, "--out", split), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    for line in process.stdout:  # the console's line at the end of epoch 1: the interrupt lands in epoch 2
        if line.startswith("epoch 1/2:"):
            break
    time.sleep(0.5)  # well inside epoch 2's 675 steps: the message below checks the step is not the first
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.count("\n") == 1 and err.startswith("cnnlab train: interrupted at epoch 2/2, step "), err
    stopped, resume = err.strip().split("; resume with: ")
    assert int(stopped.split("step ")[1].split("/")[0]) > 1, stopped  # within the epoch, not at its start
    assert resume == f"cnnlab train {' '.join(RUN[:4])} --out {split} --seed 5 --resume"
    assert not (split / "model.safetensors").exists() and "epoch 2/2" not in out
    refused_options(split)

    resumed = subprocess.run(command(*shlex.split(resume)[2:]), capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 2/2:" in resumed.stdout and "epoch 1/2" not in resumed.stdout
    done = subprocess.run(command(*RUN, "--out", straight, "--quiet"), capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert_same_weights(final_weights(split), final_weights(straight))
    assert (split / "log.csv").read_text() == (straight / "log.csv").read_text()

    again = subprocess.run(command(*shlex.split(resume)[2:]), capture_output=True, text=True, env=env)
    assert again.returncode == 0 and again.stdout == (f"nothing to do: {split / 'checkpoint.safetensors'} already "
                                                      f"finished epoch 2 of --epochs 2; a larger --epochs trains on\n")


def refused_options(folder):
    """What ``--resume`` refuses of a checkpoint stopped within epoch 2: in one line, before loading anything."""
    checkpoint = folder / "checkpoint.safetensors"
    before = checkpoint.read_bytes()
    done = subprocess.run(command(*RUN, "--out", folder, "--resume", "--epochs", "1"), capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr == (
        f"cnnlab train: error: --epochs: {checkpoint} stopped within epoch 2, so --epochs must be at least 2 to "
        f"resume it, got 1\n")
    done = subprocess.run(command(*RUN, "--out", folder, "--resume", "--batch-size", "64", "--optimizer", "sgd"),
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr == (
        f"cnnlab train: error: --resume: {checkpoint} was trained with other options, and these fix the model or the "
        f"data order: --batch-size 64 (the checkpoint's is 8), --optimizer sgd (the checkpoint's is adam); leave "
        f"them as they were, or train into a new --out\n")
    assert checkpoint.read_bytes() == before
