"""The .keras archive: files cnnlab writes open in Keras 3 and files Keras 3 writes open in cnnlab, same outputs."""
import io
import json
import os
import sys
import warnings
import zipfile

import h5py
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402  (the oracle, on its torch backend)

from cnnlab import keras as ck  # noqa: E402
from cnnlab.keras import saving  # noqa: E402


# ------------------------------------------------------------------ the models, in both libraries
def convnet(lib):
    """The notes' Keras convnet (notes 004), built with ``lib`` (keras or cnnlab.keras)."""
    return lib.Sequential([
        lib.layers.Input(shape=(28, 28, 1)),
        lib.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        lib.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        lib.layers.MaxPooling2D(pool_size=(2, 2)),
        lib.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
        lib.layers.Conv2D(128, kernel_size=(3, 3), activation="relu"),
        lib.layers.GlobalAveragePooling2D(),
        lib.layers.Dropout(0.5),
        lib.layers.Dense(10, activation="softmax"),
    ])


def batchnorm_net(lib):
    """'same' padding, BatchNormalization, ReLU, AveragePooling2D, Activation, GlobalMaxPooling2D."""
    return lib.Sequential([
        lib.layers.Input(shape=(10, 10, 3)),
        lib.layers.Conv2D(8, 3, padding="same", use_bias=False),
        lib.layers.BatchNormalization(),
        lib.layers.ReLU(),
        lib.layers.AveragePooling2D(pool_size=2),
        lib.layers.Conv2D(6, (2, 3), padding="same", activation="tanh", kernel_initializer="he_normal"),
        lib.layers.Activation("sigmoid"),
        lib.layers.GlobalMaxPooling2D(),
        lib.layers.Dense(4, activation="softmax"),
    ], name="bn_net")


def conv1d_net(lib):
    """Conv1D, MaxPooling1D, Flatten."""
    return lib.Sequential([
        lib.layers.Input(shape=(12, 3)),
        lib.layers.Conv1D(5, 3, padding="same", activation="relu"),
        lib.layers.MaxPooling1D(pool_size=2),
        lib.layers.Flatten(),
        lib.layers.Dense(4, activation="softmax"),
    ])


MODELS = {"convnet": (convnet, (28, 28, 1)), "batchnorm_net": (batchnorm_net, (10, 10, 3)),
          "conv1d_net": (conv1d_net, (12, 3))}


def data(shape, n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 4, n)


def compile_and_step(model, lib):
    """Compile as the notes do and fit one batch, so BatchNormalization and the optimizer hold state."""
    model.compile(loss=lib.losses.SparseCategoricalCrossentropy(),
                  optimizer=lib.optimizers.Adam(learning_rate=1e-3),
                  metrics=[lib.metrics.SparseCategoricalAccuracy(name="acc")])
    x, y = data(model.input_shape[1:])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    return model


def keras_load(path):
    """``keras.saving.load_model``, failing on any warning (a skipped optimizer, a missing weight)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return keras.saving.load_model(path)


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# ------------------------------------------------------------------ Keras -> cnnlab
@pytest.mark.parametrize("name", MODELS)
def test_a_file_keras_wrote_loads_with_the_same_predictions(name, tmp_path):
    build, shape = MODELS[name]
    keras.utils.set_random_seed(0)
    original = compile_and_step(build(keras), keras)
    original.save(tmp_path / "m.keras")
    model = ck.models.load_model(tmp_path / "m.keras")
    x, _ = data(shape, seed=1)
    np.testing.assert_allclose(model.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert [layer.name for layer in model.layers] == [layer.name for layer in original.layers]
    assert model.name == original.name


def step_both(keras_model, cnnlab_model, shape):
    """One more full-batch step in each library from the same state; the weights they reach."""
    x, y = data(shape, seed=2)
    keras_model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    cnnlab_model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return keras_model.get_weights(), cnnlab_model.get_weights()


def test_a_keras_file_brings_its_compile_config_and_optimizer_state(tmp_path):
    keras.utils.set_random_seed(0)
    original = compile_and_step(batchnorm_net(keras), keras)
    original.save(tmp_path / "m.keras")
    model = ck.models.load_model(tmp_path / "m.keras")
    assert isinstance(model.optimizer, ck.optimizers.Adam) and model.optimizer.iterations == 1
    assert isinstance(model.compiled_loss, ck.losses.SparseCategoricalCrossentropy)
    assert [m.name for m in model.compiled_metrics] == ["acc"]
    for ours, theirs in zip(*step_both(original, model, (10, 10, 3))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_load_model_compile_false_gives_an_uncompiled_model(tmp_path):
    original = compile_and_step(conv1d_net(keras), keras)
    original.save(tmp_path / "m.keras")
    assert saving.load_model(tmp_path / "m.keras", compile=False).optimizer is None


def test_a_keras_file_saved_before_training_restores_the_step_count_only(tmp_path):
    original = conv1d_net(keras)
    original.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    original.save(tmp_path / "m.keras")
    model = ck.models.load_model(tmp_path / "m.keras")
    assert model.optimizer.iterations == 0 and model.optimizer.momentum == 0.5
    assert model.optimizer.learning_rate == pytest.approx(0.1)


# ------------------------------------------------------------------ cnnlab -> Keras
@pytest.mark.parametrize("name", MODELS)
def test_a_file_cnnlab_wrote_opens_in_keras_with_the_same_predictions(name, tmp_path):
    build, shape = MODELS[name]
    model = compile_and_step(build(ck), ck)
    model.save(tmp_path / "m.keras")
    loaded = keras_load(tmp_path / "m.keras")
    x, _ = data(shape, seed=1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    lines = []
    loaded.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    assert model.layers[0].name in "\n".join(lines)
    saved_state = [v.numpy() for v in loaded.optimizer.variables]
    assert int(saved_state[0]) == 1 and len(saved_state) == 2 + 2 * len(model.trainable_weights)


def test_keras_continues_training_a_cnnlab_file_as_cnnlab_does(tmp_path):
    model = compile_and_step(batchnorm_net(ck), ck)
    model.save(tmp_path / "m.keras")
    loaded = keras_load(tmp_path / "m.keras")
    for theirs, ours in zip(*step_both(loaded, model, (10, 10, 3))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "rmsprop_centered"])
def test_other_optimizers_state_reaches_keras(optimizer, tmp_path):
    model = conv1d_net(ck)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=ck.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd_momentum"
                  else ck.optimizers.RMSprop(momentum=0.5, centered=True))
    model.fit(*data((12, 3)), batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras_load(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == type(model.optimizer).__name__
    for theirs, ours in zip(*step_both(loaded, model, (12, 3))):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_an_uncompiled_model_opens_in_keras_uncompiled(tmp_path):
    model = batchnorm_net(ck)
    model.save(tmp_path / "m.keras")
    config = json.loads(members(tmp_path / "m.keras")["config.json"])
    assert config["compile_config"] == {}
    assert keras_load(tmp_path / "m.keras").compiled is False


# ------------------------------------------------------------------ cnnlab -> cnnlab, reproducibility
def test_round_trip_keeps_architecture_weights_and_optimizer_state(tmp_path):
    model = compile_and_step(convnet(ck), ck)
    model.save(tmp_path / "m.keras")
    loaded = ck.models.load_model(tmp_path / "m.keras")
    assert saving.model_config(loaded) == saving.model_config(model)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for ours, theirs in zip(model.optimizer.state, loaded.optimizer.state):
        assert ours.keys() == theirs.keys()
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key])


def test_the_same_model_gives_the_same_bytes(tmp_path):
    model = compile_and_step(batchnorm_net(ck), ck)
    model.save(tmp_path / "a.keras")
    model.save(tmp_path / "b.keras")
    ck.models.load_model(tmp_path / "a.keras").save(tmp_path / "c.keras")
    first = (tmp_path / "a.keras").read_bytes()
    assert (tmp_path / "b.keras").read_bytes() == first
    assert (tmp_path / "c.keras").read_bytes() == first


def test_the_archive_has_keras_members_stored_with_fixed_dates(tmp_path):
    batchnorm_net(ck).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["metadata.json", "config.json", "model.weights.h5"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
    metadata = json.loads(members(tmp_path / "m.keras")["metadata.json"])
    assert metadata == {"keras_version": saving.KERAS_VERSION, "date_saved": saving.DATE_SAVED}


def test_the_weights_sit_where_keras_puts_them(tmp_path):
    model = compile_and_step(batchnorm_net(ck), ck)
    model.save(tmp_path / "m.keras")
    with h5py.File(io.BytesIO(members(tmp_path / "m.keras")["model.weights.h5"]), "r") as h5:
        assert h5["layers/conv2d/vars"].attrs["name"] == model.layers[0].name
        assert [h5[f"layers/batch_normalization/vars/{i}"].shape for i in range(4)] == [(8,)] * 4
        assert h5["layers/conv2d_1/vars/0"].shape == (2, 3, 8, 6)
        assert h5["layers/re_lu/vars"].attrs["name"] == model.layers[2].name
        assert h5["optimizer/vars"].attrs["name"] == "adam" and len(h5["optimizer/vars"]) == 2 + 2 * 7
        assert h5["vars"].attrs["name"] == "bn_net"


# ------------------------------------------------------------------ weights files
def test_save_weights_and_load_weights_match_keras(tmp_path):
    ours = compile_and_step(batchnorm_net(ck), ck)
    theirs = batchnorm_net(keras)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    x, _ = data((10, 10, 3), seed=1)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    keras.utils.set_random_seed(3)
    other = batchnorm_net(keras)
    other.save_weights(tmp_path / "theirs.weights.h5")
    ours.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), other.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_load_weights_reads_a_keras_archive(tmp_path):
    original = compile_and_step(conv1d_net(keras), keras)
    original.save(tmp_path / "m.keras")
    model = conv1d_net(ck)
    model.load_weights(tmp_path / "m.keras")
    x, _ = data((12, 3), seed=1)
    np.testing.assert_allclose(model.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_load_weights_refuses_a_different_architecture(tmp_path):
    conv1d_net(ck).save_weights(tmp_path / "m.weights.h5")
    model = ck.Sequential([ck.layers.Input(shape=(12, 3)), ck.layers.Conv1D(7, 3), ck.layers.Flatten(),
                           ck.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"load_weights: layer 'conv1d\S*' \(layers/conv1d\): weight 0's shape "
                                         r"must be \(3, 3, 7\), got \(3, 3, 5\)"):
        model.load_weights(tmp_path / "m.weights.h5")


# ------------------------------------------------------------------ checkpoints
def test_model_checkpoint_writes_files_keras_opens(tmp_path):
    model = conv1d_net(ck)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    checkpoint = ck.callbacks.ModelCheckpoint(filepath=str(tmp_path / "model_at_epoch_{epoch}.keras"),
                                              monitor="loss")
    model.fit(*data((12, 3)), batch_size=4, epochs=2, verbose=0, callbacks=[checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_at_epoch_1.keras", "model_at_epoch_2.keras"]
    loaded = keras_load(tmp_path / "model_at_epoch_2.keras")
    x, _ = data((12, 3), seed=1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert int(loaded.optimizer.iterations.numpy()) == 4


# ------------------------------------------------------------------ refusals
def keras_file_with(tmp_path, edit):
    """A file Keras wrote for conv1d_net, its config.json changed by ``edit(config)``."""
    original = conv1d_net(keras)
    original.save(tmp_path / "m.keras")
    contents = members(tmp_path / "m.keras")
    config = json.loads(contents["config.json"])
    edit(config)
    contents["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as archive:
        for name, value in contents.items():
            archive.writestr(name, value)
    return tmp_path / "edited.keras"


def test_save_refuses_a_name_without_the_keras_suffix(tmp_path):
    model = conv1d_net(ck)
    with pytest.raises(ValueError, match=r"^save_model: filepath must be a path ending in '.keras', got '.*m.zip'$"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"ending in '.keras' \(Keras's legacy HDF5 files are not supported\)"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"^save_weights: filepath must be a path ending in '.weights.h5', got"):
        model.save_weights(tmp_path / "m.h5")
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_a_name_without_the_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"^load_model: filepath must be a path ending in '.keras', got '.*m.zip'$"):
        saving.load_model(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"^load_model: .* \(Keras's legacy HDF5 files are not supported\)"):
        saving.load_model(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"^load_weights: filepath must be a path ending in '.weights.h5' or "
                                         r"'.keras' \(Keras's legacy HDF5 files are not supported\), got '.*m.h5'$"):
        conv1d_net(ck).load_weights(tmp_path / "m.h5")


def test_load_refuses_a_file_that_is_not_an_archive(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"m.keras is not a .keras file \(not a zip archive\)"):
        saving.load_model(tmp_path / "m.keras")


def test_load_refuses_an_unknown_layer_class(tmp_path):
    def edit(config):
        config["config"]["layers"][1]["class_name"] = "Conv3D"

    with pytest.raises(ValueError, match=r"^load_model: the file holds a layer of class 'Conv3D', which cnnlab.keras "
                                         r"cannot build; supported: Conv1D, Conv2D"):
        saving.load_model(keras_file_with(tmp_path, edit))


def test_load_refuses_a_lambda_layer_without_running_it(tmp_path):
    model = keras.Sequential([keras.layers.Input(shape=(3,)), keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"class 'Lambda', which cnnlab.keras cannot build \(a Lambda layer holds "
                                         r"Python code, which cnnlab never runs from a file\)"):
        saving.load_model(tmp_path / "m.keras")


def test_load_refuses_a_custom_activation_function(tmp_path):
    def edit(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "module": "my_project.activations", "class_name": "function", "config": "swoosh",
            "registered_name": "function"}

    with pytest.raises(ValueError, match=r"^load_model: Conv1D '\w+': activation must be the name of one of Keras's "
                                         r"activations, got \{\"module\": \"my_project.activations\""):
        saving.load_model(keras_file_with(tmp_path, edit))


def test_load_refuses_a_custom_layer_module(tmp_path):
    def edit(config):
        config["config"]["layers"][1]["module"] = "my_project.layers"
        config["config"]["layers"][1]["registered_name"] = "MyProject>Conv1D"

    with pytest.raises(ValueError, match=r"every object must be one of Keras's own from keras.layers \(cnnlab never "
                                         r"loads custom objects or code from a file\)"):
        saving.load_model(keras_file_with(tmp_path, edit))


def test_load_refuses_a_setting_cnnlab_does_not_have(tmp_path):
    def edit(config):
        config["config"]["layers"][4]["config"]["quantization_config"] = {"mode": "int8"}

    with pytest.raises(ValueError, match=r"^load_model: Dense '\w+': quantization_config must be Keras's default "
                                         r"None \(cnnlab.keras has no other\), got \{'mode': 'int8'\}$"):
        saving.load_model(keras_file_with(tmp_path, edit))


def test_load_refuses_a_functional_model(tmp_path):
    inputs = keras.Input(shape=(3,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"^load_model: the file holds a Functional model; cnnlab.keras reads "
                                         r"Sequential models only"):
        saving.load_model(tmp_path / "m.keras")


def test_save_refuses_a_model_without_an_input_shape(tmp_path):
    model = ck.Sequential([ck.layers.Dense(2)], name="no_input")
    with pytest.raises(ValueError, match=r"^save_model: model 'no_input' has no input shape yet, got None; start it "
                                         r"with keras.Input\(shape=...\)"):
        model.save(tmp_path / "m.keras")


def test_without_h5py_both_directions_say_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    message = r"\.keras and \.weights\.h5 files need h5py; install it with pip install 'cnnlab\[keras\]'$"
    with pytest.raises(ImportError, match=r"^save_model: " + message):
        conv1d_net(ck).save(tmp_path / "m.keras")
    with pytest.raises(ImportError, match=r"^load_model: " + message):
        saving.load_model(tmp_path / "m.keras")


def test_load_weights_refuses_a_link_to_another_file(tmp_path):
    model = conv1d_net(ck)
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink("elsewhere.h5", "/secret")
    with pytest.raises(ValueError, match=r"^load_weights: layer '\w+' \(layers/dense\): 0 must be a dataset stored "
                                         r"in the file \(not a link to another\), got ExternalLink$"):
        model.load_weights(tmp_path / "m.weights.h5")
