"""``cnnlab viz`` and ``cnnlab explain``: pictures of what a model learned, and the explainer page.

Heavy imports (matplotlib, the model zoo) happen inside the run functions.
"""
import functools
import os

from .common import CLIError, add_command, user_input

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".pdf")


def add_viz_command(commands):
    parser = add_command(
        commands,
        "viz",
        "plot a model's kernels and feature maps, training curves, a confusion matrix",
        "Save pictures of what a model learned and how it does, as PNG files.\n\n"
        "MODEL is a model file saved by cnnlab (with input_shape in its info) or a zoo\n"
        "model name (untrained weights).",
        "examples:\n"
        "  cnnlab viz kernels model.safetensors -o kernels.png\n"
        "  cnnlab viz kernels model.safetensors --layer features.3 -o kernels3.png\n"
        "  cnnlab viz features model.safetensors digit.png -o features.png\n"
        "  cnnlab viz curves training-log.csv -o curves.png\n"
        "  cnnlab viz confusion model.safetensors --dataset mnist-sample -o confusion.png --errors errors.png",
    )
    plots = parser.add_subparsers(dest="plot", metavar="PLOT", required=True)

    kernels = plots.add_parser("kernels", help="a conv layer's kernels as a grid of small images",
                               description="Draw a Conv2d layer's kernels (the first conv layer unless --layer).")
    kernels.add_argument("model", metavar="MODEL", help="model file or zoo model name")
    kernels.add_argument("--layer", metavar="NAME", help="qualified name of the conv layer, e.g. features.3")
    kernels.add_argument("-o", "--output", metavar="OUT", required=True, help="image file to write (.png)")
    kernels.set_defaults(run=run_viz_kernels)

    features = plots.add_parser("features", help="every conv and pool layer's activation maps for one image",
                                description="Run IMAGE through MODEL and draw each conv and pool layer's maps.")
    features.add_argument("model", metavar="MODEL", help="model file or zoo model name")
    features.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, ...), resized to the model's input")
    features.add_argument("-o", "--output", metavar="OUT", required=True, help="image file to write (.png)")
    features.add_argument("--max-channels", type=int, default=12, metavar="N", help="maps per layer (default: 12)")
    features.set_defaults(run=run_viz_features)

    curves = plots.add_parser("curves", help="loss and metric curves from a training log (CSV)",
                              description="Plot each metric per epoch, training beside validation.")
    curves.add_argument("log", metavar="LOG.csv", help="CSV log written during training (one row per epoch)")
    curves.add_argument("-o", "--output", metavar="OUT", required=True, help="image file to write (.png)")
    curves.set_defaults(run=run_viz_curves)

    confusion = plots.add_parser("confusion", help="confusion matrix (and misclassified images) on a test set",
                                 description="Predict the test split of a dataset and draw the confusion matrix.")
    confusion.add_argument("model", metavar="MODEL", help="model file or zoo model name")
    confusion.add_argument("--dataset", default="mnist-sample", metavar="NAME",
                           help="mnist-sample (default, offline), mnist, fashion-mnist, cifar10 or folder:PATH")
    confusion.add_argument("--data-dir", default="data", metavar="DIR", help="where datasets live (default: data)")
    confusion.add_argument("-o", "--output", metavar="OUT", required=True, help="image file to write (.png)")
    confusion.add_argument("--errors", metavar="OUT", help="also draw misclassified examples to this file")
    confusion.add_argument("--max-errors", type=int, default=25, metavar="N", help="at most N examples (default: 25)")
    confusion.set_defaults(run=run_viz_confusion)
    return parser


def _needs_plots(run):
    """``run``, preceded by a check for matplotlib: without it, one line naming what to install, exit status 2."""
    @functools.wraps(run)
    def checked(args):
        from ..viz import plots_unavailable

        reason = plots_unavailable()
        if reason:
            raise CLIError(reason)
        return run(args)
    return checked


def _check_output(path, option="-o"):
    if not str(path).lower().endswith(IMAGE_SUFFIXES):
        raise CLIError(f"{option} must name a {', '.join(IMAGE_SUFFIXES)} file, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{option} {path}: folder {folder} does not exist")


def _load_model(source):
    """``(model, info, notice)`` for MODEL, a file or a zoo name."""
    from ..inspect import load_model

    with user_input():
        return load_model(source)


def _notice(notice):
    if notice:
        print(f"note: {notice}")


@_needs_plots
def run_viz_kernels(args):
    from ..viz.kernels import find_conv, plot_kernels

    _check_output(args.output)
    model, _, notice = _load_model(args.model)
    _notice(notice)
    with user_input("--layer" if args.layer else None):
        find_conv(model, args.layer)
    plot_kernels(model, args.output, layer=args.layer)
    print(f"wrote {args.output}")
    return 0


@_needs_plots
def run_viz_features(args):
    from ..inspect import prepare_image
    from ..viz.maps import plot_feature_maps

    _check_output(args.output)
    if args.max_channels < 1:
        raise CLIError(f"--max-channels must be at least 1, got {args.max_channels}")
    model, info, notice = _load_model(args.model)
    _notice(notice)
    with user_input("IMAGE"):
        image = prepare_image(args.image, info["input_shape"])
    plot_feature_maps(model, image, args.output, max_channels=args.max_channels, info=info)
    print(f"wrote {args.output}")
    return 0


@_needs_plots
def run_viz_curves(args):
    from ..viz.curves import plot_history

    _check_output(args.output)
    if not os.path.isfile(args.log):
        raise CLIError(f"log file {args.log!r} does not exist")
    with user_input(f"log file {args.log!r}"):  # read and plotted in one call
        plot_history(args.log, args.output)
    print(f"wrote {args.output}")
    return 0


@_needs_plots
def run_viz_confusion(args):
    from ..data.catalog import load_dataset
    from ..inspect import to_input
    from ..training import predict
    from ..viz.evaluation import confusion_matrix, plot_confusion, plot_misclassified

    _check_output(args.output)
    if args.errors:
        _check_output(args.errors, "--errors")
    model, info, notice = _load_model(args.model)
    _notice(notice)
    channels, height, width = info["input_shape"]
    with user_input("--dataset"):
        data = load_dataset(args.dataset, train=False, root=args.data_dir, size=(height, width),
                            mode="L" if channels == 1 else "RGB")
    if tuple(data.data.shape[1:]) != (channels, height, width):
        raise CLIError(f"the model takes {channels}x{height}x{width} inputs but {args.dataset} holds "
                         f"{'x'.join(map(str, data.data.shape[1:]))} images")
    classes = info.get("classes") or getattr(data, "classes", None) or [str(i) for i in range(10)]
    outputs = predict(model, data.data, transform=lambda x: to_input(x, info))
    if outputs.ndim != 2 or outputs.shape[1] != len(classes):
        raise CLIError(f"the model has {outputs.shape[-1]} outputs but {len(classes)} classes are named")
    predicted = outputs.argmax(axis=1)
    matrix = confusion_matrix(data.targets, predicted, len(classes))
    plot_confusion(matrix, classes, args.output)
    print(f"wrote {args.output} (accuracy {matrix.trace() / max(matrix.sum(), 1):.2%} on {len(predicted)} "
          f"{args.dataset} test images)")
    if args.errors:
        plot_misclassified(data.data, data.targets, predicted, classes, args.errors, max_images=args.max_errors)
        print(f"wrote {args.errors} ({int((predicted != data.targets).sum())} misclassified)")
    return 0


def add_explain_command(commands):
    parser = add_command(
        commands,
        "explain",
        "open a local web page that shows what a model does with an image",
        "Serve a page, in the spirit of CNN Explainer, for MODEL: pick a sample or upload\n"
        "an image, see every conv and pool layer's activation maps and the class\n"
        "probabilities, click a map to see one value's arithmetic (input patch x kernel,\n"
        "sum, bias, activation) and play with the output-size formula.\n\n"
        "MODEL is a model file saved by cnnlab (with input_shape in its info) or a zoo\n"
        "model name (untrained weights). The page is served from this machine only\n"
        "(127.0.0.1) unless --host says otherwise; Ctrl+C stops it.",
        "examples:\n"
        "  cnnlab explain model.safetensors\n"
        "  cnnlab explain lenet5 --port 8080 --no-browser\n"
        "  curl -s --data-binary @digit.png localhost:8000/api/predict",
    )
    parser.add_argument("model", metavar="MODEL", help="model file or zoo model name")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.set_defaults(run=run_explain)
    return parser


def run_explain(args):
    from ..explain.server import serve

    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be in 0..65535, got {args.port}")
    with user_input():  # MODEL refused, or --host/--port unusable; requests handle their own errors
        return serve(args.model, host=args.host, port=args.port, open_browser=not args.no_browser)
