"""pad: every mode, asymmetric and negative pads; NumPy's np.pad, finite differences, torch parity."""
import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab.ops.conv import pad_source_index
from helpers import check_op, gradcheck, raises

torch = pytest.importorskip("torch")
MODES = ["constant", "reflect", "replicate", "circular"]
NUMPY_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
DTYPES = [np.float32, np.float64]

# (input shape, pad): torch's pad order, last dim first; torch's non-constant modes need
# a batched or unbatched input for the 1, 2 or 3 padded dims.
CASES = [
    ((2, 3, 6), (2, 1)),
    ((3, 6), (0, 3)),
    ((2, 3, 5, 6), (1, 2, 3, 0)),
    ((1, 2, 5, 6), (4, 4, 2, 2)),
    ((3, 5, 6), (0, 0, 1, 4)),
    ((1, 2, 4, 3, 5), (1, 0, 2, 2, 0, 3)),
    ((2, 4, 3, 5), (2, 1, 0, 2, 1, 1)),
]
NEGATIVE_CASES = [
    ((2, 3, 6), (-2, 3)),
    ((2, 3, 6), (3, -1)),
    ((1, 2, 5, 6), (-1, -2, 2, -1)),
    ((1, 2, 5, 6), (2, -3, -1, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, pads", CASES + NEGATIVE_CASES)
@pytest.mark.parametrize("mode", MODES)
def test_pad_matches_torch(rng, mode, shape, pads, dtype):
    check_op(lambda x: F.pad(x, pads, mode=mode), lambda x: torch.nn.functional.pad(x, pads, mode=mode),
             rng.standard_normal(shape), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pads", [(1, 2), (-1, 2, 3, 0), (0, 0, 0, 0, 2, 1)])
def test_constant_value_matches_torch(rng, pads, dtype):
    check_op(lambda x: F.pad(x, pads, value=-2.5), lambda x: torch.nn.functional.pad(x, pads, value=-2.5),
             rng.standard_normal((2, 3, 4, 5)), dtype=dtype)


@pytest.mark.parametrize("shape, pads", CASES + [((3, 4, 5), (1, 1, 2, 0, 2, 1))])
@pytest.mark.parametrize("mode", MODES)
def test_pad_matches_numpy(rng, mode, shape, pads):
    x = rng.standard_normal(shape)
    pairs = [(0, 0)] * (x.ndim - len(pads) // 2) + [(pads[i], pads[i + 1]) for i in range(len(pads) - 2, -1, -2)]
    np.testing.assert_array_equal(F.pad(cnnlab.Tensor(x), pads, mode=mode).array,
                                  np.pad(x, pairs, mode=NUMPY_MODES[mode]))


@pytest.mark.parametrize("shape, pads", [((2, 4, 5), (2, 1, 0, 3)), ((1, 3, 4), (-1, 3, 2, -1)), ((5,), (3, 4))])
@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck(rng, mode, shape, pads):
    gradcheck(lambda x: F.pad(x, pads, mode=mode, value=1.5 if mode == "constant" else 0.0), rng.standard_normal(shape))


def test_pad_source_index_by_hand():
    # Along a dim [a, b, c, d] padded (2, 3); reflect gives c b | a b c d | c b a:
    np.testing.assert_array_equal(pad_source_index(4, 2, 3, "reflect"), [2, 1, 0, 1, 2, 3, 2, 1, 0])
    np.testing.assert_array_equal(pad_source_index(4, 2, 3, "replicate"), [0, 0, 0, 1, 2, 3, 3, 3, 3])
    np.testing.assert_array_equal(pad_source_index(4, 2, 3, "circular"), [2, 3, 0, 1, 2, 3, 0, 1, 2])


def test_replicate_gradient_collects_at_the_edge():
    x = cnnlab.Tensor(np.arange(3.0), requires_grad=True)
    F.pad(x, (2, 3), mode="replicate").sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3, 1, 4])


def test_float32_stays_float32_and_output_is_new(rng):
    x = cnnlab.Tensor(rng.standard_normal((2, 3, 4)).astype(np.float32), requires_grad=True)
    for mode in MODES:
        y = F.pad(x, (1, 2), mode=mode)
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32
        x.grad = None


@pytest.mark.parametrize("call, error, fragments", [
    (lambda x: F.pad(x, (1, 2, 1)), ValueError, ["pad: pad must hold (before, after) pairs", "length 3"]),
    (lambda x: F.pad(x, (1,) * 8), ValueError,
     ["pad: pad can cover at most the input's 3 dims (length 6)", "of length 8"]),
    (lambda x: F.pad(x, (1.5, 1)), TypeError, ["pad: pad must be a tuple of ints, got (1.5, 1)"]),
    (lambda x: F.pad(x, 2), TypeError, ["pad: pad must be a tuple of ints, got 2"]),
    (lambda x: F.pad(x, (1, 1), mode="symmetric"), ValueError,
     ["pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'symmetric'"]),
    (lambda x: F.pad(x, (1, 1), mode="reflect", value=1.0), ValueError,
     ["pad: value is used only by mode='constant', got value=1.0 with mode='reflect'"]),
    (lambda x: F.pad(x, (4, 2), mode="reflect"), ValueError,
     ["pad: reflect padding must be smaller than the size of its dim, got padding (4, 2) for dim 2 of size 4"]),
    (lambda x: F.pad(x, (5, 1), mode="circular"), ValueError,
     ["pad: circular padding may wrap around at most once", "got padding (5, 1) for dim 2 of size 4"]),
    (lambda x: F.pad(x, (-3, -2)), ValueError,
     ["pad: padding must not make a dim's size negative, got padding (-3, -2) for dim 2 of size 4"]),
    (lambda x: F.pad(x[:, :, :0], (1, 1), mode="replicate"), ValueError,
     ["pad: replicate padding needs a non-empty dim, got padding (1, 1) for dim 2 of size 0"]),
])
def test_error_messages(call, error, fragments):
    x = cnnlab.Tensor(np.zeros((2, 3, 4), dtype=np.float32))
    with raises(error, *fragments):
        call(x)
