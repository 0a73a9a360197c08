"""OnnxGraph: an ONNX graph as a cnnlab Module, one layer per node where cnnlab has the layer.

The graph arrives as a JSON-able description (see :func:`cnnlab.onnx.importer.describe_graph`)
whose float initializers are listed by name and shape only, so ``cnnlab.save`` can
write it as the model's architecture and ``cnnlab.load`` rebuild it without the
``onnx`` package; the weights travel in the state_dict. Nodes cnnlab has a layer
for (Conv, Gemm, BatchNormalization, the pools, the activations, ...) become
submodules named after their weights (``features.0.weight`` -> ``features.0``)
or their node, so summaries, forward hooks and optimizers see real layers;
the rest (Add, Concat, Reshape, the shape arithmetic around a flatten, ...)
are functions of the values, evaluated on the concrete shapes at run time.
"""
import re

import numpy as np

from ..backend import default_float
from ..nn import Module, Parameter
from ..tensor import Tensor
from . import _ops

_PART = re.compile(r"^[A-Za-z0-9_]+$")
_TORCHSCRIPT_NODE = re.compile(r"^/(?:.*/)?([A-Za-z0-9_.]+)/[A-Za-z]+(?:_\d+)?$")  # '/features/features.0/Conv'


class OnnxScope(Module):
    """A namespace of imported layers, as a torch parent module (``features`` in ``features.0``); no forward."""

    def forward(self, *args):
        raise NotImplementedError("OnnxScope: it only names the layers inside it; call the OnnxGraph")


class OnnxGraph(Module):
    """An imported ONNX graph: its layers as submodules, its other nodes as functions, run in graph order.

    Args:
        graph: the JSON-able description of the graph (nodes, inputs, outputs, initializer
            shapes, constants) that :mod:`cnnlab.onnx.importer` makes from a ``.onnx`` file.

    ``forward(*inputs)`` takes the graph's inputs in order and returns its output (a tuple
    for several). Float initializers are Parameters (BatchNorm's running statistics are
    buffers), so the model trains and saves as any cnnlab model.

    >>> model = cnnlab.load("model.onnx")
    >>> [name for name, _ in model.named_children()]
    ['features', 'classifier']
    """

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.input_names = [value["name"] for value in graph["inputs"]]
        self.output_names = [value["name"] for value in graph["outputs"]]
        self._constants = {name: _ops.constant_array(value) for name, value in graph["constants"].items()}
        self._bindings = []     # (tensor, initializer name, transposed): how initializer arrays fill the weights
        self._weights = {}      # initializer name -> the Parameter it became, or a callable giving its value
        self._bound = set()     # initializer names some layer or Parameter holds
        self._steps = self._build(graph)

    # ------------------------------------------------------------ building
    def _build(self, graph):
        nodes, steps, absorbed = graph["nodes"], [], set()
        context = _ops.Context(graph, self._constants)
        for index, node in enumerate(nodes):
            if index in absorbed:
                continue
            layer = _ops.build_layer(node, context, index)
            if layer is None:
                steps.append((node, None, node["inputs"], node["outputs"]))
                continue
            self._add_layer(layer, node)
            absorbed.update(layer.absorbed)
            inputs = [node["inputs"][i] for i in layer.inputs]
            steps.append((node, layer.module, inputs, layer.outputs or node["outputs"]))
        for name in graph["weights"]:
            if name not in self._bound and _uses(nodes, name, absorbed):
                self._add_free_weight(name, graph["weights"][name])
        return steps

    def _add_layer(self, layer, node):
        path = _layer_path(layer, node, self)
        _place(self, path, layer.module)
        for attribute, name, transposed in layer.bindings:
            self._bound.add(name)
            kind = "buffer" if attribute in _ops.BUFFERS else "parameter"
            existing = self._weights.get(name)
            if kind == "parameter" and isinstance(existing, Parameter) and not transposed:
                setattr(layer.module, attribute, existing)   # one initializer, one shared Parameter
                continue
            tensor = getattr(layer.module, attribute)
            self._bindings.append((tensor, name, transposed))
            if kind == "parameter" and name not in self._weights:
                self._weights[name] = tensor if not transposed else (lambda t=tensor: t.T)

    def _add_free_weight(self, name, shape):
        """An initializer a function (not a layer) reads, placed at its name's path.

        A name like a state_dict key (``blocks.0.scale``) is a Parameter; an exporter's
        name for a constant it made (``val_4``, ``onnx::Mul_12``) a buffer, saved but not trained.
        """
        trainable = "." in name and _valid_path(name)
        array = np.zeros(shape, dtype=default_float)
        tensor = Parameter(array) if trainable else Tensor(array)
        if not trainable or not _place(self, name, tensor, strict=True):
            _place(self, _sanitise(name), tensor)
        self._weights[name] = tensor
        self._bindings.append((tensor, name, False))

    def load_initializers(self, arrays):
        """Copy the graph's initializer arrays (name -> NumPy array) into the Parameters and buffers they became."""
        for tensor, name, transposed in self._bindings:
            value = np.asarray(arrays[name], dtype=tensor.array.dtype)
            value = value.T if transposed else value
            tensor.array[...] = value.reshape(tensor.array.shape)

    # ------------------------------------------------------------- running
    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"OnnxGraph: the graph takes {len(self.input_names)} input(s) "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        values, opset = dict(self._constants), self.graph["opset"]
        values.update((name, value() if callable(value) else value) for name, value in self._weights.items())
        values.update((name, x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=default_float)))
                      for name, x in zip(self.input_names, inputs))
        for node, module, names, outputs in self._steps:
            arguments = [values[name] if name else None for name in names]
            result = module(*arguments) if module is not None else _ops.run_function(node, arguments, opset)
            results = result if isinstance(result, tuple) else (result,)
            values.update((name, value) for name, value in zip(outputs, results) if name)
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self):
        return f"inputs={self.input_names}, outputs={self.output_names}, nodes={len(self.graph['nodes'])}"


def _uses(nodes, name, absorbed):
    return any(name in node["inputs"] for index, node in enumerate(nodes) if index not in absorbed)


# ---------------------------------------------------------------- naming
def _layer_path(layer, node, root):
    """Where a layer lives: its weight's prefix (``features.0.weight``), the torch module it came from, or the node."""
    for _, name, _ in layer.bindings:
        prefix, _, attribute = name.rpartition(".")
        if prefix and _valid_path(prefix) and attribute:
            return prefix
    if node.get("scope") and _valid_path(node["scope"]):   # the torch module, as torch's dynamo exporter records it
        return node["scope"]
    match = _TORCHSCRIPT_NODE.match(node["name"] or "")
    if match and _valid_path(match.group(1)):
        return match.group(1)
    return _sanitise(node["name"] or node["op"].lower())


def _valid_path(path):
    return all(_PART.match(part) for part in path.split("."))


def _sanitise(name):
    """A module attribute name from any string: runs of other characters become '_'."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    return text or "node"


def _place(root, path, value, strict=False):
    """Register ``value`` (a Module or Parameter) at dotted ``path`` under ``root``, creating scopes.

    A taken name gets a suffix (``conv_1``); with ``strict``, returns False instead of renaming.
    """
    *scopes, leaf = path.split(".")
    owner = root
    for part in scopes:
        child = owner._modules.get(part)
        if child is None and _free(owner, part):
            child = OnnxScope()
            owner.add_module(part, child)
        elif not isinstance(child, OnnxScope):
            return False if strict else _place(root, _sanitise(path), value)
        owner = child
    if not _free(owner, leaf):
        if strict:
            return False
        leaf = next(f"{leaf}_{i}" for i in range(1, 10 ** 6) if _free(owner, f"{leaf}_{i}"))
    if isinstance(value, Module):
        owner.add_module(leaf, value)
    elif isinstance(value, Parameter):
        owner.register_parameter(leaf, value)
    else:
        owner.register_buffer(leaf, value)
    return True


def _free(owner, name):
    return not hasattr(owner, name)
