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
from collections import OrderedDict

import numpy as np

FORMAT = "cnnlab/1"
_OPTIMIZER = "@optimizer/"
_POSITION = "@position/"


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
    data = save(tensors, metadata={k: json.dumps(v) for k, v in metadata.items()})
    atomic_write(path, _metadata_in_key_order(data))


def _metadata_in_key_order(data):
    """safetensors file bytes with the header's ``__metadata__`` keys sorted, so equal models give equal bytes.

    safetensors writes the metadata map in hash order, which changes from one
    process to the next; the tensors' entries and the data stay as it wrote them.
    The header is padded with spaces to a multiple of 8 bytes, as safetensors pads it.
    """
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    if "__metadata__" in header:
        header = {"__metadata__": dict(sorted(header.pop("__metadata__").items())), **header}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + size:]


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
    """The classes :func:`build` may instantiate: cnnlab's layers and zoo models, and imported ONNX graphs."""
    from . import models, nn
    from .onnx._graph import OnnxGraph

    classes = {n: c for n, c in vars(nn).items() if isinstance(c, type) and issubclass(c, nn.Module)}
    classes.update(getattr(models, "MODEL_CLASSES", {}))
    classes["OnnxGraph"] = OnnxGraph
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
def save(obj, path, info=None, architecture=True):
    """Write a model, a state_dict, a Tensor, or a dict, list or tuple of Tensors to ``path``, as ``torch.save``.

    The file is always safetensors with JSON metadata, never a pickle, whatever
    the name: a ``.pt`` or ``.pth`` path written here holds safetensors too, which
    :func:`load` reads back (PyTorch's ``torch.load`` does not).

    Args:
        obj: a :class:`cnnlab.nn.Module` (its weights and architecture), or a
            Tensor, or a dict of name -> Tensor (a ``state_dict``), or a list or
            tuple of Tensors (NumPy arrays are accepted where Tensors are).
        path: the file to write, atomically.
        info: optional JSON-able dict kept with the file (class names, input
            shape, how inputs were normalised); read back with :func:`read_info`.
        architecture: for a model, also describe the architecture, so that
            ``load(path)`` rebuilds it; a TypeError names any constructor argument
            JSON cannot describe. False writes the weights only, for ``load(path, model=...)``.

    >>> cnnlab.save(model, "model.safetensors", info={"input_shape": [1, 28, 28]})
    >>> cnnlab.save(net.state_dict(), "net.pth")      # net.load_state_dict(cnnlab.load("net.pth"))
    """
    from .nn import Module

    if not isinstance(obj, Module):
        tensors, content = _stored_tensors(obj)
        _write(path, tensors, {"format": FORMAT, "content": content, "info": info or {}})
        return
    description = _describe_for_save(obj) if architecture else None
    metadata = {"format": FORMAT, "architecture": description, "info": info or {}}
    _write(path, {k: v.array for k, v in obj.state_dict().items()}, metadata)


def _stored_tensors(obj):
    """``(arrays by name, content description)`` for a Tensor or a dict, list or tuple of them."""
    from .tensor import Tensor

    def array(value, where):
        if isinstance(value, (Tensor, np.ndarray)):
            return np.asarray(value.array if isinstance(value, Tensor) else value)
        raise TypeError(f"save: {where} must be a Tensor, got {type(value).__name__}")

    if isinstance(obj, (Tensor, np.ndarray)):
        return {"tensor": array(obj, "obj")}, {"kind": "tensor"}
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"save: the keys of a dict of tensors must be strings, got {key!r}")
        return ({k: array(v, f"the value of {k!r}") for k, v in obj.items()},
                {"kind": type(obj).__name__ if type(obj) is OrderedDict else "dict", "keys": list(obj)})
    if isinstance(obj, (list, tuple)):
        return ({str(i): array(v, f"item {i}") for i, v in enumerate(obj)},
                {"kind": "tuple" if isinstance(obj, tuple) else "list", "length": len(obj)})
    raise TypeError(f"save: obj must be a Module, a Tensor, or a dict, list or tuple of Tensors, "
                    f"got {type(obj).__name__}")


def _stored_object(tensors, content):
    """The Tensor, dict, list or tuple :func:`_stored_tensors` described."""
    from .tensor import Tensor

    kind = content.get("kind")
    if kind == "tensor":
        return Tensor(tensors["tensor"])
    if kind in ("dict", "OrderedDict"):
        return (OrderedDict if kind == "OrderedDict" else dict)((k, Tensor(tensors[k])) for k in content["keys"])
    items = [Tensor(tensors[str(i)]) for i in range(content["length"])]
    return tuple(items) if kind == "tuple" else items


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
    """What ``path`` holds: a model, a state_dict, a Tensor, or a dict, list or tuple of Tensors, as ``torch.load``.

    - a model file (from ``save(model, ...)``) or checkpoint: the model, rebuilt
      from its architecture, or ``model`` with the weights loaded;
    - a file from ``save(state_dict_or_tensors, ...)``: the same kind of object,
      a state_dict as an ordered dict name -> Tensor (so
      ``net.load_state_dict(cnnlab.load(path))`` works);
    - a ``.pt``/``.pth`` file written by PyTorch's ``torch.save`` (zip format):
      its state_dict or tensors, read by :func:`cnnlab.torch_files.read_torch_file`,
      which refuses any pickled global other than tensors and plain containers;
    - a ``.onnx`` file (by its name or its first bytes): a trainable model built
      from the graph, in eval mode, by :func:`cnnlab.onnx.importer.load` (needs the
      ``onnx`` package); given ``model``, the graph's weights loaded into it by name;
    - given ``model``, any of these holding its state_dict, including a safetensors
      file saved by PyTorch: ``model`` with the weights loaded.

    Refuses anything else with a message naming the file. Loading never runs code from the file.
    """
    from .onnx.importer import is_onnx_file
    from .torch_files import read_torch_file, torch_format

    if torch_format(path) is not None:
        return _into(model, read_torch_file(path), path, strict)
    if is_onnx_file(path):
        from .onnx.importer import load as load_onnx

        imported = load_onnx(path)
        return imported if model is None else _into(model, imported.state_dict(), path, strict)
    tensors, metadata = read_file(path)
    if metadata.get("format") == FORMAT and "content" in metadata:
        return _into(model, _stored_object(tensors, metadata["content"]), path, strict)
    if model is None and metadata.get("format") != FORMAT:
        raise ValueError(f"load: {path} is a safetensors file but not a cnnlab model (no cnnlab metadata); "
                         f"pass model= to load its weights into an instance")
    if model is None:
        if metadata.get("architecture") is None:
            raise ValueError(f"load: {path} holds weights only (saved with architecture=False, or a checkpoint "
                             f"of a model JSON cannot describe); pass model= to load them into an instance")
        model = build(metadata["architecture"])
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith((_OPTIMIZER, _POSITION))},
                          strict=strict)
    return model


def _into(model, stored, path, strict):
    """``stored`` itself, or ``model`` with ``stored`` (a state_dict) loaded into it."""
    if model is None:
        return stored
    if not isinstance(stored, dict):
        raise ValueError(f"load: {path} holds a {type(stored).__name__}, not a state_dict, so it cannot be loaded "
                         f"into model=; call load(path) without model=")
    model.load_state_dict(stored, strict=strict)
    return model


def read_info(path):
    """The ``info`` dict saved with a model file; for a ``.onnx`` file, what its graph says (input shape, classes)."""
    from .onnx.importer import is_onnx_file, read_info as read_onnx_info

    if is_onnx_file(path):
        return read_onnx_info(path)
    return read_file(path)[1].get("info", {})


def save_checkpoint(path, model, optimizer=None, *, epoch, callbacks=(), info=None, position=None):
    """Write weights, optimizer state, the epoch just finished and callback states to ``path``, atomically.

    The architecture is described when it can be; otherwise the checkpoint holds
    the weights only (as ``save(..., architecture=False)``): a checkpoint is
    resumed into an existing model by :func:`load_checkpoint`, so training never
    stops over it. ``position``, a JSON-able dict whose NumPy arrays are stored as
    tensors under ``@position/``, is where a run stopped within epoch ``epoch + 1``
    (written by :class:`cnnlab.training.Trainer` when it is interrupted).
    """
    tensors = {k: v.array for k, v in model.state_dict().items()}
    checkpoint = {"epoch": epoch, "callbacks": [[type(c).__name__, c.state_dict()] for c in callbacks]}
    if position is not None:
        checkpoint["position"] = _pack_arrays(position, _POSITION, tensors)
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
    """Restore a checkpoint into ``model`` (and ``optimizer``, ``callbacks``).

    Returns ``{'epoch': ...}``, with ``'position'`` too when the run stopped within an epoch.
    """
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
    if "position" in checkpoint:
        return {"epoch": checkpoint["epoch"], "position": _unpack_arrays(checkpoint["position"], tensors)}
    return {"epoch": checkpoint["epoch"]}


def _pack_arrays(value, prefix, tensors):
    """``value`` with each NumPy array moved into ``tensors`` and replaced by ``{'array': its name}``."""
    if isinstance(value, np.ndarray):
        tensors[prefix.rstrip("/")] = value
        return {"array": prefix.rstrip("/")}
    if isinstance(value, dict):
        return {k: _pack_arrays(v, f"{prefix}{k}/", tensors) for k, v in value.items()}
    return value


def _unpack_arrays(value, tensors):
    """:func:`_pack_arrays` undone."""
    if isinstance(value, dict):
        if set(value) == {"array"}:
            return tensors[value["array"]]
        return {k: _unpack_arrays(v, tensors) for k, v in value.items()}
    return value
