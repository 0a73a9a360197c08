"""Read a ``.onnx`` file into a trainable cnnlab model: ``cnnlab.load("model.onnx")``.

The file is parsed with ``onnx`` (never executed: ONNX holds no code, and ops from
other domains are refused), checked with ``onnx.checker``, shape-inferred, and turned
into a JSON-able graph description from which :class:`~cnnlab.onnx._graph.OnnxGraph`
builds one cnnlab layer per node where cnnlab has the layer (see :mod:`._ops` for the
table). Float initializers become the layers' Parameters (BatchNorm's statistics
buffers), named after the graph's: ``features.0.weight`` is ``model.features[0].weight``.

>>> model = cnnlab.load("resnet_block.onnx")     # or cnnlab.onnx.load
>>> model.eval()(cnnlab.randn(2, 3, 32, 32)).shape
(2, 10)
>>> cnnlab.save(model, "finetuned.safetensors")  # loads back without the .onnx file
"""
import os

import numpy as np

from . import _ops

WHERE = "cnnlab.load"
INSTALL = "pip install 'cnnlab[onnx]'"


def load(path):
    """The cnnlab model (an :class:`~cnnlab.onnx._graph.OnnxGraph`, in eval mode) that the ONNX file ``path`` holds.

    Raises ValueError naming the file for anything cnnlab cannot import: not an ONNX
    model, weights in external files, an op cnnlab does not support (named with its
    node), and ImportError when the ``onnx`` package is missing.
    """
    from ._graph import OnnxGraph

    path = os.fspath(path)
    graph, arrays = describe_graph(read(path), path)
    try:
        model = OnnxGraph(graph)
    except _ops.Unsupported as error:
        raise ValueError(f"{WHERE}: {path!r}: {error}") from None
    model.load_initializers(arrays)
    return model.eval()


def read_info(path):
    """What a ``.onnx`` file tells about its model, as a model file's info: name, ``input_shape``, ``classes``.

    ``input_shape`` is the first input's (C, H, W) when fixed in the graph (the batch
    may be dynamic); ``classes`` are the output indices '0', '1', ... when the output
    size is fixed.
    """
    path = os.fspath(path)
    proto = read(path)
    inputs = _graph_inputs(proto.graph)
    info = {"model": os.path.splitext(os.path.basename(path))[0], "format": "onnx"}
    shape = _shape(inputs[0].type) if inputs else None
    if shape and len(shape) == 4 and all(isinstance(n, int) and n > 0 for n in shape[1:]):
        info["input_shape"] = list(shape[1:])
    output = _shape(proto.graph.output[0].type) if len(proto.graph.output) else None
    if output and len(output) == 2 and isinstance(output[1], int) and output[1] > 0:
        info["classes"] = [str(i) for i in range(output[1])]
    return info


def is_onnx_file(path):
    """True for a ``.onnx`` name, or bytes that open as an ONNX ModelProto (ir_version, then another field)."""
    path = os.fspath(path)
    if path.lower().endswith(".onnx"):
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(3)
    except OSError:
        return False
    return len(head) == 3 and head[0] == 0x08 and 3 <= head[1] <= 15 and head[2] in (0x12, 0x1A, 0x22, 0x28, 0x32,
                                                                                      0x3A, 0x42)


# ------------------------------------------------------------------ reading
def _onnx(path):
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{WHERE}: reading {path!r} needs the onnx package: {INSTALL}") from None
    return onnx


def _load_external_data(onnx, proto, path, tensors):
    """Read the weights kept beside the model (``torch.onnx.export(..., dynamo=True)`` writes ``x.onnx.data``).

    Only files in the model's own folder are read (no absolute paths, no ``..``, no
    links leading out), by the offset and length the graph gives: raw tensor bytes, never code.
    """
    from onnx.external_data_helper import load_external_data_for_model

    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for tensor in tensors:
        location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "")
        target = os.path.realpath(os.path.join(folder, location))
        if not location or os.path.isabs(location) or os.path.dirname(target) != folder:
            raise ValueError(f"{WHERE}: {path!r} keeps initializer {tensor.name!r} in {location!r}, which is not a "
                             f"file beside the model; only weights in the model's own folder are read")
        if not os.path.isfile(target):
            raise FileNotFoundError(f"{WHERE}: {path!r} keeps its weights in {location!r}, which is not in "
                                    f"{folder!r}: copy it beside the model")
    load_external_data_for_model(proto, folder)


def read(path):
    """The checked ``onnx.ModelProto`` in ``path``; refuses files that are not ONNX or point at other files."""
    onnx = _onnx(path)
    try:
        proto = onnx.load(path, load_external_data=False)
    except OSError:
        raise
    except Exception as error:  # protobuf's DecodeError and friends
        raise ValueError(f"{WHERE}: {path!r} is not an ONNX model ({_first_line(error)})") from None
    external = [tensor for tensor in proto.graph.initializer
                if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data)]
    if external:
        _load_external_data(onnx, proto, path, external)
    try:
        onnx.checker.check_model(proto)
    except Exception as error:  # onnx.checker.ValidationError
        raise ValueError(f"{WHERE}: {path!r} is not a valid ONNX model ({_first_line(error)})") from None
    return proto


def _first_line(error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


# ------------------------------------------------------------ description
def describe_graph(proto, path):
    """``(graph, arrays)``: the JSON-able description :class:`OnnxGraph` builds from, and the weights' arrays."""
    import onnx

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    graph = proto.graph
    if len(graph.sparse_initializer):
        raise ValueError(f"{WHERE}: {path!r} has sparse initializers, which cnnlab does not import")
    initial = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in graph.initializer}
    kept = _fold_initializers(onnx, graph, initial)
    nodes = [_node(onnx, node, index, path) for index, node in kept]
    _check_ops(nodes, path)
    shapes = _inferred_shapes(onnx, proto)
    for node in nodes:
        node["shapes"] = [shapes.get(name) for name in node["inputs"]]
    weights, constants, arrays = {}, {}, {}
    for name, array in initial.items():
        if array.dtype.kind == "f" and array.size > 1:
            weights[name], arrays[name] = list(array.shape), array
        else:  # shapes, axes, scalars: part of the architecture
            constants[name] = _constant(array)
    description = {
        "name": graph.name, "opset": opset, "nodes": nodes, "weights": weights, "constants": constants,
        "inputs": [{"name": value.name, "shape": _shape(value.type)} for value in _graph_inputs(graph)],
        "outputs": [{"name": value.name, "shape": _shape(value.type)} for value in graph.output],
    }
    return description, arrays


def _fold_initializers(onnx, graph, initial):
    """``(index, node)`` of the nodes left once tensors that are weights in all but name join ``initial``.

    An Identity of an initializer (exporters share equal initializers that way) becomes a
    copy of it, and a Constant holding a float tensor an initializer, so layers get their
    own Parameters whichever way the file stores their weights.
    """
    kept = []
    for index, node in enumerate(graph.node):
        if node.op_type == "Identity" and node.domain in ("", "ai.onnx") and node.input[0] in initial:
            initial[node.output[0]] = initial[node.input[0]].copy()
            continue
        value = next((a.t for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is not None and node.domain in ("", "ai.onnx"):
            array = onnx.numpy_helper.to_array(value)
            if array.dtype.kind == "f" and array.size > 1:
                initial[node.output[0]] = array
                continue
        kept.append((index, node))
    return kept


def _graph_inputs(graph):
    """The inputs a caller feeds: older files also list the initializers as inputs."""
    initializers = {tensor.name for tensor in graph.initializer}
    return [value for value in graph.input if value.name not in initializers]


def _node(onnx, node, index, path):
    name = node.name or f"{node.op_type}_{index}"
    if node.domain not in ("", "ai.onnx"):
        raise ValueError(f"{WHERE}: {path!r} uses the op {node.op_type!r} from the domain {node.domain!r} "
                         f"(node {name!r}), which cnnlab does not support; it imports the standard ONNX ops only")
    attributes = {attribute.name: _attribute(onnx, attribute, name, path) for attribute in node.attribute}
    described = {"op": node.op_type, "name": name, "inputs": list(node.input), "outputs": list(node.output),
                 "attributes": attributes}
    scope = _torch_scope(node)
    if scope:
        described["scope"] = scope
    return described


def _torch_scope(node):
    """The torch layer a dynamo-exported node came from (``features.2``), from its metadata, or None.

    The metadata reads ``name_scopes: "['', 'features', 'features.2', 'max_pool2d']"`` (the
    modules' qualified names, then the op) and ``class_hierarchy`` their classes; only a
    built-in torch layer names the node (an op in a custom module's forward does not).
    """
    import ast

    metadata = {entry.key: entry.value for entry in node.metadata_props}
    try:  # literal lists of strings, parsed, never evaluated as code
        scopes = ast.literal_eval(metadata.get("pkg.torch.onnx.name_scopes", "None"))
        classes = ast.literal_eval(metadata.get("pkg.torch.onnx.class_hierarchy", "None"))
    except (ValueError, SyntaxError):
        return None
    if not (isinstance(scopes, list) and isinstance(classes, list) and len(scopes) == len(classes) >= 3):
        return None
    layer = classes[-2]
    if not isinstance(layer, str) or not layer.startswith("torch.nn.modules.") or ".container." in layer:
        return None
    return scopes[-2] if isinstance(scopes[-2], str) else None


def _attribute(onnx, attribute, node, path):
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return _constant(onnx.numpy_helper.to_array(value))
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, bytes)) for v in value):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    raise ValueError(f"{WHERE}: {path!r}: node {node!r} has the attribute {attribute.name!r} of a kind cnnlab "
                     f"does not import (a subgraph, a sparse tensor or a type)")


def _constant(array):
    array = np.asarray(array)
    return {"dtype": str(array.dtype), "shape": list(array.shape), "values": array.reshape(-1).tolist()}


def _check_ops(nodes, path):
    supported = _ops.supported()
    for node in nodes:
        if node["op"] not in supported:
            raise ValueError(f"{WHERE}: {path!r} uses the ONNX op {node['op']!r} (node {node['name']!r}), which "
                             f"cnnlab does not support; supported: {', '.join(supported)}")


def _shape(type_proto):
    """A value's shape: ints where fixed, None where symbolic or unknown; None without a shape."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in type_proto.tensor_type.shape.dim]


def _inferred_shapes(onnx, proto):
    """Value name -> shape, from ONNX shape inference (an empty map where it fails)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:  # inference is a help for choosing layer classes, not a requirement
        inferred = proto
    graph = inferred.graph
    values = list(graph.value_info) + list(graph.input) + list(graph.output)
    return {value.name: _shape(value.type) for value in values}
