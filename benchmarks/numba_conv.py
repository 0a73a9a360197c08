"""Convolution speed: im2col + GEMM (NumPy), the compiled blocked kernels, and PyTorch, in GFLOP/s.

For each convolution of lenet5, simple_cnn, tiny_vgg and keras_mnist_convnet at batch 128 (float32)
times the forward pass and the backward pass (input, weight and bias gradients)
of three implementations: ``cnnlab.ops.conv.conv`` with ``algorithm='im2col'``
on Tensors that require gradients (the NumPy path), the kernels of
:mod:`cnnlab.backend.numba_kernels.conv` launched as the ``numba`` backend
launches them (SciPy's OpenBLAS held to one thread, so wide layers take large
blocks), and ``torch.nn.functional.conv2d``
with ``--threads`` threads (Numba gets the same count). The three run in
alternating rounds and each keeps its best of ``--repeats`` rounds. A forward
pass costs ``2 N O C kh kw OH OW`` flops, a backward pass twice that.
``--clock cpu`` times with the process's CPU time instead of the wall clock: on
a machine other processes share, with ``--threads 1``, it measures the work
done rather than the time waited for a core.

``--startup`` instead times the kernels' first call (forward and backward,
both dtypes) in a fresh process with an empty Numba cache (compilation) and
again in a second process (loading the cache).

    python benchmarks/numba_conv.py
    python benchmarks/numba_conv.py --threads 1 --clock cpu
    python benchmarks/numba_conv.py --startup
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

#: ``(model, x shape, w shape, padding)``, stride and dilation 1.
LAYERS = [
    ("lenet5", (128, 1, 28, 28), (6, 1, 5, 5), 2),
    ("lenet5", (128, 6, 14, 14), (16, 6, 5, 5), 0),
    ("simple_cnn", (128, 3, 32, 32), (6, 3, 5, 5), 0),
    ("simple_cnn", (128, 6, 14, 14), (16, 6, 5, 5), 0),
    ("tiny_vgg", (128, 3, 64, 64), (10, 3, 3, 3), 0),
    ("tiny_vgg", (128, 10, 62, 62), (10, 10, 3, 3), 0),
    ("tiny_vgg", (128, 10, 30, 30), (10, 10, 3, 3), 0),
    ("tiny_vgg", (128, 10, 28, 28), (10, 10, 3, 3), 0),
    ("keras_mnist_convnet", (128, 1, 28, 28), (64, 1, 3, 3), 0),
    ("keras_mnist_convnet", (128, 64, 26, 26), (64, 64, 3, 3), 0),
    ("keras_mnist_convnet", (128, 64, 12, 12), (128, 64, 3, 3), 0),
    ("keras_mnist_convnet", (128, 128, 10, 10), (128, 128, 3, 3), 0),
]


#: The clock ``timed`` reads: ``time.perf_counter`` or, with ``--clock cpu``, ``time.process_time``.
clock = time.perf_counter


def timed(function):
    """A function that runs ``function`` and returns the seconds it took."""
    def run():
        start = clock()
        function()
        return clock() - start
    return run


def im2col_pair(x, w, b, pad):
    """Timed ``(forward, backward)`` of ``cnnlab.ops.conv.conv`` with ``algorithm='im2col'`` on the NumPy backend.

    The backward builds the graph untimed, then times ``Tensor.backward``.
    """
    import cnnlab
    from cnnlab.ops import conv as conv_ops
    tensors = [cnnlab.Tensor(a, requires_grad=True) for a in (x, w, b)]
    args = ((1, 1), ((pad, pad), (pad, pad)), (1, 1), 1)

    def forward():
        with cnnlab.backend.using_backend("numpy"):
            return conv_ops.conv(*tensors, *args, algorithm="im2col")

    def backward():
        y = forward()
        start = clock()
        y.backward(np.ones(y.shape, np.float32))
        return clock() - start
    return timed(forward), backward


def numba_pair(x, w, b, pad):
    """Timed ``(forward, backward)`` of the compiled kernels."""
    from cnnlab.backend.numba_backend import BLAS_PINNED, conv
    args = ((1, 1), ((pad, pad), (pad, pad)), (1, 1))
    g = np.ones_like(conv.conv2d_forward(x, w, b, *args, BLAS_PINNED))
    return (timed(lambda: conv.conv2d_forward(x, w, b, *args, BLAS_PINNED)),
            timed(lambda: conv.conv2d_backward(g, x, w, *args, True, True, True, BLAS_PINNED)))


def torch_pair(x, w, b, pad):
    """Timed ``(forward, backward)`` of ``torch.nn.functional.conv2d``."""
    import torch
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, tb, 1, pad)
    y = torch.nn.functional.conv2d(tx, tw, tb, 1, pad)
    g = torch.ones_like(y)
    return timed(forward), timed(lambda: torch.autograd.grad(y, (tx, tw, tb), g, retain_graph=True))


def layer_rates(x_shape, w_shape, pad, repeats):
    """``{(library, 'fwd' or 'bwd'): GFLOP/s}`` for one layer, best of ``repeats`` alternating rounds."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    pairs = {"im2col": im2col_pair(x, w, b, pad), "numba": numba_pair(x, w, b, pad), "torch": torch_pair(x, w, b, pad)}
    out = [n + 2 * pad - k + 1 for n, k in zip(x_shape[2:], w_shape[2:])]
    gflop = 2 * x_shape[0] * np.prod(w_shape) * np.prod(out) / 1e9
    for forward, backward in pairs.values():  # warm-up
        forward(), backward()
    best = {}
    for _ in range(repeats):
        for library, (forward, backward) in pairs.items():
            for kind, seconds, work in (("fwd", forward(), gflop), ("bwd", backward(), 2 * gflop)):
                best[library, kind] = max(best.get((library, kind), 0.0), work / seconds)
    return best


def table(threads, repeats, clock_name):
    import numba
    import torch
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    print(f"GFLOP/s, float32, best of {repeats} alternating rounds, {threads} threads (Numba and torch), "
          f"{clock_name} clock\n")
    print("| model | input | weight | im2col fwd | numba fwd | torch fwd | im2col bwd | numba bwd | torch bwd |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for model, x_shape, w_shape, pad in LAYERS:
        rates = layer_rates(x_shape, w_shape, pad, repeats)
        cells = " | ".join(f"{rates[lib, kind]:.1f}" for kind in ("fwd", "bwd") for lib in ("im2col", "numba", "torch"))
        print(f"| {model} | {x_shape} | {w_shape} | {cells} |", flush=True)


_FIRST_CALL = """
import time
import numpy as np
start = time.perf_counter()
from cnnlab.backend.numba_kernels import conv
imported = time.perf_counter()
for dtype in (np.float32, np.float64):
    x, w = np.ones((2, 3, 8, 8), dtype), np.ones((4, 3, 3, 3), dtype)
    y = conv.conv2d_forward(x, w, np.ones(4, dtype), (1, 1), ((1, 1), (1, 1)), (1, 1))
    conv.conv2d_backward(y, x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), True, True, True)
print(f"{imported - start:.2f} {time.perf_counter() - imported:.2f}")
"""


def startup():
    """Print the first-call time of the kernels with a cold Numba cache, then with the cache it left."""
    with tempfile.TemporaryDirectory() as cache:
        environment = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("compile (empty cache)", "load (cached)"):
            result = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=environment, check=True,
                                    capture_output=True, text=True)
            imported, first = result.stdout.split()
            print(f"{label}: import {imported} s, first forward + backward in float32 and float64 {first} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--startup", action="store_true", help="time compilation and cache loading instead")
    args = parser.parse_args(argv)
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.startup:
        startup()
    else:
        table(args.threads, args.repeats, args.clock)


if __name__ == "__main__":
    main()
