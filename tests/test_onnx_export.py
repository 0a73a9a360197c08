"""cnnlab.onnx.export: every zoo model and grids of single layers, checked by onnx.checker, ONNX shape inference and
onnxruntime against cnnlab's own outputs; the refusals by message; ``cnnlab export`` as a real process."""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab import models, nn
from cnnlab.inspect import trace
from cnnlab.onnx import export

RTOL, ATOL = 1e-4, 1e-5


# ------------------------------------------------------------------ helpers
def run_onnx(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def cnnlab_output(model, x):
    with cnnlab.no_grad():
        return model(cnnlab.tensor(x)).numpy()


def inferred_shapes(path):
    """Each value's shape by ONNX shape inference (strict), with the declared output shape left out.

    ``data_prop``: the spatial transformer's AffineGrid takes its size from a Shape node.
    """
    proto = onnx.load(path)
    proto.graph.output[0].type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True).graph
    return {value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            for value in [*inferred.value_info, *inferred.output]}


def check_attributes(proto):
    """Explicit pads and no auto_pad on every windowed op; ceil_mode 0; count_include_pad on every AveragePool."""
    for node in proto.graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type in ("Conv", "ConvTranspose", "MaxPool", "AveragePool"):
            assert "auto_pad" not in attributes and len(attributes["pads"]) == 2 * len(attributes["kernel_shape"])
        if node.op_type in ("MaxPool", "AveragePool"):
            assert attributes["ceil_mode"] == 0
        if node.op_type == "AveragePool":
            assert "count_include_pad" in attributes


def check_export(model, input_shape, tmp_path, opset=20, batches=(1, 3)):
    """Export ``model``; it passes the full check, and onnxruntime and shape inference agree with cnnlab."""
    model.eval()
    path = tmp_path / "model.onnx"
    proto = export(model, path, input_shape=input_shape, opset=opset)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    check_attributes(proto)
    rng = np.random.default_rng(1)
    for n in batches:
        x = rng.standard_normal((n, *input_shape)).astype(np.float32)
        expected = cnnlab_output(model, x)
        np.testing.assert_allclose(run_onnx(path, x), expected, rtol=RTOL, atol=ATOL)
    shapes = inferred_shapes(path)
    assert shapes["output"] == ["N", *expected.shape[1:]]
    calls, _ = trace(model, x)
    seen = {}
    for call in calls:   # each layer's node output is the value named after the layer (name#2: its second call)
        seen[call.name] = seen.get(call.name, 0) + 1
        name = call.name if seen[call.name] == 1 else f"{call.name}#{seen[call.name]}"
        if name in shapes:
            assert shapes[name] == ["N", *call.output.shape[1:]], name
    return proto


def ops(proto):
    return [node.op_type for node in proto.graph.node]


def randomize(model, seed=0):
    """Random BatchNorm statistics and a non-trivial spatial transform, so that export has something to get wrong."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            module.running_mean.array[...] = rng.normal(0, 0.5, module.num_features)
            module.running_var.array[...] = rng.uniform(0.5, 2, module.num_features)
            if module.weight is not None:
                module.weight.array[...] = rng.uniform(0.5, 1.5, module.num_features)
                module.bias.array[...] = rng.normal(0, 0.5, module.num_features)
    if isinstance(model, models.SpatialTransformerNet):
        last = model.fc_loc[3]
        last.weight.array[...] = rng.normal(0, 0.05, last.weight.shape)
        last.bias.array[...] = np.array([0.9, 0.2, 0.1, -0.15, 1.1, -0.1])
    return model


# ------------------------------------------------------------------ the zoo
@pytest.mark.parametrize("name", models.names())
def test_every_zoo_model_runs_in_onnxruntime_as_in_cnnlab(name, tmp_path):
    model = randomize(models.create(name))
    proto = check_export(model, models.spec(name).input_shape, tmp_path)
    keys = {key for key in model.state_dict() if not key.endswith("num_batches_tracked")}
    assert {tensor.name for tensor in proto.graph.initializer} == keys
    assert "Dropout" not in ops(proto)


def test_the_spatial_transformer_samples_with_affine_grid_and_grid_sample(tmp_path):
    proto = check_export(randomize(models.create("stn")), (1, 28, 28), tmp_path)
    sample = next(node for node in proto.graph.node if node.op_type == "GridSample")
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in sample.attribute}
    assert attributes == {"mode": b"linear", "padding_mode": b"zeros", "align_corners": 0}
    assert "AffineGrid" in ops(proto)


def test_names_producer_and_dynamic_batch(tmp_path):
    model = randomize(models.create("improved_cnn"))
    proto = export(model, tmp_path / "a.onnx", input_shape=(3, 32, 32))
    assert (proto.producer_name, proto.producer_version) == ("cnnlab", cnnlab.__version__)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 20)]
    assert proto.graph.node[0].name == "features.0" and proto.graph.node[0].input[1] == "features.0.weight"
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (proto.graph.input[0], proto.graph.output[0])]
    assert dims == [["N", 3, 32, 32], ["N", 10]]


def test_the_same_model_writes_the_same_bytes(tmp_path):
    model = models.create("lenet5")
    export(model, tmp_path / "a.onnx", input_shape=(1, 28, 28))
    export(model, tmp_path / "b.onnx", input_shape=(1, 28, 28))
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_a_lower_opset_the_graph_allows(tmp_path):
    proto = check_export(models.create("lenet5"), (1, 28, 28), tmp_path, opset=11)
    assert proto.opset_import[0].version == 11


# ------------------------------------------------------------------ convolutions
CONVOLUTIONS = {
    "even kernel, same": (lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 9, 8)),
    "even kernels, same, dilated": (lambda: nn.Conv2d(2, 3, (2, 4), padding="same", dilation=(3, 1)), (2, 9, 8)),
    "strided same": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding="same"), (2, 9, 10)),
    "strided same, even kernel": (lambda: nn.Conv2d(2, 3, 4, stride=(3, 2), padding="same"), (2, 11, 8)),
    "per-side pairs": (lambda: nn.Conv2d(2, 3, 3, padding=((0, 2), (1, 0))), (2, 7, 6)),
    "dilation with stride": (lambda: nn.Conv2d(2, 4, 3, stride=2, dilation=2, padding=1), (2, 11, 12)),
    "groups": (lambda: nn.Conv2d(4, 6, 3, groups=2, padding=1, bias=False), (4, 6, 5)),
    "depthwise": (lambda: nn.Conv2d(4, 8, (3, 1), groups=4, stride=(1, 2)), (4, 6, 5)),
    "reflect": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), (2, 6, 7)),
    "replicate": (lambda: nn.Conv2d(2, 3, 4, padding="same", padding_mode="replicate"), (2, 6, 7)),
    "circular": (lambda: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="circular"), (2, 6, 7)),
    "1-D same, even": (lambda: nn.Conv1d(2, 3, 4, padding="same"), (2, 11)),
    "1-D per-side, strided": (lambda: nn.Conv1d(2, 4, 3, stride=2, padding=((2, 0),)), (2, 11)),
    "1-D dilated, strided same": (lambda: nn.Conv1d(2, 4, 3, stride=2, dilation=3, padding="same"), (2, 13)),
    "3-D": (lambda: nn.Conv3d(2, 3, 3, stride=(1, 2, 1), padding=(1, 0, 1)), (2, 5, 6, 7)),
    "transposed, output_padding": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                                   (3, 5, 6)),
    "transposed, groups, dilation": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, dilation=2,
                                                                output_padding=1), (4, 4, 5)),
    "transposed 1-D": (lambda: nn.ConvTranspose1d(2, 4, 4, stride=3, output_padding=2, bias=False), (2, 7)),
    "transposed 3-D": (lambda: nn.ConvTranspose3d(2, 2, 2, stride=2, padding=(0, 1, 0)), (2, 3, 4, 3)),
}


@pytest.mark.parametrize("case", CONVOLUTIONS)
def test_convolutions(case, tmp_path):
    build, shape = CONVOLUTIONS[case]
    check_export(build(), shape, tmp_path)


def test_pads_are_the_ones_applied_in_onnx_order(tmp_path):
    proto = export(nn.Conv2d(1, 1, 4, stride=2, padding="same"), tmp_path / "a.onnx", input_shape=(1, 9, 8))
    pads = next(a for a in proto.graph.node[0].attribute if a.name == "pads").ints
    assert list(pads) == [1, 1, 2, 1]   # rows (1, 2) and columns (1, 1) for 9x8: [top, left, bottom, right]


# ------------------------------------------------------------------ pooling
# Sizes for which the last ceil_mode window is partial or starts in the right padding (5 with k=2, s=2, p=1).
SIZES = [5, 6, 7]
WINDOWS = [(2, 2, 0), (2, 2, 1), (3, 2, 1), (3, 3, 1), (3, 2, 0), (4, 3, 2)]


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("kernel, stride, padding", WINDOWS)
@pytest.mark.parametrize("size", SIZES)
def test_max_pool(size, kernel, stride, padding, ceil_mode, tmp_path):
    pool = nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
    check_export(pool, (2, size, size + 1), tmp_path, batches=(2,))


@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("kernel, stride, padding", WINDOWS)
@pytest.mark.parametrize("size", SIZES)
def test_avg_pool(size, kernel, stride, padding, ceil_mode, count_include_pad, tmp_path):
    pool = nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    check_export(pool, (2, size, size + 1), tmp_path, batches=(2,))


POOLS = {
    "max, dilation": (lambda: nn.MaxPool2d(3, 2, 1, dilation=2), (2, 9, 8)),
    "max, dilation, ceil": (lambda: nn.MaxPool2d(2, 3, 1, dilation=3, ceil_mode=True), (2, 9, 8)),
    "max 1-D, ceil": (lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), (2, 8)),
    "max 3-D": (lambda: nn.MaxPool3d(2, ceil_mode=True), (2, 3, 5, 4)),
    "avg 1-D, ceil": (lambda: nn.AvgPool1d(2, 2, 1, ceil_mode=True), (2, 5)),
    "avg 3-D, ceil, no pad counted": (lambda: nn.AvgPool3d(2, 2, 1, ceil_mode=True, count_include_pad=False),
                                      (2, 3, 4, 5)),
    "avg, divisor_override": (lambda: nn.AvgPool2d(3, 2, 1, divisor_override=4), (2, 7, 6)),
    "avg, divisor_override, ceil": (lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True, divisor_override=3), (2, 5, 6)),
    "adaptive avg to 1": (lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 7)),
    "adaptive avg, dividing": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (3, 4, 9)),
    "adaptive avg, None keeps": (lambda: nn.AdaptiveAvgPool2d((None, 2)), (3, 5, 6)),
    "adaptive avg 1-D": (lambda: nn.AdaptiveAvgPool1d(4), (2, 12)),
    "adaptive max to 1": (lambda: nn.AdaptiveMaxPool2d(1), (3, 5, 7)),
    "adaptive max, dividing": (lambda: nn.AdaptiveMaxPool2d((3, 2)), (3, 9, 4)),
    "adaptive max 3-D": (lambda: nn.AdaptiveMaxPool3d(1), (2, 3, 4, 5)),
}


@pytest.mark.parametrize("case", POOLS)
def test_pools(case, tmp_path):
    build, shape = POOLS[case]
    proto = check_export(build(), shape, tmp_path)
    if case.endswith("to 1"):
        assert ops(proto)[0].startswith("Global")


def test_ceil_mode_is_written_as_end_padding(tmp_path):
    # Rows: the last ceil window would start in the bottom padding, so it is dropped (ONNX shape inference keeps
    # it with ceil_mode=1, onnxruntime drops it); columns: the ceil window needs one more column at the end.
    proto = export(nn.MaxPool2d((2, 3), 2, (1, 0), ceil_mode=True), tmp_path / "a.onnx", input_shape=(1, 5, 6))
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
    assert attributes["ceil_mode"] == 0 and attributes["pads"] == [1, 0, 1, 1]
    assert inferred_shapes(tmp_path / "a.onnx")["output"] == ["N", 1, 3, 3]


# ------------------------------------------------------------------ the other layers
def _bn(cls, n, **kwargs):
    return lambda: randomize(nn.Sequential(cls(n, **kwargs)))


LAYERS = {
    "BatchNorm2d": (_bn(nn.BatchNorm2d, 3), (3, 4, 5)),
    "BatchNorm2d, not affine": (_bn(nn.BatchNorm2d, 3, affine=False, eps=1e-3), (3, 4, 5)),
    "BatchNorm1d on (N, C)": (_bn(nn.BatchNorm1d, 4), (4,)),
    "BatchNorm1d on (N, C, L)": (_bn(nn.BatchNorm1d, 4), (4, 6)),
    "BatchNorm3d": (_bn(nn.BatchNorm3d, 2), (2, 3, 2, 4)),
    "LayerNorm": (lambda: nn.LayerNorm((4, 5)), (3, 4, 5)),
    "LayerNorm, no affine": (lambda: nn.LayerNorm(5, elementwise_affine=False), (3, 4, 5)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (4, 5, 6)),
    "GroupNorm, no affine": (lambda: nn.GroupNorm(2, 4, affine=False), (4, 5)),
    "ReLU": (nn.ReLU, (3, 4, 5)),
    "ReLU6": (lambda: nn.Sequential(nn.Linear(5, 5), nn.ReLU6()), (5,)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (3, 4, 5)),
    "ELU": (lambda: nn.ELU(0.5), (3, 4, 5)),
    "GELU": (nn.GELU, (3, 4, 5)),
    "GELU tanh": (lambda: nn.GELU("tanh"), (3, 4, 5)),
    "SiLU": (nn.SiLU, (3, 4, 5)),
    "Softplus": (nn.Softplus, (3, 4, 5)),
    "Softplus, beta and threshold": (lambda: nn.Softplus(beta=2, threshold=1), (3, 4, 5)),
    "Sigmoid": (nn.Sigmoid, (3, 4, 5)),
    "Tanh": (nn.Tanh, (3, 4, 5)),
    "Softmax": (lambda: nn.Softmax(dim=1), (3, 4, 5)),
    "Softmax, last dim": (lambda: nn.Softmax(dim=-1), (3, 4, 5)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=2), (3, 4, 5)),
    "Linear on (N, *, in)": (lambda: nn.Linear(5, 3), (4, 5)),
    "Linear, no bias, on (N, *, in)": (lambda: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    "Linear, no bias": (lambda: nn.Linear(5, 3, bias=False), (5,)),
    "Flatten": (nn.Flatten, (3, 4, 5)),
    "Flatten(2)": (lambda: nn.Flatten(2), (3, 4, 5)),
    "Flatten(1, 2)": (lambda: nn.Flatten(1, 2), (3, 4, 5)),
    "Identity": (nn.Identity, (3, 4)),
}


@pytest.mark.parametrize("case", LAYERS)
def test_layers(case, tmp_path):
    build, shape = LAYERS[case]
    check_export(build(), shape, tmp_path)


def test_dropout_is_left_out_of_the_graph(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Dropout(0.3), nn.ReLU(), nn.Dropout2d(), nn.Flatten(), nn.Dropout())
    proto = check_export(model, (2, 5, 5), tmp_path)
    assert ops(proto) == ["Conv", "Relu", "Flatten"]


class Twice(nn.Module):
    """One ReLU called twice, nested Sequentials, and a forward that only composes layers."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()
        self.body = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Tanh()))
        self.head = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        return self.head(self.act(self.body(self.act(x))).flatten(1))


def test_a_layer_called_twice_and_a_flatten_in_forward(tmp_path):
    proto = check_export(Twice(), (1, 6, 6), tmp_path)
    assert [n.name for n in proto.graph.node if n.op_type == "Relu"] == ["act", "act#2"]
    assert "Flatten" in ops(proto)


class ViewNet(nn.Module):
    def __init__(self, batch_size=None):
        super().__init__()
        self.batch_size = batch_size
        self.conv, self.fc = nn.Conv2d(1, 2, 3), nn.Linear(2 * 3 * 3, 4)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x.view(self.batch_size or x.size(0), -1))


def test_torch_style_view_before_a_linear_is_a_flatten(tmp_path):
    check_export(ViewNet(), (1, 5, 5), tmp_path)


# ------------------------------------------------------------------ refusals
class Swish(nn.Module):
    def forward(self, x):
        return x * F.sigmoid(x)


class Functional(nn.Module):
    def __init__(self, ending=False):
        super().__init__()
        self.ending = ending
        self.conv1, self.conv2 = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)

    def forward(self, x):
        if self.ending:
            return self.conv2(self.conv1(x)) + 1
        return self.conv2(F.relu(self.conv1(x)))


def refusal(model, input_shape, tmp_path, **kwargs):
    with pytest.raises(ValueError) as error:
        export(model, tmp_path / "x.onnx", input_shape=input_shape, **kwargs)
    assert not (tmp_path / "x.onnx").exists()
    return str(error.value)


def test_a_layer_with_no_onnx_counterpart_is_named(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), Swish())
    assert refusal(model, (1, 5, 5), tmp_path) == (
        "'1 (Swish)' has no ONNX counterpart; export supports the cnnlab.nn layers that have one and models whose "
        "forward() composes them")


def test_a_subclass_that_changes_forward_is_not_exported_as_its_base(tmp_path):
    class Doubled(nn.ReLU):
        def forward(self, x):
            return super().forward(x) * 2

    assert refusal(nn.Sequential(Doubled()), (3,), tmp_path).startswith("'0 (Doubled)' has no ONNX counterpart")


def test_functional_code_in_forward_is_refused(tmp_path):
    assert refusal(Functional(), (1, 7, 7), tmp_path) == (
        "'conv2 (Conv2d)' receives a tensor computed outside any layer (in Functional.forward); export supports "
        "models whose forward() only composes layers")
    assert refusal(Functional(ending=True), (1, 7, 7), tmp_path).startswith(
        "the model (Functional) returns a tensor computed outside any layer (in Functional.forward)")


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.act = nn.Conv2d(1, 2, 3), nn.ReLU()

    def forward(self, x):
        x = self.conv(x)
        x[:, 0] = 0
        return self.act(x)


def test_a_tensor_changed_in_place_in_forward_is_refused(tmp_path):
    assert refusal(InPlace(), (1, 5, 5), tmp_path) == (
        "'act (ReLU)' receives a tensor changed in place outside any layer (in InPlace.forward); export supports "
        "models whose forward() only composes layers")


def test_a_view_that_fixes_the_batch_size_is_refused(tmp_path):
    assert refusal(ViewNet(batch_size=1), (1, 5, 5), tmp_path) == (
        "export: the model's forward pass fails on a batch of 2 samples of shape (1, 5, 5) (export traces a batch "
        "of 2: the batch axis is dynamic): linear: input has 36 features but weight expects 18 (weight shape (4, 18))")


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Flatten(0), (2, 3), "'0 (Flatten)' flattens the batch axis (start_dim=0); export keeps the batch axis and "
                            "its size dynamic"),
    (nn.BatchNorm2d(2, track_running_stats=False), (2, 3, 3),
     "'0 (BatchNorm2d)' keeps no running statistics (track_running_stats=False), so it normalises with each "
     "batch's own; export needs running statistics"),
    (nn.MaxPool2d(2, return_indices=True), (1, 4, 4),
     "'0 (MaxPool2d)' returns a tuple; export supports layers that return one tensor"),
])
def test_layer_settings_onnx_cannot_express(layer, shape, message, tmp_path):
    assert refusal(nn.Sequential(layer), shape, tmp_path) == message


def test_adaptive_pool_sizes_that_do_not_divide(tmp_path):
    assert refusal(nn.Sequential(nn.AdaptiveAvgPool2d(3)), (2, 7, 7), tmp_path) == (
        "'0 (AdaptiveAvgPool2d)' pools 7x7 to 3x3; ONNX has no adaptive pooling, so export needs output sizes that "
        "divide the input's (or 1)")


@pytest.mark.parametrize("model, shape, opset, op, needed", [
    ("lenet5", (1, 28, 28), 10, "Gemm", 11),
    ("stn", (1, 28, 28), 19, "GridSample", 20),
    (lambda: nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)), (4,), 12, "Softmax", 13),
    (lambda: nn.Sequential(nn.LayerNorm(4)), (4,), 16, "LayerNormalization", 17),
])
def test_an_opset_too_low_is_refused_naming_the_op(model, shape, opset, op, needed, tmp_path):
    model = models.create(model) if isinstance(model, str) else model()
    text = refusal(model, shape, tmp_path, opset=opset)
    assert text.startswith(f"export: opset must be at least {needed} for this model ({op}, in node ")
    assert text.endswith(f"needs opset {needed}), got opset={opset}")


def test_an_opset_out_of_range_is_refused(tmp_path):
    newest = onnx.defs.onnx_opset_version()
    assert refusal(nn.ReLU(), (3,), tmp_path, opset=1000) == f"export: opset must be an int in [1, {newest}], got 1000"
    assert refusal(nn.ReLU(), (3,), tmp_path, opset=0) == "export: opset must be a positive int, got 0"
    with pytest.raises(TypeError, match="export: opset must be a positive int, got '20'"):
        export(nn.ReLU(), tmp_path / "x.onnx", input_shape=(3,), opset="20")


def test_a_bad_input_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"export: input_shape must be a positive int or a non-empty tuple of "
                                         r"positive ints, got \(1, 0, 28\)"):
        export(nn.ReLU(), tmp_path / "x.onnx", input_shape=(1, 0, 28))


def test_without_the_onnx_package_export_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'cnnlab\[onnx\]'$"):
        export(nn.ReLU(), tmp_path / "x.onnx", input_shape=(3,))


# ------------------------------------------------------------------ the command
def cnnlab_command(*argv, cwd):
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_exports_a_zoo_model(tmp_path):
    done = cnnlab_command("export", "lenet5", "-o", "x.onnx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "wrote x.onnx (opset 20, input [N, 1, 28, 28], 61,706 parameters)\n"
    assert done.stderr.startswith("note: lenet5 has untrained (random) weights")
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert run_onnx(tmp_path / "x.onnx", x).shape == (2, 10)


def test_cli_exports_a_model_file_at_its_input_shape_or_the_one_given(tmp_path):
    model = randomize(models.create("simple_cnn"))
    cnnlab.save(model, tmp_path / "with.safetensors", info={"input_shape": [3, 32, 32]})
    cnnlab.save(model, tmp_path / "without.safetensors")
    done = cnnlab_command("export", "with.safetensors", "-o", "a.onnx", "--opset", "13", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout == "wrote a.onnx (opset 13, input [N, 3, 32, 32], 62,006 parameters)\n"
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "a.onnx", x), cnnlab_output(model.eval(), x), rtol=RTOL,
                               atol=ATOL)
    done = cnnlab_command("export", "without.safetensors", "-o", "b.onnx", "--input-shape", "3,32,32", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(run_onnx(tmp_path / "b.onnx", x), run_onnx(tmp_path / "a.onnx", x))


@pytest.mark.parametrize("argv, message", [
    (["lenet5", "-o", "x.onnx", "--input-shape", "1,x"],
     "argument --input-shape: expected sizes C,H,W as positive ints separated by commas, got '1,x'"),
    (["lenet", "-o", "x.onnx"], "model file 'lenet' does not exist, nor is it a zoo model name"),
    (["lenet5", "-o", "x.onnx", "--opset", "10"], "opset must be at least 11 for this model (Gemm"),
    (["lenet5", "-o", "x.onnx", "--input-shape", "1,3,28,28"], "--input-shape: a zoo model takes C,H,W"),
    (["lenet5", "-o", "x.onnx", "--input-shape", "1,20,20"], "model lenet5 on 1x20x20 inputs: "),
    (["without.safetensors", "-o", "x.onnx"], "input_shape"),
])
def test_cli_user_errors_are_one_line_exit_2(argv, message, tmp_path):
    cnnlab.save(models.create("lenet5"), tmp_path / "without.safetensors")
    done = cnnlab_command("export", *argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    error = done.stderr.splitlines()[-1]
    assert error.startswith("cnnlab export: ") and message in error and "Traceback" not in done.stderr
    assert not (tmp_path / "x.onnx").exists()
