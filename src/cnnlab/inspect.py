"""Look inside a model: every layer's activations, and one convolution output worked out by hand.

Pure NumPy (Pillow only to read image files), so both the plots of
:mod:`cnnlab.viz` and the ``cnnlab explain`` server use it.

>>> from cnnlab import models
>>> from cnnlab.data import MNISTSample
>>> from cnnlab.inspect import feature_maps, explain_conv
>>> model, image = models.create("lenet5"), MNISTSample(train=False).data[0]   # uint8 (1, 28, 28)
>>> [(name, kind, maps.shape) for name, kind, maps in feature_maps(model, image)][:2]
[('features.0', 'Conv2d', (6, 28, 28)), ('features.2', 'MaxPool2d', (6, 14, 14))]
>>> explain_conv(model, image, "features.0", channel=3, y=5, x=7)["value"]
"""
import os
from collections import namedtuple

import numpy as np

from .backend import to_numpy
from .data.images import ImageTooLarge, read_image
from .nn import activation, dropout, normalization
from .nn.conv import Conv2d, _ConvNd
from .nn.pooling import _AdaptivePool, _Pool
from .tensor import Tensor, no_grad

__all__ = ["Call", "ImageTooLarge", "explain_conv", "feature_maps", "load_model", "prepare_image", "probabilities",
           "to_input", "trace"]

#: One call of a leaf module during a forward pass: its first input and its output, as the Tensors it saw.
Call = namedtuple("Call", ["name", "module", "input", "output"])

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# Element-wise layers that may follow a convolution; the explain panel shows them as further steps.
_ELEMENTWISE = (activation.ReLU, activation.LeakyReLU, activation.ELU, activation.GELU, activation.Softplus,
                activation.Sigmoid, activation.Tanh, normalization.BatchNorm2d, dropout.Dropout)


# ------------------------------------------------------------------ models
def load_model(source):
    """``(model, info, notice)`` for a saved model file or a zoo name, ready for inspection (eval mode).

    A model file must carry ``input_shape`` ([C, H, W]) in its info; ``classes``
    default to the output indices. A zoo name gives the untrained model and a
    notice saying so.

    >>> model, info, notice = load_model("lenet5")
    >>> info["input_shape"], notice is not None
    ([1, 28, 28], True)
    """
    from . import models
    from .io import load, read_info

    source = os.fspath(source)
    if os.path.isfile(source):
        info = dict(read_info(source))
        shape = info.get("input_shape")
        if not (isinstance(shape, (list, tuple)) and len(shape) == 3 and all(isinstance(n, int) and n > 0
                                                                               for n in shape)):
            raise ValueError(f"{source}: the model's info needs input_shape as [channels, height, width], got "
                             f"input_shape={shape!r}; save it with cnnlab.save(model, path, "
                             f"info={{'input_shape': [1, 28, 28], 'classes': [...]}})")
        model, notice = load(source), None
    elif source in models.names():
        spec = models.spec(source)
        info = {"model": source, "dataset": spec.dataset, "input_shape": list(spec.input_shape),
                "classes": _dataset_classes(spec.dataset)}
        model = models.create(source)
        notice = (f"{source} has untrained (random) weights: its predictions are chance. "
                  f"Pass a trained model file to see what a network learned.")
    else:
        raise ValueError(f"MODEL must be a model file or a zoo model name ({', '.join(models.names())}), "
                         f"got {source!r}, which is neither")
    info["input_shape"] = [int(n) for n in info["input_shape"]]
    model.eval()
    return model, info, notice


def _dataset_classes(name):
    if name == "mnist":
        from .data import MNIST

        return list(MNIST.classes)
    return list(CIFAR10_CLASSES) if name == "cifar10" else None


# ------------------------------------------------------------------ images
def prepare_image(source, input_shape, invert="auto"):
    """An image as the model's uint8 ``(C, H, W)`` input: decoded, flattened onto white, fitted and resized.

    Args:
        source: image file bytes, a path, a PIL image, or a uint8 array (H, W), (H, W, C) or (C, H, W).
        input_shape: the model's ``(C, H, W)``; C is 1 (grayscale) or 3 (RGB).
        invert: for 1-channel models, ``'auto'`` turns dark-on-light images (bright
            border) into MNIST's light-on-dark; True or False force it.

    The image is padded to the input's aspect ratio with its border colour, then
    resized with Lanczos filtering. Raises ValueError for anything that is not an image.
    """
    from PIL import Image, ImageOps

    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ValueError(f"prepare_image: only 1- or 3-channel inputs are images, got input_shape={tuple(input_shape)}")
    image = _open_image(source)
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    image = image.convert("L" if channels == 1 else "RGB")
    border = _border_colour(np.asarray(image))
    if image.width * height != image.height * width:  # pad to the target aspect ratio
        scale = max(image.width / width, image.height / height)
        size = (max(round(width * scale), image.width), max(round(height * scale), image.height))
        image = ImageOps.pad(image, size, color=border if channels == 3 else int(border[0]))
    array = np.asarray(image.resize((width, height), Image.LANCZOS), dtype=np.uint8)
    array = array.reshape(height, width, channels).transpose(2, 0, 1)
    if channels == 1 and (bool(invert) if invert != "auto" else border[0] > 127):
        array = 255 - array
    return np.ascontiguousarray(array)


def _open_image(source):
    from PIL import Image

    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        array = source.transpose(1, 2, 0) if source.ndim == 3 and source.shape[-1] not in (1, 3, 4) else source
        array = array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array
        return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    return read_image(source)


def _border_colour(array):
    """The median colour of an image's one-pixel border, as a tuple of ints."""
    array = array.reshape(array.shape[0], array.shape[1], -1)
    edges = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return tuple(int(v) for v in np.median(edges, axis=0))


def to_input(images, info=None):
    """uint8 images ``(C, H, W)`` or ``(N, C, H, W)`` (floats are used as they are) as a float32 batch.

    uint8 is scaled to [0, 1]; if ``info`` holds ``normalize: {"mean": [...], "std": [...]}``
    (or ``mean`` and ``std``), ``(x - mean) / std`` per channel follows.
    """
    images = np.asarray(images)
    x = images.astype(np.float32) / np.float32(255) if images.dtype == np.uint8 else images.astype(np.float32)
    x = x[None] if x.ndim == 3 else x
    if x.ndim != 4:
        raise ValueError(f"expected an image (C, H, W) or a batch (N, C, H, W), got shape {images.shape}")
    stats = (info or {}).get("normalize") or info or {}
    if "mean" in stats and "std" in stats:
        mean = np.asarray(stats["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(stats["std"], dtype=np.float32).reshape(1, -1, 1, 1)
        x = (x - mean) / std
    return x


def _one_image(image, info):
    x = to_input(image, info)
    if x.shape[0] != 1:
        raise ValueError(f"expected one image (C, H, W) or (1, C, H, W), got a batch of shape {x.shape}")
    return x


# ------------------------------------------------------------- activations
def trace(model, x):
    """Run ``model`` on the batch ``x`` (eval mode, no gradients) and record every leaf module's call, in order.

    Returns ``(calls, output)``: a list of :data:`Call` and the model's output Tensor. Tensors are kept
    (not just their arrays) so that identity tells which layer fed which.
    """
    names = {id(module): name for name, module in model.named_modules()}
    calls, handles = [], []

    def record(module, inputs, output):
        first = inputs[0] if inputs else None
        calls.append(Call(names[id(module)], module, first, output))

    for _, module in model.named_modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            output = model(x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32)))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return calls, output


def _array(value):
    return to_numpy(value.array if isinstance(value, Tensor) else value)


def is_map_layer(module):
    """True for the layers whose outputs :func:`feature_maps` shows: convolutions and pooling."""
    return isinstance(module, (_ConvNd, _Pool, _AdaptivePool))


def feature_maps(model, image, info=None):
    """``[(layer name, layer type, activations (C, H, W))]`` for every conv and pool layer, in call order.

    Args:
        model: a :class:`cnnlab.nn.Module` taking ``(N, C, H, W)`` batches.
        image: one input ``(C, H, W)`` or ``(1, C, H, W)``; uint8 is scaled to [0, 1] (see :func:`to_input`).
        info: the model file's info, for input normalisation.

    A layer called more than once appears once per call, the later ones named ``name#2``, ...

    >>> [(n, t, a.shape) for n, t, a in feature_maps(models.create("lenet5"), digit)]
    [('features.0', 'Conv2d', (6, 28, 28)), ('features.2', 'MaxPool2d', (6, 14, 14)),
     ('features.3', 'Conv2d', (16, 10, 10)), ('features.5', 'MaxPool2d', (16, 5, 5))]
    """
    calls, _ = trace(model, _one_image(image, info))
    return _map_layers(calls)


def _map_layers(calls):
    layers, seen = [], {}
    for call in calls:
        output = _array(call.output)
        if is_map_layer(call.module) and output.ndim == 4:
            seen[call.name] = seen.get(call.name, 0) + 1
            name = call.name if seen[call.name] == 1 else f"{call.name}#{seen[call.name]}"
            layers.append((name, type(call.module).__name__, output[0]))
    return layers


def probabilities(calls, output):
    """Class probabilities for a batch of one: softmax of the outputs, unless the model ends in (Log)Softmax."""
    logits = _array(output).reshape(-1).astype(np.float64)
    last = calls[-1].module if calls else None
    if isinstance(last, activation.Softmax):
        return logits
    if isinstance(last, activation.LogSoftmax):
        return np.exp(logits)
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


# --------------------------------------------------------------- explain
def explain_conv(model, image, layer, channel, y, x, info=None, calls=None):
    """One output value of a Conv2d layer, worked out by hand from the real input and weights.

    The value at ``(channel, y, x)`` is ``bias[channel] + sum(patch * kernel)`` where
    ``patch`` is the (padded) input window at rows ``y * stride + i * dilation`` and the
    kernel is ``weight[channel]`` over the channels of its group.

    Args:
        model, image, info: as :func:`feature_maps` (``calls``, from :func:`trace`, saves a forward pass).
        layer: the conv layer's qualified name, e.g. ``'features.0'``.
        channel, y, x: which output value.

    Returns a JSON-able dict: ``patch``, ``weights`` and ``products`` (in_channels/groups, kH, kW),
    ``channel_sums``, ``sum``, ``bias``, ``value`` (sum + bias), ``actual`` (the forward pass's value)
    and ``steps``, the element-wise layers after the conv (activation, batch norm) with their outputs.
    """
    if calls is None:
        calls, _ = trace(model, _one_image(image, info))
    index = next((i for i, call in enumerate(calls) if call.name == layer), None)
    if index is None:
        conv_names = [call.name for call in calls if isinstance(call.module, Conv2d)]
        raise ValueError(f"layer must be one of the model's Conv2d layers ({', '.join(conv_names)}), got {layer!r}")
    conv, inputs, output = calls[index].module, _array(calls[index].input), _array(calls[index].output)
    if not isinstance(conv, Conv2d):
        raise ValueError(f"layer {layer!r} is a {type(conv).__name__}; the arithmetic is shown for Conv2d layers")
    _, out_channels, out_h, out_w = output.shape
    for name, value, limit in (("channel", channel, out_channels), ("y", y, out_h), ("x", x, out_w)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < limit:
            raise ValueError(f"{name} must be an int in 0..{limit - 1} for layer {layer!r} "
                             f"(output shape {output.shape[1:]}), got {name}={value!r}")
    per_group = conv.in_channels // conv.groups
    first = channel // (out_channels // conv.groups) * per_group
    (top, bottom), (left, right) = conv._padding_pairs(inputs.shape[2:])
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[conv.padding_mode]
    padded = np.pad(inputs[0, first:first + per_group], ((0, 0), (top, bottom), (left, right)), mode=mode)
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    patch = padded[:, y * sh:y * sh + dh * (kh - 1) + 1:dh, x * sw:x * sw + dw * (kw - 1) + 1:dw].astype(np.float64)
    weights = to_numpy(conv.weight.array[channel]).astype(np.float64)
    products = patch * weights
    bias = float(conv.bias.array[channel]) if conv.bias is not None else 0.0
    total = float(products.sum())
    producer, after = _producer(calls, index)
    return {
        "layer": layer, "type": type(conv).__name__, "channel": int(channel), "y": int(y), "x": int(x),
        "kernel_size": [kh, kw], "stride": [sh, sw], "dilation": [dh, dw], "groups": conv.groups,
        "padding": [[top, bottom], [left, right]], "padding_mode": conv.padding_mode,
        "input_layer": producer, "input_after": after, "input_channels": [first, first + per_group],
        # where the window starts in the unpadded input (negative: it overlaps the padding)
        "window": {"top": y * sh - top, "left": x * sw - left,
                   "height": dh * (kh - 1) + 1, "width": dw * (kw - 1) + 1},
        "patch": patch.tolist(), "weights": weights.tolist(), "products": products.tolist(),
        "channel_sums": products.sum(axis=(1, 2)).tolist(), "sum": total, "bias": bias, "value": total + bias,
        "actual": float(output[0, channel, y, x]),
        "steps": _following_steps(calls, index, channel, y, x),
    }


def _producer(calls, index):
    """``(name, steps)``: the conv or pool layer whose output, after the element-wise ``steps``, is the input."""
    source, steps = calls[index].input, []
    for call in reversed(calls[:index]):
        if call.output is not source:
            continue
        if is_map_layer(call.module):
            return call.name, steps[::-1]
        if not isinstance(call.module, _ELEMENTWISE):
            break
        steps.append(type(call.module).__name__)
        source = call.input
    return "input", []


def _following_steps(calls, index, channel, y, x):
    """The element-wise layers applied to a conv's output right after it, each with its formula and value."""
    steps, current = [], calls[index].output
    for call in calls[index + 1:]:
        if call.input is not current or not isinstance(call.module, _ELEMENTWISE):
            break
        current = call.output
        steps.append({"layer": call.name, "type": type(call.module).__name__,
                      "formula": _formula(call.module, channel), "value": float(_array(current)[0, channel, y, x])})
    return steps


def _formula(module, channel):
    if isinstance(module, normalization.BatchNorm2d):
        mean, var = float(module.running_mean.array[channel]), float(module.running_var.array[channel])
        gamma = float(module.weight.array[channel]) if module.weight is not None else 1.0
        beta = float(module.bias.array[channel]) if module.bias is not None else 0.0
        return f"(v - {mean:.4g}) / sqrt({var:.4g} + {module.eps:g}) * {gamma:.4g} + {beta:.4g}"
    if isinstance(module, dropout.Dropout):
        return "v (dropout is off at inference)"
    if isinstance(module, activation.LeakyReLU):
        return f"v if v > 0 else {module.negative_slope:g} * v"
    return {"ReLU": "max(0, v)", "ReLU6": "min(max(0, v), 6)", "Sigmoid": "1 / (1 + exp(-v))", "Tanh": "tanh(v)",
            "ELU": "v if v > 0 else alpha * (exp(v) - 1)", "GELU": "v * Phi(v)", "Softplus": "log(1 + exp(v))",
            "SiLU": "v * sigmoid(v)"}.get(type(module).__name__, f"{type(module).__name__}(v)")
