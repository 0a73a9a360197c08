"""``cnnlab summary``, ``models`` and ``datasets``: what the zoo and the data catalogue hold."""
import os

from .common import CLIError, add_command, user_input


def add_summary_command(commands):
    parser = add_command(
        commands, "summary", "layer-by-layer output shapes, parameters and multiply-adds of a model",
        "Print a model's layers with their output shapes, parameter counts (a shared parameter\n"
        "counted once), multiply-adds, receptive field and jump (in input pixels), output memory\n"
        "for the batch, and the algorithm each convolution and pooling runs; then the totals and\n"
        "the estimated memory of one forward pass. Takes a zoo name or a model file.",
        "examples:\n  cnnlab summary lenet5\n  cnnlab summary tiny_vgg --input-shape 3 64 64\n"
        "  cnnlab summary lenet5 --batch-size 32\n"
        "  cnnlab summary lenet5 --columns layer,output_shape,field,jump\n"
        "  cnnlab summary runs/lenet5/model.safetensors\n  cnnlab summary model.onnx",
    )
    parser.add_argument("model", help="a zoo model name (see 'cnnlab models'), a model file or a .onnx file")
    parser.add_argument("--input-shape", type=int, nargs=3, metavar=("C", "H", "W"), default=None,
                        help="one sample's shape (default: the model's own)")
    parser.add_argument("--batch-size", type=int, default=1, metavar="N",
                        help="batch size the shapes, memory and multiply-adds are for (default: 1)")
    parser.add_argument("--columns", metavar="NAMES",
                        help="comma-separated columns to show (default: all): layer, output_shape, params, "
                             "mult_adds, field, jump, memory, algorithm")
    parser.set_defaults(run=run_summary)


def run_summary(args):
    import cnnlab
    from .. import models
    from ..summary import summary_columns

    if args.input_shape and min(args.input_shape) < 1:
        raise CLIError(f"--input-shape: sizes must be positive, got {' '.join(map(str, args.input_shape))}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    with user_input():   # the message names the columns
        columns = summary_columns(args.columns)
    if os.path.isfile(args.model):
        with user_input():
            model, info = cnnlab.load(args.model), cnnlab.io.read_info(args.model)
        shape = info.get("input_shape")
    elif args.model.endswith((".safetensors", ".onnx")):
        raise CLIError(f"model file {args.model!r} does not exist")
    else:
        with user_input():
            spec = models.spec(args.model)
        shape = spec.input_shape
        if args.input_shape:
            from .training import build_model

            model, _ = build_model(args.model, tuple(args.input_shape), 10)
        else:
            model = spec.build()
    shape = tuple(args.input_shape or shape or ())
    if len(shape) != 3:
        raise CLIError("--input-shape C H W is needed: the model file does not record its input shape")
    with user_input("--input-shape" if args.input_shape else None):  # a shape the layers cannot take
        table = cnnlab.summary(model, shape, batch_size=args.batch_size, columns=columns, print_fn=None)
    print(table)
    return 0


def add_models_command(commands):
    parser = add_command(commands, "models", "list the zoo's models", "List the models 'cnnlab train' can build.",
                         "example:\n  cnnlab models")
    parser.set_defaults(run=run_models)


def run_models(args):
    from .. import models

    for name in models.names():
        spec = models.spec(name)
        shape = "x".join(map(str, spec.input_shape))
        print(f"{name:<20} {shape:<8} {spec.summary}")
    return 0


def add_datasets_command(commands):
    parser = add_command(commands, "datasets", "list the datasets 'cnnlab train --dataset' takes",
                         "List the dataset names and where their files come from.", "example:\n  cnnlab datasets")
    parser.set_defaults(run=run_datasets)


def run_datasets(args):
    from ..data.catalog import DATASETS

    for name, text in DATASETS.items():
        print(f"{name:<14} {text}")
    return 0
