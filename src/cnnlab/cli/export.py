"""``cnnlab export``: a model file or a zoo model written as an ONNX file."""
import argparse
import os
import sys

from .common import CLIError, add_command, check_model_source, user_input


def add_export_command(commands):
    parser = add_command(
        commands, "export", "write a model as an ONNX file (for onnxruntime and other ONNX runtimes)",
        "Write MODEL (a model file or a zoo name) as an ONNX file. The batch size is dynamic; the\n"
        "sample's shape is fixed: --input-shape, else the model file's or zoo model's own. Dropout\n"
        "is left out and BatchNorm uses its running statistics, as at inference. Needs the onnx\n"
        "package (pip install 'cnnlab[onnx]').",
        "examples:\n  cnnlab export runs/lenet5/model.safetensors -o lenet5.onnx\n"
        "  cnnlab export tiny_vgg -o tiny_vgg.onnx --input-shape 3,64,64\n"
        "  cnnlab export lenet5 -o lenet5.onnx --opset 17",
    )
    parser.add_argument("model", help="a model file or a zoo model name (see 'cnnlab models')")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    parser.add_argument("--input-shape", type=_shape, metavar="C,H,W", default=None,
                        help="one sample's shape (default: the model file's, or the zoo model's)")
    parser.add_argument("--opset", type=int, default=None, metavar="N", help="the ONNX opset (default: 20)")
    parser.set_defaults(run=run_export)


def _shape(text):
    """``'1,28,28'`` as ``(1, 28, 28)``."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = (0,)
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes C,H,W as positive ints separated by commas, got {text!r}")
    return sizes


def run_export(args):
    from ..onnx import DEFAULT_OPSET
    from ..onnx import export as export_model

    output = args.output
    if os.path.isdir(output):
        raise CLIError(f"-o {output}: is a folder; give the file to write")
    model, shape = _load(args.model, args.input_shape)
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    try:
        with user_input("--input-shape" if args.input_shape else None):   # also a shape the layers cannot take
            export_model(model, output, input_shape=shape, opset=opset)
    except ImportError as error:
        raise CLIError(str(error)) from None
    sizes = ", ".join(map(str, ("N", *shape)))
    print(f"wrote {output} (opset {opset}, input [{sizes}], {model.num_parameters():,} parameters)")
    return 0


def _load(source, input_shape):
    """``(model, input shape)`` of MODEL, a file or a zoo name, in eval mode: its own shape unless given one."""
    import cnnlab
    from ..inspect import load_model

    check_model_source(source)
    if input_shape is None:
        with user_input():
            model, info, notice = load_model(source)
        if notice:
            print(f"note: {notice}", file=sys.stderr)
        return model, tuple(info["input_shape"])
    if os.path.isfile(source):
        with user_input():
            return cnnlab.load(source).eval(), input_shape
    if len(input_shape) != 3:
        raise CLIError(f"--input-shape: a zoo model takes C,H,W, got {','.join(map(str, input_shape))}")
    from .training import build_model

    model, _ = build_model(source, input_shape, 10)
    print(f"note: {source} has untrained (random) weights", file=sys.stderr)
    return model.eval(), input_shape
