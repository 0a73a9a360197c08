"""Model files and checkpoints: safetensors weights with the architecture as JSON, never pickle.

A model file is a plain ``.safetensors`` file whose tensor names are the model's
PyTorch-style ``state_dict`` keys, so the same file loads into the twin torch
model (``model.load_state_dict(safetensors.torch.load_file(path))``). Its
metadata holds a JSON description of the architecture (each module's class name
and constructor arguments), from which :func:`load` rebuilds the model, looking
classes up only among cnnlab's own modules and zoo models: loading a file never
imports or runs code named in it.

A checkpoint is the same kind of file with the optimizer's arrays under
``@optimizer/...`` and the epoch, optimizer settings and callback states as
JSON metadata. Every file is written atomically (temporary file, fsync,
rename), so a kill at any instant leaves the previous file whole.
"""
import json
import os
import tempfile

import numpy as np

FORMAT = "cnnlab/1"
_OPTIMIZER = "@optimizer/"


# ------------------------------------------------------------------ files
def atomic_write(path, data):
    """Write ``data`` (bytes) to ``path`` so that readers see the old file or the new one, never a mix."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path, tensors, metadata):
    from safetensors.numpy import save

    tensors = {k: np.require(v, requirements="C") for k, v in tensors.items()}  # keeps 0-d arrays 0-d
    atomic_write(path, save(tensors, metadata={k: json.dumps(v) for k, v in metadata.items()}))


def read_file(path):
    """``(tensors, metadata)`` of a safetensors file; metadata values decoded from JSON."""
    from safetensors.numpy import load

    path = os.fspath(path)
    with open(path, "rb") as file:
        data = file.read()
    try:
        header_size = int.from_bytes(data[:8], "little")
        if len(data) < 8 or header_size > len(data) - 8:
            raise ValueError("truncated header")
        header = json.loads(data[8:8 + header_size])
        tensors = load(data)
        metadata = {k: json.loads(v) for k, v in (header.get("__metadata__") or {}).items()}
    except Exception as error:  # safetensors' own errors, JSON errors, short files
        raise ValueError(f"{path} is not a readable cnnlab/safetensors file ({error})") from None
    return tensors, metadata


# ------------------------------------------------------------ architecture
def _encode(value, where):
    from .nn import Module

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Module):
        return {"module": describe(value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": [[k, _encode(v, where)] for k, v in value.items()]}
    raise TypeError(f"{where} holds a value of type {type(value).__name__}, which JSON cannot describe")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "module" in value:
            return build(value["module"])
        if "tuple" in value:
            return tuple(_decode(v) for v in value["tuple"])
        if "dict" in value:
            return {k: _decode(v) for k, v in value["dict"]}
    return value


def describe(module):
    """A JSON-able description of ``module``: its class name and constructor arguments."""
    from .nn import ModuleList, Sequential

    name = type(module).__name__
    if isinstance(module, (Sequential, ModuleList)):  # children may have been appended after construction
        return {"class": name, "children": [[key, describe(child)] for key, child in module.named_children()]}
    args, kwargs = getattr(module, "_init_args", ((), {}))
    names = _parameter_names(type(module))
    return {"class": name,
            "args": [_encode(v, f"{name}'s constructor argument {names[i] if i < len(names) else i}")
                     for i, v in enumerate(args)],
            "kwargs": {k: _encode(v, f"{name}'s constructor argument {k}") for k, v in kwargs.items()}}


def _parameter_names(cls):
    """The names of ``cls``'s positional constructor parameters, for messages; empty when unknown."""
    import inspect

    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def buildable_classes():
    """The classes :func:`build` may instantiate: cnnlab's layers and zoo models, nothing else."""
    from . import models, nn

    classes = {n: c for n, c in vars(nn).items() if isinstance(c, type) and issubclass(c, nn.Module)}
    classes.update(getattr(models, "MODEL_CLASSES", {}))
    return classes


def build(description):
    """Rebuild a module from :func:`describe`'s output."""
    from collections import OrderedDict

    classes = buildable_classes()
    name = description.get("class")
    if name not in classes:
        raise ValueError(f"load: the file describes a model of class {name!r}, which is not one of cnnlab's "
                         f"layers or zoo models; rebuild it in code and call load(path, model=your_model)")
    cls = classes[name]
    if "children" in description:
        return cls(OrderedDict((key, build(child)) for key, child in description["children"]))
    return cls(*[_decode(v) for v in description.get("args", [])],
               **{k: _decode(v) for k, v in description.get("kwargs", {}).items()})


# ------------------------------------------------------------------ public
def save(model, path, info=None, architecture=True):
    """Write ``model``'s weights and architecture to ``path`` (a ``.safetensors`` file).

    Args:
        model: a :class:`cnnlab.nn.Module`.
        path: the file to write, atomically.
        info: optional JSON-able dict kept with the model (class names, input
            shape, how inputs were normalised); read back with :func:`read_info`.
        architecture: also describe the architecture, so that ``load(path)``
            rebuilds the model; a TypeError names any constructor argument JSON
            cannot describe. False writes the weights only, for ``load(path, model=...)``.

    >>> cnnlab.save(model, "model.safetensors", info={"input_shape": [1, 28, 28]})
    """
    description = _describe_for_save(model) if architecture else None
    metadata = {"format": FORMAT, "architecture": description, "info": info or {}}
    _write(path, {k: v.data for k, v in model.state_dict().items()}, metadata)


def _describe_for_save(model):
    try:
        return describe(model)
    except TypeError as error:
        raise TypeError(f"save: {error}, so load(path) could not rebuild the model; make the argument "
                        f"JSON-describable (None, a bool, number or string, a cnnlab module, or a list, tuple or "
                        f"dict of these), or pass architecture=False to save the weights only and load them with "
                        f"load(path, model=...)") from None


def _try_describe(model):
    try:
        return describe(model)
    except TypeError:
        return None


def load(path, model=None, strict=True):
    """The model saved at ``path``: rebuilt from its architecture, or ``model`` with the weights loaded.

    Works on model files and checkpoints, and, given ``model``, on any safetensors
    file of its state_dict (one saved by PyTorch, say). Refuses anything else with
    a message naming the file. Loading never runs code from the file.
    """
    tensors, metadata = read_file(path)
    if model is None and metadata.get("format") != FORMAT:
        raise ValueError(f"load: {path} is a safetensors file but not a cnnlab model (no cnnlab metadata); "
                         f"pass model= to load its weights into an instance")
    if model is None:
        if metadata.get("architecture") is None:
            raise ValueError(f"load: {path} holds weights only (saved with architecture=False, or a checkpoint "
                             f"of a model JSON cannot describe); pass model= to load them into an instance")
        model = build(metadata["architecture"])
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(_OPTIMIZER)}, strict=strict)
    return model


def read_info(path):
    """The ``info`` dict saved with a model file."""
    return read_file(path)[1].get("info", {})


def save_checkpoint(path, model, optimizer=None, *, epoch, callbacks=(), info=None):
    """Write weights, optimizer state, the epoch just finished and callback states to ``path``, atomically.

    The architecture is described when it can be; otherwise the checkpoint holds
    the weights only (as ``save(..., architecture=False)``): a checkpoint is
    resumed into an existing model by :func:`load_checkpoint`, so training never
    stops over it.
    """
    tensors = {k: v.data for k, v in model.state_dict().items()}
    checkpoint = {"epoch": epoch, "callbacks": [[type(c).__name__, c.state_dict()] for c in callbacks]}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for name, value in entries.items():
                if isinstance(value, np.ndarray):
                    tensors[f"{_OPTIMIZER}{index}/{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = _encode(value, f"save_checkpoint: optimizer {name}")
        checkpoint["optimizer"] = {"class": type(optimizer).__name__, "scalars": scalars,
                                   "param_groups": _encode(state["param_groups"], "save_checkpoint: param_groups")}
    metadata = {"format": FORMAT, "architecture": _try_describe(model), "info": info or {}, "checkpoint": checkpoint}
    _write(path, tensors, metadata)


def load_checkpoint(path, model, optimizer=None, callbacks=()):
    """Restore a checkpoint into ``model`` (and ``optimizer``, ``callbacks``); returns ``{'epoch': ...}``."""
    tensors, metadata = read_file(path)
    checkpoint = metadata.get("checkpoint")
    if checkpoint is None:
        raise ValueError(f"load_checkpoint: {path} is a model file, not a checkpoint (no training state)")
    load(path, model)
    if optimizer is not None:
        saved = checkpoint.get("optimizer")
        if saved is None:
            raise ValueError(f"load_checkpoint: {path} holds no optimizer state")
        if saved["class"] != type(optimizer).__name__:
            raise ValueError(f"load_checkpoint: {path} holds {saved['class']} state, "
                             f"but the optimizer is {type(optimizer).__name__}")
        state = {}
        for key, value in tensors.items():
            if key.startswith(_OPTIMIZER):
                index, name = key[len(_OPTIMIZER):].split("/", 1)
                state.setdefault(int(index), {})[name] = value
        for index, entries in saved["scalars"].items():
            state.setdefault(int(index), {}).update({k: _decode(v) for k, v in entries.items()})
        optimizer.load_state_dict({"state": state, "param_groups": _decode(saved["param_groups"])})
    unused = list(checkpoint.get("callbacks", []))
    for callback in callbacks:
        for i, (name, state) in enumerate(unused):
            if name == type(callback).__name__:
                callback.load_state_dict(state)
                del unused[i]
                break
    return {"epoch": checkpoint["epoch"]}
