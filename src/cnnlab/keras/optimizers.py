"""Keras 3's optimizers with Keras's update rules and defaults (not PyTorch's).

An optimizer is created without parameters; ``apply(gradients, variables)``
makes its state on the first call and updates the variables in place. Scalars
are Keras's: Adam's ``epsilon`` is 1e-7 and sits outside the bias-corrected
square root; SGD's momentum accumulates ``-lr * g``; RMSprop adds ``epsilon``
under the square root. ``weight_decay`` decays the weights directly, before the
update: ``w -= w * weight_decay * lr``.

>>> optimizer = Adam(learning_rate=1e-3)
>>> optimizer.apply([gradient_array], [parameter])
"""
import math

import numpy

from .. import arguments
from ._names import suggesting_getattr


class Optimizer:
    """Base: ``learning_rate`` (settable, as ReduceLROnPlateau does), ``iterations`` and ``apply``.

    Subclasses keep their state arrays per variable index and define
    ``update_step(gradient, variable, index, learning_rate)``.
    """

    def __init__(self, learning_rate, name, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 **kwargs):
        where = type(self).__name__
        self.name = name
        self.learning_rate = learning_rate
        self.weight_decay = None if weight_decay is None else arguments.real(where, "weight_decay", weight_decay,
                                                                             low=0)
        for option, value in dict(clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                                  **kwargs).items():
            if value not in (None, False):
                raise arguments.refuse(ValueError, where, option, "None (not supported by cnnlab.keras)",
                                       repr(value))
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self.iterations = 0
        self.built = False
        self.state = []

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = arguments.real(type(self).__name__, "learning_rate", value, low=0)

    def build(self, variables):
        """Create the per-variable state (a dict of zero arrays each)."""
        self.state = [self.new_state(variable.array) for variable in variables]
        self.built = True

    def new_state(self, data):
        return {}

    def apply(self, gradients, trainable_variables):
        """One step: update each variable (a Parameter) in place from its gradient array (None: skipped)."""
        gradients, variables = list(gradients), list(trainable_variables)
        if not self.built:
            self.build(variables)
        if len(variables) != len(self.state):
            raise ValueError(f"{type(self).__name__}: apply got {len(variables)} variables, but the optimizer was "
                             f"built for {len(self.state)}")
        learning_rate = self.learning_rate
        for index, (gradient, variable) in enumerate(zip(gradients, variables)):
            if gradient is None:
                continue
            gradient = numpy.asarray(gradient, dtype=variable.array.dtype)
            if self.weight_decay:
                variable.array -= variable.array * (self.weight_decay * learning_rate)
            self.update_step(gradient, variable, index, learning_rate)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars):
        """``apply`` for a list of ``(gradient, variable)`` pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": None, "clipvalue": None, "global_clipnorm": None}


class SGD(Optimizer):
    """Gradient descent, with Keras's momentum form.

    Without momentum ``w -= lr * g``; with it ``m = momentum * m - lr * g`` then
    ``w += m`` (Nesterov: ``w += momentum * m - lr * g``).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, name="SGD", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        self.momentum = arguments.real("SGD", "momentum", momentum, low=0, high=1)
        self.nesterov = bool(nesterov)

    def new_state(self, data):
        return {"momentum": numpy.zeros_like(data)} if self.momentum else {}

    def update_step(self, gradient, variable, index, learning_rate):
        if not self.momentum:
            variable.array -= gradient * learning_rate
            return
        m = self.state[index]["momentum"]
        m *= self.momentum
        m -= gradient * learning_rate
        if self.nesterov:
            variable.array += m * self.momentum - gradient * learning_rate
        else:
            variable.array += m

    def get_config(self):
        return super().get_config() | {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop, Keras's form: ``v = rho v + (1 - rho) g^2``, ``w -= lr g / sqrt(v + epsilon)``.

    ``centered`` subtracts the squared running mean of ``g`` inside the root;
    ``momentum`` accumulates the increments: ``m = momentum m + increment``, ``w -= m``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        self.rho = arguments.real("RMSprop", "rho", rho, low=0, high=1)
        self.momentum = arguments.real("RMSprop", "momentum", momentum, low=0, high=1)
        self.epsilon = arguments.real("RMSprop", "epsilon", epsilon, low=0)
        self.centered = bool(centered)

    def new_state(self, data):
        state = {"velocity": numpy.zeros_like(data)}
        if self.momentum:
            state["momentum"] = numpy.zeros_like(data)
        if self.centered:
            state["average_gradient"] = numpy.zeros_like(data)
        return state

    def update_step(self, gradient, variable, index, learning_rate):
        state = self.state[index]
        velocity = state["velocity"]
        velocity[...] = self.rho * velocity + (1 - self.rho) * gradient * gradient
        if self.centered:
            average = state["average_gradient"]
            average[...] = self.rho * average + (1 - self.rho) * gradient
            denominator = velocity - average * average + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = learning_rate * gradient / numpy.sqrt(denominator)
        if self.momentum:
            state["momentum"][...] = self.momentum * state["momentum"] + increment
            increment = state["momentum"]
        variable.array -= increment

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                                       "centered": self.centered}


class Adam(Optimizer):
    """Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) in Keras's form, at step ``t``::

        m += (g - m) (1 - beta_1)
        v += (g^2 - v) (1 - beta_2)          (amsgrad: v_hat = max(v_hat, v), used below)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w -= alpha m / (sqrt(v) + epsilon)   (epsilon 1e-7)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name="adam", **kwargs):
        super().__init__(learning_rate, name, weight_decay, **kwargs)
        self.beta_1 = arguments.real("Adam", "beta_1", beta_1, low=0, high=1)
        self.beta_2 = arguments.real("Adam", "beta_2", beta_2, low=0, high=1)
        self.epsilon = arguments.real("Adam", "epsilon", epsilon, low=0)
        self.amsgrad = bool(amsgrad)

    def new_state(self, data):
        state = {"momentum": numpy.zeros_like(data), "velocity": numpy.zeros_like(data)}
        if self.amsgrad:
            state["velocity_hat"] = numpy.zeros_like(data)
        return state

    def update_step(self, gradient, variable, index, learning_rate):
        state, step = self.state[index], self.iterations + 1
        m, v = state["momentum"], state["velocity"]
        alpha = learning_rate * math.sqrt(1 - self.beta_2 ** step) / (1 - self.beta_1 ** step)
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        if self.amsgrad:
            v = numpy.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
        variable.array -= (m * alpha) / (numpy.sqrt(v) + self.epsilon)

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                                       "amsgrad": self.amsgrad}


_BY_NAME = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a Keras name (``"adam"``, ``"sgd"``, ``"rmsprop"``, any case) or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"compile: optimizer must be an Optimizer or one of {', '.join(map(repr, _BY_NAME))}, "
                     f"got {identifier!r}")


__getattr__ = suggesting_getattr(__name__, globals())
