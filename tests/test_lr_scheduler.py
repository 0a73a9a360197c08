"""Learning-rate schedulers: torch parity of the lr (and momentum) sequences, closed forms, checkpoints, errors."""
import bisect

import numpy as np
import pytest

import cnnlab
from cnnlab.optim import Optimizer
from cnnlab.optim import lr_scheduler as schedulers
from helpers import raises
from test_optim import to_json_and_back

torch = pytest.importorskip("torch")

STEPS = 50
LRS = (0.1, 0.02)


def two_groups(library, optimizer="SGD", **options):
    """An optimizer over two parameter groups with learning rates 0.1 and 0.02."""
    if library is torch:
        params, options = [torch.zeros(2, requires_grad=True) for _ in LRS], {**options, "foreach": False}
    else:
        params = [cnnlab.Tensor(np.zeros(2), requires_grad=True) for _ in LRS]
    optimizer_class = getattr(library.optim, optimizer)
    return optimizer_class([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], **options)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def record(optimizer, scheduler, steps, metrics=None):
    """Each step's learning rates (from get_last_lr and the groups) and momentums, after construction."""
    history = []
    for step in range(steps + 1):
        if step:
            optimizer.step()
            scheduler.step(*([metrics[step - 1]] if metrics is not None else []))
        lrs = list(scheduler.get_last_lr())
        assert lrs == [group["lr"] for group in optimizer.param_groups]
        history.append(lrs + [momentum_of(group) for group in optimizer.param_groups])
    return np.array(history, dtype=np.float64)


CASES = [
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.9**epoch), {}),
    ("StepLR", dict(step_size=7, gamma=0.5), {}),
    ("StepLR", dict(step_size=1, gamma=0.9), {}),
    ("MultiStepLR", dict(milestones=[5, 12, 30], gamma=0.3), {}),
    ("ExponentialLR", dict(gamma=0.93), {}),
    ("CosineAnnealingLR", dict(T_max=STEPS), {}),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001), {}),
    ("CosineAnnealingLR", dict(T_max=7), {"optimizer": "Adam"}),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS), {"momentum": 0.9}),
    ("OneCycleLR", dict(max_lr=[1.0, 0.3], epochs=5, steps_per_epoch=10, anneal_strategy="linear"), {}),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS, three_phase=True, pct_start=0.25, div_factor=10.0,
                        final_div_factor=100.0, base_momentum=[0.8, 0.7], max_momentum=0.99), {}),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS + 10), {"optimizer": "Adam"}),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS, pct_start=0.5, three_phase=True), {"optimizer": "RMSprop"}),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS, cycle_momentum=False), {"optimizer": "Adam"}),
]


def make_pair(name, options, optimizer_options):
    optimizer_options = dict(optimizer_options)
    optimizer = optimizer_options.pop("optimizer", "SGD")
    pair = []
    for library in (cnnlab, torch):
        opt = two_groups(library, optimizer, **optimizer_options)
        pair.append((opt, getattr(library.optim.lr_scheduler, name)(opt, **options)))
    return pair


@pytest.mark.parametrize("name,options,optimizer_options", CASES, ids=[f"{n}-{o}" for n, o, _ in CASES])
def test_matches_torch(name, options, optimizer_options):
    (ours, our_scheduler), (theirs, their_scheduler) = make_pair(name, options, optimizer_options)
    expected = record(theirs, their_scheduler, STEPS)
    np.testing.assert_allclose(record(ours, our_scheduler, STEPS), expected, rtol=1e-12, atol=0)


LAMBDAS = [lambda epoch: 0.95**epoch, lambda epoch: 1.0 / (1 + epoch)]


def test_lambda_lr_per_group_matches_torch():
    (ours, our_scheduler), (theirs, their_scheduler) = make_pair("LambdaLR", {"lr_lambda": LAMBDAS}, {})
    np.testing.assert_allclose(record(ours, our_scheduler, 20), record(theirs, their_scheduler, 20), rtol=1e-12)


def plateau_metrics(seed=0):
    """Falls in steps, with noise and flat stretches: improvements, plateaus and near-ties."""
    rng = np.random.default_rng(seed)
    return [1.0 / (1 + step // 12) + 0.002 * rng.standard_normal() * (step % 3 == 0) for step in range(STEPS)]


PLATEAU_CASES = [
    {},
    dict(patience=2),
    dict(patience=1, cooldown=3, factor=0.5),
    dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs"),
    dict(patience=0, threshold=0.05, threshold_mode="rel", min_lr=[0.01, 0.001], factor=0.3),
    dict(patience=0, min_lr=0.005, eps=0.01),
]


@pytest.mark.parametrize("options", PLATEAU_CASES, ids=str)
def test_reduce_on_plateau_matches_torch(options):
    metrics = plateau_metrics()
    if options.get("mode") == "max":
        metrics = [-m for m in metrics]
    (ours, our_scheduler), (theirs, their_scheduler) = make_pair("ReduceLROnPlateau", options, {})
    expected = record(theirs, their_scheduler, STEPS, metrics)
    np.testing.assert_allclose(record(ours, our_scheduler, STEPS, metrics), expected, rtol=1e-12, atol=0)
    assert len(np.unique(expected[:, 0])) >= 2  # the learning rate does get reduced
    assert our_scheduler.num_bad_epochs == their_scheduler.num_bad_epochs
    assert our_scheduler.best == their_scheduler.best


def test_reduce_on_plateau_takes_a_tensor_metric():
    optimizer = two_groups(cnnlab)
    scheduler = schedulers.ReduceLROnPlateau(optimizer, patience=0)
    scheduler.step(cnnlab.Tensor(1.0))
    scheduler.step(cnnlab.Tensor(2.0))
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.002])


# ------------------------------------------------------------ closed forms
def lr_sequence(scheduler_class, steps=STEPS, **options):
    optimizer = two_groups(cnnlab)
    scheduler = scheduler_class(optimizer, **options)
    return np.array(record(optimizer, scheduler, steps)[:, :2])


EPOCHS = np.arange(STEPS + 1)[:, None]


@pytest.mark.parametrize("scheduler_class,options,closed_form", [
    (schedulers.StepLR, dict(step_size=7, gamma=0.5), lambda base: base * 0.5 ** (EPOCHS // 7)),
    (schedulers.MultiStepLR, dict(milestones=[5, 12, 30], gamma=0.3),
     lambda base: base * 0.3 ** np.array([[bisect.bisect_right([5, 12, 30], e)] for e in range(STEPS + 1)])),
    (schedulers.ExponentialLR, dict(gamma=0.93), lambda base: base * 0.93**EPOCHS),
    (schedulers.CosineAnnealingLR, dict(T_max=10, eta_min=0.001),
     lambda base: 0.001 + (base - 0.001) * (1 + np.cos(np.pi * EPOCHS / 10)) / 2),
    (schedulers.LambdaLR, dict(lr_lambda=lambda e: 1 / (e + 1)), lambda base: base / (EPOCHS + 1)),
])
def test_matches_closed_form(scheduler_class, options, closed_form):
    np.testing.assert_allclose(lr_sequence(scheduler_class, **options), closed_form(np.array(LRS)), rtol=1e-9)


def test_one_cycle_hand_worked_points():
    optimizer = two_groups(cnnlab, momentum=0.9)
    scheduler = schedulers.OneCycleLR(optimizer, max_lr=1.0, total_steps=11, pct_start=0.5, div_factor=10.0,
                                      final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)
    history = record(optimizer, scheduler, 10)
    # warm-up over steps 0..4.5, annealing over 4.5..10: start, peak at 4.5 (between 4 and 5), end
    np.testing.assert_allclose(history[0], [0.1, 0.1, 0.9, 0.9])
    np.testing.assert_allclose(history[10], [0.001, 0.001, 0.9, 0.9])
    assert history[:, 0].argmax() in (4, 5) and history[:, 2].argmin() in (4, 5)
    with raises(ValueError, "OneCycleLR: tried to step 12 times, more than total_steps=11"):
        scheduler.step()
        scheduler.step()


def test_one_cycle_with_an_empty_warmup_ends_it_at_once():
    optimizer = two_groups(cnnlab, momentum=0.9)
    scheduler = schedulers.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, pct_start=0.1)  # torch: ZeroDivisionError
    assert scheduler.get_last_lr() == [1.0, 1.0]
    assert optimizer.param_groups[0]["momentum"] == 0.85


def test_cosine_restarts_after_t_max():
    lrs = lr_sequence(schedulers.CosineAnnealingLR, T_max=5, eta_min=0.0)[:, 0]
    assert lrs[5] == pytest.approx(0.0, abs=1e-15) and lrs[10] == pytest.approx(0.1)


# -------------------------------------------------------------- checkpoints
def train(optimizer, scheduler, steps, start, metrics):
    """Gradient steps on sum((w - 1)² ) plus a seeded offset, then a scheduler step each."""
    for step in range(start, start + steps):
        rng = np.random.default_rng(step)
        for group in optimizer.param_groups:
            for p in group["params"]:
                p._grad = 2 * (p.array - 1) + 0.1 * rng.standard_normal(p.shape)
        optimizer.step()
        scheduler.step(metrics[step]) if isinstance(scheduler, schedulers.ReduceLROnPlateau) else scheduler.step()


ROUND_TRIPS = [
    ("SGD", dict(momentum=0.9), "OneCycleLR", dict(max_lr=0.5, total_steps=30, three_phase=True)),
    ("Adam", dict(amsgrad=True), "OneCycleLR", dict(max_lr=0.05, total_steps=30)),
    ("Adam", dict(), "CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("RMSprop", dict(centered=True, momentum=0.5), "ReduceLROnPlateau", dict(patience=1, cooldown=2)),
    ("SGD", dict(nesterov=True, momentum=0.8), "MultiStepLR", dict(milestones=[5, 11, 12])),
    ("SGD", dict(), "LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e))),
]


@pytest.mark.parametrize("through_json", [False, True])
@pytest.mark.parametrize("optimizer_name,optimizer_options,name,options", ROUND_TRIPS,
                         ids=[f"{o}-{s}" for o, _, s, _ in ROUND_TRIPS])
def test_state_dict_round_trip_is_bit_identical(optimizer_name, optimizer_options, name, options, through_json):
    metrics = plateau_metrics()

    def fresh():
        optimizer = two_groups(cnnlab, optimizer_name, **optimizer_options)
        return optimizer, getattr(schedulers, name)(optimizer, **options)
    uninterrupted = fresh()
    train(*uninterrupted, 25, 0, metrics)

    first = fresh()
    train(*first, 10, 0, metrics)
    saved = {"optimizer": first[0].state_dict(), "scheduler": first[1].state_dict()}
    weights = [p.array.copy() for g in first[0].param_groups for p in g["params"]]
    if through_json:
        saved = to_json_and_back(saved)
    resumed = fresh()
    for p, w in zip((p for g in resumed[0].param_groups for p in g["params"]), weights):
        p.array[...] = w
    resumed[0].load_state_dict(saved["optimizer"])
    resumed[1].load_state_dict(saved["scheduler"])
    train(*resumed, 15, 10, metrics)

    assert resumed[1].get_last_lr() == uninterrupted[1].get_last_lr()
    assert resumed[1].last_epoch == uninterrupted[1].last_epoch
    for got, want in zip(resumed[0].param_groups, uninterrupted[0].param_groups):
        assert momentum_of(got) == momentum_of(want)
        for p, q in zip(got["params"], want["params"]):
            np.testing.assert_array_equal(p.array, q.array)


def test_state_dict_holds_no_optimizer_or_functions():
    optimizer = two_groups(cnnlab)
    saved = schedulers.LambdaLR(optimizer, lambda e: 1.0).state_dict()
    assert "optimizer" not in saved and "lr_lambdas" not in saved
    assert saved["base_lrs"] == list(LRS) and saved["last_epoch"] == 0


def test_resuming_with_last_epoch():
    optimizer = two_groups(cnnlab)
    schedulers.StepLR(optimizer, step_size=3, gamma=0.5)
    resumed = schedulers.StepLR(optimizer, step_size=3, gamma=0.5, last_epoch=4)
    assert resumed.last_epoch == 5 and resumed.base_lrs == list(LRS)


# ----------------------------------------------------------------- errors
class Plain(Optimizer):
    """An optimizer without momentum or betas."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))


@pytest.mark.parametrize("make,error,message", [
    (lambda o: schedulers.StepLR("sgd", 3), TypeError, "StepLR: optimizer must be an Optimizer, got str"),
    (lambda o: schedulers.StepLR(o, 0), ValueError, "StepLR: step_size must be > 0, got step_size=0"),
    (lambda o: schedulers.StepLR(o, 2.5), TypeError, "StepLR: step_size must be an integer, got step_size=2.5"),
    (lambda o: schedulers.StepLR(o, 3, gamma=0), ValueError, "StepLR: gamma must be > 0, got gamma=0"),
    (lambda o: schedulers.StepLR(o, 3, last_epoch=-2), ValueError, "StepLR: last_epoch must be >= -1"),
    (lambda o: schedulers.MultiStepLR(o, [5, 3]), ValueError,
     "MultiStepLR: milestones must be increasing, got milestones=[5, 3]"),
    (lambda o: schedulers.MultiStepLR(o, [-1, 3]), ValueError, "MultiStepLR: milestones[0] must be >= 0"),
    (lambda o: schedulers.ExponentialLR(o, gamma=-0.5), ValueError, "ExponentialLR: gamma must be > 0"),
    (lambda o: schedulers.CosineAnnealingLR(o, T_max=0), ValueError, "CosineAnnealingLR: T_max must be > 0"),
    (lambda o: schedulers.CosineAnnealingLR(o, 10, eta_min=-1), ValueError,
     "CosineAnnealingLR: eta_min must be >= 0, got eta_min=-1"),
    (lambda o: schedulers.LambdaLR(o, 0.5), TypeError, "LambdaLR: lr_lambda must be callable, got float"),
    (lambda o: schedulers.LambdaLR(o, [abs]), ValueError,
     "LambdaLR: lr_lambda must have one function per parameter group (2), got 1"),
    (lambda o: schedulers.OneCycleLR(o, 0.1), ValueError,
     "OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, total_steps=0), ValueError,
     "OneCycleLR: total_steps must be > 0, got total_steps=0"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0), ValueError,
     "OneCycleLR: steps_per_epoch must be > 0"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, 10, pct_start=1.5), ValueError,
     "OneCycleLR: pct_start must be in [0, 1], got pct_start=1.5"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"), ValueError,
     "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    (lambda o: schedulers.OneCycleLR(o, [0.1], 10), ValueError,
     "OneCycleLR: max_lr must have one value per parameter group (2), got 1"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, 10, div_factor=0), ValueError, "OneCycleLR: div_factor must be > 0"),
    (lambda o: schedulers.OneCycleLR(o, 0.1, 10, base_momentum=-0.1), ValueError,
     "OneCycleLR: base_momentum must be >= 0"),
    (lambda o: schedulers.OneCycleLR(Plain([cnnlab.Tensor([1.0], requires_grad=True)]), 0.1, 10), ValueError,
     "OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas, got Plain"),
    (lambda o: schedulers.ReduceLROnPlateau(o, mode="mean"), ValueError,
     "ReduceLROnPlateau: mode must be 'min' or 'max', got 'mean'"),
    (lambda o: schedulers.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
     "ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'x'"),
    (lambda o: schedulers.ReduceLROnPlateau(o, factor=1.0), ValueError,
     "ReduceLROnPlateau: factor must be in [0, 1), got factor=1.0"),
    (lambda o: schedulers.ReduceLROnPlateau(o, patience=-1), ValueError, "ReduceLROnPlateau: patience must be >= 0"),
    (lambda o: schedulers.ReduceLROnPlateau(o, cooldown=1.5), TypeError,
     "ReduceLROnPlateau: cooldown must be an integer"),
    (lambda o: schedulers.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     "ReduceLROnPlateau: min_lr must have one value per parameter group (2), got 1"),
    (lambda o: schedulers.ReduceLROnPlateau(o, eps=-1e-8), ValueError, "ReduceLROnPlateau: eps must be >= 0"),
])
def test_argument_errors(make, error, message):
    with raises(error, message):
        make(two_groups(cnnlab))


def test_resuming_without_initial_lr_is_an_error():
    with raises(ValueError, "StepLR: resuming with last_epoch=4 needs 'initial_lr'", "param_groups[0] has none"):
        schedulers.StepLR(two_groups(cnnlab), 3, last_epoch=4)


def test_load_state_dict_of_another_scheduler_is_an_error():
    optimizer = two_groups(cnnlab)
    saved = schedulers.StepLR(optimizer, 3).state_dict()
    with raises(ValueError, "ExponentialLR.load_state_dict: state_dict must have the keys", "'gamma'", "step_size"):
        schedulers.ExponentialLR(optimizer, 0.9).load_state_dict(saved)


def test_plateau_errors_when_groups_were_added():
    optimizer = two_groups(cnnlab)
    scheduler = schedulers.ReduceLROnPlateau(optimizer, patience=0, min_lr=[0.0, 0.0])
    optimizer.add_param_group({"params": [cnnlab.Tensor([1.0], requires_grad=True)]})
    scheduler.step(1.0)
    with raises(ValueError, "ReduceLROnPlateau: the optimizer now has 3 parameter groups but min_lr was given for 2"):
        scheduler.step(2.0)


def test_base_class_needs_get_lr():
    with pytest.raises(NotImplementedError):
        schedulers.LRScheduler(two_groups(cnnlab))
