"""The channels-last GEMM convolution against the im2col reference path and PyTorch: forward and all gradients."""

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab.backend.algorithms import ConvGeometry
from cnnlab.backend.numpy_backend.conv import window_layout
from cnnlab.ops import conv as ops
from helpers import assert_close, assert_conv_algorithm_matches, gradcheck

torch = pytest.importorskip("torch")

TOL = {np.float32: 1e-5, np.float64: 1e-12}
# (x shape, weight shape, stride, padding, dilation): both window layouts, odd sides, asymmetric padding
CASES = [
    ((2, 3, 7, 8), (5, 3, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # channels-first windows
    ((2, 16, 6, 5), (4, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),    # channels-last windows
    ((3, 6, 9, 10), (7, 6, 5, 5), (2, 1), ((2, 2), (0, 0)), (1, 1)),     # stride
    ((2, 4, 11, 9), (3, 4, 3, 2), (1, 2), ((1, 1), (2, 2)), (2, 1)),     # dilation, rectangular kernel
    ((1, 1, 5, 5), (2, 1, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # one output position
    ((2, 40, 4, 4), (33, 40, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),   # 1x1
]


def run(algorithm, x, w, b, stride, padding, dilation, g, channels_last_input=False):
    """Output and (input, weight, bias) gradients of ``ops.conv`` through ``algorithm``."""
    if channels_last_input:  # the same values, in the memory layout a channels-last layer hands on
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    xt, wt = cnnlab.Tensor(x, requires_grad=True), cnnlab.Tensor(w, requires_grad=True)
    bt = cnnlab.Tensor(b, requires_grad=True)
    y = ops.conv(xt, wt, bt, stride, padding, dilation, 1, algorithm=algorithm)
    y.backward(g)
    return y.array, xt.grad.array, wt.grad.array, bt.grad.array


@pytest.mark.parametrize("channels_last_input", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation", CASES)
def test_gemm_nhwc_matches_im2col_and_torch(rng, dtype, x_shape, w_shape, stride, padding, dilation,
                                            channels_last_input):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out = ConvGeometry.of(x_shape, w_shape, stride, padding, dilation, 1).out
    g = rng.standard_normal((x_shape[0], w_shape[0]) + out).astype(dtype)
    ours = run("gemm_nhwc", x, w, b, stride, padding, dilation, g, channels_last_input)
    reference = run("im2col", x, w, b, stride, padding, dilation, g)
    assert_conv_algorithm_matches(ours, reference, x, w, b, g, padding, stride, dilation, rtol=TOL[dtype])


def test_gemm_nhwc_output_is_a_channels_last_view(rng):
    x = cnnlab.Tensor(rng.standard_normal((2, 3, 6, 6)))
    w = cnnlab.Tensor(rng.standard_normal((4, 3, 3, 3)))
    y = ops.conv(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, algorithm="gemm_nhwc")
    assert y.shape == (2, 4, 4, 4)
    assert y.array.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("nd", [1, 3])
def test_gemm_nhwc_in_other_dimensions_matches_im2col(rng, nd):
    x = rng.standard_normal((2, 3) + (5,) * nd)
    w = rng.standard_normal((4, 3) + (2,) * nd)
    b = rng.standard_normal(4)
    stride, padding, dilation = (1,) * nd, ((1, 0),) * nd, (1,) * nd
    g = rng.standard_normal((2, 4) + (5,) * nd)
    for mine, ref in zip(run("gemm_nhwc", x, w, b, stride, padding, dilation, g),
                         run("im2col", x, w, b, stride, padding, dilation, g)):
        assert_close(mine, ref, 1e-12)


def test_gemm_nhwc_gradcheck(rng):
    x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal(3)
    gradcheck(lambda a, c, d: ops.conv(a, c, d, (2, 1), ((1, 1), (0, 1)), (1, 1), 1, algorithm="gemm_nhwc"),
              x, w, b)


@pytest.mark.parametrize("requires", [(True, False), (False, True)])
def test_gemm_nhwc_computes_only_the_gradients_needed(rng, requires):
    x = cnnlab.Tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=requires[0])
    w = cnnlab.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=requires[1])
    y = ops.conv(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, algorithm="gemm_nhwc")
    y.sum().backward()
    assert (x.grad is not None, w.grad is not None) == requires


def test_window_layout_rule():
    assert window_layout((8, 64, 26, 26), (3, 3), (24, 24)) == "channels_last"   # 192-number runs vs 24
    assert window_layout((8, 1, 28, 28), (5, 5), (28, 28)) == "channels_first"   # 5-number runs vs 28


def test_a_wide_network_through_the_auto_choice_matches_torch(rng):
    """conv (channels-last output) -> relu -> max pool -> conv -> flatten, as keras_mnist_convnet chains them."""
    x = rng.standard_normal((2, 1, 12, 12)).astype(np.float32)
    w1 = (rng.standard_normal((32, 1, 3, 3)) / 3).astype(np.float32)
    w2 = (rng.standard_normal((40, 32, 3, 3)) / 10).astype(np.float32)
    with cnnlab.using_backend("numpy"):
        assert ops.conv_algorithm(x.shape, w1.shape, (1, 1), ((0, 0), (0, 0)), (1, 1), 1).name == "gemm_nhwc"
    ts = [cnnlab.Tensor(a, requires_grad=True) for a in (x, w1, w2)]
    y = F.conv2d(F.max_pool2d(F.relu(F.conv2d(ts[0], ts[1])), 2), ts[2]).flatten(1)
    y.backward(np.arange(y.array.size, dtype=np.float32).reshape(y.shape) / y.array.size)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w1, w2)]
    tf = torch.nn.functional
    ty = tf.conv2d(tf.max_pool2d(torch.relu(tf.conv2d(tt[0], tt[1])), 2), tt[2]).flatten(1)
    ty.backward(torch.arange(ty.numel(), dtype=torch.float32).reshape(ty.shape) / ty.numel())
    for mine, theirs in zip([y.array] + [t.grad.array for t in ts], [ty.detach()] + [t.grad for t in tt]):
        assert_close(mine, theirs.numpy(), 1e-4)
