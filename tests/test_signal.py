"""cnnlab.signal against numpy.convolve/correlate (1-D), scipy.signal (N-D) and torch (CNN correlation)."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import signal

scipy_signal = pytest.importorskip("scipy.signal")

MODES = ("full", "same", "valid")
METHODS = ("direct", "fft", "auto")
OPS = {"convolve": (signal.convolve, np.convolve, scipy_signal.convolve),
       "correlate": (signal.correlate, np.correlate, scipy_signal.correlate)}


def random(rng, shape, dtype=np.float64):
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-50, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ the notes' examples


@pytest.mark.parametrize("method", METHODS)
def test_notes_example_kernel(method):
    np.testing.assert_allclose(signal.convolve([1, 2, 3], [0, 1, 0.5], method=method), [0, 1, 2.5, 4, 1.5],
                               atol=1e-12)


def test_auto_is_exact_on_the_small_examples_of_the_notes():
    np.testing.assert_array_equal(signal.convolve([1, 2, 3], [0, 1, 0.5]), [0, 1, 2.5, 4, 1.5])
    np.testing.assert_array_equal(signal.correlate([1, 2, 3], [0, 1, 0.5]), [0.5, 2, 3.5, 3, 0])
    assert signal.choose_method((100,), (9,)) == "direct"  # at most DIRECT_BELOW_MACS multiply-adds


@pytest.mark.parametrize("method", METHODS)
def test_notes_example_polynomial_product(method):
    # (1 + 2x + 3x^2)(4 + 5x + 6x^2) = 4 + 13x + 28x^2 + 27x^3 + 18x^4
    out = signal.convolve([1, 2, 3], [4, 5, 6], method=method)
    assert out.dtype.kind == "i"
    assert out.tolist() == [4, 13, 28, 27, 18]


def test_convolution_flips_the_kernel_and_correlation_does_not():
    a, v = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])
    np.testing.assert_allclose(signal.correlate(a, v), [0.5, 2, 3.5, 3, 0])
    np.testing.assert_allclose(signal.correlate(a, v), signal.convolve(a, v[::-1]))
    symmetric = np.array([1.0, 2.0, 1.0])
    np.testing.assert_allclose(signal.correlate(a, symmetric), signal.convolve(a, symmetric))


def test_convolution_is_commutative_in_full_mode():
    rng = np.random.default_rng(1)
    a, v = random(rng, (6, 5)), random(rng, (3, 4))
    np.testing.assert_allclose(signal.convolve(a, v), signal.convolve(v, a), atol=1e-12)


# ------------------------------------------------------------------ 1-D against numpy


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.complex128])
def test_1d_matches_numpy_when_a_is_at_least_as_long(op, mode, method, dtype):
    ours, numpy_op, _ = OPS[op]
    rng = np.random.default_rng(2)
    for n, k in [(1, 1), (5, 1), (7, 3), (7, 4), (6, 6), (10, 2), (33, 8), (64, 31)]:
        a, v = random(rng, n, dtype), random(rng, k, dtype)
        expected = numpy_op(a, v, mode)
        got = ours(a, v, mode=mode, method=method)
        assert got.shape == expected.shape, (n, k)
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10, err_msg=f"n={n} k={k}")


@pytest.mark.parametrize("method", METHODS)
def test_numpy_quirks_when_the_kernel_is_longer(method):
    """numpy swaps its arguments when len(v) > len(a); we keep scipy's meaning (shape of a in 'same')."""
    rng = np.random.default_rng(3)
    for n, k in [(3, 7), (4, 7), (2, 5), (1, 4)]:
        a, v = random(rng, n, np.complex128), random(rng, k, np.complex128)
        # 'full' and 'valid' agree with numpy whatever the lengths
        for mode in ("full", "valid"):
            np.testing.assert_allclose(signal.convolve(a, v, mode, method), np.convolve(a, v, mode), atol=1e-10)
            np.testing.assert_allclose(signal.correlate(a, v, mode, method), np.correlate(a, v, mode), atol=1e-10)
        # numpy's 'same' has length max(n, k): it is our 'same' with the arguments swapped...
        assert signal.convolve(a, v, "same", method).shape == (n,)
        np.testing.assert_allclose(np.convolve(a, v, "same"), signal.convolve(v, a, "same", method), atol=1e-10)
        # ...and for correlation also reversed and conjugated
        np.testing.assert_allclose(np.correlate(a, v, "same"),
                                   np.conj(signal.correlate(v, a, "same", method))[::-1], atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_correlate_swapping_arguments_reverses_and_conjugates(mode):
    rng = np.random.default_rng(4)
    a, v = random(rng, 9, np.complex128), random(rng, 9, np.complex128)
    np.testing.assert_allclose(signal.correlate(v, a, mode), np.conj(signal.correlate(a, v, mode))[::-1], atol=1e-10)
    np.testing.assert_allclose(np.correlate(v, a, mode), np.conj(np.correlate(a, v, mode))[::-1], atol=1e-10)


# ------------------------------------------------------------------ N-D against scipy

SHAPES_ND = [
    ((8,), (3,)), ((8,), (4,)), ((3,), (8,)), ((9,), (9,)),
    ((6, 7), (3, 3)), ((6, 7), (2, 4)), ((5, 5), (5, 5)), ((3, 4), (6, 7)), ((1, 9), (1, 4)), ((7, 1), (2, 1)),
    ((4, 5, 6), (2, 3, 3)), ((3, 3, 3), (3, 3, 3)), ((2, 3, 2), (4, 5, 3)),
]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("a_shape, v_shape", SHAPES_ND)
def test_nd_matches_scipy(op, mode, method, a_shape, v_shape):
    ours, _, scipy_op = OPS[op]
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.complex128, np.int64):
        a, v = random(rng, a_shape, dtype), random(rng, v_shape, dtype)
        expected = scipy_op(a, v, mode=mode, method="direct")
        got = ours(a, v, mode=mode, method=method)
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    ndim=st.integers(1, 3),
    op=st.sampled_from(sorted(OPS)),
    mode=st.sampled_from(MODES),
    method=st.sampled_from(METHODS),
    complex_=st.booleans(),
)
def test_matches_scipy_on_random_shapes(data, ndim, op, mode, method, complex_):
    a_shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    if mode == "valid":  # one array must cover the other along every axis
        v_shape = tuple(data.draw(st.integers(1, n)) for n in a_shape)
    else:
        v_shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    if mode == "valid" and data.draw(st.booleans()):
        a_shape, v_shape = v_shape, a_shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dtype = np.complex128 if complex_ else np.float64
    a, v = random(rng, a_shape, dtype), random(rng, v_shape, dtype)
    ours, _, scipy_op = OPS[op]
    np.testing.assert_allclose(ours(a, v, mode, method), scipy_op(a, v, mode, method="direct"), rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_large_inputs_match_scipy(method):
    rng = np.random.default_rng(6)
    a, v = rng.standard_normal(5000), rng.standard_normal(301)
    for mode in MODES:
        np.testing.assert_allclose(signal.convolve(a, v, mode, method), scipy_signal.convolve(a, v, mode),
                                   rtol=0, atol=1e-10)
    image, kernel = rng.standard_normal((120, 90)), rng.standard_normal((15, 16))
    np.testing.assert_allclose(signal.correlate(image, kernel, "same", method),
                               scipy_signal.correlate(image, kernel, "same"), rtol=0, atol=1e-10)


def test_float32_stays_float32():
    rng = np.random.default_rng(7)
    a, v = random(rng, (20, 20), np.float32), random(rng, (5, 5), np.float32)
    for method in METHODS:
        out = signal.convolve(a, v, "same", method)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, scipy_signal.convolve(a, v, "same"), rtol=1e-4, atol=1e-4)


def test_integer_fft_is_rounded_back_to_exact_integers():
    rng = np.random.default_rng(8)
    a, v = rng.integers(-1000, 1000, 500), rng.integers(-1000, 1000, 200)
    out = signal.convolve(a, v, method="fft")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, np.convolve(a, v))


def test_auto_uses_direct_for_integers_an_fft_cannot_hold_exactly():
    a = np.full(300, 2**31 + 1, dtype=np.int64)
    v = np.full(300, 3, dtype=np.int64)
    np.testing.assert_array_equal(signal.convolve(a, v), np.convolve(a, v))


def test_bool_inputs_count_as_integers():
    np.testing.assert_array_equal(signal.convolve([True, True], [True, False, True]), [1, 1, 1, 1])


def test_matches_torch_conv1d_and_conv2d_which_correlate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(20), rng.standard_normal(5)
    got = torch.nn.functional.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(signal.correlate(x, w, "valid"), got, atol=1e-10)
    x, w = rng.standard_normal((9, 11)), rng.standard_normal((3, 4))
    got = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(signal.correlate(x, w, "valid"), got, atol=1e-10)


# ------------------------------------------------------------------ next_fast_len and the method choice


def test_next_fast_len_is_the_smallest_5_smooth_length():
    def smooth(n):
        for p in (2, 3, 5):
            while n % p == 0:
                n //= p
        return n == 1

    expected = [next(m for m in itertools.count(n) if smooth(m)) for n in range(1, 3000)]
    assert [signal.next_fast_len(n) for n in range(1, 3000)] == expected
    assert signal.next_fast_len(np.int64(97)) == 100
    scipy_fft = pytest.importorskip("scipy.fft")
    for n in (2**20 + 1, 10**6 + 7, 123_456_789):
        assert signal.next_fast_len(n) == scipy_fft.next_fast_len(n, real=True)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "8"])
def test_next_fast_len_rejects_non_positive_integers(n):
    with pytest.raises(ValueError, match=rf"next_fast_len: n must be a positive integer, got n={n!r}"):
        signal.next_fast_len(n)


def test_choose_method_prefers_direct_for_small_kernels_and_fft_for_large():
    assert signal.choose_method((10_000,), (3,)) == "direct"
    assert signal.choose_method((10_000,), (2_000,)) == "fft"
    assert signal.choose_method((256, 256), (3, 3)) == "direct"
    assert signal.choose_method((256, 256), (31, 31)) == "fft"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("fn, name", [(signal.convolve, "convolve"), (signal.correlate, "correlate")])
def test_error_messages(fn, name):
    with pytest.raises(ValueError, match=rf"^{name}: mode must be 'full', 'same' or 'valid', got mode='middle'$"):
        fn([1, 2], [1], mode="middle")
    with pytest.raises(ValueError, match=rf"^{name}: method must be 'auto', 'direct' or 'fft', got method='fast'$"):
        fn([1, 2], [1], method="fast")
    with pytest.raises(ValueError, match=rf"^{name}: a and v must have the same number of dimensions, "
                                         r"got a.ndim=1 and v.ndim=2$"):
        fn([1, 2], [[1]])
    with pytest.raises(ValueError, match=rf"^{name}: v must not be empty, got v.shape=\(0,\)$"):
        fn([1, 2], [])
    with pytest.raises(ValueError, match=rf"^{name}: mode='valid' needs one of a and v to be at least as large as "
                                         r"the other along every axis, got a.shape=\(3, 5\) and v.shape=\(4, 2\)$"):
        fn(np.ones((3, 5)), np.ones((4, 2)), mode="valid")
    with pytest.raises(TypeError, match=rf"^{name}: a must hold numbers, got dtype=<U1$"):
        fn(["a", "b"], [1])
