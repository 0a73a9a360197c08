"""The ONNX graph :func:`cnnlab.onnx.export` builds: nodes, weights, unique names and the opset each op needs."""
import numpy as np

from ..backend import to_numpy

#: The lowest opset whose version of each op has the inputs, attributes and semantics the exporter writes
#: (Gemm's optional C: 11; Softmax over one axis: 13; Pad's pads as an input: 11; GridSample's 'linear': 20).
MIN_OPSET = {
    "AffineGrid": 20, "Add": 7, "AveragePool": 10, "BatchNormalization": 9, "Clip": 11, "Constant": 9, "Conv": 1,
    "ConvTranspose": 1, "Div": 7, "Elu": 6, "Flatten": 9, "Gelu": 20, "Gemm": 11, "GlobalAveragePool": 1,
    "GlobalMaxPool": 1, "Greater": 9, "GridSample": 20, "Identity": 1, "InstanceNormalization": 6,
    "LayerNormalization": 17, "LeakyRelu": 6, "LogSoftmax": 13, "MatMul": 9, "MaxPool": 10, "Mul": 7, "Pad": 11,
    "Relu": 6, "Reshape": 5, "Shape": 1, "Sigmoid": 6, "Softmax": 13, "Softplus": 1, "Tanh": 6, "Transpose": 1,
    "Where": 9,
}


class Graph:
    """Nodes in topological order, initialisers keyed by state_dict names, and the opset the graph needs.

    Node and value names come from the layers' qualified names (``features.0``); a node's
    output value has the node's name. ``needs`` maps each op to ``(opset, node name)``.
    """

    def __init__(self, onnx, reserved=()):
        self.onnx = onnx
        self.nodes, self.initializers, self.needs = [], {}, {}
        self._used = set(reserved)

    def fresh(self, name):
        """``name``, or ``name#2``, ``name#3``, ... when it is taken (a layer called twice)."""
        candidate, count = name, 1
        while candidate in self._used:
            count += 1
            candidate = f"{name}#{count}"
        return candidate

    def unique(self, name):
        """:meth:`fresh` ``name``, now taken."""
        name = self.fresh(name)
        self._used.add(name)
        return name

    def add(self, op, inputs, name, opset=None, **attributes):
        """Append the node ``op(inputs)`` called ``name`` (made unique); returns its output's name."""
        name = self.unique(name)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [name], name=name, **attributes))
        needed = max(MIN_OPSET[op], opset or 0)
        if needed > self.needs.get(op, (0, None))[0]:
            self.needs[op] = (needed, name)
        return name

    def weight(self, key, tensor):
        """The initialiser ``key`` (a state_dict key) holding ``tensor``'s values as float32."""
        if key not in self.initializers:
            array = np.ascontiguousarray(to_numpy(tensor.array), dtype=np.float32)
            self.initializers[key] = self.onnx.numpy_helper.from_array(array, key)
            self._used.add(key)
        return key

    def constant(self, name, values, dtype=np.int64):
        """A Constant node holding ``values`` (int64 by default: shapes and pads); returns its output."""
        array = np.asarray(values, dtype=dtype)
        tensor = self.onnx.numpy_helper.from_array(array, "value")
        return self.add("Constant", [], name, value=tensor)

    def rename_output(self, value, name):
        """Make the node that produces ``value`` produce ``name`` instead (the graph's output)."""
        for node in reversed(self.nodes):
            if value in node.output:
                node.output[list(node.output).index(value)] = name
                for later in self.nodes:
                    later.input[:] = [name if v == value else v for v in later.input]
                return name
        self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=name))  # the input itself
        return name
