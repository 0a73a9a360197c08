"""Model files: safetensors + JSON architecture, atomic writes, PyTorch interop, no pickle."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import OrderedDict

import numpy as np
import pytest

import cnnlab
from cnnlab import nn


def net():
    cnnlab.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_save_and_load_rebuild_the_model_without_code(tmp_path):
    model = net()
    model.train()
    model(cnnlab.randn(8, 1, 8, 8))  # move the batch-norm running statistics
    model.eval()
    path = tmp_path / "m.safetensors"
    cnnlab.save(model, path, info={"classes": ["a", "b", "c"]})
    loaded = cnnlab.load(path)
    loaded.eval()
    x = cnnlab.randn(2, 1, 8, 8)
    np.testing.assert_array_equal(loaded(x).array, model(x).array)
    assert repr(loaded) == repr(model)
    assert cnnlab.io.read_info(path) == {"classes": ["a", "b", "c"]}


@pytest.mark.parametrize("name", cnnlab.models.names())
def test_every_zoo_model_round_trips(name, tmp_path):
    model = cnnlab.models.create(name)
    cnnlab.save(model, tmp_path / "m.safetensors")
    loaded = cnnlab.load(tmp_path / "m.safetensors")
    assert type(loaded) is type(model)
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(a.array, b.array)


def test_weights_file_loads_in_torch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    model = net()
    model.eval()
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3)).eval()
    path = tmp_path / "m.safetensors"
    cnnlab.save(model, path)
    twin.load_state_dict(load_file(path))  # strict: every key and shape matches
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(twin(torch.tensor(x)).detach().numpy(), model(cnnlab.Tensor(x)).array, rtol=1e-5,
                               atol=1e-6)

    for p in twin.parameters():  # torch changes the weights; cnnlab reads them back
        p.data.mul_(0.5)
    torch_path = tmp_path / "from_torch.safetensors"
    save_file(twin.state_dict(), torch_path)
    back = cnnlab.load(torch_path, model=net())  # a plain weights file, given the model to fill
    back.eval()
    np.testing.assert_allclose(back(cnnlab.Tensor(x)).array, twin(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_loading_rejects_other_files_with_a_message(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04this is a pickle, not safetensors")
    with pytest.raises(ValueError, match="bad.safetensors is not a readable cnnlab/safetensors file"):
        cnnlab.load(bad)
    truncated = tmp_path / "cut.safetensors"
    cnnlab.save(net(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(ValueError, match="cut.safetensors is not a readable"):
        cnnlab.load(truncated)
    with pytest.raises(FileNotFoundError):
        cnnlab.load(tmp_path / "missing.safetensors")


def test_architecture_names_only_cnnlab_classes(tmp_path):
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)

    path = tmp_path / "custom.safetensors"
    cnnlab.save(Custom(), path)
    with pytest.raises(ValueError, match="class 'Custom', which is not one of cnnlab's"):
        cnnlab.load(path)
    loaded = cnnlab.load(path, model=Custom())
    assert loaded.fc.weight.shape == (2, 2)


class Scaled(nn.Module):
    """A layer whose constructor takes a function: JSON cannot describe it."""

    def __init__(self, features, activation=np.tanh):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.activation = activation

    def forward(self, x):
        return self.fc(x)


UNDESCRIBABLE = ("save: Scaled's constructor argument activation holds a value of type ufunc, which JSON cannot "
                 "describe, so load(path) could not rebuild the model; make the argument JSON-describable (None, "
                 "a bool, number or string, a cnnlab module, or a list, tuple or dict of these), or pass "
                 "architecture=False to save the weights only and load them with load(path, model=...)")


@pytest.mark.parametrize("make", [lambda: Scaled(2, np.tanh), lambda: Scaled(2, activation=np.tanh),
                                  lambda: nn.Sequential(nn.Flatten(), Scaled(2, np.tanh))])
def test_saving_an_undescribable_model_names_the_argument_and_the_way_out(make, tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError) as caught:
        cnnlab.save(make(), path)
    assert str(caught.value) == UNDESCRIBABLE
    assert not path.exists()


def test_architecture_false_writes_weights_that_load_into_an_instance(tmp_path):
    path = tmp_path / "weights.safetensors"
    model = Scaled(2, np.tanh)
    cnnlab.save(model, path, architecture=False)
    with pytest.raises(ValueError) as caught:
        cnnlab.load(path)
    assert str(caught.value) == (f"load: {path} holds weights only (saved with architecture=False, or a checkpoint "
                                 f"of a model JSON cannot describe); pass model= to load them into an instance")
    loaded = cnnlab.load(path, model=Scaled(2))
    np.testing.assert_array_equal(loaded.fc.weight.array, model.fc.weight.array)
    cnnlab.save(net(), path, architecture=False)  # describable too: still weights only, as asked
    with pytest.raises(ValueError, match="holds weights only"):
        cnnlab.load(path)


def test_a_checkpoint_of_an_undescribable_model_holds_weights_and_resumes(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = Scaled(2, np.tanh)
    optimizer = cnnlab.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cnnlab.randn(3, 2)).sum().backward()
    optimizer.step()
    cnnlab.io.save_checkpoint(path, model, optimizer, epoch=2)
    again = Scaled(2, np.tanh)
    optimizer2 = cnnlab.optim.SGD(again.parameters(), lr=0.5, momentum=0.9)
    assert cnnlab.io.load_checkpoint(path, again, optimizer2) == {"epoch": 2}
    np.testing.assert_array_equal(again.fc.weight.array, model.fc.weight.array)
    assert optimizer2.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="holds weights only"):
        cnnlab.load(path)


def test_checkpoint_restores_optimizer_state(tmp_path):
    model = net()
    optimizer = cnnlab.optim.Adam(model.parameters(), lr=0.01)
    x = cnnlab.randn(4, 1, 8, 8)
    for _ in range(3):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    path = tmp_path / "ckpt.safetensors"
    cnnlab.io.save_checkpoint(path, model, optimizer, epoch=7)
    model2 = net()
    optimizer2 = cnnlab.optim.Adam(model2.parameters(), lr=0.5)
    assert cnnlab.io.load_checkpoint(path, model2, optimizer2) == {"epoch": 7}
    assert optimizer2.param_groups[0]["lr"] == 0.01
    for a, b in zip(optimizer.state_dict()["state"].values(), optimizer2.state_dict()["state"].values()):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


KILLER = textwrap.dedent("""
    import sys
    import cnnlab
    from cnnlab import nn
    model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))
    print("ready", flush=True)
    k = 0
    while True:
        k += 1
        for p in model.parameters():
            p.array[...] = k
        cnnlab.save(model, sys.argv[1])
""")


def test_kill_during_save_leaves_the_previous_file_readable(tmp_path):
    path = tmp_path / "model.safetensors"
    reference = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))
    for p in reference.parameters():
        p.array[...] = 0
    cnnlab.save(reference, path)
    rng = np.random.default_rng(0)
    for _ in range(5):
        process = subprocess.Popen([sys.executable, "-c", KILLER, str(path)], stdout=subprocess.PIPE)
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))  # somewhere inside a save, most likely
        process.send_signal(signal.SIGKILL)
        process.wait()
        loaded = cnnlab.load(path, model=nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000)))
        values = np.concatenate([p.array.ravel() for p in loaded.parameters()])
        assert np.all(values == values[0]), "a file mixing two saves"
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    # a killed writer may leave its temporary file, never a damaged model file
    assert all(name.startswith(".model.safetensors.") for name in leftovers)


# ------------------------------------------------- state_dicts, tensors, lists
def test_a_state_dict_round_trips_in_order_and_loads_into_a_model(tmp_path):
    model = cnnlab.nn.Sequential(cnnlab.nn.Conv2d(1, 2, 3), cnnlab.nn.BatchNorm2d(2))
    path = tmp_path / "net.pth"
    cnnlab.save(model.state_dict(), path)
    assert path.read_bytes()[8:9] == b"{"  # safetensors (a JSON header), whatever the file's name
    state = cnnlab.load(path)
    assert isinstance(state, OrderedDict) and list(state) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert state[key].dtype == value.dtype and np.array_equal(state[key].numpy(), value.numpy())
    assert state["1.num_batches_tracked"].dtype == np.int64
    fresh = cnnlab.nn.Sequential(cnnlab.nn.Conv2d(1, 2, 3), cnnlab.nn.BatchNorm2d(2))
    fresh.load_state_dict(cnnlab.load(path))
    np.testing.assert_array_equal(fresh[0].weight.numpy(), model[0].weight.numpy())
    assert cnnlab.load(path, model=fresh) is fresh


@pytest.mark.parametrize("obj", [
    cnnlab.arange(6).reshape(2, 3),
    {"b": cnnlab.ones(2, dtype=np.float64), "a": cnnlab.tensor([True, False])},
    [cnnlab.zeros(1), cnnlab.arange(3)],
    (cnnlab.ones(1),),
], ids=["tensor", "dict", "list", "tuple"])
def test_tensors_and_containers_of_tensors_round_trip(obj, tmp_path):
    cnnlab.save(obj, tmp_path / "x.pt")
    back = cnnlab.load(tmp_path / "x.pt")
    assert type(back) is type(obj)
    pairs = (zip(obj.values(), back.values()) if isinstance(obj, dict) else zip(obj, back)
             if isinstance(obj, (list, tuple)) else [(obj, back)])
    if isinstance(obj, dict):
        assert list(back) == list(obj)
    for ours, theirs in pairs:
        assert theirs.dtype == ours.dtype and np.array_equal(theirs.numpy(), ours.numpy())


@pytest.mark.parametrize("obj,message", [
    ({1: cnnlab.ones(1)}, "save: the keys of a dict of tensors must be strings, got 1"),
    ({"w": [1, 2]}, "save: the value of 'w' must be a Tensor, got list"),
    ("weights", "save: obj must be a Module, a Tensor, or a dict, list or tuple of Tensors, got str"),
])
def test_saving_something_else_is_refused_with_a_message(obj, message, tmp_path):
    with pytest.raises(TypeError, match=re.escape(message)):
        cnnlab.save(obj, tmp_path / "x.pt")


def test_a_tensor_file_does_not_load_into_a_model(tmp_path):
    cnnlab.save(cnnlab.ones(2), tmp_path / "t.pt")
    with pytest.raises(ValueError, match="t.pt holds a Tensor, not a state_dict, so it cannot be loaded into model="):
        cnnlab.load(tmp_path / "t.pt", model=net())
