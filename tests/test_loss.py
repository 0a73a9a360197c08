"""Losses: finite differences, naive loops, PyTorch parity and error messages."""
import math

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from helpers import assert_close, check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


def _classes(shape):
    return shape[1] if len(shape) > 1 else shape[0]


def _sample_shape(shape):
    return shape[:1] + shape[2:] if len(shape) > 1 else ()


def _class_targets(rng, shape, ignore_index=None):
    target = rng.integers(0, _classes(shape), _sample_shape(shape))
    if ignore_index is not None and target.size > 1:
        target.reshape(-1)[::3] = ignore_index
    return target


def T(value):
    """``value`` as a cnnlab Tensor (None stays None): losses take Tensors, as in PyTorch."""
    return None if value is None else cnnlab.tensor(value)


def _torch_const(array, dtype):
    return None if array is None else torch.tensor(np.asarray(array, dtype=dtype))


# ------------------------------------------------------------- naive references
def naive_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy of class indices, one sample at a time (class axis moved last)."""
    classes = _classes(x.shape)
    rows = np.moveaxis(x, 1, -1).reshape(-1, classes) if x.ndim > 1 else x.reshape(1, classes)
    weight = np.ones(classes) if weight is None else weight
    losses, total_weight = [], 0.0
    for row, y in zip(rows, np.reshape(target, -1)):
        if y == ignore_index:
            losses.append(0.0)
            continue
        top = max(row)
        log_z = top + math.log(sum(math.exp(v - top) for v in row))
        smooth = sum(weight[c] * (log_z - row[c]) for c in range(classes))
        losses.append((1 - label_smoothing) * weight[y] * (log_z - row[y]) + label_smoothing / classes * smooth)
        total_weight += weight[y]
    if reduction == "none":
        return np.array(losses).reshape(np.shape(target))
    return sum(losses) if reduction == "sum" else sum(losses) / total_weight


def naive_binary_cross_entropy(x, y, weight=None):
    """Unreduced binary cross entropy with PyTorch's log clamp at -100, element by element."""
    weight = np.broadcast_to(1.0 if weight is None else weight, x.shape)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        log_x = max(math.log(x[i]) if x[i] > 0 else -math.inf, -100)
        log_rest = max(math.log(1 - x[i]) if x[i] < 1 else -math.inf, -100)
        out[i] = -weight[i] * (y[i] * log_x + (1 - y[i]) * log_rest)
    return out


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 2, 3)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_matches_naive_loop(rng, shape, weighted, ignore_index, reduction, label_smoothing):
    x = rng.standard_normal(shape)
    target = _class_targets(rng, shape, ignore_index)
    weight = rng.uniform(0.5, 2.0, _classes(shape)) if weighted else None
    ours = F.cross_entropy(cnnlab.Tensor(x), T(target), T(weight), ignore_index, reduction, label_smoothing)
    assert_close(ours.array, naive_cross_entropy(x, target, weight, ignore_index, reduction, label_smoothing), 1e-12)


def test_nll_loss_matches_naive_loop(rng):
    log_p = rng.standard_normal((3, 4, 2))
    target = np.array([[0, 3], [-100, 1], [2, 2]])
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    expected = [-weight[t] * log_p[n, t, j] for n in range(3) for j in range(2) if (t := target[n, j]) != -100]
    total_weight = sum(weight[t] for t in target.reshape(-1) if t != -100)
    ours = F.nll_loss(cnnlab.Tensor(log_p), T(target), T(weight))
    assert_close(ours.array, sum(expected) / total_weight, 1e-12)


def test_binary_cross_entropy_matches_naive_loop(rng):
    x = np.array([[0.0, 0.3, 1.0], [0.9, 1e-50, 0.5]])
    y = np.array([[0.0, 0.7, 1.0], [0.2, 1.0, 0.0]])
    weight = rng.uniform(0.5, 2.0, 3)
    ours = F.binary_cross_entropy(cnnlab.Tensor(x), T(y), T(weight), reduction="none")
    assert_close(ours.array, naive_binary_cross_entropy(x, y, weight), 1e-12)


def test_cross_entropy_of_one_hot_probabilities_equals_class_indices(rng):
    x = rng.standard_normal((4, 3, 2))
    target = rng.integers(0, 3, (4, 2))
    one_hot = np.moveaxis(np.eye(3)[target], -1, 1)
    weight = np.array([1.0, 1.0, 1.0])
    soft = F.cross_entropy(cnnlab.Tensor(x), T(one_hot), T(weight), label_smoothing=0.2)
    hard = F.cross_entropy(cnnlab.Tensor(x), T(target), T(weight), label_smoothing=0.2)
    assert_close(soft.array, hard.array, 1e-12)


def test_cross_entropy_equals_nll_of_log_softmax(rng):
    x = rng.standard_normal((4, 6))
    target = rng.integers(0, 6, 4)
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    assert_close(F.cross_entropy(cnnlab.Tensor(x), T(target)).array, F.nll_loss(cnnlab.Tensor(log_p), T(target)).array,
                 1e-12)


def test_targets_and_weights_must_be_tensors(rng):
    x = cnnlab.Tensor(rng.standard_normal((3, 4)))
    wrap = "must be a cnnlab.Tensor (wrap arrays with cnnlab.tensor(...) or cnnlab.from_numpy(...))"
    with raises(TypeError, f"cross_entropy: target {wrap}, got list"):
        F.cross_entropy(x, [0, 3, 1])
    with raises(TypeError, f"cross_entropy: target {wrap}, got numpy.ndarray"):
        F.cross_entropy(x, np.array([0, 3, 1]))
    with raises(TypeError, f"nll_loss: weight {wrap}, got numpy.ndarray"):
        F.nll_loss(x, cnnlab.tensor([0, 3, 1]), np.ones(4))
    with raises(TypeError, f"mse_loss: target {wrap}, got list"):
        F.mse_loss(x, [[1.0, 2.0, 3.0, 4.0]] * 3)
    with raises(TypeError, f"binary_cross_entropy_with_logits: pos_weight {wrap}, got numpy.ndarray"):
        F.binary_cross_entropy_with_logits(x, cnnlab.zeros(3, 4), pos_weight=np.ones(4))
    with raises(TypeError, f"l1_loss: input {wrap}, got numpy.ndarray"):
        F.l1_loss(x.array, x)


# ------------------------------------------------------------- finite differences
def _away_from_kinks(rng, shape, kinks):
    """Offsets whose magnitudes keep at least 0.1 away from every kink in ``kinks``."""
    edges = sorted(set([0.0] + list(kinks)))
    gaps = [(a + 0.1, b - 0.1) for a, b in zip(edges, edges[1:] + [edges[-1] + 2.0])]
    picks = rng.integers(0, len(gaps), shape)
    low, high = np.array(gaps).T
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(low[picks], high[picks])


POINTWISE = {
    "mse": (lambda x, y, r: F.mse_loss(x, y, r), lambda x, y, r: TF.mse_loss(x, y, reduction=r), []),
    "l1": (lambda x, y, r: F.l1_loss(x, y, r), lambda x, y, r: TF.l1_loss(x, y, reduction=r), []),
    "smooth_l1": (lambda x, y, r: F.smooth_l1_loss(x, y, r, beta=0.7),
                  lambda x, y, r: TF.smooth_l1_loss(x, y, reduction=r, beta=0.7), [0.7]),
    "smooth_l1_beta0": (lambda x, y, r: F.smooth_l1_loss(x, y, r, beta=0.0),
                        lambda x, y, r: TF.smooth_l1_loss(x, y, reduction=r, beta=0.0), []),
    "huber": (lambda x, y, r: F.huber_loss(x, y, r, delta=1.5),
              lambda x, y, r: TF.huber_loss(x, y, reduction=r, delta=1.5), [1.5]),
}


@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_gradcheck(rng, name, reduction):
    ours, _, kinks = POINTWISE[name]
    x = rng.standard_normal((2, 3))
    y = x + _away_from_kinks(rng, x.shape, kinks)
    gradcheck(lambda a, b: ours(a, b, reduction), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_gradcheck(rng, reduction, weighted):
    x, y = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0, 1, (2, 3))
    weight = rng.uniform(0.5, 2, 3) if weighted else None
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, T(weight), reduction), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_with_logits_gradcheck(rng, reduction, weighted):
    z, y = 3 * rng.standard_normal((2, 3)), rng.uniform(0, 1, (2, 3))
    weight, pos_weight = (rng.uniform(0.5, 2, (2, 3)), rng.uniform(0.5, 3, 3)) if weighted else (None, None)
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, T(weight), reduction, T(pos_weight)), z, y)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_gradcheck(rng, shape, reduction, label_smoothing):
    target = _class_targets(rng, shape, ignore_index=1)
    weight = rng.uniform(0.5, 2.0, _classes(shape))
    gradcheck(lambda x: F.cross_entropy(x, T(target), T(weight), 1, reduction, label_smoothing),
              rng.standard_normal(shape))


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_gradcheck(rng, shape, reduction):
    weight = rng.uniform(0.5, 2.0, _classes(shape))
    target = rng.dirichlet(np.ones(_classes(shape)), _sample_shape(shape))
    # Contiguous: gradcheck perturbs elements through reshape(-1), which copies a strided view.
    target = np.ascontiguousarray(np.moveaxis(target, -1, 1) if len(shape) > 1 else target)
    gradcheck(lambda x, t: F.cross_entropy(x, t, T(weight), reduction=reduction, label_smoothing=0.1),
              rng.standard_normal(shape), target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(rng, reduction):
    target = np.array([[0, 2], [-100, 1]])
    gradcheck(lambda x: F.nll_loss(x, T(target), T([1.0, 2.0, 0.5]), reduction=reduction),
              rng.standard_normal((2, 3, 2)))


# ------------------------------------------------------------- PyTorch parity
@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pointwise_matches_torch(rng, name, shape, reduction, dtype):
    ours, theirs, kinks = POINTWISE[name]
    x = rng.standard_normal(shape)
    y = x + _away_from_kinks(rng, shape, kinks)
    check_op(lambda a, b: ours(a, b, reduction), lambda a, b: theirs(a, b, reduction), x, y, dtype=dtype)


@pytest.mark.parametrize("weight_shape", [None, (3,), (2, 3)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_matches_torch(rng, weight_shape, reduction, dtype):
    x, y = rng.uniform(0.02, 0.98, (2, 3)), rng.uniform(0, 1, (2, 3))
    weight = None if weight_shape is None else rng.uniform(0.5, 2, weight_shape)
    check_op(lambda a, b: F.binary_cross_entropy(a, b, T(weight), reduction),
             lambda a, b: TF.binary_cross_entropy(a, b, _torch_const(weight, dtype), reduction=reduction),
             x, y, dtype=dtype)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), x, y, dtype=np.float64, grad=False)
    assert F.binary_cross_entropy(cnnlab.Tensor(x), T(y), reduction="none").tolist() == [100.0, 100.0, 0.0, 0.0]


@pytest.mark.parametrize("weight_shape", [None, (4,), (2, 3, 4)])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits_matches_torch(rng, weight_shape, pos_weight, reduction, dtype):
    z, y = 4 * rng.standard_normal((2, 3, 4)), rng.uniform(0, 1, (2, 3, 4))
    weight = None if weight_shape is None else rng.uniform(0.5, 2, weight_shape)
    positive = rng.uniform(0.5, 3, 4) if pos_weight else None
    check_op(lambda a, b: F.binary_cross_entropy_with_logits(a, b, T(weight), reduction, T(positive)),
             lambda a, b: TF.binary_cross_entropy_with_logits(
                 a, b, _torch_const(weight, dtype), reduction=reduction, pos_weight=_torch_const(positive, dtype)),
             z, y, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits(dtype):
    z, y = np.array([-300.0, -30.0, 30.0, 300.0]), np.array([1.0, 0.0, 1.0, 0.0])
    ours = F.binary_cross_entropy_with_logits(cnnlab.Tensor(z.astype(dtype), requires_grad=True), T(y),
                                              reduction="none")
    assert np.isfinite(ours.array).all() and ours.dtype == dtype
    check_op(lambda a: F.binary_cross_entropy_with_logits(a, T(y), reduction="none"),
             lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(y, dtype=a.dtype), reduction="none"),
             z, dtype=dtype)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3, 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_torch(rng, shape, weighted, ignore_index, reduction, label_smoothing, dtype):
    x = 3 * rng.standard_normal(shape)
    target = _class_targets(rng, shape, ignore_index)
    weight = rng.uniform(0.5, 2.0, _classes(shape)) if weighted else None
    check_op(lambda a, t: F.cross_entropy(a, t, T(weight), ignore_index, reduction, label_smoothing),
             lambda a, t: TF.cross_entropy(a, t, _torch_const(weight, dtype), ignore_index=ignore_index,
                                           reduction=reduction, label_smoothing=label_smoothing),
             x, target, dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_full_label_smoothing_matches_torch(rng, reduction, dtype):
    x, target, weight = rng.standard_normal((2, 5, 3)), _class_targets(rng, (2, 5, 3), 1), rng.uniform(0.5, 2.0, 5)
    check_op(lambda a, t: F.cross_entropy(a, t, T(weight), 1, reduction, 1.0),
             lambda a, t: TF.cross_entropy(a, t, _torch_const(weight, dtype), ignore_index=1,
                                           reduction=reduction, label_smoothing=1.0),
             x, target, dtype=dtype)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3, 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probabilities_match_torch(rng, shape, weighted, reduction, label_smoothing, dtype):
    x = 3 * rng.standard_normal(shape)
    target = rng.uniform(0, 1, shape)  # need not sum to one
    weight = rng.uniform(0.5, 2.0, _classes(shape)) if weighted else None
    check_op(lambda a, t: F.cross_entropy(a, t, T(weight), reduction=reduction, label_smoothing=label_smoothing),
             lambda a, t: TF.cross_entropy(a, t, _torch_const(weight, dtype), reduction=reduction,
                                           label_smoothing=label_smoothing),
             x, target, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_is_stable_for_huge_logits(rng, dtype, label_smoothing):
    x = 1e4 * rng.standard_normal((6, 4))
    target = rng.integers(0, 4, 6)
    loss = F.cross_entropy(cnnlab.Tensor(x.astype(dtype)), T(target), label_smoothing=label_smoothing)
    assert np.isfinite(loss.array) and loss.dtype == dtype
    check_op(lambda a, t: F.cross_entropy(a, t, label_smoothing=label_smoothing),
             lambda a, t: TF.cross_entropy(a, t, label_smoothing=label_smoothing), x, target, dtype=dtype)


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_every_target_ignored_is_nan_like_torch(rng, weighted):
    x, target = rng.standard_normal((3, 4)), np.full(3, -100)
    weight = rng.uniform(0.5, 2.0, 4) if weighted else None
    # nan loss (0 / 0), zero gradient
    check_op(lambda a, t: F.cross_entropy(a, t, T(weight)),
             lambda a, t: TF.cross_entropy(a, t, _torch_const(weight, np.float64)), x, target, dtype=np.float64)
    assert np.isnan(F.cross_entropy(cnnlab.Tensor(x), T(target), T(weight)).item())
    assert F.cross_entropy(cnnlab.Tensor(x), T(target), T(weight), reduction="sum").item() == 0.0


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3, 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_matches_torch(rng, shape, weighted, ignore_index, reduction, dtype):
    x = rng.standard_normal(shape)
    target = _class_targets(rng, shape, ignore_index)
    weight = rng.uniform(0.5, 2.0, _classes(shape)) if weighted else None
    check_op(lambda a, t: F.nll_loss(a, t, T(weight), ignore_index, reduction),
             lambda a, t: TF.nll_loss(a, t, _torch_const(weight, dtype), ignore_index=ignore_index,
                                      reduction=reduction),
             x, target, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_keep_the_input_dtype(rng, dtype):
    x = cnnlab.Tensor(rng.uniform(0.1, 0.9, (3, 4)).astype(dtype), requires_grad=True)
    target64 = T(rng.uniform(0.1, 0.9, (3, 4)))  # float64 targets must not promote
    ones64 = T(np.ones(4))
    losses = [F.mse_loss(x, target64), F.binary_cross_entropy(x, target64, weight=ones64),
              F.binary_cross_entropy_with_logits(x, target64, pos_weight=ones64),
              F.cross_entropy(x, target64), F.cross_entropy(x, T([0, 1, 2]), weight=ones64, label_smoothing=0.1)]
    for loss in losses:
        assert loss.dtype == dtype
        loss.backward()
        assert x.grad.dtype == dtype


def test_target_gradient_reaches_a_float64_target_under_float32_input(rng):
    x = cnnlab.Tensor(rng.standard_normal(4).astype(np.float32))
    target = cnnlab.Tensor(rng.standard_normal(4), requires_grad=True)
    F.mse_loss(x, target).backward()
    assert target.grad.dtype == np.float64
    assert_close(target.grad.array, -2 * (x.array - target.array) / 4, 1e-6)


# ------------------------------------------------------------- error messages
ALL_LOSSES = {
    "cross_entropy": lambda r: F.cross_entropy(cnnlab.randn(2, 3), T([0, 1]), reduction=r),
    "nll_loss": lambda r: F.nll_loss(cnnlab.randn(2, 3), T([0, 1]), reduction=r),
    "mse_loss": lambda r: F.mse_loss(cnnlab.randn(2), T([0.0, 1.0]), reduction=r),
    "l1_loss": lambda r: F.l1_loss(cnnlab.randn(2), T([0.0, 1.0]), reduction=r),
    "smooth_l1_loss": lambda r: F.smooth_l1_loss(cnnlab.randn(2), T([0.0, 1.0]), reduction=r),
    "huber_loss": lambda r: F.huber_loss(cnnlab.randn(2), T([0.0, 1.0]), reduction=r),
    "binary_cross_entropy": lambda r: F.binary_cross_entropy(cnnlab.rand(2), T([0.0, 1.0]), reduction=r),
    "binary_cross_entropy_with_logits":
        lambda r: F.binary_cross_entropy_with_logits(cnnlab.randn(2), T([0.0, 1.0]), reduction=r),
}


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_bad_reduction_is_named(name):
    with raises(ValueError, f"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        ALL_LOSSES[name]("avg")


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [5, -3])
def test_class_index_out_of_range_names_value_and_classes(name, bad):
    with raises(ValueError, f"{name}: target values must be class indices in [0, 4]", "input has 5 classes",
                "ignore_index=-100", f"got {bad}"):
        getattr(F, name)(cnnlab.randn(3, 5), T([0, bad, 1]))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_target_shape_mismatch(name):
    with raises(ValueError, f"{name}: target must have shape (2, 4, 4)", "input's shape (2, 3, 4, 4)",
                "got shape (2, 4)"):
        getattr(F, name)(cnnlab.randn(2, 3, 4, 4), T(np.zeros((2, 4), dtype=np.int64)))


def test_nll_loss_rejects_float_targets():
    with raises(TypeError, "nll_loss: target must be a tensor of integer class indices, got dtype=float32"):
        F.nll_loss(cnnlab.randn(2, 3), cnnlab.Tensor([0.0, 1.0]))


def test_cross_entropy_rejects_float_class_indices_and_integer_probabilities():
    with raises(TypeError, "cross_entropy: target must be a tensor of integer class indices, got dtype=float64"):
        F.cross_entropy(cnnlab.randn(2, 3), T(np.array([0.0, 1.0])))
    with raises(TypeError, "cross_entropy: a target of the input's shape holds class probabilities",
                "must be float", "got dtype=int64"):
        F.cross_entropy(cnnlab.randn(2, 3), T(np.eye(3, dtype=np.int64)[[0, 1]]))


def test_cross_entropy_rejects_ignore_index_with_probabilities():
    with raises(ValueError, "cross_entropy: ignore_index is not supported with class-probability targets",
                "got ignore_index=0"):
        F.cross_entropy(cnnlab.randn(2, 3), T(np.full((2, 3), 1 / 3)), ignore_index=0)


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.5])
def test_label_smoothing_outside_unit_interval(label_smoothing):
    with raises(ValueError, f"cross_entropy: label_smoothing must be a real number in [0, 1], got {label_smoothing}"):
        F.cross_entropy(cnnlab.randn(2, 3), T([0, 1]), label_smoothing=label_smoothing)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_weight_shape(name):
    with raises(ValueError, f"{name}: weight must have one entry per class, shape (3,), got shape (2,)"):
        getattr(F, name)(cnnlab.randn(2, 3), T([0, 1]), weight=T(np.ones(2)))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_losses_need_a_class_dimension(name):
    with raises(ValueError, f"{name}: input must have a class dimension", "got shape ()"):
        getattr(F, name)(cnnlab.Tensor(1.0), T(0))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_elementwise_target_shape_mismatch(name):
    with raises(ValueError, f"{name}: target must have the input's shape (2, 3), got (3, 2)"):
        getattr(F, name)(cnnlab.rand(2, 3), T(np.zeros((3, 2))))


@pytest.mark.parametrize("name", ["cross_entropy", "mse_loss"])
def test_integer_input_is_a_type_error(name):
    with raises(TypeError, f"{name}: input must be a float32 or float64 tensor, got dtype=int64"):
        getattr(F, name)(cnnlab.Tensor([[1, 2]]), T([0]))


def test_binary_cross_entropy_checks_probabilities():
    with raises(ValueError, "binary_cross_entropy: input values must be probabilities in [0, 1]", "[-0.5, 1.0]"):
        F.binary_cross_entropy(cnnlab.Tensor([-0.5, 1.0]), T([0.0, 1.0]))
    with raises(ValueError, "binary_cross_entropy: target values must be probabilities in [0, 1]", "[0.0, 2.0]"):
        F.binary_cross_entropy(cnnlab.Tensor([0.5, 0.5]), T([0.0, 2.0]))


@pytest.mark.parametrize("argument", ["weight", "pos_weight"])
def test_binary_weights_must_broadcast_to_the_input(argument):
    with raises(ValueError, f"binary_cross_entropy_with_logits: {argument} must broadcast to the input's shape (2, 3)",
                "got shape (2,)"):
        F.binary_cross_entropy_with_logits(cnnlab.randn(2, 3), T(np.zeros((2, 3))), **{argument: T(np.ones(2))})


def test_smooth_l1_beta_and_huber_delta():
    with raises(ValueError, "smooth_l1_loss: beta must be a real number >= 0, got -1.0"):
        F.smooth_l1_loss(cnnlab.randn(2), T([0.0, 1.0]), beta=-1.0)
    with raises(ValueError, "huber_loss: delta must be a real number > 0, got 0"):
        F.huber_loss(cnnlab.randn(2), T([0.0, 1.0]), delta=0)
