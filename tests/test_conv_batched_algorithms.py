"""The per-sample GEMM convolution (``gemm_batched``) against the im2col reference path and PyTorch."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops import blas
from cnnlab.ops import conv as ops
from helpers import assert_close, gradcheck

torch = pytest.importorskip("torch")

TOL = {np.float32: 1e-5, np.float64: 1e-12}
# (x shape, weight shape, stride, padding, dilation, groups): the zoo's narrow layers, odd sides,
# asymmetric padding, stride, dilation, groups
CASES = [
    ((4, 1, 28, 28), (6, 1, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1),   # lenet5 conv1
    ((3, 6, 14, 14), (16, 6, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),  # lenet5 / simple_cnn conv2
    ((2, 3, 32, 32), (6, 3, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),   # simple_cnn conv1
    ((2, 3, 7, 8), (5, 3, 3, 3), (1, 1), ((0, 1), (1, 0)), (1, 1), 1),
    ((3, 6, 9, 10), (7, 6, 5, 5), (2, 1), ((2, 2), (0, 0)), (1, 1), 1),     # stride
    ((2, 4, 11, 9), (3, 4, 3, 2), (1, 2), ((1, 1), (2, 2)), (2, 1), 1),     # dilation, rectangular kernel
    ((2, 6, 7, 7), (6, 2, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 3),      # groups
    ((1, 1, 5, 5), (2, 1, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),      # one output position
]


def run(algorithm, x, w, b, stride, padding, dilation, groups, g):
    """Output and (input, weight, bias) gradients of ``ops.conv`` through ``algorithm``."""
    xt, wt = cnnlab.Tensor(x, requires_grad=True), cnnlab.Tensor(w, requires_grad=True)
    bt = cnnlab.Tensor(b, requires_grad=True)
    y = ops.conv(xt, wt, bt, stride, padding, dilation, groups, algorithm=algorithm)
    y.backward(g)
    return y.data, xt.grad.data, wt.grad.data, bt.grad.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CASES)
def test_gemm_batched_matches_im2col_and_torch(rng, dtype, x_shape, w_shape, stride, padding, dilation, groups):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out = ops.conv_output_shape(x_shape[2:], w_shape[2:], stride, padding, dilation)
    g = rng.standard_normal((x_shape[0], w_shape[0]) + out).astype(dtype)
    ours = run("gemm_batched", x, w, b, stride, padding, dilation, groups, g)
    reference = run("im2col", x, w, b, stride, padding, dilation, groups, g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    padded = torch.nn.functional.pad(tx, (padding[1][0], padding[1][1], padding[0][0], padding[0][1]))
    ty = torch.nn.functional.conv2d(padded, tw, tb, stride=stride, dilation=dilation, groups=groups)
    ty.backward(torch.tensor(g))
    theirs = (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    for mine, ref, torch_ref in zip(ours, reference, theirs):
        assert mine.dtype == dtype
        assert_close(mine, ref, TOL[dtype])
        assert_close(mine, torch_ref, TOL[dtype])


def test_gemm_batched_accepts_a_non_contiguous_output_gradient(rng):
    x, w, b = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    g = np.ascontiguousarray(rng.standard_normal((2, 4, 5, 5)).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    args = ((1, 1), ((1, 0), (0, 0)), (1, 1), 1, g)
    for mine, ref in zip(run("gemm_batched", x, w, b, *args), run("im2col", x, w, b, *args)):
        assert_close(mine, ref, 1e-12)


@pytest.mark.parametrize("nd", [1, 3])
def test_gemm_batched_in_other_dimensions_matches_im2col(rng, nd):
    x = rng.standard_normal((2, 4) + (5,) * nd)
    w = rng.standard_normal((6, 2) + (2,) * nd)
    b = rng.standard_normal(6)
    args = ((1,) * nd, ((1, 0),) * nd, (1,) * nd, 2, rng.standard_normal((2, 6) + (5,) * nd))
    for mine, ref in zip(run("gemm_batched", x, w, b, *args), run("im2col", x, w, b, *args)):
        assert_close(mine, ref, 1e-12)


def test_gemm_batched_gradcheck(rng):
    x, w, b = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 2, 3, 2)), rng.standard_normal(4)
    gradcheck(lambda a, c, d: ops.conv(a, c, d, (2, 1), ((1, 1), (0, 1)), (1, 2), 2, algorithm="gemm_batched"),
              x, w, b)


@pytest.mark.parametrize("requires", [(True, False), (False, True)])
def test_gemm_batched_computes_only_the_gradients_needed(rng, requires):
    x = cnnlab.Tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=requires[0])
    w = cnnlab.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=requires[1])
    y = ops.conv(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, algorithm="gemm_batched")
    y.sum().backward()
    assert (x.grad is not None, w.grad is not None) == requires


def test_gemm_batched_output_is_contiguous_nchw(rng):
    x = cnnlab.Tensor(rng.standard_normal((2, 3, 6, 6)))
    w = cnnlab.Tensor(rng.standard_normal((4, 3, 3, 3)))
    y = ops.conv(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, algorithm="gemm_batched")
    assert y.shape == (2, 4, 4, 4) and y.data.flags.c_contiguous


@pytest.mark.parametrize("a_shape,b_shape", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (6, 4, 5)),
                                             ((4,), (4, 5)), ((3, 4), (4,))])
def test_blas_matmul_equals_numpy_matmul_on_either_side_of_the_threshold(rng, monkeypatch, a_shape, b_shape):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for threshold in (0, 2 ** 40):
        monkeypatch.setattr(blas, "SINGLE_THREAD_FLOPS", threshold)
        np.testing.assert_array_equal(blas.matmul(a, b), a @ b)


def test_blas_matmul_leaves_the_thread_count_alone_outside_the_main_thread(rng, monkeypatch):
    import threading
    calls = []
    if blas._THREADS is not None:
        get, set_ = blas._THREADS
        monkeypatch.setattr(blas, "_THREADS", (get, lambda n: (calls.append(n), set_(n))))
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    results = []
    worker = threading.Thread(target=lambda: results.append(blas.matmul(a, b)))
    worker.start()
    worker.join()
    np.testing.assert_array_equal(results[0], a @ b)
    assert calls == []
    if blas._THREADS is not None and blas._THREADS[0]() > 1:  # the main thread pins and restores
        threads = blas._THREADS[0]()
        blas.matmul(a, b)
        assert calls == [1, threads]
