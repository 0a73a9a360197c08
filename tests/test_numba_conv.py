"""The compiled 2-D convolution for narrow layers: PyTorch parity, finite differences, ``applies``, errors.

Every case runs in float32 and float64; the forward output and all three
gradients are compared with ``torch.nn.functional.conv2d`` under one random
output gradient, to ``helpers.TOL`` relative to the reference's scale.
"""
import numpy as np
import pytest

numba = pytest.importorskip("numba")
torch = pytest.importorskip("torch")

from cnnlab.backend.numba_kernels import conv  # noqa: E402
from helpers import TOL, assert_close, raises  # noqa: E402

DTYPES = [np.float32, np.float64]

# (x shape, w shape, stride, ((top, bottom), (left, right)), dilation): the awkward cases
CASES = [
    ((2, 3, 7, 9), (4, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),      # odd sizes, 'same' padding
    ((2, 1, 28, 28), (6, 1, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1)),    # lenet5's first layer, C = 1
    ((2, 3, 9, 8), (5, 3, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),      # stride 2
    ((2, 2, 11, 10), (3, 2, 4, 3), (3, 3), ((0, 1), (2, 0)), (1, 1)),    # stride 3, asymmetric padding
    ((2, 3, 8, 7), (4, 3, 3, 3), (1, 1), ((0, 1), (2, 0)), (1, 1)),      # asymmetric padding, stride 1
    ((2, 3, 10, 9), (4, 3, 3, 2), (1, 1), ((2, 2), (2, 2)), (2, 2)),     # dilation 2
    ((1, 2, 12, 11), (2, 2, 3, 3), (2, 1), ((1, 0), (0, 2)), (2, 2)),    # mixed strides and dilation, N = 1
    ((2, 2, 9, 12), (3, 2, 2, 3), (1, 2), ((0, 0), (1, 1)), (1, 1)),     # horizontal stride only
    ((2, 5, 6, 7), (3, 5, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # 1x1 kernel
    ((2, 4, 7, 7), (3, 4, 1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1)),      # 1x1 kernel, stride 2
    ((3, 2, 5, 5), (4, 2, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),      # kernel equal to the input
    ((1, 1, 6, 6), (1, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),      # N = C = O = 1
    ((2, 10, 40, 40), (10, 10, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)), # several row blocks per sample
    ((2, 16, 30, 29), (16, 16, 3, 3), (2, 1), ((1, 1), (1, 1)), (1, 1)), # row blocks with vertical stride
    ((2, 16, 20, 33), (12, 16, 3, 3), (1, 2), ((1, 1), (0, 0)), (1, 1)), # row blocks with horizontal stride
]


def torch_reference(x, w, b, g, stride, padding, dilation):
    """``(y, gx, gw, gb)`` of torch's conv2d, the padding applied by ``F.pad`` (it may be asymmetric)."""
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    padded = torch.nn.functional.pad(tx, padding[1] + padding[0])
    y = torch.nn.functional.conv2d(padded, tw, tb, stride, dilation=dilation)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def random_case(x_shape, w_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CASES)
def test_matches_torch(x_shape, w_shape, stride, padding, dilation, dtype):
    x, w, b = random_case(x_shape, w_shape, dtype)
    y = conv.conv2d_forward(x, w, b, stride, padding, dilation)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    grads = conv.conv2d_backward(g, x, w, stride, padding, dilation, True, True, True)
    for ours, ref in zip((y,) + grads, torch_reference(x, w, b, g, stride, padding, dilation)):
        assert ours.dtype == dtype
        assert_close(ours, ref, TOL[dtype])


def test_output_and_input_gradient_are_c_contiguous_nchw():
    x, w, b = random_case((2, 3, 8, 8), (4, 3, 3, 3), np.float32)
    y = conv.conv2d_forward(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1))
    gx, _, _ = conv.conv2d_backward(np.ones_like(y), x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), True, False, False)
    assert y.shape == (2, 4, 8, 8) and y.flags.c_contiguous
    assert gx.shape == x.shape and gx.flags.c_contiguous


def test_accepts_the_channels_last_view():
    x, w, b = random_case((2, 3, 9, 7), (4, 3, 3, 3), np.float32)
    view = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    args = ((2, 1), ((1, 0), (0, 1)), (1, 1))
    np.testing.assert_array_equal(conv.conv2d_forward(view, w, b, *args), conv.conv2d_forward(x, w, b, *args))
    g = np.ones((2, 4, 5, 6), np.float32)
    for ours, ref in zip(conv.conv2d_backward(g, view, w, *args, True, True, True),
                         conv.conv2d_backward(g, x, w, *args, True, True, True)):
        np.testing.assert_array_equal(ours, ref)


def test_without_bias_and_only_the_gradients_asked_for():
    x, w, b = random_case((2, 3, 7, 6), (2, 3, 3, 2), np.float64)
    args = ((1, 1), ((1, 1), (0, 1)), (1, 1))
    y = conv.conv2d_forward(x, w, None, *args)
    g = np.random.default_rng(2).standard_normal(y.shape)
    ref = torch_reference(x, w, np.zeros(2), g, *args)
    assert_close(y, ref[0], TOL[np.float64])
    assert conv.conv2d_backward(g, x, w, *args, False, False, False) == (None, None, None)
    for flags in ((True, False, False), (False, True, False), (False, False, True)):
        grads = conv.conv2d_backward(g, x, w, *args, *flags)
        for wanted, ours, expected in zip(flags, grads, ref[1:]):
            if wanted:
                assert_close(ours, expected, TOL[np.float64])
            else:
                assert ours is None


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_count_does_not_change_the_result(threads):
    x, w, b = random_case((3, 2, 9, 9), (3, 2, 3, 3), np.float64)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1))
    g = np.random.default_rng(3).standard_normal((3, 3, 9, 9))
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        ours = (conv.conv2d_forward(x, w, b, *args),) + conv.conv2d_backward(g, x, w, *args, True, True, True)
    finally:
        numba.set_num_threads(before)
    for mine, ref in zip(ours, torch_reference(x, w, b, g, *args)):
        assert_close(mine, ref, TOL[np.float64])


def test_gradients_are_bit_identical_whichever_thread_takes_which_sample():
    """Partial sums are per sample and reduced in sample order: training is reproducible to the bit."""
    x, w, b = random_case((16, 3, 12, 12), (6, 3, 5, 5), np.float32)
    args = ((1, 1), ((2, 2), (2, 2)), (1, 1))
    g = np.random.default_rng(4).standard_normal((16, 6, 12, 12)).astype(np.float32)
    before, runs = numba.get_num_threads(), []
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS, 1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            runs.append(conv.conv2d_backward(g, x, w, *args, True, True, True))
    finally:
        numba.set_num_threads(before)
    for run in runs[1:]:
        for mine, first in zip(run, runs[0]):
            np.testing.assert_array_equal(mine, first)


def test_gradients_match_central_differences():
    x, w, b = random_case((1, 2, 5, 4), (2, 2, 3, 2), np.float64)
    stride, padding, dilation = (2, 1), ((0, 1), (2, 0)), (1, 2)
    y = conv.conv2d_forward(x, w, b, stride, padding, dilation)
    r = np.random.default_rng(4).standard_normal(y.shape)
    grads = conv.conv2d_backward(r, x, w, stride, padding, dilation, True, True, True)

    def objective(x, w, b):
        return float((conv.conv2d_forward(x, w, b, stride, padding, dilation) * r).sum())
    arrays = [x, w, b]
    for k, analytic in enumerate(grads):
        numeric = np.zeros_like(arrays[k])
        for j in range(arrays[k].size):
            plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
            plus[k].reshape(-1)[j] += 1e-6
            minus[k].reshape(-1)[j] -= 1e-6
            numeric.reshape(-1)[j] = (objective(*plus) - objective(*minus)) / 2e-6
        assert_close(analytic, numeric, 1e-6)


def test_applies_to_narrow_one_group_2d_layers():
    assert conv.applies((128, 1, 28, 28), (6, 1, 5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1)
    assert conv.applies((128, 6, 14, 14), (16, 6, 5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert conv.applies((128, 10, 62, 62), (10, 10, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert not conv.applies((128, 64, 12, 12), (128, 64, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert not conv.applies((128, 32, 12, 12), (8, 32, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert not conv.applies((128, 6, 14, 14), (6, 3, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 2)
    assert not conv.applies((128, 6, 14), (6, 6, 3), (1,), ((0, 0),), (1,), 1)


def test_refuses_a_kernel_larger_than_the_padded_input():
    x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 5, 3), np.float32)
    with raises(ValueError, "padded input must hold one dilated kernel", "(1, 1, 4, 4)", "kernel (5, 3)"):
        conv.conv2d_forward(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1))
