"""ImageFolder: ``root/<class>/<image>`` files loaded once into one array."""
import os

import numpy as np

from .dataset import ImageDataset
from .images import read_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
_CHANNELS = {"L": 1, "RGB": 3}


def find_classes(root):
    """The sorted names of the class folders in ``root`` (hidden folders, such as ``.git``, are not classes)."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"ImageFolder: root must be an existing folder; got {os.path.abspath(root)}")
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))


def find_images(root):
    """``(classes, samples, skipped)`` of ``root/<class>/<file>``.

    ``classes``: sorted class folder names; ``samples``: sorted ``(path, class_index)``
    pairs of the image files; ``skipped``: the other files in class folders, by
    extension (hidden files, such as ``.DS_Store``, are neither).
    """
    classes = find_classes(root)
    if not classes:
        raise ValueError(f"ImageFolder: no class folders in {os.path.abspath(root)}; expected root/<class>/<image>")
    samples, skipped, empty = [], [], []
    for index, name in enumerate(classes):
        files = sorted(e.path for e in os.scandir(os.path.join(root, name))
                       if e.is_file() and not e.name.startswith("."))
        images = [path for path in files if path.lower().endswith(IMAGE_EXTENSIONS)]
        samples += [(path, index) for path in images]
        skipped += [path for path in files if not path.lower().endswith(IMAGE_EXTENSIONS)]
        if not images:
            empty.append(name)
    if empty:
        raise ValueError(
            f"ImageFolder: class folder(s) {empty} in {os.path.abspath(root)} hold no images "
            f"(extensions {', '.join(IMAGE_EXTENSIONS)})"
        )
    return classes, samples, skipped


def load_image(path, mode, size):
    """One image file as uint8 (C, H, W): converted to ``mode``, resized (bilinear) to ``size`` = (H, W) if given.

    Unreadable files, unknown formats and images over :data:`~cnnlab.data.images.MAX_PIXELS` raise one
    ValueError line naming the file (see :func:`~cnnlab.data.images.read_image`).
    """
    from PIL import Image

    image = read_image(path).convert(mode)
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array.reshape(array.shape[0], array.shape[1], -1).transpose(2, 0, 1)


class ImageFolder(ImageDataset):
    """Images sorted into one folder per class, as ``torchvision.datasets.ImageFolder``, held in one array.

    Layout: ``root/<class name>/<image file>``; classes are the sorted folder
    names and ``targets`` index into them. Every image is read once (Pillow),
    converted to ``mode`` and, if ``size`` is given, resized with bilinear
    filtering, so the whole dataset is one uint8 array and batches are one gather.

    Args:
        root: the folder of class folders.
        size: int or (H, W) to resize every image to; None requires all images
            to share one size already.
        mode: 'RGB' (3 channels) or 'L' (1 channel, grey).

    Files in class folders without an image extension (``notes.txt``) are
    skipped and listed in ``skipped``; a file with an image extension that is
    not a readable image is an error naming it.

    Attributes:
        data: uint8 (N, C, H, W). targets: int64 (N,). classes: sorted names.
        samples: list of (path, class_index), in the order of ``data``.
        skipped: paths of the files in class folders that were not read.

    >>> ds = ImageFolder("pets", size=64)
    >>> ds.data.shape, ds.classes
    ((200, 3, 64, 64), ['cat', 'dog'])
    """

    def __init__(self, root, size=None, mode="RGB"):
        if mode not in _CHANNELS:
            raise ValueError(f"ImageFolder: mode must be 'L' or 'RGB'; got mode={mode!r}")
        if size is not None:
            size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
            if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
                raise ValueError(f"ImageFolder: size must be None, a positive int or a pair (H, W); got size={size!r}")
        self.root, self.size, self.mode = os.fspath(root), size, mode
        classes, self.samples, self.skipped = find_images(self.root)
        images = [load_image(path, mode, size) for path, _ in self.samples]
        shapes = {image.shape for image in images}
        if len(shapes) > 1:
            first = images[0].shape
            odd = next(path for (path, _), image in zip(self.samples, images) if image.shape != first)
            raise ValueError(
                f"ImageFolder: images differ in size ({self.samples[0][0]} is {first[1]}x{first[2]}, "
                f"{odd} is not); pass size=(H, W) to resize them"
            )
        targets = np.array([index for _, index in self.samples], dtype=np.int64)
        super().__init__(np.stack(images), targets, classes)

    def __repr__(self):
        return f"ImageFolder({self.root!r}, n={len(self)}, classes={len(self.classes)})"
