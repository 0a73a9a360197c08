"""``summary(model, input_shape)``: a Keras/torchinfo-style table of a model's layers.

One forward pass on zeros (in evaluation mode, so no running statistic moves)
with a forward hook on every module records, per layer call:

- the output shape, and its size in bytes for the batch (``Memory``; the dtype is the output's own);
- the parameters it owns, counted once: a Parameter already counted for an earlier
  row (a layer called twice, a weight tied between two layers) shows as ``+N shared``
  on the later row, so the rows add up to the totals, which count each Parameter
  once, as PyTorch's ``parameters()`` does;
- the multiply-adds:

  - ``Conv*d``: ``output elements * in_channels / groups * prod(kernel_size)``
  - ``ConvTranspose*d``: ``input elements * out_channels / groups * prod(kernel_size)``
    (each input element meets every tap of its group's kernels)
  - ``Linear``: ``in_features * out_features`` per row
  - anything else: 0

- the receptive field and jump of its output, per spatial dim, relative to the
  model's input (``Field`` and ``Jump``; :func:`cnnlab.shapes.receptive_field`'s formula);
- the algorithm the active backend ran for it (convolution and pooling layers;
  see :mod:`cnnlab.backend.algorithms`).

A row is a module with no submodules, or one that owns parameters directly.

Receptive fields follow the tensors, not the order of the calls, so branches
(residual blocks, a spatial transformer's localisation net) are handled: every
layer's output is tagged with its field, and a tensor made by functional code
between layers (``F.relu(x)``, ``x + shortcut``, ``x.view(n, -1)``) takes its
field from its autograd parents: the largest of theirs if they keep the spatial
size and agree on the jump; ``all`` once it is 2-D or a reduction to 1x1.
Convolutions and max/average pooling grow the field by their kernel, dilation and
stride (padding only moves a field, so asymmetric and ``'same'`` padding need
nothing); adaptive pooling acts as a pooling of kernel = stride = ``in / out``
when that divides, and gives ``all`` when it pools to one value; Flatten, and
Linear on flat inputs, give ``all``; activations, normalisation and dropout keep
the field. The field is blank where it cannot be known: a transposed convolution
with stride > 1 (an output sees a varying number of inputs, and the jump would
be a fraction), an adaptive pooling whose windows differ in size, functional
code that changes the spatial size (``F.max_pool2d``, ``F.interpolate``: write
them as layers to see their fields), an input with no spatial dims. Functional
code that keeps the spatial size is taken as pointwise.

>>> from cnnlab.summary import summary
>>> info = summary(lenet, (1, 28, 28))     # prints the table
>>> info.total_params, info.mult_adds
(61706, 416520)
>>> info.rows[3].receptive_field, info.rows[3].jump   # the second convolution
((14, 14), (2, 2))
"""
import math
from collections import namedtuple

import numpy

from . import arguments, backend
from .backend import default_float, is_float
from .backend.algorithms import traced
from .nn import activation
from .nn.conv import _Conv, _ConvTranspose
from .nn.dropout import _DropoutNd
from .nn.linear import Flatten, Identity, Linear
from .nn.normalization import _BatchNorm, GroupNorm, LayerNorm
from .nn.pooling import _AdaptivePool, _AvgPool, _MaxPool
from .shapes import Layer, receptive_field
from .tensor import Tensor, enable_grad

__all__ = ["summary", "summary_columns", "ModelSummary", "SummaryRow", "COLUMNS", "ALL"]

SummaryRow = namedtuple("SummaryRow", ["name", "type", "output_shape", "params", "mult_adds", "algorithm",
                                       "shared_params", "receptive_field", "jump", "activation_bytes"],
                        defaults=["", 0, None, None, 0])
SummaryRow.__doc__ = """One layer call. ``params``: the Parameters it owns not counted on an earlier row;
``shared_params``: those that were; ``receptive_field``, ``jump``: a tuple per spatial dim, :data:`ALL`,
or None (unknown); ``activation_bytes``: the bytes of its output."""

#: The table's columns, in order; ``summary(..., columns=...)`` shows a subset.
COLUMNS = ("layer", "output_shape", "params", "mult_adds", "field", "jump", "memory", "algorithm")
_HEADERS = {"layer": "Layer (type)", "output_shape": "Output Shape", "params": "Param #", "mult_adds": "Mult-Adds",
            "field": "Field", "jump": "Jump", "memory": "Memory", "algorithm": "Algorithm"}
_LEFT_ALIGNED = ("layer", "output_shape", "algorithm")

#: The receptive field of an output that sees the whole input (after global pooling, Flatten, Linear).
ALL = "all"
_CONSTANT = object()   # the "field" of a tensor that does not depend on the input: a parameter, a constant
_KEEP = object()       # a layer that keeps its input's field
_TRACE = object()      # a layer whose field comes from what it computed (see _Fields.of)
_POINTWISE = (*(getattr(activation, name) for name in activation.__all__), _BatchNorm, LayerNorm, GroupNorm,
              _DropoutNd, Identity)


def mult_adds(module, inputs, output):
    """Multiply-adds one call of ``module`` performed (see the module docstring for the formulas)."""
    if isinstance(module, _Conv):
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return output.array.size * per_output
    if isinstance(module, _ConvTranspose):
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].array.size * per_input
    if isinstance(module, Linear):
        return output.array.size * module.in_features
    return 0


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shape_of(o) for o in output]
    return None


def _tensors(output):
    """The Tensors in a module's output (a Tensor, or nested tuples and lists of them)."""
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for o in output for t in _tensors(o)]
    return []


# ------------------------------------------------------------------ receptive fields
def _window_rule(module, x, y):
    """How ``module`` maps its input ``x``'s field to its output ``y``'s: per-dim Layers, ALL, _KEEP, _TRACE, None."""
    if isinstance(module, (_Conv, _MaxPool, _AvgPool)):
        return [Layer(k, s, 0, d) for k, s, d in zip(module.kernel_size, module.stride, module.dilation)]
    if isinstance(module, _ConvTranspose):   # stride 1: each output sees k dilated taps, as a convolution
        if any(s != 1 for s in module.stride):
            return None
        return [Layer(k, 1, 0, d) for k, d in zip(module.kernel_size, module.dilation)]
    if isinstance(module, _AdaptivePool):
        return _adaptive_rule(module.output_size, x.shape[-module.dims:])
    if isinstance(module, Flatten):
        return ALL if y.ndim == 2 else None
    if isinstance(module, Linear):
        return ALL if x.ndim == 2 else None
    return _KEEP if isinstance(module, _POINTWISE) else _TRACE


def _adaptive_rule(output_size, sizes):
    outs = [n if o is None else o for o, n in
            zip((output_size,) * len(sizes) if arguments.is_int(output_size) else output_size, sizes)]
    if all(o == 1 for o in outs):
        return ALL
    if any(n % o for n, o in zip(sizes, outs)):
        return None   # windows of unequal sizes: no single field and jump
    return [Layer(n // o, n // o) for n, o in zip(sizes, outs)]


def _grow(field, layer):
    """One dim's ``(size, jump)`` after ``layer``: a field is itself that of one layer of kernel size, stride jump."""
    size, jump = field
    grown = receptive_field([Layer(size, jump), layer])[-1]
    return grown.size, grown.jump


def _apply(rule, field):
    if field is None or field is _CONSTANT or rule is None:
        return None
    if field == ALL or rule == ALL:
        return ALL
    if rule is _KEEP:
        return field
    if len(rule) != len(field):
        return None
    return tuple(_grow(f, layer) for f, layer in zip(field, rule))


def _size_and_jump(field):
    """A row's ``(receptive_field, jump)`` from a field: per-dim tuples, ``(ALL, None)`` or ``(None, None)``."""
    if field is None or field == ALL:
        return field, None
    return tuple(size for size, _ in field), tuple(jump for _, jump in field)


class _Fields:
    """The receptive field of every tensor of one forward pass, by identity (the tensors are kept alive)."""

    def __init__(self, x, dims):
        self.dims = dims
        self.known = {id(x): (x, ((1, 1),) * dims if dims else None)}

    def after(self, module, inputs, output):
        """Tag ``module``'s output tensors with their field and return it (see the module docstring)."""
        outputs = _tensors(output)
        if not outputs:
            return None
        x = inputs[0] if inputs and isinstance(inputs[0], Tensor) else None
        rule = _TRACE if x is None else _window_rule(module, x, outputs[0])
        if rule is _TRACE:
            field = self.of(outputs[0])
        else:
            field = _apply(rule, self.of(x))
            for y in outputs:
                self.known[id(y)] = (y, field)
        return None if field is _CONSTANT else field

    def of(self, tensor):
        """``tensor``'s field, from its autograd parents' where it is not a tagged layer output."""
        stack = [tensor]
        while stack:
            top = stack[-1]
            waiting = [p for p in top._parents if id(p) not in self.known]
            if id(top) in self.known or not waiting:
                stack.pop()
                if id(top) not in self.known:
                    self.known[id(top)] = (top, self._merge(top, [(p, self.known[id(p)][1]) for p in top._parents]))
            else:
                stack.extend(waiting)
        return self.known[id(tensor)][1]

    def _merge(self, tensor, parents):
        """The field of a tensor computed by functional code from ``parents``, ``(tensor, field)`` pairs."""
        parents = [(p, f) for p, f in parents if f is not _CONSTANT]
        if not parents:
            return _CONSTANT
        if any(f is None for _, f in parents):
            return None
        if tensor.ndim == 2 or any(f == ALL for _, f in parents):
            return ALL
        spatial = tensor.shape[2:] if tensor.ndim == self.dims + 2 else None
        if spatial is None:
            return None
        if any(tuple(p.shape[2:]) != tuple(spatial) or p.ndim != tensor.ndim for p, _ in parents):
            return ALL if all(n == 1 for n in spatial) else None
        jumps = {tuple(jump for _, jump in f) for _, f in parents}
        if len(jumps) != 1:
            return None
        return tuple((max(f[i][0] for _, f in parents), jump) for i, jump in enumerate(jumps.pop()))


# ------------------------------------------------------------------ the table
def _human_bytes(n):
    """``n`` bytes in binary units, one decimal: ``'18.4 KiB'``."""
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"


def _extent(values, collapse=False):
    """A per-dim field or jump as text: ``'16x16'``; ``'4'`` for an equal jump; ``'all'``; blank if unknown."""
    if values is None or values == ALL:
        return values or ""
    if collapse and len(set(values)) == 1:
        return str(values[0])
    return "x".join(map(str, values))


def _cells(row):
    params = f"{row.params:,}" + (f" (+{row.shared_params:,} shared)" if row.shared_params else "")
    return {"layer": f"{row.name} ({row.type})", "output_shape": str(row.output_shape), "params": params,
            "mult_adds": f"{row.mult_adds:,}", "field": _extent(row.receptive_field),
            "jump": _extent(row.jump, collapse=True), "memory": _human_bytes(row.activation_bytes),
            "algorithm": row.algorithm}


def summary_columns(columns):
    """``columns`` (names from :data:`COLUMNS`, a sequence or a comma-separated string) as a tuple; None: all."""
    if columns is None:
        return COLUMNS
    names = tuple(c.strip() for c in columns.split(",")) if isinstance(columns, str) else tuple(columns)
    if not names or any(name not in COLUMNS for name in names) or len(set(names)) != len(names):
        raise arguments.refuse(ValueError, "summary", "columns", f"distinct names from {', '.join(COLUMNS)}",
                               repr(columns))
    return names


class ModelSummary:
    """What ``summary`` found: ``rows`` (:class:`SummaryRow`) and the totals.

    ``str(summary)`` is the printed table; ``summary.table(columns)`` the table with other columns.
    Sizes in bytes: ``input_bytes``, ``activation_bytes`` (each layer output counted once),
    ``params_bytes``, ``total_bytes`` (their sum).
    """

    def __init__(self, model_name, input_shape, rows, total_params, trainable_params, mult_adds, backend="numpy",
                 *, input_bytes=0, activation_bytes=0, params_bytes=0, columns=COLUMNS):
        self.model_name, self.input_shape, self.rows, self.backend = model_name, input_shape, rows, backend
        self.total_params, self.trainable_params = total_params, trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.mult_adds = mult_adds
        self.input_bytes, self.activation_bytes, self.params_bytes = input_bytes, activation_bytes, params_bytes
        self.total_bytes = input_bytes + activation_bytes + params_bytes
        self.columns = summary_columns(columns)

    def table(self, columns=None):
        """The table with ``columns`` (default: those given to ``summary``), its header and its totals."""
        columns = self.columns if columns is None else summary_columns(columns)
        header = [_HEADERS[c] for c in columns]
        body = [[cells[c] for c in columns] for cells in map(_cells, self.rows)]
        widths = [max(len(line[i]) for line in [header] + body) for i in range(len(columns))]

        def format_line(cells):   # text columns left-aligned, numbers right-aligned
            return "  ".join(cell.ljust(w) if c in _LEFT_ALIGNED else cell.rjust(w)
                             for c, cell, w in zip(columns, cells, widths)).rstrip()

        rule = "=" * len(format_line(header))
        lines = [f"{self.model_name}, input {self.input_shape}, backend {self.backend!r}", rule, format_line(header),
                 rule]
        lines += [format_line(cells) for cells in body]
        lines += [rule, f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}", f"Total mult-adds: {self.mult_adds:,}",
                  rule, f"Input size: {_human_bytes(self.input_bytes)}",
                  f"Forward activations: {_human_bytes(self.activation_bytes)}",
                  f"Params size: {_human_bytes(self.params_bytes)}",
                  f"Estimated total size: {_human_bytes(self.total_bytes)}", rule]
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return (f"ModelSummary(total_params={self.total_params}, trainable_params={self.trainable_params}, "
                f"mult_adds={self.mult_adds})")


def summary(model, input_shape, *, batch_size=1, dtype=default_float, columns=None, print_fn=print):
    """Run ``model`` once on zeros of shape ``(batch_size, *input_shape)`` and tabulate its layers.

    Args:
        model: a Module.
        input_shape: one sample's shape, without the batch dimension, e.g. ``(1, 28, 28)``;
            the dims after the first are the spatial ones the receptive fields are given for.
        batch_size: the batch dimension of the pass (shapes, memory and mult-adds are for the whole batch).
        dtype: the input's dtype.
        columns: the columns to print, names from :data:`COLUMNS` (default: all).
        print_fn: called with the table; None to print nothing.

    Returns a :class:`ModelSummary` with ``.rows``, ``.total_params``,
    ``.trainable_params``, ``.non_trainable_params``, ``.mult_adds`` and the sizes in bytes.
    The pass records the autograd graph (to follow functional code between layers),
    so it holds what the forward half of a training step holds.

    >>> summary(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (1, 28, 28)).mult_adds
    7840
    """
    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got batch_size={batch_size!r}")
    columns = summary_columns(columns)
    names = {id(module): name for name, module in model.named_modules()}
    rows, counted, outputs, handles, consumed = [], set(), {}, [], [0]
    x = Tensor(numpy.zeros((batch_size, *input_shape), dtype=dtype))
    x.requires_grad = is_float(x.array)   # so that functional code between layers leaves a graph to follow
    fields = _Fields(x, len(input_shape) - 1)

    def record(module, inputs, output):  # the algorithms chosen since the previous row are this row's
        params, shared = _count_parameters(module, counted)
        kind = type(module).__name__
        chosen, consumed[0] = " + ".join(algorithms[consumed[0]:]), len(algorithms)
        size, jump = _size_and_jump(fields.after(module, inputs, output))
        tensors = _tensors(output)
        outputs.update((id(t), t.array.nbytes) for t in tensors)
        rows.append(SummaryRow(names[id(module)] or kind, kind, _shape_of(output), params,
                               mult_adds(module, inputs, output), chosen, shared, size, jump,
                               sum(t.array.nbytes for t in tensors)))

    modes = {id(module): module.training for module in model.modules()}
    try:
        for module in model.modules():
            if not module._modules or any(True for _ in module.parameters(recurse=False)):
                handles.append(module.register_forward_hook(record))
        model.eval()
        with enable_grad(), traced() as algorithms:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])

    parameters = list(model.parameters())
    result = ModelSummary(type(model).__name__, (batch_size, *input_shape), rows,
                          sum(p.array.size for p in parameters),
                          sum(p.array.size for p in parameters if p.requires_grad),
                          sum(row.mult_adds for row in rows), backend.get_backend(),
                          input_bytes=x.array.nbytes, activation_bytes=sum(outputs.values()),
                          params_bytes=sum(p.array.nbytes for p in parameters), columns=columns)
    if print_fn is not None:
        print_fn(str(result))
    return result


def _count_parameters(module, counted):
    """``(new, shared)``: elements of ``module``'s own Parameters not yet in ``counted`` (then added), and the rest."""
    new = shared = 0
    for p in module.parameters(recurse=False):
        if id(p) in counted:
            shared += p.array.size
        else:
            counted.add(id(p))
            new += p.array.size
    return new, shared
