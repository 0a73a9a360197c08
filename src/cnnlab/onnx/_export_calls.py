"""The dataflow of a model, traced: every module call as a tree, and the walk that turns it into ONNX nodes.

A forward pass with a pre- and a post-hook on every module records each call with
the Tensors it received and returned. Tensor identity then says which layer fed
which: inside a module with no exporter of its own (a Sequential, a model class
whose ``forward`` chains its layers), each child's input must be the module's
input or an earlier child's output. A tensor made in ``forward`` by code outside
any layer (``x + 1``, ``F.relu(x)``) is refused; a reshaped view of a known
tensor (``x.view(x.size(0), -1)``, ``x.flatten(1)``) that keeps the batch axis
becomes a Flatten or Reshape.
"""
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_numpy
from ..tensor import Tensor, no_grad

#: Module class -> ``exporter(graph, call, x) -> output value name``; filled by :func:`exports`.
EXPORTERS = {}


def exports(*classes):
    """Register the decorated function as the exporter of ``classes``."""
    def register(function):
        for cls in classes:
            EXPORTERS[cls] = function
        return function
    return register


@dataclass
class Call:
    """One call of a module: its qualified ``name``, a unique ``node`` name, what it got and gave, its sub-calls."""

    name: str
    module: object
    inputs: tuple
    output: object = None
    calls: list = field(default_factory=list)
    node: str = ""
    values: dict = None   # id(tensor) -> a copy of its array when it was made, shared by the whole trace

    @property
    def input(self):
        return self.inputs[0]

    def where(self):
        """``'features.3 (Conv2d)'``, as errors name a layer."""
        kind = type(self.module).__name__
        return f"'{self.name} ({kind})'" if self.name else f"the model ({kind})"

    def key(self, parameter):
        """The state_dict key of this module's ``parameter``: ``features.0.weight``."""
        return f"{self.name}.{parameter}" if self.name else parameter


def trace_calls(model, x):
    """Run ``model`` on ``x`` (eval mode, no gradients) and return the root :class:`Call` of the call tree."""
    names = {id(module): name for name, module in model.named_modules()}
    values = {id(x): to_numpy(x.array).copy()}
    top = Call("", None, ())
    stack, handles = [top], []

    def enter(module, inputs):
        call = Call(names.get(id(module), "?"), module, tuple(inputs), values=values)
        stack[-1].calls.append(call)
        stack.append(call)

    def leave(module, inputs, output):
        stack.pop().output = output
        if isinstance(output, Tensor):
            values.setdefault(id(output), to_numpy(output.array).copy())

    for _, module in model.named_modules():
        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    except (ValueError, TypeError) as error:
        raise ValueError(f"export: the model's forward pass fails on a batch of {x.shape[0]} samples of shape "
                         f"{tuple(x.shape[1:])} (export traces a batch of {x.shape[0]}: the batch axis is "
                         f"dynamic): {error}") from error
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return top.calls[0]


def exporter_for(module):
    """The registered exporter of ``module``'s class or of the nearest base whose ``forward`` it keeps; or None."""
    for cls in type(module).__mro__:
        if cls in EXPORTERS:
            return EXPORTERS[cls] if type(module).forward is cls.forward else None
    return None


def export_call(graph, call, x):
    """Add the nodes of ``call`` (input value ``x``) to ``graph``; returns its output value's name."""
    call.node = graph.fresh(call.name or type(call.module).__name__)
    if len(call.inputs) != 1 or not isinstance(call.input, Tensor):
        raise ValueError(f"{call.where()} takes {len(call.inputs)} inputs; export supports layers of one tensor")
    exporter = exporter_for(call.module)
    if exporter is None and not call.calls:
        raise ValueError(f"{call.where()} has no ONNX counterpart; export supports the cnnlab.nn layers that have "
                         f"one and models whose forward() composes them")
    if exporter is None:
        return _compose(graph, call, x)
    if not isinstance(call.output, Tensor):
        raise ValueError(f"{call.where()} returns a {type(call.output).__name__}; export supports layers that "
                         f"return one tensor")
    return exporter(graph, call, x)


def _compose(graph, call, x):
    """The sub-calls of a module with no exporter of its own, wired by tensor identity."""
    known = {id(call.input): (call.input, x)}
    for child in call.calls:
        source = _value(graph, known, child.input, child, call, "receives")
        known[id(child.output)] = (child.output, export_call(graph, child, source))
    return _value(graph, known, call.output, call, call, "returns")


def _value(graph, known, tensor, user, owner, verb):
    """The value holding ``tensor``: a known one, or a Flatten/Reshape of the known tensor it is a view of."""
    if not isinstance(tensor, Tensor):
        raise ValueError(f"{user.where()} {verb} a {type(tensor).__name__}; export supports layers that take and "
                         f"return one tensor")
    if id(tensor) in known:
        made = owner.values.get(id(tensor))   # the values it had when it was made
        if made is not None and not np.array_equal(to_numpy(tensor.array), made, equal_nan=True):
            raise ValueError(f"{user.where()} {verb} a tensor changed in place outside any layer (in "
                             f"{type(owner.module).__name__}.forward); export supports models whose forward() "
                             f"only composes layers")
        return known[id(tensor)][1]
    for source, value in reversed(list(known.values())):
        if _is_reshape(tensor, source):
            return _reshape(graph, value, tensor, f"{user.node}/view" if verb == "receives" else f"{owner.node}/view")
    raise ValueError(f"{user.where()} {verb} a tensor computed outside any layer (in "
                     f"{type(owner.module).__name__}.forward); export supports models whose forward() only "
                     f"composes layers")


def _is_reshape(tensor, source):
    """True when ``tensor`` is ``source.reshape(N, ...)``: the same C-ordered memory in another shape, same batch."""
    a, b = to_numpy(tensor.array), to_numpy(source.array)
    return (a.ndim >= 1 and b.ndim >= 1 and a.shape != b.shape and a.shape[0] == b.shape[0] and a.size == b.size
            and a.dtype == b.dtype
            and a.flags.c_contiguous and b.flags.c_contiguous
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _reshape(graph, value, tensor, name):
    """``value`` reshaped to ``tensor``'s shape with the batch axis kept dynamic (Flatten for 2-D)."""
    if tensor.ndim == 2:
        return graph.add("Flatten", [value], name, axis=1)
    shape = graph.constant(f"{name}/shape", [0, *tensor.shape[1:]])
    return graph.add("Reshape", [value, shape], name)


def sample_input(input_shape, batch=2):
    """A float32 batch of ``batch`` samples of ``input_shape`` to trace with.

    Two samples, not one: a reshape that hard-codes the batch size (``x.view(1, -1)``)
    then shows up as one that mixes the batch axis, and is refused.
    """
    values = np.random.default_rng(0).standard_normal((batch, *input_shape))
    return Tensor(values.astype(np.float32))
