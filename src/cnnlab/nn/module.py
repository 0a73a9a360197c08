"""Module and Parameter: the containers that hold a network's weights, as in PyTorch.

A :class:`Module` registers :class:`Parameter` objects, buffers (saved state
that is not trained, such as BatchNorm's running mean) and submodules when they
are assigned as attributes, in assignment order. From that registry come
``parameters()``, ``state_dict()`` with PyTorch's key names ("features.0.weight",
"bn.running_mean"), ``train()``/``eval()``, ``zero_grad()`` and the forward hooks
that ``summary`` uses.

>>> class Net(Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = Linear(4, 2)
...     def forward(self, x):
...         return self.fc(x)
>>> list(Net().state_dict())
['fc.weight', 'fc.bias']
"""
import itertools
from collections import OrderedDict, namedtuple

import numpy

from ..backend import default_float, get_array_module
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable; ``requires_grad`` is True by default.

    Args:
        data: array-like; Python numbers and lists become float32; NumPy float32 and
            float64 arrays (and Tensors' arrays) keep their dtype and are shared, not copied.
        requires_grad: whether optimizers should train it.

    >>> w = Parameter(numpy.zeros((3, 2), dtype=numpy.float32))
    >>> w.requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:   # new parameters are created with NumPy on the host
            data = numpy.zeros(0, dtype=default_float)
        elif not isinstance(data, Tensor) and not hasattr(data, "__array_namespace__"):   # arrays are shared
            data = numpy.asarray(data, dtype=default_float)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(self._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model: subclass it, assign layers in ``__init__``, write ``forward``.

    Attributes assigned a :class:`Parameter` become parameters, a :class:`Module`
    a submodule; ``register_buffer`` adds saved, untrained state. Calling the
    module runs the forward pre-hooks, ``forward`` and the forward hooks.
    """

    def __new__(cls, *args, **kwargs):
        # The constructor arguments describe the architecture: cnnlab.save writes them as JSON
        # so cnnlab.load can rebuild the model without the user's code.
        module = super().__new__(cls)
        object.__setattr__(module, "_init_args", (args, kwargs))
        return module

    def __init__(self):
        for name, value in (("training", True), ("_parameters", OrderedDict()), ("_buffers", OrderedDict()),
                            ("_non_persistent_buffers", set()), ("_modules", OrderedDict()),
                            ("_forward_hooks", OrderedDict()), ("_forward_pre_hooks", OrderedDict())):
            object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: forward() is not implemented")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ----------------------------------------------------------- registration
    def __setattr__(self, name, value):
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_buffers"), self.__dict__.get("_modules")
        if registries[0] is None and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"{type(self).__name__}: cannot assign {name!r} before Module.__init__() call")
        params, buffers, modules = registries
        if isinstance(value, Parameter):
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as parameter "
                                f"{name!r} (Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as child module "
                                f"{name!r} (Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as buffer "
                                f"{name!r} (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_new_name(self, kind, name):
        if not isinstance(name, str):
            raise TypeError(f"{kind}: name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind}: name must be non-empty and contain no '.', got {name!r}")
        known = name in self._parameters or name in self._buffers or name in self._modules
        if hasattr(self, name) and not known:
            raise KeyError(f"{kind}: attribute {name!r} already exists")

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an absent one such as a disabled bias) as ``name``."""
        self._check_new_name("register_parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add ``tensor`` as saved, untrained state ``name``; non-persistent buffers stay out of ``state_dict``.

        >>> self.register_buffer("running_mean", cnnlab.zeros(16))
        """
        self._check_new_name("register_buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add ``module`` (or None) as the submodule ``name``."""
        self._check_new_name("add_module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # -------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(qualified name, module)`` for this module (name '') and every descendant, each once."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        owners = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, value in getattr(owner, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(qualified name, Parameter)`` pairs, e.g. ``('features.0.weight', w)``; shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, trainable_only=False):
        """The number of scalars in the parameters (each shared parameter counted once)."""
        return sum(p.array.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ state
    def train(self, mode=True):
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got mode={mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Set evaluation mode; the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the parameters' gradients (to None, or to zeros with ``set_to_none=False``)."""
        for param in self.parameters():
            keep = not set_to_none and param.grad is not None
            param.grad = get_array_module(param.array).zeros_like(param.array) if keep else None

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self; returns self.

        >>> model.apply(lambda m: init.zeros_(m.bias) if isinstance(m, Linear) else None)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None):
        """Cast floating-point parameters and buffers to ``dtype`` in place; ``'cpu'`` is accepted and ignored.

        >>> model.to(numpy.float64)
        """
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] == "cpu":
                continue
            if dtype is not None:
                raise TypeError(f"to: expected at most one dtype, got {args!r} and dtype={dtype!r}")
            dtype = arg
        if dtype is None:
            return self
        dtype = numpy.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to: dtype must be a floating-point type, got dtype={dtype}")
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.array.dtype.kind == "f":
                tensor.array = tensor.array.astype(dtype)
                tensor.grad = None if tensor.grad is None else tensor.grad.array.astype(dtype)
        return self

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; a non-None result replaces the output.

        >>> handle = layer.register_forward_hook(lambda m, inputs, out: print(out.shape))
        >>> handle.remove()
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before every forward; a non-None result replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------ state_dict
    def _state_items(self, keep_vars):
        for owner_name, owner in self.named_modules(remove_duplicate=False):
            prefix = f"{owner_name}." if owner_name else ""
            for name, param in owner._parameters.items():
                if param is not None:
                    yield prefix + name, param if keep_vars else param.detach()
            for name, buffer in owner._buffers.items():
                if buffer is not None and name not in owner._non_persistent_buffers:
                    yield prefix + name, buffer if keep_vars else buffer.detach()

    def state_dict(self, keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer, keyed as PyTorch keys them.

        The values are Tensors detached from the graph that share the module's arrays
        (``keep_vars=True`` gives the Parameters themselves). Layouts are PyTorch's:
        conv weight ``(out, in/groups, *kernel)``, linear weight ``(out, in)``.

        >>> list(Sequential(Conv2d(1, 6, 5), BatchNorm2d(6)).state_dict())
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']
        """
        return OrderedDict(self._state_items(keep_vars))

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` (Tensors or NumPy arrays) into this module's, in place.

        Each value is copied into the existing array, keeping the module's dtype. Any
        shape mismatch raises before anything is copied; with ``strict`` so do missing
        or unexpected keys. Returns ``(missing_keys, unexpected_keys)``.

        >>> model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        targets = OrderedDict(self._state_items(keep_vars=True))
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        sources = {key: _as_array(state_dict[key]) for key in targets if key in state_dict}
        mismatched = [f"{key!r}: checkpoint has shape {tuple(source.shape)}, model has {tuple(targets[key].shape)}"
                      for key, source in sources.items() if tuple(source.shape) != tuple(targets[key].shape)]
        if mismatched:
            raise ValueError(f"load_state_dict: {type(self).__name__}: shape mismatch for " + "; ".join(mismatched))
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: {type(self).__name__} (strict=True): "
                             f"missing keys {missing}, unexpected keys {unexpected}")
        for key, source in sources.items():
            targets[key].array[...] = source
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        """The arguments shown inside ``Name(...)``; layers override it."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        body = lines + children
        return f"{type(self).__name__}(" + ("\n  " + "\n  ".join(body) + "\n" if body else "") + ")"


def _as_array(value):
    return value.array if isinstance(value, Tensor) else numpy.asarray(value)   # checkpoints arrive on the host


def format_arguments(positional=(), **keywords):
    """``extra_repr`` text: the positional values, then ``name=value`` for each keyword not at its default.

    Keywords are given as ``name=(value, default)``; tuples whose entries are all
    equal print as one number, so ``kernel_size=(5, 5)`` reads ``kernel_size=5``.

    >>> format_arguments((1, 6), kernel_size=((5, 5), None), stride=((1, 1), (1, 1)))
    '1, 6, kernel_size=5'
    """
    parts = [repr(compact(value)) for value in positional]
    for name, (value, default) in keywords.items():
        if compact(value) != compact(default):
            parts.append(f"{name}={compact(value)!r}")
    return ", ".join(parts)


def compact(value):
    """A tuple of equal numbers as the number itself; anything else unchanged."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value) and isinstance(value[0], int):
        return value[0]
    return value
