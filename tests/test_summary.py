"""summary(): output shapes, parameter counts (equal to torch's) and hand-computed multiply-adds."""
import numpy as np
import pytest

from cnnlab import nn
from cnnlab.summary import summary
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
                                                  "windows")]


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
