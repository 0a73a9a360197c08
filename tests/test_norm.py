"""batch_norm, layer_norm and group_norm: finite differences, naive loops, torch parity, running statistics."""
import math

import numpy as np
import pytest

import cnnlab.functional as F
from cnnlab import Tensor, from_numpy
from helpers import assert_close, check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]
BN_SHAPES = [(4, 3), (4, 3, 5), (3, 2, 3, 4), (2, 2, 3, 2, 2)]


def _affine(rng, channels, affine):
    return [rng.standard_normal(channels), rng.standard_normal(channels)] if affine else []


# ------------------------------------------------------------ batch_norm
def naive_batch_norm(x, mean, var, weight, bias, eps=1e-5):
    """Normalise channel by channel with the given statistics (None: the batch's own, biased)."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c]
        m = values.mean() if mean is None else mean[c]
        v = ((values - m) ** 2).mean() if var is None else var[c]
        out[:, c] = (values - m) / math.sqrt(v + eps) * weight[c] + bias[c]
    return out


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_matches_loop(shape, training, rng):
    x = rng.standard_normal(shape)
    c = shape[1]
    mean, var, weight, bias = rng.standard_normal(c), rng.uniform(0.5, 2, c), rng.standard_normal(c), rng.standard_normal(c)
    out = F.batch_norm(Tensor(x), Tensor(mean.copy()), Tensor(var.copy()), Tensor(weight), Tensor(bias),
                       training=training)
    expected = naive_batch_norm(x, None if training else mean, None if training else var, weight, bias)
    assert_close(out.array, expected, 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_matches_torch(shape, training, affine, dtype, rng):
    c = shape[1]
    mean, var = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)

    def ours(x, *affine_params):
        return F.batch_norm(x, Tensor(mean.copy()), Tensor(var.copy()), *affine_params, training=training)

    def theirs(x, *affine_params):
        return TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), *affine_params, training=training)
    check_op(ours, theirs, 2 * rng.standard_normal(shape) + 1, *_affine(rng, c, affine), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_running_stats_match_torch_after_several_calls(shape, momentum, dtype, rng):
    c = shape[1]
    mean, var = Tensor(np.zeros(c, dtype)), Tensor(np.ones(c, dtype))
    torch_mean, torch_var = torch.tensor(np.zeros(c, dtype)), torch.tensor(np.ones(c, dtype))
    mean_array = mean.array
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        F.batch_norm(Tensor(x), mean, var, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x), torch_mean, torch_var, training=True, momentum=momentum)
    assert mean.array is mean_array and mean.dtype == dtype and var.dtype == dtype  # updated in place
    assert_close(mean.array, torch_mean.numpy(), 1e-5 if dtype == np.float32 else 1e-12)
    assert_close(var.array, torch_var.numpy(), 1e-5 if dtype == np.float32 else 1e-12)


def test_batch_norm_running_var_is_unbiased(rng):
    x = rng.standard_normal((5, 2, 3))
    mean, var = np.zeros(2), np.zeros(2)
    F.batch_norm(Tensor(x), from_numpy(mean), from_numpy(var), training=True, momentum=1.0)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2)))
    np.testing.assert_allclose(var, x.var(axis=(0, 2), ddof=1))


def test_batch_norm_training_output_is_standardised(rng):
    x = Tensor(5 * rng.standard_normal((16, 3, 4, 4)) + 2)
    out = F.batch_norm(x, None, None, training=True).array
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-4)


def test_batch_norm_eval_leaves_running_stats_alone(rng):
    mean, var = rng.standard_normal(3), rng.uniform(1, 2, 3)
    before = mean.copy(), var.copy()
    F.batch_norm(Tensor(rng.standard_normal((4, 3))), from_numpy(mean), from_numpy(var), training=False)
    np.testing.assert_array_equal(mean, before[0])
    np.testing.assert_array_equal(var, before[1])


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2), (2, 2, 3), (2, 2, 2, 2)])
def test_batch_norm_gradcheck(shape, training, affine, rng):
    c = shape[1]
    mean, var = (None, None) if training else (Tensor(rng.standard_normal(c)), Tensor(rng.uniform(0.5, 2, c)))
    gradcheck(lambda x, *p: F.batch_norm(x, mean, var, *p, training=training),
              rng.standard_normal(shape), *_affine(rng, c, affine))


def test_batch_norm_keeps_float32(rng):
    x, w, b = (Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in [(4, 3, 2), (3,), (3,)])
    for training in (True, False):
        out = F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), w, b, training=training)  # float64 stats
        assert out.dtype == np.float32
        assert all(g.dtype == np.float32 for g in out._backward(np.ones_like(out.array)))


def test_batch_norm_errors():
    x = Tensor(np.zeros((4, 3, 5)))
    with raises(ValueError, "batch_norm: running_mean has 4 elements but input has 3 channels", "(4, 3, 5)"):
        F.batch_norm(x, Tensor(np.zeros(4)), Tensor(np.ones(3)))
    with raises(ValueError, "batch_norm: running_var has 2 elements but input has 3 channels"):
        F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(2)))
    with raises(ValueError, "batch_norm", "weight must have shape (3,)", "3 channels", "got shape (2,)"):
        F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), Tensor(np.ones(2)))
    with raises(ValueError, "batch_norm", "bias must have shape (3,)", "got shape (3, 1)"):
        F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), None, Tensor(np.ones((3, 1))))
    for shape in [(1, 3), (1, 3, 1, 1)]:
        with raises(ValueError, "batch_norm", "expected more than 1 value per channel when training", str(shape)):
            F.batch_norm(Tensor(np.zeros(shape)), Tensor(np.zeros(3)), Tensor(np.ones(3)), training=True)
    with raises(ValueError, "batch_norm", "running_var must be given when training=False", "running_var=None"):
        F.batch_norm(x, Tensor(np.zeros(3)), None)
    with raises(ValueError, "batch_norm", "at least 2 dims", "(3,)"):
        F.batch_norm(Tensor(np.zeros(3)), Tensor(np.zeros(3)), Tensor(np.ones(3)))
    with raises(TypeError, "batch_norm: momentum must be a real number, got None"):
        F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), training=True, momentum=None)
    with raises(TypeError, "batch_norm: running_mean must be a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) "
                "or cnnlab.from_numpy(...)), got list"):
        F.batch_norm(x, [0.0, 0.0, 0.0], Tensor(np.ones(3)))
    with raises(TypeError, "batch_norm: running_var must be a cnnlab.Tensor", "got numpy.ndarray"):
        F.batch_norm(x, Tensor(np.zeros(3)), np.ones(3))
    with raises(TypeError, "batch_norm: weight must be a tensor of the input's dtype float64, got dtype=float32"):
        F.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), Tensor(np.ones(3, np.float32)))
    with raises(TypeError, "batch_norm: input must be a float32 or float64 tensor, got dtype=int64"):
        F.batch_norm(Tensor(np.zeros((2, 3), np.int64)), Tensor(np.zeros(3)), Tensor(np.ones(3)))


# ------------------------------------------------------------ layer_norm
def naive_layer_norm(x, k, weight, bias, eps=1e-5):
    """Normalise each sample's trailing ``k`` dims, one sample at a time."""
    out = np.empty_like(x)
    for index in np.ndindex(x.shape[:x.ndim - k]):
        values = x[index]
        m = values.mean()
        v = ((values - m) ** 2).mean()
        out[index] = (values - m) / math.sqrt(v + eps) * (1 if weight is None else weight) + (0 if bias is None else bias)
    return out


LN_CASES = [((2, 3, 4), 4), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 3, 4), [2, 3, 4]), ((5, 6), 6), ((6,), 6)]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, normalized_shape", LN_CASES)
def test_layer_norm_matches_loop(shape, normalized_shape, affine, rng):
    x = rng.standard_normal(shape)
    trailing = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    weight, bias = (rng.standard_normal(trailing), rng.standard_normal(trailing)) if affine else (None, None)
    out = F.layer_norm(Tensor(x), normalized_shape, *([Tensor(weight), Tensor(bias)] if affine else []))
    assert_close(out.array, naive_layer_norm(x, len(trailing), weight, bias), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, normalized_shape", LN_CASES)
def test_layer_norm_matches_torch(shape, normalized_shape, affine, dtype, rng):
    trailing = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    params = [rng.standard_normal(trailing), rng.standard_normal(trailing)] if affine else []
    check_op(lambda x, *p: F.layer_norm(x, normalized_shape, *p, eps=1e-3),
             lambda x, *p: TF.layer_norm(x, trailing, *p, eps=1e-3),
             3 * rng.standard_normal(shape) - 1, *params, dtype=dtype)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, normalized_shape", [((2, 3), 3), ((2, 2, 3), (2, 3))])
def test_layer_norm_gradcheck(shape, normalized_shape, affine, rng):
    trailing = shape[-1:] if isinstance(normalized_shape, int) else normalized_shape
    params = [rng.standard_normal(trailing), rng.standard_normal(trailing)] if affine else []
    gradcheck(lambda x, *p: F.layer_norm(x, normalized_shape, *p), rng.standard_normal(shape), *params)


def test_layer_norm_errors():
    x = Tensor(np.zeros((2, 3, 4)))
    with raises(ValueError, "layer_norm: normalized_shape=(5,) must match the last 1 dims of the input",
                "(2, 3, 4)"):
        F.layer_norm(x, 5)
    with raises(ValueError, "layer_norm", "normalized_shape=(1, 2, 3, 4)", "last 4 dims"):
        F.layer_norm(x, (1, 2, 3, 4))
    with raises(ValueError, "layer_norm: normalized_shape must be a positive int or a non-empty tuple of positive "
                "ints, got ()"):
        F.layer_norm(x, ())
    with raises(ValueError, "layer_norm", "weight must have shape (3, 4)", "got shape (4,)"):
        F.layer_norm(x, (3, 4), Tensor(np.ones(4)))
    with raises(TypeError, "layer_norm: normalized_shape must be a positive int or a non-empty tuple of positive "
                "ints, got None"):
        F.layer_norm(x, None)


# ------------------------------------------------------------ group_norm
def naive_group_norm(x, groups, weight, bias, eps=1e-5):
    """Normalise each (sample, group) block, one block at a time."""
    out = np.empty_like(x)
    size = x.shape[1] // groups
    for n in range(x.shape[0]):
        for g in range(groups):
            block = x[n, g * size:(g + 1) * size]
            m = block.mean()
            v = ((block - m) ** 2).mean()
            out[n, g * size:(g + 1) * size] = (block - m) / math.sqrt(v + eps)
    channel = (1, -1) + (1,) * (x.ndim - 2)
    return out * weight.reshape(channel) + bias.reshape(channel)


GN_CASES = [((2, 6), 3), ((2, 6, 5), 1), ((2, 6, 5), 2), ((2, 6, 3, 3), 3), ((2, 6, 3, 3), 6), ((1, 4, 2, 2, 2), 2)]


@pytest.mark.parametrize("shape, groups", GN_CASES)
def test_group_norm_matches_loop(shape, groups, rng):
    x, weight, bias = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    out = F.group_norm(Tensor(x), groups, Tensor(weight), Tensor(bias))
    assert_close(out.array, naive_group_norm(x, groups, weight, bias), 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, groups", GN_CASES)
def test_group_norm_matches_torch(shape, groups, affine, dtype, rng):
    check_op(lambda x, *p: F.group_norm(x, groups, *p), lambda x, *p: TF.group_norm(x, groups, *p),
             2 * rng.standard_normal(shape) + 1, *_affine(rng, shape[1], affine), dtype=dtype)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, groups", [((2, 4), 2), ((2, 4, 3), 2), ((1, 2, 2, 2), 1)])
def test_group_norm_gradcheck(shape, groups, affine, rng):
    gradcheck(lambda x, *p: F.group_norm(x, groups, *p), rng.standard_normal(shape), *_affine(rng, shape[1], affine))


def test_group_norm_with_one_group_is_layer_norm_over_channels(rng):
    x = Tensor(rng.standard_normal((2, 4, 3, 3)))
    assert_close(F.group_norm(x, 1).array, F.layer_norm(x, (4, 3, 3)).array, 1e-12)


def test_group_norm_errors():
    x = Tensor(np.zeros((2, 6, 4)))
    with raises(ValueError, "group_norm: channels must be divisible by num_groups=4, got 6 (input shape (2, 6, 4))"):
        F.group_norm(x, 4)
    with raises(ValueError, "group_norm: num_groups must be a positive int, got 0"):
        F.group_norm(x, 0)
    with raises(ValueError, "group_norm", "weight must have shape (6,)", "got shape (3,)"):
        F.group_norm(x, 3, Tensor(np.ones(3)))
    with raises(ValueError, "group_norm", "at least 2 dims", "(6,)"):
        F.group_norm(Tensor(np.zeros(6)), 3)
