"""Speed of the compiled (Numba) memory-bound kernels against today's NumPy engine and PyTorch.

For the pooling, ReLU and convolution-window shapes of ``lenet5``, ``simple_cnn``,
``keras_mnist_convnet`` and ``tiny_vgg`` at batch 128 (float32), times each
kernel of :mod:`cnnlab.backend.numba_kernels`, the NumPy code the engine runs
today for the same step, and PyTorch's op where it has one (``F.unfold`` and
``F.fold`` for im2col and col2im: the same copy in another column order).
Best of ``--repeats``, the implementations alternating inside each round. Then,
in two fresh processes sharing an empty Numba cache directory, the time to
compile every kernel on its first call and the time to load them from the cache.

    python benchmarks/numba_kernels.py
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

import cnnlab
from cnnlab import functional as F
from cnnlab.backend.numba_kernels import elementwise, pool, window

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

BATCH = 128
# (model, layer, input shape without the batch): each 2x2 max pool's input (the ReLU output before it)
POOLS = [
    ("lenet5", "pool1", (6, 28, 28)), ("lenet5", "pool2", (16, 10, 10)),
    ("simple_cnn", "pool1", (6, 28, 28)),
    ("keras_mnist_convnet", "pool", (64, 24, 24)),
    ("tiny_vgg", "pool1", (10, 60, 60)), ("tiny_vgg", "pool2", (10, 26, 26)),
]
# (model, layer, input shape without the batch, kernel, padding): each convolution
CONVS = [
    ("lenet5", "conv1", (1, 28, 28), 5, 2), ("lenet5", "conv2", (6, 14, 14), 5, 0),
    ("simple_cnn", "conv1", (3, 32, 32), 5, 0), ("simple_cnn", "conv2", (6, 14, 14), 5, 0),
    ("keras_mnist_convnet", "conv1", (1, 28, 28), 3, 0), ("keras_mnist_convnet", "conv2", (64, 26, 26), 3, 0),
    ("keras_mnist_convnet", "conv3", (64, 12, 12), 3, 0), ("keras_mnist_convnet", "conv4", (128, 10, 10), 3, 0),
    ("tiny_vgg", "conv1", (3, 64, 64), 3, 0), ("tiny_vgg", "conv2", (10, 62, 62), 3, 0),
    ("tiny_vgg", "conv3", (10, 30, 30), 3, 0), ("tiny_vgg", "conv4", (10, 28, 28), 3, 0),
]
# (model, layer, output shape without the batch): each convolution's output, for bias + ReLU
ACTIVATIONS = [
    ("lenet5", "conv1", (6, 28, 28)), ("lenet5", "conv2", (16, 10, 10)),
    ("keras_mnist_convnet", "conv2", (64, 24, 24)), ("keras_mnist_convnet", "conv4", (128, 8, 8)),
    ("tiny_vgg", "conv2", (10, 60, 60)),
]


def numpy_windows():
    """The module holding today's NumPy ``im2col``/``col2im`` (the conv ops are moving into the backend)."""
    for name in ("cnnlab.backend.numpy_backend.conv", "cnnlab.ops.conv"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "im2col"):
            return module
    raise ImportError("no NumPy im2col found in cnnlab.backend.numpy_backend.conv or cnnlab.ops.conv")


def channels_last(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def best_times(functions, repeats):
    """Best wall time in ms of each function (None skipped), alternating them inside each round."""
    for f in functions:
        if f is not None:
            f()
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for i, f in enumerate(functions):
            if f is not None:
                start = time.perf_counter()
                f()
                best[i] = min(best[i], time.perf_counter() - start)
    return [None if f is None else 1e3 * t for f, t in zip(functions, best)]


def graph_backward(build, g):
    """The backward closure of the Tensor ``build()`` returns: the engine's backward alone."""
    y = build()
    y = y[0] if isinstance(y, tuple) else y
    return lambda: y._backward(g)


# ------------------------------------------------------------------ rows
def pool_rows(rng):
    for model, layer, shape in POOLS:
        x = rng.standard_normal((BATCH,) + shape).astype(np.float32)
        for layout in ("nchw", "nhwc"):
            xl = x if layout == "nchw" else channels_last(x)
            name = f"{model} {layer} {layout}"
            yield from max_pool_rows(name, xl, rng)
        if model == "lenet5":
            yield from avg_pool_rows(f"{model} {layer} nchw", x, rng)


def max_pool_rows(name, x, rng):
    xt = cnnlab.Tensor(x, requires_grad=True)
    _, indices = pool.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    g = rng.standard_normal(indices.shape).astype(np.float32)
    g = g if x.flags.c_contiguous else channels_last(g)

    def values_numpy():
        with cnnlab.no_grad():
            F.max_pool2d(xt, 2)
    torch_x = torch.from_numpy(x) if torch else None
    yield ("max_pool2d (+indices)", name, lambda: F.max_pool2d(xt, 2, return_indices=True),
           lambda: pool.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False),
           torch and (lambda: TF.max_pool2d(torch_x, 2, return_indices=True)))
    yield ("max_pool2d_values", name, values_numpy,
           lambda: pool.max_pool2d_values(x, (2, 2), (2, 2), (0, 0), (1, 1), False),
           torch and (lambda: TF.max_pool2d(torch_x, 2)))
    if torch:
        torch_g, torch_i = torch.from_numpy(g), torch.from_numpy(indices)
        backward = torch.ops.aten.max_pool2d_with_indices_backward
    yield ("max_pool2d_backward", name,
           graph_backward(lambda: F.max_pool2d(xt, 2, return_indices=True), g),
           lambda: pool.max_pool2d_backward(g, indices, x.shape),
           torch and (lambda: backward(torch_g, torch_x, [2, 2], [2, 2], [0, 0], [1, 1], False, torch_i)))


def avg_pool_rows(name, x, rng):
    xt = cnnlab.Tensor(x, requires_grad=True)
    g = rng.standard_normal((x.shape[0], x.shape[1], x.shape[2] // 2, x.shape[3] // 2)).astype(np.float32)
    args = ((2, 2), (2, 2), (0, 0), False, True, None)

    def numpy_forward():
        with cnnlab.no_grad():
            F.avg_pool2d(xt, 2)
    torch_x, torch_g = (torch.from_numpy(x), torch.from_numpy(g)) if torch else (None, None)
    yield ("avg_pool2d", name, numpy_forward, lambda: pool.avg_pool2d(x, *args),
           torch and (lambda: TF.avg_pool2d(torch_x, 2)))
    yield ("avg_pool2d_backward", name, graph_backward(lambda: F.avg_pool2d(xt, 2), g),
           lambda: pool.avg_pool2d_backward(g, x.shape, *args),
           torch and (lambda: torch.ops.aten.avg_pool2d_backward(torch_g, torch_x, [2, 2], [2, 2], [0, 0],
                                                                 False, True, None)))


def window_rows(rng):
    reference = numpy_windows()
    for model, layer, shape, k, p in CONVS:
        x = rng.standard_normal((BATCH,) + shape).astype(np.float32)
        kernel, stride, dilation, padding = (k, k), (1, 1), (1, 1), ((p, p), (p, p))
        out = tuple(n + 2 * p - k + 1 for n in shape[1:])
        args = (kernel, stride, padding, dilation)
        cols = window.im2col(x, *args, 1, out)
        name = f"{model} {layer}"
        torch_x = torch.from_numpy(x) if torch else None
        torch_cols = torch.from_numpy(cols[0].reshape(-1, BATCH, out[0] * out[1]).transpose(1, 0, 2).copy()) \
            if torch else None
        yield ("im2col", name, lambda: reference.im2col(x, *args, 1, out), lambda: window.im2col(x, *args, 1, out),
               torch and (lambda: TF.unfold(torch_x, kernel, padding=p)))
        yield ("col2im", name, lambda: reference.col2im(cols, x.shape, *args, out),
               lambda: window.col2im(cols, x.shape, *args, out),
               torch and (lambda: TF.fold(torch_cols, shape[1:], kernel, padding=p)))
        xl = channels_last(x)
        cols_last = window.im2col_channels_last(xl, *args, out)
        yield ("im2col_channels_last", name + " nhwc", lambda: reference.im2col_channels_last(xl, *args, out),
               lambda: window.im2col_channels_last(xl, *args, out), None)
        yield ("col2im_channels_last", name, lambda: numpy_col2im_channels_last(reference, cols_last, x.shape, args,
                                                                               out),
               lambda: window.col2im_channels_last(cols_last, x.shape, *args, out), None)


def numpy_col2im_channels_last(reference, cols, shape, args, out):
    """Today's engine sends a channels-last column gradient back through ``col2im`` (as one transposed view)."""
    rows = cols.reshape(shape[0], -1, args[0][0], args[0][1], shape[1]).transpose(4, 2, 3, 0, 1)
    return reference.col2im(rows.reshape(1, -1, cols.shape[0]), shape, *args, out)


def activation_rows(rng):
    for model, layer, shape in ACTIVATIONS:
        y = rng.standard_normal((BATCH,) + shape).astype(np.float32)
        g = rng.standard_normal(y.shape).astype(np.float32)
        bias = rng.standard_normal(shape[0]).astype(np.float32)
        work, relu_out = y.copy(), np.maximum(y, 0)
        name = f"{model} {layer}"

        def numpy_bias_relu():
            work[...] = y  # a copy of the same size in every column
            np.add(work, bias[:, None, None], out=work)
            return np.maximum(work, 0), work > 0  # today's relu keeps the mask for backward

        def ours_bias_relu():
            work[...] = y
            return elementwise.bias_relu_(work, bias)
        torch_work, torch_y, torch_b, torch_g = ((torch.from_numpy(a) for a in (work, y, bias, g))
                                                 if torch else (None,) * 4)

        def torch_bias_relu():
            torch_work.copy_(torch_y)
            return torch.relu_(torch_work.add_(torch_b[:, None, None]))
        mask = relu_out > 0
        torch_relu_out = torch.from_numpy(relu_out) if torch else None
        yield ("bias_relu_", name, numpy_bias_relu, ours_bias_relu, torch and torch_bias_relu)
        yield ("relu_backward", name, lambda: g * mask, lambda: elementwise.relu_backward(g, relu_out),
               torch and (lambda: torch.ops.aten.threshold_backward(torch_g, torch_relu_out, 0)))
        yield ("bias_grad", name, lambda: g.sum(axis=(0, 2, 3)), lambda: elementwise.bias_grad(g),
               torch and (lambda: torch_g.sum((0, 2, 3))))


# --------------------------------------------------------- compile times
COMPILE_SCRIPT = """
import time
import numpy as np
from cnnlab.backend.numba_kernels import elementwise, pool, window
start = time.perf_counter()
x = np.ones((2, 3, 6, 6), np.float32)
for x in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
    for k, s, p in (((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1))):  # the 2x2 cores, the general ones
        v, i = pool.max_pool2d(x, k, s, p, (1, 1), False)
        pool.max_pool2d_values(x, k, s, p, (1, 1), False)
        pool.max_pool2d_backward(v, i, x.shape)
        a = pool.avg_pool2d(x, k, s, p, False, True, None)
        pool.avg_pool2d_backward(a, x.shape, k, s, p, False, True, None)
    args = ((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    window.col2im(window.im2col(x, *args, 1, (6, 6)), x.shape, *args, (6, 6))
    window.col2im_channels_last(window.im2col_channels_last(x, *args, (6, 6)), x.shape, *args, (6, 6))
    elementwise.bias_relu_(x.copy(), np.ones(3, np.float32))
    elementwise.relu_backward(x, x)
    elementwise.bias_grad(x)
print(time.perf_counter() - start)
"""


def compile_times():
    """Seconds to first-call every kernel (float32, both layouts) after import: compiling, then from the cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        run = [sys.executable, "-c", COMPILE_SCRIPT]
        return [float(subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout)
                for _ in range(2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the best is reported")
    parser.add_argument("--only", choices=("pool", "window", "activation"), help="one family of kernels")
    parser.add_argument("--threads", type=int, help="threads for Numba and torch (default: all cores)")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
        if torch:
            torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    families = {"pool": pool_rows, "window": window_rows, "activation": activation_rows}
    print(f"batch {BATCH}, float32, best of {args.repeats}; threads: numba {numba.get_num_threads()}, "
          f"torch {torch.get_num_threads() if torch else '-'}")
    print(f"{'kernel':<22} {'layer':<34} {'numpy ms':>9} {'numba ms':>9} {'torch ms':>9} {'numpy/numba':>12}")
    for family, rows in families.items():
        if args.only not in (None, family):
            continue
        for kernel, name, ours_numpy, ours_numba, theirs in rows(rng):
            reference, fast, other = best_times([ours_numpy, ours_numba, theirs or None], args.repeats)
            other = f"{other:9.2f}" if other is not None else f"{'-':>9}"
            print(f"{kernel:<22} {name:<34} {reference:9.2f} {fast:9.2f} {other} {reference / fast:11.1f}x")
    first, cached = compile_times()
    print(f"first call of every kernel (compiling): {first:.1f} s; in a second process (cache): {cached:.2f} s")


if __name__ == "__main__":
    main()
