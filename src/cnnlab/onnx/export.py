"""Write a cnnlab model as an ONNX file, to run wherever ONNX runs (onnxruntime, TensorRT, a browser).

>>> from cnnlab import models
>>> from cnnlab.onnx import export
>>> export(models.create("lenet5").eval(), "lenet5.onnx", input_shape=(1, 28, 28))

The model is traced: one forward pass on a sample batch, with hooks on every
module, records which layer fed which (see :mod:`._export_calls`); each layer
becomes ONNX nodes through a table from its class to an exporter
(:mod:`._export_layers`). The graph's input ``input`` is ``[N, *input_shape]``
and its output ``output`` ``[N, ...]``, with a dynamic batch ``N``; the other
sizes are fixed by ``input_shape``. Initialisers are named by the state_dict keys
(``features.0.weight``), nodes by the layers' names.
"""
import os

from .. import __version__, arguments
from . import _export_layers  # noqa: F401  (fills the table of exporters)
from ._export_calls import export_call, sample_input, trace_calls
from ._export_graph import Graph

__all__ = ["DEFAULT_OPSET", "export"]

#: The opset written unless told otherwise: the first with AffineGrid, and GridSample's mode 'linear'.
DEFAULT_OPSET = 20
INSTALL = "pip install 'cnnlab[onnx]'"


def export(model, path, input_shape, opset=DEFAULT_OPSET):
    """Write ``model`` as it runs in eval mode (Dropout left out, BatchNorm's running statistics) as an ONNX file.

    Args:
        model: a :class:`cnnlab.nn.Module` whose forward() composes cnnlab layers.
        path: the ``.onnx`` file to write (atomically).
        input_shape: one sample's shape, e.g. ``(1, 28, 28)``; the batch axis is left dynamic.
        opset: the ONNX opset (default 20); one lower than an op of the graph needs is refused.

    Weights are written as float32. Returns the ``onnx.ModelProto`` written, which has passed
    ``onnx.checker.check_model(full_check=True)``.

    >>> export(model, "model.onnx", input_shape=(3, 32, 32), opset=18)
    """
    onnx = _import_onnx()
    input_shape = arguments.shape("export", "input_shape", input_shape)
    opset, newest = arguments.integer("export", "opset", opset, minimum=1), onnx.defs.onnx_opset_version()
    if opset > newest:
        raise arguments.refuse(ValueError, "export", "opset", f"an int in [1, {newest}]", repr(opset))
    proto = build(onnx, model, input_shape, opset)
    onnx.checker.check_model(proto, full_check=True)
    from ..io import atomic_write

    atomic_write(os.fspath(path), proto.SerializeToString(deterministic=True))
    return proto


def build(onnx, model, input_shape, opset):
    """The ``ModelProto`` of ``model`` on ``[N, *input_shape]`` inputs, at ``opset``."""
    call = trace_calls(model, sample_input(input_shape))
    graph = Graph(onnx, reserved=("input", "output", *model.state_dict()))
    output = graph.rename_output(export_call(graph, call, "input"), "output")
    _check_opset(graph, opset)
    helper, float32 = onnx.helper, onnx.TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("input", float32, ["N", *input_shape])]
    outputs = [helper.make_tensor_value_info(output, float32, ["N", *call.output.shape[1:]])]
    body = helper.make_graph(graph.nodes, type(model).__name__, inputs, outputs, list(graph.initializers.values()))
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(body, opset_imports=opsets, producer_name="cnnlab", producer_version=__version__,
                             ir_version=helper.find_min_ir_version_for(opsets))


def _check_opset(graph, opset):
    """Refuse an opset below what an op of the graph needs, naming the op, its node and the minimum."""
    too_new = [(needed, op, node) for op, (needed, node) in graph.needs.items() if needed > opset]
    if too_new:
        needed, op, node = max(too_new)
        raise ValueError(f"export: opset must be at least {needed} for this model ({op}, in node {node!r}, "
                         f"needs opset {needed}), got opset={opset}")


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(f"export: writing ONNX files needs the onnx package, which is not installed: "
                          f"{INSTALL}") from None
    return onnx
