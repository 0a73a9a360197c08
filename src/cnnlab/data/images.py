"""Reading image files: the one reader every command, dataset and the explainer use.

:func:`read_image` opens a file (or its bytes) with Pillow, refuses images with
more than ``max_pixels`` pixels from the header alone, before any pixel is
decoded, so a few-kilobyte PNG that would decode to gigabytes (a decompression
bomb) costs nothing, and turns everything Pillow can raise into one ValueError
line that names the file. Only the raster formats below are read: Pillow's
other plugins include some that run external programs (EPS runs Ghostscript).

>>> image = read_image("digit.png")            # a loaded PIL image
>>> read_image(b"hello")
Traceback (most recent call last):
ValueError: cannot read the image data: not an image format Pillow knows (PNG, JPEG, GIF, BMP, TIFF, WebP, PPM/PGM)
"""
import io
import os
import warnings

#: The largest image :func:`read_image` decodes by default: 40 M pixels (160 MB as RGBA), a 7,000 x 5,700 photo.
MAX_PIXELS = 40_000_000
#: Pillow's names of the formats read (JPEG includes MPO, the variant many cameras write; PPM includes PGM).
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
_KNOWN = "PNG, JPEG, GIF, BMP, TIFF, WebP, PPM/PGM"


class ImageTooLarge(ValueError):
    """An image with more pixels than allowed (a decompression bomb, or just too big), refused before decoding."""


def read_image(source, max_pixels=MAX_PIXELS, name=None):
    """The image in ``source``, decoded, as a PIL image; every failure is one line naming the file.

    Args:
        source: a path, or the file's bytes.
        max_pixels: the most pixels (width x height) accepted. Checked from the
            header, before decoding: a bomb is refused at the cost of reading its header.
        name: what messages call the image; default: the path's repr, or "the image data".

    Raises:
        FileNotFoundError: ``source`` names no file.
        ImageTooLarge: the image has more than ``max_pixels`` pixels.
        ValueError: a directory, not an image in one of :data:`FORMATS`, or a damaged or truncated file.

    >>> read_image("photo.jpg").size
    (640, 480)
    """
    data = isinstance(source, (bytes, bytearray, memoryview))
    label = name or ("the image data" if data else repr(os.fspath(source)))
    if not data:
        _check_path(os.fspath(source), label)
    image = _open(io.BytesIO(source) if data else os.fspath(source), label, max_pixels)
    with image:  # closes the file (if Pillow opened one); the decoded pixels stay
        width, height = image.size
        if width * height > max_pixels:
            raise _too_large(label, f"{width}x{height} = {width * height:,}", max_pixels)
        try:
            image.load()
        except MemoryError:
            raise
        except Exception as error:  # decoders raise OSError, SyntaxError, EOFError, struct.error...
            raise ValueError(f"cannot read {label}: a damaged or truncated image ({_line(error)})") from None
    return image


def _check_path(path, label):
    if not os.path.exists(path):
        raise FileNotFoundError(f"cannot read {label}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"cannot read {label}: a directory, not an image file")


def _too_large(label, pixels, max_pixels):
    return ImageTooLarge(f"cannot read {label}: it has {pixels} pixels; the limit is {max_pixels:,} "
                         f"(refused before decoding)")


def _open(file, label, max_pixels):
    """``Image.open`` limited to :data:`FORMATS`, its errors and its bomb check made ours (header only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # the size is checked by read_image; Pillow's warning is noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(file, formats=FORMATS)
    except Image.DecompressionBombError:  # over twice Pillow's own limit: it does not say the size
        raise _too_large(label, f"more than {2 * Image.MAX_IMAGE_PIXELS:,}", max_pixels) from None
    except UnidentifiedImageError:
        raise ValueError(f"cannot read {label}: not an image format Pillow knows ({_KNOWN})") from None
    except MemoryError:
        raise
    except Exception as error:  # a broken header: SyntaxError, OSError, struct.error...
        raise ValueError(f"cannot read {label}: a damaged or truncated image ({_line(error)})") from None


def _line(error):
    """``error`` as one short line: its first line, or its type's name when it has no text."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
