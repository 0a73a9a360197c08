"""The filter, shape and convolve commands, run through cnnlab.cli.main and as a real process."""
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnlab import kernels
from cnnlab.cli import main

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def photo():
    """A small RGB picture with edges and smooth areas."""
    y, x = np.mgrid[0:24, 0:32]
    rgb = np.stack([x * 8, y * 10, ((x // 8 + y // 8) % 2) * 255], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def save(path, array, mode=None, **options):
    Image.fromarray(array, mode=mode).save(path, **options) if mode else Image.fromarray(array).save(path, **options)
    return str(path)


def load(path):
    with Image.open(path) as img:
        return img.mode, np.array(img)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


# ------------------------------------------------------------------ filter: formats


def test_identity_on_rgb_png_gives_the_same_pixels(tmp_path, capsys, photo):
    src = save(tmp_path / "in.png", photo)
    code, out, _ = run(capsys, "filter", src, "--kernel", "identity", "-o", tmp_path / "out.png")
    assert code == 0 and "wrote" in out
    mode, pixels = load(tmp_path / "out.png")
    assert mode == "RGB"
    np.testing.assert_array_equal(pixels, photo)


def test_rgb_png_matches_kernels_apply(tmp_path, capsys, photo):
    src = save(tmp_path / "in.png", photo)
    assert run(capsys, "filter", src, "-k", "sharpen", "-o", tmp_path / "out.png", "--boundary", "zero")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "out.png")[1], kernels.apply(photo, "sharpen", boundary="zero"))


def test_jpeg_input_and_output(tmp_path, capsys, photo):
    src = save(tmp_path / "in.jpg", photo, quality=95)
    decoded = load(src)[1]
    assert run(capsys, "filter", src, "-k", "edge8", "-o", tmp_path / "out.png")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "out.png")[1], kernels.apply(decoded, "edge8"))
    assert run(capsys, "filter", src, "-k", "box_blur", "-o", tmp_path / "out.jpg")[0] == 0
    with Image.open(tmp_path / "out.jpg") as img:
        assert img.format == "JPEG" and img.size == (32, 24)


def test_grayscale_png_stays_grayscale(tmp_path, capsys, photo):
    gray = photo[..., 0]
    src = save(tmp_path / "gray.png", gray)
    assert run(capsys, "filter", src, "-k", "sobel_x", "--normalize", "minmax", "-o", tmp_path / "out.png")[0] == 0
    mode, pixels = load(tmp_path / "out.png")
    assert mode == "L"
    np.testing.assert_array_equal(pixels, kernels.apply(gray, "sobel_x", normalize="minmax"))


def test_rgba_png_keeps_its_alpha(tmp_path, capsys, photo):
    alpha = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (24, 1))
    rgba = np.dstack([photo, alpha])
    src = save(tmp_path / "rgba.png", rgba)
    assert run(capsys, "filter", src, "-k", "edge", "-o", tmp_path / "out.png")[0] == 0
    mode, pixels = load(tmp_path / "out.png")
    assert mode == "RGBA"
    np.testing.assert_array_equal(pixels[..., 3], alpha)
    np.testing.assert_array_equal(pixels, kernels.apply(rgba, "edge"))
    # JPEG has no alpha: the colour channels are written
    assert run(capsys, "filter", src, "-k", "edge", "-o", tmp_path / "out.jpg")[0] == 0
    assert load(tmp_path / "out.jpg")[0] == "RGB"


def test_gray_option_converts_colour_and_keeps_alpha(tmp_path, capsys, photo):
    src = save(tmp_path / "in.png", photo)
    assert run(capsys, "filter", src, "-k", "identity", "--gray", "-o", tmp_path / "out.png")[0] == 0
    mode, pixels = load(tmp_path / "out.png")
    assert mode == "L"
    np.testing.assert_array_equal(pixels, np.array(Image.fromarray(photo).convert("L")))
    rgba = save(tmp_path / "rgba.png", np.dstack([photo, np.full((24, 32), 200, np.uint8)]))
    assert run(capsys, "filter", rgba, "-k", "identity", "--gray", "-o", tmp_path / "out2.png")[0] == 0
    mode, pixels = load(tmp_path / "out2.png")
    assert mode == "LA" and (pixels[..., 1] == 200).all()


def test_16_bit_and_palette_images(tmp_path, capsys, photo):
    deep = (photo[..., 0].astype(np.uint16) * 257)
    src = tmp_path / "deep.png"
    Image.fromarray(deep).save(src)
    assert run(capsys, "filter", src, "-k", "identity", "-o", tmp_path / "out.png")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "out.png")[1], photo[..., 0])
    palette = tmp_path / "palette.png"
    Image.fromarray(photo).convert("P").save(palette)
    assert run(capsys, "filter", palette, "-k", "identity", "-o", tmp_path / "out2.png")[0] == 0
    assert load(tmp_path / "out2.png")[0] == "RGB"


def test_several_kernels_write_one_file_each(tmp_path, capsys, photo):
    src = save(tmp_path / "in.png", photo)
    code, out, _ = run(capsys, "filter", src, "-k", "edge", "-k", "sharpen", "-k", "gaussian:5:1",
                       "-k", "0,-1,0;-1,5,-1;0,-1,0", "-k", "edge", "-o", tmp_path / "out.png")
    assert code == 0
    names = sorted(os.listdir(tmp_path))
    assert names == ["in.png", "out-custom1.png", "out-edge.png", "out-gaussian-5-1.png", "out-sharpen.png"]
    np.testing.assert_array_equal(load(tmp_path / "out-custom1.png")[1], load(tmp_path / "out-sharpen.png")[1])
    assert out.count("wrote") == 4


def test_grid_with_matplotlib(tmp_path, capsys, photo):
    pytest.importorskip("matplotlib")
    src = save(tmp_path / "in.png", photo)
    code, out, _ = run(capsys, "filter", src, "-k", "identity", "-k", "edge", "-k", "sharpen",
                       "--grid", tmp_path / "grid.png")
    assert code == 0 and "grid of 4 panels" in out
    with Image.open(tmp_path / "grid.png") as img:
        assert img.format == "PNG" and img.width > 3 * img.height
    assert sorted(os.listdir(tmp_path)) == ["grid.png", "in.png"]  # no temporary files left behind


def test_grid_without_matplotlib_uses_pillow(tmp_path, capsys, photo, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    src = save(tmp_path / "in.png", photo)
    assert run(capsys, "filter", src, "-k", "edge", "-k", "sharpen", "--grid", tmp_path / "grid.png")[0] == 0
    mode, pixels = load(tmp_path / "grid.png")
    assert mode == "RGB" and pixels.shape == (8 + 20 + 24 + 8, 3 * (32 + 8) + 8, 3)
    label_h, gap = 20, 8
    np.testing.assert_array_equal(pixels[gap + label_h: gap + label_h + 24, gap: gap + 32], photo)


def test_sample_photo_works_offline(tmp_path, capsys):
    assert run(capsys, "filter", "--sample", "-k", "edge", "-o", tmp_path / "out.png")[0] == 0
    mode, pixels = load(tmp_path / "out.png")
    assert mode == "RGB" and pixels.shape == (300, 256, 3)


def test_list_kernels(capsys):
    code, out, _ = run(capsys, "filter", "--list-kernels")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == kernels.names()


# ------------------------------------------------------------------ filter: bad input


def test_filter_errors(tmp_path, capsys, photo):
    src = save(tmp_path / "in.png", photo)
    out = str(tmp_path / "out.png")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.png"
    whole = (tmp_path / "in.png").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    missing = str(tmp_path / "missing.png")
    cases = [
        (["filter", missing, "-k", "edge", "-o", out], f"IMAGE: no such file: {missing!r}"),
        (["filter", text, "-k", "edge", "-o", out],
         f"IMAGE: cannot read {str(text)!r}: not an image format Pillow knows"),
        (["filter", truncated, "-k", "edge", "-o", out], f"IMAGE: cannot read {str(truncated)!r}: "),
        (["filter", tmp_path, "-k", "edge", "-o", out], f"IMAGE: {str(tmp_path)!r} is a directory, not an image file"),
        (["filter", src, "-k", "sobelx", "-o", out],
         "--kernel 'sobelx': unknown kernel name 'sobelx'; did you mean 'sobel_x' or 'sobel_y'? known kernels: "),
        (["filter", src, "-k", "1,2;3,4", "-o", out],
         "--kernel '1,2;3,4': kernel must have odd height and width so that it has a centre, got shape (2, 2)"),
        (["filter", src, "-k", "1,2,3;4,5", "-o", out],
         "--kernel '1,2,3;4,5': every row of a kernel matrix needs the same length, got lengths [2, 3]"),
        (["filter", src, "-k", "1,x,1", "-o", out], "--kernel '1,x,1': a kernel matrix holds numbers only"),
        (["filter", src, "-k", "gaussian:4:1", "-o", out],
         "--kernel 'gaussian:4:1': SIZE must be odd (so that the kernel has a centre) and at most 101, got SIZE=4"),
        (["filter", src, "-k", "gaussian:1001:1", "-o", out],
         "--kernel 'gaussian:1001:1': SIZE must be odd (so that the kernel has a centre) and at most 101, "
         "got SIZE=1001"),
        (["filter", src, "-k", "gaussian:5:-1", "-o", out],
         "--kernel 'gaussian:5:-1': gaussian: sigma must be a positive number, got sigma=-1.0"),
        (["filter", src, "-k", "gaussian:5", "-o", out],
         "--kernel 'gaussian:5': write a Gaussian kernel as gaussian:SIZE:SIGMA, e.g. gaussian:7:2"),
        (["filter", src, "-k", "edge", "-o", tmp_path / "out.xyz"],
         f"-o: cannot tell the image format from {str(tmp_path / 'out.xyz')!r}; end the name in '.png', '.jpg'"),
        (["filter", src, "-k", "edge", "-o", tmp_path / "nodir" / "out.png"],
         f"-o: cannot write {str(tmp_path / 'nodir' / 'out.png')!r}: no directory {str(tmp_path / 'nodir')!r}"),
        (["filter", src, "-k", "edge", "--grid", tmp_path / "grid.gif"],
         f"--grid: cannot tell the image format from {str(tmp_path / 'grid.gif')!r}; "
         "end the name in '.png', '.jpg', '.jpeg'"),
        (["filter", src, "-k", "edge"], "nothing to write: give -o OUT and/or --grid GRID"),
        (["filter", src, "-o", out], "give at least one --kernel NAME (see --list-kernels)"),
        (["filter", "-k", "edge", "-o", out], "give an IMAGE file or --sample"),
        (["filter", src, "--sample", "-k", "edge", "-o", out], "give an IMAGE file or --sample, not both"),
    ]
    for argv, message in cases:
        assert error_line(capsys, *argv).startswith(f"cnnlab filter: error: {message}"), argv
    assert sorted(os.listdir(tmp_path)) == ["in.png", "notes.txt", "truncated.png"]


def test_usage_errors_are_one_line(capsys):
    line = error_line(capsys, "filter", "--sample", "-k", "edge", "-o", "x.png", "--boundary", "wrap")
    assert line.startswith("cnnlab filter: error: argument --boundary: invalid choice: 'wrap' (choose from ")
    assert line.endswith(("replicate') (see 'cnnlab filter --help')", "replicate) (see 'cnnlab filter --help')"))
    assert error_line(capsys, "nonsense").startswith("cnnlab: error: argument COMMAND: invalid choice: 'nonsense'")


@pytest.mark.parametrize("command, example", [("filter", "cnnlab filter --sample --kernel identity"),
                                              ("shape", "cnnlab shape --input 28 --kernel 5"),
                                              ("convolve", "cnnlab convolve 1 2 3 --with 0 1 0.5")])
def test_every_command_has_help_with_an_example(capsys, command, example):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "examples:" in out and example in out


# ------------------------------------------------------------------ shape


def test_shape_prints_the_formula_with_the_numbers(capsys):
    code, out, _ = run(capsys, "shape", "--input", 28, "--kernel", 5, "--stride", 1, "--padding", 2)
    assert code == 0
    assert "floor((28 + 2*2 - 1*(5-1) - 1) / 1) + 1 = 28" in out


def test_shape_same_padding_and_empty_output(capsys):
    out = run(capsys, "shape", "-n", 28, "-k", 4, "-p", "same")[1]
    assert "floor((28 + (1 + 2) - 1*(4-1) - 1) / 1) + 1 = 28" in out
    out = run(capsys, "shape", "-n", 3, "-k", 5)[1]
    assert "= 0  (the window, 5 wide, is larger than the padded input, 3 wide)" in out
    out = run(capsys, "shape", "-n", 5, "-k", 2, "-s", 2, "-p", 1, "--ceil-mode")[1]
    assert "ceil((5 + 2*1 - 1*(2-1) - 1) / 2) + 1 = 3  (the last window would start in the right padding" in out


def test_shape_layer_stack(capsys):
    code, out, _ = run(capsys, "shape", "--input", 28, "--layers", "conv:5:1:2,pool:2:2,conv:5:1:0")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[2:]]
    # layer, spec (5 words), output, receptive field, jump, start
    assert [(r[0], r[6], r[7], r[8], r[9]) for r in rows] == [
        ("1", "28", "5", "1", "0"), ("2", "14", "6", "2", "0.5"), ("3", "10", "14", "2", "4.5")]
    out = run(capsys, "shape", "--input", 8, "--layers", "conv:5,conv:5")[1]
    assert "note: layer 2's window is larger than its padded input, so its output is empty" in out


def test_shape_errors(capsys):
    cases = [
        (["shape", "--input", 28], "give --kernel K for one layer or --layers SPEC for a stack"),
        (["shape", "--input", 28, "-k", 3, "--layers", "conv:3"],
         "give --kernel K for one layer or --layers SPEC for a stack, not both"),
        (["shape", "--input", 0, "-k", 3], "argument --input/-n: must be a positive integer, got 0"),
        (["shape", "--input", "ten", "-k", 3], "argument --input/-n: must be an integer, got 'ten'"),
        (["shape", "--input", 28, "--layers", "conv:x"],
         "--layers: layer 1 'conv:x': KERNEL must be an integer, got 'x'"),
        (["shape", "--input", 28, "--layers", "conv:3,dense:10"],
         "--layers: layer 2 'dense:10' must read TYPE:KERNEL[:STRIDE[:PADDING[:DILATION]]] with TYPE conv or pool"),
        (["shape", "--input", 28, "--layers", "pool:2:0"],
         "--layers: layer 1 'pool:2:0': STRIDE must be a positive integer, got 0"),
    ]
    for argv, message in cases:
        assert error_line(capsys, *argv).startswith(f"cnnlab shape: error: {message}"), argv


# ------------------------------------------------------------------ convolve


def test_convolve_prints_the_notes_examples(capsys):
    assert run(capsys, "convolve", 1, 2, 3, "--with", 0, 1, 0.5)[1] == "0 1 2.5 4 1.5\n"
    assert run(capsys, "convolve", 1, 2, 3, "--with", 4, 5, 6)[1] == "4 13 28 27 18\n"
    assert run(capsys, "convolve", 1, 2, 3, "--with", 0, 1, 0.5, "--correlate")[1] == "0.5 2 3.5 3 0\n"
    assert run(capsys, "convolve", 1, 2, 3, 4, "--with", 1, 0, -1, "--mode", "same")[1] == "2 2 2 -3\n"
    assert run(capsys, "convolve", 1, 2, 3, 4, "--with", 1, 1, "--mode", "valid", "--method", "fft")[1] == "3 5 7\n"


def test_convolve_explain_shows_every_step(capsys):
    code, out, _ = run(capsys, "convolve", 1, 2, 3, "--with", 0, 1, 0.5, "--explain")
    assert code == 0
    assert "flip the kernel: v reversed = [0.5, 1, 0]" in out
    assert "[0, 0, 1, 2, 3, 0, 0]" in out
    assert "y[2] = sum([1, 2, 3] * [0.5, 1, 0]) = sum([0.5, 2, 0]) = 2.5" in out
    assert out.strip().endswith("result: [0, 1, 2.5, 4, 1.5]")
    out = run(capsys, "convolve", 1, 2, 3, 4, 5, "--with", 1, 0, -1, "--correlate", "--mode", "valid", "--explain")[1]
    assert "does not flip the kernel" in out and "no padding" in out
    assert "y[0] = sum([1, 2, 3] * [1, 0, -1]) = sum([1, 0, -3]) = -2" in out


@pytest.mark.parametrize("a, v, mode", [([1, 2, 3, 4], [1, 2, 3, 4], "same"), ([1, 2], [1, 2, 3, 4], "full"),
                                        ([1, 2], [3, 1, 2, 5], "same"), ([1, 2], [3, 1, 2, 5], "valid"),
                                        ([5, 1, 2, 7, 1], [1, -1], "valid")])
@pytest.mark.parametrize("correlate", [False, True])
def test_explain_agrees_with_the_result(capsys, a, v, mode, correlate):
    argv = ["convolve", *a, "--with", *v, "--mode", mode, "--explain"] + (["--correlate"] if correlate else [])
    out = run(capsys, *argv)[1]
    steps = [float(line.rsplit("=", 1)[1]) for line in out.splitlines() if line.startswith("  y[")]
    plain = run(capsys, *[x for x in argv if x != "--explain"])[1]
    assert steps == [float(x) for x in plain.split()]


def test_convolve_errors(capsys):
    cases = [
        (["convolve", 1, "x", 3, "--with", 1], "argument A: expected a number, got 'x'"),
        (["convolve", 1, 2, "--with", "nan"], "argument --with: expected a finite number, got 'nan'"),
        (["convolve", 1, 2, 3], "the following arguments are required: --with"),
        (["convolve", *range(20), "--with", 1, "--explain"],
         "--explain prints every step, so it takes at most 16 numbers in A and 8 in --with, got 20 and 1"),
        (["convolve", 1, 2, "--with", 1, 2, 3, "--mode", "diagonal"], "argument --mode: invalid choice: 'diagonal'"),
    ]
    for argv, message in cases:
        assert error_line(capsys, *argv).startswith(f"cnnlab convolve: error: {message}"), argv


# ------------------------------------------------------------------ a real process


def test_real_process_runs_and_fails_cleanly(tmp_path, photo):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    src = save(tmp_path / "in.png", photo)
    ok = subprocess.run([sys.executable, "-m", "cnnlab", "filter", src, "--kernel", "edge",
                         "-o", str(tmp_path / "out.png")], capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out.png").exists()
    done = subprocess.run([sys.executable, "-m", "cnnlab", "convolve", "1", "2", "3", "--with", "0", "1", "0.5"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == "0 1 2.5 4 1.5\n"
    bad = subprocess.run([sys.executable, "-m", "cnnlab", "filter", str(tmp_path / "missing.png"),
                          "--kernel", "edge", "-o", str(tmp_path / "x.png")], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr == f"cnnlab filter: error: IMAGE: no such file: {str(tmp_path / 'missing.png')!r}\n"
