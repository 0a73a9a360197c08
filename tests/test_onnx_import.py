"""Importing ONNX files: PyTorch models from both of torch's exporters, round trips, fine-tuning, refusals."""
import contextlib
import io
import sys
import warnings

import numpy as np
import pytest

import cnnlab
import cnnlab.onnx
from cnnlab import models

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")  # torch's dynamo exporter needs it

from test_models import CASES  # noqa: E402  (the zoo's torch twins)

tnn = torch.nn
EXPORTERS = ["torchscript", "dynamo"]


def export(model, shape, path, exporter):
    """``model`` (eval mode) exported by one of torch's two exporters, with a dynamic batch dimension."""
    model.eval()
    x = torch.randn(2, *shape)
    if exporter == "dynamo":
        options = {"dynamo": True, "external_data": False, "dynamic_shapes": ({0: torch.export.Dim("batch")},)}
    else:
        options = {"dynamo": False, "dynamic_axes": {"input": {0: "batch"}}}
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with warnings.catch_warnings(), quiet[0], quiet[1]:
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=["output"], **options)
    return path


def assert_matches_torch(model, imported, shape, batches=(1, 3)):
    for n in batches:
        x = np.random.default_rng(n).standard_normal((n, *shape)).astype(np.float32)
        expected = model(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(imported(cnnlab.Tensor(x)).array, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ torch nets
class Residual(tnn.Module):
    """Add, Concat, ConvTranspose, Pad, BatchNorm (eval), count_include_pad=True, the activations, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8)
        self.conv2, self.act = tnn.Conv2d(8, 8, 3, padding=1, groups=2), tnn.LeakyReLU(0.2)
        self.branch = tnn.Conv2d(8, 4, 1)
        self.up = tnn.ConvTranspose2d(12, 6, 3, stride=2, padding=1, output_padding=1)
        self.pad = tnn.ZeroPad2d((1, 2, 0, 1))
        self.pool = tnn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)
        self.bn2, self.gap, self.fc = tnn.BatchNorm2d(6), tnn.AdaptiveAvgPool2d(1), tnn.Linear(6, 7)
        for bn in (self.bn1, self.bn2):
            bn.running_mean.data.uniform_(-1, 1)
            bn.running_var.data.uniform_(0.5, 2)
            bn.weight.data.uniform_(0.5, 2)

    def forward(self, x):
        y = self.bn1(torch.relu(self.conv1(x)))      # BN after ReLU: no exporter folds it into the conv
        y = y + self.act(self.conv2(y))
        y = torch.cat([y, self.branch(y)], 1)
        y = tnn.functional.elu(self.up(y))
        y = self.bn2(self.pool(self.pad(y)))
        y = torch.flatten(self.gap(y), 1)
        return torch.softmax(torch.sigmoid(self.fc(y)) * torch.tanh(self.fc(y)), dim=1)


class Pools(tnn.Module):
    """An even kernel with 'same', ceil_mode, count_include_pad=False, a global max pool, x.view(x.size(0), -1)."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(1, 3, 4, padding="same")
        self.max = tnn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = tnn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)
        self.gmp, self.drop, self.fc = tnn.AdaptiveMaxPool2d(1), tnn.Dropout(0.3), tnn.Linear(3, 4)

    def forward(self, x):
        y = self.gmp(self.avg(self.max(self.conv(x))))
        return torch.log_softmax(self.fc(self.drop(y.view(y.size(0), -1))), 1)


class Strided(tnn.Module):
    """Dilation with stride, asymmetric padding, a 3-D matmul Linear, and BatchNorm1d after it."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(2, 4, 3, stride=2, dilation=2, padding=(1, 2))
        self.pad = tnn.ReflectionPad2d((0, 1, 1, 0))
        self.fc = tnn.Linear(6, 6)
        self.bn = tnn.BatchNorm1d(6)
        self.bn.running_mean.data.uniform_(-1, 1)

    def forward(self, x):
        y = self.pad(torch.tanh(self.conv(x)))       # (N, 4, 6, 6)
        y = self.fc(y.mean(dim=2))                    # a Linear on (N, 4, 6): MatMul + Add
        return self.bn(y.sum(dim=1))


NETS = [(Residual, (3, 9, 11)), (Pools, (1, 13, 12)), (Strided, (2, 11, 9))]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("net,shape", NETS, ids=[net.__name__ for net, _ in NETS])
def test_torch_layers_imported_from_both_exporters_match_torch(net, shape, exporter, tmp_path):
    torch.manual_seed(0)
    model = net().eval()
    imported = cnnlab.load(export(model, shape, tmp_path / "net.onnx", exporter))
    assert_matches_torch(model, imported, shape)


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("name,kwargs,twin,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_zoo_torch_twins_from_both_exporters_match_torch(name, kwargs, twin, shape, exporter, tmp_path):
    torch.manual_seed(1)
    model = twin().eval()
    imported = cnnlab.onnx.load(export(model, shape, tmp_path / "twin.onnx", exporter))
    assert_matches_torch(model, imported, shape)


def test_imported_layers_are_real_layers_named_as_in_torch(tmp_path):
    torch.manual_seed(0)
    model = Residual().eval()
    imported = cnnlab.load(export(model, (3, 9, 11), tmp_path / "net.onnx", "dynamo"))
    assert isinstance(imported.conv1, cnnlab.nn.Conv2d) and isinstance(imported.bn2, cnnlab.nn.BatchNorm2d)
    assert isinstance(imported.up, cnnlab.nn.ConvTranspose2d) and isinstance(imported.fc, cnnlab.nn.Linear)
    ours = {k for k in imported.state_dict() if not k.endswith("num_batches_tracked")}
    assert ours == {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    # The torch model's state_dict loads into the imported one by name.
    fresh = cnnlab.load(tmp_path / "net.onnx")
    for p in fresh.parameters():
        p.array[...] = 0
    cnnlab.load(tmp_path / "net.onnx", model=fresh)
    assert_matches_torch(model, fresh.eval(), (3, 9, 11), batches=(2,))


def test_torchscript_names_layers_after_its_node_names_when_batch_norm_is_folded(tmp_path):
    torch.manual_seed(0)
    model = models.create("improved_cnn")
    twin = dict((c[0], c[2]) for c in CASES)["improved_cnn"]().eval()
    imported = cnnlab.load(export(twin, (3, 32, 32), tmp_path / "net.onnx", "torchscript"))
    assert [name for name, m in imported.named_modules() if isinstance(m, cnnlab.nn.Conv2d)] == [
        name for name, m in model.named_modules() if isinstance(m, cnnlab.nn.Conv2d)]


def test_one_sgd_step_on_an_imported_model_equals_torchs(tmp_path):
    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(4 * 4 * 4, 3))
    imported = cnnlab.load(export(model, (1, 8, 8), tmp_path / "net.onnx", "torchscript")).train()
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 2, 1, 1, 0])
    torch_optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    tnn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(y)).backward()
    torch_optimizer.step()
    optimizer = cnnlab.optim.SGD(imported.parameters(), lr=0.1)
    cnnlab.functional.cross_entropy(imported(cnnlab.Tensor(x)), cnnlab.Tensor(y)).backward()
    assert all(p.grad is not None for p in imported.parameters())
    optimizer.step()
    theirs = model.state_dict()
    for name, value in imported.state_dict().items():
        np.testing.assert_allclose(value.array, theirs[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_batch_norm_momentum_is_onnxs_complement(tmp_path):
    torch.manual_seed(0)
    model = Residual().eval()
    imported = cnnlab.load(export(model, (3, 9, 11), tmp_path / "net.onnx", "torchscript"))
    assert imported.bn1.momentum == pytest.approx(model.bn1.momentum)
    imported.train()
    before = imported.bn1.running_mean.array.copy()
    imported(cnnlab.randn(4, 3, 9, 11))
    assert not np.allclose(before, imported.bn1.running_mean.array)   # training updates the statistics


@pytest.mark.skipif(not hasattr(cnnlab.onnx, "export"), reason="needs cnnlab.onnx.export")
@pytest.mark.parametrize("name", models.names())
def test_cnnlab_to_onnx_to_cnnlab_gives_identical_outputs(name, tmp_path):
    cnnlab.manual_seed(0)
    model = models.create(name).eval()
    shape = models.spec(name).input_shape
    cnnlab.onnx.export(model, tmp_path / "model.onnx", input_shape=shape)
    imported = cnnlab.load(tmp_path / "model.onnx")
    x = cnnlab.Tensor(np.random.default_rng(0).random((3, *shape), dtype=np.float32))
    np.testing.assert_array_equal(imported(x).array, model(x).array)
    assert list(imported.state_dict()) == list(model.state_dict())


def test_an_imported_model_saves_and_loads_without_the_onnx_file(tmp_path):
    torch.manual_seed(0)
    model = Residual().eval()
    path = export(model, (3, 9, 11), tmp_path / "net.onnx", "dynamo")
    imported = cnnlab.load(path)
    cnnlab.save(imported, tmp_path / "model.safetensors", info={"input_shape": [3, 9, 11]})
    path.unlink()
    reloaded = cnnlab.load(tmp_path / "model.safetensors").eval()
    assert type(reloaded).__name__ == "OnnxGraph"
    assert_matches_torch(model, reloaded, (3, 9, 11), batches=(2,))


def test_read_info_gives_the_input_shape_and_the_classes(tmp_path):
    path = export(tnn.Sequential(tnn.Flatten(), tnn.Linear(3 * 4 * 5, 7)), (3, 4, 5), tmp_path / "m.onnx",
                  "torchscript")
    assert cnnlab.io.read_info(path) == {"model": "m", "format": "onnx", "input_shape": [3, 4, 5],
                                         "classes": [str(i) for i in range(7)]}


def test_a_file_named_otherwise_is_recognised_by_its_bytes(tmp_path):
    path = export(tnn.Sequential(tnn.Flatten(), tnn.Linear(4, 2)), (1, 2, 2), tmp_path / "m.onnx", "torchscript")
    other = tmp_path / "model.bin"
    other.write_bytes(path.read_bytes())
    assert type(cnnlab.load(other)).__name__ == "OnnxGraph"


# --------------------------------------------------------------- refusals
def save_graph(path, nodes, inputs, outputs, initializers=(), opset=17):
    graph = onnx.helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    onnx.save_model(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)]), str(path))
    return path


def value(name, shape):
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)


def test_an_unsupported_op_is_refused_naming_the_op_and_the_node(tmp_path):
    path = save_graph(tmp_path / "x.onnx", [onnx.helper.make_node("Hardmax", ["x"], ["y"], name="hard_1")],
                      [value("x", [1, 4])], [value("y", [1, 4])])
    with pytest.raises(ValueError, match=r"^cnnlab.load: '.*x.onnx' uses the ONNX op 'Hardmax' \(node 'hard_1'\), "
                                         r"which cnnlab does not support; supported: Add, AffineGrid, "):
        cnnlab.load(path)


def test_an_op_from_another_domain_is_refused(tmp_path):
    node = onnx.helper.make_node("FusedConv", ["x"], ["y"], name="fused", domain="com.microsoft")
    graph = onnx.helper.make_graph([node], "g", [value("x", [1, 4])], [value("y", [1, 4])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17),
                                                         onnx.helper.make_opsetid("com.microsoft", 1)])
    onnx.save_model(model, str(tmp_path / "x.onnx"))
    with pytest.raises(ValueError, match="uses the op 'FusedConv' from the domain 'com.microsoft' "
                                         r"\(node 'fused'\), which cnnlab does not support"):
        cnnlab.load(tmp_path / "x.onnx")


def _matmul_model(path, location):
    weight = onnx.numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "w")
    graph = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                                   [value("x", [1, 4])], [value("y", [1, 4])], [weight])
    onnx.save_model(onnx.helper.make_model(graph), str(path), save_as_external_data=True, location=location,
                    size_threshold=0)


def test_weights_kept_beside_the_model_are_read(tmp_path):
    _matmul_model(tmp_path / "x.onnx", "x.onnx.data")
    x = np.ones((1, 4), dtype=np.float32)
    np.testing.assert_array_equal(cnnlab.load(tmp_path / "x.onnx")(cnnlab.Tensor(x)).array,
                                  x @ np.arange(16, dtype=np.float32).reshape(4, 4))


def test_weights_outside_the_models_folder_are_refused(tmp_path):
    (tmp_path / "models").mkdir()
    _matmul_model(tmp_path / "x.onnx", "x.data")
    (tmp_path / "x.onnx").rename(tmp_path / "models" / "x.onnx")
    proto = onnx.load(str(tmp_path / "models" / "x.onnx"), load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../x.data"
    onnx.save_model(proto, str(tmp_path / "models" / "x.onnx"))
    with pytest.raises(ValueError, match=r"keeps initializer 'w' in '../x.data', which is not a file beside the "
                                         r"model; only weights in the model's own folder are read"):
        cnnlab.load(tmp_path / "models" / "x.onnx")


def test_missing_weights_file_is_one_line(tmp_path):
    _matmul_model(tmp_path / "x.onnx", "x.onnx.data")
    (tmp_path / "x.onnx.data").unlink()
    with pytest.raises(FileNotFoundError, match=r"keeps its weights in 'x.onnx.data', which is not in"):
        cnnlab.load(tmp_path / "x.onnx")


def test_the_dynamo_exporters_default_external_data_file_loads(tmp_path):
    net = tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.ReLU(), tnn.Flatten(), tnn.Linear(4 * 6 * 6, 3)).eval()
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with warnings.catch_warnings(), quiet[0], quiet[1]:
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.randn(1, 1, 8, 8),), str(tmp_path / "net.onnx"), dynamo=True)
    assert_matches_torch(net, cnnlab.load(tmp_path / "net.onnx"), (1, 8, 8), batches=(1,))


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    path = tmp_path / "x.onnx"
    path.write_bytes(b"\x00\x01 certainly not a protobuf \xff\xfe")
    with pytest.raises(ValueError, match=r"^cnnlab.load: '.*x.onnx' is not (a valid )?(an )?ONNX model"):
        cnnlab.load(path)


def test_without_the_onnx_package_loading_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "x.onnx"
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"needs the onnx package: pip install 'cnnlab\[onnx\]'"):
        cnnlab.load(path)


def test_a_node_cnnlab_cannot_express_is_refused_naming_it(tmp_path):
    weight = onnx.numpy_helper.from_array(np.ones((2, 2, 3, 3), dtype=np.float32), "w")
    node = onnx.helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", output_shape=[9, 9], strides=[2, 2])
    path = save_graph(tmp_path / "x.onnx", [node], [value("x", [1, 2, 4, 4])], [value("y", [1, 2, 9, 9])], [weight])
    with pytest.raises(ValueError, match=r"x.onnx': node 'up' \(ConvTranspose\) sets output_shape or auto_pad"):
        cnnlab.load(path)


def test_uneven_onnx_pads_become_explicit_padding(tmp_path):
    """Pools with pads=[0, 0, 1, 1] (an exporter's way of writing ceil_mode) against onnx's reference."""
    from onnx.reference import ReferenceEvaluator

    nodes = [onnx.helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
             onnx.helper.make_node("AveragePool", ["m"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                   pads=[1, 0, 2, 1], count_include_pad=0)]
    path = save_graph(tmp_path / "x.onnx", nodes, [value("x", [2, 3, 7, 9])], [value("y", [2, 3, 3, 2])])
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 9)).astype(np.float32)
    expected = ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    np.testing.assert_allclose(cnnlab.load(path)(cnnlab.Tensor(x)).array, expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- explain
def test_the_explainer_app_works_on_an_imported_model_of_any_size_and_class_count(tmp_path):
    from PIL import Image

    from cnnlab.explain import ExplainApp

    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Conv2d(3, 5, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(5, 6, 3),
                           tnn.ReLU(), tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(6, 7))
    path = export(model, (3, 32, 32), tmp_path / "net.onnx", "torchscript")
    app = ExplainApp.from_source(str(path))
    assert app.input_shape == (3, 32, 32) and len(app.classes) == 7
    picture = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(picture, "PNG")
    result = app.predict(picture.getvalue())
    assert len(result["probabilities"]) == 7 and abs(sum(result["probabilities"]) - 1) < 1e-4
    assert [layer["name"] for layer in result["layers"]] == ["0", "2", "3", "5"]
    worked = app.explain({"layer": "3", "channel": 2, "y": 4, "x": 5})
    assert worked["value"] == pytest.approx(worked["actual"], rel=1e-4, abs=1e-5)
    assert worked["input_layer"] == "2"
