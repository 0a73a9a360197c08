"""torchvision's ToTensor, Normalize and Compose: one image at a time, or a whole batch through ``batch``.

Each transform is called on one image, as in torchvision, and also offers
``batch(x)`` for a uint8 or float batch (N, C, H, W), which the datasets of
:mod:`cnnlab.vision.datasets` use to hand the loader whole batches. Both paths
compute the same float32 values.

>>> t = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])
>>> t(pil_image).shape          # (1, 28, 28), float32
"""
import numpy as np

from ..data import transforms as batch_transforms
from ..tensor import Tensor


def is_batched(transform):
    """True if ``transform`` can run on a whole batch (it has ``batch``, and so do its parts)."""
    return callable(getattr(transform, "batch", None)) and getattr(transform, "batched", True)


class ToTensor:
    """A PIL image or an (H, W) / (H, W, C) array to a Tensor (C, H, W); uint8 becomes float32 ``x / 255``.

    Other dtypes keep their values, as in torchvision.
    """

    def __call__(self, pic):
        array = np.asarray(pic)
        if array.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic must be an image of shape (H, W) or (H, W, C), got shape {array.shape}")
        array = (array[:, :, None] if array.ndim == 2 else array).transpose(2, 0, 1)
        return Tensor(self.batch(array[None])[0])

    def batch(self, x):
        """A batch (N, C, H, W): uint8 to float32 ``x / 255``; other dtypes unchanged."""
        x = np.asarray(x)
        return batch_transforms.uint8_to_float(x) if x.dtype == np.uint8 else np.ascontiguousarray(x)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """Per-channel ``(x[c] - mean[c]) / std[c]`` on a float Tensor (C, H, W), as :class:`cnnlab.data.Normalize`.

    Args:
        mean: a sequence of C floats (or one float for every channel).
        std: a sequence of C positive floats (or one float).
    """

    def __init__(self, mean, std, inplace=False):
        self._normalize = batch_transforms.Normalize(mean, std)
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        array = np.asarray(tensor)
        if array.ndim != 3:
            raise ValueError(f"Normalize: tensor must be an image of shape (C, H, W), got shape {array.shape}")
        return Tensor(self.batch(array[None])[0])

    def batch(self, x):
        """A float batch (N, C, H, W), normalised channel by channel."""
        return self._normalize(x)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Compose:
    """Apply ``transforms`` in order, to one image or (when every one can) to a batch."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for k, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms must be callables, got item {k} of type {type(t).__name__}")

    @property
    def batched(self):
        """True if every transform has a batch form."""
        return all(is_batched(t) for t in self.transforms)

    def __call__(self, image):
        for t in self.transforms:
            image = t(image)
        return image

    def batch(self, x):
        """The batch (N, C, H, W) through every transform's ``batch``."""
        for t in self.transforms:
            x = t.batch(x)
        return x

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"
