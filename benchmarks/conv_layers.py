"""Per-layer convolution speed: cnnlab's and PyTorch's conv2d on the zoo's layer shapes, in GFLOP/s.

For every convolution of ``lenet5``, ``simple_cnn``, ``keras_mnist_convnet`` and
``tiny_vgg`` at training batch size (128), times the forward pass and the
backward pass (input, weight and bias gradients) of ``cnnlab.functional.conv2d``
and ``torch.nn.functional.conv2d``, alternating the libraries, best of
``--repeats``. A convolution's forward costs ``2 N O (C/G) kH kW H_out W_out``
flops; its backward twice that (two products of the same size). The machine's
float32 matrix-multiply peak (a 2048x2048 product in NumPy and in torch) is
printed above the table as the yardstick. Both libraries use every core.

    python benchmarks/conv_layers.py
"""
import argparse
import os
import time

import numpy as np

import cnnlab
from cnnlab import functional as F
from cnnlab import models
from cnnlab.ops import conv as conv_ops

try:
    import torch
except ImportError:
    torch = None

MODELS = ("lenet5", "simple_cnn", "keras_mnist_convnet", "tiny_vgg")


def layer_shapes(name, batch):
    """``(input shape, weight shape, stride, padding, dilation, groups)`` of each convolution in zoo model ``name``."""
    seen, original = [], conv_ops.conv

    def record(x, w, b, stride, padding, dilation, groups):
        seen.append((x.shape, w.shape, stride, padding[0][0], dilation, groups))
        return original(x, w, b, stride, padding, dilation, groups)
    conv_ops.conv = record
    try:
        with cnnlab.no_grad():
            models.create(name).eval()(cnnlab.zeros(batch, *models.spec(name).input_shape))
    finally:
        conv_ops.conv = original
    return seen


def best_time(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(repeats, n=2048):
    """GFLOP/s of an ``n x n`` float32 matrix product in NumPy and in torch."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    flops = 2 * n**3 / 1e9
    peak = {"numpy": flops / best_time(lambda: a @ a, repeats)}
    if torch is not None:
        t = torch.from_numpy(a)
        peak["torch"] = flops / best_time(lambda: t @ t, repeats)
    return peak


def cnnlab_pair(x, w, stride, padding, dilation, groups):
    xt, wt = cnnlab.Tensor(x, requires_grad=True), cnnlab.Tensor(w, requires_grad=True)
    bt = cnnlab.Tensor(np.zeros(w.shape[0], np.float32), requires_grad=True)
    out = {}

    def forward():
        with cnnlab.no_grad():
            F.conv2d(xt, wt, bt, stride, padding, dilation, groups)

    def backward():
        y = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
        out["g"] = out.get("g") if out.get("g") is not None else np.ones(y.shape, np.float32)
        start = time.perf_counter()
        y.backward(out["g"])
        return time.perf_counter() - start
    return forward, backward


def torch_pair(x, w, stride, padding, dilation, groups):
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], requires_grad=True)

    def forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups)

    def backward():
        y = torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups)
        g = torch.ones_like(y)
        start = time.perf_counter()
        y.backward(g)
        return time.perf_counter() - start
    return forward, backward


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(os.cpu_count())
    peak = matmul_peak(args.repeats)
    print(f"float32 2048x2048 matmul peak: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
    print()
    print("| model | input | weight | stride/pad | cnnlab fwd | torch fwd | cnnlab bwd | torch bwd |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name in MODELS:
        for x_shape, w_shape, stride, pad, dilation, groups in layer_shapes(name, args.batch):
            x = rng.standard_normal(x_shape).astype(np.float32)
            w = rng.standard_normal(w_shape).astype(np.float32)
            out = [(n + 2 * pad - d * (k - 1) - 1) // s + 1
                   for n, k, s, d in zip(x_shape[2:], w_shape[2:], stride, dilation)]
            gflop = 2 * x_shape[0] * w_shape[0] * np.prod(w_shape[1:]) * np.prod(out) / 1e9
            libs = {"cnnlab": cnnlab_pair(x, w, stride, pad, dilation, groups)}
            if torch is not None:
                libs["torch"] = torch_pair(x, w, stride, pad, dilation, groups)
            rates = {}
            for lib, (forward, backward) in libs.items():
                rates[lib, "fwd"] = gflop / best_time(forward, args.repeats)
                backward()
                rates[lib, "bwd"] = 2 * gflop / min(backward() for _ in range(args.repeats))
            cell = lambda lib, kind: f"{rates[lib, kind]:.1f}" if (lib, kind) in rates else "-"
            print(f"| {name} | {tuple(x_shape)} | {tuple(w_shape)} | {stride[0]}/{pad} | {cell('cnnlab', 'fwd')} "
                  f"| {cell('torch', 'fwd')} | {cell('cnnlab', 'bwd')} | {cell('torch', 'bwd')} |", flush=True)


if __name__ == "__main__":
    main()
