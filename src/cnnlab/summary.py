"""``summary(model, input_shape)``: a Keras/torchinfo-style table of a model's layers.

One forward pass on zeros (under ``no_grad``, in evaluation mode so no running
statistic moves) with a forward hook on every module records each layer's
output shape, parameter count and multiply-adds:

- ``Conv*d``: ``output elements * in_channels / groups * prod(kernel_size)``
- ``ConvTranspose*d``: ``input elements * out_channels / groups * prod(kernel_size)``
  (each input element meets every tap of its group's kernels)
- ``Linear``: ``in_features * out_features`` per row
- anything else: 0

A row is a module with no submodules, or one that owns parameters directly; its
parameter count is those it owns, counted at its first call only, so the rows add
up to the totals. Its algorithm is the one the active backend ran for it
(convolution and pooling layers; see :mod:`cnnlab.backend.algorithms`).

>>> from cnnlab.summary import summary
>>> info = summary(lenet, (1, 28, 28))     # prints the table
>>> info.total_params, info.mult_adds
(61706, 416520)
"""
import math
from collections import namedtuple

import numpy

from . import backend
from .backend import default_float
from .backend.algorithms import traced
from .nn.conv import _Conv, _ConvTranspose
from .nn.linear import Linear
from .tensor import Tensor, no_grad

__all__ = ["summary", "ModelSummary", "SummaryRow"]

SummaryRow = namedtuple("SummaryRow", ["name", "type", "output_shape", "params", "mult_adds", "algorithm"],
                        defaults=[""])


def mult_adds(module, inputs, output):
    """Multiply-adds one call of ``module`` performed (see the module docstring for the formulas)."""
    if isinstance(module, _Conv):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return output.data.size * per_output
    if isinstance(module, _ConvTranspose):
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].data.size * per_input
    if isinstance(module, Linear):
        return output.data.size * module.in_features
    return 0


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shape_of(o) for o in output]
    return None


class ModelSummary:
    """What ``summary`` found: ``rows`` (name, type, output_shape, params, mult_adds) and the totals.

    ``str(summary)`` is the printed table.
    """

    def __init__(self, model_name, input_shape, rows, total_params, trainable_params, mult_adds, backend="numpy"):
        self.model_name, self.input_shape, self.rows, self.backend = model_name, input_shape, rows, backend
        self.total_params, self.trainable_params = total_params, trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.mult_adds = mult_adds

    def __str__(self):
        header = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds", "Algorithm")
        body = [(f"{row.name} ({row.type})", str(row.output_shape), f"{row.params:,}", f"{row.mult_adds:,}",
                 row.algorithm) for row in self.rows]
        widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]

        def format_line(cells):   # text columns left-aligned, numbers right-aligned
            return "  ".join(cell.ljust(w) if i in (0, 1, 4) else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "=" * len(format_line(header))
        lines = [f"{self.model_name}, input {self.input_shape}, backend {self.backend!r}", rule, format_line(header),
                 rule]
        lines += [format_line(cells) for cells in body]
        lines += [rule, f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}", f"Total mult-adds: {self.mult_adds:,}",
                  rule]
        return "\n".join(lines)

    def __repr__(self):
        return (f"ModelSummary(total_params={self.total_params}, trainable_params={self.trainable_params}, "
                f"mult_adds={self.mult_adds})")


def summary(model, input_shape, *, batch_size=1, dtype=default_float, print_fn=print):
    """Run ``model`` once on zeros of shape ``(batch_size, *input_shape)`` and tabulate its layers.

    Args:
        model: a Module.
        input_shape: one sample's shape, without the batch dimension, e.g. ``(1, 28, 28)``.
        batch_size: the batch dimension of the pass (shapes and mult-adds are for the whole batch).
        dtype: the input's dtype.
        print_fn: called with the table; None to print nothing.

    Returns a :class:`ModelSummary` with ``.rows``, ``.total_params``,
    ``.trainable_params``, ``.non_trainable_params``, ``.mult_adds``.

    >>> summary(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (1, 28, 28)).mult_adds
    7840
    """
    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got batch_size={batch_size!r}")
    names = {id(module): name for name, module in model.named_modules()}
    rows, counted, handles, consumed = [], set(), [], [0]

    def record(module, inputs, output):  # the algorithms chosen since the previous row are this row's
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            params = sum(p.data.size for p in module.parameters(recurse=False))
        kind = type(module).__name__
        chosen, consumed[0] = " + ".join(algorithms[consumed[0]:]), len(algorithms)
        rows.append(SummaryRow(names[id(module)] or kind, kind, _shape_of(output), params,
                               mult_adds(module, inputs, output), chosen))

    modes = {id(module): module.training for module in model.modules()}
    try:
        for module in model.modules():
            if not module._modules or any(True for _ in module.parameters(recurse=False)):
                handles.append(module.register_forward_hook(record))
        model.eval()
        with no_grad(), traced() as algorithms:
            model(Tensor(numpy.zeros((batch_size, *input_shape), dtype=dtype)))
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])

    parameters = list(model.parameters())
    result = ModelSummary(type(model).__name__, (batch_size, *input_shape), rows,
                          sum(p.data.size for p in parameters),
                          sum(p.data.size for p in parameters if p.requires_grad),
                          sum(row.mult_adds for row in rows), backend.get_backend())
    if print_fn is not None:
        print_fn(str(result))
    return result
