"""Compiled CPU kernels (Numba) for the memory-bound passes of a CNN's training step.

im2col and col2im (:mod:`.window`), max and average pooling forward and backward
(:mod:`.pool`), and the fused bias + ReLU with its gradients (:mod:`.elementwise`)
are written as small module-level ``@numba.njit(cache=True)`` loops over plain
arrays and integers, each behind a thin Python wrapper that allocates the output
and picks the compiled core for the input's memory layout: C-contiguous NCHW, or
the channels-last view (a C-contiguous ``(N, H, W, C)`` buffer transposed to
``(N, C, H, W)``); any other layout is copied to NCHW first, and results keep
the input's layout. Every function matches its NumPy reference in
:mod:`cnnlab.ops` (and PyTorch) exactly where the arithmetic is the same, and to
round-off where the summation order differs.
"""
