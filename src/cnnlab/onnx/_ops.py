"""The importer's table: ONNX op type -> a cnnlab layer builder, or a function of the node's values.

A layer builder takes ``(node, context, index)`` and returns a :data:`Layer` (or None
when the node is not a layer in this graph, e.g. a Gemm whose weight is computed, and
the node's function runs instead). A function takes ``(attributes, args)`` and returns
the output value(s). Values are Tensors (data, weights) or NumPy arrays (shapes,
indices, constants): shape arithmetic stays in NumPy, evaluated on the concrete
shapes at run time. Attribute names and defaults are the ONNX operator spec's.
"""
from collections import namedtuple

import numpy as np

from .. import functional as F
from .. import nn, shapes
from ..backend import default_float
from ..ops.elementwise import operand
from ..ops.shape import concat
from ..tensor import Tensor, no_grad

#: A node as a layer: the module, ``(attribute, initializer, transposed)`` weight bindings, which of
#: the node's inputs the module is called with, the outputs it produces (None: the node's), and the
#: indices of later nodes it absorbs (a MatMul's bias Add).
Layer = namedtuple("Layer", ["module", "bindings", "inputs", "outputs", "absorbed"], defaults=((), (0,), None, ()))

BUFFERS = ("running_mean", "running_var")

#: ONNX TensorProto data types -> NumPy.
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
          10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


class Unsupported(ValueError):
    """A node cnnlab cannot import as it stands; the importer names the file before the message."""


def constant_array(value):
    """A described constant ``{"dtype", "shape", "values"}`` as a NumPy array."""
    return np.asarray(value["values"], dtype=value["dtype"]).reshape(value["shape"])


class Context:
    """What builders may ask of the graph: initializer shapes, constant values, input shapes, consumers."""

    def __init__(self, graph, constants):
        self.opset, self.nodes = graph["opset"], graph["nodes"]
        self.weights, self.constants = graph["weights"], dict(constants)
        self.consumers = {}
        for index, node in enumerate(self.nodes):
            for name in node["inputs"]:
                self.consumers.setdefault(name, []).append(index)
            if node["op"] == "Constant":
                self.constants[node["outputs"][0]] = _constant(node["attributes"], [])
        self.graph_outputs = {value["name"] for value in graph["outputs"]}

    def is_weight(self, name):
        return bool(name) and name in self.weights

    def shape(self, node, i):
        """The inferred shape of the node's ``i``-th input (None entries for unknown sizes), or None."""
        shapes = node.get("shapes") or []
        return shapes[i] if i < len(shapes) else None

    def constant(self, name, default=None):
        return self.constants.get(name, default) if name else default


def build_layer(node, context, index):
    """The node's :data:`Layer`, or None when it runs as a function."""
    builder = LAYERS.get(node["op"])
    return builder(node, context, index) if builder else None


def run_function(node, args, opset):
    return FUNCTIONS[node["op"]](dict(node["attributes"], opset=opset), args)


def supported():
    return sorted(set(LAYERS) | set(FUNCTIONS))


def _refuse(node, text):
    return Unsupported(f"node {node['name']!r} ({node['op']}) {text}")


def _input(node, i):
    return node["inputs"][i] if i < len(node["inputs"]) and node["inputs"][i] else None


# ------------------------------------------------------------------ layers
def _conv(node, context, index):
    weight, bias = _input(node, 1), _input(node, 2)
    if not context.is_weight(weight) or (bias and not context.is_weight(bias)):
        raise _refuse(node, "takes its weight or bias from another node; cnnlab imports convolutions whose "
                            "weights are initializers")
    shape, a = context.weights[weight], node["attributes"]
    dims = len(shape) - 2
    if dims not in (1, 2, 3):
        raise _refuse(node, f"has a {len(shape)}-D weight; cnnlab has 1-, 2- and 3-D convolutions")
    stride, dilation = a.get("strides", [1] * dims), a.get("dilations", [1] * dims)
    padding = _conv_padding(node, context, shape[2:], stride, dilation)
    groups = a.get("group", 1)
    cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
    module = cls(shape[1] * groups, shape[0], tuple(shape[2:]), tuple(stride), padding, tuple(dilation), groups,
                 bias=bias is not None)
    return Layer(module, [("weight", weight, False)] + ([("bias", bias, False)] if bias else []))


def _conv_padding(node, context, kernel, stride, dilation):
    """ONNX pads / auto_pad as a cnnlab padding: 'same', symmetric ints or per-side pairs."""
    dims, a = len(kernel), node["attributes"]
    auto = a.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return 0
    if auto == "SAME_UPPER" or (auto == "SAME_LOWER" and all(s == 1 for s in stride)
                                and all((k - 1) * d % 2 == 0 for k, d in zip(kernel, dilation))):
        return "same"
    if auto == "SAME_LOWER":
        return tuple(_same_lower(node, context, kernel, stride, dilation))
    pads = a.get("pads", [0] * 2 * dims)
    pairs = tuple((pads[i], pads[i + dims]) for i in range(dims))
    return tuple(p for p, _ in pairs) if all(b == e for b, e in pairs) else pairs


def _same_lower(node, context, kernel, stride, dilation):
    size = (context.shape(node, 0) or [None] * (len(kernel) + 2))[2:]
    if len(size) != len(kernel) or not all(isinstance(n, int) for n in size):
        raise _refuse(node, f"has auto_pad={node['attributes']['auto_pad']!r} on an input whose size is not fixed "
                            f"in the graph")
    return [tuple(reversed(shapes.same_padding(k, d, stride=s, size=n)))
            for k, d, s, n in zip(kernel, dilation, stride, size)]


def _conv_transpose(node, context, index):
    weight, bias, a = _input(node, 1), _input(node, 2), node["attributes"]
    if not context.is_weight(weight) or (bias and not context.is_weight(bias)):
        raise _refuse(node, "takes its weight or bias from another node; cnnlab imports convolutions whose "
                            "weights are initializers")
    if "output_shape" in a or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise _refuse(node, "sets output_shape or auto_pad; export it with explicit pads")
    shape = context.weights[weight]
    dims = len(shape) - 2
    if dims not in (1, 2, 3):
        raise _refuse(node, f"has a {len(shape)}-D weight; cnnlab has 1-, 2- and 3-D transposed convolutions")
    stride, dilation = a.get("strides", [1] * dims), a.get("dilations", [1] * dims)
    pads, extra = a.get("pads", [0] * 2 * dims), a.get("output_padding", [0] * dims)
    begin, end = pads[:dims], pads[dims:]
    # ONNX cuts `begin` at the start and `end - extra` at the end; cnnlab `padding` and `padding - output_padding`
    output_padding = [b - e + x for b, e, x in zip(begin, end, extra)]
    if any(not 0 <= p < max(s, d) for p, s, d in zip(output_padding, stride, dilation)):
        raise _refuse(node, f"has pads={pads} with output_padding={extra}, which cnnlab's transposed convolution "
                            f"cannot express (its end cut must be at most the start cut and within one stride)")
    groups = a.get("group", 1)
    cls = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[dims - 1]
    module = cls(shape[0], shape[1] * groups, tuple(shape[2:]), tuple(stride), tuple(begin), tuple(output_padding),
                 groups, bias=bias is not None, dilation=tuple(dilation))
    return Layer(module, [("weight", weight, False)] + ([("bias", bias, False)] if bias else []))


def _gemm(node, context, index):
    a = node["attributes"]
    weight, bias = _input(node, 1), _input(node, 2)
    if (a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or not context.is_weight(weight)
            or (bias and (not context.is_weight(bias) or a.get("beta", 1.0) != 1.0))):
        return None
    out_features, in_features = context.weights[weight] if a.get("transB", 0) else context.weights[weight][::-1]
    if bias and int(np.prod(context.weights[bias])) != out_features:
        return None
    module = nn.Linear(in_features, out_features, bias=bias is not None)
    bindings = [("weight", weight, not a.get("transB", 0))] + ([("bias", bias, False)] if bias else [])
    return Layer(module, bindings)


def _matmul(node, context, index):
    """MatMul by a 2-D initializer is a Linear layer; an Add of a 1-D initializer right after is its bias."""
    weight = _input(node, 1)
    if not context.is_weight(weight) or len(context.weights[weight]) != 2:
        return None
    in_features, out_features = context.weights[weight]
    bias, add = _bias_add(node, context, out_features)
    module = nn.Linear(in_features, out_features, bias=bias is not None)
    bindings = [("weight", weight, True)] + ([("bias", bias, False)] if bias else [])
    if add is None:
        return Layer(module, bindings)
    return Layer(module, bindings, outputs=context.nodes[add]["outputs"], absorbed=(add,))


def _bias_add(node, context, size):
    output = node["outputs"][0]
    users = context.consumers.get(output, [])
    if len(users) != 1 or output in context.graph_outputs or context.nodes[users[0]]["op"] != "Add":
        return None, None
    other = [name for name in context.nodes[users[0]]["inputs"] if name != output]
    if len(other) == 1 and context.is_weight(other[0]) and context.weights[other[0]] == [size]:
        return other[0], users[0]
    return None, None


def _batch_norm(node, context, index):
    a, names = node["attributes"], node["inputs"][1:5]
    if len(names) != 4 or not all(context.is_weight(name) for name in names):
        raise _refuse(node, "takes its scale, bias, mean or variance from another node; cnnlab imports batch "
                            "normalisation whose statistics are initializers")
    if a.get("training_mode", 0) and any(node["outputs"][1:]):
        raise _refuse(node, "was exported in training mode (it outputs its running statistics); export the "
                            "model in evaluation mode")
    rank = len(context.shape(node, 0) or [None] * 4)
    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}.get(rank, nn.BatchNorm2d)
    # ONNX's momentum weighs the running value, PyTorch's (and cnnlab's) the new batch.
    module = cls(context.weights[names[0]][0], eps=a.get("epsilon", 1e-5), momentum=1 - a.get("momentum", 0.9))
    return Layer(module, list(zip(("weight", "bias", "running_mean", "running_var"), names, [False] * 4)),
                 outputs=node["outputs"][:1])


def _max_pool(node, context, index):
    if len(node["outputs"]) > 1 and node["outputs"][1]:
        raise _refuse(node, "outputs the indices of its maxima, which cnnlab does not import")
    kernel, stride, dilation, begin, end = _window(node, context)
    a, n = node["attributes"], len(kernel)
    if begin == end and all(p <= k // 2 for p, k in zip(begin, kernel)):
        return Layer(MAX_POOLS[n](kernel, stride, begin, dilation, ceil_mode=bool(a.get("ceil_mode", 0))))
    _no_ceil_with_uneven_pads(node)
    return Layer(PADDED_MAX_POOLS[n](kernel, stride, tuple(zip(begin, end)), dilation))


def _average_pool(node, context, index):
    kernel, stride, dilation, begin, end = _window(node, context)
    a, n = node["attributes"], len(kernel)
    if any(d != 1 for d in dilation):
        raise _refuse(node, f"has dilations={list(dilation)}; cnnlab's average pooling has no dilation")
    include = bool(a.get("count_include_pad", 0))  # ONNX's default is the opposite of PyTorch's
    if begin == end and all(p <= k // 2 for p, k in zip(begin, kernel)):
        return Layer(AVG_POOLS[n](kernel, stride, begin, ceil_mode=bool(a.get("ceil_mode", 0)),
                                  count_include_pad=include))
    _no_ceil_with_uneven_pads(node)
    return Layer(PADDED_AVG_POOLS[n](kernel, stride, tuple(zip(begin, end)), count_include_pad=include))


def _no_ceil_with_uneven_pads(node):
    if node["attributes"].get("ceil_mode", 0):
        raise _refuse(node, "combines ceil_mode with uneven pads; export it with ceil_mode=0 and the extra window "
                            "as end padding")


def _window(node, context):
    """``(kernel, stride, dilation, pads before, pads after)`` of a pooling node, auto_pad resolved."""
    a = node["attributes"]
    kernel = tuple(a["kernel_shape"])
    n = len(kernel)
    if n not in (1, 2, 3):
        raise _refuse(node, f"pools over {n} dimensions; cnnlab pools over 1, 2 or 3")
    stride, dilation = tuple(a.get("strides", [1] * n)), tuple(a.get("dilations", [1] * n))
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pairs = _same_lower(node, context, kernel, stride, dilation)
        pairs = pairs if auto == "SAME_LOWER" else [pair[::-1] for pair in pairs]
        return kernel, stride, dilation, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    pads = [0] * 2 * n if auto == "VALID" else a.get("pads", [0] * 2 * n)
    return kernel, stride, dilation, tuple(pads[:n]), tuple(pads[n:])


def _global_pool(kind):
    def build(node, context, index):
        n = len(context.shape(node, 0) or [None] * 4) - 2
        if n not in (1, 2, 3):
            raise _refuse(node, f"pools a {n + 2}-D input; cnnlab pools 3-, 4- and 5-D inputs")
        return Layer(kind[n](1))
    return build


def _simple(make):
    return lambda node, context, index: Layer(make(node["attributes"]))


def _softmax(cls):
    def build(node, context, index):
        axis = node["attributes"].get("axis", -1 if context.opset >= 13 else 1)
        rank = len(context.shape(node, 0) or [])
        if context.opset < 13 and not (axis == -1 or (rank and axis % rank == rank - 1)):
            return None  # opset < 13 flattens to 2-D around axis: the function does it
        return Layer(cls(dim=axis))
    return build


def _flatten(node, context, index):
    return Layer(nn.Flatten()) if node["attributes"].get("axis", 1) == 1 else None


def _dropout(node, context, index):
    if len(node["outputs"]) > 1 and node["outputs"][1]:
        raise _refuse(node, "outputs its mask, which cnnlab does not import")
    ratio = node["attributes"].get("ratio", context.constant(_input(node, 1), 0.5))
    return Layer(nn.Dropout(float(np.asarray(ratio))), outputs=node["outputs"][:1])


def _clip(node, context, index):
    a = node["attributes"]
    low = a.get("min", context.constant(_input(node, 1)))
    high = a.get("max", context.constant(_input(node, 2)))
    if low is not None and high is not None and float(low) == 0 and float(high) == 6:
        return Layer(nn.ReLU6())
    if low is not None and float(low) == 0 and high is None and (_input(node, 2) is None and "max" not in a):
        return Layer(nn.ReLU())
    return None


LAYERS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _batch_norm, "MaxPool": _max_pool, "AveragePool": _average_pool,
    "GlobalAveragePool": _global_pool({1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}),
    "GlobalMaxPool": _global_pool({1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}),
    "Relu": _simple(lambda a: nn.ReLU()), "Sigmoid": _simple(lambda a: nn.Sigmoid()),
    "Tanh": _simple(lambda a: nn.Tanh()), "LeakyRelu": _simple(lambda a: nn.LeakyReLU(a.get("alpha", 0.01))),
    "Elu": _simple(lambda a: nn.ELU(a.get("alpha", 1.0))),
    "Gelu": _simple(lambda a: nn.GELU(a.get("approximate", "none"))),
    "Softmax": _softmax(nn.Softmax), "LogSoftmax": _softmax(nn.LogSoftmax),
    "Flatten": _flatten, "Dropout": _dropout, "Clip": _clip,
}

MAX_POOLS = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVG_POOLS = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}


# --------------------------------------------- pools with ONNX's uneven pads
def _torch_pad(pairs):
    """Per-dim ``(before, after)`` pairs as F.pad's flat tuple, last dim first."""
    return tuple(p for pair in reversed(pairs) for p in pair)


class _PaddedMaxPool:
    """Max pooling after explicit -inf padding: ONNX pads that are uneven or wider than half the window."""

    def __init__(self, kernel_size, stride, pads, dilation=1):
        super().__init__(kernel_size, stride, 0, dilation)
        self.pads = tuple(tuple(pair) for pair in pads)

    def forward(self, input):
        return super().forward(F.pad(input, _torch_pad(self.pads), value=float("-inf")))

    def extra_repr(self):
        return f"{super().extra_repr()}, pads={self.pads}"


class _PaddedAvgPool:
    """Average pooling after explicit zero padding; without ``count_include_pad`` only real elements count.

    ``out = avg(pad(x)) / avg(pad(ones))`` when the padding is not counted.
    """

    def __init__(self, kernel_size, stride, pads, count_include_pad=False):
        super().__init__(kernel_size, stride, 0)
        self.pads, self.include_pads = tuple(tuple(pair) for pair in pads), count_include_pad

    def forward(self, input):
        pad = _torch_pad(self.pads)
        total = super().forward(F.pad(input, pad))
        if self.include_pads:
            return total
        with no_grad():
            ones = Tensor(np.ones((1, 1) + tuple(input.shape[2:]), dtype=input.array.dtype))
            share = super().forward(F.pad(ones, pad))
        return total / share

    def extra_repr(self):
        return f"{super().extra_repr()}, pads={self.pads}, count_include_pad={self.include_pads}"


PADDED_MAX_POOLS = {n: type(f"PaddedMaxPool{n}d", (_PaddedMaxPool, MAX_POOLS[n]), {}) for n in (1, 2, 3)}
PADDED_AVG_POOLS = {n: type(f"PaddedAvgPool{n}d", (_PaddedAvgPool, AVG_POOLS[n]), {}) for n in (1, 2, 3)}


# --------------------------------------------------------------- functions
def _is_tensor(value):
    return isinstance(value, Tensor)


def _tensors(*values):
    """Every value as a Tensor, NumPy constants taking a Tensor operand's float dtype."""
    like = next(v for v in values if _is_tensor(v))
    return [operand(v, like) for v in values]


def _binary(numpy_op, tensor_op):
    def run(a, args):
        x, y = args[:2]
        if not _is_tensor(x) and not _is_tensor(y):
            return numpy_op(np.asarray(x), np.asarray(y))
        return tensor_op(*_tensors(x, y))
    return run


def _int_divide(x, y):
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return (np.trunc(x / y)).astype(np.result_type(x, y))  # ONNX's integer Div truncates
    return x / y


def _constant(a, args):
    if "value" in a:
        return constant_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                       ("value_ints", np.int64)):
        if key in a:
            return np.asarray(a[key], dtype=dtype)
    raise Unsupported(f"a Constant node has none of value, value_float(s), value_int(s): {sorted(a)}")


def _shape(a, args):
    shape = np.asarray(args[0].shape, dtype=np.int64)
    return shape[a.get("start", 0):a.get("end", len(shape))]


def _gather(a, args):
    data, indices = args[0], np.asarray(args[1]).astype(np.int64)
    axis = a.get("axis", 0)
    if not _is_tensor(data):
        return np.take(np.asarray(data), indices, axis=axis)
    axis %= data.ndim
    index = (slice(None),) * axis + (indices if indices.ndim else int(indices),)
    return data[index]


def _axes(a, args, i, opset, since):
    """An op's ``axes``: an attribute before opset ``since``, input ``i`` from it on; None when absent."""
    if opset < since:
        return a.get("axes")
    value = args[i] if i < len(args) else None
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _unsqueeze(a, args):
    data, axes = args[0], _axes(a, args, 1, a["opset"], 13)
    rank = len(data.shape) + len(axes)
    for axis in sorted(x % rank for x in axes):
        data = data.unsqueeze(axis) if _is_tensor(data) else np.expand_dims(data, axis)
    return data


def _squeeze(a, args):
    data, axes = args[0], _axes(a, args, 1, a["opset"], 13)
    shape = data.shape
    axes = [i for i, n in enumerate(shape) if n == 1] if axes is None else [x % len(shape) for x in axes]
    if not _is_tensor(data):
        return np.squeeze(data, axis=tuple(axes))
    return data.reshape(*[n for i, n in enumerate(shape) if i not in axes])


def _reshape(a, args):
    data, shape = args[0], [int(n) for n in np.asarray(args[1]).reshape(-1)]
    if not a.get("allowzero", 0):
        shape = [data.shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return data.reshape(*shape) if _is_tensor(data) else np.reshape(data, shape)


def _flatten_function(a, args):
    data = args[0]
    axis = a.get("axis", 1) % (len(data.shape) + 1) if len(data.shape) else 0
    rows = int(np.prod(data.shape[:axis], dtype=np.int64))
    return _reshape({"allowzero": 1}, [data, [rows, -1 if rows else int(np.prod(data.shape[axis:]))]])


def _concat(a, args):
    axis = a["axis"]
    if not any(_is_tensor(v) for v in args):
        return np.concatenate([np.asarray(v) for v in args], axis=axis)
    tensors = _tensors(*args)
    return concat(tensors, dim=axis % tensors[0].ndim)


def _transpose(a, args):
    data = args[0]
    perm = a.get("perm", list(range(len(data.shape)))[::-1])
    return data.permute(*perm) if _is_tensor(data) else np.transpose(data, perm)


def _cast(a, args):
    data, dtype = args[0], DTYPES.get(a["to"])
    if dtype is None:
        raise Unsupported(f"Cast to the ONNX type {a['to']} is not supported")
    if _is_tensor(data):
        return data.astype(default_float) if np.dtype(dtype).kind == "f" else np.asarray(data.array).astype(dtype)
    return np.asarray(data).astype(dtype)


def _reduce(tensor_method, numpy_function, axes_input_since):
    """ReduceMean, ReduceSum, ReduceMax: ``axes`` an attribute, or an input from opset ``axes_input_since``."""
    def run(a, args):
        data, axes = args[0], _axes(a, args, 1, a["opset"], axes_input_since)
        keep = bool(a.get("keepdims", 1))
        if not axes and a.get("noop_with_empty_axes", 0):
            return data
        axes = tuple(range(len(data.shape))) if not axes else tuple(x % len(data.shape) for x in axes)
        if _is_tensor(data):
            return getattr(data, tensor_method)(dim=axes, keepdim=keep)
        return numpy_function(data, axis=axes, keepdims=keep)
    return run


def _constant_of_shape(a, args):
    value = constant_array(a["value"]) if "value" in a else np.zeros(1, dtype=np.float32)
    return np.full([int(n) for n in np.asarray(args[0]).reshape(-1)], value.reshape(-1)[0], dtype=value.dtype)


def _slice(a, args):
    data = args[0]
    if a["opset"] < 10:
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        starts, ends, axes, steps = (None if i >= len(args) or args[i] is None else
                                     [int(v) for v in np.asarray(args[i]).reshape(-1)] for i in range(1, 5))
    rank = len(data.shape)
    axes = list(range(len(starts))) if axes is None else [x % rank for x in axes]
    steps = steps or [1] * len(starts)
    index = [slice(None)] * rank
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis] = slice(*slice(start, end, step).indices(data.shape[axis]))
        if index[axis].stop is not None and index[axis].stop < 0:
            index[axis] = slice(index[axis].start, None, step)
    return data[tuple(index)]


def _pad(a, args):
    data = args[0]
    if a["opset"] < 11:
        pads, value, axes = a["pads"], a.get("value", 0.0), None
    else:
        pads = [int(v) for v in np.asarray(args[1]).reshape(-1)]
        value = float(np.asarray(args[2])) if len(args) > 2 and args[2] is not None else 0.0
        axes = _axes(a, args, 3, a["opset"], 18)
    rank = len(data.shape)
    axes = list(range(rank)) if axes is None else [x % rank for x in axes]
    pairs = [(0, 0)] * rank
    for i, axis in enumerate(axes):
        pairs[axis] = (pads[i], pads[i + len(axes)])
    first = next((i for i, pair in enumerate(pairs) if pair != (0, 0)), rank)
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}[
        a.get("mode", "constant")]
    if first == rank:
        return data
    return F.pad(data, _torch_pad(pairs[first:]), mode=mode, value=value if mode == "constant" else None)


def _coerced_softmax(function):
    """Softmax before opset 13: over the input flattened to 2-D at ``axis``."""
    def run(a, args):
        data = args[0]
        axis = a.get("axis", -1 if a["opset"] >= 13 else 1) % data.ndim
        if a["opset"] >= 13:
            return function(data, axis)
        rows = int(np.prod(data.shape[:axis], dtype=np.int64))
        return function(data.reshape(rows, -1), 1).reshape(*data.shape)
    return run


def _gemm_function(a, args):
    x, w = args[0], args[1]
    x, w = (x.T if a.get("transA", 0) else x), (w.T if a.get("transB", 0) else w)
    x, w = _tensors(x, w)
    out = (x @ w) * a.get("alpha", 1.0)
    if len(args) > 2 and args[2] is not None:
        out = out + _tensors(args[2], out)[0] * a.get("beta", 1.0)
    return out


def _clip_function(a, args):
    data = args[0]
    low = a.get("min", None if len(args) < 2 or args[1] is None else float(np.asarray(args[1])))
    high = a.get("max", None if len(args) < 3 or args[2] is None else float(np.asarray(args[2])))
    return data.clip(low, high) if _is_tensor(data) else np.clip(data, low, high)


def _affine_grid(a, args):
    size = tuple(int(n) for n in np.asarray(args[1]).reshape(-1))
    return F.affine_grid(args[0], size, align_corners=bool(a.get("align_corners", 0)))


def _grid_sample(a, args):
    mode = {"linear": "bilinear", "bilinear": "bilinear", "nearest": "nearest"}.get(a.get("mode", "linear" if
                                                                                   a["opset"] >= 20 else "bilinear"))
    if mode is None:
        raise Unsupported(f"GridSample mode {a.get('mode')!r} is not supported; cnnlab samples 'linear' or 'nearest'")
    return F.grid_sample(args[0], args[1], mode=mode, padding_mode=a.get("padding_mode", "zeros"),
                         align_corners=bool(a.get("align_corners", 0)))


FUNCTIONS = {
    "Add": _binary(np.add, lambda x, y: x + y), "Sub": _binary(np.subtract, lambda x, y: x - y),
    "Mul": _binary(np.multiply, lambda x, y: x * y), "Div": _binary(_int_divide, lambda x, y: x / y),
    "MatMul": _binary(np.matmul, lambda x, y: x @ y), "Gemm": _gemm_function,
    "Constant": _constant, "Shape": _shape, "Gather": _gather, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "Reshape": _reshape, "Flatten": _flatten_function, "Concat": _concat, "Transpose": _transpose, "Cast": _cast,
    "ReduceMean": _reduce("mean", np.mean, 18), "ReduceSum": _reduce("sum", np.sum, 13),
    "ReduceMax": _reduce("amax", np.max, 18), "ConstantOfShape": _constant_of_shape, "Slice": _slice, "Pad": _pad,
    "Identity": lambda a, args: args[0],
    "Softmax": _coerced_softmax(F.softmax), "LogSoftmax": _coerced_softmax(F.log_softmax), "Clip": _clip_function,
    "AffineGrid": _affine_grid, "GridSample": _grid_sample,
}
