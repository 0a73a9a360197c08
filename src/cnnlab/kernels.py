"""Named 3x3 image kernels and :func:`apply`, which filters an image with one.

:func:`apply` computes a **correlation**, as image-processing tools (OpenCV's
``filter2D``, GIMP, Photoshop) and CNN layers do: the kernel is laid on the
image as written, its top-left weight on the top-left neighbour. A true
convolution would flip it first. For kernels that equal their own 180-degree
rotation (identity, blurs, sharpen, the Laplacians, ``edge``) the two agree;
for ``sobel_x``, ``sobel_y`` and ``emboss`` the flip changes the sign or the
direction of the response.
"""
import difflib

import numpy as np

from . import signal

_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "edge4": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "edge8": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "box_blur": np.ones((3, 3)) / 9,
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}

_DESCRIPTIONS = {
    "identity": "returns the image unchanged",
    "edge": "diagonal differences: responds to edges and corners, zero on flat areas",
    "edge4": "centre minus its 4 neighbours (the negative Laplacian)",
    "edge8": "centre minus its 8 neighbours: edges in every direction",
    "sobel_x": "horizontal gradient, positive where brightness grows to the right (vertical edges)",
    "sobel_y": "vertical gradient, positive where brightness grows downwards (horizontal edges)",
    "laplacian": "discrete Laplacian: sum of the 4 neighbours minus 4 times the centre",
    "box_blur": "mean of the 3x3 neighbourhood",
    "gaussian_blur": "binomial 1-2-1 weights, a 3x3 Gaussian (sigma about 0.85)",
    "sharpen": "identity plus edge4: boosts local contrast",
    "emboss": "directional difference plus the centre: a relief effect",
}

BOUNDARIES = ("reflect", "zero", "replicate")
NORMALIZATIONS = ("clip", "minmax", None)
_PAD_MODES = {"reflect": "reflect", "zero": "constant", "replicate": "edge"}


def names():
    """Names of the built-in kernels, sorted.

    >>> names()[:3]
    ['box_blur', 'edge', 'edge4']
    """
    return sorted(_KERNELS)


def describe(name):
    """A one-line description of the built-in kernel ``name``."""
    return _DESCRIPTIONS[_canonical(name)]


def get(name):
    """The built-in kernel ``name`` as a new float64 array of shape (3, 3).

    Names are case-insensitive and ``-`` may stand for ``_``; an unknown name
    raises a ValueError that suggests the nearest known ones.

    >>> get("sharpen")
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    return np.array(_KERNELS[_canonical(name)], dtype=np.float64)


def gaussian(size, sigma):
    """A ``size`` x ``size`` Gaussian kernel with standard deviation ``sigma`` (in pixels), summing to 1.

    Samples ``exp(-(x^2 + y^2) / (2 sigma^2))`` at offsets ``x, y = i - (size - 1) / 2``
    from the centre and divides by the sum.

    >>> k = gaussian(5, 1.0)
    >>> k.shape, float(round(k.sum(), 12)), bool(k[2, 2] == k.max())
    ((5, 5), 1.0, True)
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"gaussian: size must be a positive integer, got size={size!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or not sigma > 0:
        raise ValueError(f"gaussian: sigma must be a positive number, got sigma={sigma!r}")
    if not np.isfinite(sigma):
        raise ValueError(f"gaussian: sigma must be finite, got sigma={sigma!r}")
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2.0 * float(sigma) ** 2))
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def apply(image, kernel, boundary="reflect", normalize="clip"):
    """Filter ``image`` with ``kernel`` (a correlation), channel by channel; alpha is kept as it is.

    Args:
        image: ``(H, W)`` grayscale, ``(H, W, 2)`` grayscale + alpha, ``(H, W, 3)`` RGB
            or ``(H, W, 4)`` RGBA; ``uint8`` (0..255) or floating point (0..1).
        kernel: a name from :func:`names` or a 2-D array with odd height and width.
        boundary: how the image is extended past its edges: ``'reflect'``
            (mirror without repeating the edge pixel: ``c b | a b c | b a``),
            ``'zero'`` or ``'replicate'`` (repeat the edge pixel).
        normalize: ``'clip'`` (clip to the valid range), ``'minmax'`` (stretch
            the result's min..max, over all colour channels, to the valid range)
            or ``None`` (raw values).

    Formula (per channel, ``kernel`` of shape ``(2r+1, 2s+1)``, ``image`` extended by ``boundary``)::

        out[y, x] = sum_{i, j} kernel[i, j] * image[y + i - r, x + j - s]

    Returns the image's shape. ``uint8`` in gives ``uint8`` out with ``'clip'``
    or ``'minmax'`` and float64 with ``None``; a float image keeps its dtype.

    >>> img = np.zeros((4, 4), np.uint8); img[:, 2:] = 100     # a vertical step
    >>> apply(img, "sobel_x", normalize=None)[0]
    array([  0., 400., 400.,   0.])
    """
    kernel = as_kernel(kernel)
    image = np.asarray(image)
    _check_image(image)
    if boundary not in BOUNDARIES:
        raise ValueError(f"apply: boundary must be 'reflect', 'zero' or 'replicate', got boundary={boundary!r}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"apply: normalize must be 'clip', 'minmax' or None, got normalize={normalize!r}")

    colour, alpha = _split_alpha(image)
    planes = colour.astype(np.float64).reshape(colour.shape[:2] + (-1,)).transpose(2, 0, 1)  # (C, H, W)
    r, s = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(planes, [(0, 0), (r, r), (s, s)], mode=_PAD_MODES[boundary])
    out = signal.correlate(padded, kernel[None], mode="valid").transpose(1, 2, 0).reshape(colour.shape)
    return _join_alpha(_finish(out, image.dtype, normalize), alpha)


def _canonical(name):
    if not isinstance(name, str):
        raise TypeError(f"kernels: name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in _KERNELS:
        close = difflib.get_close_matches(key, _KERNELS, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ValueError(f"unknown kernel name {name!r}; {hint}known kernels: {', '.join(names())}")
    return key


def as_kernel(kernel):
    """A kernel given by name or as an array, checked and returned as a new float64 array.

    A usable kernel is 2-D, non-empty, finite, with odd height and width (so
    it has a centre pixel). Names go through :func:`get`.

    >>> as_kernel([[1, 2, 1]])
    array([[1., 2., 1.]])
    """
    if isinstance(kernel, str):
        return get(kernel)
    array = np.asarray(kernel)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"kernel must hold real numbers, got dtype={array.dtype}")
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {array.shape}")
    if array.shape[0] % 2 == 0 or array.shape[1] % 2 == 0:
        raise ValueError(f"kernel must have odd height and width so that it has a centre, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("kernel must hold finite numbers, got a NaN or an infinity")
    return array.astype(np.float64)


def _check_image(image):
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        raise TypeError(f"apply: image must be uint8 or floating point, got dtype={image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 2, 3, 4))):
        raise ValueError(f"apply: image must have shape (H, W) or (H, W, C) with C in 1..4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"apply: image must not be empty, got shape {image.shape}")


def _split_alpha(image):
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return image[..., :-1], image[..., -1:]
    return image, None


def _finish(out, dtype, normalize):
    top = 255.0 if dtype == np.uint8 else 1.0
    if normalize == "minmax":
        low, high = out.min(), out.max()
        out = (out - low) * (top / (high - low)) if high > low else np.zeros_like(out)
    if normalize is not None:
        out = np.clip(out, 0.0, top)
    if dtype == np.uint8:
        return np.rint(out).astype(np.uint8) if normalize is not None else out
    return out.astype(dtype, copy=False)


def _join_alpha(out, alpha):
    if alpha is None:
        return out
    return np.concatenate([out, alpha.astype(out.dtype, copy=False)], axis=-1)
