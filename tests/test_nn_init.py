"""nn.init: gains and fans equal torch's, distributions have the formula's bounds and spread, seeds reproduce,
and the layers' default initialisation follows torch's formulas."""
import math

import numpy as np
import pytest

import cnnlab
from cnnlab import Tensor, nn
from cnnlab.nn import init
from helpers import raises

torch = pytest.importorskip("torch")


def empty(*shape, dtype=np.float32):
    return Tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0),
    ("selu", None),
])
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(3, 4), (6, 1, 5, 5), (4, 2, 3), (2, 3, 1, 2, 2), (0, 5)])
def test_fan_in_and_fan_out_equal_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fan_in_and_fan_out(empty(*shape)) == expected
    assert init._calculate_fan_in_and_fan_out is init.fan_in_and_fan_out


@pytest.mark.parametrize("fill, mode, nonlinearity, a", [
    (init.kaiming_uniform_, "fan_in", "leaky_relu", 0),
    (init.kaiming_uniform_, "fan_out", "relu", 0),
    (init.kaiming_uniform_, "fan_in", "leaky_relu", math.sqrt(5)),
    (init.kaiming_normal_, "fan_in", "relu", 0),
    (init.kaiming_normal_, "fan_out", "leaky_relu", 0.2),
    (init.kaiming_normal_, "fan_in", "tanh", 0),
])
def test_kaiming_std_and_bounds_follow_the_formula(fill, mode, nonlinearity, a):
    w = empty(128, 64, 3, 3)
    assert fill(w, a=a, mode=mode, nonlinearity=nonlinearity) is w
    fan_in, fan_out = 64 * 9, 128 * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    assert w.array.std() == pytest.approx(std, rel=0.02) and abs(w.array.mean()) < 0.02 * std
    theirs = torch.empty(128, 64, 3, 3)
    getattr(torch.nn.init, fill.__name__)(theirs, a=a, mode=mode, nonlinearity=nonlinearity)
    assert w.array.std() == pytest.approx(theirs.std().item(), rel=0.03)
    if "uniform" in fill.__name__:
        bound = math.sqrt(3) * std
        assert np.abs(w.array).max() <= bound and np.abs(w.array).max() > 0.99 * bound


@pytest.mark.parametrize("fill", [init.xavier_uniform_, init.xavier_normal_])
@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("relu")])
def test_xavier_std_follows_the_formula(fill, gain):
    w = empty(300, 200, dtype=np.float64)
    fill(w, gain=gain)
    std = gain * math.sqrt(2 / (300 + 200))
    assert w.array.dtype == np.float64
    assert w.array.std() == pytest.approx(std, rel=0.02)
    if fill is init.xavier_uniform_:
        assert np.abs(w.array).max() <= math.sqrt(3) * std


def test_basic_fills_work_in_place_and_keep_dtype():
    w = empty(400, 250)
    array = w.array
    init.uniform_(w, -2.0, 3.0)
    assert w.array is array and w.dtype == np.float32
    assert -2 <= array.min() < -1.9 and 2.9 < array.max() < 3 and array.mean() == pytest.approx(0.5, abs=0.02)
    init.normal_(w, mean=1.0, std=0.5)
    assert array.mean() == pytest.approx(1.0, abs=0.01) and array.std() == pytest.approx(0.5, rel=0.02)
    init.trunc_normal_(w, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert array.min() >= -1 and array.max() <= 2 and array.min() < -0.99 and array.max() > 1.99
    init.constant_(w, 0.25)
    assert np.all(array == np.float32(0.25))
    init.ones_(w)
    assert np.all(array == 1)
    init.zeros_(w)
    assert np.all(array == 0)
    p = nn.Parameter(np.zeros(3))
    assert init.ones_(p) is p and p.dtype == np.float64 and p.requires_grad


def test_generator_argument_and_manual_seed_reproduce_draws():
    first, second = empty(5, 4), empty(5, 4)
    init.kaiming_uniform_(first, generator=np.random.default_rng(7))
    init.kaiming_uniform_(second, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(first.array, second.array)
    cnnlab.manual_seed(11)
    init.xavier_normal_(first)
    cnnlab.manual_seed(11)
    init.xavier_normal_(second)
    np.testing.assert_array_equal(first.array, second.array)
    init.xavier_normal_(second)
    assert not np.array_equal(first.array, second.array)


def test_zero_element_tensors_are_left_alone():
    w = empty(0, 3)
    assert init.kaiming_uniform_(w) is w and init.kaiming_normal_(w) is w


# -------------------------------------------------------- default layer init
@pytest.mark.parametrize("make, fan_in", [
    (lambda nn: nn.Conv2d(16, 32, 5), 16 * 25),
    (lambda nn: nn.Conv1d(6, 4, 3, groups=2), 3 * 3),
    (lambda nn: nn.Conv3d(2, 4, (1, 2, 3)), 2 * 6),
    (lambda nn: nn.ConvTranspose2d(8, 4, 3, groups=2), 2 * 9),   # weight (8, 2, 3, 3): fan_in = size(1) * 9
    (lambda nn: nn.Linear(400, 120), 400),
], ids=["conv2d", "conv1d-groups", "conv3d", "convT-groups", "linear"])
def test_default_init_has_torchs_bounds(make, fan_in):
    cnnlab.manual_seed(0)
    ours, theirs = make(nn), make(torch.nn)
    bound = 1 / math.sqrt(fan_in)
    assert init.fan_in_and_fan_out(ours.weight)[0] == fan_in
    for name in ("weight", "bias"):
        values, reference = getattr(ours, name).array, getattr(theirs, name).detach().numpy()
        assert values.dtype == np.float32 and values.shape == reference.shape
        assert np.abs(values).max() <= bound and np.abs(reference).max() <= bound
        if values.size > 1000:     # enough draws to see the whole range and the spread
            assert np.abs(values).max() > 0.99 * bound
            assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
            assert values.std() == pytest.approx(reference.std(), rel=0.05)


def test_normalization_layers_start_at_identity():
    bn = nn.BatchNorm2d(5)
    assert np.all(bn.weight.array == 1) and np.all(bn.bias.array == 0)
    assert np.all(bn.running_mean.array == 0) and np.all(bn.running_var.array == 1)
    assert bn.num_batches_tracked.item() == 0
    ln = nn.LayerNorm((2, 3))
    assert np.all(ln.weight.array == 1) and np.all(ln.bias.array == 0) and ln.weight.shape == (2, 3)


# ------------------------------------------------------------------ errors
def test_init_errors_name_argument_rule_and_value():
    with raises(ValueError, "calculate_gain", "unsupported nonlinearity='swish'", "relu"):
        init.calculate_gain("swish")
    with raises(ValueError, "calculate_gain", "negative_slope", "param='0.1'"):
        init.calculate_gain("leaky_relu", "0.1")
    with raises(ValueError, "fan_in_and_fan_out", "at least 2 dimensions", "shape (5,)"):
        init.xavier_uniform_(empty(5))
    with raises(ValueError, "kaiming", "mode must be 'fan_in' or 'fan_out'", "mode='fan_avg'"):
        init.kaiming_normal_(empty(3, 3), mode="fan_avg")
    with raises(ValueError, "trunc_normal_", "a < b", "a=1", "b=-1"):
        init.trunc_normal_(empty(3), a=1, b=-1)
