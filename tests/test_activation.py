"""Activations, softmax, linear, flatten, one_hot, dropout and erf: finite differences, naive loops, torch parity."""
import math

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab import Tensor
from cnnlab.ops.activation import erf
from helpers import assert_close, check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]

# (name, kwargs): the same name in cnnlab.functional and torch.nn.functional (or torch).
ELEMENTWISE = [
    ("relu", {}), ("relu6", {}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("leaky_relu", {"negative_slope": -1.5}),
    ("elu", {}), ("elu", {"alpha": 0.5}),
    ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("sigmoid", {}), ("tanh", {}),
    ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 1.0}), ("softplus", {"beta": 0.5}),
    ("silu", {}),
]
CASE_IDS = [name + "".join(f"-{k}={v}" for k, v in kwargs.items()) for name, kwargs in ELEMENTWISE]


def ours(name, **kwargs):
    return lambda x: getattr(F, name)(x, **kwargs)


def theirs(name, **kwargs):
    function = getattr(torch, name) if name in ("sigmoid", "tanh") else getattr(TF, name)
    return lambda x: function(x, **kwargs)


# ------------------------------------------------------------ scalar references
def _gelu(v, approximate="none"):
    if approximate == "tanh":
        return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


SCALAR = {
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "leaky_relu": lambda v, negative_slope=0.01: v if v > 0 else negative_slope * v,
    "elu": lambda v, alpha=1.0: v if v > 0 else alpha * (math.exp(v) - 1),
    "gelu": _gelu,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "tanh": math.tanh,
    "softplus": lambda v, beta=1.0, threshold=20.0: v if beta * v > threshold else math.log1p(math.exp(beta * v)) / beta,
    "silu": lambda v: v / (1 + math.exp(-v)),
}


@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_matches_scalar_loop(name, kwargs):
    x = np.linspace(-8, 8, 161)
    expected = np.array([SCALAR[name](v, **kwargs) for v in x])
    assert_close(getattr(F, name)(Tensor(x), **kwargs).array, expected, 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)])
@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_matches_torch(name, kwargs, shape, dtype, rng):
    x = 3 * rng.standard_normal(shape)
    check_op(ours(name, **kwargs), theirs(name, **kwargs), x, dtype=dtype)


# kinks (0, 6), the softplus threshold, erf's interval ends, and far tails
AWKWARD = np.array([-50, -20, -6, -4, -1e-3, -0.0, 0.0, 1e-3, 0.46875, 1.0, 4.0, 6.0, 7.5, 10, 20, 50])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_awkward_points_match_torch(name, kwargs, dtype):
    check_op(ours(name, **kwargs), theirs(name, **kwargs), AWKWARD, dtype=dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_huge_inputs_do_not_overflow(name, kwargs, dtype):
    x = np.array([-1e4, -800.0, 800.0, 1e4])
    check_op(ours(name, **kwargs), theirs(name, **kwargs), x, dtype=dtype)


@pytest.mark.parametrize("shape", [(5,), (2, 3)])
@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_gradcheck(name, kwargs, shape, rng):
    gradcheck(ours(name, **kwargs), 3 * rng.standard_normal(shape))


@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=CASE_IDS)
def test_elementwise_keeps_float32(name, kwargs, rng):
    x = Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    out = getattr(F, name)(x, **kwargs)
    (grad,) = out._backward(np.ones_like(out.array))
    assert out.dtype == np.float32 and grad.dtype == np.float32


def test_relu_keeps_integers():
    assert F.relu(Tensor([-2, 3])).tolist() == [0, 3]


def test_tensor_methods_match_functional(rng):
    x = Tensor(rng.standard_normal((3, 4)))
    for method, expected in [("relu", F.relu(x)), ("sigmoid", F.sigmoid(x)), ("tanh", F.tanh(x))]:
        np.testing.assert_array_equal(getattr(x, method)().array, expected.array)
    np.testing.assert_array_equal(x.softmax(0).array, F.softmax(x, 0).array)
    np.testing.assert_array_equal(x.log_softmax(dim=-1).array, F.log_softmax(x, -1).array)


@pytest.mark.parametrize("name, args, fragments", [
    ("gelu", {"approximate": "fast"}, ["gelu: approximate must be 'none' or 'tanh', got 'fast'"]),
    ("relu", {"inplace": True}, ["relu: inplace must be False (cnnlab ops never modify their input; "
                                 "use the returned tensor), got True"]),
    ("elu", {"inplace": True}, ["elu: inplace must be False", "got True"]),
    ("softplus", {"beta": 0}, ["softplus: beta must be non-zero, got 0"]),
])
def test_activation_value_errors(name, args, fragments):
    with raises(ValueError, *fragments):
        getattr(F, name)(Tensor([1.0]), **args)


def test_activation_type_errors():
    with raises(TypeError, "sigmoid: input must be a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) or "
                "cnnlab.from_numpy(...)), got list"):
        F.sigmoid([1.0])
    with raises(TypeError, "tanh: input must be a float32 or float64 tensor, got dtype=int64"):
        F.tanh(Tensor([1, 2]))
    with raises(TypeError, "leaky_relu: negative_slope must be a real number, got '0.1'"):
        F.leaky_relu(Tensor([1.0]), "0.1")


# ------------------------------------------------------------------ erf
def test_erf_matches_math_erf_on_dense_grid():
    x = np.concatenate([np.linspace(-30, 30, 120001), np.geomspace(1e-300, 1, 2000), -np.geomspace(1e-300, 1, 2000)])
    expected = np.array([math.erf(v) for v in x])
    relative = np.abs(erf(x) - expected) / np.abs(expected).clip(1e-300)
    assert relative.max() < 1e-15


def test_erf_matches_scipy(rng):
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([5 * rng.standard_normal(10000), rng.uniform(-7, 7, 10000)])
    np.testing.assert_allclose(erf(x), special.erf(x), rtol=1e-15, atol=0)
    x32 = x.astype(np.float32)
    assert erf(x32).dtype == np.float32
    np.testing.assert_allclose(erf(x32), special.erf(x32.astype(np.float64)), rtol=3e-7, atol=1e-7)


def test_erf_special_values():
    out = erf(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 27.0, -100.0]))
    np.testing.assert_array_equal(out[[0, 1, 3, 5, 6]], [1.0, -1.0, 0.0, 1.0, -1.0])
    assert np.isnan(out[2]) and np.signbit(out[4])
    assert erf(np.array(0.5)).shape == () and erf(np.zeros((0, 3))).shape == (0, 3)
    assert erf(np.array([1])).dtype == np.float32


# -------------------------------------------------------------- softmax
def naive_softmax(x, dim):
    """Loop over every 1-d slice along ``dim``."""
    moved = np.moveaxis(x, dim, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        e = [math.exp(v - max(row)) for v in row]
        out[index] = [v / sum(e) for v in e]
    return np.moveaxis(out, -1, dim)


SOFTMAX_CASES = [((5,), 0), ((5,), -1), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), 1),
                 ((2, 3, 4), -1), ((2, 1, 4), 1), ((), 0), ((), -1)]


@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
def test_softmax_matches_loop(shape, dim, rng):
    x = rng.standard_normal(shape)
    assert_close(F.softmax(Tensor(x), dim).array, naive_softmax(x, dim) if shape else np.ones(()), 1e-12)
    assert_close(F.log_softmax(Tensor(x), dim).array, np.log(naive_softmax(x, dim)) if shape else np.zeros(()), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_torch(name, shape, dim, dtype, rng):
    check_op(lambda x: getattr(F, name)(x, dim), lambda x: getattr(TF, name)(x, dim), 2 * rng.standard_normal(shape),
             dtype=dtype)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_large_values_do_not_overflow(name, dim, dtype):
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1e4, 0.0], [1e4, 1e4, -1e4]])
    out = getattr(F, name)(Tensor(x.astype(dtype)), dim)
    assert np.isfinite(out.array).all() and out.dtype == dtype
    check_op(lambda t: getattr(F, name)(t, dim), lambda t: getattr(TF, name)(t, dim), x, dtype=dtype)


@pytest.mark.parametrize("shape, dim", [((4,), 0), ((2, 3), 0), ((2, 3), 1), ((2, 2, 3), -1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradcheck(name, shape, dim, rng):
    gradcheck(lambda x: getattr(F, name)(x, dim), rng.standard_normal(shape))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dim_errors(name):
    x = Tensor(np.zeros((2, 3)))
    with raises(ValueError, f"{name}: dim must be an int in [-2, 1] for a 2-D input, got 2"):
        getattr(F, name)(x, 2)
    with raises(ValueError, f"{name}: dim must be an int in [-2, 1] for a 2-D input, got -3"):
        getattr(F, name)(x, -3)
    with raises(TypeError, f"{name}: dim must be an int in [-2, 1] for a 2-D input, got None"):
        getattr(F, name)(x, None)
    with raises(ValueError, f"{name}: dim must be an int in [-2, 1] for a 2-D input, got 2"):
        getattr(x, name)(2)  # the Tensor methods validate by the same rule


# ---------------------------------------------------------------- linear
def naive_linear(x, w, b):
    """y[..., o] = sum_k x[..., k] w[o, k] + b[o], one output at a time."""
    rows = x.reshape(-1, x.shape[-1])
    out = np.zeros((rows.shape[0], w.shape[0]))
    for i in range(rows.shape[0]):
        for o in range(w.shape[0]):
            out[i, o] = sum(rows[i, k] * w[o, k] for k in range(w.shape[1])) + (0.0 if b is None else b[o])
    return out.reshape(x.shape[:-1] + (w.shape[0],))


LINEAR_SHAPES = [(4,), (3, 4), (2, 3, 4), (2, 1, 3, 4)]


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shape", LINEAR_SHAPES)
def test_linear_matches_loop(shape, with_bias, rng):
    x, w, b = rng.standard_normal(shape), rng.standard_normal((5, 4)), rng.standard_normal(5)
    b = b if with_bias else None
    out = F.linear(Tensor(x), Tensor(w), None if b is None else Tensor(b))
    assert_close(out.array, naive_linear(x, w, b), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shape", LINEAR_SHAPES + [(0, 4)])
def test_linear_matches_torch(shape, with_bias, dtype, rng):
    arrays = [rng.standard_normal(shape), rng.standard_normal((5, 4))] + ([rng.standard_normal(5)] if with_bias else [])
    check_op(F.linear, TF.linear, *arrays, dtype=dtype)


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 2, 3)])
def test_linear_gradcheck(shape, with_bias, rng):
    arrays = [rng.standard_normal(shape), rng.standard_normal((2, 3))] + ([rng.standard_normal(2)] if with_bias else [])
    gradcheck(F.linear, *arrays)


def test_linear_keeps_float32(rng):
    x, w, b = (Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in [(2, 4), (3, 4), (3,)])
    out = F.linear(x, w, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in out._backward(np.ones_like(out.array)))


def test_linear_errors():
    x, w = Tensor(np.zeros((2, 5))), Tensor(np.zeros((3, 4)))
    with raises(ValueError, "linear: input has 5 features but weight expects 4 (weight shape (3, 4))"):
        F.linear(x, w)
    with raises(ValueError, "linear", "weight must be 2-d", "(4,)"):
        F.linear(x, Tensor(np.zeros(4)))
    with raises(ValueError, "linear", "bias must have shape (3,)", "got shape (4,)"):
        F.linear(Tensor(np.zeros((2, 4))), w, Tensor(np.zeros(4)))
    with raises(TypeError, "linear: weight must be a tensor of the input's dtype float64, got dtype=float32"):
        F.linear(Tensor(np.zeros((2, 4))), Tensor(np.zeros((3, 4), np.float32)))
    with raises(TypeError, "linear: weight must be a cnnlab.Tensor", "got numpy.ndarray"):
        F.linear(Tensor(np.zeros((2, 4))), np.zeros((3, 4)))


# --------------------------------------------------------------- flatten
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("start, end", [(0, -1), (1, -1), (1, 2), (-3, -2), (2, 2), (0, 0), (-1, -1)])
def test_flatten_matches_torch(start, end, dtype, rng):
    check_op(lambda x: F.flatten(x, start, end), lambda x: torch.flatten(x, start, end),
             rng.standard_normal((2, 3, 4, 5)), dtype=dtype)


def test_flatten_scalar_and_defaults(rng):
    assert F.flatten(Tensor(3.0)).shape == (1,)
    assert F.flatten(Tensor(np.zeros((2, 3, 4)))).shape == (24,)
    gradcheck(lambda x: F.flatten(x, 1), rng.standard_normal((2, 2, 3)))


def test_flatten_errors():
    x = Tensor(np.zeros((2, 3, 4)))
    with raises(ValueError, "flatten", "start_dim must not come after end_dim", "start_dim=2", "end_dim=1"):
        F.flatten(x, 2, 1)
    with raises(ValueError, "flatten: end_dim must be an int in [-3, 2] for a 3-D input, got 3"):
        F.flatten(x, 0, 3)
    with raises(ValueError, "flatten: start_dim must be an int in [-3, 2] for a 3-D input, got -4"):
        F.flatten(x, -4)


# --------------------------------------------------------------- one_hot
def naive_one_hot(labels, num_classes):
    out = np.zeros(labels.shape + (num_classes,), dtype=np.int64)
    for index in np.ndindex(labels.shape):
        out[index + (labels[index],)] = 1
    return out


@pytest.mark.parametrize("shape, num_classes", [(s, n) for s in [(5,), (2, 3), ()] for n in [-1, 4, 7]] + [((0,), 3)])
def test_one_hot_matches_torch_and_loop(shape, num_classes, rng):
    labels = rng.integers(0, 4, shape)
    out = F.one_hot(Tensor(labels), num_classes)
    expected = TF.one_hot(torch.tensor(labels), num_classes).numpy()
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.array, expected)
    np.testing.assert_array_equal(out.array, naive_one_hot(labels, expected.shape[-1]))


def test_one_hot_errors():
    with raises(ValueError, "one_hot", "non-negative", "minimum of -1"):
        F.one_hot(Tensor([0, -1, 2]), 3)
    with raises(ValueError, "one_hot", "smaller than num_classes=3", "maximum of 5"):
        F.one_hot(Tensor([0, 5]), 3)
    with raises(ValueError, "one_hot: num_classes must be an int >= -1, got -2"):
        F.one_hot(Tensor([0, 1]), -2)
    with raises(ValueError, "one_hot", "empty tensor", "num_classes=-1"):
        F.one_hot(Tensor(np.zeros(0, np.int64)))
    with raises(TypeError, "one_hot: tensor must be a tensor of integer class indices, got dtype=float32"):
        F.one_hot(Tensor([0.0, 1.0]), 2)


# --------------------------------------------------------------- dropout
def test_dropout_is_reproducible_with_a_seed(rng):
    x = Tensor(rng.standard_normal((4, 50)))
    a = F.dropout(x, 0.3, generator=np.random.default_rng(7))
    b = F.dropout(x, 0.3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.array, b.array)
    cnnlab.manual_seed(11)
    c = F.dropout(x, 0.3)
    cnnlab.manual_seed(11)
    np.testing.assert_array_equal(c.array, F.dropout(x, 0.3).array)
    assert not np.array_equal(a.array, F.dropout(x, 0.3, generator=np.random.default_rng(8)).array)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_preserves_the_mean(p):
    n = 200_000
    out = F.dropout(cnnlab.ones(n), p, generator=np.random.default_rng(1)).array
    assert set(np.unique(out)) <= {0.0, np.float32(1 / (1 - p))}
    # each element is 0 or 1/(1-p): mean 1, standard deviation sqrt(p / (1 - p)); allow 5 sigma
    assert abs(out.mean() - 1) < 5 * math.sqrt(p / (1 - p) / n)
    assert abs((out == 0).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_backward_uses_the_forward_mask(p, rng):
    x = Tensor(rng.uniform(1, 2, (3, 4, 5)), requires_grad=True)
    out = F.dropout(x, p, generator=np.random.default_rng(3))
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    mask = out.array / x.array  # 0 or 1/(1-p) at each element
    np.testing.assert_allclose(np.unique(mask.round(12)), [0, 1 / (1 - p)])
    np.testing.assert_allclose(x.grad.array, upstream * mask, rtol=1e-12)


def test_dropout_gradcheck(rng):
    gradcheck(lambda x: F.dropout(x, 0.4, generator=np.random.default_rng(5)), rng.standard_normal((3, 4)))
    gradcheck(lambda x: F.dropout2d(x, 0.4, generator=np.random.default_rng(5)), rng.standard_normal((2, 3, 2, 2)))


def test_dropout_identity_and_extremes(rng):
    x = Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(Tensor(np.ones((1, 2, 3))), 0.5, training=False).shape == (1, 2, 3)
    zeros = F.dropout(x, 1.0)
    assert zeros.dtype == np.float32 and not zeros.array.any()
    zeros.backward(np.ones((3, 4)))
    assert not x.grad.array.any()
    assert F.dropout(x, 0.5).dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 6, 3, 3), (4, 6, 5)])
def test_dropout2d_drops_whole_channels(shape):
    out = F.dropout2d(cnnlab.ones(*shape), 0.5, generator=np.random.default_rng(2)).array
    per_channel = out.reshape(shape[0], shape[1], -1)
    assert (per_channel == per_channel[..., :1]).all()
    assert set(np.unique(per_channel)) == {0.0, 2.0}


@pytest.mark.parametrize("function", [F.dropout, F.dropout2d])
def test_dropout_errors(function):
    x, name = Tensor(np.ones((1, 2, 3))), function.__name__
    with raises(ValueError, f"{name}: p must be a real number in [0, 1], got 1.5"):
        function(x, 1.5)
    with raises(ValueError, f"{name}: p must be a real number in [0, 1], got -0.1"):
        function(x, -0.1)
    with raises(TypeError, f"{name}: p must be a real number in [0, 1], got '0.5'"):
        function(x, "0.5")
    with raises(ValueError, f"{name}: inplace must be False", "got True"):
        function(x, 0.5, True, True)
    with raises(TypeError, f"{name}: generator must be a numpy.random.Generator or None, got int"):
        function(x, 0.5, generator=0)
    with raises(TypeError, f"{name}: input must be a float32 or float64 tensor, got dtype=int64"):
        function(Tensor(np.ones((1, 2, 3), np.int64)), 0.5)


def test_dropout2d_shape_error():
    with raises(ValueError, "dropout2d", "4-d (N, C, H, W) or 3-d (N, C, L)", "(2, 3)"):
        F.dropout2d(Tensor(np.ones((2, 3))))
