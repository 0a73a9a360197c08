"""The fit loop and its callbacks: real training, reproducibility, resuming, early stopping."""
import csv

import numpy as np
import pytest

import cnnlab
import helpers
from helpers import weights
from cnnlab import nn
from cnnlab.data import MNISTSample
from cnnlab.training import (CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                             TerminateOnNaN)


def small_net(seed=0):
    cnnlab.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 7 * 7, 10)
    )




def blobs(n=240, seed=0):
    return helpers.blobs(n, seed)


def test_real_training_on_the_embedded_sample_reaches_90_percent():
    train, test = MNISTSample(train=True), MNISTSample(train=False)
    cnnlab.manual_seed(0)
    model = cnnlab.models.create("lenet5")
    history = cnnlab.fit(model, train, epochs=2, batch_size=32, seed=0, verbose=False)
    result = cnnlab.evaluate(model, test)
    assert result["accuracy"] >= 0.90, result
    assert history.history["loss"][1] < history.history["loss"][0]


def test_same_seed_gives_bit_identical_weights():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = small_net(seed=1)
        cnnlab.fit(model, (x, y), epochs=2, batch_size=32, seed=5, verbose=False)
        runs.append(weights(model))
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_resumed_run_ends_with_the_uninterrupted_weights(tmp_path):
    x, y = blobs()
    uninterrupted = small_net()
    cnnlab.fit(uninterrupted, (x, y), epochs=4, batch_size=32, seed=3, validation_split=0.2, verbose=False)

    path = tmp_path / "ckpt.safetensors"
    first = small_net()
    cnnlab.fit(first, (x, y), epochs=2, batch_size=32, seed=3, validation_split=0.2, verbose=False,
               callbacks=[ModelCheckpoint(path)])
    resumed = small_net(seed=99)  # different initial weights: everything must come from the checkpoint
    history = cnnlab.fit(resumed, (x, y), epochs=4, batch_size=32, seed=3, validation_split=0.2, verbose=False,
                         resume_from=path)
    assert history.epoch == [0, 1, 2, 3]
    expected = weights(uninterrupted)
    for key, value in weights(resumed).items():
        np.testing.assert_array_equal(value, expected[key])


def test_early_stopping_restores_the_best_weights():
    x, y = blobs()
    model = small_net()
    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    # lr so large that validation loss gets worse after the first epoch
    cnnlab.fit(model, (x, y), epochs=30, batch_size=16, optimizer="sgd", lr=3.0, val=blobs(64, seed=1),
               callbacks=[stopper], verbose=False)
    assert stopper.stopped_epoch is not None and stopper.stopped_epoch < 29
    assert stopper.best_epoch < stopper.stopped_epoch


def test_early_stopping_warns_with_available_metrics():
    x, y = blobs(64)
    with pytest.warns(UserWarning, match="val_acuracy.*available metrics are: accuracy, loss, lr"):
        cnnlab.fit(small_net(), (x, y), epochs=1, callbacks=[EarlyStopping(monitor="val_acuracy")], verbose=False)


def test_checkpoint_best_only_and_csv_log(tmp_path):
    x, y = blobs()
    best = ModelCheckpoint(tmp_path / "best-{epoch:02d}.safetensors", monitor="val_accuracy", save_best_only=True)
    log = tmp_path / "log.csv"
    cnnlab.fit(small_net(), (x, y), epochs=3, batch_size=32, validation_split=0.25, seed=0, verbose=False,
               callbacks=[best, CSVLogger(log)])
    assert best.last_saved is not None and best.last_saved.endswith(".safetensors")
    rows = list(csv.DictReader(open(log)))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]  # as the console counts: epoch 1/3 ...
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])


def test_learning_rate_callbacks():
    x, y = blobs(64)
    model = small_net()
    optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    schedule = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    recorder = type("Recorder", (cnnlab.training.Callback,), {
        "on_epoch_end": lambda self, epoch, logs: seen.append(logs["lr"])})()
    cnnlab.fit(model, (x, y), epochs=3, optimizer=optimizer, callbacks=[schedule, recorder], verbose=False)
    assert seen == pytest.approx([0.1, 0.05, 0.025])

    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)  # never "improves"
    optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.1)
    cnnlab.fit(model, (x, y), epochs=3, optimizer=optimizer, callbacks=[plateau], verbose=False)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 2)


def test_terminate_on_nan_stops_at_once():
    x, y = blobs(64)
    x[:] = np.nan
    history = cnnlab.fit(small_net(), (x, y), epochs=5, batch_size=16, callbacks=[TerminateOnNaN()], verbose=False)
    assert len(history.epoch) == 1


def test_predict_and_evaluate_shapes():
    x, y = blobs(50)
    model = small_net()
    assert cnnlab.predict(model, x).shape == (50, 10)
    result = cnnlab.evaluate(model, (x, y))
    assert set(result) == {"loss", "accuracy"} and 0 <= result["accuracy"] <= 1


def test_bad_arguments_name_themselves():
    x, y = blobs(16)
    with pytest.raises(ValueError, match="loss must be .* got loss='hinge'"):
        cnnlab.fit(small_net(), (x, y), loss="hinge", verbose=False)
    with pytest.raises(ValueError, match="optimizer must be .* got optimizer='adagrad'"):
        cnnlab.fit(small_net(), (x, y), optimizer="adagrad", verbose=False)
    with pytest.raises(ValueError, match="validation_split must be in \\(0, 1\\), got validation_split=1.5"):
        cnnlab.fit(small_net(), (x, y), validation_split=1.5, verbose=False)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        cnnlab.fit(small_net(), (x, y), metrics=("f1",), verbose=False)


def test_lr_finder_suggests_a_rate_and_restores_weights():
    x, y = blobs()
    model = small_net()
    before = weights(model)
    result = cnnlab.find_lr(model, (x, y), num_iter=60, start_lr=1e-5, end_lr=10, batch_size=16)
    assert 1e-5 <= result.suggestion <= 10
    assert len(result.lrs) == len(result.losses) <= 60
    for key, value in weights(model).items():
        np.testing.assert_array_equal(value, before[key])
