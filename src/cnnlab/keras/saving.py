"""Keras 3's ``.keras`` archive for :mod:`cnnlab.keras` models: Keras opens cnnlab's files, cnnlab opens Keras's.

A ``.keras`` file is a zip of three stored (uncompressed) members:

- ``metadata.json``: ``{"keras_version": ..., "date_saved": ...}``;
- ``config.json``: the model as Keras serialises it, ``{"module", "class_name",
  "config", "registered_name", "build_config", "compile_config"}``; each layer
  is a dict of the same shape whose ``config`` holds its constructor arguments;
- ``model.weights.h5``: each layer's weights as datasets
  ``layers/<snake_case class>[_k]/vars/<i>`` in the layer's order (the path
  comes from the class and its count, not the layer's name, as in Keras), the
  optimizer's as ``optimizer/vars/<i>`` (iteration, learning rate, then its
  slots per trainable weight), and the model's own (none) under ``vars``.

The writer takes each config entry from the layer's attribute of the same name,
Keras's default where the layer keeps none; it writes a fixed ``date_saved``
and fixed zip timestamps, so the same model always gives the same bytes. The
reader builds layers from an allow-list of :mod:`cnnlab.keras` classes; a
config entry that cnnlab's class does not take must hold Keras's default.
Loading never runs code: Lambda layers, custom objects and functions named in
a file are refused.

>>> model.save("model.keras")              # keras.saving.load_model opens it
>>> model = keras.models.load_model("model.keras")
"""
import io
import json
import os
import zipfile

import numpy as np

KERAS_VERSION = "3.15.1"  # the Keras release whose format this module writes and reads
DATE_SAVED = "1980-01-01@00:00:00"  # the zip format's epoch: a fixed date keeps files reproducible
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
_INSTALL = "pip install 'cnnlab[keras]'"
_BOMB_FLOOR = 1 << 32  # members above 4 GiB must not expand more than 100x, as Keras requires
_REQUIRED = object()  # a constructor argument with no default: the layer must keep it

# ------------------------------------------------------------------ tables
# Keras 3.15.1's config entries per layer class, in Keras's order, with the value Keras writes by default.
_HEAD = {"name": _REQUIRED, "trainable": True, "dtype": "float32"}


def _conv(n):
    return {"filters": _REQUIRED, "kernel_size": _REQUIRED, "strides": (1,) * n, "padding": "valid",
            "data_format": "channels_last", "dilation_rate": (1,) * n, "groups": 1, "activation": "linear",
            "use_bias": True, "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}


def _pool(n):
    return {"pool_size": (2,) * n, "padding": "valid", "strides": None, "data_format": "channels_last"}


_GLOBAL_POOL = {"data_format": "channels_last", "keepdims": False}
LAYERS = {
    "Conv1D": _conv(1),
    "Conv2D": _conv(2),
    "MaxPooling1D": _pool(1),
    "MaxPooling2D": _pool(2),
    "AveragePooling2D": _pool(2),
    "GlobalAveragePooling2D": _GLOBAL_POOL,
    "GlobalMaxPooling2D": _GLOBAL_POOL,
    "Flatten": {"data_format": "channels_last"},
    "Dense": {"units": _REQUIRED, "activation": "linear", "use_bias": True,
              "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
              "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None, "quantization_config": None},
    "Dropout": {"rate": _REQUIRED, "seed": None, "noise_shape": None},
    "BatchNormalization": {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                           "beta_initializer": "zeros", "gamma_initializer": "ones",
                           "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones",
                           "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                           "gamma_constraint": None, "synchronized": False, "renorm": False,
                           "renorm_clipping": None, "renorm_momentum": 0.99},
    "Activation": {"activation": _REQUIRED},
    "ReLU": {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
}
_VARIANCE_SCALING = {"seed": None, "input_axes": None, "output_axes": None}
INITIALIZERS = {  # Keras name -> (class name, default config)
    "glorot_uniform": ("GlorotUniform", _VARIANCE_SCALING),
    "glorot_normal": ("GlorotNormal", _VARIANCE_SCALING),
    "he_uniform": ("HeUniform", _VARIANCE_SCALING),
    "he_normal": ("HeNormal", _VARIANCE_SCALING),
    "zeros": ("Zeros", {}),
    "ones": ("Ones", {}),
}
_OPTIMIZER_HEAD = {"name": _REQUIRED, "learning_rate": _REQUIRED, "weight_decay": None, "clipnorm": None,
                   "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                   "ema_overwrite_frequency": None, "loss_scale_factor": None,
                   "gradient_accumulation_steps": None}
OPTIMIZERS = {
    "Adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "SGD": {"momentum": 0.0, "nesterov": False},
    "RMSprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
}
_LOSS_HEAD = {"name": _REQUIRED, "reduction": "sum_over_batch_size"}
LOSSES = {
    "SparseCategoricalCrossentropy": {"from_logits": False, "ignore_class": None},
    "CategoricalCrossentropy": {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
}
METRICS = {"SparseCategoricalAccuracy": {"dtype": "float32"}, "CategoricalAccuracy": {"dtype": "float32"},
           "BinaryAccuracy": {"dtype": "float32", "threshold": 0.5}}
# Keras's optimizer variables after (iteration, learning_rate): one group per add_optimizer_variables call,
# interleaved within a group, variable by variable; a slot the optimizer's settings leave out is absent.
OPTIMIZER_SLOTS = {"Adam": (("momentum", "velocity"), ("velocity_hat",)), "SGD": (("momentum",),),
                   "RMSprop": (("velocity",), ("momentum",), ("average_gradient",))}
_COMPILE_TAIL = {"loss_weights": None, "weighted_metrics": None, "run_eagerly": False,
                 "steps_per_execution": 1, "jit_compile": False}


# ------------------------------------------------------------------ checks
def _refuse(where, name, rule, got):
    from ..arguments import refuse

    return refuse(ValueError, where, name, rule, got)


def _check_suffix(where, filepath, *suffixes):
    path = str(os.fspath(filepath))
    if not path.endswith(suffixes):
        legacy = " (Keras's legacy HDF5 files are not supported)" if ".keras" in suffixes and path.endswith(
            (".h5", ".hdf5")) else ""
        rule = " or ".join(map(repr, suffixes))
        raise _refuse(where, "filepath", f"a path ending in {rule}{legacy}", repr(path))
    return path


def _h5py(where):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{where}: .keras and .weights.h5 files need h5py; install it with {_INSTALL}") from None
    return h5py


# ------------------------------------------------------------------ config: write
def _keras_object(module, class_name, config):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _dtype_policy(name):
    return _keras_object("keras", "DTypePolicy", {"name": name})


def _initializer(value):
    class_name, config = INITIALIZERS[value]
    return _keras_object("keras.initializers", class_name, dict(config))


def _json_value(key, value):
    if key.endswith("_initializer"):
        return _initializer(value)
    if key == "activation" and value is None:
        return "linear"
    if key == "dtype" and value is None:
        return "float32"
    if key == "learning_rate":  # a float32 variable in Keras, and in the weights file
        return float(np.float32(value))
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _dtype_name(value):
    return value if isinstance(value, str) else np.dtype(value or "float32").name


def _entries(obj, table):
    """``table``'s keys with ``obj``'s attribute values, Keras's default where ``obj`` keeps none."""
    entries = {}
    for key, default in table.items():
        value = getattr(obj, key, default)
        if value is _REQUIRED:
            raise ValueError(f"save_model: {type(obj).__name__} keeps no attribute {key!r}, "
                             f"which a .keras file needs")
        entries[key] = _json_value(key, value)
    return entries


def layer_config(layer):
    """The dict Keras 3 writes for ``layer``: module, class_name, config, registered_name."""
    class_name = type(layer).__name__
    if class_name not in LAYERS:
        raise ValueError(f"save_model: layer {getattr(layer, 'name', '?')!r} is a {class_name}, which a .keras file "
                         f"cannot describe; supported: {', '.join(LAYERS)}")
    config = {"name": layer.name, "trainable": bool(getattr(layer, "trainable", True)),
              "dtype": _dtype_policy(_dtype_name(getattr(layer, "dtype", None)))}
    config.update(_entries(layer, LAYERS[class_name]))
    if "strides" in config and config["strides"] is None:
        config["strides"] = config["pool_size"]
    return _keras_object("keras.layers", class_name, config)


def _input_config(batch_shape, name):
    return _keras_object("keras.layers", "InputLayer", {"batch_shape": batch_shape, "dtype": "float32",
                                                        "sparse": False, "ragged": False, "name": name,
                                                        "optional": False})


def _batch_shape(model):
    shape = getattr(model, "input_shape", None)
    if shape is None or None in shape[1:]:
        raise ValueError(f"save_model: model {model.name!r} has no input shape yet, got {shape}; start it with "
                         f"keras.Input(shape=...) or call it on data first")
    return [None, *map(int, shape[1:])]


def model_config(model):
    """The ``config.json`` dict of a Sequential ``model``, Keras 3's shape."""
    if type(model).__name__ != "Sequential":
        raise ValueError(f"save_model: a .keras file from cnnlab holds a Sequential model, got a "
                         f"{type(model).__name__}")
    batch_shape = _batch_shape(model)
    layers = [_input_config(batch_shape, model.input_layer.name)] + [layer_config(layer) for layer in model.layers]
    config = {"name": model.name, "trainable": bool(getattr(model, "trainable", True)),
              "dtype": _dtype_policy("float32"), "layers": layers, "build_input_shape": batch_shape}
    return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None,
            "build_config": {"input_shape": batch_shape}, "compile_config": compile_config(model)}


# ------------------------------------------------------------------ config: read
def _plain(value):
    """A JSON value in the form Keras's constructors normalise to: lists become tuples."""
    return tuple(_plain(v) for v in value) if isinstance(value, list) else value


def _check_keras_object(where, value, module):
    """Refuse a serialised object that is not one of Keras's own (a custom class or function would run code).

    Keras writes its own classes under their public module (``keras.layers``) or,
    for backend-specific ones, ``keras.src...`` with ``registered_name`` the class name.
    """
    own_module = isinstance(value, dict) and (value.get("module") == module
                                              or str(value.get("module")).startswith("keras.src."))
    if not own_module or value.get("registered_name") not in (None, value.get("class_name")):
        raise _refuse(where, "every object", f"one of Keras's own from {module} (cnnlab never loads custom "
                                             f"objects or code from a file)", _short(value))


def _short(value, limit=120):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _read_initializer(where, key, value):
    if isinstance(value, str):
        return value
    _check_keras_object(where, value, "keras.initializers")
    names = {class_name: name for name, (class_name, _) in INITIALIZERS.items()}
    class_name = value.get("class_name")
    if class_name not in names:
        raise _refuse(where, key, f"one of {', '.join(names)}", repr(class_name))
    # the seed is dropped: the file's weights replace whatever the initializer would draw
    config = {k: v for k, v in (value.get("config") or {}).items() if k != "seed"}
    default = {k: v for k, v in INITIALIZERS[names[class_name]][1].items() if k != "seed"}
    if config != default:
        raise _refuse(where, f"{key}'s config", f"Keras's default {default}", _short(value["config"]))
    return names[class_name]


def _read_dtype(where, value):
    if isinstance(value, dict):
        _check_keras_object(where, value, "keras")
        value = (value.get("config") or {}).get("name")
    if value != "float32":
        raise _refuse(where, "dtype", "'float32' (cnnlab.keras computes in float32)", repr(value))
    return value


def _function_name(value):
    """The name in Keras's dict for one of its own functions (``relu``, ``sparse_categorical_crossentropy``)."""
    if isinstance(value, dict) and value.get("module") == "builtins" and value.get("class_name") == "function" \
            and value.get("registered_name") == "function" and isinstance(value.get("config"), str):
        return value["config"]
    return value


def _read_activation(where, value):
    value = _function_name(value)
    if not isinstance(value, str):  # anything else would be custom code
        raise _refuse(where, "activation", "the name of one of Keras's activations", _short(value))
    return value


def _parameters(cls):
    """The keyword arguments ``cls`` takes, following ``**kwargs`` up to the base classes' constructors."""
    import inspect

    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass is not object:
            parameters = inspect.signature(klass.__init__).parameters.values()
            names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
            if not any(p.kind == p.VAR_KEYWORD for p in parameters):
                break
    return names - {"self"}


def _arguments(where, cls, config, table):
    """Constructor arguments for ``cls`` from a Keras ``config``; entries ``cls`` does not take must be defaults."""
    accepted = _parameters(cls)
    arguments = {}
    for key, value in config.items():
        if key.endswith("_initializer"):
            value = _read_initializer(where, key, value)
        elif key == "dtype":
            value = _read_dtype(where, value)
        elif key == "activation":
            value = _read_activation(where, value)
        value = _plain(value)
        if key in accepted:
            arguments[key] = value
        elif key not in table:
            raise _refuse(where, "every config entry", f"one of {', '.join(table)}", repr(key))
        elif value != _plain(_json_value(key, table[key])):
            raise _refuse(where, key, f"Keras's default {_json_value(key, table[key])!r} (cnnlab.keras has no "
                                      f"other)", repr(value))
    return arguments


def _lambda_note(class_name):
    return " (a Lambda layer holds Python code, which cnnlab never runs from a file)" if class_name == "Lambda" else ""


def build_layer(spec):
    """A :mod:`cnnlab.keras` layer from Keras's dict for it (``config.json``'s ``layers`` entries)."""
    from . import layers

    class_name = spec.get("class_name") if isinstance(spec, dict) else None
    if class_name not in LAYERS:
        raise ValueError(f"load_model: the file holds a layer of class {class_name!r}, which cnnlab.keras cannot "
                         f"build{_lambda_note(class_name)}; supported: {', '.join(LAYERS)}")
    where = f"load_model: {class_name} {spec.get('config', {}).get('name', '')!r}"
    _check_keras_object(where, spec, "keras.layers")
    cls = getattr(layers, class_name)
    return cls(**_arguments(where, cls, spec.get("config") or {}, {**_HEAD, **LAYERS[class_name]}))


def _input(spec):
    """``keras.Input`` from Keras's InputLayer dict."""
    from .layers import Input

    _check_keras_object("load_model: InputLayer", spec, "keras.layers")
    config = dict(spec.get("config") or {})
    where = "load_model: InputLayer"
    _read_dtype(where, config.get("dtype"))
    for key in ("sparse", "ragged", "optional"):
        if config.get(key, False):
            raise _refuse(where, key, "False (cnnlab.keras has dense inputs only)", repr(config[key]))
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    return Input(batch_shape=tuple(shape), name=config.get("name"))


def build_model(config):
    """A :class:`cnnlab.keras.Sequential` from Keras's ``config.json`` dict (weights as initialised)."""
    from .models import Sequential

    class_name = config.get("class_name") if isinstance(config, dict) else None
    if class_name != "Sequential":
        raise ValueError(f"load_model: the file holds a {class_name} model; cnnlab.keras reads Sequential models "
                         f"only (rebuild it as keras.Sequential and use load_weights)")
    _check_keras_object("load_model: Sequential", config, "keras")
    inner = config.get("config") or {}
    specs = list(inner.get("layers") or [])
    inputs = [_input(specs.pop(0))] if specs and specs[0].get("class_name") == "InputLayer" else []
    shape = inner.get("build_input_shape") or (config.get("build_config") or {}).get("input_shape")
    if not inputs and shape:
        from .layers import Input

        inputs = [Input(batch_shape=tuple(shape))]
    return Sequential(inputs + [build_layer(spec) for spec in specs], trainable=inner.get("trainable", True),
                      name=inner.get("name"))


# ------------------------------------------------------------------ weights
def _layer_paths(model):
    """``(layer, "layers/<snake_case class>[_k]")`` for each layer: Keras's paths, counted per class."""
    from ._names import to_snake_case

    counts = {}
    for layer in model.layers:
        name = to_snake_case(type(layer).__name__)
        count = counts[name] = counts.get(name, -1) + 1
        yield layer, f"layers/{name}" if count == 0 else f"layers/{name}_{count}"


def _write_vars(h5, path, name, arrays):
    group = h5.create_group(f"{path}/vars" if path else "vars")
    group.attrs["name"] = name
    for i, array in enumerate(arrays):
        group.create_dataset(str(i), data=np.asarray(array))


def weights_h5(model, optimizer_arrays=None):
    """The bytes of Keras's ``model.weights.h5`` for ``model`` (and the optimizer's variables, when given)."""
    h5py = _h5py("save_model")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        _write_vars(h5, "", model.name, [])
        for layer, path in _layer_paths(model):
            _write_vars(h5, path, layer.name, [p.array for p in layer.weights])
        if optimizer_arrays is not None:
            _write_vars(h5, "optimizer", optimizer_arrays[0], optimizer_arrays[1])
    return buffer.getvalue()


def _member(h5py, group, key, kind, where):
    """``group[key]`` if it is a ``kind`` stored in this file: no links, no data kept elsewhere (as Keras checks)."""
    link = group.get(key, getclass=True, getlink=True)
    if link is None:
        return None
    member = group[key] if link is h5py.HardLink else None
    if not isinstance(member, kind) or (kind is h5py.Dataset and (member.external or member.is_virtual)):
        raise _refuse(where, key, f"a {kind.__name__.lower()} stored in the file (not a link to another)",
                      link.__name__ if member is None else type(member).__name__)
    return member


def _vars_group(h5py, h5, path, where):
    """The group ``path/vars`` (``vars`` for the root), or None when the file has none."""
    group = h5
    for part in (path.split("/") if path else []) + ["vars"]:
        group = group if group is None else _member(h5py, group, part, h5py.Group, where)
    return group


def _read_vars(h5py, h5, path, expected, where):
    """The arrays under ``path/vars``, checked against ``expected`` shapes before anything is read."""
    group = _vars_group(h5py, h5, path, where)
    keys = sorted(group.keys(), key=lambda k: (len(k), k)) if group is not None else []
    if any(not key.isdigit() for key in keys):
        raise _refuse(where, f"{path}/vars", "a group of datasets named 0, 1, ...", keys)
    if len(keys) != len(expected):
        raise _refuse(where, "the number of saved weights", f"{len(expected)}", len(keys))
    arrays = []
    for key, shape in zip(keys, expected):
        dataset = _member(h5py, group, key, h5py.Dataset, where)
        if dataset.shape != tuple(shape):
            raise _refuse(where, f"weight {key}'s shape", f"{tuple(shape)}", dataset.shape)
        arrays.append(dataset[()])
    return arrays


def load_weights_h5(model, data, caller="load_model"):
    """Copy the weights in ``data`` (the bytes of a ``model.weights.h5``) into ``model``'s layers."""
    h5py = _h5py(caller)
    with h5py.File(io.BytesIO(data), "r") as h5:
        for layer, path in _layer_paths(model):
            where = f"{caller}: layer {layer.name!r} ({path})"
            arrays = _read_vars(h5py, h5, path, [p.array.shape for p in layer.weights], where)
            for parameter, array in zip(layer.weights, arrays):
                parameter.array[...] = array
        _read_optimizer(h5py, h5, model, caller)


# ------------------------------------------------------------------ compile config and optimizer state
def _serialise(obj, module, table, head):
    class_name = type(obj).__name__
    if class_name not in table:
        raise ValueError(f"save_model: a .keras file cannot describe a {class_name} in compile(); "
                         f"supported: {', '.join(table)}")
    return _keras_object(module, class_name, _entries(obj, {**head, **table[class_name]}))


def _serialise_named(value, module, table, head):
    """A loss or metric as Keras writes it: a name string, or the object's dict."""
    if isinstance(value, str):
        return value
    if callable(value) and not hasattr(value, "get_config") and hasattr(value, "__name__"):
        return value.__name__  # one of cnnlab.keras's functions: Keras knows it by name
    return _serialise(value, module, table, head)


def compile_config(model):
    """Keras's ``compile_config``: the optimizer, loss and metrics given to ``compile`` ({} if not compiled)."""
    if getattr(model, "optimizer", None) is None:
        return {}
    given = model.get_compile_config()
    metrics = given.get("metrics")
    return {"optimizer": _serialise(model.optimizer, "keras.optimizers", OPTIMIZERS, _OPTIMIZER_HEAD),
            "loss": _serialise_named(given.get("loss"), "keras.losses", LOSSES, _LOSS_HEAD),
            "metrics": None if metrics is None else [
                _serialise_named(m, "keras.metrics", METRICS, {"name": _REQUIRED}) for m in metrics],
            **_COMPILE_TAIL}


def _optimizer_arrays(model):
    """``(name, arrays)`` of the optimizer's variables in Keras's order, or None if the model is not compiled."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    weights = model.trainable_weights
    states = optimizer.state if optimizer.built else [optimizer.new_state(w.array) for w in weights]
    arrays = [np.array(optimizer.iterations, np.int32), np.array(optimizer.learning_rate, np.float32)]
    return optimizer.name, arrays + [state[slot] for state, slot in _optimizer_slots(optimizer, states)]


def _optimizer_slots(optimizer, states):
    """``(state, slot)`` for each of the optimizer's per-weight variables, in Keras's order."""
    return [(state, slot) for group in OPTIMIZER_SLOTS[type(optimizer).__name__]
            for state in states for slot in group if slot in state]


def _read_optimizer(h5py, h5, model, caller):
    """Restore the optimizer's variables saved under ``optimizer/vars`` (nothing if uncompiled or none saved).

    A file saved by Keras before the optimizer's first step holds only the
    iteration and the learning rate; they are restored and the slots start at zero.
    """
    optimizer = getattr(model, "optimizer", None)
    where = f"{caller}: optimizer {getattr(optimizer, 'name', '')!r}"
    saved = None if optimizer is None else _vars_group(h5py, h5, "optimizer", where)
    if saved is None:
        return
    weights = model.trainable_weights
    states = [optimizer.new_state(w.array) for w in weights]
    slots = _optimizer_slots(optimizer, states) if len(saved) != 2 else []
    arrays = _read_vars(h5py, h5, "optimizer", [(), ()] + [state[slot].shape for state, slot in slots], where)
    optimizer.iterations, optimizer.learning_rate = int(arrays[0]), float(arrays[1])
    if slots:
        for (state, slot), array in zip(slots, arrays[2:]):
            state[slot][...] = array
        optimizer.build(weights)
        optimizer.state = states


def _read_named(where, value, module, table, head):
    """A loss or metric from Keras's config: a name (also of one of Keras's functions) or an object of ``table``."""
    from . import losses, metrics

    value = _function_name(value)
    if value is None or isinstance(value, str):
        return value
    _check_keras_object(where, value, module)
    class_name = value.get("class_name")
    if class_name not in table:
        raise _refuse(where, "class_name", f"one of {', '.join(table)}", repr(class_name))
    cls = getattr(losses if module == "keras.losses" else metrics, class_name)
    return cls(**_arguments(f"{where} {class_name}", cls, value.get("config") or {}, {**head, **table[class_name]}))


def _read_optimizer_config(value):
    from . import optimizers

    where = "load_model: optimizer"
    if isinstance(value, str):
        return value
    _check_keras_object(where, value, "keras.optimizers")
    class_name = value.get("class_name")
    if class_name not in OPTIMIZERS:
        raise _refuse(where, "class_name", f"one of {', '.join(OPTIMIZERS)}", repr(class_name))
    cls = getattr(optimizers, class_name)
    return cls(**_arguments(where, cls, value.get("config") or {}, {**_OPTIMIZER_HEAD, **OPTIMIZERS[class_name]}))


def compile_model(model, config):
    """``model.compile(...)`` with the optimizer, loss and metrics of Keras's ``compile_config``.

    ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` are how Keras
    runs a step; they do not change what it computes, and cnnlab has no use for them.
    """
    metrics = config.get("metrics")
    model.compile(optimizer=_read_optimizer_config(config.get("optimizer")),
                  loss=_read_named("load_model: loss", config.get("loss"), "keras.losses", LOSSES, _LOSS_HEAD),
                  metrics=None if metrics is None else [
                      _read_named("load_model: metric", m, "keras.metrics", METRICS, {"name": _REQUIRED})
                      for m in metrics],
                  loss_weights=config.get("loss_weights"), weighted_metrics=config.get("weighted_metrics"))


# ------------------------------------------------------------------ archive
def _zip(members):
    """A zip of ``members`` (name -> bytes), stored, with fixed timestamps and permissions: reproducible bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, whatever the platform, so the bytes do not depend on it
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _unzip(path, where):
    """``{member: bytes}`` of the ``.keras`` archive at ``path``, refusing what is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [name for name in ("config.json", "model.weights.h5") if name not in names]
            if missing:
                raise ValueError(f"{where}: {path} is not a .keras file cnnlab reads: it has no "
                                 f"{' or '.join(missing)} (members: {', '.join(sorted(names))})")
            return {name: _read_member(archive, name, where) for name in _MEMBERS if name in names}
    except zipfile.BadZipFile:
        raise ValueError(f"{where}: {path} is not a .keras file (not a zip archive)") from None


def _read_member(archive, name, where):
    """A member's bytes, refusing one that would inflate far beyond its stored size (Keras's rule, CWE-409)."""
    info = archive.getinfo(name)
    if info.file_size > _BOMB_FLOOR and info.file_size > 100 * info.compress_size:
        raise ValueError(f"{where}: {name} declares {info.file_size} bytes but stores {info.compress_size}; "
                         f"refusing a likely decompression bomb")
    return archive.read(name)


def save_model(model, filepath):
    """Write ``model`` to ``filepath`` as Keras 3's ``.keras`` archive, atomically and reproducibly.

    Args:
        model: a :class:`cnnlab.keras.Sequential` of the layers in :data:`LAYERS`.
        filepath: a path ending in ``.keras``.

    ``keras.saving.load_model(filepath)`` opens the file, as does :func:`load_model`.
    """
    from ..io import atomic_write

    path = _check_suffix("save_model", filepath, ".keras")
    _h5py("save_model")
    config = model_config(model)
    metadata = {"keras_version": KERAS_VERSION, "date_saved": DATE_SAVED}
    weights = weights_h5(model, _optimizer_arrays(model))
    atomic_write(path, _zip({"metadata.json": json.dumps(metadata).encode(),
                             "config.json": json.dumps(config).encode(), "model.weights.h5": weights}))


def load_model(filepath, compile=True):
    """The :mod:`cnnlab.keras` model in the ``.keras`` file at ``filepath`` (written by Keras 3 or cnnlab).

    Args:
        filepath: a path ending in ``.keras``.
        compile: also compile the model as saved (optimizer, loss, metrics) and
            restore the optimizer's state; False gives an uncompiled model.

    Loading never runs code from the file: Lambda layers, custom objects and
    functions are refused, as is any layer class outside :data:`LAYERS`.
    """
    path = _check_suffix("load_model", filepath, ".keras")
    _h5py("load_model")
    members = _unzip(path, "load_model")
    try:
        config = json.loads(members["config.json"])
    except ValueError as error:
        raise ValueError(f"load_model: {path}'s config.json is not JSON ({error})") from None
    model = build_model(config)
    if compile and config.get("compile_config"):
        compile_model(model, config["compile_config"])
    load_weights_h5(model, members["model.weights.h5"])
    return model


def save_weights(model, filepath):
    """Write ``model``'s weights (and its optimizer's) as Keras 3's ``.weights.h5``, atomically.

    ``keras_model.load_weights(filepath)`` reads it into the same architecture built with Keras.
    """
    from ..io import atomic_write

    path = _check_suffix("save_weights", filepath, ".weights.h5")
    _h5py("save_weights")
    atomic_write(path, weights_h5(model, _optimizer_arrays(model)))


def load_weights(model, filepath):
    """Copy the weights of a ``.weights.h5`` file or a ``.keras`` archive into ``model``'s layers, in place.

    The file's layers are matched to ``model``'s by class and position, as Keras matches them.
    """
    path = _check_suffix("load_weights", filepath, ".weights.h5", ".keras")
    _h5py("load_weights")
    if path.endswith(".keras"):
        data = _unzip(path, "load_weights")["model.weights.h5"]
    else:
        with open(path, "rb") as file:
            data = file.read()
    load_weights_h5(model, data, "load_weights")
