"""cnnlab.shapes against brute-force window counting and PyTorch's layers."""
import itertools

import numpy as np
import pytest

from cnnlab.shapes import (
    Field,
    Layer,
    conv_output_size,
    conv_params,
    conv_transpose_output_size,
    linear_params,
    pool_output_size,
    receptive_field,
    same_padding,
)


def count_windows(n, kernel, stride, before, after, dilation):
    """Window starts that fit in the padded input, counted one by one."""
    span = dilation * (kernel - 1) + 1
    return len(range(0, n + before + after - span + 1, stride))


def test_conv_output_size_counts_the_windows_that_fit():
    for n, k, s, p, d in itertools.product(range(0, 12), range(1, 6), range(1, 4), range(0, 3), range(1, 3)):
        assert conv_output_size(n, k, s, p, d) == count_windows(n, k, s, p, p, d), (n, k, s, p, d)


def test_conv_output_size_known_values():
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size(32, 5) == 28
    assert conv_output_size(28, 2, stride=2) == 14
    assert conv_output_size(224, 11, stride=4, padding=2) == 55  # AlexNet conv1
    assert conv_output_size(7, 3, dilation=2) == 3
    assert conv_output_size(10, 3, padding=(0, 2)) == 10


def test_conv_output_size_is_zero_when_the_window_is_larger_than_the_padded_input():
    assert conv_output_size(3, 5) == 0
    assert conv_output_size(2, 3, dilation=2, padding=1) == 0
    assert conv_output_size(0, 1) == 0


def test_conv_output_size_accepts_numpy_integers():
    assert conv_output_size(np.int64(28), np.int32(5), np.int64(1), np.int64(2)) == 28


def test_ceil_mode_matches_torch_max_pool():
    torch = pytest.importorskip("torch")
    for n, k, s, p in itertools.product(range(1, 10), range(1, 4), range(1, 4), range(0, 2)):
        if p > k // 2 or k > n + 2 * p:
            continue
        for ceil_mode in (False, True):
            x = torch.zeros(1, 1, n)
            expected = torch.nn.functional.max_pool1d(x, k, s, p, ceil_mode=ceil_mode).shape[-1]
            assert conv_output_size(n, k, s, p, ceil_mode=ceil_mode) == expected, (n, k, s, p, ceil_mode)


def test_ceil_mode_drops_a_last_window_that_starts_in_the_padding():
    assert conv_output_size(5, 2, stride=2, padding=1, ceil_mode=True) == 3
    assert conv_output_size(5, 2, stride=2, ceil_mode=True) == 3


def test_pool_output_size_defaults_stride_to_kernel():
    assert pool_output_size(28, 2) == 14
    assert pool_output_size(7, 2) == 3
    assert pool_output_size(7, 2, ceil_mode=True) == 4
    assert pool_output_size(7, 3, stride=1) == conv_output_size(7, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv_output_size(28, 5, stride=0),
         "conv_output_size: stride must be a positive integer, got stride=0"),
        (lambda: conv_output_size(28, 0), "conv_output_size: kernel must be a positive integer, got kernel=0"),
        (lambda: conv_output_size(28, 3, dilation=-1),
         "conv_output_size: dilation must be a positive integer, got dilation=-1"),
        (lambda: conv_output_size(-1, 3), "conv_output_size: n must be a non-negative integer, got n=-1"),
        (lambda: conv_output_size(28, 2.5), "conv_output_size: kernel must be a positive integer, got kernel=2.5"),
        (lambda: conv_output_size(28, True), "conv_output_size: kernel must be a positive integer, got kernel=True"),
        (lambda: conv_output_size(28, 3, padding=-1),
         "conv_output_size: padding must be non-negative integers, got padding=-1"),
        (lambda: conv_output_size(28, 3, padding=(1, 2, 3)),
         r"conv_output_size: padding must be an integer or a pair \(before, after\), got padding=\(1, 2, 3\)"),
        (lambda: same_padding(0), "same_padding: kernel must be a positive integer, got kernel=0"),
        (lambda: same_padding(3, convention="middle"),
         "same_padding: convention must be 'end' or 'start', got convention='middle'"),
        (lambda: pool_output_size(28, 2, stride=0),
         "conv_output_size: stride must be a positive integer, got stride=0"),
    ],
)
def test_argument_errors(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()


def test_same_padding_keeps_its_behaviour():
    assert same_padding(3) == (1, 1)
    assert same_padding(4) == (1, 2)
    assert same_padding(4, convention="start") == (2, 1)
    assert same_padding(3, dilation=2) == (2, 2)
    assert same_padding(1) == (0, 0)
    for k, d in itertools.product(range(1, 8), range(1, 4)):
        assert conv_output_size(17, k, padding=same_padding(k, d), dilation=d) == 17


# ------------------------------------------------------------------ transposed convolution


def test_conv_transpose_output_size_matches_torch():
    torch = pytest.importorskip("torch")
    for n, k, s, p, d in itertools.product((1, 4, 7), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2)):
        for op in range(max(s, d)):
            expected = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if expected <= 0:
                continue
            layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
            assert layer(torch.zeros(1, 1, n)).shape[-1] == conv_transpose_output_size(n, k, s, p, op, d)


def test_conv_transpose_inverts_the_strided_convolution_shape():
    for n in range(5, 20):
        out = conv_output_size(n, 3, stride=2, padding=1)
        back = {conv_transpose_output_size(out, 3, stride=2, padding=1, output_padding=op) for op in (0, 1)}
        assert n in back


def test_conv_transpose_output_padding_must_be_smaller_than_stride_or_dilation():
    message = ("conv_transpose_output_size: output_padding must be smaller than stride or dilation, "
               "got output_padding=2 with stride=2 and dilation=1")
    with pytest.raises(ValueError, match=f"^{message}$"):
        conv_transpose_output_size(7, 3, stride=2, output_padding=2)


# ------------------------------------------------------------------ receptive field


def brute_force_field(layers, output_index):
    """Input positions (lowest, highest) that one output of the last layer depends on."""
    positions = {output_index}
    for layer in reversed(layers):
        positions = {j * layer.stride - layer.padding + i * layer.dilation
                     for j in positions for i in range(layer.kernel)}
    return min(positions), max(positions)


STACKS = [
    [Layer(3), Layer(3), Layer(3)],
    [Layer(5, padding=2), Layer(2, stride=2), Layer(5), Layer(2, stride=2)],
    [Layer(7, stride=2, padding=3), Layer(3, stride=2, padding=1), Layer(3, padding=1), Layer(3, padding=1)],
    [Layer(3, dilation=2), Layer(3, dilation=4, padding=4), Layer(2, stride=2)],
    [Layer(11, stride=4, padding=2), Layer(3, stride=2), Layer(5, padding=2), Layer(3, stride=2)],
]


@pytest.mark.parametrize("stack", STACKS)
def test_receptive_field_matches_brute_force(stack):
    fields = receptive_field(stack)
    for depth in range(1, len(stack) + 1):
        low, high = brute_force_field(stack[:depth], 0)
        next_low, _ = brute_force_field(stack[:depth], 1)
        field = fields[depth - 1]
        assert field.size == high - low + 1
        assert field.start == (low + high) / 2
        assert field.jump == next_low - low


def test_receptive_field_of_three_3x3_convolutions_is_7():
    assert [f.size for f in receptive_field([(3,), (3,), (3,)])] == [3, 5, 7]


def test_receptive_field_accepts_tuples_kernel_stride_dilation():
    assert receptive_field([(3, 1, 2), (2, 2)]) == [Field(5, 1, 2.0), Field(6, 2, 2.5)]
    assert receptive_field([(3, 1, 2)]) == receptive_field([Layer(3, dilation=2)])
    assert receptive_field([]) == []


def test_receptive_field_errors():
    with pytest.raises(ValueError, match=r"^receptive_field: layers\[1\] must be a Layer or a tuple "
                                         r"\(kernel, stride, dilation\), got 'conv'$"):
        receptive_field([(3,), "conv"])
    with pytest.raises(ValueError, match=r"^receptive_field: layers\[0\].stride must be a positive integer, "
                                         r"got layers\[0\].stride=0$"):
        receptive_field([(3, 0)])
    with pytest.raises(ValueError, match=r"^receptive_field: layers\[0\].padding must be a non-negative integer, "
                                         r"got layers\[0\].padding=-1$"):
        receptive_field([Layer(3, padding=-1)])


# ------------------------------------------------------------------ parameter counts


def test_conv_params_matches_torch():
    torch = pytest.importorskip("torch")
    for cin, cout, k, groups, bias in [(1, 6, 5, 1, True), (3, 64, 3, 1, False), (32, 32, 3, 32, True),
                                       (8, 16, (3, 5), 4, True), (4, 8, 1, 2, False)]:
        layer = torch.nn.Conv2d(cin, cout, k, groups=groups, bias=bias)
        assert conv_params(cin, cout, k, groups, bias) == sum(p.numel() for p in layer.parameters())
    layer = torch.nn.Conv1d(3, 5, 7)
    assert conv_params(3, 5, (7,)) == sum(p.numel() for p in layer.parameters())


def test_linear_params_matches_torch():
    torch = pytest.importorskip("torch")
    for cin, cout, bias in [(120, 84, True), (784, 10, False), (1, 1, True)]:
        layer = torch.nn.Linear(cin, cout, bias=bias)
        assert linear_params(cin, cout, bias) == sum(p.numel() for p in layer.parameters())


def test_lenet5_parameter_count():
    total = (conv_params(1, 6, 5) + conv_params(6, 16, 5)
             + linear_params(16 * 5 * 5, 120) + linear_params(120, 84) + linear_params(84, 10))
    assert total == 61706


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv_params(3, 8, 3, groups=2),
         "conv_params: in_channels must be divisible by groups, got in_channels=3 and groups=2"),
        (lambda: conv_params(4, 6, 3, groups=4),
         "conv_params: out_channels must be divisible by groups, got out_channels=6 and groups=4"),
        (lambda: conv_params(0, 8, 3), "conv_params: in_channels must be a positive integer, got in_channels=0"),
        (lambda: conv_params(3, 8, (3, 0)),
         r"conv_params: kernel_size must be a positive integer or a tuple of them, got kernel_size=\(3, 0\)"),
        (lambda: linear_params(10, -1), "linear_params: out_features must be a positive integer, got out_features=-1"),
    ],
)
def test_parameter_count_errors(call, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        call()
