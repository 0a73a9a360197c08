"""What every plot shares: a pyplot-free Figure, atomic PNG writes and image mosaics."""
import contextlib
import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..io import atomic_write

# What matplotlib would fill with the time of writing: left out, so the same plot gives the same bytes.
_NO_DATES = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}


def new_figure(width, height):
    """A matplotlib Figure of ``width`` x ``height`` inches, not registered with pyplot (nothing to close)."""
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure, path, dpi=120):
    """Write ``figure`` to ``path`` (format from its extension) atomically, then close it if pyplot owns it.

    The same figure gives the same bytes: no dates in PDF or SVG files, and SVG
    element ids drawn from a fixed salt instead of a random one.
    """
    fmt = str(path).rsplit(".", 1)[-1].lower()
    buffer = io.BytesIO()
    salt = matplotlib.rc_context({"svg.hashsalt": "cnnlab"}) if fmt == "svg" else contextlib.nullcontext()
    with salt:
        figure.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_NO_DATES.get(fmt))
    if figure.canvas.manager is not None:  # made by pyplot: release it
        import matplotlib.pyplot as plt

        plt.close(figure)
    atomic_write(path, buffer.getvalue())
    return path


def mosaic(tiles, rows, cols, gap=1, fill=np.nan):
    """Tiles ``(n, h, w[, 3])`` laid out ``rows`` x ``cols`` in one array with ``gap``-pixel gutters of ``fill``.

    >>> mosaic(np.zeros((6, 5, 5)), 2, 3).shape
    (11, 17)
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    n, h, w = tiles.shape[:3]
    grid = np.full((rows * cols, h + gap, w + gap) + tiles.shape[3:], fill)
    grid[:n, :h, :w] = tiles
    grid = grid.reshape(rows, cols, h + gap, w + gap, *tiles.shape[3:]).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + gap), cols * (w + gap), *tiles.shape[3:])
    return grid[:rows * (h + gap) - gap, :cols * (w + gap) - gap]


def scale_each(tiles):
    """Each tile (first axis) stretched from its own min..max to 0..1; constant tiles become 0."""
    tiles = np.asarray(tiles, dtype=np.float64)
    axes = tuple(range(1, tiles.ndim))
    low, high = tiles.min(axis=axes, keepdims=True), tiles.max(axis=axes, keepdims=True)
    return (tiles - low) / np.where(high > low, high - low, 1.0)


def image_tiles(images):
    """uint8 or float images ``(N, C, H, W)`` or ``(N, H, W)`` as ``(N, H, W)`` or ``(N, H, W, 3)`` floats in 0..1."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    if images.dtype == np.uint8:
        return images / 255.0
    return scale_each(images)
