"""One exporter per cnnlab layer: ``exporter(graph, call, x)`` adds the layer's ONNX nodes, returns its output.

The attributes are written in full, whatever ONNX's defaults: explicit ``pads`` in
ONNX's order ``[x1_begin, x2_begin, ..., x1_end, x2_end]`` (never ``auto_pad``),
``count_include_pad`` on every AveragePool (ONNX's default, 0, is the opposite of
PyTorch's), ``ceil_mode=0`` with any extra window of cnnlab's ``ceil_mode`` written
as end padding (onnxruntime drops a last window that starts in the right padding,
as cnnlab and PyTorch do; ONNX shape inference keeps it, so ``ceil_mode=1`` would make
the two disagree). Padding is the padding applied to the traced input: a strided
'same' convolution's depends on the input's size, which is fixed (only the batch
is dynamic). Dropout is left out: at inference it is the identity.
"""
import numpy as np

from .. import nn
from ..models.stn import SpatialTransformerNet
from ._export_calls import export_call, exports


def onnx_pads(pairs):
    """``(before, after)`` per spatial dim in ONNX's order: ``[x1_begin, x2_begin, ..., x1_end, x2_end]``.

    >>> onnx_pads([(0, 1), (2, 3)])
    [0, 2, 1, 3]
    """
    return [int(before) for before, _ in pairs] + [int(after) for _, after in pairs]


def _spatial(call):
    """The spatial sizes of the call's input and output."""
    return call.input.shape[2:], call.output.shape[2:]


# ---------------------------------------------------------------- convolution
_PAD_MODES = {"reflect": ("reflect", 11), "replicate": ("edge", 11), "circular": ("wrap", 19)}


@exports(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def conv(graph, call, x):
    """Conv with the padding applied to the traced input; reflect, replicate or circular padding as a Pad node."""
    module = call.module
    pairs = module._padding_pairs(call.input.shape[2:])
    if module.padding_mode != "zeros":
        x = _pad(graph, x, pairs, *_PAD_MODES[module.padding_mode], f"{call.node}/pad")
        pairs = ((0, 0),) * len(pairs)
    return graph.add("Conv", [x, *_weights(graph, call)], call.node, kernel_shape=list(module.kernel_size),
                     strides=list(module.stride), pads=onnx_pads(pairs), dilations=list(module.dilation),
                     group=module.groups)


@exports(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def conv_transpose(graph, call, x):
    """ConvTranspose: the weight ``(C_in, C_out / groups, *kernel)`` is ONNX's layout too."""
    module = call.module
    return graph.add("ConvTranspose", [x, *_weights(graph, call)], call.node,
                     kernel_shape=list(module.kernel_size), strides=list(module.stride),
                     pads=onnx_pads([(p, p) for p in module.padding]), output_padding=list(module.output_padding),
                     dilations=list(module.dilation), group=module.groups)


def _weights(graph, call):
    names = ["weight"] + (["bias"] if call.module.bias is not None else [])
    return [graph.weight(call.key(name), getattr(call.module, name)) for name in names]


def _pad(graph, x, pairs, mode, opset, name, value=None):
    """``x`` padded by ``pairs`` over its spatial dims (the first two axes, N and C, not padded)."""
    inputs = [x, graph.constant(f"{name}/pads", onnx_pads([(0, 0), (0, 0), *pairs]))]
    if value is not None:
        inputs.append(graph.constant(f"{name}/value", value, np.float32))
    return graph.add("Pad", inputs, name, opset=opset, mode=mode)


# ---------------------------------------------------------------- dense
@exports(nn.Linear)
def linear(graph, call, x):
    """``Gemm(transB=1)`` on (N, in) inputs (the weight is (out, in)); ``MatMul`` and ``Add`` on more dims."""
    weights = _weights(graph, call)
    if call.input.ndim == 2:
        return graph.add("Gemm", [x, *weights], call.node, alpha=1.0, beta=1.0, transA=0, transB=1)
    transposed = graph.add("Transpose", [weights[0]], f"{call.node}/weight_t", perm=[1, 0])
    if len(weights) == 1:
        return graph.add("MatMul", [x, transposed], call.node)
    product = graph.add("MatMul", [x, transposed], f"{call.node}/matmul")
    return graph.add("Add", [product, weights[1]], call.node)


@exports(nn.Flatten)
def flatten(graph, call, x):
    """``Flatten(axis=1)`` for the usual ``start_dim=1, end_dim=-1``, else a Reshape that keeps the batch axis."""
    module, ndim = call.module, call.input.ndim
    start, end = module.start_dim % ndim, module.end_dim % ndim
    if start == 0:
        raise ValueError(f"{call.where()} flattens the batch axis (start_dim={module.start_dim}); export keeps "
                         f"the batch axis and its size dynamic")
    if (start, end) == (1, ndim - 1):
        return graph.add("Flatten", [x], call.node, axis=1)
    shape = [0, *call.output.shape[1:]]
    return graph.add("Reshape", [x, graph.constant(f"{call.node}/shape", shape)], call.node)


@exports(nn.Identity, nn.Dropout, nn.Dropout2d)
def identity(graph, call, x):
    return x


# ---------------------------------------------------------------- normalisation
@exports(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def batch_norm(graph, call, x):
    """``BatchNormalization`` with the running statistics (inference); the scale and shift are 1 and 0 if not affine."""
    module = call.module
    if module.running_mean is None:
        raise ValueError(f"{call.where()} keeps no running statistics (track_running_stats=False), so it normalises "
                         f"with each batch's own; export needs running statistics")
    scale, shift = _affine(graph, call, module.num_features)
    mean, var = (graph.weight(call.key(name), getattr(module, name)) for name in ("running_mean", "running_var"))
    return graph.add("BatchNormalization", [x, scale, shift, mean, var], call.node, epsilon=float(module.eps))


def _affine(graph, call, size, weight="weight", bias="bias"):
    """The names of the layer's scale and shift, or Constants of ones and zeros when it has none."""
    module = call.module
    scale = getattr(module, weight, None)
    shift = getattr(module, bias, None)
    return (graph.weight(call.key(weight), scale) if scale is not None
            else graph.constant(f"{call.node}/ones", np.ones(size), np.float32),
            graph.weight(call.key(bias), shift) if shift is not None
            else graph.constant(f"{call.node}/zeros", np.zeros(size), np.float32))


@exports(nn.LayerNorm)
def layer_norm(graph, call, x):
    module = call.module
    shape = module.normalized_shape
    scale, shift = _affine(graph, call, shape)
    return graph.add("LayerNormalization", [x, scale, shift], call.node, axis=-len(shape), epsilon=float(module.eps))


@exports(nn.GroupNorm)
def group_norm(graph, call, x):
    """InstanceNormalization over ``(N, groups, -1)``, reshaped back, then the per-channel scale and shift.

    (ONNX's GroupNormalization takes a per-channel scale only from opset 21.)
    """
    module, node = call.module, call.node
    groups = module.num_groups
    grouped = graph.add("Reshape", [x, graph.constant(f"{node}/groups", [0, groups, -1])], f"{node}/grouped")
    ones = graph.constant(f"{node}/ones", np.ones(groups), np.float32)
    zeros = graph.constant(f"{node}/zeros", np.zeros(groups), np.float32)
    normed = graph.add("InstanceNormalization", [grouped, ones, zeros], f"{node}/normalized",
                       epsilon=float(module.eps))
    shape = graph.add("Shape", [x], f"{node}/shape")
    if module.weight is None:
        return graph.add("Reshape", [normed, shape], node)
    normed = graph.add("Reshape", [normed, shape], f"{node}/ungrouped")
    per_channel = graph.constant(f"{node}/per_channel", [module.num_channels] + [1] * (call.input.ndim - 2))
    scale = graph.add("Reshape", [graph.weight(call.key("weight"), module.weight), per_channel], f"{node}/scale")
    shift = graph.add("Reshape", [graph.weight(call.key("bias"), module.bias), per_channel], f"{node}/shift")
    return graph.add("Add", [graph.add("Mul", [normed, scale], f"{node}/scaled"), shift], node)


# ---------------------------------------------------------------- activations
_PLAIN = {nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh"}


@exports(*_PLAIN)
def plain_activation(graph, call, x):
    return graph.add(_PLAIN[type(call.module)], [x], call.node)


@exports(nn.ReLU6)
def relu6(graph, call, x):
    low, high = (graph.constant(f"{call.node}/{name}", value, np.float32) for name, value in (("min", 0), ("max", 6)))
    return graph.add("Clip", [x, low, high], call.node)


@exports(nn.LeakyReLU)
def leaky_relu(graph, call, x):
    return graph.add("LeakyRelu", [x], call.node, alpha=float(call.module.negative_slope))


@exports(nn.ELU)
def elu(graph, call, x):
    return graph.add("Elu", [x], call.node, alpha=float(call.module.alpha))


@exports(nn.GELU)
def gelu(graph, call, x):
    return graph.add("Gelu", [x], call.node, approximate=call.module.approximate)


@exports(nn.SiLU)
def silu(graph, call, x):
    """``x * sigmoid(x)``."""
    return graph.add("Mul", [x, graph.add("Sigmoid", [x], f"{call.node}/sigmoid")], call.node)


@exports(nn.Softplus)
def softplus(graph, call, x):
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold``, as cnnlab computes it."""
    module, node = call.module, call.node
    beta = graph.constant(f"{node}/beta", module.beta, np.float32)
    scaled = graph.add("Mul", [x, beta], f"{node}/scaled")
    smooth = graph.add("Div", [graph.add("Softplus", [scaled], f"{node}/softplus"), beta], f"{node}/smooth")
    threshold = graph.constant(f"{node}/threshold", module.threshold, np.float32)
    linear = graph.add("Greater", [scaled, threshold], f"{node}/linear")
    return graph.add("Where", [linear, x, smooth], node)


@exports(nn.Softmax, nn.LogSoftmax)
def softmax(graph, call, x):
    op = "Softmax" if isinstance(call.module, nn.Softmax) else "LogSoftmax"
    return graph.add(op, [x], call.node, axis=call.module.dim % call.input.ndim)


# ---------------------------------------------------------------- pooling
def _pool_pairs(call):
    """``(before, after)`` per spatial dim: the layer's padding, and at the end the rows ceil_mode adds.

    The end padding makes ``floor((n + before + after - dilation (k - 1) - 1) / stride) + 1`` equal to
    the output size cnnlab computed, so ``ceil_mode=0`` everywhere gives cnnlab's windows.
    """
    module = call.module
    pairs = []
    for n, out, k, s, p, d in zip(*_spatial(call), module.kernel_size, module.stride, module.padding,
                                  module.dilation):
        extra = max((out - 1) * s + d * (k - 1) + 1 - (n + 2 * p), 0)
        pairs.append((p, p + extra))
    return pairs


def _window(module):
    return {"kernel_shape": list(module.kernel_size), "strides": list(module.stride)}


@exports(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
def max_pool(graph, call, x):
    """MaxPool; padding as large as the kernel (a dilated window's ceil rows) goes in a Pad node of -inf.

    (onnxruntime refuses MaxPool pads that are not smaller than the kernel.)
    """
    module, pairs = call.module, _pool_pairs(call)
    if any(after >= k for (_, after), k in zip(pairs, module.kernel_size)):
        x = _pad(graph, x, pairs, "constant", 11, f"{call.node}/pad", value=-np.inf)
        pairs = [(0, 0)] * len(pairs)
    return graph.add("MaxPool", [x], call.node, **_window(module), pads=onnx_pads(pairs),
                     dilations=list(module.dilation), ceil_mode=0)


@exports(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def avg_pool(graph, call, x):
    """AveragePool, dividing as cnnlab does: by the window (count_include_pad), its real elements, or the override.

    ``count_include_pad=True`` counts the padding but not the rows ceil_mode adds past it:
    when there are such rows, the padding becomes a zero Pad node, and the AveragePool
    counts what that holds and pads only the ceil rows (``count_include_pad=0``). With a
    ``divisor_override`` every window is padded whole, averaged, and rescaled.
    """
    module, node = call.module, call.node
    pairs, include = _pool_pairs(call), int(module.count_include_pad)
    if module.divisor_override is not None:
        x = _pad(graph, x, pairs, "constant", 11, f"{node}/pad")
        pairs, include = [(0, 0)] * len(pairs), 0
    elif include and any(after > before for before, after in pairs):
        if any(before for before, _ in pairs):
            x = _pad(graph, x, [(before, before) for before, _ in pairs], "constant", 11, f"{node}/pad")
        pairs, include = [(0, after - before) for before, after in pairs], 0
    name = node if module.divisor_override is None else f"{node}/mean"
    mean = graph.add("AveragePool", [x], name, **_window(module), pads=onnx_pads(pairs), ceil_mode=0,
                     count_include_pad=include)
    if module.divisor_override is None:
        return mean
    factor = graph.constant(f"{node}/factor", np.prod(module.kernel_size) / module.divisor_override, np.float32)
    return graph.add("Mul", [mean, factor], node)


def _adaptive(op, global_op):
    """An adaptive pool as the global pool (output 1) or a fixed pool (sizes that divide); refused otherwise."""
    def export(graph, call, x):
        sizes, outs = _spatial(call)
        if all(out == 1 for out in outs):
            return graph.add(global_op, [x], call.node)
        if any(n % out for n, out in zip(sizes, outs)):
            raise ValueError(f"{call.where()} pools {'x'.join(map(str, sizes))} to {'x'.join(map(str, outs))}; "
                             f"ONNX has no adaptive pooling, so export needs output sizes that divide the input's "
                             f"(or 1)")
        kernel = [n // out for n, out in zip(sizes, outs)]
        extra = {"count_include_pad": 0} if op == "AveragePool" else {}
        return graph.add(op, [x], call.node, kernel_shape=kernel, strides=kernel, pads=[0] * 2 * len(kernel),
                         ceil_mode=0, **extra)
    return export


exports(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)(_adaptive("AveragePool", "GlobalAveragePool"))
exports(nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)(_adaptive("MaxPool", "GlobalMaxPool"))


# ---------------------------------------------------------------- the spatial transformer
@exports(SpatialTransformerNet)
def spatial_transformer(graph, call, x):
    """Localisation net, ``theta`` (N, 2, 3), AffineGrid over the input's shape, GridSample, then the classifier.

    The sampling is :meth:`SpatialTransformerNet.transform`'s: bilinear ('linear' in
    ONNX's opset 20), zero padding, ``align_corners=False``. AffineGrid's size is the
    input's Shape, so the batch stays dynamic (shape inference needs ``data_prop=True``
    to see the fixed sizes behind it).
    """
    module = call.module
    prefix = f"{call.name}." if call.name else ""
    features = export_call(graph, _child(call, module.localization), x)
    theta = export_call(graph, _child(call, module.fc_loc), features)
    theta = graph.add("Reshape", [theta, graph.constant(f"{prefix}transform/theta_shape", [0, 2, 3])],
                      f"{prefix}transform/theta")
    size = graph.add("Shape", [x], f"{prefix}transform/size")
    grid = graph.add("AffineGrid", [theta, size], f"{prefix}transform/affine_grid", align_corners=0)
    warped = graph.add("GridSample", [x, grid], f"{prefix}transform/grid_sample", mode="linear",
                       padding_mode="zeros", align_corners=0)
    return export_call(graph, _child(call, module.classifier),
                       export_call(graph, _child(call, module.features), warped))


def _child(call, module):
    """The call of ``module`` among ``call``'s sub-calls."""
    for child in call.calls:
        if child.module is module:
            return child
    raise ValueError(f"{call.where()} did not call {type(module).__name__} in its forward pass")
