"""TensorFlow's 'same' padding for any stride, and explicit per-side padding, in functional, nn and the shape command.

Oracles: Keras 3 on its torch backend (``keras.ops.conv(padding='same')``) for
strided 'same'; torch's ``F.pad`` then a convolution for gradients and for
per-side padding; central finite differences in float64.
"""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab import nn
from cnnlab.arguments import padding_pairs
from cnnlab.shapes import conv_output_size, same_padding
from helpers import assert_close, check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = [pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel"),
              # Keras 3.15 converts torch tensors with np.array(x, copy=False): NumPy 2 warns, not our business
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]


def keras_conv(x, w, stride, dilation, channels_last=False):
    """Keras's ``conv(padding='same')`` of cnnlab-layout arrays: x ``(N, C, *S)``, w ``(O, I, *K)``."""
    kernel = np.moveaxis(w, (0, 1), (-1, -2))                  # (*K, I, O)
    if channels_last:
        x = np.moveaxis(x, 1, -1)
    out = keras.ops.conv(x, kernel, strides=stride, padding="same", dilation_rate=dilation,
                         data_format="channels_last" if channels_last else "channels_first")
    out = keras.ops.convert_to_numpy(out)
    return np.moveaxis(out, -1, 1) if channels_last else out


def flat_pads(pairs):
    """``((before, after), ...)`` in dim order as torch's F.pad tuple (last dim first)."""
    return tuple(p for pair in reversed(pairs) for p in pair)


def tf_pairs(sizes, kernel, stride, dilation):
    """TensorFlow's 'same' padding, written out from its definition: out = ceil(n / s), the odd row at the end."""
    pairs = []
    for n, k, s, d in zip(sizes, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


# ------------------------------------------------------------ the formula
def test_same_padding_gives_ceil_n_over_s_outputs_with_the_least_padding():
    for n, k, s, d in itertools.product(range(0, 14), range(1, 6), range(1, 4), range(1, 3)):
        before, after = same_padding(k, d, stride=s, size=n)
        assert after - before in (0, 1), (n, k, s, d)
        assert conv_output_size(n, k, s, (before, after), d) == -(-n // s), (n, k, s, d)
        if n and before + after:  # one row less loses the last output
            assert conv_output_size(n, k, s, (before, after - 1), d) < -(-n // s), (n, k, s, d)


def test_same_padding_for_stride_1_is_unchanged_and_ignores_the_size():
    for k, d, n in itertools.product(range(1, 6), range(1, 3), range(0, 9)):
        assert same_padding(k, d, stride=1, size=n) == same_padding(k, d)
    assert same_padding(3, stride=2, size=28) == (0, 1)
    assert same_padding(4, stride=2, size=28) == (1, 1)
    assert same_padding(4, stride=3, size=28, convention="start") == (2, 1)
    assert padding_pairs("same", (3, 4), (1, 2), (2, 3), (28, 10)) == ((0, 1), (3, 3))


def test_same_padding_with_a_stride_needs_the_size():
    with raises(ValueError, "same_padding: size must be given when stride > 1", "got size=None with stride=2"):
        same_padding(3, stride=2)
    with raises(ValueError, "same_padding: stride must be a positive integer, got stride=0"):
        same_padding(3, stride=0, size=4)
    with raises(ValueError, "same_padding: size must be a non-negative integer, got size=-1"):
        same_padding(3, stride=2, size=-1)


# --------------------------------------------------- functional vs Keras
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dilation", [1, 2])
def test_conv1d_same_matches_keras(rng, kernel, dilation):
    w = rng.standard_normal((4, 3, kernel))
    for stride, n in itertools.product((1, 2, 3), (6, 7, 8, 9, 12)):
        x = rng.standard_normal((2, 3, n))
        ours = F.conv1d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=stride, padding="same", dilation=dilation)
        assert ours.shape == (2, 4, -(-n // stride))
        assert_close(ours.array, keras_conv(x, w, stride, dilation), 1e-10)


@pytest.mark.parametrize("kernel", [(1, 2), (2, 3), (3, 3), (4, 1), (5, 4)])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1), (2, 2)])
def test_conv2d_same_matches_keras(rng, kernel, dilation):
    w = rng.standard_normal((4, 2, *kernel))
    for stride, size in itertools.product(itertools.product((1, 2, 3), repeat=2), ((7, 9), (8, 6), (12, 11))):
        x = rng.standard_normal((2, 2, *size))
        ours = F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=stride, padding="same", dilation=dilation)
        assert ours.shape == (2, 4) + tuple(-(-n // s) for n, s in zip(size, stride)), (stride, size)
        assert_close(ours.array, keras_conv(x, w, stride, dilation), 1e-10)


def test_conv_same_matches_keras_channels_last_float32_groups_and_3d(rng):
    x, w = rng.standard_normal((2, 3, 9, 10)).astype(np.float32), rng.standard_normal((5, 3, 3, 4)).astype(np.float32)
    ours = F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=(2, 3), padding="same")
    assert_close(ours.array, keras_conv(x, w, (2, 3), 1, channels_last=True), 1e-5)
    x, w = rng.standard_normal((1, 2, 7, 6, 5)), rng.standard_normal((3, 2, 2, 3, 3))
    ours = F.conv3d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=(2, 3, 2), padding="same")
    assert_close(ours.array, keras_conv(x, w, (2, 3, 2), 1), 1e-10)
    # groups: Keras's kernel (*K, in/groups, out), the same arithmetic
    x, w = rng.standard_normal((1, 4, 9, 9)), rng.standard_normal((6, 2, 3, 3))
    ours = F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=2, padding="same", groups=2)
    assert_close(ours.array, keras_conv(x, w, (2, 2), 1), 1e-10)


def test_unbatched_input_pads_by_its_own_spatial_size(rng):
    x, w = rng.standard_normal((3, 9, 8)), rng.standard_normal((2, 3, 4, 4))
    batched = F.conv2d(cnnlab.Tensor(x[None]), cnnlab.Tensor(w), stride=3, padding="same")
    assert_close(F.conv2d(cnnlab.Tensor(x), cnnlab.Tensor(w), stride=3, padding="same").array, batched.array[0], 1e-12)
    assert batched.shape == (1, 2, 3, 3)


# ------------------------------------------------------------ gradients
STRIDED_SAME = [
    (1, (2, 3, 11), (4, 3, 4), dict(stride=3, dilation=2)),
    (2, (1, 2, 7, 8), (3, 2, 3, 2), dict(stride=(2, 3), dilation=(1, 2))),
    (2, (2, 2, 6, 5), (2, 1, 4, 5), dict(stride=2, groups=2)),
    (3, (1, 2, 5, 4, 6), (2, 2, 2, 3, 3), dict(stride=(2, 1, 3))),
]


@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", STRIDED_SAME)
def test_strided_same_gradients_match_finite_differences(rng, nd, x_shape, w_shape, kwargs):
    conv = getattr(F, f"conv{nd}d")
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    gradcheck(lambda x, w, b: conv(x, w, b, padding="same", **kwargs), x, w, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd, x_shape, w_shape, kwargs", STRIDED_SAME)
def test_strided_same_matches_torch_with_explicit_padding(rng, nd, x_shape, w_shape, kwargs, dtype):
    stride = kwargs.get("stride", 1)
    stride = (stride,) * nd if isinstance(stride, int) else stride
    dilation = kwargs.get("dilation", 1)
    dilation = (dilation,) * nd if isinstance(dilation, int) else dilation
    pads = flat_pads(tf_pairs(x_shape[2:], w_shape[2:], stride, dilation))
    ours, theirs = getattr(F, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    arrays = (rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]))
    check_op(lambda x, w, b: ours(x, w, b, padding="same", **kwargs),
             lambda x, w, b: theirs(TF.pad(x, pads), w, b, **kwargs), *arrays, dtype=dtype)


# ---------------------------------------------------- per-side padding
PER_SIDE = [
    (1, (2, 3, 8), (4, 3, 3), ((2, 0),), dict()),
    (1, (1, 2, 9), (2, 2, 4), [[0, 3]], dict(stride=2, dilation=2)),
    (2, (2, 3, 6, 7), (4, 3, 3, 3), ((0, 1), (2, 0)), dict()),
    (2, (1, 4, 7, 6), (4, 2, 2, 3), ((1, 2), (0, 0)), dict(stride=(2, 1), groups=2)),
    (2, (1, 2, 5, 5), (3, 2, 3, 2), ((3, 0), (1, 4)), dict(stride=3, dilation=(1, 2))),
    (3, (1, 2, 4, 5, 3), (2, 2, 2, 3, 2), ((1, 0), (0, 2), (1, 1)), dict(stride=(1, 2, 1))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd, x_shape, w_shape, pairs, kwargs", PER_SIDE)
def test_per_side_padding_matches_torch_pad_then_conv(rng, nd, x_shape, w_shape, pairs, kwargs, dtype):
    ours, theirs = getattr(F, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    arrays = (rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0]))
    check_op(lambda x, w, b: ours(x, w, b, padding=pairs, **kwargs),
             lambda x, w, b: theirs(TF.pad(x, flat_pads(pairs)), w, b, **kwargs), *arrays, dtype=dtype)


def test_per_side_padding_gradients_match_finite_differences(rng):
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2))
    gradcheck(lambda x, w: F.conv2d(x, w, padding=((2, 0), (1, 3)), stride=(1, 2)), x, w)


def test_symmetric_pairs_equal_the_int_form(rng):
    x, w = cnnlab.Tensor(rng.standard_normal((1, 2, 6, 6))), cnnlab.Tensor(rng.standard_normal((2, 2, 3, 3)))
    np.testing.assert_array_equal(F.conv2d(x, w, padding=((1, 1), (2, 2))).array, F.conv2d(x, w, padding=(1, 2)).array)


# ---------------------------------------------------------------- layers
LAYER_CASES = [
    (nn.Conv2d, (2, 4, 3), dict(stride=2, padding="same"), (2, 2, 9, 8)),
    (nn.Conv2d, (2, 4, (4, 3)), dict(stride=(3, 2), padding="same", dilation=(1, 2)), (1, 2, 10, 9)),
    (nn.Conv2d, (2, 4, 3), dict(padding=((0, 2), (1, 0))), (2, 2, 6, 7)),
    (nn.Conv2d, (2, 4, 3), dict(stride=2, padding="same", padding_mode="reflect"), (1, 2, 8, 7)),
    (nn.Conv2d, (4, 2, 3), dict(padding=((2, 1), (0, 1)), padding_mode="replicate", groups=2), (1, 4, 5, 6)),
    (nn.Conv2d, (2, 2, 2), dict(stride=3, padding="same", padding_mode="circular"), (1, 2, 7, 8)),
    (nn.Conv1d, (3, 2, 5), dict(stride=2, padding="same", padding_mode="reflect"), (2, 3, 9)),
    (nn.Conv1d, (3, 2, 2), dict(padding=((1, 0),), stride=2), (2, 3, 9)),
    (nn.Conv3d, (2, 2, 3), dict(stride=2, padding="same"), (1, 2, 5, 4, 6)),
]


@pytest.mark.parametrize("layer, args, kwargs, x_shape", LAYER_CASES)
def test_layers_match_torch_pad_then_conv(rng, layer, args, kwargs, x_shape):
    """Output and the input, weight and bias gradients of the layer against torch's F.pad then a convolution."""
    cnnlab.manual_seed(0)
    ours = layer(*args, **kwargs)
    pairs = ours._padding_pairs(x_shape[2:])
    if ours.padding == "same":
        assert pairs == tf_pairs(x_shape[2:], ours.kernel_size, ours.stride, ours.dilation)
    mode = {"zeros": "constant", "circular": "circular"}.get(ours.padding_mode, ours.padding_mode)
    x = rng.standard_normal(x_shape).astype(np.float32)
    tx, tw, tb = (torch.tensor(np.array(a), requires_grad=True) for a in (x, ours.weight.array, ours.bias.array))
    theirs = getattr(TF, f"conv{ours.dims}d")(TF.pad(tx, flat_pads(pairs), mode=mode), tw, tb, ours.stride, 0,
                                              ours.dilation, ours.groups)
    cx = cnnlab.Tensor(x, requires_grad=True)
    out = ours(cx)
    assert_close(out.array, theirs.detach().numpy(), 1e-4)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    (out * cnnlab.Tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    for mine, ref in ((cx, tx), (ours.weight, tw), (ours.bias, tb)):
        assert_close(np.asarray(mine.grad), ref.grad.numpy(), 1e-4)


def test_layer_gradients_reach_the_parameters(rng):
    layer = nn.Conv2d(2, 3, 3, stride=2, padding="same", padding_mode="reflect")
    x = cnnlab.Tensor(rng.standard_normal((1, 2, 7, 8)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert out.shape == (1, 3, 4, 4)
    out.sum().backward()
    assert layer.weight.grad.shape == (3, 2, 3, 3) and layer.bias.grad.shape == (3,) and x.grad.shape == x.shape


def test_layer_repr_and_state_dict():
    assert repr(nn.Conv2d(1, 2, 3, stride=2, padding="same")) == "Conv2d(1, 2, kernel_size=3, stride=2, padding='same')"
    layer = nn.Conv2d(1, 2, 3, padding=[[0, 1], [2, 2]], padding_mode="reflect")
    assert layer.padding == ((0, 1), (2, 2))
    assert repr(layer) == "Conv2d(1, 2, kernel_size=3, padding=((0, 1), (2, 2)), padding_mode='reflect')"
    assert repr(nn.Conv1d(1, 2, 3, padding=((1, 0),))) == "Conv1d(1, 2, kernel_size=3, padding=((1, 0),))"
    assert list(layer.state_dict()) == ["weight", "bias"]


@pytest.mark.parametrize("padding", [((0, 1), (2, 2)), [[0, 1], [2, 2]]])
def test_save_and_load_keep_pair_padding(tmp_path, rng, padding):
    cnnlab.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=padding), nn.ReLU(),
                          nn.Conv2d(3, 2, 4, stride=2, padding="same", padding_mode="replicate"))
    cnnlab.save(model, tmp_path / "m.safetensors")
    loaded = cnnlab.load(tmp_path / "m.safetensors")
    assert loaded[0].padding == ((0, 1), (2, 2)) and loaded[2].padding == "same"
    assert repr(loaded) == repr(model)
    x = cnnlab.Tensor(rng.standard_normal((1, 1, 9, 7)).astype(np.float32))
    np.testing.assert_array_equal(loaded(x).array, model(x).array)


def test_explain_conv_and_the_explain_page_show_the_padding_used():
    from cnnlab.explain import ExplainApp
    from cnnlab.inspect import explain_conv

    cnnlab.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding="same"), nn.ReLU(),
                          nn.Conv2d(2, 2, (2, 3), padding=((0, 1), (2, 0)), padding_mode="reflect"))
    image = np.random.default_rng(3).standard_normal((1, 11, 9)).astype(np.float32)
    first = explain_conv(model, image, "0", 1, 5, 4)
    assert first["padding"] == [[1, 1], [1, 1]] and abs(first["value"] - first["actual"]) < 1e-5
    second = explain_conv(model, image, "2", 0, 5, 0)
    assert second["padding"] == [[0, 1], [2, 0]] and abs(second["value"] - second["actual"]) < 1e-5
    layers = ExplainApp(model, {"input_shape": [1, 11, 9]}).model_json()["layers"]
    assert [layer["conv"]["padding"] for layer in layers if "conv" in layer] == [[[1, 1], [1, 1]],
                                                                                   [[0, 1], [2, 0]]]


# --------------------------------------------------------------- refusals
def x4(*shape):
    return cnnlab.zeros(*shape)


PAIRS_2D = ("must be a non-negative int, a tuple of 2 non-negative ints, 2 (before, after) pairs such as "
            "((top, bottom), (left, right)), 'valid' or 'same', got ")


@pytest.mark.parametrize("call, error, fragments", [
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=(0, 1, 2, 0)), ValueError,
     ["conv2d: padding " + PAIRS_2D + "(0, 1, 2, 0)"]),
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=((0, 1),)), ValueError,
     ["conv2d: padding " + PAIRS_2D + "((0, 1),)"]),
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=((0, 1, 2), (0, 1))), ValueError,
     ["conv2d: padding " + PAIRS_2D + "((0, 1, 2), (0, 1))"]),
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=((0, -1), (0, 1))), ValueError,
     ["conv2d: padding " + PAIRS_2D + "((0, -1), (0, 1))"]),
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=((0, 1.0), (0, 1))), TypeError,
     ["conv2d: padding " + PAIRS_2D + "((0, 1.0), (0, 1))"]),
    (lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=(1, (0, 1))), TypeError,
     ["conv2d: padding " + PAIRS_2D + "(1, (0, 1))"]),
    (lambda: F.conv1d(x4(1, 1, 5), x4(1, 1, 3), padding=(0, 1)), ValueError,
     ["conv1d: padding must be a non-negative int, a tuple of 1 non-negative ints, 1 (before, after) pair such as "
      "((left, right),), 'valid' or 'same', got (0, 1)"]),
    (lambda: F.conv3d(x4(1, 1, 5, 5, 5), x4(1, 1, 3, 3, 3), padding=((0, 1), (0, 1))), ValueError,
     ["conv3d: padding", "3 (before, after) pairs such as ((front, back), (top, bottom), (left, right))",
      "got ((0, 1), (0, 1))"]),
    (lambda: F.conv2d(x4(1, 1, 2, 5), x4(1, 1, 4, 3), padding=((0, 1), (0, 0))), ValueError,
     ["conv2d: the kernel must fit in the padded input", "padded input size (3, 5)"]),
    (lambda: nn.Conv2d(1, 1, 3, padding=(0, 1, 2, 0)), ValueError, ["Conv2d: padding " + PAIRS_2D + "(0, 1, 2, 0)"]),
    (lambda: nn.Conv1d(1, 1, 3, padding=((0, 1), (1, 0))), ValueError,
     ["Conv1d: padding", "1 (before, after) pair such as ((left, right),)", "got ((0, 1), (1, 0))"]),
    # transposed convolution keeps PyTorch's rules: no 'same', no pairs
    (lambda: F.conv_transpose2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), stride=2, padding="same"), TypeError,
     ["conv_transpose2d: padding must be a non-negative int or a tuple of 2 non-negative ints, got 'same'"]),
    (lambda: F.conv_transpose2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=((0, 1), (0, 1))), TypeError,
     ["conv_transpose2d: padding must be a non-negative int or a tuple of 2 non-negative ints, "
      "got ((0, 1), (0, 1))"]),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, padding="same"), TypeError,
     ["ConvTranspose2d: padding must be a non-negative int or a tuple of 2 non-negative ints, got 'same'"]),
])
def test_refusals_name_the_accepted_forms(call, error, fragments):
    with raises(error, *fragments):
        call()


# -------------------------------------------------------------- the CLI
def cnnlab_shape(*argv):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-m", "cnnlab", "shape", *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=120)


def test_shape_explains_tensorflows_strided_same():
    done = cnnlab_shape("--input", 28, "--kernel", 4, "--stride", 3, "--padding", "same", "--dilation", 2)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines() == [
        "padding 'same' with stride 3: TensorFlow's and Keras's rule (PyTorch refuses strided 'same')",
        "out   = ceil(n / s) = ceil(28 / 3) = 10",
        "total = max((out - 1)*s + d*(k-1) + 1 - n, 0) = max((10 - 1)*3 + 2*(4-1) + 1 - 28, 0) = 6",
        "split = 3 before, 3 after",
        "out = floor((n + 2p - d*(k-1) - 1) / s) + 1",
        "    = floor((28 + 2*3 - 2*(4-1) - 1) / 3) + 1 = 10",
    ]
    out = cnnlab_shape("-n", 28, "-k", 3, "-s", 2, "-p", "same").stdout
    assert "split = 0 before, 1 after  (the odd one at the end)" in out
    assert "floor((28 + (0 + 1) - 1*(3-1) - 1) / 2) + 1 = 14" in out
    # the size agrees with Keras's
    x = np.zeros((1, 1, 28))
    assert keras_conv(x, np.zeros((1, 1, 4)), 3, 2).shape[-1] == 10


def test_shape_layer_stack_pads_each_strided_same_layer_by_its_input():
    done = cnnlab_shape("--input", 28, "--layers", "conv:3:2:same,pool:2,conv:3:2:same")
    assert done.returncode == 0
    rows = [line.split() for line in done.stdout.splitlines()[2:5]]
    assert [(r[0], r[4], r[6]) for r in rows] == [("1", "p=0+1", "14"), ("2", "p=0", "7"), ("3", "p=1", "4")]
    assert "note: 'same' with stride > 1 pads as TensorFlow and Keras do (PyTorch refuses it)" in done.stdout
    assert "cnnlab shape --input 28 --kernel 3 --stride 2 --padding same" in cnnlab_shape("--help").stdout
