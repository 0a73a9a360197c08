"""summary(): output shapes, parameter counts (equal to torch's, shared ones once), hand-computed multiply-adds,
receptive fields (equal to cnnlab.shapes and ``cnnlab shape --layers``), memory, and the command."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab import functional as F
from cnnlab.shapes import Layer, receptive_field
from cnnlab.summary import ALL, summary
from helpers import raises

torch = pytest.importorskip("torch")


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


LENET_ROWS = [  # name, type, output shape, parameters, multiply-adds (for one 1x28x28 image)
    ("0", "Conv2d", (1, 6, 28, 28), 6 * 25 + 6, 6 * 28 * 28 * 25),
    ("1", "Sigmoid", (1, 6, 28, 28), 0, 0),
    ("2", "AvgPool2d", (1, 6, 14, 14), 0, 0),
    ("3", "Conv2d", (1, 16, 10, 10), 16 * 6 * 25 + 16, 16 * 10 * 10 * 6 * 25),
    ("4", "Sigmoid", (1, 16, 10, 10), 0, 0),
    ("5", "AvgPool2d", (1, 16, 5, 5), 0, 0),  # the algorithm column is checked separately
    ("6", "Flatten", (1, 400), 0, 0),
    ("7", "Linear", (1, 120), 400 * 120 + 120, 400 * 120),
    ("8", "Sigmoid", (1, 120), 0, 0),
    ("9", "Linear", (1, 84), 120 * 84 + 84, 120 * 84),
    ("10", "Sigmoid", (1, 84), 0, 0),
    ("11", "Linear", (1, 10), 84 * 10 + 10, 84 * 10),
]


def test_lenet_summary_rows_and_totals():
    printed = []
    info = summary(lenet(nn), (1, 28, 28), print_fn=printed.append)
    assert [tuple(row)[:5] for row in info.rows] == LENET_ROWS
    assert info.total_params == sum(p.numel() for p in lenet(torch.nn).parameters()) == 61706
    assert info.trainable_params == 61706 and info.non_trainable_params == 0
    assert info.mult_adds == 117600 + 240000 + 48000 + 10080 + 840 == 416520
    assert printed == [str(info)]
    text = str(info)
    for fragment in ["Layer (type)", "Output Shape", "Param #", "0 (Conv2d)", "(1, 6, 28, 28)", "48,120",
                     "Total params: 61,706", "Trainable params: 61,706", "Non-trainable params: 0",
                     "Total mult-adds: 416,520"]:
        assert fragment in text
    assert repr(info) == "ModelSummary(total_params=61706, trainable_params=61706, mult_adds=416520)"


def test_batch_size_scales_shapes_and_mult_adds_not_params():
    info = summary(lenet(nn), (1, 28, 28), batch_size=4, print_fn=None)
    assert info.rows[0].output_shape == (4, 6, 28, 28) and info.rows[-1].output_shape == (4, 10)
    assert info.mult_adds == 4 * 416520 and info.total_params == 61706


def test_frozen_parameters_count_as_non_trainable():
    model = lenet(nn)
    model[0].requires_grad_(False)
    info = summary(model, (1, 28, 28), print_fn=None)
    assert info.trainable_params == 61706 - 156 and info.non_trainable_params == 156


class Scaled(nn.Module):
    """A module that owns a parameter and has children, used more than once in a forward."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.body = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2), nn.BatchNorm2d(4))
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.up(self.body(x) * self.scale))


def test_nested_modules_rows_modes_and_buffers_are_restored():
    model = nn.Sequential(Scaled())
    model.train()
    model[0].drop.eval()
    info = summary(model, (2, 5, 5), print_fn=None)
    names = [row.name for row in info.rows]
    assert names == ["0.body.0", "0.body.1", "0.up", "0.drop", "0"]
    conv, bn, up, drop, scaled = info.rows
    assert conv.output_shape == (1, 4, 5, 5) and conv.mult_adds == 4 * 25 * (2 // 2) * 9
    assert up.output_shape == (1, 2, 11, 11) and up.mult_adds == 4 * 25 * 2 * 9   # input elements x out x taps
    assert bn.params == 8 and bn.mult_adds == 0 and scaled.params == 1 and drop.output_shape == (1, 2, 11, 11)
    assert sum(row.params for row in info.rows) == info.total_params == model.num_parameters()
    assert model.training and model[0].body[1].training and not model[0].drop.training
    assert model[0].body[1].num_batches_tracked.item() == 0
    assert not any(module._forward_hooks for module in model.modules())


def test_shared_layers_count_parameters_once_and_mult_adds_per_call():
    shared = nn.Linear(8, 8)
    info = summary(nn.Sequential(shared, nn.ReLU(), shared), (8,), print_fn=None)
    assert [row.params for row in info.rows] == [72, 0, 0]
    assert info.total_params == 72 and info.mult_adds == 2 * 64


def test_summary_of_a_single_layer_and_tuple_outputs():
    import cnnlab

    with cnnlab.using_backend("numpy"):
        info = summary(nn.MaxPool2d(2, return_indices=True), (3, 4, 4), dtype=np.float64, print_fn=None)
    assert [tuple(row) for row in info.rows] == [("MaxPool2d", "MaxPool2d", [(1, 3, 2, 2), (1, 3, 2, 2)], 0, 0,
                                                  "windows", 0, (2, 2), (2, 2), 12 * 8 + 12 * 8)]


def test_summary_errors():
    with raises(ValueError, "summary", "batch_size must be a positive int", "batch_size=0"):
        summary(nn.Linear(2, 2), (2,), batch_size=0)
    model = nn.Sequential(nn.Linear(3, 2))
    with raises(ValueError, "linear"):     # the model's own error passes through...
        summary(model, (4,), print_fn=None)
    assert not model[0]._forward_hooks and model.training     # ...after hooks and modes are restored


def test_each_convolution_and_pooling_row_names_the_algorithm_the_backend_ran():
    import cnnlab

    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 32, 3), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
    with cnnlab.using_backend("numpy"):
        info = summary(model, (1, 28, 28), print_fn=None)
    assert [row.algorithm for row in info.rows] == ["im2col", "", "tiled", "gemm_nhwc", "box_sum", "", ""]
    assert info.backend == "numpy"
    text = str(info)
    assert "backend 'numpy'" in text and "Algorithm" in text and "gemm_nhwc" in text


# ------------------------------------------------------------------ shared parameters
def tied(nn):
    """Two layers sharing one weight (each with its own bias), and a layer called twice."""
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 4))
    model[2].weight = model[0].weight
    return model


def test_a_parameter_tied_between_two_layers_counts_once_as_torch_parameters_does():
    model, twin = tied(nn), tied(torch.nn)
    model[4].requires_grad_(False)
    twin[4].requires_grad_(False)
    info = summary(model, (8,), print_fn=None)
    assert info.total_params == sum(p.numel() for p in twin.parameters()) == 64 + 8 + 8 + 36
    assert info.trainable_params == sum(p.numel() for p in twin.parameters() if p.requires_grad) == 80
    assert info.non_trainable_params == 36
    assert [(row.params, row.shared_params) for row in info.rows] == [(72, 0), (0, 0), (8, 64), (0, 0), (36, 0)]
    assert sum(row.params for row in info.rows) == info.total_params
    assert info.params_bytes == info.total_params * 4
    assert "8 (+64 shared)" in str(info)


def test_a_layer_called_twice_shows_its_parameters_as_shared_on_the_second_call():
    shared = nn.Linear(8, 8)
    info = summary(nn.Sequential(shared, nn.ReLU(), shared), (8,), print_fn=None)
    assert [(row.params, row.shared_params) for row in info.rows] == [(72, 0), (0, 0), (0, 72)]
    assert "0 (+72 shared)" in str(info)


# ------------------------------------------------------------------ receptive field and jump
def _window_layers(model):
    """The conv and pool layers of ``model`` as shapes.Layer (square windows), in order."""
    windows = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
    return [Layer(m.kernel_size[0], m.stride[0], 0, m.dilation[0]) for m in model.modules() if isinstance(m, windows)]


@pytest.mark.parametrize("name", ["lenet5", "tiny_vgg", "improved_cnn"])
def test_fields_of_zoo_models_equal_shapes_receptive_field(name):
    spec = cnnlab.models.spec(name)
    model = spec.build()
    info = summary(model, spec.input_shape, print_fn=None)
    windows = [row for row in info.rows if row.type in ("Conv2d", "MaxPool2d", "AvgPool2d")]
    expected = receptive_field(_window_layers(model))
    assert [row.receptive_field for row in windows] == [(f.size, f.size) for f in expected]
    assert [row.jump for row in windows] == [(f.jump, f.jump) for f in expected]
    first_flat = next(i for i, row in enumerate(info.rows) if row.type == "Flatten")
    assert all(row.receptive_field == ALL and row.jump is None for row in info.rows[first_flat:])


def test_lenet5_fields_equal_the_shape_command():
    shape = cnnlab_command("shape", "--input", "28", "--layers", "conv:5:1:2,pool:2,conv:5,pool:2")
    assert shape.returncode == 0, shape.stderr
    table = [line.split() for line in shape.stdout.splitlines()[2:]]   # ..., field, jump, start
    info = summary(cnnlab.models.spec("lenet5").build(), (1, 28, 28), print_fn=None)
    windows = [row for row in info.rows if row.type in ("Conv2d", "MaxPool2d")]
    assert [(row.receptive_field[0], row.jump[0]) for row in windows] == [(int(r[-3]), int(r[-2])) for r in table]
    assert [row.receptive_field for row in windows] == [(5, 5), (6, 6), (14, 14), (16, 16)]


def test_fields_by_hand_rectangular_dilated_same_padded_adaptive_and_transposed():
    model = nn.Sequential(
        nn.Conv2d(1, 2, kernel_size=(3, 5), dilation=(2, 1), padding="same"),   # 1 + 2*2 = 5, 1 + 4 = 5
        nn.MaxPool2d(2, stride=(2, 1)),           # 5 + 1 = 6 (jump 2), 5 + 1 = 6 (jump 1)
        nn.Conv2d(2, 2, 3, stride=2),             # 6 + 2*2 = 10 (jump 4), 6 + 2*1 = 8 (jump 2)
        nn.ConvTranspose2d(2, 2, 3),              # stride 1: as a 3x3 convolution: 18 (4), 12 (2)
        nn.AdaptiveAvgPool2d((9, 17)),            # 9x17 to 9x17: unchanged
        nn.AdaptiveMaxPool2d((3, None)),          # 9 / 3 = 3: 18 + 2*4 = 26 (jump 12); W kept
        nn.BatchNorm2d(2), nn.ReLU(),             # pointwise: unchanged
        nn.ConvTranspose2d(2, 2, 3, stride=2),    # unknown: an output sees 1 or 2 inputs
        nn.Conv2d(2, 2, 1))                       # unknown stays unknown
    info = summary(model, (1, 32, 32), print_fn=None)
    assert [row.output_shape[2:] for row in info.rows][:6] == [(32, 32), (16, 31), (7, 15), (9, 17), (9, 17), (3, 17)]
    assert [row.receptive_field for row in info.rows] == [(5, 5), (6, 6), (10, 8), (18, 12), (18, 12), (26, 12),
                                                          (26, 12), (26, 12), None, None]
    assert [row.jump for row in info.rows] == [(1, 1), (2, 1), (4, 2), (4, 2), (4, 2), (12, 2), (12, 2), (12, 2),
                                               None, None]
    text = str(info)
    assert "26x12  12x2" in text and "10x8   4x2" in text


def test_adaptive_pooling_to_one_value_sees_all_and_unequal_windows_are_unknown():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(4), nn.AdaptiveAvgPool2d(1))
    info = summary(model, (1, 12, 12), print_fn=None)   # 10 to 4: windows of 3 and 4 pixels
    assert [row.receptive_field for row in info.rows] == [(3, 3), None, None]
    info = summary(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)), (1, 12, 12), print_fn=None)
    assert [row.receptive_field for row in info.rows] == [(3, 3), ALL]


class Residual(nn.Module):
    """A residual block with a strided 1x1 shortcut, written with functional code between its layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        self.shortcut = nn.Conv2d(1, 2, 1, stride=2)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))


def test_fields_follow_the_tensors_through_branches_and_functional_code():
    info = summary(nn.Sequential(Residual(), nn.MaxPool2d(2)), (1, 8, 8), print_fn=None)
    assert [row.name for row in info.rows] == ["0.conv1", "0.conv2", "0.shortcut", "1"]
    # conv1: 3 (jump 2); conv2: 3 + 2*2 = 7; shortcut, called last, sees the input: 1 (jump 2);
    # the sum takes the larger field, 7, and the pool adds one jump: 7 + 2 = 9 (jump 4)
    assert [row.receptive_field for row in info.rows] == [(3, 3), (7, 7), (1, 1), (9, 9)]
    assert [row.jump for row in info.rows] == [(2, 2), (2, 2), (2, 2), (4, 4)]


class Functional(nn.Module):
    """Pooling done with functional code: the field after it cannot be known from the layers."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.head = nn.Conv2d(2, 2, 3)

    def forward(self, x):
        return self.head(F.max_pool2d(self.conv(x), 2)).view(x.shape[0], -1)


def test_a_field_that_cannot_be_known_is_blank_not_a_crash():
    info = summary(nn.Sequential(Functional(), nn.Linear(2 * 2 * 2, 2)), (1, 10, 10), print_fn=None)
    assert [(row.name, row.receptive_field, row.jump) for row in info.rows] == [
        ("0.conv", (3, 3), (1, 1)), ("0.head", None, None), ("1", None, None)]
    rows = info.table("layer,field,jump").splitlines()[4:7]
    assert [row.split() for row in rows] == [["0.conv", "(Conv2d)", "3x3", "1"], ["0.head", "(Conv2d)"],
                                             ["1", "(Linear)"]]   # blank, not a guess
    info = summary(nn.Sequential(nn.Linear(8, 4), nn.ReLU()), (8,), print_fn=None)   # no spatial dims
    assert [row.receptive_field for row in info.rows] == [None, None]


# ------------------------------------------------------------------ memory
LENET5_OUTPUTS = [6 * 28 * 28] * 2 + [6 * 14 * 14] + [16 * 10 * 10] * 2 + [16 * 5 * 5] * 2 + [120] * 2 + [84] * 2 + [10]


@pytest.mark.parametrize("batch", [1, 32])
def test_activation_memory_of_lenet5(batch):
    info = summary(cnnlab.models.spec("lenet5").build(), (1, 28, 28), batch_size=batch, print_fn=None)
    assert [row.activation_bytes for row in info.rows] == [batch * n * 4 for n in LENET5_OUTPUTS]
    assert info.activation_bytes == batch * 4 * sum(LENET5_OUTPUTS)
    assert info.input_bytes == batch * 28 * 28 * 4 and info.params_bytes == 61706 * 4
    assert info.total_bytes == info.input_bytes + info.activation_bytes + info.params_bytes
    text = str(info)
    first = "18.4 KiB" if batch == 1 else "588.0 KiB"   # 6*28*28*4 = 18,816 bytes per image
    assert f"Input size: {'3.1 KiB' if batch == 1 else '98.0 KiB'}" in text and first in text
    assert "Params size: 241.0 KiB" in text and "Forward activations:" in text and "Estimated total size:" in text


def test_memory_follows_the_dtype_and_counts_each_output_once():
    model = nn.Sequential(Scaled()).double()   # drop (evaluation) returns its input, also Scaled's output
    info = summary(model, (2, 5, 5), dtype=np.float64, print_fn=None)
    conv, bn, up, drop, scaled = info.rows
    assert conv.activation_bytes == 4 * 5 * 5 * 8 and up.activation_bytes == drop.activation_bytes == 2 * 11 * 11 * 8
    assert info.activation_bytes == conv.activation_bytes + bn.activation_bytes + up.activation_bytes
    assert info.params_bytes == info.total_params * 8
    assert info.input_bytes == 2 * 5 * 5 * 8


# ------------------------------------------------------------------ the table
def test_columns_choose_what_is_printed():
    info = summary(lenet(nn), (1, 28, 28), columns=["layer", "field", "jump"], print_fn=None)
    header = str(info).splitlines()[2]
    assert header.split() == ["Layer", "(type)", "Field", "Jump"]
    assert info.table("layer,params").splitlines()[2].split() == ["Layer", "(type)", "Param", "#"]
    with raises(ValueError, "summary: columns must be distinct names from layer, output_shape", "got 'layer,size'"):
        info.table("layer,size")
    with raises(ValueError, "summary: columns must be", "got ['layer', 'layer']"):
        summary(lenet(nn), (1, 28, 28), columns=["layer", "layer"], print_fn=None)


# ------------------------------------------------------------------ the command
def _env():
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def cnnlab_command(*argv):
    return subprocess.run([sys.executable, "-m", "cnnlab", *argv], capture_output=True, text=True, env=_env(),
                          timeout=120)


def test_summary_command_with_a_batch_size():
    result = cnnlab_command("summary", "lenet5", "--batch-size", "32")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("LeNet5, input (32, 1, 28, 28)")
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "Mult-Adds", "Field", "Jump",
                                "Memory", "Algorithm"]
    conv = lines[4].split()
    assert conv[:8] == ["features.0", "(Conv2d)", "(32,", "6,", "28,", "28)", "156", f"{32 * 117600:,}"]
    assert conv[8:11] == ["5x5", "1", "588.0"]
    pool = next(line for line in lines if line.startswith("features.5")).split()
    assert pool[-5:-2] == ["16x16", "4", "50.0"]   # 32 * 16*5*5*4 bytes = 50.0 KiB
    assert f"Total mult-adds: {32 * 416520:,}" in result.stdout and "Params size: 241.0 KiB" in result.stdout
    assert "Input size: 98.0 KiB" in result.stdout


def test_summary_command_columns_and_errors():
    result = cnnlab_command("summary", "lenet5", "--columns", "layer,field,jump")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].split() == ["Layer", "(type)", "Field", "Jump"]
    for argv, message in [(["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
                          (["--columns", "layer,size"], "summary: columns must be distinct names from layer")]:
        result = cnnlab_command("summary", "lenet5", *argv)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
        assert message in result.stderr
