"""A convolution layer's kernels as a grid of small images."""
import math

import numpy as np

from ..nn.conv import Conv2d
from .figure import mosaic, new_figure, save_figure, scale_each

MAX_KERNELS = 16  # per axis of a deep layer's (out, in) grid; twice as many for a first layer


def conv_layers(model):
    """``[(qualified name, Conv2d)]`` of ``model`` (itself included), in registration order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, Conv2d)]


def find_conv(model_or_layer, layer=None):
    """``(name, Conv2d)``: ``model_or_layer`` itself, the layer called ``layer``, or the first conv layer."""
    if isinstance(model_or_layer, Conv2d) and layer is None:
        return type(model_or_layer).__name__, model_or_layer
    convs = conv_layers(model_or_layer)
    if not convs:
        raise ValueError(f"{type(model_or_layer).__name__} has no Conv2d layer whose kernels could be shown")
    if layer is None:
        return convs[0]
    for name, module in convs:
        if name == layer:
            return name, module
    raise ValueError(f"layer must name a Conv2d layer of the model ({', '.join(n for n, _ in convs)}), "
                     f"got layer={layer!r}")


def plot_kernels(model_or_layer, path, layer=None, max_kernels=MAX_KERNELS):
    """Draw a Conv2d layer's kernels to ``path`` (PNG).

    Args:
        model_or_layer: a model (its first Conv2d layer, or ``layer``) or a Conv2d layer.
        path: the image file to write, atomically.
        layer: the qualified name of the conv layer in the model, e.g. ``'features.3'``.
        max_kernels: at most this many output (and input) channels are drawn; the title says so.

    A layer whose kernels see 3 channels (the first layer of a colour model) is drawn
    as one RGB image per output channel, each stretched to its own range; a
    1-channel one as one image per output channel; deeper layers as a grid with
    a row per output channel and a column per input channel. Weights of one
    sign are red, the other blue, on one scale for the whole figure.

    >>> plot_kernels(models.create("lenet5"), "kernels.png", layer="features.3")
    """
    name, conv = find_conv(model_or_layer, layer)
    weight = np.asarray(conv.weight.array, dtype=np.float64)  # (out, in / groups, kh, kw)
    out_channels, in_channels, kh, kw = weight.shape
    title = f"{name}: {conv!r}"
    if in_channels in (1, 3):
        return _plot_first_layer(weight, title, path, max_kernels * 2)
    shown_out, shown_in = min(out_channels, max_kernels), min(in_channels, max_kernels)
    grid = mosaic(weight[:shown_out, :shown_in].reshape(-1, kh, kw), shown_out, shown_in)
    note = f"kernel[out, in], {kh}x{kw} each"
    if shown_out < out_channels or shown_in < in_channels:
        note += f"; first {shown_out} of {out_channels} output x {shown_in} of {in_channels} input channels shown"
    side = min(11, max(4, 0.3 * max(shown_in, shown_out) * max(kh, kw) / 3))
    figure = new_figure(side * shown_in / max(shown_in, shown_out) + 1.5, side * shown_out / max(shown_in, shown_out))
    ax = figure.subplots()
    _draw_weights(figure, ax, grid)
    _index_ticks(ax.set_xticks, ax.set_xticklabels, shown_in, kw)
    _index_ticks(ax.set_yticks, ax.set_yticklabels, shown_out, kh)
    ax.set_xlabel("input channel")
    ax.set_ylabel("output channel")
    ax.set_title(f"{title}\n{note}", fontsize=9)
    return save_figure(figure, path)


def _plot_first_layer(weight, title, path, max_kernels):
    """One small image per output channel: RGB for 3 input channels, signed colours for 1."""
    out_channels, in_channels, kh, kw = weight.shape
    shown = min(out_channels, max_kernels)
    cols = min(shown, 8)
    rows = math.ceil(shown / cols)
    figure = new_figure(1.1 * cols + (1.2 if in_channels == 1 else 0.2), 1.15 * rows + 0.6)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    limit = float(np.abs(weight[:shown]).max()) or 1.0
    rgb = scale_each(weight[:shown]).transpose(0, 2, 3, 1) if in_channels == 3 else None
    for index, ax in enumerate(axes):
        ax.set_axis_off()
        if index >= shown:
            continue
        if rgb is not None:
            ax.imshow(rgb[index], interpolation="nearest")
        else:
            image = ax.imshow(weight[index, 0], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(str(index), fontsize=8)
    if rgb is None:
        figure.colorbar(image, ax=axes.tolist(), shrink=0.8, label="weight")
    note = f"{out_channels} kernels {kh}x{kw}" + (" x RGB, each scaled to its own range" if rgb is not None else "")
    if shown < out_channels:
        note += f"; first {shown} shown"
    figure.suptitle(f"{title}\n{note}", fontsize=9)
    return save_figure(figure, path)


def _draw_weights(figure, ax, grid):
    limit = float(np.nanmax(np.abs(grid))) or 1.0
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=_diverging(), vmin=-limit, vmax=limit, interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label="weight")


def _diverging():
    from matplotlib import colormaps

    return colormaps["RdBu_r"].with_extremes(bad="0.6")  # grey gutters, unlike the white of a zero weight


def _index_ticks(set_ticks, set_labels, count, size):
    """Ticks at tile centres labelled with channel indices (every few when there are many)."""
    step = max(1, math.ceil(count / 16))
    indices = list(range(0, count, step))
    set_ticks([i * (size + 1) + (size - 1) / 2 for i in indices])
    set_labels([str(i) for i in indices], fontsize=7)
