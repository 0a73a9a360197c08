"""The compiled (Numba) kernels: PyTorch parity for pooling and ReLU, naive references for im2col, adjoints.

Every kernel runs in float32 and float64 on both activation layouts (C-contiguous
NCHW and the channels-last view of an NHWC buffer). Max pooling and im2col
copy numbers, so they must match exactly; sums match to round-off.
"""
import numpy as np
import pytest

pytest.importorskip("numba")
torch = pytest.importorskip("torch")

from cnnlab.backend.numba_kernels import elementwise, pool, window  # noqa: E402
from cnnlab.shapes import conv_output_size  # noqa: E402

TF = torch.nn.functional
DTYPES = [np.float32, np.float64]
LAYOUTS = ["nchw", "nhwc"]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}

# (shape, kernel, stride, padding, dilation, ceil_mode): the awkward cases of a 2-D window
POOL_CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),     # the zoo's 2x2 pool
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), True),      # odd sizes, ceil_mode keeps a hanging window
    ((2, 3, 7, 8), (3, 3), (2, 2), (1, 1), (1, 1), True),      # overlap, padding at its maximum, ceil_mode
    ((1, 1, 9, 7), (2, 3), (3, 4), (1, 1), (1, 1), True),      # stride > kernel, N = C = 1
    ((2, 2, 9, 10), (3, 3), (1, 2), (1, 1), (2, 2), False),    # dilation 2, stride 1 overlap
    ((2, 2, 6, 7), (3, 2), (2, 1), (1, 1), (2, 3), True),      # dilation 3, ceil_mode
    ((2, 5, 6, 5), (4, 4), (3, 3), (2, 2), (1, 1), True),      # kernel 4 with padding 2
    ((3, 4, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1), False),     # 1x1 images, kernel 1
    ((1, 2, 5, 5), (1, 1), (2, 2), (0, 0), (1, 1), True),      # kernel 1, stride 2
    ((2, 3, 1, 1), (2, 2), (2, 2), (1, 1), (1, 1), True),      # 1x1 images inside padding
]
AVG_CASES = [case for case in POOL_CASES if case[4] == (1, 1)]


def in_layout(x, layout):
    """``x (N, C, H, W)`` as C-contiguous NCHW or as the channels-last view of an NHWC buffer."""
    if layout == "nchw":
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def assert_layout(array, layout):
    buffer = array if layout == "nchw" else array.transpose(0, 2, 3, 1)
    assert buffer.flags.c_contiguous


def with_specials(rng, shape, dtype):
    """Small integers (many ties), a NaN, and a plane of -inf."""
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    x.flat[rng.integers(x.size)] = np.nan
    if shape[0] * shape[1] > 1:
        x[-1, -1] = -np.inf
    return x


def ties(rng, shape, dtype):
    return rng.integers(-2, 3, size=shape).astype(dtype)


# --------------------------------------------------------------- max pool
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_pool2d_matches_torch_exactly(rng, case, dtype, layout):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    for x in (ties(rng, shape, dtype), with_specials(rng, shape, dtype)):
        values, indices = pool.max_pool2d(in_layout(x, layout), kernel, stride, padding, dilation, ceil_mode)
        expected, expected_indices = TF.max_pool2d(torch.tensor(x), kernel, stride, padding, dilation, ceil_mode,
                                                   return_indices=True)
        assert values.dtype == dtype and indices.dtype == np.int64
        np.testing.assert_array_equal(values, expected.numpy())
        np.testing.assert_array_equal(indices, expected_indices.numpy())
        np.testing.assert_array_equal(
            pool.max_pool2d_values(in_layout(x, layout), kernel, stride, padding, dilation, ceil_mode), values)
        assert_layout(values, layout)
        assert_layout(indices, layout)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_pool2d_backward_matches_autograd(rng, case, dtype, layout):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    x = torch.tensor(ties(rng, shape, dtype), requires_grad=True)
    y, indices = TF.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(torch.tensor(g))
    grad = pool.max_pool2d_backward(in_layout(g, layout), in_layout(indices.numpy(), "nchw"), shape)
    assert grad.dtype == dtype and grad.shape == shape
    assert_layout(grad, layout)
    np.testing.assert_allclose(grad, x.grad.numpy(), **TOLERANCE[dtype])


def test_max_pool2d_indices_in_the_other_layout(rng):
    x = ties(rng, (2, 3, 6, 6), np.float32)
    values, indices = pool.max_pool2d(x, (3, 3), (1, 1), (1, 1), (1, 1), False)
    g = rng.standard_normal(values.shape).astype(np.float32)
    expected = pool.max_pool2d_backward(g, indices, x.shape)
    np.testing.assert_array_equal(pool.max_pool2d_backward(in_layout(g, "nhwc"), indices, x.shape), expected)


def test_any_other_layout_is_copied_first(rng):
    x = rng.standard_normal((4, 3, 6, 6))
    strided = x[::2, :, ::-1]
    values, indices = pool.max_pool2d(strided, (2, 2), (2, 2), (0, 0), (1, 1), False)
    expected, expected_indices = TF.max_pool2d(torch.tensor(strided.copy()), 2, return_indices=True)
    np.testing.assert_array_equal(values, expected.numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())


# ----------------------------------------------------------- average pool
@pytest.mark.parametrize("case", AVG_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("count_include_pad, divisor_override", [(True, None), (False, None), (True, 3)])
def test_avg_pool2d_matches_torch(rng, case, dtype, layout, count_include_pad, divisor_override):
    shape, kernel, stride, padding, _, ceil_mode = case
    x = torch.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    y = TF.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ours = pool.avg_pool2d(in_layout(x.detach().numpy(), layout), kernel, stride, padding, ceil_mode,
                           count_include_pad, divisor_override)
    assert ours.dtype == dtype
    assert_layout(ours, layout)
    np.testing.assert_allclose(ours, y.detach().numpy(), **TOLERANCE[dtype])
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(torch.tensor(g))
    grad = pool.avg_pool2d_backward(in_layout(g, layout), shape, kernel, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override)
    assert grad.dtype == dtype and grad.shape == shape
    assert_layout(grad, layout)
    np.testing.assert_allclose(grad, x.grad.numpy(), **TOLERANCE[dtype])


def test_avg_pool2d_propagates_nan_and_inf(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    x[0, 0, 0, 0], x[0, 1, 3, 3] = np.nan, -np.inf
    for layout in LAYOUTS:
        ours = pool.avg_pool2d(in_layout(x, layout), (2, 2), (2, 2), (0, 0), False, True, None)
        np.testing.assert_array_equal(ours, TF.avg_pool2d(torch.tensor(x), 2).numpy())


# ------------------------------------------------------- im2col references
def reference_windows(x, kernel, stride, padding, dilation, out):
    """A view ``(N, C, OH, OW, kh, kw)`` of the windows of the zero-padded ``x``."""
    padded = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    s = padded.strides
    strides = s[:2] + (s[2] * stride[0], s[3] * stride[1], s[2] * dilation[0], s[3] * dilation[1])
    return np.lib.stride_tricks.as_strided(padded, x.shape[:2] + tuple(out) + tuple(kernel), strides)


def reference_im2col(x, kernel, stride, padding, dilation, groups, out):
    """The NumPy reference's layout: ``(G, C/G * K, N * L)``, rows ``(c, ki, kj)``, columns ``(n, oh, ow)``."""
    windows = reference_windows(x, kernel, stride, padding, dilation, out).transpose(1, 4, 5, 0, 2, 3)
    return np.ascontiguousarray(windows).reshape(groups, -1, x.shape[0] * out[0] * out[1])


def reference_im2col_channels_last(x, kernel, stride, padding, dilation, out):
    """``(N * L, K * C)``: rows ``(n, oh, ow)``, columns ``(ki, kj, c)``."""
    windows = reference_windows(x, kernel, stride, padding, dilation, out).transpose(0, 2, 3, 4, 5, 1)
    return np.ascontiguousarray(windows).reshape(x.shape[0] * out[0] * out[1], -1)


def reference_col2im(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of :func:`reference_im2col`: one strided slice addition per tap, then the padding dropped."""
    batch, channels, height, width = input_shape
    (top, bottom), (left, right) = padding
    windows = cols.reshape(channels, kernel[0], kernel[1], batch, out[0], out[1])
    grad = np.zeros((batch, channels, height + top + bottom, width + left + right), dtype=cols.dtype)
    for ki in range(kernel[0]):
        for kj in range(kernel[1]):
            rows = slice(ki * dilation[0], ki * dilation[0] + stride[0] * (out[0] - 1) + 1, stride[0])
            columns = slice(kj * dilation[1], kj * dilation[1] + stride[1] * (out[1] - 1) + 1, stride[1])
            grad[:, :, rows, columns] += windows[:, ki, kj].transpose(1, 0, 2, 3)
    return grad[:, :, top:top + height, left:left + width]


# (shape, kernel, stride, padding ((top, bottom), (left, right)), dilation, groups)
WINDOW_CASES = [
    ((2, 3, 28, 28), (5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), 1),   # lenet5 conv1
    ((2, 4, 7, 9), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 2),     # odd sizes, groups
    ((1, 1, 9, 8), (2, 3), (3, 4), ((1, 0), (1, 1)), (1, 1), 1),     # stride > kernel, asymmetric padding
    ((2, 2, 9, 10), (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1),    # dilation 2
    ((3, 4, 1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 4),     # 1x1 images, kernel 1, depthwise
    ((2, 3, 1, 1), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),     # 1x1 images, all but one tap in padding
    ((2, 5, 6, 6), (4, 4), (2, 2), ((2, 2), (2, 2)), (1, 1), 1),     # kernel 4 with padding 2
]


def window_output(case):
    shape, kernel, stride, padding, dilation, _ = case
    return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation))


@pytest.mark.parametrize("case", WINDOW_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_im2col_matches_reference_exactly(rng, case, dtype, layout):
    shape, kernel, stride, padding, dilation, groups = case
    out = window_output(case)
    x = rng.standard_normal(shape).astype(dtype)
    cols = window.im2col(in_layout(x, layout), kernel, stride, padding, dilation, groups, out)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, reference_im2col(x, kernel, stride, padding, dilation, groups, out))
    cols = window.im2col_channels_last(in_layout(x, layout), kernel, stride, padding, dilation, out)
    np.testing.assert_array_equal(cols, reference_im2col_channels_last(x, kernel, stride, padding, dilation, out))


@pytest.mark.parametrize("case", WINDOW_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_col2im_matches_reference(rng, case, dtype):
    shape, kernel, stride, padding, dilation, groups = case
    out = window_output(case)
    rows = shape[1] * kernel[0] * kernel[1]
    cols = rng.standard_normal((groups, rows // groups, shape[0] * out[0] * out[1])).astype(dtype)
    grad = window.col2im(cols, shape, kernel, stride, padding, dilation, out)
    assert grad.dtype == dtype and grad.flags.c_contiguous
    expected = reference_col2im(cols, shape, kernel, stride, padding, dilation, out)
    np.testing.assert_allclose(grad, expected, **TOLERANCE[dtype])
    cols_last = rng.standard_normal((shape[0] * out[0] * out[1], rows)).astype(dtype)
    grad = window.col2im_channels_last(cols_last, shape, kernel, stride, padding, dilation, out)
    assert grad.dtype == dtype and grad.shape == shape
    assert_layout(grad, "nhwc")
    # the channels-last columns are the reference's, permuted
    permuted = cols_last.reshape(shape[0], out[0] * out[1], kernel[0] * kernel[1], shape[1]).transpose(3, 2, 0, 1)
    expected = reference_col2im(permuted.reshape(rows, -1), shape, kernel, stride, padding, dilation, out)
    np.testing.assert_allclose(grad, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("case", WINDOW_CASES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_col2im_is_the_adjoint_of_im2col(rng, case, layout):
    shape, kernel, stride, padding, dilation, groups = case
    out = window_output(case)
    x = in_layout(rng.standard_normal(shape), layout)
    c = rng.standard_normal((groups, shape[1] * kernel[0] * kernel[1] // groups, shape[0] * out[0] * out[1]))
    left = np.vdot(window.im2col(x, kernel, stride, padding, dilation, groups, out), c)
    right = np.vdot(x, window.col2im(c, shape, kernel, stride, padding, dilation, out))
    np.testing.assert_allclose(left, right, rtol=1e-12)
    c = rng.standard_normal((shape[0] * out[0] * out[1], shape[1] * kernel[0] * kernel[1]))
    left = np.vdot(window.im2col_channels_last(x, kernel, stride, padding, dilation, out), c)
    right = np.vdot(x, window.col2im_channels_last(c, shape, kernel, stride, padding, dilation, out))
    np.testing.assert_allclose(left, right, rtol=1e-12)


def test_im2col_copies_any_other_layout_first(rng):
    x = rng.standard_normal((2, 3, 7, 5))[:, :, ::-1, ::2]
    args = ((2, 2), (1, 1), ((1, 0), (0, 1)), (1, 1))
    out = (7, 3)
    np.testing.assert_array_equal(window.im2col(x, *args, 1, out), reference_im2col(x.copy(), *args, 1, out))
    np.testing.assert_array_equal(window.im2col_channels_last(x, *args, out),
                                  reference_im2col_channels_last(x.copy(), *args, out))


# ------------------------------------------------------------ element-wise
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_relu_in_place(rng, dtype, layout, with_bias):
    y = in_layout(rng.standard_normal((2, 3, 5, 4)).astype(dtype), layout)
    y[0, 1, 2, 3] = np.nan
    bias = rng.standard_normal(3).astype(dtype) if with_bias else None
    expected = TF.relu(torch.tensor(y.copy()) + (torch.tensor(bias).reshape(-1, 1, 1) if with_bias else 0)).numpy()
    assert elementwise.bias_relu_(y, bias) is y
    np.testing.assert_array_equal(y, expected)
    assert_layout(y, layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_relu_is_a_new_array_in_the_inputs_layout(rng, dtype, layout):
    x = in_layout(rng.standard_normal((2, 3, 5, 4)).astype(dtype), layout)
    x[0, 1, 2, 3], x[1, 0, 0, 0] = np.nan, -np.inf
    before = x.copy()
    y = elementwise.relu(x)
    np.testing.assert_array_equal(y, TF.relu(torch.tensor(before)).numpy())
    np.testing.assert_array_equal(x, before)  # the input is left alone
    assert_layout(y, layout)


def test_bias_relu_in_place_on_any_strides(rng):
    base = rng.standard_normal((2, 3, 6, 4))
    y = base[:, :, ::2]
    bias = rng.standard_normal(3)
    expected = np.maximum(y + bias[:, None, None], 0)
    elementwise.bias_relu_(y, bias)
    np.testing.assert_array_equal(base[:, :, ::2], expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("grad_layout, y_layout", [("nchw", "nchw"), ("nhwc", "nhwc"), ("nhwc", "nchw")])
def test_relu_backward_matches_autograd(rng, dtype, grad_layout, y_layout):
    x = torch.tensor(rng.integers(-2, 3, size=(2, 3, 5, 4)).astype(dtype), requires_grad=True)
    y = torch.relu(x)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(torch.tensor(g))
    grad = elementwise.relu_backward(in_layout(g, grad_layout), in_layout(y.detach().numpy(), y_layout))
    np.testing.assert_array_equal(grad, x.grad.numpy())
    assert_layout(grad, grad_layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 1), (130, 6, 3, 3)])
def test_bias_grad_sums_all_but_channels(rng, dtype, layout, shape):
    g = rng.standard_normal(shape).astype(dtype)
    grad = elementwise.bias_grad(in_layout(g, layout))
    assert grad.dtype == dtype and grad.shape == (shape[1],)
    np.testing.assert_allclose(grad, g.astype(np.float64).sum(axis=(0, 2, 3)), **TOLERANCE[dtype])


# ------------------------------------------------------------------ errors
def test_errors_name_the_argument_and_the_value(rng):
    x = rng.standard_normal((3, 4, 5))
    with pytest.raises(ValueError, match=r"max_pool2d: x must be 4-D \(N, C, H, W\), but got shape \(3, 4, 5\)"):
        pool.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    with pytest.raises(ValueError, match="bias_grad: grad_out must be 4-D"):
        elementwise.bias_grad(x)
    with pytest.raises(ValueError, match=r"im2col: groups must be a positive divisor of the 4 input channels, "
                                         r"but got groups=3"):
        window.im2col(np.zeros((1, 4, 5, 5)), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 3, (5, 5))
    g = np.zeros((1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"indices must have grad_out's shape \(1, 1, 2, 2\), but got \(1, 1, 2\)"):
        pool.max_pool2d_backward(g, np.zeros((1, 1, 2), np.int64), (1, 1, 4, 4))
    with pytest.raises(ValueError, match="relu_backward: grad_out and y must have the same shape"):
        elementwise.relu_backward(g, np.zeros((1, 1, 2, 3)))
