"""Layers against their torch twins (forward, input and parameter gradients, buffers), finite differences,
naive loops, train/eval behaviour, constructor errors and repr."""
import math

import numpy as np
import pytest

import cnnlab
from cnnlab import Tensor, nn
from helpers import TOL, assert_close, gradcheck, raises

torch = pytest.importorskip("torch")
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def twins(make, dtype):
    """The layer built from cnnlab.nn and from torch.nn, in ``dtype``, holding torch's initial weights."""
    ours, theirs = make(nn), make(torch.nn)
    theirs.to(TORCH_DTYPE[dtype])
    ours.to(dtype)
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check_layer(make, input_shape, dtype, train=True, calls=1, seed=0):
    """Same weights and inputs through both twins; compare outputs, input and parameter gradients, buffers."""
    rtol = TOL[dtype]
    rng = np.random.default_rng(seed)
    ours, theirs = twins(make, dtype)
    ours.train(train)
    theirs.train(train)
    for _ in range(calls):
        x = rng.standard_normal(input_shape).astype(dtype)
        ours.zero_grad()
        theirs.zero_grad()
        x_ours, x_theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_ours, out_theirs = outputs(ours(x_ours)), outputs(theirs(x_theirs))
        assert len(out_ours) == len(out_theirs)
        for o, t in zip(out_ours, out_theirs):
            assert o.dtype == t.detach().numpy().dtype
            assert_close(o.array, t.detach().numpy(), rtol)
        upstream = rng.standard_normal(out_ours[0].shape).astype(dtype)
        out_ours[0].backward(upstream)
        out_theirs[0].backward(torch.tensor(upstream))
        assert_close(np.asarray(x_ours.grad), x_theirs.grad.numpy(), rtol)
        their_params = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            assert_close(np.asarray(param.grad), their_params[name].grad.numpy(), rtol)
        their_state = theirs.state_dict()
        for key, value in ours.state_dict().items():
            assert_close(value.array, their_state[key].numpy(), rtol)


# ------------------------------------------------------------------ parity
CONV_CASES = [
    (lambda nn: nn.Conv1d(3, 4, 3), (2, 3, 9)),
    (lambda nn: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 11)),
    (lambda nn: nn.Conv1d(2, 3, 4, padding="same", bias=False), (1, 2, 7)),
    (lambda nn: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 2, 6)),
    (lambda nn: nn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    (lambda nn: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, bias=False),
     (2, 4, 8, 7)),
    (lambda nn: nn.Conv2d(3, 3, 3, groups=3, padding=1), (1, 3, 5, 5)),                # depthwise
    (lambda nn: nn.Conv2d(2, 3, 4, padding="same", dilation=2), (1, 2, 9, 8)),         # even kernel
    (lambda nn: nn.Conv2d(2, 3, 3, padding="valid", stride=2), (2, 2, 7, 7)),
    (lambda nn: nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"), (2, 2, 5, 6)),
    (lambda nn: nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="replicate"), (2, 2, 6, 5)),
    (lambda nn: nn.Conv2d(2, 3, (3, 4), padding=(2, 1), padding_mode="circular"), (1, 2, 5, 6)),
    (lambda nn: nn.Conv2d(2, 4, 4, padding="same", padding_mode="circular", groups=2), (1, 2, 6, 5)),
    (lambda nn: nn.Conv3d(2, 4, 3, padding=1), (1, 2, 5, 4, 6)),
    (lambda nn: nn.Conv3d(4, 4, (2, 3, 1), stride=2, groups=4, padding=1, padding_mode="replicate"), (2, 4, 5, 5, 3)),
    (lambda nn: nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1), (2, 4, 5)),
    (lambda nn: nn.ConvTranspose1d(4, 6, 3, stride=3, padding=2, dilation=2, groups=2, bias=False), (1, 4, 4)),
    (lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (2, 4, 4, 5)),
    (lambda nn: nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(0, 2), groups=2),
     (1, 4, 3, 4)),
    (lambda nn: nn.ConvTranspose2d(2, 3, 2, dilation=3, output_padding=2), (1, 2, 3, 3)),
    (lambda nn: nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1), (1, 2, 3, 2, 3)),
]

POOL_CASES = [
    (lambda nn: nn.MaxPool1d(2), (2, 3, 9)),
    (lambda nn: nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 10)),
    (lambda nn: nn.MaxPool2d(2), (2, 3, 8, 7)),
    (lambda nn: nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True), (1, 2, 7, 6)),
    (lambda nn: nn.MaxPool2d(3, stride=2, padding=1, return_indices=True), (1, 2, 7, 7)),
    (lambda nn: nn.MaxPool3d(2, stride=(1, 2, 2)), (1, 2, 4, 5, 6)),
    (lambda nn: nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 8)),
    (lambda nn: nn.AvgPool2d(2), (2, 3, 8, 7)),
    (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 8, 7)),
    (lambda nn: nn.AvgPool2d((2, 3), padding=1, divisor_override=4), (1, 2, 5, 7)),
    (lambda nn: nn.AvgPool3d(2, stride=1, padding=1), (1, 2, 3, 4, 3)),
    (lambda nn: nn.AdaptiveAvgPool1d(3), (2, 3, 8)),
    (lambda nn: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    (lambda nn: nn.AdaptiveAvgPool2d((3, None)), (1, 2, 7, 5)),
    (lambda nn: nn.AdaptiveAvgPool3d((2, 1, 3)), (1, 2, 5, 4, 7)),
    (lambda nn: nn.AdaptiveMaxPool1d(4), (2, 3, 9)),
    (lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 7, 8)),
    (lambda nn: nn.AdaptiveMaxPool2d(2, return_indices=True), (1, 2, 5, 5)),
    (lambda nn: nn.AdaptiveMaxPool3d(2), (1, 2, 4, 5, 3)),
]

ACTIVATION_CASES = [
    (lambda nn: nn.ReLU(), (2, 3, 4)),
    (lambda nn: nn.ReLU6(), (2, 3, 4)),
    (lambda nn: nn.LeakyReLU(0.2), (2, 3, 4)),
    (lambda nn: nn.ELU(alpha=0.5), (2, 3, 4)),
    (lambda nn: nn.GELU(), (2, 3, 4)),
    (lambda nn: nn.GELU(approximate="tanh"), (2, 3, 4)),
    (lambda nn: nn.SiLU(), (2, 3, 4)),
    (lambda nn: nn.Softplus(beta=2.0, threshold=1.0), (2, 3, 4)),
    (lambda nn: nn.Sigmoid(), (2, 3, 4)),
    (lambda nn: nn.Tanh(), (2, 3, 4)),
    (lambda nn: nn.Softmax(dim=1), (2, 3, 4)),
    (lambda nn: nn.LogSoftmax(dim=-1), (2, 3, 4)),
]

LINEAR_CASES = [
    (lambda nn: nn.Linear(5, 3), (4, 5)),
    (lambda nn: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    (lambda nn: nn.Linear(1, 1), (3, 1)),
    (lambda nn: nn.Flatten(), (2, 3, 4, 5)),
    (lambda nn: nn.Flatten(0, 2), (2, 3, 4, 5)),
    (lambda nn: nn.Flatten(start_dim=2), (2, 3, 4, 5)),
    (lambda nn: nn.Identity(54, unused="ignored"), (2, 3)),
    (lambda nn: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(36, 5)), (3, 2, 6, 6)),
]

NORM_CASES = [
    (lambda nn: nn.BatchNorm1d(4), (6, 4)),
    (lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    (lambda nn: nn.BatchNorm2d(3), (4, 3, 5, 4)),
    (lambda nn: nn.BatchNorm2d(3, eps=1e-3, momentum=0.3, affine=False), (2, 3, 4, 4)),
    (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (2, 3, 4, 4)),
    (lambda nn: nn.BatchNorm3d(2), (2, 2, 3, 4, 3)),
    (lambda nn: nn.LayerNorm(5), (2, 3, 5)),
    (lambda nn: nn.LayerNorm((4, 5), eps=1e-3), (2, 3, 4, 5)),
    (lambda nn: nn.LayerNorm(5, elementwise_affine=False), (3, 5)),
    (lambda nn: nn.LayerNorm(5, bias=False), (3, 5)),
    (lambda nn: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    (lambda nn: nn.GroupNorm(3, 3, eps=1e-3, affine=False), (2, 3, 5)),
]


def case_id(case):
    ours = case[0](nn)
    return repr(ours).replace("\n", "").replace(" ", "")[:60] + str(case[1])


def grid(cases):
    return pytest.mark.parametrize("make, shape", cases, ids=[case_id(c) for c in cases])


@pytest.mark.parametrize("dtype", DTYPES)
@grid(CONV_CASES)
def test_conv_layers_match_torch(make, shape, dtype):
    check_layer(make, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@grid(POOL_CASES)
def test_pooling_layers_match_torch(make, shape, dtype):
    check_layer(make, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@grid(ACTIVATION_CASES)
def test_activation_layers_match_torch(make, shape, dtype):
    check_layer(make, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@grid(LINEAR_CASES)
def test_linear_flatten_identity_match_torch(make, shape, dtype):
    check_layer(make, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@grid(NORM_CASES)
def test_normalization_layers_match_torch_in_training_then_eval(make, shape, dtype):
    check_layer(make, shape, dtype, train=True, calls=3)
    check_layer(make, shape, dtype, train=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.1, None, 1.0])
def test_batchnorm_running_stats_follow_torch_over_several_batches(momentum, dtype):
    ours, theirs = twins(lambda nn: nn.BatchNorm2d(3, momentum=momentum), dtype)
    rng = np.random.default_rng(1)
    for step in range(4):
        x = (rng.standard_normal((4, 3, 3, 2)) * (step + 1) + step).astype(dtype)
        ours(Tensor(x))
        theirs(torch.tensor(x))
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 4
    assert ours.num_batches_tracked.dtype == np.int64 and ours.running_mean.dtype == dtype
    assert_close(ours.running_mean.array, theirs.running_mean.numpy(), TOL[dtype])
    assert_close(ours.running_var.array, theirs.running_var.numpy(), TOL[dtype])
    x = rng.standard_normal((2, 3, 3, 2)).astype(dtype)
    assert_close(ours.eval()(Tensor(x)).array, theirs.eval()(torch.tensor(x)).detach().numpy(), TOL[dtype])
    ours(Tensor(x))
    assert ours.num_batches_tracked.item() == 4     # evaluation leaves the statistics alone


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make, kwargs", [
    (lambda nn, **kw: nn.CrossEntropyLoss(**kw), {}),
    (lambda nn, **kw: nn.CrossEntropyLoss(**kw), {"reduction": "sum", "label_smoothing": 0.1}),
    (lambda nn, **kw: nn.CrossEntropyLoss(**kw), {"weight": [1.0, 2.0, 0.5, 1.0], "ignore_index": 1}),
    (lambda nn, **kw: nn.NLLLoss(**kw), {"reduction": "none"}),
    (lambda nn, **kw: nn.NLLLoss(**kw), {"weight": [0.2, 1.0, 3.0, 1.0]}),
], ids=["ce", "ce-sum-smooth", "ce-weight-ignore", "nll-none", "nll-weight"])
def test_classification_losses_match_torch(make, kwargs, dtype):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 4)).astype(dtype)
    target = np.array([0, 1, 3, 2, 1, 3])
    kwargs = dict(kwargs)
    weight = kwargs.pop("weight", None)
    ours = make(nn, weight=None if weight is None else Tensor(np.array(weight, dtype=dtype)), **kwargs)
    theirs = make(torch.nn, weight=None if weight is None else torch.tensor(np.array(weight, dtype=dtype)), **kwargs)
    if weight is not None:
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    x_ours, x_theirs = Tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    out_ours, out_theirs = ours(x_ours, Tensor(target)), theirs(x_theirs, torch.tensor(target))
    assert_close(out_ours.array, out_theirs.detach().numpy(), TOL[dtype])
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert_close(np.asarray(x_ours.grad), x_theirs.grad.numpy(), TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction, dtype):
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal((3, 4)).astype(dtype) for _ in range(2))
    x_ours, x_theirs = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out_ours = nn.MSELoss(reduction=reduction)(x_ours, Tensor(b))
    out_theirs = torch.nn.MSELoss(reduction=reduction)(x_theirs, torch.tensor(b))
    assert_close(out_ours.array, out_theirs.detach().numpy(), TOL[dtype])
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert_close(np.asarray(x_ours.grad), x_theirs.grad.numpy(), TOL[dtype])


# ------------------------------------------------------ finite differences
def through(layer, names):
    """``fn(x, *params)`` running ``layer`` with the given arrays swapped in as its parameters (for gradcheck)."""

    def fn(x, *params):
        for name, value in zip(names, params):
            layer._parameters[name] = value
        return layer(x)

    return fn


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="reflect"), (1, 2, 4, 4)),
    (lambda: nn.Conv2d(2, 2, (2, 3), padding="same", padding_mode="replicate"), (1, 2, 3, 4)),
    (lambda: nn.Conv1d(2, 2, 3, stride=2, padding=2, padding_mode="circular"), (2, 2, 5)),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1), (1, 2, 2, 3)),
    (lambda: nn.Linear(3, 2), (2, 3)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    (lambda: nn.LayerNorm(4), (3, 4)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
], ids=["conv-reflect", "conv-same-replicate", "conv1d-circular", "convT", "linear", "bn", "ln", "gn"])
def test_layer_gradients_match_finite_differences(make, shape):
    layer = make().double()
    names = list(layer._parameters)
    params = [layer._parameters[name].array for name in names]
    x = np.random.default_rng(4).standard_normal(shape)
    gradcheck(through(layer, names), x, *params)


# ------------------------------------------------------------ naive loops
def corr2d(x, k):
    """d2l's two-dimensional cross-correlation."""
    h, w = k.shape
    y = np.zeros((x.shape[0] - h + 1, x.shape[1] - w + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + h, j:j + w] * k).sum()
    return y


def pad_by_index(x, pad, index):
    """Pad a 2-D array by ``pad`` on every side, reading source row/column ``index(i, n)`` for each position."""
    n, m = x.shape
    out = np.zeros((n + 2 * pad, m + 2 * pad))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = x[index(i - pad, n), index(j - pad, m)]
    return out


PADDING_INDEX = {
    "circular": lambda i, n: i % n,
    "replicate": lambda i, n: min(max(i, 0), n - 1),
    "reflect": lambda i, n: -i if i < 0 else (2 * (n - 1) - i if i >= n else i),
}


@pytest.mark.parametrize("mode", list(PADDING_INDEX))
def test_conv2d_padding_modes_match_naive_loops(mode):
    layer = nn.Conv2d(2, 3, 3, padding=2, padding_mode=mode).double()
    x = np.random.default_rng(5).standard_normal((1, 2, 4, 5))
    w, b = layer.weight.array, layer.bias.array
    expected = np.zeros((1, 3, 6, 7))
    for o in range(3):
        for c in range(2):
            expected[0, o] += corr2d(pad_by_index(x[0, c], 2, PADDING_INDEX[mode]), w[o, c])
        expected[0, o] += b[o]
    assert_close(layer(Tensor(x)).array, expected, 1e-12)


def test_batchnorm_training_matches_naive_loop_per_channel():
    layer = nn.BatchNorm2d(2, momentum=0.25).double()
    layer.weight.array[...] = [2.0, 0.5]
    layer.bias.array[...] = [1.0, -1.0]
    x = np.random.default_rng(6).standard_normal((3, 2, 2, 2))
    out = layer(Tensor(x)).array
    for c in range(2):
        values = x[:, c].ravel()
        mean, var = values.sum() / values.size, ((values - values.mean()) ** 2).sum() / values.size
        expected = (x[:, c] - mean) / math.sqrt(var + 1e-5) * layer.weight.array[c] + layer.bias.array[c]
        assert_close(out[:, c], expected, 1e-12)
        assert math.isclose(layer.running_mean.array[c], 0.25 * mean, rel_tol=1e-12)
        unbiased = var * values.size / (values.size - 1)
        assert math.isclose(layer.running_var.array[c], 0.75 + 0.25 * unbiased, rel_tol=1e-12)


def test_linear_matches_naive_loop():
    layer = nn.Linear(3, 2).double()
    x = np.random.default_rng(7).standard_normal((4, 3))
    expected = np.zeros((4, 2))
    for n in range(4):
        for o in range(2):
            expected[n, o] = layer.bias.array[o] + sum(x[n, i] * layer.weight.array[o, i] for i in range(3))
    assert_close(layer(Tensor(x)).array, expected, 1e-12)


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x), y> == <x, conv_transpose(y)> with the same weight (bias off)."""
    conv = nn.Conv2d(3, 2, 3, stride=2, padding=1, bias=False).double()
    convT = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, bias=False).double()
    convT.weight.array[...] = conv.weight.array
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((1, 3, 6, 6)), rng.standard_normal((1, 2, 3, 3))
    assert math.isclose(float((conv(Tensor(x)).array * y).sum()), float((x * convT(Tensor(y)).array).sum()),
                        rel_tol=1e-12)


# ------------------------------------------------------------ train / eval
def test_dropout_drops_and_scales_in_training_and_passes_through_in_eval():
    drop = nn.Dropout(p=0.25)
    cnnlab.manual_seed(0)
    out = drop(Tensor(np.ones((200, 50), dtype=np.float32))).array
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)} and out.dtype == np.float32
    assert abs((out == 0).mean() - 0.25) < 0.02
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    np.testing.assert_array_equal(drop.eval()(x).array, x.array)
    assert np.all(nn.Dropout(p=0.0)(x).array == x.array)


def test_dropout_is_reproducible_under_manual_seed():
    drop, x = nn.Dropout(), Tensor(np.ones(64, dtype=np.float32))
    cnnlab.manual_seed(3)
    first = drop(x).array
    cnnlab.manual_seed(3)
    np.testing.assert_array_equal(drop(x).array, first)


def test_dropout2d_zeroes_whole_channels():
    cnnlab.manual_seed(1)
    out = nn.Dropout2d(p=0.5)(Tensor(np.ones((8, 16, 3, 3), dtype=np.float32))).array
    per_channel = out.reshape(8, 16, 9)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))
    assert 0 < (per_channel[..., 0] == 0).mean() < 1


def test_model_eval_switches_dropout_and_batchnorm():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = Tensor(np.random.default_rng(9).standard_normal((16, 4)).astype(np.float32))
    net.eval()
    first, second = net(x).array, net(x).array
    np.testing.assert_array_equal(first, second)
    assert net[1].num_batches_tracked.item() == 0
    expected = (net[0](x).array - 0) / np.sqrt(1 + 1e-5)          # running mean 0, variance 1
    assert_close(first, expected, 1e-5)
    net.train()
    net(x)
    assert net[1].num_batches_tracked.item() == 1


def test_inplace_is_accepted_and_computes_out_of_place():
    x = Tensor([-1.0, 2.0])
    layer = nn.ReLU(inplace=True)
    assert layer(x).tolist() == [0.0, 2.0] and x.tolist() == [-1.0, 2.0]
    assert repr(layer) == "ReLU(inplace=True)"


def test_conv_default_init_is_reproducible_under_manual_seed():
    cnnlab.manual_seed(42)
    first = nn.Conv2d(3, 8, 3).state_dict()
    cnnlab.manual_seed(42)
    second = nn.Conv2d(3, 8, 3).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key].array, second[key].array)
    assert not np.array_equal(first["weight"].array, nn.Conv2d(3, 8, 3).weight.array)


def test_reset_parameters_reinitialises_in_place():
    layer = nn.BatchNorm2d(3)
    layer(Tensor(np.random.default_rng(0).standard_normal((2, 3, 2, 2)).astype(np.float32)))
    layer.weight.array[...] = 5
    array = layer.running_mean.array
    layer.reset_parameters()
    assert layer.running_mean.array is array and np.all(array == 0) and np.all(layer.running_var.array == 1)
    assert layer.num_batches_tracked.item() == 0 and np.all(layer.weight.array == 1)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("build, error, fragments", [
    (lambda: nn.Conv2d(3, 6, 3, groups=2), ValueError, ["Conv2d: in_channels must be divisible by groups=2, got 3"]),
    (lambda: nn.Conv2d(4, 5, 3, groups=2), ValueError, ["Conv2d: out_channels must be divisible by groups=2, got 5"]),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, ["Conv2d: groups must be a positive int, got 0"]),
    (lambda: nn.Conv2d(3.0, 4, 3), TypeError, ["Conv2d: in_channels must be a positive int, got 3.0"]),
    (lambda: nn.Conv2d(3, 4, 3, padding=(1, 2, 0, 1)), ValueError,
     ["Conv2d: padding must be a non-negative int, a tuple of 2 non-negative ints, 2 (before, after) pairs such as "
      "((top, bottom), (left, right)), 'valid' or 'same', got (1, 2, 0, 1)"]),
    (lambda: nn.Conv1d(3, 4, 3, padding="full"), ValueError,
     ["Conv1d: padding must be a non-negative int, a tuple of 1 non-negative ints, 1 (before, after) pair such as "
      "((left, right),), 'valid' or 'same', got 'full'"]),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError,
     ["Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got 'mirror'"]),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError,
     ["Conv2d: kernel_size must be a positive int or a tuple of 2 positive ints, got (3, 3, 3)"]),
    (lambda: nn.Conv3d(3, 4, 2.5), TypeError,
     ["Conv3d: kernel_size must be a positive int or a tuple of 3 positive ints, got 2.5"]),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError,
     ["Conv2d: stride must be a positive int or a tuple of 2 positive ints, got 0"]),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError,
     ["Conv2d: padding must be a non-negative int, a tuple of 2 non-negative ints, 2 (before, after) pairs",
      "'valid' or 'same', got -1"]),
    (lambda: nn.Conv1d(3, 4, 3, dilation=(0,)), ValueError,
     ["Conv1d: dilation must be a positive int or a tuple of 1 positive ints, got (0,)"]),
    (lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=2), ValueError,
     ["ConvTranspose2d: output_padding must be smaller than either stride=(2, 2) or dilation=(1, 1), got 2"]),
    (lambda: nn.ConvTranspose1d(4, 2, 3, padding_mode="reflect"), ValueError,
     ["ConvTranspose1d: padding_mode must be 'zeros', got 'reflect'"]),
    (lambda: nn.ConvTranspose2d(4, 2, 3, padding="same"), TypeError,
     ["ConvTranspose2d: padding must be a non-negative int or a tuple of 2 non-negative ints, got 'same'"]),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError,
     ["ConvTranspose2d: in_channels must be divisible by groups=2, got 3"]),
    (lambda: nn.MaxPool2d(3, padding=2), ValueError,
     ["MaxPool2d: padding must be at most half of kernel_size=(3, 3), got 2"]),
    (lambda: nn.AvgPool1d(2, padding=2), ValueError,
     ["AvgPool1d: padding must be at most half of kernel_size=(2,), got 2"]),
    (lambda: nn.MaxPool1d(0), ValueError,
     ["MaxPool1d: kernel_size must be a positive int or a tuple of 1 positive ints, got 0"]),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError,
     ["AvgPool2d: divisor_override must be a non-zero int or None, got 0"]),
    (lambda: nn.AdaptiveAvgPool2d((2, 2, 2)), ValueError,
     ["AdaptiveAvgPool2d: output_size must be a positive int or a tuple of 2 positive ints or None, got (2, 2, 2)"]),
    (lambda: nn.AdaptiveMaxPool1d(0), ValueError,
     ["AdaptiveMaxPool1d: output_size must be a positive int or a tuple of 1 positive ints or None, got 0"]),
    (lambda: nn.Dropout(1.5), ValueError, ["Dropout: p must be a real number in [0, 1], got 1.5"]),
    (lambda: nn.Dropout2d(-0.1), ValueError, ["Dropout2d: p must be a real number in [0, 1], got -0.1"]),
    (lambda: nn.Linear(3.5, 2), TypeError, ["Linear: in_features must be a non-negative int, got 3.5"]),
    (lambda: nn.Linear(3, -2), ValueError, ["Linear: out_features must be a non-negative int, got -2"]),
    (lambda: nn.BatchNorm2d(0), ValueError, ["BatchNorm2d: num_features must be a positive int, got 0"]),
    (lambda: nn.BatchNorm1d(4, momentum=1.5), ValueError,
     ["BatchNorm1d: momentum must be a real number in [0, 1], got 1.5"]),
    (lambda: nn.BatchNorm3d(4, eps=0), ValueError, ["BatchNorm3d: eps must be a real number > 0, got 0"]),
    (lambda: nn.LayerNorm(()), ValueError,
     ["LayerNorm: normalized_shape must be a positive int or a non-empty tuple of positive ints, got ()"]),
    (lambda: nn.GroupNorm(3, 4), ValueError, ["GroupNorm: num_channels must be divisible by num_groups=3, got 4"]),
    (lambda: nn.GELU("fast"), ValueError, ["GELU: approximate must be 'none' or 'tanh', got 'fast'"]),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
     ["CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"]),
    (lambda: nn.MSELoss(reduction=None), ValueError, ["MSELoss: reduction must be 'mean', 'sum' or 'none', got None"]),
], ids=lambda v: None)
def test_constructor_errors_name_argument_rule_and_value(build, error, fragments):
    with raises(error, *fragments):
        build()


@pytest.mark.parametrize("layer, shape, fragments", [
    (nn.BatchNorm2d(3), (2, 3, 4), ["BatchNorm2d: expected 4D input", "got 3D input", "(2, 3, 4)"]),
    (nn.BatchNorm1d(3), (2, 3, 4, 5), ["BatchNorm1d: expected 2D or 3D input", "got 4D input"]),
    (nn.BatchNorm3d(3), (2, 3, 4, 4), ["BatchNorm3d: expected 5D input"]),
    (nn.BatchNorm2d(3), (2, 4, 5, 5), ["BatchNorm2d: expected 3 channels (dim 1)", "(2, 4, 5, 5)"]),
])
def test_batchnorm_input_checks(layer, shape, fragments):
    with raises(ValueError, *fragments):
        layer(Tensor(np.zeros(shape, dtype=np.float32)))


# ------------------------------------------------------------------ repr
@pytest.mark.parametrize("layer, text", [
    (nn.Conv2d(1, 6, kernel_size=5), "Conv2d(1, 6, kernel_size=5)"),
    (nn.Conv2d(6, 16, kernel_size=3, padding=1, bias=False), "Conv2d(6, 16, kernel_size=3, padding=1, bias=False)"),
    (nn.Conv2d(4, 8, (3, 1), stride=(2, 1), padding=(1, 0), dilation=2, groups=4,
               padding_mode="reflect"),
     "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 1), padding=(1, 0), dilation=2, groups=4, padding_mode='reflect')"),
    (nn.Conv1d(2, 2, 3, padding="same"), "Conv1d(2, 2, kernel_size=3, padding='same')"),
    (nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1),
     "ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1, output_padding=1)"),
    (nn.MaxPool2d(kernel_size=2), "MaxPool2d(kernel_size=2)"),
    (nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     "MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True)"),
    (nn.AvgPool2d(2, count_include_pad=False), "AvgPool2d(kernel_size=2, count_include_pad=False)"),
    (nn.AdaptiveAvgPool2d((1, 1)), "AdaptiveAvgPool2d(output_size=(1, 1))"),
    (nn.AdaptiveMaxPool2d(2), "AdaptiveMaxPool2d(output_size=2)"),
    (nn.Linear(400, 120), "Linear(400, 120)"),
    (nn.Linear(84, 10, bias=False), "Linear(84, 10, bias=False)"),
    (nn.Dropout(), "Dropout()"),
    (nn.Dropout(p=0.2), "Dropout(p=0.2)"),
    (nn.ReLU(), "ReLU()"),
    (nn.LeakyReLU(0.2), "LeakyReLU(negative_slope=0.2)"),
    (nn.GELU(approximate="tanh"), "GELU(approximate='tanh')"),
    (nn.Softmax(dim=1), "Softmax(dim=1)"),
    (nn.Flatten(), "Flatten()"),
    (nn.BatchNorm2d(16), "BatchNorm2d(16)"),
    (nn.BatchNorm1d(8, eps=1e-3, momentum=None, affine=False),
     "BatchNorm1d(8, eps=0.001, momentum=None, affine=False)"),
    (nn.LayerNorm((4, 5)), "LayerNorm((4, 5))"),
    (nn.GroupNorm(2, 8), "GroupNorm(2, 8)"),
    (nn.CrossEntropyLoss(label_smoothing=0.1), "CrossEntropyLoss(label_smoothing=0.1)"),
    (nn.Identity(), "Identity()"),
], ids=lambda v: None)
def test_repr_shows_only_non_default_arguments(layer, text):
    assert repr(layer) == text
