"""``cnnlab filter``: image kernels applied to real pictures."""
import math
import os

from .common import CLIError, add_command, user_input


def add_filter_command(commands):
    parser = add_command(
        commands,
        "filter",
        "filter an image with named kernels (edge, sharpen, blur, ...)",
        "Filter an image with one or more 3x3 kernels and save the results.\n\n"
        "Each kernel is correlated with every colour channel (alpha is kept), as\n"
        "image tools and CNN layers do. With one --kernel the result goes to OUT;\n"
        "with several, to OUT-<kernel>.EXT beside it. --grid saves one figure of\n"
        "the original beside every result.",
        "kernels:\n"
        "  a name            identity, edge, edge4, edge8, sobel_x, sobel_y, laplacian,\n"
        "                    box_blur, gaussian_blur, sharpen, emboss (--list-kernels)\n"
        "  gaussian:SIZE:SIGMA  a SIZE x SIZE Gaussian blur, e.g. gaussian:7:2\n"
        "  a matrix          rows split by ';', numbers by ',', odd sizes: '1,0,-1;2,0,-2;1,0,-1'\n\n"
        "examples:\n"
        "  cnnlab filter photo.jpg --kernel edge -o edges.png\n"
        "  cnnlab filter --sample --kernel identity --kernel edge --kernel sharpen --grid grid.png\n"
        "  cnnlab filter photo.png --kernel sobel_x --gray --normalize minmax -o sobel.png",
    )
    parser.add_argument("image", nargs="?", metavar="IMAGE", help="image file (PNG, JPEG, ...; gray, RGB or RGBA)")
    parser.add_argument("--sample", action="store_true", help="use the bundled sample photograph instead of IMAGE")
    parser.add_argument("-k", "--kernel", action="append", metavar="KERNEL",
                        help="kernel name, gaussian:SIZE:SIGMA or matrix; repeatable")
    parser.add_argument("-o", "--output", metavar="OUT", help="where to save the result (.png, .jpg, ...)")
    parser.add_argument("--grid", metavar="GRID", help="also save a labelled figure: original beside each result")
    parser.add_argument(
        "--boundary", choices=("reflect", "zero", "replicate"), default="reflect",
        help="how the image continues past its edges (default: reflect)",
    )
    parser.add_argument(
        "--normalize", choices=("clip", "minmax"), default="clip",
        help="clip results to 0..255, or stretch their min..max to it (default: clip)",
    )
    parser.add_argument("--gray", action="store_true", help="convert the image to grayscale first")
    parser.add_argument("--list-kernels", action="store_true", help="print the kernel names and what they do")
    parser.set_defaults(run=run_filter)


GAUSSIAN_MAX_SIZE = 101


def run_filter(args):
    from .. import kernels

    if args.list_kernels:
        for name in kernels.names():
            print(f"{name:14} {kernels.describe(name)}")
        return 0
    if args.sample == (args.image is not None):
        raise CLIError("give an IMAGE file or --sample, not both" if args.sample else "give an IMAGE file or --sample")
    if not args.kernel:
        raise CLIError("give at least one --kernel NAME (see --list-kernels)")
    if not args.output and not args.grid:
        raise CLIError("nothing to write: give -o OUT and/or --grid GRID")
    filters = _parse_kernels(args.kernel)
    outputs = _output_paths(args.output, [tag for tag, _, _ in filters]) if args.output else []
    if args.grid:
        _check_output("--grid", args.grid, allowed=(".png", ".jpg", ".jpeg"))

    image = _read_sample(args.gray) if args.sample else _read_image(args.image, args.gray)
    results = [(label, kernels.apply(image, kernel, args.boundary, args.normalize)) for _, label, kernel in filters]
    for path, (label, result) in zip(outputs, results):
        _write_image(path, result)
        print(f"wrote {path} ({label})")
    if args.grid:
        _write_grid(args.grid, [("original", image)] + results)
        print(f"wrote {args.grid} (grid of {len(results) + 1} panels)")
    return 0


def _parse_kernels(specs):
    """``[(file tag, panel label, kernel array)]`` for each distinct --kernel value."""
    from .. import kernels

    parsed, seen = [], set()
    for spec in specs:
        if spec in seen:
            continue
        seen.add(spec)
        text = spec.strip()
        try:
            if text.lower().startswith("gaussian:"):
                size, sigma = _gaussian_spec(text)
                parsed.append((f"gaussian-{size}-{sigma:g}", f"gaussian {size}x{size}, sigma {sigma:g}",
                               kernels.gaussian(size, sigma)))
            elif text[:1] in "0123456789+-." or any(c in text for c in ",; "):
                number = sum(1 for tag, _, _ in parsed if tag.startswith("custom")) + 1
                parsed.append((f"custom{number}", f"custom {number}", kernels.as_kernel(_matrix_spec(text))))
            else:
                kernel = kernels.get(text)
                name = text.lower().replace("-", "_")
                parsed.append((name, name, kernel))
        except ValueError as error:
            raise CLIError(f"--kernel {spec!r}: {error}") from None
    return parsed


def _gaussian_spec(text):
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError("write a Gaussian kernel as gaussian:SIZE:SIGMA, e.g. gaussian:7:2")
    try:
        size, sigma = int(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"SIZE must be an integer and SIGMA a number, got {parts[1]!r} and {parts[2]!r}") from None
    if size % 2 == 0 or not 1 <= size <= GAUSSIAN_MAX_SIZE:
        raise ValueError(f"SIZE must be odd (so that the kernel has a centre) and at most {GAUSSIAN_MAX_SIZE}, "
                         f"got SIZE={size}")
    return size, sigma


def _matrix_spec(text):
    rows = [row.replace(",", " ").split() for row in text.split(";")]
    try:
        values = [[float(x) for x in row] for row in rows]
    except ValueError as error:
        raise ValueError(f"a kernel matrix holds numbers only: {error}") from None
    lengths = sorted({len(row) for row in values})
    if len(lengths) != 1:
        raise ValueError(f"every row of a kernel matrix needs the same length, got lengths {lengths}")
    return values


def _output_paths(output, tags):
    _check_output("-o", output)
    if len(tags) == 1:
        return [output]
    stem, ext = os.path.splitext(output)
    return [f"{stem}-{tag}{ext}" for tag in tags]


def _check_output(option, path, allowed=None):
    """Fail before any work if ``path`` has no image extension or its directory does not exist."""
    from PIL import Image

    ext = os.path.splitext(path)[1].lower()
    if (allowed and ext not in allowed) or ext not in Image.registered_extensions():
        choices = "', '".join(allowed or (".png", ".jpg"))
        raise CLIError(f"{option}: cannot tell the image format from {path!r}; end the name in '{choices}'")
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        raise CLIError(f"{option}: cannot write {path!r}: no directory {directory!r}")


def _read_sample(gray):
    from importlib.resources import as_file, files

    with as_file(files("cnnlab").joinpath("assets", "grace_hopper.jpg")) as path:
        return _read_image(str(path), gray)


def _read_image(path, gray):
    """The image at ``path`` as a uint8 array (H, W), (H, W, 2), (H, W, 3) or (H, W, 4)."""
    from ..data.images import read_image

    if not os.path.exists(path):
        raise CLIError(f"IMAGE: no such file: {path!r}")
    if os.path.isdir(path):
        raise CLIError(f"IMAGE: {path!r} is a directory, not an image file")
    with user_input("IMAGE"):
        image = read_image(path)
    return _as_array(image, gray)


def _as_array(img, gray):
    import numpy as np
    from PIL import Image

    if img.mode in ("I", "F") or img.mode.startswith("I;"):  # 16- or 32-bit gray: scale to 8 bits
        values = np.asarray(img, dtype=np.float64) / (1.0 if img.mode == "F" else 257.0)
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    has_alpha = img.mode in ("LA", "PA", "RGBA") or "transparency" in img.info
    if gray or img.mode in ("1", "L", "LA"):
        img = img.convert("LA" if has_alpha else "L")
    else:
        img = img.convert("RGBA" if has_alpha else "RGB")
    return np.array(img)


def _write_image(path, array):
    from PIL import Image

    img = Image.fromarray(array)  # (H, W) -> L, (H, W, 2) -> LA, (H, W, 3) -> RGB, (H, W, 4) -> RGBA
    fmt = Image.registered_extensions()[os.path.splitext(path)[1].lower()]
    if fmt == "JPEG" and img.mode in ("LA", "RGBA"):  # JPEG has no alpha channel
        img = img.convert(img.mode[:-1])
    _write_atomically(path, lambda temp: img.save(temp, format=fmt))


def _write_grid(path, panels):
    """One labelled figure of ``panels`` ``[(label, image)]``, four to a row."""
    panels = [(label, _without_alpha(image)) for label, image in panels]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _write_grid_pillow(path, panels)
    else:
        _write_grid_matplotlib(path, panels)


def _without_alpha(image):
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image = image[..., :-1]
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _write_grid_matplotlib(path, panels):
    from matplotlib.figure import Figure

    cols = min(len(panels), 4)
    rows = math.ceil(len(panels) / cols)
    height, width = panels[0][1].shape[:2]
    panel = 2.8
    fig = Figure(figsize=(cols * panel, rows * (panel * height / width + 0.35)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (label, image) in zip(axes.flat, panels):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(label, fontsize=11)
    fmt = "jpeg" if path.lower().endswith((".jpg", ".jpeg")) else "png"
    _write_atomically(path, lambda temp: fig.savefig(temp, format=fmt, dpi=100, facecolor="white"))


def _write_grid_pillow(path, panels):
    import numpy as np
    from PIL import Image, ImageDraw

    cols = min(len(panels), 4)
    rows = math.ceil(len(panels) / cols)
    height, width = panels[0][1].shape[:2]
    label_h, gap = 20, 8
    canvas = Image.new("RGB", (cols * (width + gap) + gap, rows * (height + label_h + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, image) in enumerate(panels):
        x = gap + (i % cols) * (width + gap)
        y = gap + (i // cols) * (height + label_h + gap)
        draw.text((x + 2, y + 4), label, fill="black")
        canvas.paste(Image.fromarray(np.ascontiguousarray(image)).convert("RGB"), (x, y + label_h))
    fmt = "JPEG" if path.lower().endswith((".jpg", ".jpeg")) else "PNG"
    _write_atomically(path, lambda temp: canvas.save(temp, format=fmt))


def _write_atomically(path, save):
    """Call ``save(buffer)``, then write the bytes to ``path`` in one atomic step."""
    import io

    from ..io import atomic_write

    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise CLIError(f"cannot write {path!r}: no directory {directory!r}")
    buffer = io.BytesIO()
    save(buffer)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as error:
        raise CLIError(f"cannot write {path!r}: {error.strerror or error}") from error

