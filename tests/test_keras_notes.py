"""The notes' Keras convnet (notes 004) on a few hundred real MNIST digits.

Changed from the notes: the import, ``epochs = 2``, and the loss's name. The notes
write ``SparseCategoricalCrossEntropy``, which Keras has never had (it fails there
too); cnnlab refuses it with the right name, which the test checks first.
"""
import os

import numpy as np
import pytest

from cnnlab.data import MNISTSample, write_idx


def _write_mnist_folder(folder, n_train=300, n_test=60):
    """A random few of cnnlab's embedded MNIST digits as the four IDX files ``load_data`` reads."""
    os.makedirs(folder, exist_ok=True)
    for prefix, train, n in (("train", True, n_train), ("t10k", False, n_test)):
        sample = MNISTSample(train=train)
        order = np.random.default_rng(0).permutation(len(sample.targets))[:n]
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), sample.data[order, 0])
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), sample.targets[order].astype(np.uint8))


def test_notes_keras_convnet_runs(tmp_path, monkeypatch, capsys):
    _write_mnist_folder(tmp_path / "data" / "mnist")
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    from cnnlab import keras

    with pytest.raises(AttributeError, match="did you mean 'SparseCategoricalCrossentropy'"):
        keras.losses.SparseCategoricalCrossEntropy()

    # ---- the notes' code, with `from cnnlab import keras`, epochs = 2 and the loss's name corrected
    import numpy as np
    from cnnlab import keras

    # Load the data and split it between train and test sets
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

    # Scale images to the [0, 1] range
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    # Make sure images have shape (28, 28, 1)
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    print("x_train shape:", x_train.shape)
    print("y_train shape:", y_train.shape)
    print(x_train.shape[0], "train samples")
    print(x_test.shape[0], "test samples")

    # Model parameters
    num_classes = 10
    input_shape = (28, 28, 1)

    model = keras.Sequential(
        [
            keras.layers.Input(shape=input_shape),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
            keras.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(),
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="acc"),
        ],
    )

    # Train
    batch_size = 128
    epochs = 2

    callbacks = [
        keras.callbacks.ModelCheckpoint(filepath="model_at_epoch_{epoch}.keras"),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
    ]

    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=0.15,
        callbacks=callbacks,
    )
    score = model.evaluate(x_test, y_test, verbose=0)

    # Save model
    model.save("final_model.keras")

    # Predict
    predictions = model.predict(x_test)
    # ---- end of the notes' code

    out = capsys.readouterr().out
    assert "x_train shape: (300, 28, 28, 1)" in out and "Epoch 2/2" in out
    assert list(model.history.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert len(score) == 2 and 0 <= score[1] <= 1
    assert predictions.shape == (60, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["data", "final_model.keras", "model_at_epoch_1.keras",
                                            "model_at_epoch_2.keras"]
    restored = keras.models.load_model("final_model.keras")
    np.testing.assert_allclose(restored.predict(x_test, verbose=0), predictions, rtol=1e-5, atol=1e-6)
