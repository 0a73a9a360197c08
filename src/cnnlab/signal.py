"""Convolution and correlation of N-D arrays, direct and by FFT, as the notes teach them.

Convolution flips the kernel, correlation slides it as it is::

    convolve(a, v)[n]  = sum_k a[k] * v[n - k]            (the polynomial product)
    correlate(a, v)[n] = sum_k a[n + k] * conj(v[k])       (n runs over every overlap)

CNN layers and image filters compute the correlation and call it convolution;
for a kernel that equals its own flip the two are the same.

Both functions follow ``scipy.signal.convolve`` / ``correlate``: ``'full'``
keeps every overlap, ``'same'`` keeps the centre of the full result with the
shape of ``a``, ``'valid'`` keeps only the positions where one array covers the
other. In 1-D they also equal ``numpy.convolve`` / ``numpy.correlate`` whenever
``len(a) >= len(v)``.
"""
import numpy as np

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")

# Cost model behind method='auto', in seconds; fitted on a 2-core x86-64 machine
# by benchmarks/signal_crossover.py (see benchmarks/RESULTS.md). Direct: one
# multiply-add over the output per tap, looping over its rows; FFT: three real
# FFTs of the padded shape.
DIRECT_FIXED = 2.2e-5
DIRECT_PER_TAP = 1.1e-7
DIRECT_PER_ROW = 3.2e-8
DIRECT_PER_MAC = 3.5e-10
FFT_FIXED = 2.2e-5
FFT_PER_POINT_LOG2 = 1.0e-9
# Up to this many multiply-adds 'auto' always goes direct: both methods then take
# tens of microseconds, and direct keeps small integer-valued examples exact.
DIRECT_BELOW_MACS = 1024


def convolve(a, v, mode="full", method="auto"):
    """N-dimensional convolution of ``a`` with ``v``: flip ``v``, slide it, sum the products.

    Args:
        a: array of shape ``(n1, ..., nd)``, real or complex.
        v: array of shape ``(k1, ..., kd)``, the same number of dimensions as ``a``.
        mode: ``'full'`` (shape ``n + k - 1``), ``'same'`` (shape of ``a``,
            centred: starts at index ``(k - 1) // 2`` of the full result) or
            ``'valid'`` (shape ``max(n, k) - min(n, k) + 1``, needs one array
            at least as large as the other along every axis).
        method: ``'direct'`` (a loop over the taps of the smaller array, each
            tap one whole-array multiply-add), ``'fft'`` (real FFTs at a 2,3,5-smooth
            length, O(N log N)) or ``'auto'`` (whichever a measured cost model
            says is faster; always direct for integers too large for an exact FFT).

    Formula: ``out[n] = sum_k a[k] * v[n - k]`` over every ``k`` where both indices are valid.

    Returns integers for integer inputs (like NumPy), otherwise the common float
    or complex type.

    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> convolve([1, 2, 3], [4, 5, 6])          # (1 + 2x + 3x^2)(4 + 5x + 6x^2)
    array([ 4, 13, 28, 27, 18])
    >>> convolve([1, 2, 3], [1, 0, -1]), correlate([1, 2, 3], [1, 0, -1])
    (array([ 1,  2,  2, -2, -3]), array([-1, -2, -2,  2,  3]))
    """
    a, v = _check_inputs("convolve", a, v, mode, method)
    return _convolve(a, v, mode, method)


def correlate(a, v, mode="full", method="auto"):
    """N-dimensional cross-correlation of ``a`` with ``v``: slide ``v`` unflipped, sum the products.

    Arguments and modes as in :func:`convolve`. ``correlate(a, v)`` equals
    ``convolve(a, conj(v[::-1, ..., ::-1]))``; it is not symmetric in its
    arguments: ``correlate(v, a)`` is ``correlate(a, v)`` reversed and conjugated.

    Formula: ``out[n] = sum_k a[n + k] * conj(v[k])``, ``n`` from ``-(k - 1)`` to ``n - 1`` in 'full'.

    >>> correlate([1, 2, 3], [0, 1, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    >>> convolve([1, 2, 3], [0, 1, 0.5])      # the same kernel, flipped
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> correlate([[1, 2], [3, 4]], [[1, 1]], mode="valid")
    array([[3],
           [7]])
    """
    a, v = _check_inputs("correlate", a, v, mode, method)
    return _convolve(a, np.conj(_flip(v)), mode, method)


def next_fast_len(n):
    """Smallest integer ``>= n`` whose only prime factors are 2, 3 and 5 (a fast FFT length).

    >>> [next_fast_len(n) for n in (1, 7, 11, 97, 1000)]
    [1, 8, 12, 100, 1000]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"next_fast_len: n must be a positive integer, got n={n!r}")
    n = int(n)
    best = 1 << (n - 1).bit_length()  # a power of two is always a candidate
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p2 = p35 << max(0, (-(-n // p35) - 1).bit_length())  # smallest p35 * 2**j >= n
            best = min(best, p2)
            p35 *= 3
        p5 *= 5
    return best


def choose_method(a_shape, v_shape, mode="full"):
    """The method 'auto' picks for real float inputs of these shapes: ``'direct'`` or ``'fft'``.

    Compares the direct cost
    ``DIRECT_FIXED + taps * (DIRECT_PER_TAP + rows * DIRECT_PER_ROW + out * DIRECT_PER_MAC)``
    with the FFT cost ``FFT_FIXED + L * log2(L) * FFT_PER_POINT_LOG2``, where ``out``
    is the output size, ``rows`` the number of output rows (``out`` over the
    last axis length), ``taps`` the size of the smaller array and ``L`` the
    size of the padded FFT grid. Problems of at most ``DIRECT_BELOW_MACS``
    multiply-adds (``taps * out``) always go direct.

    >>> choose_method((1000,), (3,)), choose_method((1000,), (500,))
    ('direct', 'fft')
    """
    taps = min(int(np.prod(a_shape)), int(np.prod(v_shape)))
    shape = _output_shape(tuple(a_shape), tuple(v_shape), mode)
    out = int(np.prod(shape))
    rows = out // shape[-1]
    if taps * out <= DIRECT_BELOW_MACS:
        return "direct"
    axes, fast = _fft_axes(a_shape, v_shape)
    points = int(np.prod(fast)) * int(np.prod([max(n, k) for i, (n, k) in enumerate(zip(a_shape, v_shape))
                                                if i not in axes]))
    direct = DIRECT_FIXED + taps * (DIRECT_PER_TAP + rows * DIRECT_PER_ROW + out * DIRECT_PER_MAC)
    fft = FFT_FIXED + points * np.log2(max(points, 2)) * FFT_PER_POINT_LOG2
    return "fft" if fft < direct else "direct"


def _check_inputs(name, a, v, mode, method):
    if mode not in MODES:
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got mode={mode!r}")
    if method not in METHODS:
        raise ValueError(f"{name}: method must be 'auto', 'direct' or 'fft', got method={method!r}")
    a, v = np.asarray(a), np.asarray(v)
    for arg, x in (("a", a), ("v", v)):
        if x.dtype.kind not in "biufc":
            raise TypeError(f"{name}: {arg} must hold numbers, got dtype={x.dtype}")
        if x.size == 0:
            raise ValueError(f"{name}: {arg} must not be empty, got {arg}.shape={x.shape}")
    if a.ndim != v.ndim:
        raise ValueError(
            f"{name}: a and v must have the same number of dimensions, got a.ndim={a.ndim} and v.ndim={v.ndim}"
        )
    if mode == "valid" and not (_covers(a.shape, v.shape) or _covers(v.shape, a.shape)):
        raise ValueError(
            f"{name}: mode='valid' needs one of a and v to be at least as large as the other along every axis, "
            f"got a.shape={a.shape} and v.shape={v.shape}"
        )
    if a.dtype == bool:
        a = a.astype(np.int64)
    if v.dtype == bool:
        v = v.astype(np.int64)
    return np.atleast_1d(a), np.atleast_1d(v)


def _covers(big, small):
    return all(b >= s for b, s in zip(big, small))


def _flip(x):
    return x[(slice(None, None, -1),) * x.ndim]


def _output_shape(a_shape, v_shape, mode):
    if mode == "full":
        return tuple(n + k - 1 for n, k in zip(a_shape, v_shape))
    if mode == "same":
        return a_shape
    return tuple(abs(n - k) + 1 for n, k in zip(a_shape, v_shape))


def _output_start(a_shape, v_shape, mode):
    """Index in the full result where the kept part begins (scipy's centring)."""
    full = _output_shape(a_shape, v_shape, "full")
    out = _output_shape(a_shape, v_shape, mode)
    return tuple((f - o) // 2 for f, o in zip(full, out))


def _convolve(a, v, mode, method):
    dtype = np.result_type(a, v)
    if method == "auto":
        method = "direct" if not _fft_exact(a, v) else choose_method(a.shape, v.shape, mode)
    out = _convolve_fft(a, v, mode) if method == "fft" else _convolve_direct(a, v, mode)
    if dtype.kind in "iu":
        out = np.rint(out) if method == "fft" else out
    return out.astype(dtype, copy=False)


def _fft_exact(a, v):
    """True unless integer sums could grow so large that the FFT's rounding error reaches 0.5.

    Float64 holds integers to 2**53; the bound 2**40 leaves room for that error.
    """
    if a.dtype.kind not in "iu" or v.dtype.kind not in "iu":
        return True
    bound = float(np.max(np.abs(a))) * float(np.max(np.abs(v))) * min(a.size, v.size)
    return bound < 2.0**40


def _convolve_direct(a, v, mode):
    """Sum over the taps of the smaller array; each tap is one multiply-add of a shifted view."""
    shape = _output_shape(a.shape, v.shape, mode)
    start = _output_start(a.shape, v.shape, mode)
    small, big = (a, v) if a.size < v.size else (v, a)
    # Full index n takes big[n - k] for tap k: pad big just enough for the kept n.
    pads = [
        (max(0, s - 1 - st), max(0, st + n - b))
        for s, b, st, n in zip(small.shape, big.shape, start, shape)
    ]
    padded = np.pad(big, pads) if any(before or after for before, after in pads) else big
    out = np.zeros(shape, dtype=np.result_type(a, v))
    term = np.empty_like(out)
    for tap in np.ndindex(small.shape):
        window = tuple(
            slice(st + before - k, st + before - k + n) for st, (before, _), k, n in zip(start, pads, tap, shape)
        )
        np.multiply(padded[window], small[tap], out=term)
        out += term
    return out


def _fft_axes(a_shape, v_shape):
    """The axes that need a transform (both lengths above 1) and their fast padded lengths."""
    axes = tuple(i for i, (n, k) in enumerate(zip(a_shape, v_shape)) if min(n, k) > 1)
    return axes, tuple(next_fast_len(a_shape[i] + v_shape[i] - 1) for i in axes)


def _convolve_fft(a, v, mode):
    """Multiply the spectra of both arrays zero-padded to a fast length; keep the wanted part.

    Axes where either array has length 1 need no transform: there the product broadcasts.
    """
    axes, fast = _fft_axes(a.shape, v.shape)
    if not axes:
        result = a * v
    elif np.iscomplexobj(a) or np.iscomplexobj(v):
        spectrum = np.fft.fftn(a, fast, axes) * np.fft.fftn(v, fast, axes)
        result = np.fft.ifftn(spectrum, fast, axes)
    else:
        spectrum = np.fft.rfftn(a, fast, axes) * np.fft.rfftn(v, fast, axes)
        result = np.fft.irfftn(spectrum, fast, axes)
    shape = _output_shape(a.shape, v.shape, mode)
    start = _output_start(a.shape, v.shape, mode)
    return result[tuple(slice(st, st + n) for st, n in zip(start, shape))]
