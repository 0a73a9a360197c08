"""Learning-rate schedulers: each ``step()`` writes the next learning rate into the optimizer's groups.

They follow ``torch.optim.lr_scheduler`` value for value (including the
recursive forms torch uses, which differ from the closed forms in the last
bits): call ``scheduler.step()`` after ``optimizer.step()``, once per epoch or
per batch as the schedule intends.

>>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> scheduler = CosineAnnealingLR(optimizer, T_max=100)
>>> for epoch in range(100):
...     train_one_epoch(model, optimizer)
...     scheduler.step()
"""
import copy
import math

from .optimizer import Optimizer, check_flag, check_number

__all__ = [
    "LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
    "ReduceLROnPlateau",
]


class LRScheduler:
    """Base class: sets every group's ``lr`` to ``get_lr()`` at each :meth:`step`.

    Args:
        optimizer: the :class:`Optimizer` whose ``param_groups[i]['lr']`` it sets.
        last_epoch: index of the last step taken; -1 (default) starts a new schedule
            from each group's current ``lr`` (remembered as ``'initial_lr'``).

    Attributes:
        base_lrs: the starting learning rate of each group.
        last_epoch: how many times :meth:`step` has been called since the start.

    Subclasses define ``get_lr()``: the learning rates for step ``self.last_epoch``.
    Construction takes step 0 (``last_epoch`` becomes 0).
    """

    _is_initial = False
    #: attributes that are not part of state_dict (the optimizer, functions).
    _not_state = ("optimizer",)

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = _check_optimizer(self, optimizer)
        check_number(self._name, "last_epoch", last_epoch, low=-1, integer=True)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{self._name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every "
                        f"parameter group, but param_groups[{i}] has none; load the optimizer's state_dict first "
                        "or start with last_epoch=-1"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = True
        try:
            self.step()
        finally:
            del self._is_initial

    @property
    def _name(self):
        return type(self).__name__

    def get_lr(self):
        """The learning rate of each group for step ``last_epoch``."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def step(self):
        """Advance the schedule by one step and write the new learning rates into the optimizer."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """The scheduler's attributes except the optimizer (numbers, strings, lists, dicts)."""
        return {key: copy.deepcopy(value) for key, value in vars(self).items() if key not in self._not_state}

    def load_state_dict(self, state_dict):
        """Restore attributes saved by :meth:`state_dict` of the same kind of scheduler."""
        expected = self.state_dict().keys()
        if not isinstance(state_dict, dict) or state_dict.keys() != expected:
            got = list(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(
                f"{self._name}.load_state_dict: state_dict must have the keys {sorted(expected)}, got {got}"
            )
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self):
        return f"{self._name}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class LambdaLR(LRScheduler):
    """Learning rate ``base_lr * lr_lambda(epoch)``.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: function of the step index giving a multiplier, or a list with
            one such function per parameter group.

    >>> scheduler = LambdaLR(optimizer, lambda epoch: 0.95 ** epoch)
    """

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(self, optimizer)
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(f"LambdaLR: lr_lambda must have one function per parameter group ({groups}), "
                             f"got {len(lambdas)}")
        for function in lambdas:
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(function).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * function(self.last_epoch) for function, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    Args:
        optimizer: the optimizer to schedule.
        step_size: period of the decay, in steps (> 0).
        gamma: multiplicative factor (> 0).

    Formula: ``lr = base_lr * gamma ** (epoch // step_size)``.

    >>> scheduler = StepLR(optimizer, step_size=30, gamma=0.1)   # 0.1 → 0.01 at 30 → 0.001 at 60
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_number("StepLR", "step_size", step_size, low=0, low_open=True, integer=True)
        check_number("StepLR", "gamma", gamma, low=0, low_open=True)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone.

    Args:
        optimizer: the optimizer to schedule.
        milestones: increasing step indices (non-negative integers).
        gamma: multiplicative factor (> 0).

    Formula: ``lr = base_lr * gamma ** (number of milestones <= epoch)``.

    >>> scheduler = MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for i, milestone in enumerate(milestones):
            check_number("MultiStepLR", f"milestones[{i}]", milestone, low=0, integer=True)
        if any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"MultiStepLR: milestones must be increasing, got milestones={milestones}")
        check_number("MultiStepLR", "gamma", gamma, low=0, low_open=True)
        self.milestones, self.gamma = milestones, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every step: ``lr = base_lr * gamma ** epoch``.

    Args:
        optimizer: the optimizer to schedule.
        gamma: multiplicative factor (> 0).

    >>> scheduler = ExponentialLR(optimizer, gamma=0.95)
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_number("ExponentialLR", "gamma", gamma, low=0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate along a half cosine from ``base_lr`` to ``eta_min`` over ``T_max`` steps.

    SGDR without restarts (Loshchilov & Hutter, https://arxiv.org/abs/1608.03983).

    Args:
        optimizer: the optimizer to schedule.
        T_max: number of steps of a half period (> 0); past it the rate rises again.
        eta_min: the lowest learning rate (>= 0).

    Formula: ``lr = eta_min + (base_lr - eta_min) (1 + cos(π epoch / T_max)) / 2``,
    computed recursively from the previous rate, as torch does::

        lr_t = eta_min + (lr_{t-1} - eta_min) (1 + cos(π t / T_max)) / (1 + cos(π (t-1) / T_max))

    >>> scheduler = CosineAnnealingLR(optimizer, T_max=100, eta_min=1e-5)
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_number("CosineAnnealingLR", "T_max", T_max, low=0, low_open=True, integer=True)
        check_number("CosineAnnealingLR", "eta_min", eta_min, low=0)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (epoch - 1 - period) % (2 * period) == 0:  # leaving the minimum, where the ratio is 0/0
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, https://arxiv.org/abs/1708.07120), stepped once per batch.

    The learning rate warms up from ``max_lr / div_factor`` to ``max_lr`` over the
    first ``pct_start`` of the steps, then anneals to ``max_lr / (div_factor *
    final_div_factor)``; the momentum (SGD, RMSprop) or β1 (Adam) moves the
    opposite way between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: peak learning rate, or a list with one per parameter group.
        total_steps: number of steps in the cycle; or give ``epochs`` and
            ``steps_per_epoch`` (``total_steps = epochs * steps_per_epoch``).
        pct_start: fraction of the cycle spent warming up (in [0, 1]).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        cycle_momentum: whether to cycle the momentum (or β1).
        base_momentum, max_momentum: momentum bounds (numbers or per-group lists).
        div_factor: ``initial_lr = max_lr / div_factor`` (> 0).
        final_div_factor: ``min_lr = initial_lr / final_div_factor`` (> 0).
        three_phase: warm up, come back down to ``initial_lr`` symmetrically, then
            anneal to ``min_lr`` (fast.ai's original schedule).

    Phases end at steps ``pct_start * total_steps - 1`` (and ``2 pct_start total_steps - 2``
    in three-phase mode) and ``total_steps - 1``; within a phase at fraction p,
    ``cos``: ``end + (start - end) (1 + cos(π p)) / 2``, ``linear``: ``start + (end - start) p``.
    Where torch divides by zero (a warm-up phase of length zero) the phase ends at once.

    >>> scheduler = OneCycleLR(optimizer, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(self, optimizer)
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        check_number("OneCycleLR", "pct_start", pct_start, low=0, high=1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        check_number("OneCycleLR", "div_factor", div_factor, low=0, low_open=True)
        check_number("OneCycleLR", "final_div_factor", final_div_factor, low=0, low_open=True)
        check_flag("OneCycleLR", "cycle_momentum", cycle_momentum)
        check_flag("OneCycleLR", "three_phase", three_phase)
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.phases = _one_cycle_phases(pct_start * self.total_steps, self.total_steps, three_phase)

        max_lrs = _per_group(self, "max_lr", max_lr, optimizer, low=0)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__}; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group(self, "max_momentum", max_momentum, optimizer, low=0)
            lows = _per_group(self, "base_momentum", base_momentum, optimizer, low=0)
            if last_epoch == -1:
                for group, high, low in zip(optimizer.param_groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, more than total_steps={self.total_steps}")
        start_step = 0.0
        for i, phase in enumerate(self.phases):
            end_step = phase["end_step"]
            if step <= end_step or i == len(self.phases) - 1:
                pct = (step - start_step) / (end_step - start_step) if end_step != start_step else 1.0
                break
            start_step = end_step
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                self._set_momentum(group, momentum)
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving.

    Args:
        optimizer: the optimizer to schedule.
        mode: ``'min'`` (the metric should fall, e.g. a loss) or ``'max'`` (rise, e.g. accuracy).
        factor: multiplier applied to the learning rate (in [0, 1)).
        patience: number of steps without improvement tolerated before reducing (>= 0).
        threshold: how much better than the best a value must be to count (>= 0).
        threshold_mode: ``'rel'`` (better than ``best * (1 ∓ threshold)``) or
            ``'abs'`` (better than ``best ∓ threshold``).
        cooldown: steps to wait after a reduction before counting bad steps again (>= 0).
        min_lr: lower bound on the learning rate, a number or one per group (>= 0).
        eps: reductions smaller than this are skipped (>= 0).

    >>> scheduler = ReduceLROnPlateau(optimizer, mode='min', patience=5)
    >>> for epoch in range(epochs):
    ...     scheduler.step(validate(model))
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        self.optimizer = _check_optimizer(self, optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check_number("ReduceLROnPlateau", "factor", factor, low=0, high=1, high_open=True)
        check_number("ReduceLROnPlateau", "patience", patience, low=0, integer=True)
        check_number("ReduceLROnPlateau", "threshold", threshold, low=0)
        check_number("ReduceLROnPlateau", "cooldown", cooldown, low=0, integer=True)
        check_number("ReduceLROnPlateau", "eps", eps, low=0)
        self.min_lrs = _per_group(self, "min_lr", min_lr, optimizer, low=0)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current_lrs()

    def step(self, metrics):
        """Record this step's metric value; reduce the learning rates after ``patience`` bad steps."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lrs()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value):
        if self.mode == "min":
            bound = self.best * (1.0 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bound
        bound = self.best * (self.threshold + 1.0) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bound

    def _reduce_lrs(self):
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"ReduceLROnPlateau: the optimizer now has {len(self.optimizer.param_groups)} parameter groups "
                f"but min_lr was given for {len(self.min_lrs)}; set scheduler.min_lrs to one value per group"
            )
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr


def _check_optimizer(scheduler, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: optimizer must be an Optimizer, got {type(optimizer).__name__}")
    return optimizer


def _per_group(scheduler, name, value, optimizer, low):
    """``value`` repeated for each parameter group, or checked as a list with one entry per group."""
    owner, groups = type(scheduler).__name__, len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{owner}: {name} must have one value per parameter group ({groups}), "
                             f"got {len(value)}: {name}={list(value)}")
        values = list(value)
    else:
        values = [value] * groups
    for v in values:
        check_number(owner, name, v, low=low)
    return values


def _total_steps(total_steps, epochs, steps_per_epoch):
    if total_steps is not None:
        check_number("OneCycleLR", "total_steps", total_steps, low=0, low_open=True, integer=True)
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch; "
                         f"got total_steps=None, epochs={epochs}, steps_per_epoch={steps_per_epoch}")
    check_number("OneCycleLR", "epochs", epochs, low=0, low_open=True, integer=True)
    check_number("OneCycleLR", "steps_per_epoch", steps_per_epoch, low=0, low_open=True, integer=True)
    return epochs * steps_per_epoch


def _one_cycle_phases(warmup_steps, total_steps, three_phase):
    """The phases of the 1cycle schedule: each names the group keys it moves between and its last step."""
    def phase(end_step, start_lr, end_lr, start_momentum, end_momentum):
        return dict(end_step=end_step, start_lr=start_lr, end_lr=end_lr,
                    start_momentum=start_momentum, end_momentum=end_momentum)
    warmup = phase(float(warmup_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")
    if not three_phase:
        return [warmup, phase(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
    return [
        warmup,
        phase(float(2 * warmup_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
        phase(total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
    ]
