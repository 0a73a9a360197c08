"""cnnlab.keras against Keras 3 on its torch backend: layers, training steps, evaluate/predict, callbacks."""
import csv
import os

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab  # noqa: E402
from cnnlab import keras as ck  # noqa: E402


def _numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, cnnlab.Tensor) else value.numpy()


def _pair(make, input_shape, seed=0, training=False):
    """The same layer in Keras and cnnlab, Keras's initial weights copied over; both outputs."""
    x = np.random.default_rng(seed).standard_normal(input_shape).astype("float32")
    theirs, ours = make(keras.layers), make(ck.layers)
    expected = _numpy(theirs(x, training=training))
    ours(x)   # builds the weights
    ours.set_weights(theirs.get_weights())
    return _numpy(ours(x, training=training)), expected, ours, theirs


LAYERS = {
    "conv2d_valid": (lambda L: L.Conv2D(4, (3, 3), activation="relu"), (2, 9, 8, 3)),
    "conv2d_same_odd": (lambda L: L.Conv2D(4, 3, padding="same"), (2, 7, 8, 3)),
    "conv2d_same_even": (lambda L: L.Conv2D(4, (4, 2), padding="SAME"), (2, 7, 8, 3)),
    "conv2d_stride": (lambda L: L.Conv2D(5, 3, strides=2), (2, 9, 8, 3)),
    "conv2d_same_stride2_odd": (lambda L: L.Conv2D(4, 3, strides=2, padding="same"), (2, 9, 8, 3)),
    "conv2d_same_stride2_even": (lambda L: L.Conv2D(4, 4, strides=(2, 3), padding="same"), (2, 9, 8, 3)),
    "conv2d_dilated": (lambda L: L.Conv2D(4, 3, dilation_rate=2, padding="same"), (2, 9, 8, 3)),
    "conv2d_groups": (lambda L: L.Conv2D(4, 3, groups=2, use_bias=False), (2, 6, 6, 4)),
    "conv2d_channels_first": (lambda L: L.Conv2D(4, (3, 2), data_format="channels_first", activation="tanh"),
                              (2, 3, 7, 6)),
    "conv1d_valid": (lambda L: L.Conv1D(4, 3, activation="sigmoid"), (2, 10, 3)),
    "conv1d_same_even": (lambda L: L.Conv1D(4, 4, padding="same"), (2, 10, 3)),
    "conv1d_causal": (lambda L: L.Conv1D(4, 3, padding="causal", dilation_rate=2), (2, 10, 3)),
    "conv1d_stride": (lambda L: L.Conv1D(4, 3, strides=2), (2, 11, 3)),
    "maxpool2d": (lambda L: L.MaxPooling2D((2, 2)), (2, 9, 8, 3)),
    "maxpool2d_same": (lambda L: L.MaxPooling2D(3, strides=2, padding="same"), (2, 9, 8, 3)),
    "maxpool2d_same_even": (lambda L: L.MaxPooling2D(2, padding="same"), (2, 7, 8, 3)),
    "maxpool2d_channels_first": (lambda L: L.MaxPooling2D(2, data_format="channels_first"), (2, 3, 7, 8)),
    "maxpool1d": (lambda L: L.MaxPooling1D(3, strides=1), (2, 9, 3)),
    "maxpool1d_same": (lambda L: L.MaxPooling1D(2, padding="same"), (2, 9, 3)),
    "avgpool2d": (lambda L: L.AveragePooling2D((2, 3)), (2, 9, 8, 3)),
    "avgpool2d_same_symmetric": (lambda L: L.AveragePooling2D(3, strides=1, padding="same"), (2, 5, 6, 3)),
    "global_avg": (lambda L: L.GlobalAveragePooling2D(), (2, 5, 6, 3)),
    "global_avg_keepdims": (lambda L: L.GlobalAveragePooling2D(keepdims=True), (2, 5, 6, 3)),
    "global_max": (lambda L: L.GlobalMaxPooling2D(), (2, 5, 6, 3)),
    "global_max_channels_first": (lambda L: L.GlobalMaxPooling2D(data_format="channels_first"), (2, 3, 5, 6)),
    "flatten": (lambda L: L.Flatten(), (2, 4, 5, 3)),
    "flatten_channels_first": (lambda L: L.Flatten(data_format="channels_first"), (2, 3, 4, 5)),
    "dense": (lambda L: L.Dense(7, activation="softmax"), (3, 5)),
    "dense_3d": (lambda L: L.Dense(4, use_bias=False), (2, 3, 5)),
    "activation": (lambda L: L.Activation("softmax"), (3, 6)),
    "relu": (lambda L: L.ReLU(), (3, 6)),
    "relu_options": (lambda L: L.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), (3, 6)),
    "batchnorm": (lambda L: L.BatchNormalization(), (4, 3, 3, 5)),
    "batchnorm_axis1": (lambda L: L.BatchNormalization(axis=1, center=False), (4, 5, 3, 3)),
    "dropout_inference": (lambda L: L.Dropout(0.5), (3, 6)),
}


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_matches_keras_in_inference(case):
    make, shape = LAYERS[case]
    ours, theirs, _, _ = _pair(make, shape)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis, shape", [(-1, (6, 3, 3, 5)), (1, (6, 5, 4))])
def test_batchnorm_training_output_and_moving_statistics_match_keras(axis, shape):
    make = lambda L: L.BatchNormalization(axis=axis, momentum=0.9)  # noqa: E731
    ours, theirs, layer, keras_layer = _pair(make, shape, training=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    keras_layer(x, training=True)   # the second step from the same moving statistics in both
    layer.set_weights(keras_layer.get_weights()[:2] + layer.get_weights()[2:])
    for mine, reference in zip(layer.get_weights()[2:], keras_layer.get_weights()[2:]):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def _average_pool_same_reference(x, k, s):
    """TensorFlow's 'same' average pooling of (N, H, W, C): the mean of the real cells of each window."""
    out_h, out_w = -(-x.shape[1] // s[0]), -(-x.shape[2] // s[1])
    pad_h = max((out_h - 1) * s[0] + k[0] - x.shape[1], 0) // 2
    pad_w = max((out_w - 1) * s[1] + k[1] - x.shape[2], 0) // 2
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]), x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            top, left = max(i * s[0] - pad_h, 0), max(j * s[1] - pad_w, 0)
            window = x[:, top:i * s[0] - pad_h + k[0], left:j * s[1] - pad_w + k[1]]
            out[:, i, j] = window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("pool_size, strides, shape", [((3, 3), (2, 2), (2, 9, 8, 3)), ((2, 2), (1, 1), (1, 5, 6, 2)),
                                                        ((4, 3), (3, 2), (2, 10, 7, 1))])
def test_average_pooling_same_excludes_padding_as_tensorflow(pool_size, strides, shape):
    # Keras's torch backend pads asymmetric 'same' windows by replicating the edge; TensorFlow (Keras's
    # reference semantics) averages the real cells only, and so does cnnlab.
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = ck.layers.AveragePooling2D(pool_size, strides=strides, padding="same")
    np.testing.assert_allclose(layer(x).numpy(), _average_pool_same_reference(x, pool_size, strides), rtol=1e-5,
                               atol=1e-6)


def test_dropout_rate_zero_training_is_identity_and_rate_scales_survivors():
    x = np.ones((50, 40), "float32")
    assert np.array_equal(ck.layers.Dropout(0.0)(x, training=True).numpy(), x)
    out = ck.layers.Dropout(0.25, seed=1)(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.15 < (out == 0).mean() < 0.35


def test_ops_conv_matches_keras():
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((2, 8, 7, 4)).astype("float32"), rng.standard_normal((3, 2, 2, 6)).astype("float32")
    for padding in ("valid", "same"):
        expected = _numpy(keras.ops.conv(x, k, strides=1, padding=padding))
        np.testing.assert_allclose(ck.ops.conv(x, k, 1, padding).numpy(), expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ models
def _model(L, optimizer_seed=None):
    return [L.Input(shape=(8, 8, 2)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(momentum=0.9),
            L.MaxPooling2D(), L.Conv2D(6, 2, padding="same"), L.Flatten(), L.Dropout(0.0),
            L.Dense(3, activation="softmax")]


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 8, 8, 2)).astype("float32"), rng.integers(0, 3, n)


def _twins(optimizer_name, seed=0, **options):
    keras.utils.set_random_seed(seed)
    theirs = keras.Sequential(_model(keras.layers))
    ours = ck.Sequential(_model(ck.layers))
    ours.set_weights(theirs.get_weights())
    theirs.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                   optimizer=getattr(keras.optimizers, optimizer_name)(**options),
                   metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    ours.compile(loss=ck.losses.SparseCategoricalCrossentropy(),
                 optimizer=getattr(ck.optimizers, optimizer_name)(**options),
                 metrics=[ck.metrics.SparseCategoricalAccuracy(name="acc")])
    return ours, theirs


OPTIMIZERS = [("Adam", {}), ("Adam", {"learning_rate": 0.01, "amsgrad": True}), ("SGD", {}),
              ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}), ("RMSprop", {}),
              ("RMSprop", {"momentum": 0.5, "centered": True})]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}-{o}" for n, o in OPTIMIZERS])
def test_fit_from_the_same_weights_gives_keras_weights_and_history(name, options, seed):
    ours, theirs = _twins(name, seed, **options)
    x, y = _data()
    kwargs = dict(batch_size=8, epochs=2, shuffle=False, validation_split=0.25, verbose=0)
    expected = theirs.fit(x, y, **kwargs).history
    history = ours.fit(x, y, **kwargs).history
    assert list(history) == list(expected)
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=2e-4, atol=1e-5, err_msg=key)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=2e-4, atol=2e-5)


def test_one_step_from_the_same_weights_gives_keras_weights():
    ours, theirs = _twins("Adam", learning_rate=0.1)
    x, y = _data(8)
    theirs.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-6)


def test_evaluate_and_predict_match_keras():
    ours, theirs = _twins("Adam")
    x, y = _data(30, seed=3)
    np.testing.assert_allclose(ours.evaluate(x, y, batch_size=7, verbose=0),
                               theirs.evaluate(x, y, batch_size=7, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(ours.predict(x, batch_size=7, verbose=0), theirs.predict(x, batch_size=7, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert ours.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "acc"}


def test_losses_match_keras_with_and_without_logits():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype("float32")
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    probabilities[0] = [1.0, 0.0, 0.0, 0.0]   # exercises the clipping
    labels = np.array([1, 0, 3, 2, 2, 1])
    one_hot = np.eye(4, dtype="float32")[labels]
    for predictions, from_logits in ((probabilities, False), (logits, True)):
        for name, target in (("SparseCategoricalCrossentropy", labels), ("CategoricalCrossentropy", one_hot)):
            expected = _numpy(getattr(keras.losses, name)(from_logits=from_logits)(target, predictions))
            got = getattr(ck.losses, name)(from_logits=from_logits)(target, cnnlab.tensor(predictions)).item()
            np.testing.assert_allclose(got, expected, rtol=1e-5, err_msg=f"{name} from_logits={from_logits}")


def test_accuracy_string_is_resolved_and_history_keys_match_keras():
    x, y = _data(20)
    theirs = keras.Sequential(_model(keras.layers))
    ours = ck.Sequential(_model(ck.layers))
    for model in (theirs, ours):
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    expected = theirs.fit(x, y, epochs=1, validation_data=(x, y), verbose=0).history
    assert list(ours.fit(x, y, epochs=1, validation_data=(x, y), verbose=0).history) == list(expected)
    assert isinstance(ours.evaluate(x, y, verbose=0), list)


def test_evaluate_without_metrics_returns_a_float():
    model = ck.Sequential([ck.Input((3,)), ck.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    assert isinstance(model.evaluate(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0), float)


def test_validation_split_takes_the_last_rows_before_shuffling():
    seen = []
    model = ck.Sequential([ck.Input((1,)), ck.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    model.call = lambda inputs, training=False: (seen.append((training, inputs.numpy().ravel().tolist())),
                                                 ck.Sequential.call(model, inputs, training))[1]
    x = np.arange(10, dtype="float32")[:, None]
    model.fit(x, np.zeros(10, int), batch_size=10, epochs=1, validation_split=0.2, verbose=0)
    assert sorted(seen[0][1]) == list(range(8)) and seen[0][0] is True
    assert seen[1] == (False, [8.0, 9.0])


def test_verbose_two_prints_one_line_per_epoch(capsys):
    ours, _ = _twins("Adam")
    x, y = _data(16)
    ours.fit(x, y, batch_size=8, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("2/2 - ") and " - acc: " in lines[1] and " - loss: " in lines[1]


def test_set_random_seed_makes_fit_reproducible():
    results = []
    for _ in range(2):
        ck.utils.set_random_seed(5)
        model = ck.Sequential(_model(ck.layers))
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
        results.append(model.get_weights())
    for first, second in zip(*results):
        assert np.array_equal(first, second)


# --------------------------------------------------------------- callbacks
def _stalled_model(L=ck.layers, framework=ck):
    """A model whose learning rate is 0, so no loss ever improves."""
    model = framework.Sequential([L.Input((8, 8, 2)), L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=framework.optimizers.SGD(learning_rate=0.0),
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("patience", [0, 1, 3])
def test_early_stopping_waits_patience_epochs_as_keras(patience):
    x, y = _data(20)
    runs = []
    for framework in (keras, ck):
        stopper = framework.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
        history = _stalled_model(framework.layers, framework).fit(x, y, epochs=10, validation_split=0.2,
                                                                  callbacks=[stopper], verbose=0)
        runs.append((history.epoch, stopper.stopped_epoch))
    assert runs[1] == runs[0] == (list(range(max(patience, 1) + 1)), max(patience, 1))


def test_early_stopping_restores_the_best_weights():
    model = ck.Sequential(_model(ck.layers))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=ck.optimizers.SGD(learning_rate=5.0))
    x, y = _data(20)
    snapshots = []
    record = ck.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(
        (logs["val_loss"], model.get_weights())))
    stopper = ck.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    model.fit(x, y, epochs=6, validation_split=0.2, callbacks=[record, stopper], verbose=0)
    best = min(snapshots, key=lambda s: s[0])[1]
    for restored, expected in zip(model.get_weights(), best):
        assert np.array_equal(restored, expected)


@pytest.mark.parametrize("cooldown", [0, 1])
def test_reduce_lr_on_plateau_cuts_the_rate_and_logs_it_as_keras(cooldown):
    runs = []
    for framework in (keras, ck):
        model = _stalled_model(framework.layers, framework)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=framework.optimizers.Adam(learning_rate=0.5))
        reducer = framework.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0,
                                                        cooldown=cooldown, min_lr=0.07)
        history = model.fit(*_data(16), epochs=6, callbacks=[reducer], verbose=0)
        final = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        runs.append((history.history["learning_rate"], final))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-6)
    assert runs[1][1] == pytest.approx(runs[0][1], rel=1e-6)
    assert runs[1][0][0] == 0.5 and runs[1][1] == pytest.approx(0.07)


def test_csv_logger_writes_epoch_and_sorted_columns(tmp_path):
    path = tmp_path / "log.csv"
    model = _stalled_model()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(*_data(20), epochs=2, validation_split=0.2, callbacks=[ck.callbacks.CSVLogger(path)], verbose=0)
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1"]
    model.fit(*_data(20), epochs=1, callbacks=[ck.callbacks.CSVLogger(path, append=True)], verbose=0)
    with open(path, newline="") as file:
        assert len(list(csv.reader(file))) == 4


def test_model_checkpoint_formats_epoch_and_logs_into_the_path(tmp_path, monkeypatch):
    saved = []
    model = _stalled_model()
    monkeypatch.setattr(model, "save", lambda path: saved.append(path))
    checkpoints = [ck.callbacks.ModelCheckpoint(str(tmp_path / "model_at_epoch_{epoch}.keras")),
                   ck.callbacks.ModelCheckpoint(str(tmp_path / "best_{epoch:02d}_{val_loss:.1f}.keras"),
                                                save_best_only=True)]
    model.fit(*_data(20), epochs=3, validation_split=0.2, callbacks=checkpoints, verbose=0)
    names = [os.path.basename(path) for path in saved]
    assert [n for n in names if n.startswith("model_at")] == [f"model_at_epoch_{e}.keras" for e in (1, 2, 3)]
    best = [n for n in names if n.startswith("best_")]
    assert best[0].startswith("best_01_") and len(best) == 1   # lr 0: val_loss never improves after epoch 1


def test_model_checkpoint_refuses_a_wrong_suffix():
    with pytest.raises(ValueError, match=r"ModelCheckpoint: filepath must end in \.keras or \.h5"):
        ck.callbacks.ModelCheckpoint("model.ckpt")


# ---------------------------------------------------------- names, errors
def test_misspelt_names_suggest_the_right_one():
    with pytest.raises(AttributeError, match="did you mean 'SparseCategoricalCrossentropy'"):
        ck.losses.SparseCategoricalCrossEntropy()
    with pytest.raises(AttributeError, match="did you mean 'MaxPooling2D'"):
        ck.layers.MaxPool2d
    with pytest.raises(AttributeError, match="did you mean 'Sequential'"):
        ck.Sequental


def test_layer_names_count_per_class_as_keras():
    ck.utils.clear_session()
    model = ck.Sequential([ck.Input((8, 8, 1)), ck.layers.Conv2D(2, 3), ck.layers.Conv2D(2, 3),
                           ck.layers.MaxPooling2D(), ck.layers.Flatten(), ck.layers.Dense(2)])
    assert [layer.name for layer in model.layers] == ["conv2d", "conv2d_1", "max_pooling2d", "flatten", "dense"]
    assert model.name == "sequential"
    with pytest.raises(ValueError, match="unique names; 'dense' is already"):
        model.add(ck.layers.Dense(2, name="dense"))


def test_config_rebuilds_the_layer_and_weights_follow_keras_layout():
    conv = ck.layers.Conv2D(8, 3, strides=(2, 1), padding="Same", activation=None, name="c")
    config = conv.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 1) and config["padding"] == "same"
    assert config["activation"] == "linear" and config["kernel_initializer"] == "glorot_uniform"
    assert config["data_format"] == "channels_last"
    assert type(conv)(**config).get_config() == config
    conv(np.zeros((1, 5, 5, 3)))
    assert [tuple(w.shape) for w in conv.weights] == [(3, 3, 3, 8), (8,)]
    bn = ck.layers.BatchNormalization()
    bn(np.zeros((2, 4)))
    assert [w.requires_grad for w in bn.weights] == [True, True, False, False]
    dense = ck.layers.Dense(3)
    assert not dense.built and dense.weights == []
    dense(np.zeros((1, 5)))
    assert dense.built and [tuple(w.shape) for w in dense.weights] == [(5, 3), (3,)]


def test_model_contract_input_layer_and_compile_config():
    model = ck.Sequential([ck.Input((4,), name="pixels"), ck.layers.Dense(2)], name="net")
    assert model.built and model.input_layer.batch_shape == (None, 4) and model.input_layer.name == "pixels"
    assert len(model.layers) == 1 and model.name == "net"
    loss = ck.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    assert model.loss is loss and isinstance(model.optimizer, ck.optimizers.Adam)
    assert model.get_compile_config()["metrics"] == ["accuracy"]
    assert model.optimizer.epsilon == 1e-7 and model.optimizer.learning_rate == 0.001


def test_summary_prints_keras_table(capsys):
    model = ck.Sequential([ck.Input((8, 8, 1)), ck.layers.Conv2D(4, 3, name="c"), ck.layers.Flatten(name="f"),
                           ck.layers.Dense(2, name="d")], name="m")
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "m"' in text and "Layer (type)" in text and "Param #" in text
    assert "c (Conv2D)" in text and "(None, 6, 6, 4)" in text and "290" in text
    assert " Total params: 330 (1.29 KB)" in text and " Non-trainable params: 0 (0.00 B)" in text


def test_argument_errors_name_the_argument_and_value():
    with pytest.raises(ValueError, match="Conv2D: padding must be 'valid' or 'same', got 'full'"):
        ck.layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="Dense: activation must be None or one of .*did you mean 'relu'"):
        ck.layers.Dense(4, activation="rleu")
    with pytest.raises(ValueError, match=r"Dropout: rate must be a real number in \[0, 1\], got 1.5"):
        ck.layers.Dropout(1.5)
    with pytest.raises(RuntimeError, match="fit: you must compile the model"):
        ck.Sequential([ck.Input((2,)), ck.layers.Dense(1)]).fit(np.ones((2, 2)), np.ones(2))
