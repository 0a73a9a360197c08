"""Optimizer: the base every optimizer shares (parameter groups, state, checkpoints).

A subclass validates its hyperparameters in ``_check_group`` and updates one
parameter in ``_update``; everything else (groups, ``zero_grad``, ``step``,
``state_dict``) lives here, as in ``torch.optim.Optimizer``. Parameters are
updated in place (``param.array`` keeps its identity and dtype), so modules that
hold them see the new values.
"""
import copy
import inspect
import itertools
import numbers
from collections import defaultdict

import numpy

from ..backend import get_array_module, is_float, to_numpy
from ..tensor import Tensor, enable_grad


def check_number(owner, name, value, low=None, high=None, low_open=False, high_open=False, integer=False):
    """Raise unless ``value`` is a real number (an integer if ``integer``) between ``low`` and ``high``.

    The messages name the owner, the argument, the rule and the value:
    ``SGD: lr must be >= 0, got lr=-0.1``.
    """
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool):
        noun = "an integer" if integer else "a real number"
        raise TypeError(f"{owner}: {name} must be {noun}, got {name}={value!r} ({type(value).__name__})")
    above = low is None or (value > low if low_open else value >= low)
    below = high is None or (value < high if high_open else value <= high)
    if above and below:
        return
    if high is None:
        rule = f"{'>' if low_open else '>='} {low}"
    elif low is None:
        rule = f"{'<' if high_open else '<='} {high}"
    else:
        rule = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    raise ValueError(f"{owner}: {name} must be {rule}, got {name}={value}")


def check_flag(owner, name, value):
    """Raise unless ``value`` is a bool."""
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {name}={value!r}")


def effective_gradient(data, grad, weight_decay, maximize):
    """``±grad + weight_decay * data``: the gradient after ``maximize`` and L2 weight decay.

    Returns ``grad`` itself (never to be written to) when neither applies, else a new array.
    """
    if weight_decay == 0:
        return -grad if maximize else grad
    decayed = data * weight_decay
    if maximize:
        decayed -= grad
    else:
        decayed += grad
    return decayed


def lerp_(start, end, weight, scratch):
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp_`` does; ``scratch`` is clobbered."""
    xp = get_array_module(start)
    xp.subtract(end, start, out=scratch)
    if weight < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        xp.subtract(end, scratch, out=start)


class Optimizer:
    """Base class: updates parameters from their gradients, group by group.

    Args:
        params: an iterable of Tensors, or of dicts ``{'params': [...], **overrides}``
            (parameter groups); a group's missing hyperparameters come from ``defaults``.
        defaults: the hyperparameters of the subclass's constructor.

    Attributes:
        param_groups: list of dicts, each with ``'params'`` and every hyperparameter.
        state: per-parameter dict (``state[param]``) of arrays and numbers.

    Subclasses define ``_check_group(group)`` (raise on a bad hyperparameter) and
    ``_update(param, grad, state, group)`` (update ``param.array`` in place).

    >>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> for x, y in batches:
    ...     optimizer.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     optimizer.step()
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor) or not _is_iterable(params):
            raise TypeError(
                f"{self._name}: params must be an iterable of Tensors or of dicts, got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: params is an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    def _check_group(self, group):
        """Raise ValueError/TypeError when a hyperparameter in ``group`` is invalid."""

    def _update(self, param, grad, state, group):
        """Update ``param.array`` in place from ``grad`` (an array of its shape and dtype)."""
        raise NotImplementedError

    def add_param_group(self, param_group):
        """Add a group of parameters, with its own hyperparameters, to ``param_groups``.

        Args:
            param_group: dict with ``'params'`` (a Tensor or an iterable of them)
                and any hyperparameters that should differ from the defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(
                f"{self._name}: a parameter group must have a 'params' key, got keys {list(param_group)}"
            )
        group = dict(param_group)
        group["params"] = self._param_list(group["params"])
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _param_list(self, params):
        if isinstance(params, Tensor):
            return [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: params must be an ordered collection (a list), "
                "got a set, whose order changes between runs"
            )
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: params must be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"{self._name}: params must be leaf Tensors (not results of ops); got a non-leaf Tensor"
                )
            if not is_float(p.array):
                raise TypeError(f"{self._name}: params must be float32 or float64, got dtype={p.array.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{self._name}: a parameter group holds the same parameter more than once")
        return params

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient: drop it (default) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss, if given.

        Args:
            closure: optional function that recomputes the loss (and its gradients);
                it runs with gradient recording on, before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    self._update(p, p._grad.astype(p.array.dtype, copy=False), self.state[p], group)
        return loss

    # ----------------------------------------------------------- checkpoints
    def state_dict(self):
        """A snapshot of the optimizer, as ``torch.optim.Optimizer.state_dict``.

        ``{'state': {index: {name: array or number}}, 'param_groups': [{..., 'params': [index, ...]}]}``
        where parameters are numbered in group order. Arrays are copies; the whole
        dict holds only numbers, strings, bools, lists, dicts and NumPy arrays.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {key: _plain(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {key: _plain(value) for key, value in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a snapshot from :meth:`state_dict` onto this optimizer's parameters.

        The groups must match in number and size; arrays are copied and cast to
        their parameter's dtype, and must have its shape.
        """
        name = f"{self._name}.load_state_dict"
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}: state_dict must have a '{key}' entry, got keys {list(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: state_dict has {len(saved_groups)} parameter groups but the optimizer has "
                f"{len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} has {len(saved['params'])} parameters in state_dict but "
                    f"{len(group['params'])} in the optimizer"
                )
        params = dict(zip(
            itertools.chain.from_iterable(g["params"] for g in saved_groups),
            itertools.chain.from_iterable(g["params"] for g in self.param_groups),
        ))
        state = defaultdict(dict)
        for index, values in state_dict["state"].items():
            index = int(index)  # JSON turns the keys into strings
            if index not in params:
                raise ValueError(f"{name}: state_dict has state for parameter {index}, which no group lists")
            p = params[index]
            state[p] = {key: _restore(value, p, f"{name}: state of parameter {index}, {key!r}")
                        for key, value in values.items()}
        groups = [self._restore_group(saved, group) for saved, group in zip(saved_groups, self.param_groups)]
        for group in groups:
            self._check_group(group)
        self.state, self.param_groups = state, groups

    @staticmethod
    def _restore_group(saved, group):
        restored = {key: copy.deepcopy(value) for key, value in saved.items() if key != "params"}
        for key, value in restored.items():
            if isinstance(group.get(key), tuple) and isinstance(value, list):
                restored[key] = tuple(value)  # betas come back from JSON as a list
        restored["params"] = group["params"]
        return restored

    def __repr__(self):
        signature = inspect.signature(type(self).__init__).parameters
        def options(group):
            return ", ".join(
                f"{key}={value!r}" for key, value in group.items()
                if key != "params" and (key not in signature or value != signature[key].default)
            )
        if len(self.param_groups) == 1:
            return f"{self._name}({options(self.param_groups[0])})"
        lines = [f"  group {i}: {len(g['params'])} params" + "".join(f", {options(g)}" if options(g) else "")
                 for i, g in enumerate(self.param_groups)]
        return f"{self._name}(\n" + "\n".join(lines) + "\n)"


def _is_iterable(value):
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _is_array(value):
    """True for an engine array: NumPy's, or a device array module's."""
    return isinstance(value, numpy.ndarray) or get_array_module(value) is not numpy


def _plain(value):
    """A copy of ``value`` holding only numbers, strings, lists, dicts and NumPy arrays."""
    if _is_array(value):
        return numpy.array(to_numpy(value), copy=True)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _restore(value, param, where):
    """A state entry, loaded for ``param``: arrays copied into its dtype and array module, checked against its shape."""
    if isinstance(value, numpy.generic) or (_is_array(value) and value.ndim == 0):
        return value.item()
    if not _is_array(value):
        return copy.deepcopy(value)
    if value.shape != param.array.shape:
        raise ValueError(f"{where} must have the parameter's shape {param.array.shape}, got shape {value.shape}")
    dtype = param.array.dtype if value.dtype.kind == "f" else value.dtype
    return get_array_module(param.array).array(value, dtype=dtype, copy=True)
