"""Divergence is an error, not a result: non-finite losses and learning rates, and empty datasets, refused."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cnnlab
import helpers
from helpers import weights
from cnnlab import nn
from cnnlab.training import Callback, DivergedError, ModelCheckpoint, TerminateOnNaN


def small_net(seed=0):
    cnnlab.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(),
                         nn.Linear(4 * 7 * 7, 4))




def blobs(n=128, seed=0):
    return helpers.blobs(n, seed)


class NaNInputsFrom(Callback):
    """From (``epoch``, ``step``) on, the batches hold NaN: the loss turns NaN exactly there."""

    def __init__(self, x, epoch, step):
        self.x, self.at, self.epoch = x, (epoch, step), None
        self.seen = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            self.x[:] = np.nan
        self.seen[(self.epoch, batch)] = weights(self.model)


def test_a_nan_loss_raises_at_its_epoch_and_step_and_is_not_applied():
    x, y = blobs()
    model = small_net()
    spy = NaNInputsFrom(x, epoch=1, step=3)
    with pytest.raises(DivergedError) as error:
        cnnlab.fit(model, (x, y), epochs=3, batch_size=16, optimizer="sgd", lr=0.1, callbacks=[spy], verbose=False)
    assert (error.value.epoch, error.value.step, error.value.lr) == (1, 3, 0.1)
    assert isinstance(error.value, FloatingPointError)
    assert str(error.value) == ("training diverged at epoch 2/3, step 4/8: the loss is nan; "
                                "try a lower learning rate (this run's is 0.1)")
    before = spy.seen[(1, 3)]  # the weights and batch-norm statistics from before the step
    for key, value in weights(model).items():
        assert np.array_equal(value, before[key]), key


def test_a_huge_learning_rate_diverges_with_finite_weights_kept():
    x, y = blobs()
    cnnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 4))
    with pytest.raises(DivergedError, match=r"training diverged at epoch 1/2, step \d+/8: the loss is (nan|inf); "
                                            r"try a lower learning rate \(this run's is 1e\+10\)"):
        with np.errstate(all="ignore"):
            cnnlab.fit(model, (x, y), epochs=2, batch_size=16, optimizer="sgd", lr=1e10, verbose=False)
    assert all(np.isfinite(value).all() for value in weights(model).values())


def test_non_finite_weights_at_an_epochs_end_are_never_checkpointed(tmp_path):
    class Poison(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 7 and self.trainer.history.epoch == [0]:  # epoch 1's last step
                self.model[-1].bias.data[2] = np.inf

    x, y = blobs()
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(DivergedError, match=r"epoch 2/3, step 8/8: 5.bias is no longer finite"):
        cnnlab.fit(small_net(), (x, y), epochs=3, batch_size=16, verbose=False,
                   callbacks=[Poison(), ModelCheckpoint(path)])
    assert cnnlab.io.load_checkpoint(path, small_net(), cnnlab.optim.Adam(small_net().parameters())) == {"epoch": 0}


def test_terminate_on_nan_turns_the_error_into_a_quiet_stop():
    x, y = blobs()
    model = small_net()
    spy = NaNInputsFrom(x, epoch=0, step=2)
    history = cnnlab.fit(model, (x, y), epochs=3, batch_size=16, callbacks=[spy, TerminateOnNaN()], verbose=False)
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    for key, value in weights(model).items():
        assert np.array_equal(value, spy.seen[(0, 2)][key]), key


def test_stop_on_nonfinite_false_trains_on_as_keras_does():
    x, y = blobs()
    x[:16] = np.nan
    with np.errstate(all="ignore"):
        history = cnnlab.fit(small_net(), (x, y), epochs=2, batch_size=16, shuffle=False, verbose=False,
                             stop_on_nonfinite=False)
    assert history.epoch == [0, 1] and np.isnan(history.history["loss"]).all()


@pytest.mark.parametrize("lr,shown", [(float("inf"), "inf"), (float("nan"), "nan"), (0, "0"), (-1e-3, "-0.001")])
def test_fit_refuses_learning_rates_that_are_not_finite_and_positive(lr, shown):
    x, y = blobs(16)
    with pytest.raises(ValueError, match=f"^fit: lr must be a finite number > 0, got {shown}$"):
        cnnlab.fit(small_net(), (x, y), lr=lr, verbose=False)


def test_fit_refuses_empty_datasets():
    x, y = blobs(16)
    with pytest.raises(ValueError, match="^fit: train must be a dataset of at least one sample, got an empty dataset$"):
        cnnlab.fit(small_net(), (x[:0], y[:0]), verbose=False)
    with pytest.raises(ValueError, match="^fit: val must be a dataset of at least one sample, got an empty dataset$"):
        cnnlab.fit(small_net(), (x, y), val=(x[:0], y[:0]), verbose=False)
    with pytest.raises(ValueError, match="^fit: validation_split must be small enough to keep some of the 1 "
                                         "samples for training, got 0.5$"):
        cnnlab.fit(small_net(), (x[:1], y[:1]), validation_split=0.5, verbose=False)


# ------------------------------------------------------------------ the command
def cnnlab_train(*argv):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "cnnlab", "train", *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.parametrize("option,value", [("--lr", "inf"), ("--lr", "nan"), ("--lr", "-1"), ("--lr", "0"),
                                          ("--start-lr", "inf"), ("--end-lr", "nan")])
def test_the_command_refuses_learning_rates_that_are_not_finite_and_positive(option, value, tmp_path):
    command = "lr-find" if option != "--lr" else "train"
    done = subprocess.run([sys.executable, "-m", "cnnlab", command, option, value, "--out", str(tmp_path / "x")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"argument {option}: expected a finite positive float, got '{value}'" in done.stderr
    assert not (tmp_path / "x").exists()


FAST = ["--batch-size", "256", "--optimizer", "sgd", "--quiet"]


def test_the_command_stops_a_diverging_run_in_one_line_without_a_model_file(tmp_path):
    done = cnnlab_train(*FAST, "--lr", "1e6", "--out", tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("cnnlab train: training diverged at epoch 1/5, step ")
    assert done.stderr.endswith(": the loss is nan; try a lower learning rate (this run's is 1e+06); "
                                "no model file written; no checkpoint either\n")
    assert sorted(os.listdir(tmp_path)) == ["log.csv"]


def test_the_last_good_checkpoint_is_kept_when_a_resumed_run_diverges(tmp_path):
    assert cnnlab_train(*FAST, "--epochs", "1", "--out", tmp_path).returncode == 0
    checkpoint = (tmp_path / "checkpoint.safetensors").read_bytes()
    model = (tmp_path / "model.safetensors").read_bytes()
    done = cnnlab_train(*FAST, "--epochs", "2", "--lr", "1e6", "--out", tmp_path, "--resume")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("cnnlab train: training diverged at epoch 2/2, step ")
    assert done.stderr.endswith(f"no model file written; last good checkpoint: {tmp_path / 'checkpoint.safetensors'} "
                                f"(continue it with --resume and a lower --lr)\n")
    assert "--resume: --lr 1000000.0 replaces the checkpoint's default from here on" in done.stdout
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == checkpoint
    assert (tmp_path / "model.safetensors").read_bytes() == model
