"""Keras models: ``Sequential`` and the ``Model`` base with compile, fit, evaluate, predict, summary, save.

>>> model = Sequential([Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
...                     layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
>>> model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
>>> history = model.fit(x_train, y_train, epochs=2, validation_split=0.1)
>>> history.history["val_accuracy"]
"""
import numpy

from .. import arguments, distributed
from ..tensor import no_grad
from . import losses, metrics as metrics_module, optimizers, trainer
from ._names import suggesting_getattr
from .layers import InputLayer, KerasTensor, Layer


class Model(Layer):
    """Base of Keras models: subclass it and define ``call``, or use :class:`Sequential`.

    Sublayers assigned as attributes are tracked; ``weights`` lists theirs in order.
    """

    def __init__(self, name=None, trainable=True, dtype=None, **kwargs):
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        self.optimizer = self.loss = self.compiled_loss = None
        self.compiled_metrics = []
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.stop_training = False
        self.history = None
        self._compile_config = None

    @property
    def layers(self):
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def call(self, inputs, training=False):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Model define call(inputs, training)")

    # --------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, the loss and the metrics (Keras names or objects) for ``fit`` and ``evaluate``.

        >>> model.compile(optimizer=Adam(1e-3), loss=SparseCategoricalCrossentropy(), metrics=["accuracy"])
        """
        for name, value in (("loss_weights", loss_weights), ("weighted_metrics", weighted_metrics)):
            if value is not None:
                raise arguments.refuse(ValueError, "compile", name, "None (not supported by cnnlab.keras)",
                                       repr(value))
        if loss is None:
            raise ValueError("compile: loss must be given (a Keras loss name or a Loss object), got None")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self.compiled_loss = losses.get(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise arguments.refuse(TypeError, "compile", "metrics", "a list of metrics or None", repr(metrics))
        self.compiled_metrics = [metrics_module.get(m) for m in metrics or []]
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                                "loss_weights": loss_weights, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile, "auto_scale_loss": auto_scale_loss}

    def get_compile_config(self):
        """The arguments ``compile`` was given (None before compiling)."""
        return None if self._compile_config is None else dict(self._compile_config)

    @property
    def metrics_names(self):
        return [self.loss_tracker.name] + [m.name for m in self.compiled_metrics]

    def _require_compiled(self, where):
        if self.compiled_loss is None:
            raise RuntimeError(f"{where}: you must compile the model before training or evaluating it; "
                               f"call model.compile(optimizer=..., loss=...)")

    # ------------------------------------------------------------- training
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` over ``(x, y)`` in batches of ``batch_size`` (32); returns a History.

        ``history.history`` maps each logged name (``loss``, the metrics, their
        ``val_`` twins) to its per-epoch values.
        """
        self._require_compiled("fit")
        if distributed.launched():  # N ranks would each train the whole set and write the same files
            raise RuntimeError(f"fit: cnnlab.keras trains in one process, and this is one of "
                               f"{distributed.launch_size()} started by mpiexec; train data-parallel with "
                               f"cnnlab.fit (on a cnnlab.nn model), or run this script without mpiexec")
        for name, value in (("class_weight", class_weight), ("sample_weight", sample_weight),
                            ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if value is not None:
                raise arguments.refuse(ValueError, "fit", name, "None (not supported by cnnlab.keras)", repr(value))
        batch_size = _batch_size("fit", batch_size)
        arguments.integer("fit", "epochs", epochs, minimum=0)
        split = arguments.real("fit", "validation_split", validation_split, low=0, high=1)
        return trainer.fit(self, x, y, batch_size, epochs, _verbose(verbose), callbacks, split, validation_data,
                           shuffle, initial_epoch, validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss and metrics over ``(x, y)``: ``[loss, *metrics]`` (a float without metrics), or a dict."""
        self._require_compiled("evaluate")
        logs = trainer.evaluate(self, x, y, _batch_size("evaluate", batch_size), _verbose(verbose))
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for ``x`` as a NumPy array, computed in inference mode."""
        return trainer.predict(self, x, _batch_size("predict", batch_size), _verbose(verbose))

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        trainer._reset_metrics(self)
        trainer.train_step(self, trainer.as_inputs(x), trainer.as_targets(y))
        values = list(trainer.metric_logs(self).values())
        return values[0] if len(values) == 1 else values

    # -------------------------------------------------------------- saving
    def save(self, filepath, overwrite=True, zipped=None):
        """Write the model as a Keras 3 ``.keras`` archive (see :mod:`cnnlab.keras.saving`)."""
        from .saving import save_model

        return save_model(self, filepath)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights as Keras 3's ``.weights.h5`` (see :mod:`cnnlab.keras.saving`)."""
        from .saving import save_weights

        return save_weights(self, filepath)

    def load_weights(self, filepath):
        """Read weights written by :meth:`save_weights` (or from a ``.keras`` archive)."""
        from .saving import load_weights

        return load_weights(self, filepath)

    # ------------------------------------------------------------- summary
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print Keras's table: Layer (type), Output Shape, Param #, then the totals."""
        (print_fn or print)(_summary_text(self))


def _batch_size(where, value):
    return 32 if value is None else arguments.integer(where, "batch_size", value, minimum=1)


def _verbose(value):
    """Keras's ``verbose``: ``'auto'`` (1), 0 (silent), 1 (progress bar) or 2 (one line per epoch)."""
    if isinstance(value, str) and value == "auto":
        return 1
    if value not in (0, 1, 2) or isinstance(value, str):
        raise arguments.refuse(ValueError, "fit", "verbose", "'auto', 0, 1 or 2", repr(value))
    return int(value)


class Sequential(Model):
    """A plain stack of layers, each feeding the next, as ``keras.Sequential``.

    Args:
        layers: a list whose first entry may be ``keras.Input(shape=...)``; then the
            model is built at once (its weights exist and ``summary`` works).
        name: the model's name (``sequential``, ``sequential_1``... by default).

    >>> model = Sequential([Input((4,)), Dense(3)])
    >>> [layer.name for layer in model.layers], model.built
    (['dense'], True)
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name, trainable=trainable)
        self.input_layer = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer, rebuild=True):
        """Append ``layer`` (or set the input, for ``keras.Input(...)``)."""
        if isinstance(layer, KerasTensor):
            layer = layer.input_layer
        if isinstance(layer, InputLayer):
            if self.input_layer is not None or self.layers:
                raise ValueError(f"{self.name}: an Input can only come first in a Sequential model, got {layer!r} "
                                 f"after {len(self.layers)} layers")
            self.input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise arguments.refuse(TypeError, "Sequential.add", "layer", "a cnnlab.keras layer or keras.Input",
                                   type(layer).__name__)
        if layer.name in self._modules:
            raise ValueError(f"{self.name}: all layers added to a Sequential model must have unique names; "
                             f"{layer.name!r} is already the name of a layer in this model")
        if not self.layers and self.input_layer is None and layer.input_shape_hint is not None:
            self.input_layer = InputLayer(batch_shape=layer.input_shape_hint)
        self._modules[layer.name] = layer
        self.built = False
        if rebuild and self.input_layer is not None and None not in self.input_layer.batch_shape[1:]:
            self.build(self.input_layer.batch_shape)

    def pop(self):
        """Remove and return the last layer."""
        if not self.layers:
            raise IndexError(f"{self.name}: pop from a model without layers")
        layer = self.layers[-1]
        del self._modules[layer.name]
        return layer

    def build(self, input_shape=None):
        """Create every layer's weights by running a batch of one zero input through the stack."""
        shape = tuple(input_shape or self.input_layer.batch_shape)
        if self.input_layer is None:
            self.input_layer = InputLayer(batch_shape=(None,) + shape[1:])
        with no_grad():
            self.call(numpy.zeros((1,) + shape[1:], dtype=self.dtype), training=False)
        self.built = True

    @property
    def input_shape(self):
        return None if self.input_layer is None else self.input_layer.batch_shape

    def forward(self, inputs, training=None):
        if not self.built:
            shape = tuple(getattr(inputs, "shape", numpy.shape(inputs)))
            self.build((None,) + shape[1:])
        return self.call(inputs, training=bool(training))

    def call(self, inputs, training=False):
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
            layer.output_shape = (None,) + tuple(x.shape[1:])
        return x


def _memory(count):
    size, units = float(count * 4), ["B", "KB", "MB", "GB", "TB"]
    unit = 0
    while size >= 1024 and unit < len(units) - 1:
        size, unit = size / 1024, unit + 1
    return f"{size:.2f} {units[unit]}"


def _summary_text(model):
    rows = [(f"{layer.name} ({type(layer).__name__})", str(getattr(layer, "output_shape", "?")),
             f"{layer.count_params():,}" if layer.built else "0 (unbuilt)") for layer in model.layers]
    widths = tuple(max([w] + [len(row[i]) + 2 for row in rows]) for i, w in enumerate((33, 24, 15)))

    def line(cells, bar, align=("<", "<", ">")):
        return bar + bar.join(f" {c:{a}{w - 2}} " for c, a, w in zip(cells, align, widths)) + bar

    def rule(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    out = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"),
           line(("Layer (type)", "Output Shape", "Param #"), "┃"), rule("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        out.append(line(row, "│"))
        out.append(rule("├", "┼", "┤", "─") if i < len(rows) - 1 else rule("└", "┴", "┘", "─"))
    trainable = sum(w.array.size for w in model.trainable_weights)
    total = sum(w.array.size for w in model.weights)
    out += [f" Total params: {total:,} ({_memory(total)})", f" Trainable params: {trainable:,} "
            f"({_memory(trainable)})", f" Non-trainable params: {total - trainable:,} ({_memory(total - trainable)})"]
    return "\n".join(out)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002 - Keras's names
    """A model read from a Keras 3 ``.keras`` archive (see :mod:`cnnlab.keras.saving`); ``compile=False`` skips
    restoring the optimizer, loss and metrics. ``custom_objects`` and ``safe_mode`` are accepted for Keras's
    signature: loading never executes code."""
    from .saving import load_model as load

    return load(filepath, compile=compile)


__getattr__ = suggesting_getattr(__name__, globals())
