"""Compiled CPU kernels (Numba) for the passes of a CNN's training step that NumPy cannot fuse.

im2col and col2im (:mod:`.window`), max and average pooling forward and backward
(:mod:`.pool`), the fused bias + ReLU with its gradients (:mod:`.elementwise`)
and a blocked convolution for narrow layers (:mod:`.conv`) are written as small
module-level ``@numba.njit(cache=True)`` loops over plain arrays and integers,
each behind a thin Python wrapper that allocates the output and picks the
compiled core for the input's memory layout: C-contiguous NCHW, or the
channels-last view (a C-contiguous ``(N, H, W, C)`` buffer transposed to
``(N, C, H, W)``); any other layout is copied to NCHW first. Every function
matches the ``numpy`` backend (:mod:`cnnlab.backend.numpy_backend`) and PyTorch
exactly where the arithmetic is the same, and to round-off where the summation
order differs. :mod:`cnnlab.backend.numba_backend` wires them into the kernel layer.
"""
