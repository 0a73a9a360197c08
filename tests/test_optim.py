"""Optimizers: torch parity over option grids, naive per-element references, state, checkpoints, errors."""
import json
import math

import numpy as np
import pytest

import cnnlab
from cnnlab.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from helpers import assert_close, raises

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,)]
STEPS = 20
# weights after 20 steps agree with torch's to this (relative to their scale)
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


# ------------------------------------------------------------------ the run
def initial_weights(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def noise(step, dtype):
    """The per-step term of the loss, the same in both libraries: a seeded gradient offset."""
    rng = np.random.default_rng(1000 + step)
    return [(0.3 * rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]


def loss_of(params, offsets, library):
    """sum((w - 0.5)² + log(1 + w²) + offset·w), built with ``library``'s own autograd."""
    total = 0
    for w, offset in zip(params, offsets):
        offset = library.tensor(offset)
        total = total + ((w - 0.5) * (w - 0.5) + (w * w + 1).log() + w * offset).sum()
    return total


def run_ours(make, weights, steps, start=0, optimizer=None):
    params = [cnnlab.Tensor(w.copy(), requires_grad=True) for w in weights]
    optimizer = optimizer or make(params)
    for step in range(start, start + steps):
        optimizer.zero_grad()
        loss_of(optimizer_params(optimizer), noise(step, weights[0].dtype), cnnlab).backward()
        optimizer.step()
    return optimizer


def optimizer_params(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def run_torch(make, weights, steps):
    params = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    optimizer = make(params)
    for step in range(steps):
        optimizer.zero_grad()
        loss_of(params, noise(step, weights[0].dtype), torch).backward()
        optimizer.step()
    return [p.detach().numpy() for p in params]


def single_group(name, options):
    def make(library):
        return lambda params: getattr(library, name)(params, **options, **torch_only(library))
    return make


def torch_only(library):
    return {"foreach": False} if library is torch.optim else {}


OPTIONS = {
    "SGD": [
        dict(lr=0.05), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.5),
        dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.05, weight_decay=0.1),
        dict(lr=0.02, maximize=True), dict(lr=0.02, momentum=0.8, weight_decay=0.1, nesterov=True, maximize=True),
    ],
    "Adam": [
        dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, weight_decay=0.1), dict(lr=0.05, maximize=True),
        dict(lr=0.05, betas=(0.3, 0.9), eps=1e-3), dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True),
    ],
    "AdamW": [
        dict(lr=0.05), dict(lr=0.05, weight_decay=0.2), dict(lr=0.05, amsgrad=True),
        dict(lr=0.05, weight_decay=0.2, amsgrad=True, maximize=True, betas=(0.8, 0.99)),
    ],
    "RMSprop": [
        dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9), dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.01, maximize=True), dict(lr=0.01, alpha=0.3, eps=1e-4),
        dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True),
    ],
}
CASES = [(name, options) for name, grid in OPTIONS.items() for options in grid]
# the last setting of each grid turns on the most options at once
ALL_OPTIONS = [(name, grid[-1]) for name, grid in OPTIONS.items()]
DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------ torch parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_matches_torch(name, options, dtype):
    make = single_group(name, options)
    weights = initial_weights(dtype)
    ours = run_ours(make(cnnlab.optim), weights, STEPS)
    theirs = run_torch(make(torch.optim), weights, STEPS)
    for p, expected in zip(optimizer_params(ours), theirs):
        assert p.array.dtype == dtype
        assert_close(p.array, expected, TOLERANCE[dtype])
        assert not np.allclose(p.array, weights[0] if p.shape == SHAPES[0] else weights[1])


GROUPS = {
    "SGD": ({"lr": 0.05, "momentum": 0.9}, {"lr": 0.01, "nesterov": True}),
    "Adam": ({"lr": 0.05}, {"lr": 0.01, "betas": (0.5, 0.9), "amsgrad": True}),
    "AdamW": ({"lr": 0.05}, {"lr": 0.01, "weight_decay": 0.5}),
    "RMSprop": ({"lr": 0.01}, {"lr": 0.003, "centered": True, "momentum": 0.9}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", GROUPS)
def test_param_groups_match_torch(name, dtype):
    defaults, override = GROUPS[name]

    def make(library):
        return lambda params: getattr(library, name)(
            [{"params": [params[0]]}, {"params": [params[1]], **override}], **defaults, **torch_only(library))
    weights = initial_weights(dtype)
    ours = run_ours(make(cnnlab.optim), weights, STEPS)
    theirs = run_torch(make(torch.optim), weights, STEPS)
    for p, expected in zip(optimizer_params(ours), theirs):
        assert_close(p.array, expected, TOLERANCE[dtype])
    assert ours.param_groups[1]["lr"] == override["lr"]
    assert ours.param_groups[0]["lr"] == defaults["lr"]


# --------------------------------------------------------- naive references
def naive_sgd(w, grads, lr, momentum, dampening, weight_decay, nesterov):
    """SGD on a list of floats, one element at a time, straight from the formula."""
    w, buffer = list(w), [None] * len(w)
    for g in grads:
        for i in range(len(w)):
            d = g[i] + weight_decay * w[i]
            buffer[i] = d if buffer[i] is None else momentum * buffer[i] + (1 - dampening) * d
            d = d + momentum * buffer[i] if nesterov else buffer[i]
            w[i] -= lr * d
    return w


def naive_adam(w, grads, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled):
    w = list(w)
    m, v, v_max = [0.0] * len(w), [0.0] * len(w), [0.0] * len(w)
    for t, g in enumerate(grads, start=1):
        for i in range(len(w)):
            d = g[i]
            if decoupled:
                w[i] *= 1 - lr * weight_decay
            else:
                d += weight_decay * w[i]
            m[i] = beta1 * m[i] + (1 - beta1) * d
            v[i] = beta2 * v[i] + (1 - beta2) * d * d
            v_max[i] = max(v_max[i], v[i])
            m_hat = m[i] / (1 - beta1**t)
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - beta2**t)
            w[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return w


def naive_rmsprop(w, grads, lr, alpha, eps, momentum, centered):
    w = list(w)
    v, mean, buffer = [0.0] * len(w), [0.0] * len(w), [0.0] * len(w)
    for g in grads:
        for i in range(len(w)):
            v[i] = alpha * v[i] + (1 - alpha) * g[i] ** 2
            mean[i] = alpha * mean[i] + (1 - alpha) * g[i]
            denominator = math.sqrt(v[i] - mean[i] ** 2 if centered else v[i]) + eps
            buffer[i] = momentum * buffer[i] + g[i] / denominator
            w[i] -= lr * (buffer[i] if momentum else g[i] / denominator)
    return w


def run_on_fixed_gradients(optimizer_class, w, grads, **options):
    """Our optimizer on a float64 vector, fed a fixed gradient sequence by hand through ``_grad``."""
    param = cnnlab.Tensor(np.array(w), requires_grad=True)
    optimizer = optimizer_class([param], **options)
    for g in grads:
        param._grad = np.array(g)
        optimizer.step()
    return param.array


NAIVE_W = [0.5, -1.0, 2.0]
NAIVE_GRADS = [[0.3, -0.2, 1.0], [-0.1, 0.4, 0.7], [0.2, 0.2, -0.5], [1.0, -1.0, 0.0]]


@pytest.mark.parametrize("momentum,dampening,weight_decay,nesterov", [
    (0, 0, 0, False), (0.9, 0, 0, False), (0.9, 0.3, 0.1, False), (0.8, 0, 0.1, True)])
def test_sgd_matches_naive_loop(momentum, dampening, weight_decay, nesterov):
    options = dict(lr=0.1, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    ours = run_on_fixed_gradients(SGD, NAIVE_W, NAIVE_GRADS, **options)
    assert_close(ours, naive_sgd(NAIVE_W, NAIVE_GRADS, **options), 1e-13)


@pytest.mark.parametrize("optimizer_class", [Adam, AdamW])
@pytest.mark.parametrize("weight_decay,amsgrad", [(0, False), (0.1, False), (0.1, True)])
def test_adam_matches_naive_loop(optimizer_class, weight_decay, amsgrad):
    options = dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=weight_decay, amsgrad=amsgrad)
    ours = run_on_fixed_gradients(optimizer_class, NAIVE_W, NAIVE_GRADS, **options)
    decoupled = optimizer_class is AdamW
    expected = naive_adam(NAIVE_W, NAIVE_GRADS, 0.1, 0.8, 0.9, 1e-3, weight_decay, amsgrad, decoupled)
    assert_close(ours, expected, 1e-13)


@pytest.mark.parametrize("momentum,centered", [(0, False), (0, True), (0.9, False), (0.9, True)])
def test_rmsprop_matches_naive_loop(momentum, centered):
    options = dict(lr=0.1, alpha=0.9, eps=1e-3, momentum=momentum, centered=centered)
    ours = run_on_fixed_gradients(RMSprop, NAIVE_W, NAIVE_GRADS, **options)
    assert_close(ours, naive_rmsprop(NAIVE_W, NAIVE_GRADS, **options), 1e-13)


def test_sgd_hand_worked_step():
    # w = [1, -2], loss = sum(w²): g = [2, -4], so one step of lr 0.1 gives [0.8, -1.6]
    w = cnnlab.Tensor([1.0, -2.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(w.array, [0.8, -1.6], rtol=1e-6)
    np.testing.assert_allclose(optimizer.state[w]["momentum_buffer"], [2.0, -4.0])


def test_adam_first_step_is_lr_times_sign():
    # bias correction makes Adam's first step exactly lr·g/(|g| + eps) per element
    w = cnnlab.Tensor(np.array([1.0, -2.0, 0.0]), requires_grad=True)
    optimizer = Adam([w], lr=0.01, eps=0.0)
    w._grad = np.array([3.0, -0.5, 1e-3])
    optimizer.step()
    np.testing.assert_allclose(w.array, [0.99, -1.99, -0.01], rtol=1e-12)


# ------------------------------------------------------ in place, dtypes, grads
@pytest.mark.parametrize("name,options", ALL_OPTIONS, ids=list(OPTIONS))
def test_updates_in_place_and_keeps_float32(name, options):
    params = [cnnlab.Tensor(w, requires_grad=True) for w in initial_weights(np.float32)]
    arrays = [p.array for p in params]
    optimizer = getattr(cnnlab.optim, name)(params, **options)
    for group in optimizer.param_groups:
        group["lr"] = np.float64(group["lr"])  # a NumPy float64 lr must not promote the update
    for step in range(3):
        optimizer.zero_grad()
        loss_of(params, noise(step, np.float32), cnnlab).backward()
        optimizer.step()
    for p, array in zip(params, arrays):
        assert p.array is array and p.array.dtype == np.float32
        assert all(v.dtype == np.float32 for v in optimizer.state[p].values() if isinstance(v, np.ndarray))


def test_parameters_without_gradient_are_skipped():
    used, unused = cnnlab.Tensor([1.0, 2.0], requires_grad=True), cnnlab.Tensor([3.0], requires_grad=True)
    optimizer = Adam([used, unused], lr=0.1)
    (used * used).sum().backward()
    optimizer.step()
    assert unused.array.tolist() == [3.0] and unused not in optimizer.state
    assert optimizer.state[used]["step"] == 1


def test_zero_grad_drops_or_zeroes_in_place():
    w = cnnlab.Tensor([1.0, 2.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w._grad
    optimizer.zero_grad(set_to_none=False)
    assert w._grad is grad and grad.tolist() == [0.0, 0.0]
    optimizer.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_loss_and_records_graph_under_no_grad():
    w = cnnlab.Tensor([1.0, -2.0], requires_grad=True)
    optimizer = SGD([w], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    with cnnlab.no_grad():
        loss = optimizer.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.array, [0.8, -1.6], rtol=1e-6)


def test_state_counts_steps_per_parameter():
    a, b = cnnlab.Tensor([1.0], requires_grad=True), cnnlab.Tensor([2.0], requires_grad=True)
    optimizer = RMSprop([a, b], centered=True, momentum=0.9)
    for step in range(3):
        optimizer.zero_grad()
        (a * a + (b * b if step else 0)).sum().backward()
        optimizer.step()
    assert optimizer.state[a]["step"] == 3 and optimizer.state[b]["step"] == 2
    assert set(optimizer.state[a]) == {"step", "square_avg", "grad_avg", "momentum_buffer"}


def test_add_param_group_fills_defaults():
    a, b = cnnlab.Tensor([1.0], requires_grad=True), cnnlab.Tensor([2.0], requires_grad=True)
    optimizer = SGD([a], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": b, "lr": 0.01})
    assert optimizer.param_groups[1] == {"params": [b], "lr": 0.01, "momentum": 0.9, "dampening": 0,
                                         "weight_decay": 0, "nesterov": False, "maximize": False}
    assert repr(optimizer) == (
        "SGD(\n  group 0: 1 params, lr=0.1, momentum=0.9\n  group 1: 1 params, lr=0.01, momentum=0.9\n)")
    assert repr(AdamW([a], lr=0.01)) == "AdamW(lr=0.01)"


# -------------------------------------------------------------- checkpoints
def to_json_and_back(state_dict):
    """What a checkpoint file does to a state dict: arrays stored aside, the rest through JSON."""
    arrays = []

    def pack(value):
        if isinstance(value, np.ndarray):
            arrays.append(value.copy())
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {k: pack(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [pack(v) for v in value]
        assert isinstance(value, (int, float, str, bool, type(None))), f"not JSON-friendly: {type(value)}"
        return value

    def unpack(value):
        if isinstance(value, dict):
            return arrays[value["__array__"]] if "__array__" in value else {k: unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value
    return unpack(json.loads(json.dumps(pack(state_dict))))


@pytest.mark.parametrize("through_json", [False, True])
@pytest.mark.parametrize("name,options", ALL_OPTIONS, ids=list(OPTIONS))
def test_state_dict_round_trip_is_bit_identical(name, options, through_json):
    def make(params):
        groups = [{"params": params[:1]}, {"params": params[1:], "lr": options["lr"] / 2}]
        return getattr(cnnlab.optim, name)(groups, **options)
    weights = initial_weights(np.float32)
    uninterrupted = run_ours(make, weights, 10)

    first = run_ours(make, weights, 4)
    saved = first.state_dict()
    saved_weights = [p.array.copy() for p in optimizer_params(first)]
    run_ours(make, weights, 3, start=4, optimizer=first)  # training goes on; the snapshot must not change
    if through_json:
        saved = to_json_and_back(saved)
    resumed = make([cnnlab.Tensor(w.copy(), requires_grad=True) for w in saved_weights])
    resumed.load_state_dict(saved)
    run_ours(make, weights, 6, start=4, optimizer=resumed)
    for p, q in zip(optimizer_params(resumed), optimizer_params(uninterrupted)):
        np.testing.assert_array_equal(p.array, q.array)
    assert resumed.param_groups[1]["lr"] == options["lr"] / 2


def test_state_dict_structure_matches_torch():
    a, b = cnnlab.Tensor([1.0, 2.0], requires_grad=True), cnnlab.Tensor([3.0], requires_grad=True)
    optimizer = Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], amsgrad=True)
    (a * a).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    assert list(saved) == ["state", "param_groups"]
    assert list(saved["state"]) == [0] and saved["state"][0]["step"] == 1
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert saved["param_groups"][0]["params"] == [0] and saved["param_groups"][1]["params"] == [1]
    assert saved["param_groups"][1]["betas"] == [0.9, 0.999]  # lists, not tuples, for JSON
    assert saved["state"][0]["exp_avg"] is not optimizer.state[a]["exp_avg"]
    reference = torch.optim.Adam([{"params": [torch.zeros(2)]}, {"params": [torch.zeros(1)], "lr": 0.1}],
                                 amsgrad=True).state_dict()
    assert set(saved["param_groups"][0]) <= set(reference["param_groups"][0])


def test_load_state_dict_restores_tuples_and_casts_to_parameter_dtype():
    w = cnnlab.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    optimizer = Adam([w])
    saved = {"state": {"0": {"step": np.float32(3.0), "exp_avg": np.ones(2), "exp_avg_sq": np.ones(2)}},
             "param_groups": [{"lr": 0.5, "betas": [0.8, 0.9], "eps": 1e-8, "weight_decay": 0,
                               "amsgrad": False, "maximize": False, "params": [0]}]}
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["betas"] == (0.8, 0.9) and optimizer.param_groups[0]["lr"] == 0.5
    assert optimizer.state[w]["exp_avg"].dtype == np.float32 and optimizer.state[w]["step"] == 3.0
    assert optimizer.state[w]["exp_avg"] is not saved["state"]["0"]["exp_avg"]


def test_load_state_dict_errors():
    a, b = cnnlab.Tensor([1.0, 2.0], requires_grad=True), cnnlab.Tensor([3.0], requires_grad=True)
    two_groups = SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.9)
    (a * a).sum().backward()
    two_groups.step()
    saved = two_groups.state_dict()
    with raises(ValueError, "SGD.load_state_dict", "2 parameter groups", "has 1"):
        SGD([a, b], lr=0.1).load_state_dict(saved)
    with raises(ValueError, "SGD.load_state_dict", "group 0 has 1 parameters in state_dict but 2"):
        SGD([{"params": [a, b]}, {"params": [cnnlab.Tensor([0.0], requires_grad=True)]}]).load_state_dict(saved)
    with raises(ValueError, "SGD.load_state_dict", "'momentum_buffer'", "shape (1,)", "got shape (2,)"):
        SGD([{"params": [b]}, {"params": [a]}]).load_state_dict(saved)
    with raises(ValueError, "SGD.load_state_dict", "'param_groups' entry"):
        SGD([a]).load_state_dict({"state": {}})
    saved["param_groups"][0]["lr"] = -1.0
    with raises(ValueError, "SGD: lr must be >= 0, got lr=-1.0"):
        SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(saved)


# ----------------------------------------------------------------- errors
def param():
    return cnnlab.Tensor([1.0], requires_grad=True)


@pytest.mark.parametrize("make,error,message", [
    (lambda: SGD([param()], lr=-0.1), ValueError, "SGD: lr must be >= 0, got lr=-0.1"),
    (lambda: SGD([param()], lr="0.1"), TypeError, "SGD: lr must be a real number, got lr='0.1'"),
    (lambda: SGD([param()], momentum=-0.5), ValueError, "SGD: momentum must be >= 0, got momentum=-0.5"),
    (lambda: SGD([param()], dampening=2), ValueError, "SGD: dampening must be in [0, 1], got dampening=2"),
    (lambda: SGD([param()], weight_decay=-1), ValueError, "SGD: weight_decay must be >= 0, got weight_decay=-1"),
    (lambda: SGD([param()], nesterov=True), ValueError,
     "SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum=0, dampening=0"),
    (lambda: SGD([param()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "got momentum=0.9, dampening=0.1"),
    (lambda: SGD([param()], maximize=1), TypeError, "SGD: maximize must be True or False, got maximize=1"),
    (lambda: SGD([{"params": [param()], "lr": -2}]), ValueError, "SGD: lr must be >= 0, got lr=-2"),
    (lambda: Adam([param()], betas=(1.0, 0.999)), ValueError, "Adam: betas[0] must be in [0, 1), got betas[0]=1.0"),
    (lambda: Adam([param()], betas=(0.9, -0.1)), ValueError, "Adam: betas[1] must be in [0, 1), got betas[1]=-0.1"),
    (lambda: Adam([param()], betas=0.9), TypeError, "Adam: betas must be a pair (beta1, beta2), got betas=0.9"),
    (lambda: Adam([param()], eps=-1e-8), ValueError, "Adam: eps must be >= 0, got eps=-1e-08"),
    (lambda: Adam([param()], lr=float("nan")), ValueError, "Adam: lr must be >= 0, got lr=nan"),
    (lambda: AdamW([param()], weight_decay=-0.01), ValueError, "AdamW: weight_decay must be >= 0"),
    (lambda: AdamW([param()], amsgrad="yes"), TypeError, "AdamW: amsgrad must be True or False"),
    (lambda: RMSprop([param()], alpha=1.5), ValueError, "RMSprop: alpha must be in [0, 1], got alpha=1.5"),
    (lambda: RMSprop([param()], momentum=-0.9), ValueError, "RMSprop: momentum must be >= 0, got momentum=-0.9"),
    (lambda: RMSprop([param()], eps=-1.0), ValueError, "RMSprop: eps must be >= 0, got eps=-1.0"),
    (lambda: RMSprop([param()], centered=None), TypeError, "RMSprop: centered must be True or False"),
])
def test_hyperparameter_errors(make, error, message):
    with raises(error, message):
        make()


@pytest.mark.parametrize("params,error,message", [
    ([], ValueError, "SGD: params is an empty parameter list"),
    (param(), TypeError, "SGD: params must be an iterable of Tensors or of dicts, got Tensor"),
    (3, TypeError, "SGD: params must be an iterable of Tensors or of dicts, got int"),
    ([np.ones(2)], TypeError, "SGD: params must be Tensors, got ndarray"),
    ([cnnlab.Tensor([1, 2])], TypeError, "SGD: params must be float32 or float64, got dtype=int64"),
    ([param() * 2], ValueError, "SGD: params must be leaf Tensors"),
    ([{"params": {param()}}], TypeError, "SGD: params must be an ordered collection (a list), got a set"),
    ([{"lr": 0.1}], ValueError, "SGD: a parameter group must have a 'params' key, got keys ['lr']"),
    ([{"params": [param()]}, [param()]], TypeError, "SGD: a parameter group must be a dict, got list"),
])
def test_parameter_errors(params, error, message):
    with raises(error, message):
        SGD(params)


def test_same_parameter_twice_is_an_error():
    w = param()
    with raises(ValueError, "SGD: a parameter group holds the same parameter more than once"):
        SGD([w, w])
    optimizer = SGD([w])
    with raises(ValueError, "SGD: some parameters appear in more than one parameter group"):
        optimizer.add_param_group({"params": [w]})


def test_base_class_needs_an_update_rule():
    w = param()
    w._grad = np.ones(1, dtype=np.float32)
    with pytest.raises(NotImplementedError):
        Optimizer([w], {"lr": 0.1}).step()
