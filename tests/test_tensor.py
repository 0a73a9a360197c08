"""The Tensor core: arithmetic, reductions, shape ops, layout and the backward walk."""
import ast
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import cnnlab
from cnnlab import Tensor
from helpers import check_op, gradcheck, raises

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
]
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((1, 3, 1), (2, 1, 5)), ((), (2, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
@pytest.mark.parametrize("name,op", BINARY)
def test_binary_ops_match_torch(name, op, shapes, dtype, rng):
    a = rng.standard_normal(shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1]) * rng.choice([-1, 1], shapes[1])
    check_op(op, op, a, b, dtype=dtype)


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
@pytest.mark.parametrize("name,op", BINARY)
def test_binary_ops_gradcheck(name, op, shapes, rng):
    a = rng.standard_normal(shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1])
    gradcheck(op, a, b)


UNARY = [
    ("neg", lambda x: -x, lambda x: -x),
    ("exp", lambda x: x.exp(), lambda x: x.exp()),
    ("log", lambda x: x.abs().log(), lambda x: x.abs().log()),
    ("sqrt", lambda x: x.abs().sqrt(), lambda x: x.abs().sqrt()),
    ("abs", lambda x: x.abs(), lambda x: x.abs()),
    ("clip", lambda x: x.clip(-0.5, 0.7), lambda x: x.clip(-0.5, 0.7)),
    ("clip_min", lambda x: x.clip(min=0.1), lambda x: x.clip(min=0.1)),
    ("square", lambda x: x ** 2, lambda x: x ** 2),
    ("pow_frac", lambda x: x.abs() ** 1.5, lambda x: x.abs() ** 1.5),
    ("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x),
    ("rsub", lambda x: 3 - x, lambda x: 3 - x),
    ("rdiv", lambda x: 1.0 / x, lambda x: 1.0 / x),
    ("scalar_mul", lambda x: x * 2.5 + 1, lambda x: x * 2.5 + 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours,theirs", UNARY)
def test_unary_ops_match_torch(name, ours, theirs, dtype, rng):
    x = rng.uniform(0.2, 2.0, (3, 5)) * rng.choice([-1, 1], (3, 5))
    check_op(ours, theirs, x, dtype=dtype)


@pytest.mark.parametrize("name,ours,theirs", UNARY)
def test_unary_ops_gradcheck(name, ours, theirs, rng):
    x = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    gradcheck(ours, x)


def test_power_of_two_tensors(rng):
    a, b = rng.uniform(0.5, 2, (3, 4)), rng.standard_normal((3, 4))
    check_op(lambda x, y: x ** y, lambda x, y: x ** y, a, b, dtype=np.float64)
    gradcheck(lambda x, y: x ** y, a, b)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                 ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_matches_torch(shapes, dtype, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, a, b, dtype=dtype)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:5])
def test_matmul_gradcheck(shapes, rng):
    gradcheck(lambda x, y: x @ y, rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]))


def test_matmul_shape_mismatch_message():
    with raises(ValueError, "matmul", "(3, 4)", "(5, 2)"):
        cnnlab.zeros(3, 4) @ cnnlab.zeros(5, 2)


def test_broadcast_mismatch_is_an_error():
    with pytest.raises(ValueError):
        cnnlab.zeros(3, 4) + cnnlab.zeros(3, 5)


REDUCTIONS = [
    ("sum_all", lambda x: x.sum(), lambda x: x.sum()),
    ("sum_0", lambda x: x.sum(0), lambda x: x.sum(0)),
    ("sum_keep", lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(dim=(0, 2), keepdim=True)),
    ("mean_all", lambda x: x.mean(), lambda x: x.mean()),
    ("mean_neg", lambda x: x.mean(-1), lambda x: x.mean(-1)),
    ("mean_keep", lambda x: x.mean(1, keepdim=True), lambda x: x.mean(1, keepdim=True)),
    ("max_all", lambda x: x.max(), lambda x: x.max()),
    ("min_all", lambda x: x.min(), lambda x: x.min()),
    ("max_dim", lambda x: x.max(1).values, lambda x: x.max(1).values),
    ("min_dim_keep", lambda x: x.min(2, keepdim=True).values, lambda x: x.min(2, keepdim=True).values),
    ("amax", lambda x: x.amax((0, 1)), lambda x: x.amax((0, 1))),
    ("var_all", lambda x: x.var(), lambda x: x.var()),
    ("var_dim", lambda x: x.var(1), lambda x: x.var(1)),
    ("var_biased", lambda x: x.var(0, unbiased=False, keepdim=True), lambda x: x.var(0, unbiased=False, keepdim=True)),
    ("std", lambda x: x.std(2), lambda x: x.std(2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours,theirs", REDUCTIONS)
def test_reductions_match_torch(name, ours, theirs, dtype, rng):
    check_op(ours, theirs, rng.permutation(24).reshape(2, 3, 4) + rng.uniform(0, 0.5, (2, 3, 4)), dtype=dtype)


@pytest.mark.parametrize("name,ours,theirs", REDUCTIONS)
def test_reductions_gradcheck(name, ours, theirs, rng):
    gradcheck(ours, rng.permutation(24).reshape(2, 3, 4) + rng.uniform(0, 0.5, (2, 3, 4)))


def test_max_along_dim_returns_torch_style_indices():
    x = Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.array, [5.0, 7.0])
    np.testing.assert_array_equal(indices.array, [1, 0])


def test_tied_maxima_share_the_gradient_as_amax():
    x = Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.amax().backward()
    np.testing.assert_array_equal(x.grad.array, [[0.0, 0.5, 0.5]])


def test_reduce_dim_out_of_range_message():
    with raises(ValueError, "sum: dim must be an int in [-2, 1] for a 2-D input, got 2"):
        cnnlab.zeros(2, 3).sum(dim=2)


SHAPE_OPS = [
    ("reshape", lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    ("reshape_neg", lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3)),
    ("flatten", lambda x: x.flatten(), lambda x: x.flatten()),
    ("flatten_1", lambda x: x.flatten(1), lambda x: x.flatten(1)),
    ("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
    ("index", lambda x: x[1], lambda x: x[1]),
    ("slice", lambda x: x[:, 1:, ::2], lambda x: x[:, 1:, ::2]),
    ("negative_step_free", lambda x: x[..., -1], lambda x: x[..., -1]),
    ("fancy", lambda x: x[:, [0, 2, 2]], lambda x: x[:, [0, 2, 2]]),
    ("mask", lambda x: x[x > 0], lambda x: x[x > 0]),
    ("expand", lambda x: x[:, :1].expand(2, 3, 4), lambda x: x[:, :1].expand(2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours,theirs", SHAPE_OPS)
def test_shape_ops_match_torch(name, ours, theirs, dtype, rng):
    check_op(ours, theirs, rng.standard_normal((2, 3, 4)), dtype=dtype)


@pytest.mark.parametrize("name,ours,theirs", SHAPE_OPS)
def test_shape_ops_gradcheck(name, ours, theirs, rng):
    gradcheck(ours, rng.standard_normal((2, 3, 4)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_concat_and_stack_match_torch(dim, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    check_op(lambda x, y: cnnlab.concat([x, y], dim), lambda x, y: torch.cat([x, y], dim), a, b, dtype=np.float64)
    check_op(lambda x, y: cnnlab.stack([x, y], dim), lambda x, y: torch.stack([x, y], dim), a, b, dtype=np.float64)
    gradcheck(lambda x, y: cnnlab.concat([x, y * 2], dim), a, b)


def test_concat_shape_mismatch_message():
    with raises(ValueError, "concat", "dim=0", "(2, 3)", "(2, 4)"):
        cnnlab.concat([cnnlab.zeros(2, 3), cnnlab.zeros(2, 4)])


def test_reshape_message_names_both_shapes():
    with raises(ValueError, "reshape", "(2, 3)", "(4, 2)"):
        cnnlab.zeros(2, 3).reshape(4, 2)


def test_where_matches_torch(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    mask = rng.random((3, 4)) > 0.5
    check_op(lambda x, y: cnnlab.where(mask, x, y), lambda x, y: torch.where(torch.tensor(mask), x, y), a, b,
             dtype=np.float64)


# ------------------------------------------------------------------ backward
def test_gradients_accumulate_across_backward_calls():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.array, [3 + 2, 3 + 4])


def test_shared_subexpression_sums_both_paths():
    x = Tensor(2.0, requires_grad=True)
    y = x * x
    (y + y * x).backward()  # d/dx (x^2 + x^3) = 2x + 3x^2
    assert x.grad.item() == pytest.approx(16.0)


def test_backward_on_non_scalar_needs_grad():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with raises(RuntimeError, "backward", "single-element", "(2,)"):
        y.backward()
    y.backward(np.ones(2))


def test_backward_grad_shape_mismatch():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with raises(ValueError, "backward", "(2,)", "(3,)"):
        y.backward(np.ones(3))


def test_backward_without_graph_explains():
    with raises(RuntimeError, "does not require grad"):
        Tensor([1.0]).sum().backward()


def test_second_backward_through_freed_graph_is_an_error():
    x = Tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with raises(RuntimeError, "second time", "retain_graph"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == pytest.approx(2 + 2 + 2)


def test_no_grad_records_nothing_and_restores():
    w = Tensor([1.0], requires_grad=True)
    with cnnlab.no_grad():
        y = w * 2
        assert not cnnlab.is_grad_enabled()
        with cnnlab.enable_grad():
            assert (w * 2).requires_grad
    assert not y.requires_grad and cnnlab.is_grad_enabled()

    @cnnlab.no_grad()
    def double(t):
        return t * 2

    assert not double(w).requires_grad


def test_non_leaf_grad_only_when_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    k = x * 4
    (h * k).sum().backward()
    np.testing.assert_allclose(h.grad.array, k.array)
    assert k.grad is None


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


# ------------------------------------------------------------------ basics
def test_dtypes_follow_pytorch():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    assert (Tensor([1.0]) * 2.5).dtype == np.float32
    assert Tensor(np.zeros(2, np.float16)).dtype == np.float32


def test_integer_tensors_cannot_require_grad():
    with raises(TypeError, "float32 and float64", "int64"):
        Tensor([1, 2], requires_grad=True)


def test_array_protocol_and_grad_is_array_like():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_array_equal(np.asarray(w.grad), [2.0, 4.0])
    assert np.asarray(w) is w.array and w.numpy() is w.array
    assert isinstance(np.ones(2) + w, Tensor)


def test_comparisons_give_plain_arrays():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = t > 1.5
    assert isinstance(mask, np.ndarray) and mask.tolist() == [False, True, True]


def test_detach_and_astype():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert not x.detach().requires_grad
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.array, [2.0, 4.0])


def test_repr_is_quiet():
    assert repr(Tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=float64" in repr(Tensor(np.zeros(1)))


def test_factories_and_seed():
    cnnlab.manual_seed(3)
    a = cnnlab.randn(2, 3)
    cnnlab.manual_seed(3)
    np.testing.assert_array_equal(a.array, cnnlab.randn(2, 3).array)
    assert cnnlab.zeros((2, 3)).shape == (2, 3) and cnnlab.ones(4).array.sum() == 4


# ------------------------------------------------------------- layout
@pytest.mark.parametrize("name,view", [
    ("channels_last", lambda x: x.permute(0, 2, 3, 1)),
    ("transpose", lambda x: x.transpose(1, 3)),
    ("strided", lambda x: x[:, :, ::2]),
    ("expand", lambda x: x[:, :1].expand(2, 3, 4, 5)),
])
def test_contiguous_copies_a_view_and_passes_the_gradient(name, view, rng):
    check_op(lambda x: view(x).contiguous(), lambda x: view(x).contiguous(), rng.standard_normal((2, 3, 4, 5)),
             dtype=np.float64)
    x = Tensor(rng.standard_normal((2, 3, 4, 5)))
    y = view(x)
    assert not y.is_contiguous() and not y.array.flags.c_contiguous
    z = y.contiguous()
    assert z.is_contiguous() and z.array.flags.c_contiguous
    np.testing.assert_array_equal(z.array, y.array)


def test_contiguous_returns_a_contiguous_tensor_itself():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert x.is_contiguous() and x.contiguous() is x
    assert x[1:].contiguous().is_contiguous()


@pytest.mark.parametrize("view", [
    lambda x: x, lambda x: x.T, lambda x: x[:, ::2], lambda x: x[1:], lambda x: x.unsqueeze(0),
    lambda x: x[:1].expand(3, 4), lambda x: x.permute(1, 0).reshape(4, 3),
])
def test_is_contiguous_agrees_with_torch(view):
    array = np.arange(12.0).reshape(3, 4)
    assert view(Tensor(array)).is_contiguous() == view(torch.tensor(array)).is_contiguous()


# ------------------------------------------------------------- structure
TENSOR_API = [
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__getitem__", "matmul",
    "exp", "log", "sqrt", "abs", "clip", "clamp", "sum", "mean", "amax", "amin", "max", "min", "var", "std",
    "reshape", "view", "flatten", "permute", "transpose", "T", "squeeze", "unsqueeze", "expand",
    "contiguous", "is_contiguous", "relu", "sigmoid", "tanh", "softmax", "log_softmax",
]


def _run(code):
    """Run ``code`` in a fresh interpreter; fail with its stderr if it fails."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_method_is_defined_in_the_class_body():
    """Nothing is attached to Tensor from outside: each attribute's code was written in ``class Tensor``."""
    for name in TENSOR_API:
        assert name in Tensor.__dict__, name
    for name, value in vars(Tensor).items():
        code = value.fget if isinstance(value, property) else value
        if isinstance(code, types.FunctionType):
            assert code.__module__ == "cnnlab.tensor" and code.__qualname__.startswith("Tensor."), name


def test_importing_only_the_tensor_module_gives_the_whole_class():
    _run(f"from cnnlab.tensor import Tensor; missing = set({TENSOR_API!r}) - set(Tensor.__dict__); "
         "assert not missing, missing")


@pytest.mark.parametrize("module", ["cnnlab.tensor", "cnnlab.ops.elementwise", "cnnlab.ops.reduce",
                                    "cnnlab.ops.shape", "cnnlab.ops.activation"])
def test_each_engine_module_imports_first(module):
    _run(f"import {module}; from cnnlab.tensor import Tensor; "
         "assert (Tensor([[1.0, -2.0]]).relu().T @ Tensor([[3.0]])).sum().item() == 3.0")


def test_tensor_module_does_not_import_the_ops_when_loaded():
    """The ops import tensor.py; it imports them only inside the methods, so there is no import cycle."""
    tree = ast.parse(Path(sys.modules["cnnlab.tensor"].__file__).read_text())
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [getattr(node, "module", None) or ""] + [alias.name for alias in node.names]
            assert not any("ops" in name.split(".") for name in names), ast.unparse(node)


def test_no_module_assigns_tensor_attributes():
    pattern = re.compile(r"^\s*Tensor\.\w+(\s*,\s*Tensor\.\w+)*\s*=[^=]", re.MULTILINE)
    source = Path(cnnlab.__file__).parent
    offenders = [str(p.relative_to(source)) for p in source.rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders
