"""Every convolution algorithm against the im2col reference path and PyTorch: forward and all gradients."""

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab.ops import conv as ops
from cnnlab.backend.numpy_backend import winograd
from helpers import assert_close, assert_conv_algorithm_matches, gradcheck

torch = pytest.importorskip("torch")

TOL = {np.float32: 1e-5, np.float64: 1e-12}
# (batch, in channels, height, width, out channels, padding): odd and even output sides, asymmetric padding
SHAPES = [(2, 3, 7, 8, 5, (0, 0)), (1, 4, 6, 6, 3, (1, 1)), (2, 2, 5, 9, 2, (0, 1)), (3, 1, 3, 3, 1, (0, 0)),
          (1, 5, 4, 11, 6, (2, 1)), (2, 16, 10, 9, 8, (1, 0))]


def run(algorithm, x, w, b, padding, g):
    """Output and (input, weight, bias) gradients of ``ops.conv`` through ``algorithm``."""
    xt, wt = cnnlab.Tensor(x, requires_grad=True), cnnlab.Tensor(w, requires_grad=True)
    bt = cnnlab.Tensor(b, requires_grad=True)
    pads = tuple((p, p) for p in padding)
    y = ops.conv(xt, wt, bt, (1, 1), pads, (1, 1), 1, algorithm=algorithm)
    y.backward(g)
    return y.array, xt.grad.array, wt.grad.array, bt.grad.array


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,c,h,width,o,padding", SHAPES)
def test_winograd_matches_im2col_and_torch(rng, dtype, n, c, h, width, o, padding):
    x = rng.standard_normal((n, c, h, width)).astype(dtype)
    w = rng.standard_normal((o, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    out = (h + 2 * padding[0] - 2, width + 2 * padding[1] - 2)
    g = rng.standard_normal((n, o) + out).astype(dtype)
    ours = run("winograd", x, w, b, padding, g)
    reference = run("im2col", x, w, b, padding, g)
    assert_conv_algorithm_matches(ours, reference, x, w, b, g, tuple((p, p) for p in padding), rtol=TOL[dtype])


@pytest.mark.parametrize("needs", [(True, False), (False, True)])
def test_winograd_computes_only_the_gradients_needed(rng, needs):
    x, w = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 3))
    y, backward = winograd.conv3x3(cnnlab.backend.active(), x, w, needs)
    gx, gw = backward(np.ones_like(y))
    assert (gx is not None, gw is not None) == needs


def test_winograd_gradcheck(rng):
    x, w = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    gradcheck(lambda a, b: ops.conv(a, b, None, (1, 1), ((1, 1), (0, 0)), (1, 1), 1, algorithm="winograd"), x, w)


def test_winograd_transforms_are_adjoint_pairs(rng):
    """<T a, b> == <a, T* b> for the input, weight and output transforms (what backward relies on)."""
    x = rng.standard_normal((2, 3, 8, 6))
    tiles = (3, 2)
    v = rng.standard_normal((16, 3, 2 * 3 * 2))
    assert np.isclose((winograd.input_transform(x, tiles) * v).sum(),
                      (x * winograd.input_transform_adjoint(v, x.shape, tiles)).sum())
    w, u = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((16, 4, 3))
    assert np.isclose((winograd.weight_transform(w) * u).sum(), (w * winograd.weight_transform_adjoint(u)).sum())
    m, y = rng.standard_normal((16, 4, 12)), rng.standard_normal((2, 4, 6, 4))
    assert np.isclose((winograd.output_transform(m, 2, tiles, (6, 4)) * y).sum(),
                      (m * winograd.output_transform_adjoint(y, tiles)).sum())


@pytest.mark.parametrize("stride,dilation,groups,kernel,channels,expected", [
    ((1, 1), (1, 1), 1, (3, 3), 128, "winograd"),
    ((1, 1), (1, 1), 1, (3, 3), 127, "gemm_nhwc"),   # too few channels for Winograd
    ((2, 2), (1, 1), 1, (3, 3), 128, "gemm_nhwc"),   # stride
    ((1, 1), (2, 2), 1, (3, 3), 128, "gemm_nhwc"),   # dilation
    ((1, 1), (1, 1), 2, (3, 3), 128, "im2col"),      # groups
    ((1, 1), (1, 1), 1, (5, 5), 128, "gemm_nhwc"),   # kernel size
    ((1, 1), (1, 1), 1, (5, 5), 16, "im2col"),       # narrow
])
def test_the_numpy_backends_choice_is_a_fixed_rule_on_shapes(stride, dilation, groups, kernel, channels, expected):
    x_shape, w_shape = (8, channels, 12, 12), (channels, channels // groups) + kernel
    with cnnlab.using_backend("numpy"):
        assert choice(x_shape, w_shape, stride, dilation, groups) == expected
        assert choice((8, 16, 12), (16, 16, 3), (1,), (1,), 1) == "im2col"  # 1-D


def choice(x_shape, w_shape, stride, dilation, groups):
    """The name of the algorithm the active backend picks for an unpadded convolution."""
    return ops.conv_algorithm(x_shape, w_shape, stride, ((0, 0),) * len(stride), dilation, groups).name


def test_conv2d_through_the_auto_choice_matches_torch(rng):
    """A layer wide enough for Winograd, through the public API."""
    x = rng.standard_normal((2, 128, 6, 5)).astype(np.float32)
    w = (rng.standard_normal((128, 128, 3, 3)) / 30).astype(np.float32)
    with cnnlab.using_backend("numpy"):
        assert choice(x.shape, w.shape, (1, 1), (1, 1), 1) == "winograd"
    xt, wt = cnnlab.Tensor(x, requires_grad=True), cnnlab.Tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, padding=1)
    y.sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, padding=1)
    ty.sum().backward()
    for mine, theirs in ((y.array, ty.detach().numpy()), (xt.grad.array, tx.grad.numpy()),
                         (wt.grad.array, tw.grad.numpy())):
        assert_close(mine, theirs, 1e-4)
