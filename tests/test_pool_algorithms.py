"""The tiled max pool (non-overlapping windows, no window copy) against the general path and PyTorch."""
import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab.ops import pool as ops
from helpers import assert_close, gradcheck

torch = pytest.importorskip("torch")

def tiled(t, kernel):
    """Max pool of ``t`` through the tiled algorithm, forced."""
    nd = len(kernel)
    return ops.max_pool_values(t, kernel, kernel, (0,) * nd, (1,) * nd, False, algorithm="tiled")


SHAPES = [((2, 3, 8, 8), (2, 2)), ((2, 3, 9, 7), (2, 2)), ((1, 2, 9, 10), (3, 2)), ((3, 5, 7), (3,)),
          ((1, 2, 4, 6, 5), (2, 3, 2))]


def _both(x, kernel):
    """(tiled values, general values, their input gradients) under one random upstream gradient."""
    nd = len(kernel)
    results = []
    for op in (lambda t: tiled(t, kernel),
               lambda t: ops.max_pool(t, kernel, kernel, (0,) * nd, (1,) * nd, False)[0]):
        t = cnnlab.Tensor(x, requires_grad=True)
        y = op(t)
        g = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
        y.backward(g)
        results.append((y.array, t.grad.array))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel", SHAPES)
def test_tiled_max_pool_equals_the_general_path(rng, dtype, shape, kernel):
    x = rng.standard_normal(shape).astype(dtype)
    (y1, g1), (y2, g2) = _both(x, kernel)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("shape,kernel", SHAPES)
def test_tiled_max_pool_ties_and_minus_inf_go_to_the_first_tap(rng, shape, kernel):
    x = rng.integers(0, 3, shape).astype(np.float64)
    x[x == 0] = -np.inf
    (y1, g1), (y2, g2) = _both(x, kernel)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


def test_tiled_max_pool_sends_a_nan_windows_gradient_to_its_last_nan_as_torch(rng):
    x = rng.standard_normal((2, 2, 6, 6))
    x[0, 1, 2, 3] = x[0, 1, 3, 3] = x[1, 0, 0, 0] = np.nan
    (y1, g1), (y2, g2) = _both(x, (2, 2))
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    ty.backward(torch.tensor(np.random.default_rng(1).standard_normal(ty.shape)))
    assert_close(y1, ty.detach().numpy(), 0)
    assert_close(g1, tx.grad.numpy(), 0)


def test_tiled_max_pool_gradcheck(rng):
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0  # distinct values: no ties
    gradcheck(lambda t: tiled(t, (2, 3)), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size,ceil_mode", [(8, False), (9, False), (8, True)])
def test_max_pool2d_routes_to_the_tiled_path_and_matches_torch(rng, dtype, size, ceil_mode):
    x = rng.standard_normal((2, 3, size, size)).astype(dtype)
    t = cnnlab.Tensor(x, requires_grad=True)
    y = F.max_pool2d(t, 2, ceil_mode=ceil_mode)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2, ceil_mode=ceil_mode)
    g = rng.standard_normal(ty.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.array, ty.detach().numpy())
    np.testing.assert_array_equal(t.grad.array, tx.grad.numpy())
