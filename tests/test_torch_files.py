"""cnnlab.load on files written by PyTorch's torch.save: real state_dicts and tensors, and pickles that try to run code."""
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.data import UnsafePickleError

torch = pytest.importorskip("torch")

from test_models import improved_cnn, lenet5, tiny_vgg  # noqa: E402 - the zoo's torch twins


def assert_same(ours, theirs):
    assert isinstance(ours, cnnlab.Tensor)
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours.numpy(), expected)


@pytest.mark.parametrize("name,twin,shape", [("lenet5", lenet5, (1, 28, 28)), ("improved_cnn", improved_cnn,
                                             (3, 32, 32)), ("tiny_vgg", tiny_vgg, (3, 64, 64))])
def test_a_torch_state_dict_loads_into_the_zoo_model(name, twin, shape, tmp_path):
    reference = twin()
    reference(torch.rand(4, *shape))  # training mode: batch norms update running stats and num_batches_tracked
    reference.eval()
    path = tmp_path / f"{name}.pth"
    torch.save(reference.state_dict(), path)

    state = cnnlab.load(path)
    assert isinstance(state, OrderedDict) and list(state) == list(reference.state_dict())
    for key, value in reference.state_dict().items():
        assert_same(state[key], value)
    model = models.create(name)
    model.load_state_dict(state)
    model.eval()
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    np.testing.assert_allclose(model(cnnlab.Tensor(x)).numpy(), reference(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    assert cnnlab.load(path, model=models.create(name)).state_dict().keys() == state.keys()


def test_dtypes_views_and_shared_storages_read_as_torch_holds_them(tmp_path):
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    saved = {
        "base": base, "transposed": base.t(), "strided": base[1:3, ::2], "row": base[2],  # one shared storage
        "expanded": torch.arange(3.0).expand(2, 3),  # stride 0
        "int64": torch.arange(5), "int32": torch.arange(4, dtype=torch.int32), "uint8": torch.arange(6, dtype=torch.uint8),
        "bool": torch.tensor([True, False]), "half": torch.tensor([0.5, -2.0], dtype=torch.float16),
        "scalar": torch.tensor(7), "empty": torch.zeros(0, 3),
        "nested": [torch.ones(2), (torch.zeros(1, dtype=torch.int64), 3, "three", None, 2.5, True)],
    }
    path = tmp_path / "mixed.pt"
    torch.save(saved, path)
    loaded = cnnlab.load(path)
    assert type(loaded) is dict and list(loaded) == list(saved)
    for key, value in saved.items():
        if key not in ("nested", "half"):
            assert_same(loaded[key], value)
    assert_same(loaded["half"], saved["half"].float())  # cnnlab's Tensors hold float32 or float64
    ones, (zero, *plain) = loaded["nested"]
    assert_same(ones, torch.ones(2))
    assert_same(zero, torch.zeros(1, dtype=torch.int64))
    assert plain == [3, "three", None, 2.5, True]
    assert loaded["transposed"].is_contiguous()


def test_a_saved_tensor_and_a_saved_parameter(tmp_path):
    torch.save(torch.linspace(0, 1, 5), tmp_path / "t.pt")
    assert_same(cnnlab.load(tmp_path / "t.pt"), torch.linspace(0, 1, 5))
    torch.save(torch.nn.Parameter(torch.ones(3)), tmp_path / "p.pt")
    param = cnnlab.load(tmp_path / "p.pt")
    assert isinstance(param, cnnlab.nn.Parameter) and param.requires_grad
    np.testing.assert_array_equal(param.numpy(), np.ones(3, np.float32))


class RunsCommand:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class Evaluates:
    def __reduce__(self):
        return eval, ("1 + 1",)


def test_a_pickle_that_would_run_a_command_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.ones(2), "payload": RunsCommand(marker)}, path)
    with pytest.raises(UnsafePickleError) as error:
        cnnlab.load(path)
    message = str(error.value)
    assert message.startswith(f"cnnlab.load: {str(path)!r} refers to {os.system.__module__}.system, ")
    assert message.endswith("which a weights file never needs; only tensors and plain containers are read")
    assert "\n" not in message
    assert not marker.exists()


def test_builtins_eval_is_named_in_the_refusal(tmp_path):
    torch.save([Evaluates()], tmp_path / "x.pt")
    with pytest.raises(ValueError, match=r"cnnlab.load: '.*x.pt' refers to builtins.eval, which a weights file"):
        cnnlab.load(tmp_path / "x.pt")


class SetsTensorState:
    """A tensor rebuilt by torch's own function, then given attributes by a BUILD opcode."""

    def __reduce__(self):
        from torch._utils import _rebuild_tensor_v2

        storage = torch.ones(2).untyped_storage()
        typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True)
        return _rebuild_tensor_v2, (typed, 0, (2,), (1,), False, OrderedDict()), {"data": "replaced"}


def test_setting_attributes_on_a_tensor_is_refused(tmp_path):
    torch.save(SetsTensorState(), tmp_path / "state.pt")
    with pytest.raises(UnsafePickleError, match="sets attributes on a tensor"):
        cnnlab.load(tmp_path / "state.pt")


def rewrite_pickle(path, replace):
    """Rewrite the data.pkl of the torch archive at ``path`` with ``replace(bytes)``."""
    with zipfile.ZipFile(path) as archive:
        records = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in records.items():
            archive.writestr(name, replace(raw) if name.endswith("/data.pkl") else raw)


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "long.pt"
    torch.save(torch.ones(3), path)
    # The size tuple (3,) is pickled as BININT1 3, TUPLE1; claim 200 elements instead.
    rewrite_pickle(path, lambda raw: raw.replace(b"K\x03\x85", b"K\xc8\x85", 1))
    with pytest.raises(ValueError, match=r"not a readable PyTorch weights file \(a tensor of size \(200,\).*"
                                         r"reaches past its storage of 3 elements\)"):
        cnnlab.load(path)


def test_the_legacy_format_and_damaged_files_are_refused_in_one_line(tmp_path):
    legacy = tmp_path / "old.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"'.*old.pt' is in PyTorch's legacy \(before 1.6\) format"):
        cnnlab.load(legacy)
    damaged = tmp_path / "damaged.pt"
    torch.save({"w": torch.ones(2)}, damaged)
    damaged.write_bytes(damaged.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cnnlab.load: '.*damaged.pt' is not a readable PyTorch weights file"):
        cnnlab.load(damaged)
    missing = tmp_path / "missing.pt"
    torch.save({"w": torch.ones(2)}, missing)
    rewrite_pickle(missing, lambda raw: raw.replace(b"X\x01\x00\x00\x000", b"X\x01\x00\x00\x009", 1))
    with pytest.raises(ValueError, match="the storage record data/9 is missing"):
        cnnlab.load(missing)


def test_a_plain_pickle_is_not_read(tmp_path):
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps({"w": [1, 2]}))
    with pytest.raises(ValueError, match="not a readable cnnlab/safetensors file"):
        cnnlab.load(path)
