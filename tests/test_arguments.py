"""One home for argument rules: every functional op and layer accepts and refuses the same things, in the same words."""
import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from cnnlab import arguments, nn
from helpers import raises

WRAP = "must be a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) or cnnlab.from_numpy(...)), got numpy.ndarray"


def _x(n):
    return cnnlab.zeros(1, 2, *([6] * n))


# name -> (dims, call(x, **window_arguments)); every one takes stride and padding
FUNCTIONAL_WINDOWS = {
    **{f"conv{n}d": (n, lambda x, n=n, **kw: getattr(F, f"conv{n}d")(x, cnnlab.zeros(2, 2, *[3] * n), **kw))
       for n in (1, 2, 3)},
    **{f"conv_transpose{n}d": (n, lambda x, n=n, **kw: getattr(F, f"conv_transpose{n}d")(
        x, cnnlab.zeros(2, 2, *[3] * n), **kw)) for n in (1, 2, 3)},
    **{f"{kind}_pool{n}d": (n, lambda x, n=n, kind=kind, **kw: getattr(F, f"{kind}_pool{n}d")(x, 3, **kw))
       for n in (1, 2, 3) for kind in ("max", "avg")},
}

# layer name -> (dims, constructor(**window_arguments)); called with the bad value at construction
LAYER_WINDOWS = {
    **{f"Conv{n}d": (n, lambda n=n, **kw: getattr(nn, f"Conv{n}d")(2, 2, 3, **kw)) for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": (n, lambda n=n, **kw: getattr(nn, f"ConvTranspose{n}d")(2, 2, 3, **kw))
       for n in (1, 2, 3)},
    **{f"{kind}Pool{n}d": (n, lambda n=n, kind=kind, **kw: getattr(nn, f"{kind}Pool{n}d")(3, **kw))
       for n in (1, 2, 3) for kind in ("Max", "Avg")},
}


def _stride_rule(n):
    return f"stride must be a positive int or a tuple of {n} positive ints"


def _bad_window_calls():
    """(where, call, error, fragments) for the same bad window values in every op and layer."""
    cases = []
    for table, functional in ((FUNCTIONAL_WINDOWS, True), (LAYER_WINDOWS, False)):
        for where, (n, build) in table.items():
            def run(kw, build=build, n=n, functional=functional):
                return build(_x(n), **kw) if functional else build(**kw)
            cases += [
                (where, lambda run=run: run({"stride": 0}), ValueError, [f"{where}: {_stride_rule(n)}, got 0"]),
                (where, lambda run=run: run({"stride": True}), TypeError, [f"{where}: {_stride_rule(n)}, got True"]),
                (where, lambda run=run: run({"padding": -1}), ValueError,
                 [f"{where}: padding must be a non-negative int", f"{n} non-negative ints", ", got -1"]),
            ]
            if n == 2:
                cases.append((where, lambda run=run: run({"stride": (1,)}), ValueError,
                              [f"{where}: {_stride_rule(2)}, got (1,)"]))
    return cases


@pytest.mark.parametrize("where, call, error, fragments", _bad_window_calls(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_bad_window_arguments_are_refused_alike(where, call, error, fragments):
    with raises(error, *fragments):
        call()


def test_the_brief_example_message():
    with raises(ValueError, "conv2d: stride must be a positive int or a tuple of 2 positive ints, got (1,)"):
        F.conv2d(_x(2), cnnlab.zeros(2, 2, 3, 3), stride=(1,))


@pytest.mark.parametrize("where", list(FUNCTIONAL_WINDOWS))
@pytest.mark.parametrize("form", ["int", "tuple", "list"])
def test_int_tuple_and_list_are_accepted_and_agree_in_functional_ops(where, form):
    n, call = FUNCTIONAL_WINDOWS[where]
    stride, padding = {"int": (2, 1), "tuple": ((2,) * n, (1,) * n), "list": ([2] * n, [1] * n)}[form]
    x = cnnlab.randn(1, 2, *([6] * n))
    np.testing.assert_array_equal(call(x, stride=stride, padding=padding).array, call(x, stride=2, padding=1).array)


@pytest.mark.parametrize("where", list(LAYER_WINDOWS))
@pytest.mark.parametrize("form", ["int", "tuple", "list"])
def test_int_tuple_and_list_are_accepted_and_normalised_in_layers(where, form):
    n, build = LAYER_WINDOWS[where]
    stride, padding = {"int": (2, 1), "tuple": ((2,) * n, (1,) * n), "list": ([2] * n, [1] * n)}[form]
    layer = build(stride=stride, padding=padding)
    assert layer.stride == (2,) * n and layer.padding == (1,) * n and layer.kernel_size == (3,) * n


# ------------------------------------------------------------------ dims
DIM_CALLS = {
    "softmax": lambda x, d: F.softmax(x, d),
    "log_softmax": lambda x, d: F.log_softmax(x, dim=d),
    "flatten": lambda x, d: F.flatten(x, d),
    "Softmax": lambda x, d: nn.Softmax(dim=d)(x),
    "LogSoftmax": lambda x, d: nn.LogSoftmax(dim=d)(x),
    "Flatten": lambda x, d: nn.Flatten(start_dim=d)(x),
}


@pytest.mark.parametrize("name", list(DIM_CALLS))
def test_dim_out_of_range_names_the_valid_range(name):
    where = {"Softmax": "softmax", "LogSoftmax": "log_softmax", "Flatten": "flatten"}.get(name, name)
    argument = "start_dim" if where == "flatten" else "dim"
    with raises(ValueError, f"{where}: {argument} must be an int in [-2, 1] for a 2-D input, got 5"):
        DIM_CALLS[name](cnnlab.zeros(2, 3), 5)
    DIM_CALLS[name](cnnlab.zeros(2, 3), -1)   # negative dims count from the end


@pytest.mark.parametrize("layer", [nn.Softmax, nn.LogSoftmax])
def test_layers_refuse_a_non_int_dim_at_construction(layer):
    with raises(TypeError, f"{layer.__name__}: dim must be an int, got 1.0"):
        layer(dim=1.0)


# --------------------------------------------------------------- ndarrays
def _float(*shape):
    return cnnlab.randn(*shape)


# name -> call(wrap), where wrap(t) is applied to the first tensor argument
NDARRAY_CALLS = {
    "conv1d": lambda w: F.conv1d(w(_float(1, 2, 5)), _float(2, 2, 3)),
    "conv2d": lambda w: F.conv2d(w(_float(1, 2, 5, 5)), _float(2, 2, 3, 3)),
    "conv3d": lambda w: F.conv3d(w(_float(1, 2, 4, 4, 4)), _float(2, 2, 3, 3, 3)),
    "conv_transpose1d": lambda w: F.conv_transpose1d(w(_float(1, 2, 5)), _float(2, 2, 3)),
    "conv_transpose2d": lambda w: F.conv_transpose2d(w(_float(1, 2, 5, 5)), _float(2, 2, 3, 3)),
    "conv_transpose3d": lambda w: F.conv_transpose3d(w(_float(1, 2, 4, 4, 4)), _float(2, 2, 3, 3, 3)),
    "pad": lambda w: F.pad(w(_float(1, 2, 5)), (1, 1)),
    **{f"{kind}_pool{n}d": (lambda w, n=n, kind=kind: getattr(F, f"{kind}_pool{n}d")(w(_float(1, 2, *[4] * n)), 2))
       for n in (1, 2, 3) for kind in ("max", "avg")},
    **{f"adaptive_{kind}_pool{n}d": (lambda w, n=n, kind=kind: getattr(F, f"adaptive_{kind}_pool{n}d")(
        w(_float(1, 2, *[4] * n)), 2)) for n in (1, 2, 3) for kind in ("max", "avg")},
    **{name: (lambda w, name=name: getattr(F, name)(w(_float(2, 3))))
       for name in ("relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "silu", "flatten",
                    "dropout")},
    "dropout2d": lambda w: F.dropout2d(w(_float(1, 2, 3, 3))),
    "softmax": lambda w: F.softmax(w(_float(2, 3)), 1),
    "log_softmax": lambda w: F.log_softmax(w(_float(2, 3)), 1),
    "linear": lambda w: F.linear(w(_float(2, 3)), _float(4, 3)),
    "one_hot": lambda w: F.one_hot(w(cnnlab.tensor([0, 2])), 3),
    "batch_norm": lambda w: F.batch_norm(w(_float(4, 3)), None, None, training=True),
    "layer_norm": lambda w: F.layer_norm(w(_float(2, 3)), 3),
    "group_norm": lambda w: F.group_norm(w(_float(2, 4)), 2),
    **{name: (lambda w, name=name: getattr(F, name)(w(cnnlab.rand(2, 3)), cnnlab.rand(2, 3)))
       for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                    "binary_cross_entropy_with_logits")},
    "cross_entropy": lambda w: F.cross_entropy(w(_float(2, 3)), cnnlab.tensor([0, 1])),
    "nll_loss": lambda w: F.nll_loss(w(_float(2, 3)), cnnlab.tensor([0, 1])),
    "grid_sample": lambda w: F.grid_sample(w(_float(1, 1, 4, 4)), cnnlab.zeros(1, 2, 2, 2)),
}
FIRST_ARGUMENT = {"affine_grid": "theta", "one_hot": "tensor"}


def test_every_public_functional_op_is_in_the_ndarray_grid():
    from cnnlab.functional import activation, conv, loss, norm, pool, sampling

    public = {name for module in (activation, conv, loss, norm, pool, sampling) for name in module.__all__}
    assert set(NDARRAY_CALLS) | {"affine_grid"} == public


@pytest.mark.parametrize("name", list(NDARRAY_CALLS) + ["affine_grid"])
def test_ndarray_tensor_arguments_are_refused_with_one_message(name):
    call = NDARRAY_CALLS.get(name, lambda w: F.affine_grid(w(cnnlab.zeros(1, 2, 3)), (1, 1, 2, 2)))
    call(lambda t: t)   # the same call with a Tensor is accepted
    with raises(TypeError, f"{name}: {FIRST_ARGUMENT.get(name, 'input')} {WRAP}"):
        call(lambda t: t.array)


def test_lists_are_refused_like_arrays():
    with raises(TypeError, "relu: input must be a cnnlab.Tensor", "got list"):
        F.relu([1.0, -1.0])


# ------------------------------------------------------------------ rules
@pytest.mark.parametrize("value, expected", [(3, (3, 3)), ((1, 2), (1, 2)), ([4, 5], (4, 5)), (np.int64(2), (2, 2))])
def test_ntuple_accepts_ints_tuples_lists_and_numpy_ints(value, expected):
    assert arguments.ntuple("conv2d", "stride", value, 2) == expected


@pytest.mark.parametrize("value, error", [((1,), ValueError), ((1, 2, 3), ValueError), (0, ValueError),
                                          (True, TypeError), ((1, True), TypeError), (1.0, TypeError),
                                          ("2", TypeError), (None, TypeError)])
def test_ntuple_refusals(value, error):
    with raises(error, f"conv2d: stride must be a positive int or a tuple of 2 positive ints, got {value!r}"):
        arguments.ntuple("conv2d", "stride", value, 2)


def test_padding_pairs_follow_same_padding():
    assert arguments.padding_pairs("same", (4, 3), (1, 2)) == ((1, 2), (2, 2))
    assert arguments.padding_pairs("valid", (4, 3), (1, 1)) == ((0, 0), (0, 0))
    assert arguments.padding_pairs((1, 0), (4, 3), (1, 1)) == ((1, 1), (0, 0))


def test_pool_padding_is_at_most_half_the_kernel_in_functional_and_layers():
    with raises(ValueError, "max_pool2d: padding must be at most half of kernel_size=(3, 3), got 2"):
        F.max_pool2d(cnnlab.zeros(1, 1, 6, 6), 3, padding=2, dilation=2)
    with raises(ValueError, "MaxPool2d: padding must be at most half of kernel_size=(3, 3), got 2"):
        nn.MaxPool2d(3, padding=2, dilation=2)


def test_real_numbers_and_choices():
    assert arguments.real("elu", "alpha", np.float32(0.5)) == 0.5
    assert type(arguments.real("elu", "alpha", np.float32(0.5))) is float
    with raises(ValueError, "Dropout: p must be a real number in [0, 1], got nan"):
        nn.Dropout(float("nan"))
    with raises(ValueError, "MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")


def test_loss_layer_weights_must_be_tensors():
    with raises(TypeError, "CrossEntropyLoss: weight must be a cnnlab.Tensor", "got list"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])
