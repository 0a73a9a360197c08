"""Keras 3 layers on cnnlab's engine: Keras's names, arguments, defaults and weight layouts.

Every layer is a :class:`cnnlab.nn.Module` holding :class:`cnnlab.nn.Parameter`
weights and computing with :mod:`cnnlab.functional`; images are channels-last
unless ``data_format='channels_first'``.

>>> model = keras.Sequential([keras.Input((28, 28, 1)), Conv2D(32, 3, activation="relu"), Flatten(), Dense(10)])

The contract a serialiser (``cnnlab.keras.saving``) relies on
--------------------------------------------------------------

(a) Arguments. Each constructor takes Keras 3's argument names with Keras's
    defaults, plus ``name=``, ``trainable=`` and ``dtype=``. The layer keeps every
    constructor argument as an attribute of the same name, normalised as Keras
    normalises it: ``kernel_size``, ``strides``, ``pool_size`` and
    ``dilation_rate`` as tuples, ``padding`` and ``data_format`` lower-case
    strings (``data_format=None`` becomes ``'channels_last'``), ``activation`` as
    the Keras name (``'relu'``, ``'softmax'``, ``'linear'`` for None), initialisers
    as Keras names (``'glorot_uniform'``, ``'zeros'``, ``'ones'``). So
    ``type(layer)(**layer.get_config())`` rebuilds the layer; ``get_config()``
    returns exactly those attributes, ``name``, ``trainable`` and ``dtype``.
(b) Names. ``layer.name`` is Keras's: the snake-case class name with a per-name
    counter (``conv2d``, ``conv2d_1``, ...; ``cnnlab.keras.utils.clear_session()``
    restarts the counters). A model refuses two layers of the same name.
(c) Weights. ``layer.weights`` lists the layer's Parameters in Keras's order and
    layout: Conv kernel ``(*kernel_size, in / groups, filters)`` (Conv1D
    ``(k, in, out)``, Conv2D ``(kH, kW, in, out)``), then bias; Dense kernel
    ``(in, out)``, then bias; BatchNormalization gamma, beta, moving_mean,
    moving_variance (the last two with ``requires_grad=False``). A model's
    weights are its layers' in order. ``get_weights()``/``set_weights()`` copy
    NumPy arrays out and in, in that order. ``layer.built`` says whether the
    weights exist yet (they are created on the first call, or when a model
    learns its input shape).
(d) Models. ``model.layers`` lists the layers (the Input is not one of them, as
    in Keras); ``model.input_layer`` is the :class:`InputLayer` (its
    ``batch_shape``, ``dtype``, ``name``) or None; ``Sequential(layers, name=)``,
    ``model.add``, ``model.built``. After ``compile``, ``model.optimizer`` and
    ``model.loss`` hold what was given (the optimizer as an object) and
    ``model.get_compile_config()`` returns the compile arguments as given.
"""
import inspect

import numpy

from .. import arguments, functional as F
from ..nn.module import Module, Parameter
from ..ops.elementwise import where as _where
from ..tensor import Tensor, no_grad
from . import activations, initializers, ops
from ._names import suggesting_getattr, to_snake_case, unique_name

_LAYER_KEYWORDS = ("input_shape", "batch_size", "input_dim", "batch_input_shape")


class Layer(Module):
    """Base of every Keras layer: a name, ``trainable``, lazy weights built on the first call.

    Subclasses create weights in ``build(input_shape)`` with :meth:`add_weight`
    and compute in ``call(inputs, training)``.
    """

    def __init__(self, name=None, trainable=True, dtype=None, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_LAYER_KEYWORDS))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword arguments {unknown}")
        self.name = name if name is not None else unique_name(to_snake_case(type(self).__name__))
        if not isinstance(self.name, str) or not self.name or "." in self.name:
            raise arguments.refuse(ValueError, type(self).__name__, "name", "a non-empty string without '.'",
                                   repr(name))
        self.dtype = str(numpy.dtype(dtype or "float32"))
        self.input_shape_hint = _input_shape_hint(kwargs)
        self.built = False
        self._trainable_flags = {}
        self._trainable = bool(trainable)

    # -------------------------------------------------------------- weights
    def add_weight(self, name, shape, initializer, trainable=True):
        """Create, register and return the Parameter ``name`` of ``shape``, filled by the named initialiser."""
        values = initializers.get(initializer)(tuple(shape), self.dtype)
        param = Parameter(values, requires_grad=trainable and self._trainable)
        self.register_parameter(name, param)
        self._trainable_flags[name] = trainable
        return param

    @property
    def trainable(self):
        """Whether training may change this layer's weights (BatchNormalization also stops updating its statistics)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self.modules():
            if isinstance(layer, Layer):
                object.__setattr__(layer, "_trainable", bool(value))
                for name, param in layer._parameters.items():
                    param.requires_grad = bool(value) and layer._trainable_flags.get(name, True)

    @property
    def weights(self):
        """The Parameters, this layer's in Keras's order, then those of its sublayers."""
        return list(self.parameters())

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.requires_grad]

    @property
    def variables(self):
        """Keras's other name for :attr:`weights`."""
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        """Copies of :attr:`weights` as NumPy arrays."""
        return [numpy.array(w.array) for w in self.weights]

    def set_weights(self, weights):
        """Copy NumPy arrays into :attr:`weights`, in order; every shape must match."""
        targets = self.weights
        if len(targets) != len(weights):
            raise ValueError(f"{self.name}: set_weights needs a list of {len(targets)} arrays, got {len(weights)}")
        arrays = [numpy.asarray(value) for value in weights]
        for target, array in zip(targets, arrays):
            if target.shape != array.shape:
                raise ValueError(f"{self.name}: set_weights: weight shape {target.shape} does not match the "
                                 f"provided shape {array.shape}")
        for target, array in zip(targets, arrays):
            target.array[...] = array

    def count_params(self):
        """The number of scalars in the weights."""
        return sum(w.array.size for w in self.weights)

    # ---------------------------------------------------------------- calls
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch dim first); layers without weights do nothing."""

    def call(self, inputs, training=False):
        raise NotImplementedError(f"{type(self).__name__}: call() is not implemented")

    def forward(self, inputs, training=None):
        inputs = ops.convert_to_tensor(inputs, None if isinstance(inputs, Tensor) else self.dtype)
        if not self.built:
            self.build(tuple(inputs.shape))
            self.built = True
        return self.call(inputs, training=bool(training))

    def get_config(self):
        """The constructor arguments as this layer holds them, with ``name``, ``trainable`` and ``dtype``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "kwargs")]
        return {name: getattr(self, name) for name in names if hasattr(self, name)} | {
            "name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    def extra_repr(self):
        return f"name={self.name!r}"


def _input_shape_hint(kwargs):
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    if kwargs.get("input_shape") is not None:
        return (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
    if kwargs.get("input_dim") is not None:
        return (kwargs.get("batch_size"), kwargs["input_dim"])
    return None


def _refuse_extras(where, **extras):
    """Keras arguments cnnlab does not implement (regularizers, constraints) must keep their default None."""
    for name, value in extras.items():
        if value is not None:
            raise arguments.refuse(ValueError, where, name, "None (not supported by cnnlab.keras)", repr(value))


# ------------------------------------------------------------------ input
class InputLayer:
    """The input of a model: its ``batch_shape`` (batch dim first, None where any size goes) and dtype."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):
        if (shape is None) == (batch_shape is None):
            raise ValueError(f"Input: give exactly one of shape and batch_shape, got shape={shape!r}, "
                             f"batch_shape={batch_shape!r}")
        batch_shape = (batch_size,) + tuple(shape) if batch_shape is None else tuple(batch_shape)
        if any(d is not None and (not arguments.is_int(d) or d < 1) for d in batch_shape):
            raise arguments.refuse(ValueError, "Input", "shape", "a tuple of positive ints or None",
                                   repr(shape if shape is not None else batch_shape))
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.dtype = str(numpy.dtype(dtype or "float32"))
        self.name = name if name is not None else unique_name("input_layer")
        self.output = KerasTensor(self.batch_shape, self.dtype, self)

    def __repr__(self):
        return f"InputLayer(batch_shape={self.batch_shape}, name={self.name!r})"


class KerasTensor:
    """What :func:`Input` returns: a placeholder with a ``shape`` (batch dim None) and a ``dtype``."""

    def __init__(self, shape, dtype, input_layer):
        self.shape, self.dtype, self.input_layer = shape, dtype, input_layer

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.input_layer.name}>"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A model's input, as ``keras.Input``: ``Input(shape=(28, 28, 1))`` has ``.shape == (None, 28, 28, 1)``."""
    if sparse or tensor is not None or optional:
        raise ValueError("Input: sparse, tensor and optional inputs are not supported by cnnlab.keras, got "
                         f"sparse={sparse!r}, tensor={tensor!r}, optional={optional!r}")
    return InputLayer(shape, batch_size, dtype, batch_shape, name).output


# ------------------------------------------------------------ convolution
class _Conv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        where, n = type(self).__name__, self.rank
        _refuse_extras(where, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                       activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                       bias_constraint=bias_constraint)
        self.filters = arguments.integer(where, "filters", filters, minimum=1)
        self.kernel_size = arguments.ntuple(where, "kernel_size", kernel_size, n)
        self.strides = arguments.ntuple(where, "strides", strides, n)
        self.dilation_rate = arguments.ntuple(where, "dilation_rate", dilation_rate, n)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{where}: strides > 1 cannot be combined with dilation_rate > 1, got "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}")
        options = ("valid", "same", "causal") if n == 1 else ("valid", "same")
        self.padding = arguments.choice(where, "padding", padding.lower() if isinstance(padding, str) else padding,
                                        options)
        self.data_format = ops.data_format(where, data_format)
        self.groups = arguments.integer(where, "groups", groups, minimum=1)
        arguments.divisible(where, "filters", self.filters, "groups", self.groups)
        self.activation = activations.name_of(where, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.name_of(where, "kernel_initializer", kernel_initializer)
        self.bias_initializer = initializers.name_of(where, "bias_initializer", bias_initializer)
        self.kernel_regularizer = self.bias_regularizer = self.activity_regularizer = None
        self.kernel_constraint = self.bias_constraint = None

    def build(self, input_shape):
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        arguments.divisible(type(self).__name__, "input channels", channels, "groups", self.groups)
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.add_weight("kernel", shape, self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def call(self, inputs, training=False):
        padding = self.padding
        if padding == "causal":   # pad the start only, so no output sees a later input
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            axis_pad = (0, 0, left, 0) if self.data_format == "channels_last" else (left, 0)
            inputs, padding = F.pad(inputs, axis_pad), "valid"
        bias = self.bias if self.use_bias else None
        out = ops.conv_with_bias(type(self).__name__, inputs, self.kernel, bias, self.strides, padding,
                                 self.data_format, self.dilation_rate)
        return activations.get(self.activation)(out)


class Conv1D(_Conv):
    """1-D convolution over ``(N, L, C)`` (or ``(N, C, L)``); kernel ``(kernel_size, in / groups, filters)``.

    ``padding='causal'`` pads ``dilation_rate * (kernel_size - 1)`` at the start only.
    Output length ``floor((L - dilation * (k - 1) - 1) / stride) + 1`` ('valid'), ``ceil(L / stride)`` ('same').
    """

    rank = 1


class Conv2D(_Conv):
    """2-D convolution of ``(N, H, W, C)`` images (or ``(N, C, H, W)``), as ``keras.layers.Conv2D``.

    Args:
        filters: output channels. kernel_size, strides, dilation_rate: int or pair.
        padding: ``'valid'`` or ``'same'`` (TensorFlow's split, extra row at the end).
        activation: a Keras activation name, a function of :mod:`cnnlab.keras.activations`, or None.
        kernel_initializer, bias_initializer: Keras names (``'glorot_uniform'``, ``'zeros'``).

    Kernel ``(kH, kW, in / groups, filters)``. Output ``(N, H_out, W_out, filters)`` with
    ``H_out = floor((H - dH * (kH - 1) - 1) / sH) + 1`` ('valid') or ``ceil(H / sH)`` ('same').

    >>> Conv2D(64, (3, 3), activation="relu")(numpy.zeros((1, 28, 28, 1))).shape
    (1, 26, 26, 64)
    """

    rank = 2


# ---------------------------------------------------------------- pooling
class _Pooling(Layer):
    rank = 2
    maximum = True

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        where = type(self).__name__
        self.pool_size = arguments.ntuple(where, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else arguments.ntuple(where, "strides", strides, self.rank)
        self.padding = arguments.choice(where, "padding", padding.lower() if isinstance(padding, str) else padding,
                                        ("valid", "same"))
        self.data_format = ops.data_format(where, data_format)

    def call(self, inputs, training=False):
        pool = ops.max_pool if self.maximum else ops.average_pool
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)


class MaxPooling1D(_Pooling):
    """Largest value of each ``pool_size`` window of ``(N, L, C)``; ``strides`` defaults to ``pool_size``."""

    rank = 1


class MaxPooling2D(_Pooling):
    """Largest value of each ``pool_size`` window of ``(N, H, W, C)``; 'same' ignores the padded cells.

    Output ``floor((n - k) / s) + 1`` ('valid') or ``ceil(n / s)`` ('same') per spatial dim.

    >>> MaxPooling2D()(numpy.zeros((1, 24, 24, 64))).shape
    (1, 12, 12, 64)
    """

    rank = 2


class AveragePooling1D(_Pooling):
    """Mean of each window of ``(N, L, C)``; with 'same' the mean over the real cells only."""

    rank, maximum = 1, False


class AveragePooling2D(_Pooling):
    """Mean of each ``pool_size`` window of ``(N, H, W, C)``; with 'same', padded cells are not counted."""

    rank, maximum = 2, False


class _GlobalPooling(Layer):
    rank, maximum = 2, False

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = ops.data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)

    def call(self, inputs, training=False):
        axes = tuple(range(1, 1 + self.rank)) if self.data_format == "channels_last" else tuple(
            range(2, 2 + self.rank))
        reduce = inputs.amax if self.maximum else inputs.mean
        return reduce(axes, keepdim=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: ``(N, L, C)`` -> ``(N, C)``."""

    rank = 1


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: ``(N, H, W, C)`` -> ``(N, C)`` (``(N, 1, 1, C)`` with ``keepdims``)."""

    rank = 2


class GlobalMaxPooling1D(_GlobalPooling):
    """Largest value over the steps: ``(N, L, C)`` -> ``(N, C)``."""

    rank, maximum = 1, True


class GlobalMaxPooling2D(_GlobalPooling):
    """Largest value over height and width: ``(N, H, W, C)`` -> ``(N, C)``."""

    rank, maximum = 2, True


# ------------------------------------------------------------------- core
class Flatten(Layer):
    """``(N, ...)`` -> ``(N, prod(...))``; channels_first inputs are first made channels-last, as Keras does."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = ops.data_format("Flatten", data_format)

    def call(self, inputs, training=False):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.from_channels_first(inputs, "channels_last")
        return inputs.reshape(inputs.shape[0], -1)


class Dense(Layer):
    """Fully connected: ``activation(x @ kernel + bias)`` on the last axis; kernel ``(in, units)``.

    >>> Dense(10, activation="softmax")(numpy.zeros((2, 128))).shape
    (2, 10)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        _refuse_extras("Dense", kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                       activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                       bias_constraint=bias_constraint)
        self.units = arguments.integer("Dense", "units", units, minimum=1)
        self.activation = activations.name_of("Dense", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.name_of("Dense", "kernel_initializer", kernel_initializer)
        self.bias_initializer = initializers.name_of("Dense", "bias_initializer", bias_initializer)
        self.kernel_regularizer = self.bias_regularizer = self.activity_regularizer = None
        self.kernel_constraint = self.bias_constraint = None

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def call(self, inputs, training=False):
        out = inputs @ self.kernel
        if self.use_bias:
            out = out + self.bias
        return activations.get(self.activation)(out)


class Dropout(Layer):
    """While training, zero each input with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    ``noise_shape`` (None entries take the input's size) shares one draw along its 1-sized dims;
    ``seed`` gives the layer its own generator, else cnnlab's default one is used.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = arguments.real("Dropout", "rate", rate, low=0, high=1)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = None if seed is None else numpy.random.default_rng(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        from .. import random as _random

        generator = self._generator or _random.default_generator()
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if s is None else s for s, n in zip(self.noise_shape, inputs.shape))
        keep = generator.random(shape) >= self.rate
        scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)
        return inputs * Tensor((keep * scale).astype(inputs.dtype))


class BatchNormalization(Layer):
    """Normalise each feature along ``axis`` by batch statistics while training, moving ones otherwise.

    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``, with the batch mean
    and biased variance while training, after which
    ``moving = moving * momentum + batch * (1 - momentum)`` (Keras's momentum: the
    weight of the old value, 0.99 by default; PyTorch's is 1 - that). In inference,
    or when the layer is not trainable, the moving statistics are used.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, **kwargs):
        super().__init__(**kwargs)
        where = "BatchNormalization"
        _refuse_extras(where, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                       beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.axis = arguments.integer(where, "axis", axis)
        self.momentum = arguments.real(where, "momentum", momentum, low=0, high=1)
        self.epsilon = arguments.real(where, "epsilon", epsilon, low=0, open_low=True)
        self.center, self.scale, self.synchronized = bool(center), bool(scale), bool(synchronized)
        for name, value in (("beta_initializer", beta_initializer), ("gamma_initializer", gamma_initializer),
                            ("moving_mean_initializer", moving_mean_initializer),
                            ("moving_variance_initializer", moving_variance_initializer)):
            setattr(self, name, initializers.name_of(where, name, value))
        self.beta_regularizer = self.gamma_regularizer = self.beta_constraint = self.gamma_constraint = None

    def build(self, input_shape):
        axis = arguments.dim("BatchNormalization", "axis", self.axis, len(input_shape))
        shape = (input_shape[axis],)
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer)
        self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", shape, self.moving_variance_initializer, trainable=False)

    def call(self, inputs, training=False):
        axis = self.axis % inputs.ndim
        reduced = tuple(d for d in range(inputs.ndim) if d != axis)
        shape = tuple(inputs.shape[d] if d == axis else 1 for d in range(inputs.ndim))
        if training and self.trainable:
            mean = inputs.mean(reduced, keepdim=True)
            variance = ((inputs - mean) * (inputs - mean)).mean(reduced, keepdim=True)
            self._update_moving(mean.array.reshape(-1), variance.array.reshape(-1))
        else:
            mean, variance = self.moving_mean.reshape(shape), self.moving_variance.reshape(shape)
        inverse = 1.0 / (variance + self.epsilon).sqrt()
        if self.scale:
            inverse = inverse * self.gamma.reshape(shape)
        offset = -mean * inverse
        if self.center:
            offset = offset + self.beta.reshape(shape)
        return inputs * inverse + offset

    def _update_moving(self, mean, variance):
        with no_grad():
            for stat, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
                stat.array[...] = stat.array * self.momentum + value * (1.0 - self.momentum)


class Activation(Layer):
    """Apply the named activation: ``Activation("relu")``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.name_of("Activation", activation)

    def call(self, inputs, training=False):
        return activations.get(self.activation)(inputs)


class ReLU(Layer):
    """``x`` above ``threshold`` (capped at ``max_value``), ``negative_slope * (x - threshold)`` below."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else arguments.real("ReLU", "max_value", max_value, low=0)
        self.negative_slope = arguments.real("ReLU", "negative_slope", negative_slope, low=0)
        self.threshold = arguments.real("ReLU", "threshold", threshold)

    def call(self, inputs, training=False):
        if self.negative_slope == 0 and self.threshold == 0:
            out = F.relu(inputs)
        else:
            out = _where(inputs.array >= self.threshold, inputs, (inputs - self.threshold) * self.negative_slope)
        return out if self.max_value is None else out.clip(max=self.max_value)


__getattr__ = suggesting_getattr(__name__, globals())
