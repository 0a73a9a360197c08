"""Every conv and pool layer's activations for one image, a row of maps per layer."""
import numpy as np

from ..inspect import feature_maps
from .figure import image_tiles, mosaic, new_figure, save_figure, scale_each


def plot_feature_maps(model, image, path, max_channels=12, info=None):
    """Draw ``image`` and the activation maps of every conv and pool layer of ``model`` to ``path`` (PNG).

    Args:
        model: a :class:`cnnlab.nn.Module` taking ``(N, C, H, W)`` batches.
        image: one input ``(C, H, W)`` (uint8 is scaled to [0, 1]) or ``(1, C, H, W)``.
        path: the image file to write, atomically.
        max_channels: maps drawn per layer (the first ones); the row's label says how many there are.
        info: the model file's info, for input normalisation (see :func:`cnnlab.inspect.to_input`).

    Each map is stretched to its own min..max (bright: high); the label gives the layer's range.

    >>> plot_feature_maps(models.create("lenet5"), digit, "features.png")
    """
    layers = feature_maps(model, image, info)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no conv or pool layer with 2-D maps to draw")
    image = np.asarray(image)
    figure = new_figure(12, 1.25 * (len(layers) + 1))
    axes = figure.subplots(len(layers) + 1, 1, squeeze=False)[:, 0]
    axes[0].imshow(image_tiles(image.reshape((1,) + image.shape[-3:]))[0], cmap="gray", interpolation="nearest")
    axes[0].set_title(f"input {'x'.join(map(str, image.shape[-3:]))}", fontsize=9, loc="left")
    for ax, (name, kind, maps) in zip(axes[1:], layers):
        shown = maps[:max_channels]
        ax.imshow(mosaic(scale_each(shown), 1, len(shown), gap=max(1, maps.shape[-1] // 10)),
                  cmap=_cmap(), interpolation="nearest")
        count = f"{len(shown)} of {len(maps)} maps" if len(shown) < len(maps) else f"{len(maps)} maps"
        ax.set_title(f"{name}  {kind}  {'x'.join(map(str, maps.shape))}  ({count}; "
                     f"values {maps.min():.3g} to {maps.max():.3g})", fontsize=9, loc="left")
    for ax in axes:
        ax.set_axis_off()
    return save_figure(figure, path)


def _cmap():
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="white")
