"""Transforms on whole batches of images (N, C, H, W), vectorised: no loop over samples or pixels.

Random transforms draw every sample's parameters at once from the
``numpy.random.Generator`` they are called with; the :class:`DataLoader`
passes its per-epoch generator, so a seeded run is reproducible.

>>> augment = Compose([ToFloat(), RandomCrop(28, padding=4), Normalize(0.1307, 0.3081)])
>>> x = augment(images, np.random.default_rng(0))     # images: uint8 (N, 1, 28, 28)
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pair(value, name, owner):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"{owner}: {name} must be a positive int or a pair of them; got {name}={value!r}")
    return int(pair[0]), int(pair[1])


def uint8_to_float(x):
    """uint8 values 0..255 as float32 in [0, 1]: ``x / 255``."""
    return x.astype(np.float32) / np.float32(255)


class Transform:
    """Base class: ``t(x, rng)`` maps a batch (N, C, H, W) to a batch; subclasses implement ``apply(x, rng)``.

    ``rng`` is a ``numpy.random.Generator``; when omitted, cnnlab's default
    generator is used (so ``cnnlab.manual_seed`` makes it reproducible).
    """

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(
                f"{type(self).__name__}: expects a batch of images of shape (N, C, H, W); got shape {x.shape}"
            )
        if rng is None:
            from ..random import default_generator

            rng = default_generator()
        return self.apply(x, rng)

    def apply(self, x, rng):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Compose(Transform):
    """Apply ``transforms`` in order; :class:`Transform` s get the shared ``rng``, plain callables only ``x``.

    >>> Compose([ToFloat(), RandomHorizontalFlip()])(images, rng).dtype
    dtype('float32')
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for k, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable; item {k} is a {type(t).__name__}")

    def apply(self, x, rng):
        for t in self.transforms:
            x = t(x, rng) if isinstance(t, Transform) else np.asarray(t(x))
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToFloat(Transform):
    """uint8 images in [0, 255] to float32 in [0, 1] (``x / 255``); float batches pass through.

    >>> ToFloat()(np.full((1, 1, 1, 2), 255, np.uint8))
    array([[[[1., 1.]]]], dtype=float32)
    """

    def apply(self, x, rng):
        if x.dtype == np.uint8:
            return uint8_to_float(x)
        if x.dtype.kind == "f":
            return x
        raise TypeError(f"ToFloat: expects uint8 images or a float batch; got dtype {x.dtype}")


class Normalize(Transform):
    """Per-channel standardisation: ``out[:, c] = (x[:, c] - mean[c]) / std[c]``.

    Args:
        mean: float, or a sequence of C floats.
        std: float, or a sequence of C floats, all positive.

    >>> Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))   # CIFAR-10
    Normalize(mean=(0.4914, 0.4822, 0.4465), std=(0.247, 0.2435, 0.2616))
    """

    def __init__(self, mean, std):
        self.mean = tuple(float(m) for m in np.atleast_1d(mean))
        self.std = tuple(float(s) for s in np.atleast_1d(std))
        if len(self.mean) != len(self.std):
            raise ValueError(
                f"Normalize: mean and std must have the same number of values; "
                f"got {len(self.mean)} and {len(self.std)} (mean={mean!r}, std={std!r})"
            )
        if not all(s > 0 for s in self.std):
            raise ValueError(f"Normalize: every std must be positive; got std={std!r}")

    def apply(self, x, rng):
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expects a float batch; got dtype {x.dtype} (put ToFloat() first)")
        channels = x.shape[1]
        if len(self.mean) not in (1, channels):
            raise ValueError(
                f"Normalize: needs one mean/std per channel ({channels}) or a single value; "
                f"got {len(self.mean)} for a batch of shape {x.shape}"
            )
        mean = np.asarray(self.mean, x.dtype).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def __repr__(self):
        mean = self.mean[0] if len(self.mean) == 1 else self.mean
        std = self.std[0] if len(self.std) == 1 else self.std
        return f"Normalize(mean={mean}, std={std})"


def random_crop(x, size, padding, rng):
    """Zero-pad ``x`` (N, C, H, W) by ``padding`` on each side, then cut an (h, w) window at a random place per sample.

    All windows come from one fancy index into a ``sliding_window_view``.
    """
    h, w = size
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, height, width = x.shape
    if h > height or w > width:
        raise ValueError(
            f"RandomCrop: size must fit in the padded image; got size=({h}, {w}) "
            f"for images of {height - 2 * padding}x{width - 2 * padding} with padding={padding}"
        )
    top = rng.integers(0, height - h + 1, size=n)
    left = rng.integers(0, width - w + 1, size=n)
    windows = sliding_window_view(x, (h, w), axis=(2, 3))  # (N, C, H-h+1, W-w+1, h, w), no copy
    return windows[np.arange(n), :, top, left]  # (N, C, h, w)


class RandomCrop(Transform):
    """Pad with zeros, then crop each image at a random position, as ``torchvision.transforms.RandomCrop``.

    Args:
        size: int or (h, w), the output size.
        padding: int, zero rows/columns added on every side first.

    Shape: (N, C, H, W) -> (N, C, h, w).

    >>> RandomCrop(32, padding=4)(cifar_batch, rng).shape    # (N, 3, 32, 32)
    """

    def __init__(self, size, padding=0):
        self.size = _pair(size, "size", "RandomCrop")
        if not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int; got padding={padding!r}")
        self.padding = int(padding)

    def apply(self, x, rng):
        return random_crop(x, self.size, self.padding, rng)

    def __repr__(self):
        padding = f", padding={self.padding}" if self.padding else ""
        return f"RandomCrop(size={self.size}{padding})"


class RandomShift(Transform):
    """Shift each image by a random whole number of pixels in [-max_shift, max_shift] along each axis; zero fill.

    The same as ``RandomCrop(size=(H, W), padding=max_shift)``.

    >>> RandomShift(2)(mnist_batch, rng).shape               # (N, 1, 28, 28)
    """

    def __init__(self, max_shift):
        if not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be a non-negative int; got max_shift={max_shift!r}")
        self.max_shift = int(max_shift)

    def apply(self, x, rng):
        return random_crop(x, x.shape[2:], self.max_shift, rng)

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``.

    >>> RandomHorizontalFlip(p=1.0)(x, rng) == x[..., ::-1]     # all True
    """

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1]; got p={p!r}")
        self.p = float(p)

    def apply(self, x, rng):
        flip = rng.random(len(x)) < self.p
        return np.where(flip[:, None, None, None], x[..., ::-1], x)

    def __repr__(self):
        return "RandomHorizontalFlip()" if self.p == 0.5 else f"RandomHorizontalFlip(p={self.p})"


def _corner(x, iy, ix, weight):
    """``weight * x[n, :, iy, ix]`` with zeros where (iy, ix) falls outside the image; (N, H, W, C)."""
    _, _, height, width = x.shape
    inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
    n = np.arange(len(x))[:, None, None]
    values = x[n, :, np.clip(iy, 0, height - 1), np.clip(ix, 0, width - 1)]
    return values * (weight * inside)[..., None]


def rotate_translate(x, angles, shifts, interpolation="bilinear"):
    """Rotate each image counter-clockwise by ``angles[i]`` degrees about its centre, then shift it by ``shifts[i]``.

    Inverse mapping: output pixel ``p`` (column, row) samples the input at
    ``R(-angle) (p - c - shift) + c``, where ``c = ((W-1)/2, (H-1)/2)`` and rows
    grow downward, by bilinear or nearest interpolation; samples falling outside
    the image read zeros (``grid_sample(..., padding_mode='zeros', align_corners=True)``).
    Integer inputs are rounded back to their dtype.

    Args:
        x: array (N, C, H, W).
        angles: (N,) degrees, positive = counter-clockwise as displayed.
        shifts: (N, 2) pixels ``(dx, dy)``, positive = right and down.
        interpolation: 'bilinear' or 'nearest'.

    >>> rotate_translate(x, np.full(len(x), 90.0), np.zeros((len(x), 2)))   # == np.rot90(x, axes=(2, 3))
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"rotate_translate: interpolation must be 'bilinear' or 'nearest'; got {interpolation!r}")
    _, _, height, width = x.shape
    theta = np.deg2rad(np.asarray(angles, np.float64))[:, None, None]
    shifts = np.asarray(shifts, np.float64).reshape(-1, 2)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    dx = cols - (width - 1) / 2 - shifts[:, 0, None, None]  # (N, H, W)
    dy = rows - (height - 1) / 2 - shifts[:, 1, None, None]
    src_x = np.cos(theta) * dx - np.sin(theta) * dy + (width - 1) / 2
    src_y = np.sin(theta) * dx + np.cos(theta) * dy + (height - 1) / 2
    work = x if x.dtype.kind == "f" else x.astype(np.float32)
    if interpolation == "nearest":
        out = _corner(work, np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64), 1.0)
    else:
        x0, y0 = np.floor(src_x), np.floor(src_y)
        wx, wy = (src_x - x0).astype(work.dtype), (src_y - y0).astype(work.dtype)
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        out = (
            _corner(work, y0, x0, (1 - wy) * (1 - wx))
            + _corner(work, y0, x0 + 1, (1 - wy) * wx)
            + _corner(work, y0 + 1, x0, wy * (1 - wx))
            + _corner(work, y0 + 1, x0 + 1, wy * wx)
        )
    out = np.moveaxis(out, -1, 1)  # (N, H, W, C) -> (N, C, H, W)
    if x.dtype.kind != "f":
        info = np.iinfo(x.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return np.ascontiguousarray(out, dtype=x.dtype)


class RandomAffine(Transform):
    """Small random rotations and shifts, each sample its own, as a light ``torchvision.transforms.RandomAffine``.

    Args:
        degrees: d for angles uniform in [-d, d], or a pair (lo, hi). Positive = counter-clockwise.
        translate: None, or (a, b): shifts uniform in [-a W, a W] horizontally and [-b H, b H]
            vertically (fractions of the size; not rounded to whole pixels).
        interpolation: 'bilinear' (default) or 'nearest'.

    Uncovered pixels become 0. See :func:`rotate_translate` for the mapping.

    >>> RandomAffine(degrees=10, translate=(0.1, 0.1))(mnist_batch, rng).shape   # (N, 1, 28, 28)
    """

    def __init__(self, degrees, translate=None, interpolation="bilinear"):
        if isinstance(degrees, (int, float, np.number)):
            if degrees < 0:
                raise ValueError(
                    f"RandomAffine: degrees must be non-negative when a single number; got degrees={degrees!r}"
                )
            degrees = (-float(degrees), float(degrees))
        degrees = tuple(float(d) for d in degrees)
        if len(degrees) != 2 or degrees[0] > degrees[1]:
            raise ValueError(
                f"RandomAffine: degrees must be a number or a pair (lo, hi) with lo <= hi; got degrees={degrees!r}"
            )
        if translate is not None:
            translate = tuple(float(t) for t in translate)
            if len(translate) != 2 or not all(0 <= t <= 1 for t in translate):
                raise ValueError(
                    "RandomAffine: translate must be None or a pair of fractions in [0, 1]; "
                    f"got translate={translate!r}"
                )
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomAffine: interpolation must be 'bilinear' or 'nearest'; got {interpolation!r}")
        self.degrees, self.translate, self.interpolation = degrees, translate, interpolation

    def apply(self, x, rng):
        n, _, height, width = x.shape
        angles = rng.uniform(*self.degrees, size=n)
        limits = np.zeros(2) if self.translate is None else np.multiply(self.translate, (width, height))
        shifts = rng.uniform(-limits, limits, size=(n, 2))
        return rotate_translate(x, angles, shifts, self.interpolation)

    def __repr__(self):
        extras = "" if self.translate is None else f", translate={self.translate}"
        if self.interpolation != "bilinear":
            extras += f", interpolation={self.interpolation!r}"
        return f"RandomAffine(degrees={self.degrees}{extras})"
