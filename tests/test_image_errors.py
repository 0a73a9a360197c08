"""Every unreadable image is one line: read_image's refusals, and every command that reads images, run for real."""
import io
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

import cnnlab
from cnnlab import models
from cnnlab.data.images import MAX_PIXELS, ImageTooLarge, read_image
from helpers import bomb_png, png_bytes


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory):
    """``{kind: path}``: a decompression bomb, a truncated PNG and a text file named .png."""
    folder = tmp_path_factory.mktemp("images")
    whole = png_bytes(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    files = {"bomb": bomb_png(), "truncated": whole[: len(whole) // 2], "text": b"just some notes\n"}
    paths = {}
    for kind, data in files.items():
        paths[kind] = folder / f"{kind}.png"
        paths[kind].write_bytes(data)
    return paths


@pytest.fixture
def no_decoding(monkeypatch):
    """Make decoding pixels fail the test: refusals must come from the header alone."""
    def load(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


# ------------------------------------------------------------ read_image
def test_a_bomb_is_refused_from_its_header(bad_images, no_decoding):
    assert len(bad_images["bomb"].read_bytes()) < 100_000
    with pytest.raises(ImageTooLarge, match=r"cannot read '.*bomb.png': it has more than 178,956,970 pixels; "
                                             r"the limit is 40,000,000 \(refused before decoding\)"):
        read_image(bad_images["bomb"])


def test_an_image_over_the_cap_is_refused_before_decoding(no_decoding):
    data = bomb_png(7000, 6000)  # under Pillow's own limits, over the cap
    with pytest.raises(ImageTooLarge, match=r"cannot read the image data: it has 7000x6000 = 42,000,000 pixels; "
                                             r"the limit is 40,000,000"):
        read_image(data)
    with pytest.raises(ImageTooLarge, match=r"cannot read upload: it has 7000x6000 = 42,000,000 pixels; "
                                             r"the limit is 1,000,000"):
        read_image(data, max_pixels=1_000_000, name="upload")


def test_the_cap_changes_nothing_process_wide():
    limit, filters = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not escape either
        with pytest.raises(ImageTooLarge):
            read_image(bomb_png(10000, 10000), max_pixels=10**6)  # over Pillow's warning limit, under its error
        assert read_image(bomb_png(10000, 9000), max_pixels=10**8).size == (10000, 9000)
    assert Image.MAX_IMAGE_PIXELS == limit and warnings.filters == filters and MAX_PIXELS == 40_000_000


def test_damaged_and_foreign_files(bad_images, tmp_path):
    with pytest.raises(ValueError, match=r"cannot read '.*truncated.png': a damaged or truncated image \(.+\)$"):
        read_image(bad_images["truncated"])
    with pytest.raises(ValueError, match=r"cannot read '.*text.png': not an image format Pillow knows \(PNG, JPEG"):
        read_image(bad_images["text"])
    with pytest.raises(FileNotFoundError, match=r"cannot read '.*missing.png': no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"cannot read '.*': a directory, not an image file"):
        read_image(tmp_path)


def test_only_raster_formats_are_opened():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"  # Pillow would run Ghostscript on it
    with pytest.raises(ValueError, match="not an image format Pillow knows"):
        read_image(eps)
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM"):
        buffer = io.BytesIO()
        Image.new("RGB", (5, 3), "red").save(buffer, format=fmt)
        image = read_image(buffer.getvalue())
        assert image.size == (5, 3) and image.format == fmt
        assert np.asarray(image.convert("RGB"))[1, 2, 0] > 200  # decoded, usable after the file is closed


# -------------------------------------------------------------- commands
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    cnnlab.save(models.create("lenet5"), path, info={"model": "lenet5", "input_shape": [1, 28, 28],
                                                      "classes": [str(i) for i in range(10)]})
    return path


def cnnlab_command(*argv):
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, argv)], capture_output=True, text=True,
                          timeout=300)


COMMANDS = {
    "predict": lambda model, image, out: ["predict", model, image],
    "filter": lambda model, image, out: ["filter", image, "-k", "edge", "-o", out / "edges.png"],
    "viz": lambda model, image, out: ["viz", "features", model, image, "-o", out / "maps.png"],
}
MESSAGES = {
    "bomb": "it has more than 178,956,970 pixels; the limit is 40,000,000 (refused before decoding)",
    "truncated": "a damaged or truncated image (",
    "text": "not an image format Pillow knows (",
}


@pytest.mark.parametrize("kind", list(MESSAGES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_reports_a_bad_image_in_one_line(command, kind, bad_images, model_file, tmp_path):
    result = cnnlab_command(*COMMANDS[command](model_file, bad_images[kind], tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cnnlab {command}: error: ")
    assert f"cannot read {str(bad_images[kind])!r}: {MESSAGES[kind]}" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written
