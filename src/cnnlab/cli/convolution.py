"""``cnnlab shape`` and ``cnnlab convolve``: convolution arithmetic as the notes teach it."""
import argparse
import math

from .common import CLIError, add_command, user_input


def add_shape_command(commands):
    parser = add_command(
        commands,
        "shape",
        "output size, receptive field and jump of conv/pool layers",
        "Print the output size of one convolution or pooling layer with its formula,\n"
        "or, with --layers, the output size, receptive field and jump of every layer\n"
        "in a stack.\n\n"
        "  out = floor((n + 2p - d(k-1) - 1) / s) + 1",
        "--layers syntax: layers separated by ',', each TYPE:KERNEL[:STRIDE[:PADDING[:DILATION]]]\n"
        "  TYPE is conv (stride 1 by default) or pool (stride = kernel by default);\n"
        "  PADDING is a number or 'same'. Receptive field: how many input pixels one\n"
        "  output sees; jump: input distance between neighbouring outputs; start: input\n"
        "  coordinate of the centre of the first output's field.\n\n"
        "'same' with stride > 1 (refused by PyTorch) pads as TensorFlow and Keras do:\n"
        "  out = ceil(n / s), total padding max((out - 1)*s + d(k-1) + 1 - n, 0),\n"
        "  split in two with the odd one at the end.\n\n"
        "examples:\n"
        "  cnnlab shape --input 28 --kernel 5 --stride 1 --padding 2\n"
        "  cnnlab shape --input 28 --kernel 4 --padding same\n"
        "  cnnlab shape --input 28 --kernel 3 --stride 2 --padding same     # TensorFlow's rule\n"
        "  cnnlab shape --input 32 --layers conv:5,pool:2,conv:5,pool:2        # LeNet-5",
    )
    parser.add_argument("--input", "-n", type=_count(1), required=True, metavar="N", help="input size along one axis")
    parser.add_argument("--kernel", "-k", type=_count(1), metavar="K", help="kernel size")
    parser.add_argument("--stride", "-s", type=_count(1), default=1, metavar="S", help="stride (default 1)")
    parser.add_argument("--padding", "-p", type=_padding, default=0, metavar="P",
                        help="zero padding on each side, or 'same' (default 0)")
    parser.add_argument("--dilation", "-d", type=_count(1), default=1, metavar="D", help="dilation (default 1)")
    parser.add_argument("--ceil-mode", action="store_true", help="round the division up (pooling's ceil_mode)")
    parser.add_argument("--layers", metavar="SPEC", help="a stack of layers, e.g. 'conv:5:1:2,pool:2:2' (see below)")
    parser.set_defaults(run=run_shape)


def run_shape(args):
    if (args.kernel is None) == (args.layers is None):
        raise CLIError("give --kernel K for one layer or --layers SPEC for a stack, not both"
                       if args.layers else "give --kernel K for one layer or --layers SPEC for a stack")
    if args.layers:
        _print_layers(args.input, _parse_layers(args.layers), args.ceil_mode)
        return 0
    padding = _resolve_padding(args.padding, args.input, args.kernel, args.stride, args.dilation)
    if args.padding == "same" and args.stride > 1:
        _print_strided_same(args.input, args.kernel, args.stride, padding, args.dilation)
    _print_formula(args.input, args.kernel, args.stride, padding, args.dilation, args.ceil_mode)
    return 0


def _print_strided_same(n, kernel, stride, padding, dilation):
    """How TensorFlow's 'same' padding is worked out for a stride > 1 (see cnnlab.shapes.same_padding)."""
    out = -(-n // stride)
    before, after = padding
    print(f"padding 'same' with stride {stride}: TensorFlow's and Keras's rule (PyTorch refuses strided 'same')")
    print(f"out   = ceil(n / s) = ceil({n} / {stride}) = {out}")
    print(f"total = max((out - 1)*s + d*(k-1) + 1 - n, 0) = "
          f"max(({out} - 1)*{stride} + {dilation}*({kernel}-1) + 1 - {n}, 0) = {before + after}")
    odd = "  (the odd one at the end)" if after > before else ""
    print(f"split = {before} before, {after} after{odd}")


def _print_formula(n, kernel, stride, padding, dilation, ceil_mode):
    from ..shapes import conv_output_size

    before, after = padding
    pad = f"2*{before}" if before == after else f"({before} + {after})"
    round_ = "ceil" if ceil_mode else "floor"
    out = conv_output_size(n, kernel, stride, padding, dilation, ceil_mode)
    span = n + before + after - dilation * (kernel - 1) - 1
    print(f"out = {round_}((n + 2p - d*(k-1) - 1) / s) + 1")
    line = f"    = {round_}(({n} + {pad} - {dilation}*({kernel}-1) - 1) / {stride}) + 1 = {out}"
    if span < 0:
        line += (f"  (the window, {dilation * (kernel - 1) + 1} wide, is larger than the padded input, "
                 f"{n + before + after} wide)")
    elif ceil_mode and out != -(-span // stride) + 1:
        line += "  (the last window would start in the right padding, so it is dropped)"
    print(line)


def _parse_layers(spec):
    """``[(type, kernel, stride, padding, dilation)]`` from 'conv:5:1:2,pool:2'; padding may be 'same'."""
    layers = []
    for i, item in enumerate(spec.split(","), 1):
        parts = item.strip().split(":")
        kind = parts[0].strip().lower()
        if kind not in ("conv", "pool") or not 2 <= len(parts) <= 5:
            raise CLIError(f"--layers: layer {i} {item.strip()!r} must read TYPE:KERNEL[:STRIDE[:PADDING[:DILATION]]] "
                           "with TYPE conv or pool")
        names = ("KERNEL", "STRIDE", "PADDING", "DILATION")
        values = {}
        for name, text in zip(names, parts[1:]):
            try:
                values[name] = _padding(text) if name == "PADDING" else _count(1)(text)
            except argparse.ArgumentTypeError as error:
                raise CLIError(f"--layers: layer {i} {item.strip()!r}: {name} {error}") from None
        kernel = values["KERNEL"]
        stride = values.get("STRIDE", kernel if kind == "pool" else 1)
        dilation = values.get("DILATION", 1)
        layers.append((kind, kernel, stride, values.get("PADDING", 0), dilation))
    return layers


def _print_layers(n, layers, ceil_mode):
    from ..shapes import Layer, conv_output_size, receptive_field

    sizes, resolved = [n], []
    for kind, k, s, p, d in layers:   # strided 'same' pads by each layer's input size
        resolved.append((kind, k, s, _resolve_padding(p, sizes[-1], k, s, d), d))
        sizes.append(conv_output_size(sizes[-1], k, s, resolved[-1][3], d, ceil_mode))
    fields = receptive_field([Layer(k, s, p[0], d) for _, k, s, p, d in resolved])
    print(f"{'layer':6} {'spec':24} {'output':>6} {'receptive field':>15} {'jump':>5} {'start':>6}")
    print(f"{'input':6} {'':24} {n:>6} {1:>15} {1:>5} {0:>6g}")
    empty = None
    for i, ((kind, k, s, p, d), n, field) in enumerate(zip(resolved, sizes[1:], fields), 1):
        if n == 0 and empty is None:
            empty = i
        pad = p[0] if p[0] == p[1] else f"{p[0]}+{p[1]}"
        spec = f"{kind} k={k} s={s} p={pad} d={d}"
        print(f"{i:<6} {spec:24} {n:>6} {field.size:>15} {field.jump:>5} {field.start:>6g}")
    if any(p == "same" and s > 1 for _, _, s, p, _ in layers):
        print("note: 'same' with stride > 1 pads as TensorFlow and Keras do (PyTorch refuses it): "
              "out = ceil(n / s), the odd padding at the end")
    if empty is not None:
        print(f"note: layer {empty}'s window is larger than its padded input, so its output is empty")


def _resolve_padding(padding, n, kernel, stride, dilation):
    """``(before, after)`` for a padding given as a number or 'same' on an input of size ``n``."""
    from ..shapes import same_padding

    if padding != "same":
        return (padding, padding)
    return same_padding(kernel, dilation, stride=stride, size=n)


def _count(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            rule = "positive" if minimum == 1 else "non-negative"
            raise argparse.ArgumentTypeError(f"must be a {rule} integer, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _padding(text):
    return "same" if text.strip().lower() == "same" else _count(0)(text)


EXPLAIN_MAX_A, EXPLAIN_MAX_V = 16, 8


def add_convolve_command(commands):
    parser = add_command(
        commands,
        "convolve",
        "convolve or correlate two short lists of numbers, step by step",
        "Convolve the numbers A with the kernel given by --with (or correlate them),\n"
        "as numpy.convolve / numpy.correlate do, and print the result. --explain\n"
        "prints every step: the flip, the padding, and for each output the aligned\n"
        "numbers, their products and the sum.",
        "modes: full (every overlap, len(A)+len(V)-1 outputs), same (len(A) outputs,\n"
        "centred), valid (only where one list covers the other)\n\n"
        "examples:\n"
        "  cnnlab convolve 1 2 3 --with 0 1 0.5               # 0 1 2.5 4 1.5\n"
        "  cnnlab convolve 1 2 3 --with 4 5 6                 # polynomial product: 4 13 28 27 18\n"
        "  cnnlab convolve 1 2 3 4 --with 1 0 -1 --mode same --explain\n"
        "  cnnlab convolve 1 2 3 4 --with 1 0 -1 --correlate --explain",
    )
    parser.add_argument("a", nargs="+", type=_number, metavar="A", help="the signal: numbers separated by spaces")
    parser.add_argument("--with", dest="v", nargs="+", type=_number, required=True, metavar="V",
                        help="the kernel: numbers separated by spaces")
    parser.add_argument("--mode", choices=("full", "same", "valid"), default="full", help="default: full")
    parser.add_argument("--method", choices=("auto", "direct", "fft"), default="auto", help="default: auto")
    parser.add_argument("--correlate", action="store_true", help="correlate (no flip) instead of convolve")
    parser.add_argument("--explain", action="store_true",
                        help=f"print every step (at most {EXPLAIN_MAX_A} numbers in A and {EXPLAIN_MAX_V} in V)")
    parser.set_defaults(run=run_convolve)


def run_convolve(args):
    from .. import signal

    operation = signal.correlate if args.correlate else signal.convolve
    with user_input():
        result = operation(args.a, args.v, mode=args.mode, method=args.method)
    if args.explain:
        if len(args.a) > EXPLAIN_MAX_A or len(args.v) > EXPLAIN_MAX_V:
            raise CLIError(f"--explain prints every step, so it takes at most {EXPLAIN_MAX_A} numbers in A and "
                           f"{EXPLAIN_MAX_V} in --with, got {len(args.a)} and {len(args.v)}")
        _explain(args.a, args.v, args.mode, args.correlate)
        print(f"result: {_show(result)}")
    else:
        print(" ".join(_fmt(x) for x in result))
    return 0


def _explain(a, v, mode, correlate):
    """Print the computation of convolve/correlate(a, v, mode) one output at a time (a teaching printout)."""
    name = "correlate" if correlate else "convolve"
    k, n = len(v), len(a)
    size = {"full": n + k - 1, "same": n, "valid": abs(n - k) + 1}[mode]
    start = (n + k - 1 - size) // 2
    before, after = max(0, k - 1 - start), max(0, start + size - n)
    padded = [0.0] * before + list(a) + [0.0] * after
    slider = list(v) if correlate else v[::-1]

    print(f"{name} a = {_show(a)} with v = {_show(v)}, mode '{mode}'")
    if correlate:
        print(f"step 1: correlation does not flip the kernel; slide v = {_show(slider)} as it is")
    else:
        print(f"step 1: flip the kernel: v reversed = {_show(slider)}")
    if before or after:
        print(f"step 2: pad a with zeros ({before} before, {after} after) so the kernel can hang over its ends:")
        print(f"        {_show(padded)}")
    else:
        print("step 2: no padding: mode 'valid' keeps only positions where the kernel lies inside a")
    if mode == "same":
        print(f"        mode 'same' keeps the {size} outputs centred in the full result "
              f"(full positions {start} to {start + size - 1})")
    print("step 3: slide it along; at each position multiply element-wise, then sum:")
    width = max(len(_show(padded[j:j + k])) for j in range(size))
    for j in range(size):
        window = padded[j:j + k]
        products = [x * w for x, w in zip(window, slider)]
        aligned = f"{_show(window):{width}} * {_show(slider)}"
        print(f"  y[{j}] = sum({aligned}) = sum({_show(products)}) = {_fmt(sum(products))}")


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _fmt(x):
    return f"{float(x) + 0.0:.10g}"


def _show(values):
    return "[" + ", ".join(_fmt(x) for x in values) + "]"

