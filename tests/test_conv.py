"""conv1d/2d/3d and conv_transpose1d/2d/3d: hand-worked examples, naive loops, finite differences, torch parity."""
import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
import cnnlab.ops.conv as conv_ops
from helpers import check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional
# torch warns that it copies the input for 'same' with even kernels; that is torch's business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
DTYPES = [np.float32, np.float64]


def conv_fns(nd, transposed=False):
    """(ours, torch's) functions for an ``nd``-d convolution or transposed convolution."""
    name = f"conv_transpose{nd}d" if transposed else f"conv{nd}d"
    return getattr(F, name), getattr(TF, name)


def conv_arrays(rng, x_shape, w_shape, bias, out_channels):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    return arrays + [rng.standard_normal(out_channels)] if bias else arrays


def check_conv(rng, nd, x_shape, w_shape, dtype, bias=True, transposed=False, **kwargs):
    """Torch parity of the forward and every gradient (input, weight, bias)."""
    ours, theirs = conv_fns(nd, transposed)
    groups = kwargs.get("groups", 1)
    out_channels = w_shape[1] * groups if transposed else w_shape[0]
    arrays = conv_arrays(rng, x_shape, w_shape, bias, out_channels)
    check_op(lambda *t: ours(*t, **kwargs), lambda *t: theirs(*t, **kwargs), *arrays, dtype=dtype)


# ------------------------------------------------------ naive references (d2l)


def corr2d(X, K):
    """d2l's two-dimensional cross-correlation, one pixel at a time."""
    h, w = K.shape
    Y = np.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def dilate(K, dilation):
    """The kernel with ``dilation - 1`` zeros between its taps."""
    (dh, dw), (h, w) = dilation, K.shape
    spread = np.zeros(((h - 1) * dh + 1, (w - 1) * dw + 1))
    spread[::dh, ::dw] = K
    return spread


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """conv2d as a sum of ``corr2d`` over each group's input channels, then every stride-th output."""
    (ph, pw), (sh, sw) = padding, stride
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    per_group_in, per_group_out = x.shape[1] // groups, w.shape[0] // groups
    out = []
    for sample in x:
        maps = []
        for o in range(w.shape[0]):
            first = o // per_group_out * per_group_in
            Y = sum(corr2d(sample[first + c], dilate(w[o, c], dilation)) for c in range(per_group_in))
            maps.append(Y[::sh, ::sw] + (0 if b is None else b[o]))
        out.append(maps)
    return np.array(out)


def trans_conv(X, K, stride, dilation):
    """d2l's transposed convolution: each input pixel adds a scaled copy of the (dilated) kernel."""
    K = dilate(K, dilation)
    h, w = K.shape
    Y = np.zeros(((X.shape[0] - 1) * stride[0] + h, (X.shape[1] - 1) * stride[1] + w))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i * stride[0]:i * stride[0] + h, j * stride[1]:j * stride[1] + w] += X[i, j] * K
    return Y


def naive_conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1,
                           dilation=(1, 1)):
    """conv_transpose2d from ``trans_conv`` per channel pair; output_padding adds zero rows, padding crops."""
    (ph, pw), (oh, ow) = padding, output_padding
    per_group_in, per_group_out = x.shape[1] // groups, w.shape[1]
    out = []
    for sample in x:
        maps = []
        for o in range(per_group_out * groups):
            g, k = divmod(o, per_group_out)
            Y = sum(trans_conv(sample[c], w[c, k], stride, dilation)
                    for c in range(g * per_group_in, (g + 1) * per_group_in))
            Y = np.pad(Y, ((0, oh), (0, ow)))
            maps.append(Y[ph:Y.shape[0] - ph, pw:Y.shape[1] - pw] + (0 if b is None else b[o]))
        out.append(maps)
    return np.array(out)


# ------------------------------------------------------- hand-worked examples


def test_hand_worked_3x3_example():
    X = cnnlab.Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    K = cnnlab.Tensor(np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    np.testing.assert_array_equal(F.conv2d(X, K).array[0, 0], [[19, 25], [37, 43]])
    np.testing.assert_array_equal(corr2d(X.array[0, 0], K.array[0, 0]), [[19, 25], [37, 43]])


def test_edge_detector():
    X = np.ones((6, 8))
    X[:, 2:6] = 0
    K = np.array([[1.0, -1.0]])
    expected = np.zeros((6, 7))
    expected[:, 1], expected[:, 5] = 1, -1
    Y = F.conv2d(cnnlab.Tensor(X[None, None]), cnnlab.Tensor(K[None, None])).array[0, 0]
    np.testing.assert_array_equal(Y, expected)
    # The transposed image has horizontal edges only: the same kernel sees none.
    Y_t = F.conv2d(cnnlab.Tensor(X.T[None, None].copy()), cnnlab.Tensor(K[None, None])).array[0, 0]
    np.testing.assert_array_equal(Y_t, np.zeros((8, 5)))


def test_learns_the_edge_kernel_back():
    """d2l: gradient descent recovers [1, -1] from the image and its edges."""
    X = np.ones((1, 1, 6, 8))
    X[..., 2:6] = 0
    Y = F.conv2d(cnnlab.Tensor(X), cnnlab.Tensor(np.array([[[[1.0, -1.0]]]]))).array
    K = cnnlab.Tensor(np.zeros((1, 1, 1, 2)), requires_grad=True)
    for _ in range(30):
        loss = ((F.conv2d(cnnlab.Tensor(X), K) - cnnlab.Tensor(Y)) ** 2).sum()
        K.grad = None
        loss.backward()
        K.array -= 3e-2 * K.grad.array
    np.testing.assert_allclose(K.array.ravel(), [1.0, -1.0], atol=1e-2)


def test_conv_transpose_hand_worked():
    # d2l: X = [[0, 1], [2, 3]], K = [[0, 1], [2, 3]] gives [[0, 0, 1], [0, 4, 6], [4, 12, 9]].
    X = cnnlab.Tensor(np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    np.testing.assert_array_equal(F.conv_transpose2d(X, X).array[0, 0], [[0, 0, 1], [0, 4, 6], [4, 12, 9]])


# ------------------------------------------------------------ naive loops


NAIVE_CONV = [
    dict(),
    dict(stride=(2, 1)),
    dict(padding=(1, 2)),
    dict(dilation=(2, 1)),
    dict(stride=(2, 2), padding=(1, 0), dilation=(1, 2)),
    dict(groups=2),
    dict(groups=4),
]


@pytest.mark.parametrize("kwargs", NAIVE_CONV)
def test_conv2d_matches_naive_loops(rng, kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4, 4 // groups, 3, 2)), rng.standard_normal(4)
    ours = F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), cnnlab.Tensor(b), **kwargs).array
    np.testing.assert_allclose(ours, naive_conv2d(x, w, b, **kwargs), atol=1e-12)


NAIVE_TRANSPOSE = [
    dict(),
    dict(stride=(2, 3)),
    dict(stride=(2, 2), padding=(1, 0)),
    dict(stride=(3, 2), output_padding=(2, 1)),
    dict(dilation=(2, 1), padding=(1, 1)),
    dict(groups=2, stride=(2, 1)),
]


@pytest.mark.parametrize("kwargs", NAIVE_TRANSPOSE)
def test_conv_transpose2d_matches_naive_loops(rng, kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(3 * groups)
    ours = F.conv_transpose2d(cnnlab.Tensor(x), cnnlab.Tensor(w), cnnlab.Tensor(b), **kwargs).array
    np.testing.assert_allclose(ours, naive_conv_transpose2d(x, w, b, **kwargs), atol=1e-12)


# ------------------------------------------------------ finite differences

GRADCHECK_CONV = [
    (1, (2, 3, 7), (4, 3, 3), dict(stride=2, padding=1)),
    (1, (1, 4, 6), (4, 1, 2), dict(padding="same", groups=4)),
    (1, (2, 2, 8), (2, 2, 3), dict(dilation=2, stride=2, padding="valid")),
    (2, (2, 3, 5, 4), (2, 3, 3, 2), dict()),
    (2, (1, 2, 5, 6), (3, 2, 1, 1), dict(stride=(2, 3))),
    (2, (1, 4, 5, 5), (4, 2, 2, 3), dict(stride=(1, 2), padding=(1, 0), groups=2)),
    (2, (1, 2, 5, 5), (4, 1, 3, 3), dict(padding="same", dilation=(1, 2), groups=2)),
    (2, (1, 2, 4, 5), (2, 2, 4, 2), dict(padding="same")),
    (2, (1, 3, 6, 5), (2, 3, 2, 2), dict(stride=3, dilation=2, padding=2)),
    (3, (1, 2, 4, 3, 4), (2, 2, 2, 2, 3), dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    (3, (1, 2, 3, 4, 3), (4, 1, 2, 1, 2), dict(padding="same", groups=2)),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", GRADCHECK_CONV)
def test_conv_gradcheck(rng, nd, x_shape, w_shape, kwargs, bias):
    ours = conv_fns(nd)[0]
    gradcheck(lambda *t: ours(*t, **kwargs), *conv_arrays(rng, x_shape, w_shape, bias, w_shape[0]))


GRADCHECK_TRANSPOSE = [
    (1, (2, 3, 4), (3, 2, 3), dict(stride=2, padding=1, output_padding=1)),
    (1, (1, 4, 5), (4, 1, 2), dict(groups=2, dilation=2)),
    (2, (1, 2, 3, 4), (2, 3, 3, 2), dict()),
    (2, (2, 2, 3, 3), (2, 2, 2, 3), dict(stride=(2, 3), padding=(1, 1), output_padding=(1, 2))),
    (2, (1, 4, 3, 2), (4, 1, 3, 3), dict(stride=2, groups=2, dilation=(1, 2), output_padding=(0, 1))),
    (2, (1, 2, 3, 3), (2, 2, 2, 2), dict(stride=1, dilation=3, output_padding=2)),
    (3, (1, 2, 2, 3, 2), (2, 2, 2, 2, 3), dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0))),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", GRADCHECK_TRANSPOSE)
def test_conv_transpose_gradcheck(rng, nd, x_shape, w_shape, kwargs, bias):
    ours = conv_fns(nd, transposed=True)[0]
    out_channels = w_shape[1] * kwargs.get("groups", 1)
    gradcheck(lambda *t: ours(*t, **kwargs), *conv_arrays(rng, x_shape, w_shape, bias, out_channels))


# ---------------------------------------------------------- torch parity


def conv_grid():
    """(nd, x_shape, w_shape, kwargs): kernels 1-5, strides 1-3, every padding kind, dilation, groups."""
    cases = []
    for k in range(1, 6):
        for stride in (1, 2, 3):
            for padding in (0, k // 2, (k // 2, 1), "valid"):
                cases.append((2, (2, 3, 9, 8), (4, 3, k, max(k - 1, 1)), dict(stride=stride, padding=padding)))
        for dilation in (1, 2):
            cases.append((2, (1, 3, 8, 7), (2, 3, k, k), dict(padding="same", dilation=dilation)))
            cases.append((1, (2, 3, 9), (4, 3, k), dict(padding="same", dilation=dilation)))
    cases += [
        (2, (2, 4, 9, 7), (4, 2, 3, 2), dict(groups=2, stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
        (2, (2, 4, 8, 8), (4, 1, 3, 3), dict(groups=4, padding=1)),                     # depthwise
        (2, (1, 3, 8, 6), (6, 1, 3, 3), dict(groups=3, stride=2, padding=1)),             # out = 2 * groups
        (2, (1, 6, 7, 7), (6, 1, 5, 5), dict(groups=6, padding="same")),
        (2, (1, 1, 12, 5), (2, 1, 4, 2), dict(stride=(3, 1), dilation=(2, 2))),          # non-square
        (2, (1, 2, 5, 5), (3, 2, 5, 5), dict()),                                          # kernel = input
        (2, (3, 2, 6, 6), (3, 2, 3, 3), dict(stride=3, dilation=2, padding=3)),
        (1, (2, 4, 11), (6, 2, 3), dict(groups=2, stride=3, dilation=2, padding=2)),
        (1, (1, 2, 10), (2, 2, 4), dict(padding="same", dilation=3)),
        (3, (2, 2, 5, 4, 6), (3, 2, 3, 2, 3), dict(stride=(1, 2, 2), padding=(1, 0, 1))),
        (3, (1, 4, 4, 5, 4), (4, 2, 2, 3, 2), dict(padding="same", groups=2, dilation=(1, 1, 2))),
        (3, (1, 3, 5, 5, 5), (3, 1, 3, 3, 3), dict(groups=3, stride=2, dilation=2, padding=2)),
    ]
    return cases


CONV_GRID = conv_grid()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", CONV_GRID)
def test_conv_matches_torch(rng, nd, x_shape, w_shape, kwargs, dtype):
    check_conv(rng, nd, x_shape, w_shape, dtype, **kwargs)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_without_bias_and_unbatched_match_torch(rng, nd, dtype):
    spatial = (6, 5, 4)[:nd]
    check_conv(rng, nd, (1, 2) + spatial, (3, 2) + (3,) * nd, dtype, bias=False, stride=2, padding=1)
    check_conv(rng, nd, (2,) + spatial, (4, 1) + (2,) * nd, dtype, groups=2, padding="same")


def transpose_grid():
    """(nd, x_shape, w_shape, kwargs) for transposed convolutions."""
    cases = []
    for k in (1, 2, 3, 4):
        for stride in (1, 2, 3):
            for padding in (0, 1):
                if padding < k or stride > 1:
                    cases.append((2, (2, 3, 4, 5), (3, 2, k, k), dict(stride=stride, padding=padding)))
    cases += [
        (2, (1, 3, 5, 4), (3, 2, 3, 3), dict(stride=2, output_padding=1)),
        (2, (1, 3, 5, 4), (3, 2, 3, 3), dict(stride=(3, 2), padding=(1, 2), output_padding=(2, 1))),
        (2, (2, 4, 3, 5), (4, 3, 2, 3), dict(groups=2, stride=2, dilation=(2, 1), output_padding=(1, 0))),
        (2, (1, 4, 4, 4), (4, 1, 3, 3), dict(groups=4, stride=2, padding=1, output_padding=1)),  # depthwise
        (2, (1, 3, 3, 3), (3, 2, 3, 2), dict(stride=1, dilation=3, output_padding=2)),         # op < dilation
        (2, (1, 2, 7, 3), (2, 2, 5, 2), dict(stride=(1, 3), padding=(2, 0))),
        (1, (2, 4, 6), (4, 3, 4), dict(stride=2, padding=1)),
        (1, (1, 4, 5), (4, 1, 3), dict(groups=4, stride=3, dilation=2, output_padding=2)),
        (3, (1, 2, 3, 2, 3), (2, 2, 2, 3, 2), dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0))),
        (3, (1, 4, 2, 3, 2), (4, 1, 3, 2, 2), dict(groups=2, dilation=2, stride=2)),
    ]
    return cases


TRANSPOSE_GRID = transpose_grid()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", TRANSPOSE_GRID)
def test_conv_transpose_matches_torch(rng, nd, x_shape, w_shape, kwargs, dtype):
    check_conv(rng, nd, x_shape, w_shape, dtype, transposed=True, **kwargs)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_without_bias_and_unbatched_match_torch(rng, nd, dtype):
    spatial = (4, 3, 3)[:nd]
    check_conv(rng, nd, (1, 2) + spatial, (2, 3) + (3,) * nd, dtype, bias=False, transposed=True, stride=2)
    check_conv(rng, nd, (4,) + spatial, (4, 1) + (2,) * nd, dtype, transposed=True, groups=2, padding=1)


@pytest.mark.parametrize("transposed", [False, True])
def test_empty_batch_matches_torch(rng, transposed):
    check_conv(rng, 2, (0, 2, 5, 5), (2, 2, 3, 3), np.float32, transposed=transposed, stride=2)


# ------------------------------------------------------------- properties


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(stride=3, dilation=2, groups=2)])
def test_conv_transpose_is_the_adjoint_of_conv(rng, kwargs):
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for every x and y."""
    groups = kwargs.get("groups", 1)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 4 // groups, 3, 3))
    y_shape = F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), **kwargs).shape
    y = rng.standard_normal(y_shape)
    output_padding = tuple((n + 2 * kwargs.get("padding", 0) - kwargs.get("dilation", 1) * 2 - 1)
                           % kwargs.get("stride", 1) for n in x.shape[2:])
    back = F.conv_transpose2d(cnnlab.Tensor(y), cnnlab.Tensor(w), output_padding=output_padding, **kwargs)
    assert back.shape == x.shape
    lhs = (F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), **kwargs).array * y).sum()
    np.testing.assert_allclose(lhs, (x * back.array).sum(), rtol=1e-10)


@pytest.mark.parametrize("transposed", [False, True])
def test_float32_stays_float32(rng, transposed):
    fn = conv_fns(2, transposed)[0]
    x, w, b = (cnnlab.Tensor(a.astype(np.float32), requires_grad=True)
               for a in (rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)))
    y = fn(x, w, b, stride=2, padding=1)
    y.sum().backward()
    assert {y.dtype, x.grad.dtype, w.grad.dtype, b.grad.dtype} == {np.dtype(np.float32)}


def test_same_padding_keeps_the_size_with_the_extra_row_at_the_end():
    x = cnnlab.Tensor(np.arange(25.0).reshape(1, 1, 5, 5))
    w = cnnlab.Tensor(np.zeros((1, 1, 2, 2)))
    w.array[0, 0, 0, 0] = 1  # picks the window's top-left pixel: 'same' shifts nothing
    np.testing.assert_array_equal(F.conv2d(x, w, padding="same").array, x.array)
    w.array[0, 0, 0, 0], w.array[0, 0, 1, 1] = 0, 1  # bottom-right: reads the zero row/column at the end
    expected = np.zeros((5, 5))
    expected[:4, :4] = x.array[0, 0, 1:, 1:]
    np.testing.assert_array_equal(F.conv2d(x, w, padding="same").array[0, 0], expected)


def test_input_gradient_skipped_when_input_does_not_require_grad(rng, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("col2im ran although the input needs no gradient")

    x = cnnlab.Tensor(rng.standard_normal((2, 3, 6, 6)))
    w = cnnlab.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    monkeypatch.setattr(type(cnnlab.backend.active()), "col2im", forbidden)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad is not None


def test_transposed_input_gradient_skipped_when_input_does_not_require_grad(rng, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the input-gradient GEMM ran although the input needs no gradient")

    x = cnnlab.Tensor(rng.standard_normal((2, 3, 4, 4)))
    w = cnnlab.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = F.conv_transpose2d(x, w, stride=2)
    monkeypatch.setattr(conv_ops, "weight_times_cols", forbidden)
    y.sum().backward()
    assert x.grad is None and w.grad is not None


def test_no_graph_under_no_grad(rng):
    x = cnnlab.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = cnnlab.Tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    with cnnlab.no_grad():
        assert not F.conv2d(x, w).requires_grad
        assert not F.conv_transpose2d(x, w).requires_grad


def test_refuses_arrays_and_gradients_accumulate(rng):
    x = cnnlab.from_numpy(rng.standard_normal((1, 2, 5, 5)))
    w_twice = cnnlab.Tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    w_once = cnnlab.Tensor(w_twice.array.copy(), requires_grad=True)
    with raises(TypeError, "conv2d: input must be a cnnlab.Tensor", "cnnlab.from_numpy(...)", "got numpy.ndarray"):
        F.conv2d(x.array, w_twice)
    (F.conv2d(x, w_twice).sum() + F.conv2d(x, w_twice).sum()).backward()
    F.conv2d(x, w_once).sum().backward()
    np.testing.assert_allclose(w_twice.grad.array, 2 * w_once.grad.array, rtol=1e-12)


# ---------------------------------------------------------- error messages


def x4(*shape):
    return cnnlab.Tensor(np.zeros(shape, dtype=np.float32))


CONV_ERRORS = [
    (lambda: F.conv2d(x4(28, 28), x4(1, 1, 3, 3)), ValueError,
     ["conv2d: input must be 3-D (unbatched) or 4-D (batched), got input of shape (28, 28)"]),
    (lambda: F.conv1d(x4(1, 2, 3, 4), x4(1, 2, 3)), ValueError, ["conv1d: input must be 2-D", "3-D", "(1, 2, 3, 4)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3)), ValueError,
     ["conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW)", "got weight of shape (4, 3, 3)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 1, 3, 3), groups=2), ValueError,
     ["conv2d: in_channels must be divisible by groups=2, got 3"]),
    (lambda: F.conv2d(x4(1, 4, 5, 5), x4(5, 2, 3, 3), groups=2), ValueError,
     ["conv2d: out_channels must be divisible by groups=2, got 5"]),
    (lambda: F.conv2d(x4(1, 4, 5, 5), x4(4, 3, 3, 3), groups=2), ValueError,
     ["conv2d: weight.shape[1] * groups must equal in_channels", "weight.shape[1]=3, groups=2 and in_channels=4"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), groups=0), ValueError,
     ["conv2d: groups must be a positive int, got 0"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), groups=1.5), TypeError,
     ["conv2d: groups must be a positive int, got 1.5"]),
    (lambda: F.conv2d(x4(1, 3, 2, 4), x4(4, 3, 3, 3)), ValueError,
     ["conv2d: the kernel must fit in the padded input", "kernel size (3, 3)", "padded input size (2, 4)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), dilation=3), ValueError,
     ["conv2d: the kernel must fit in the padded input", "spanning (7, 7)", "padded input size (5, 5)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), padding=(-1, 0)), ValueError,
     ["conv2d: padding must be a non-negative int, a tuple of 2 non-negative ints, 2 (before, after) pairs such as "
      "((top, bottom), (left, right)), 'valid' or 'same', got (-1, 0)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), stride=(0, 1)), ValueError,
     ["conv2d: stride must be a positive int or a tuple of 2 positive ints, got (0, 1)"]),
    (lambda: F.conv3d(x4(1, 1, 5, 5, 5), x4(1, 1, 3, 3, 3), dilation=-1), ValueError,
     ["conv3d: dilation must be a positive int or a tuple of 3 positive ints, got -1"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), padding="full"), ValueError,
     ["conv2d: padding must be a non-negative int, a tuple of 2 non-negative ints, 2 (before, after) pairs",
      "'valid' or 'same', got 'full'"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), padding=((1, 0), (0, -1))), ValueError,
     ["conv2d: padding must be", "2 (before, after) pairs such as ((top, bottom), (left, right))",
      "got ((1, 0), (0, -1))"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), stride=(1, 1, 1)), ValueError,
     ["conv2d: stride must be a positive int or a tuple of 2 positive ints, got (1, 1, 1)"]),
    (lambda: F.conv1d(x4(1, 3, 5), x4(4, 3, 3), padding=(1, 1)), ValueError,
     ["conv1d: padding must be a non-negative int, a tuple of 1 non-negative ints, 1 (before, after) pair such as "
      "((left, right),), 'valid' or 'same', got (1, 1)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), stride=1.0), TypeError,
     ["conv2d: stride must be a positive int or a tuple of 2 positive ints, got 1.0"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), x4(4, 3, 3, 3), x4(3)), ValueError,
     ["conv2d: bias must have shape (out_channels,) = (4,), got bias of shape (3,)"]),
    (lambda: F.conv2d(x4(1, 3, 5, 5), cnnlab.Tensor(np.zeros((4, 3, 3, 3)))), TypeError,
     ["conv2d: weight must be a tensor of the input's dtype float32, got dtype=float64"]),
    (lambda: F.conv2d(cnnlab.Tensor(np.zeros((1, 3, 5, 5), dtype=np.int64)), x4(4, 3, 3, 3)), TypeError,
     ["conv2d: input must be a float32 or float64 tensor, got dtype=int64"]),
]

TRANSPOSE_ERRORS = [
    (lambda: F.conv_transpose2d(x4(5, 5), x4(1, 1, 3, 3)), ValueError,
     ["conv_transpose2d: input must be 3-D (unbatched) or 4-D (batched), got input of shape (5, 5)"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(3, 2, 3)), ValueError,
     ["conv_transpose2d: weight must be 4-D (in_channels, out_channels/groups, kH, kW)", "(3, 2, 3)"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(4, 2, 3, 3)), ValueError,
     ["conv_transpose2d: weight.shape[0] must equal in_channels, got weight.shape[0]=4 and in_channels=3"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(3, 2, 3, 3), groups=2), ValueError,
     ["conv_transpose2d: in_channels must be divisible by groups=2, got 3"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(3, 2, 3, 3), stride=2, output_padding=2), ValueError,
     ["conv_transpose2d: output_padding must be smaller than either stride=(2, 2) or dilation=(1, 1), got 2"]),
    (lambda: F.conv_transpose1d(x4(1, 3, 5), x4(3, 2, 3), output_padding=1), ValueError,
     ["conv_transpose1d: output_padding must be smaller than either stride=(1,) or dilation=(1,), got 1"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(3, 2, 3, 3), output_padding=-1), ValueError,
     ["conv_transpose2d: output_padding must be a non-negative int or a tuple of 2 non-negative ints, got -1"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 5, 5), x4(3, 2, 3, 3), padding="same"), TypeError,
     ["conv_transpose2d: padding must be a non-negative int or a tuple of 2 non-negative ints, got 'same'"]),
    (lambda: F.conv_transpose2d(x4(1, 3, 1, 1), x4(3, 2, 3, 3), padding=2), ValueError,
     ["conv_transpose2d: the output size must be positive, got output size (0, 0) from input size (1, 1)"]),
    (lambda: F.conv_transpose3d(x4(1, 3, 2, 2, 2), x4(3, 2, 2, 2, 2), stride=(1, 0, 1)), ValueError,
     ["conv_transpose3d: stride must be a positive int or a tuple of 3 positive ints, got (1, 0, 1)"]),
    (lambda: F.conv_transpose2d(x4(1, 4, 5, 5), x4(4, 2, 3, 3), x4(2), groups=2), ValueError,
     ["conv_transpose2d: bias must have shape (out_channels,) = (4,), got bias of shape (2,)"]),
]


@pytest.mark.parametrize("call, error, fragments", CONV_ERRORS + TRANSPOSE_ERRORS)
def test_error_messages(call, error, fragments):
    with raises(error, *fragments):
        call()
