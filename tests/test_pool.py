"""Pooling: naive-loop references, finite differences, PyTorch parity, error messages."""
import itertools

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from helpers import check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional
torch.set_num_threads(1)  # on tiny inputs, waking torch's worker threads costs more than the pooling

DTYPES = [np.float32, np.float64]
SIZES = {1: (9,), 2: (7, 8), 3: (7, 8, 7)}


def distinct(rng, *shape):
    """Distinct values (a shuffled arange, centred), so no window holds a tie."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) / 4


def check_pool(ours, theirs, x, dtype, return_indices=False):
    """``check_op`` (values and gradient); when indices are returned, they and the maxima match exactly."""
    check_op(ours, theirs, x, dtype=dtype)
    if return_indices:
        ours_values, ours_indices = ours(cnnlab.Tensor(x.astype(dtype)))
        torch_values, torch_indices = theirs(torch.tensor(x.astype(dtype)))
        assert ours_indices.dtype == np.int64
        np.testing.assert_array_equal(ours_indices.array, torch_indices.numpy())
        np.testing.assert_array_equal(ours_values.array, torch_values.numpy())


# --------------------------------------------------------- naive references
def corr2d_max(X, k, stride=1, padding=0, dilation=1):
    """Max pool of one plane, one output at a time (the d2l ``pool2d`` loop)."""
    X = np.pad(X, padding, constant_values=-np.inf)
    span = dilation * (k - 1) + 1
    Y = np.zeros(((X.shape[0] - span) // stride + 1, (X.shape[1] - span) // stride + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = X[i * stride:i * stride + span:dilation, j * stride:j * stride + span:dilation].max()
    return Y


def corr2d_avg(X, k, stride=1, padding=0, count_include_pad=True):
    """Average pool of one plane; the divisor counts padding or only the real inputs."""
    real = np.pad(np.ones_like(X), padding)
    X = np.pad(X, padding)
    Y = np.zeros(((X.shape[0] - k) // stride + 1, (X.shape[1] - k) // stride + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = (slice(i * stride, i * stride + k), slice(j * stride, j * stride + k))
            Y[i, j] = X[window].sum() / (k * k if count_include_pad else real[window].sum())
    return Y


def adaptive_reference(X, out, reduce):
    """Adaptive pool of one plane over the windows [floor(i*n/out), ceil((i+1)*n/out))."""
    bounds = [[(i * n // o, -(-(i + 1) * n // o)) for i in range(o)] for n, o in zip(X.shape, out)]
    Y = np.zeros(out)
    for i, (h0, h1) in enumerate(bounds[0]):
        for j, (w0, w1) in enumerate(bounds[1]):
            Y[i, j] = reduce(X[h0:h1, w0:w1])
    return Y


def test_hand_worked_example():
    X = cnnlab.Tensor(np.arange(9.0).reshape(1, 3, 3))
    assert F.max_pool2d(X, 2, stride=1).tolist() == [[[4.0, 5.0], [7.0, 8.0]]]
    assert F.avg_pool2d(X, 2, stride=1).tolist() == [[[2.0, 3.0], [5.0, 6.0]]]


@pytest.mark.parametrize("k,stride,padding,dilation", [
    (2, 2, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 1, 1), (3, 1, 0, 2), (2, 3, 1, 2), (4, 2, 2, 1),
])
def test_max_pool2d_matches_naive_loops(rng, k, stride, padding, dilation):
    X = rng.standard_normal((7, 8))
    ours = F.max_pool2d(cnnlab.Tensor(X[None]), k, stride, padding, dilation)
    np.testing.assert_array_equal(ours.array[0], corr2d_max(X, k, stride, padding, dilation))


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("k,stride,padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 1), (4, 3, 2)])
def test_avg_pool2d_matches_naive_loops(rng, k, stride, padding, count_include_pad):
    X = rng.standard_normal((7, 8))
    ours = F.avg_pool2d(cnnlab.Tensor(X[None]), k, stride, padding, count_include_pad=count_include_pad)
    np.testing.assert_allclose(ours.array[0], corr2d_avg(X, k, stride, padding, count_include_pad), rtol=1e-12)


@pytest.mark.parametrize("shape,out", [((7, 5), (3, 2)), ((6, 6), (4, 1)), ((5, 4), (5, 4)), ((3, 2), (5, 4))])
def test_adaptive_pools_match_naive_loops(rng, shape, out):
    X = rng.standard_normal(shape)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(cnnlab.Tensor(X[None]), out).array[0],
                               adaptive_reference(X, out, np.mean), rtol=1e-12)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(cnnlab.Tensor(X[None]), out).array[0],
                                  adaptive_reference(X, out, np.max))


# ------------------------------------------------------ finite differences
@pytest.mark.parametrize("nd,kernel,stride,padding,dilation,ceil_mode", [
    (1, 3, 1, 1, 1, False), (1, 2, 3, 1, 2, True), (2, 2, 2, 0, 1, False), (2, 3, 1, 1, 1, False),
    (2, (2, 3), (1, 2), (1, 0), (2, 1), True), (2, 3, 2, 1, 1, True), (3, 2, 1, 1, 1, False),
])
def test_max_pool_gradcheck(rng, nd, kernel, stride, padding, dilation, ceil_mode):
    pool = getattr(F, f"max_pool{nd}d")
    x = distinct(rng, 1, 2, *(5,) * nd) if nd < 3 else distinct(rng, 1, 1, 4, 4, 3)
    gradcheck(lambda t: pool(t, kernel, stride, padding, dilation, ceil_mode), x)


@pytest.mark.parametrize("nd,kernel,stride,padding,ceil_mode,count_include_pad,divisor_override", [
    (1, 3, 1, 1, False, True, None), (1, 2, 2, 1, True, False, None), (2, 2, 2, 0, False, True, None),
    (2, 3, 2, 1, True, True, None), (2, (2, 3), (1, 2), (1, 1), True, False, None), (2, 3, 1, 1, False, True, 4),
    (3, 2, 1, 1, True, False, None),
])
def test_avg_pool_gradcheck(rng, nd, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    pool = getattr(F, f"avg_pool{nd}d")
    extra = () if nd == 1 else (divisor_override,)
    x = rng.standard_normal((1, 2, *(5,) * nd) if nd < 3 else (1, 1, 4, 4, 3))
    gradcheck(lambda t: pool(t, kernel, stride, padding, ceil_mode, count_include_pad, *extra), x)


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("nd,size,out", [(1, (7,), 3), (1, (5,), 8), (2, (5, 4), (2, 3)), (2, (6, 4), (4, 2)),
                                         (2, (4, 6), (2, 3)), (3, (3, 4, 3), (2, 2, 1))])
def test_adaptive_pool_gradcheck(rng, kind, nd, size, out):
    pool = getattr(F, f"adaptive_{kind}_pool{nd}d")
    gradcheck(lambda t: pool(t, out), distinct(rng, 1, 2, *size))


# ------------------------------------------------------- PyTorch parity
def max_pool_cases():
    for nd in (1, 2, 3):
        for k, ceil_mode in itertools.product((1, 2, 3, 4), (False, True)):
            strides = sorted({1, k, k + 1}) if nd < 3 else sorted({1, k + 1})
            for stride, padding, dilation in itertools.product(strides, sorted({0, k // 2}), (1, 2)):
                yield nd, k, stride, padding, dilation, ceil_mode


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,kernel,stride,padding,dilation,ceil_mode", list(max_pool_cases()))
def test_max_pool_matches_torch(rng, dtype, nd, kernel, stride, padding, dilation, ceil_mode):
    name = f"max_pool{nd}d"
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args),
               rng.standard_normal((2, 3, *SIZES[nd])), dtype, return_indices=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,ceil_mode", [
    (2, (7, 9), (2, 3), (1, 2), (1, 0), (2, 1), True),
    (2, (6, 5), (3, 1), (3, 1), (1, 0), 1, True),
    (2, (8, 6), (4, 2), (2, 3), (2, 1), (1, 2), False),
    (3, (5, 6, 4), (1, 2, 3), (2, 1, 2), (0, 1, 1), (2, 1, 1), True),
    (1, (6,), 3, 2, 1, 1, True),       # ceil_mode: the last window runs past the padded input
    (2, (5, 5), 2, 2, 1, 1, True),     # ceil_mode drops a window that would start in the right padding
    (2, (4, 4), 4, 1, 0, 1, False),    # one window covers the input
])
def test_max_pool_matches_torch_non_square(rng, dtype, nd, size, kernel, stride, padding, dilation, ceil_mode):
    name = f"max_pool{nd}d"
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args),
               rng.standard_normal((2, 3, *size)), dtype, return_indices=True)


def avg_pool_cases():
    for nd in (1, 2, 3):
        for k, ceil_mode, count_include_pad in itertools.product((1, 2, 3, 4), (False, True), (True, False)):
            strides = sorted({1, k, k + 1}) if nd < 3 else (k + 1,)
            for stride, padding in itertools.product(strides, sorted({0, k // 2})):
                yield nd, k, stride, padding, ceil_mode, count_include_pad, None
    for nd, k, stride, padding in [(2, 3, 2, 1), (2, 2, 1, 0), (3, 2, 2, 1)]:
        for ceil_mode in (False, True):
            yield nd, k, stride, padding, ceil_mode, False, 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,kernel,stride,padding,ceil_mode,count_include_pad,divisor_override",
                         list(avg_pool_cases()))
def test_avg_pool_matches_torch(rng, dtype, nd, kernel, stride, padding, ceil_mode, count_include_pad,
                                divisor_override):
    name = f"avg_pool{nd}d"
    args = (kernel, stride, padding, ceil_mode, count_include_pad) + ((divisor_override,) if nd > 1 else ())
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args),
               rng.standard_normal((2, 3, *SIZES[nd])), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,size,kernel,stride,padding,ceil_mode,count_include_pad", [
    (1, (6,), 3, 2, 1, True, True),    # the last window runs past the padded input: divisor 2, not 3
    (1, (6,), 3, 2, 1, True, False),
    (2, (6, 7), (3, 2), (2, 3), (1, 1), True, True),
    (2, (6, 7), (3, 2), (2, 3), (1, 1), True, False),
    (2, (5, 9), (1, 4), (1, 2), (0, 2), False, True),
    (3, (6, 5, 4), (3, 2, 1), (2, 1, 3), (1, 1, 0), True, True),
])
def test_avg_pool_matches_torch_non_square(rng, dtype, nd, size, kernel, stride, padding, ceil_mode,
                                           count_include_pad):
    name = f"avg_pool{nd}d"
    args = (kernel, stride, padding, ceil_mode, count_include_pad)
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args),
               rng.standard_normal((2, 3, *size)), dtype)


ADAPTIVE_CASES = [
    (1, (7,), 3), (1, (5,), 2), (1, (6,), 4), (1, (8,), 1), (1, (5,), 5), (1, (4,), 6), (1, (8,), 4),
    (2, (7, 5), (3, 2)), (2, (6, 6), 4), (2, (7, 5), 1), (2, (7, 5), (7, 5)), (2, (7, 5), (None, 3)),
    (2, (3, 4), (5, 6)), (2, (8, 6), (4, 3)),
    (3, (5, 6, 4), (2, 4, None)), (3, (4, 4, 6), 2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,size,output_size", ADAPTIVE_CASES)
def test_adaptive_avg_pool_matches_torch(rng, dtype, nd, size, output_size):
    name = f"adaptive_avg_pool{nd}d"
    check_pool(lambda t: getattr(F, name)(t, output_size), lambda t: getattr(TF, name)(t, output_size),
               rng.standard_normal((2, 3, *size)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,size,output_size", ADAPTIVE_CASES)
def test_adaptive_max_pool_matches_torch(rng, dtype, nd, size, output_size):
    name = f"adaptive_max_pool{nd}d"
    check_pool(lambda t: getattr(F, name)(t, output_size, True), lambda t: getattr(TF, name)(t, output_size, True),
               rng.standard_normal((2, 3, *size)), dtype, return_indices=True)


POOLS = [
    ("max_pool1d", (3, 2, 1), (5,)), ("max_pool2d", (3, 2, 1), (5, 6)), ("max_pool3d", (2, 1, 1), (3, 4, 3)),
    ("avg_pool1d", (3, 2, 1), (5,)), ("avg_pool2d", (3, 2, 1), (5, 6)), ("avg_pool3d", (2, 1, 1), (3, 4, 3)),
    ("adaptive_avg_pool1d", (3,), (5,)), ("adaptive_avg_pool2d", ((2, 3),), (5, 6)),
    ("adaptive_avg_pool3d", (2,), (3, 4, 3)),
    ("adaptive_max_pool1d", (3,), (5,)), ("adaptive_max_pool2d", ((2, 3),), (5, 6)),
    ("adaptive_max_pool3d", (2,), (3, 4, 3)),
]


@pytest.mark.parametrize("name,args,size", POOLS)
def test_unbatched_input_matches_torch(rng, name, args, size):
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args),
               rng.standard_normal((3, *size)), np.float64)


@pytest.mark.parametrize("name,args,size", POOLS)
def test_empty_batch(name, args, size):
    x = cnnlab.Tensor(np.zeros((0, 2, *size), dtype=np.float32), requires_grad=True)
    y = getattr(F, name)(x, *args)
    expected = getattr(TF, name)(torch.zeros((0, 2, *size)), *args)
    assert y.shape == tuple(expected.shape)
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("name,args,size", POOLS)
def test_float32_stays_float32(rng, name, args, size):
    x = cnnlab.Tensor(rng.standard_normal((2, 2, *size)).astype(np.float32), requires_grad=True)
    y = getattr(F, name)(x, *args)
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


# --------------------------------------- ties, NaN, -inf: PyTorch's CPU rules
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", [
    ("max_pool2d", (3, 1, 1, 1, False, True)), ("max_pool2d", (2, 1, 0, 2, True, True)),
    ("max_pool1d", (4, 2, 2, 1, True, True)), ("max_pool3d", (2, 1, 1, 1, False, True)),
    ("adaptive_max_pool2d", ((3, 2), True)), ("adaptive_max_pool1d", (3, True)),
])
def test_max_ties_go_to_the_first_position(rng, dtype, name, args):
    nd = int(name[-2])
    x = rng.integers(0, 3, (2, 3, *SIZES[nd])).astype(np.float64)  # many ties in every window
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args), x, dtype,
               return_indices=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # check_op's sums and tolerances over inf and NaN
@pytest.mark.parametrize("name,args", [
    ("max_pool2d", (3, 2, 1, 1, True, True)), ("adaptive_max_pool2d", ((3, 2), True)),
    ("max_pool1d", (2, 1, 1, 2, False, True)),
])
def test_max_pool_nan_and_minus_inf_as_torch(rng, name, args):
    nd = int(name[-2])
    x = rng.standard_normal((2, 3, *SIZES[nd]))
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 4, replace=False)] = -np.inf
    flat[rng.choice(flat.size, flat.size // 8, replace=False)] = np.nan
    x[0, 0] = -np.inf  # a plane of -inf: indices point inside the input, never at padding
    check_pool(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args), x, np.float64,
               return_indices=True)


def test_max_pool_gradient_accumulates_where_windows_overlap():
    x = cnnlab.Tensor(np.array([[[0.0, 5.0, 1.0, 2.0]]]), requires_grad=True)
    F.max_pool1d(x, 3, stride=1).sum().backward()
    assert x.grad.tolist() == [[[0.0, 2.0, 0.0, 0.0]]]


def test_empty_stride_means_kernel_size_as_in_torch(rng):
    x = cnnlab.Tensor(rng.standard_normal((1, 6, 6)))
    np.testing.assert_array_equal(F.max_pool2d(x, 3, stride=()).array, F.max_pool2d(x, 3, stride=3).array)
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, stride=[]).array, F.avg_pool2d(x, 2).array)


def test_return_indices_false_returns_a_tensor(rng):
    x = cnnlab.Tensor(rng.standard_normal((1, 4, 4)))
    assert isinstance(F.max_pool2d(x, 2), cnnlab.Tensor)
    assert isinstance(F.adaptive_max_pool2d(x, 3), cnnlab.Tensor)


# ------------------------------------------------------------------ errors
X2 = cnnlab.Tensor(np.zeros((1, 2, 6, 6), dtype=np.float32))


@pytest.mark.parametrize("call,error,fragments", [
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2), TypeError,
     ("max_pool2d: input must be a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) or cnnlab.from_numpy(...)), "
      "got numpy.ndarray",)),
    (lambda: F.avg_pool2d(cnnlab.Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2), TypeError,
     ("avg_pool2d: input must be a float32 or float64 tensor, got dtype=int64",)),
    (lambda: F.max_pool2d(cnnlab.Tensor(np.zeros((4, 4))), 2), ValueError,
     ("max_pool2d", "input must be 3-D (C, H, W) or 4-D (N, C, H, W)", "input.shape=(4, 4)")),
    (lambda: F.avg_pool1d(X2, 2), ValueError, ("avg_pool1d", "input must be 2-D (C, L) or 3-D (N, C, L)",
                                               "input.shape=(1, 2, 6, 6)")),
    (lambda: F.max_pool3d(cnnlab.zeros(2, 6, 6), 2), ValueError,
     ("max_pool3d", "4-D (C, D, H, W) or 5-D", "input.shape=(2, 6, 6)")),
    (lambda: F.max_pool2d(cnnlab.zeros(1, 2, 0, 4), 2), ValueError,
     ("max_pool2d", "spatial sizes (H, W) must be non-zero", "input.shape=(1, 2, 0, 4)")),
    (lambda: F.max_pool2d(X2, 0), ValueError,
     ("max_pool2d: kernel_size must be a positive int or a tuple of 2 positive ints, got 0",)),
    (lambda: F.avg_pool2d(X2, (2, -1)), ValueError,
     ("avg_pool2d: kernel_size must be a positive int or a tuple of 2 positive ints, got (2, -1)",)),
    (lambda: F.max_pool2d(X2, 2, stride=0), ValueError,
     ("max_pool2d: stride must be a positive int or a tuple of 2 positive ints, got 0",)),
    (lambda: F.max_pool1d(cnnlab.zeros(1, 4), 2, dilation=0), ValueError,
     ("max_pool1d: dilation must be a positive int or a tuple of 1 positive ints, got 0",)),
    (lambda: F.max_pool2d(X2, 2, padding=-1), ValueError,
     ("max_pool2d: padding must be a non-negative int or a tuple of 2 non-negative ints, got -1",)),
    (lambda: F.max_pool2d(X2, 3, padding=2), ValueError,
     ("max_pool2d: padding must be at most half of kernel_size=(3, 3), got 2",)),
    (lambda: F.max_pool2d(X2, 3, padding=2, dilation=2), ValueError,
     ("max_pool2d: padding must be at most half of kernel_size=(3, 3), got 2",)),
    (lambda: F.avg_pool3d(cnnlab.zeros(1, 4, 4, 4), (2, 4, 2), padding=(1, 3, 0)), ValueError,
     ("avg_pool3d: padding must be at most half of kernel_size=(2, 4, 2), got (1, 3, 0)",)),
    (lambda: F.max_pool2d(X2, 8), ValueError, ("max_pool2d", "output size must be at least 1", "kernel_size=8",
                                              "(6, 6)", "output size (0, 0)")),
    (lambda: F.avg_pool1d(cnnlab.zeros(1, 3), 6, padding=1), ValueError,
     ("avg_pool1d", "output size must be at least 1", "kernel_size=6", "padding=1")),
    (lambda: F.max_pool2d(X2, 3, dilation=3), ValueError, ("max_pool2d", "output size must be at least 1",
                                                          "dilation=3")),
    (lambda: F.max_pool1d(cnnlab.zeros(1, 2), 2, stride=1, padding=1, dilation=3), ValueError,
     ("max_pool1d", "every window must see at least one input position", "dilation=3", "padding=1")),
    (lambda: F.max_pool2d(X2, (2, 2, 2)), ValueError,
     ("max_pool2d: kernel_size must be a positive int or a tuple of 2 positive ints, got (2, 2, 2)",)),
    (lambda: F.avg_pool2d(X2, 2, stride=(1, 1, 1)), ValueError,
     ("avg_pool2d: stride must be a positive int or a tuple of 2 positive ints, got (1, 1, 1)",)),
    (lambda: F.max_pool3d(cnnlab.zeros(1, 4, 4, 4), 2, padding=(1, 1)), ValueError,
     ("max_pool3d: padding must be a non-negative int or a tuple of 3 non-negative ints, got (1, 1)",)),
    (lambda: F.max_pool2d(X2, 2.0), TypeError,
     ("max_pool2d: kernel_size must be a positive int or a tuple of 2 positive ints, got 2.0",)),
    (lambda: F.max_pool2d(X2, 2, dilation=(1, True)), TypeError,
     ("max_pool2d: dilation must be a positive int or a tuple of 2 positive ints, got (1, True)",)),
    (lambda: F.avg_pool2d(X2, 2, divisor_override=0), ValueError,
     ("avg_pool2d: divisor_override must be a non-zero int or None, got 0",)),
    (lambda: F.avg_pool3d(cnnlab.zeros(1, 4, 4, 4), 2, divisor_override=1.5), TypeError,
     ("avg_pool3d: divisor_override must be a non-zero int or None, got 1.5",)),
    (lambda: F.adaptive_avg_pool2d(X2, 0), ValueError,
     ("adaptive_avg_pool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got 0",)),
    (lambda: F.adaptive_max_pool1d(cnnlab.zeros(1, 4), -2), ValueError,
     ("adaptive_max_pool1d: output_size must be a positive int or a tuple of 1 positive ints or None, got -2",)),
    (lambda: F.adaptive_max_pool2d(X2, (3, 0)), ValueError,
     ("adaptive_max_pool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got (3, 0)",)),
    (lambda: F.adaptive_avg_pool2d(X2, (2, 2, 2)), ValueError,
     ("adaptive_avg_pool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got (2, 2, 2)",)),
    (lambda: F.adaptive_max_pool2d(X2, (3,)), ValueError,
     ("adaptive_max_pool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got (3,)",)),
    (lambda: F.adaptive_avg_pool1d(cnnlab.zeros(1, 4), 2.5), TypeError,
     ("adaptive_avg_pool1d: output_size must be a positive int or a tuple of 1 positive ints or None, got 2.5",)),
    (lambda: F.adaptive_max_pool2d(X2, None), TypeError,
     ("adaptive_max_pool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got None",)),
    (lambda: F.adaptive_avg_pool2d(cnnlab.zeros(4, 4), 2), ValueError,
     ("adaptive_avg_pool2d", "input must be 3-D (C, H, W) or 4-D (N, C, H, W)", "input.shape=(4, 4)")),
    (lambda: F.adaptive_max_pool3d(cnnlab.zeros(1, 1, 0, 4, 4), 2), ValueError,
     ("adaptive_max_pool3d", "spatial sizes (D, H, W) must be non-zero", "input.shape=(1, 1, 0, 4, 4)")),
])
def test_error_messages(call, error, fragments):
    with raises(error, *fragments):
        call()
