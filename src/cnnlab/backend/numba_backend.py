"""Backend ``numba``: compiled CPU kernels where NumPy cannot fuse, the ``numpy`` reference everywhere else.

A subclass of :class:`~cnnlab.backend.numpy_backend.NumpyBackend`: it overrides
the window primitives (im2col and col2im, with the padding folded into the
copy) and ReLU with the compiled loops of :mod:`cnnlab.backend.numba_kernels`,
and puts a blocked convolution for narrow layers and compiled 2-D pooling in
front of the inherited algorithm tables. Every algorithm built on the
overridden primitives (im2col + GEMM, the channels-last GEMM) runs them.
Kernels compile on first use and are cached on disk (``cache=True``);
:class:`CompileNotice` says so once when that takes a while.

Threads: Numba's ``workqueue`` threading layer (the one every install has, and
the one Numba falls back on without OpenMP or TBB) aborts the process when two
threads launch parallel kernels at once, so this backend launches them one at a
time (:data:`LAUNCH`); an application that computes from several threads (the
explainer's server) is then safe whatever layer Numba picked. Each launch runs
on :func:`kernel_threads` threads, the one count this backend decides, set for
the launch only (Numba's count is per calling thread) and restored after it,
and lowered inside :func:`cnnlab.runtime.limited_threads` (data-parallel ranks).
The compiled kernels and the BLAS never run at once: the ops alternate, and the
GEMMs inside ``blocked_gemm`` are small enough that OpenBLAS keeps them on the
calling thread, so the two pools do not oversubscribe the cores.

Importing this module imports Numba; where it is missing the backend is listed
as unavailable, with the reason, and ``numpy`` serves.
"""
import contextlib
import functools
import importlib.util
import os
import sys
import threading
import time

import numba
from numba.core import event

from .. import runtime
from .algorithms import Algorithm
from .numba_kernels import conv as conv_kernels
from .numba_kernels import elementwise as elementwise_kernels
from .numba_kernels import pool as pool_kernels
from .numba_kernels import window as window_kernels
from .numpy_backend import NumpyBackend
from .numpy_backend.blas import openblas_thread_functions


#: Held while a compiled parallel kernel runs: one launch at a time in the process.
LAUNCH = threading.RLock()


def kernel_threads(environ=os.environ):
    """Threads per compiled kernel: ``NUMBA_NUM_THREADS`` if set (Numba's own setting), else
    ``OMP_NUM_THREADS`` if set, else Numba's default (the cores); never more than Numba started with."""
    if "NUMBA_NUM_THREADS" in environ:
        return numba.config.NUMBA_NUM_THREADS
    text = environ.get("OMP_NUM_THREADS", "").strip().split(",")[0]
    if text.isdigit() and int(text) > 0:
        return min(int(text), numba.config.NUMBA_NUM_THREADS)
    return numba.config.NUMBA_NUM_THREADS


@contextlib.contextmanager
def _launch_threads():
    """For one launch: Numba on :data:`THREADS` threads, SciPy's OpenBLAS (``np.dot`` in the kernels) on one.

    Both are restored after it. The BLAS pin is what lets ``blocked_gemm`` use large
    blocks; where SciPy's OpenBLAS cannot be found, :data:`BLAS_PINNED` is False and
    the kernels keep their GEMMs small enough for OpenBLAS to run them on one thread anyway.
    """
    before = numba.get_num_threads()
    limit = runtime.thread_limit()
    numba.set_num_threads(THREADS if limit is None else min(THREADS, limit))
    blas = blas_before = None
    if BLAS_PINNED:
        blas = openblas_thread_functions("scipy")
        blas_before = blas[0]()
        blas[1](1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
        if blas is not None:
            blas[1](blas_before)


class _Serialized:
    """A kernel module whose functions run while holding :data:`LAUNCH`, on :func:`kernel_threads` threads."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        function = getattr(self._module, name)

        @functools.wraps(function)
        def run(*args, **kwargs):
            with LAUNCH, _launch_threads():
                return function(*args, **kwargs)
        setattr(self, name, run)  # built once per name
        return run


#: The thread count of every launch, read once when the backend loads.
THREADS = kernel_threads()
#: Whether launches pin SciPy's OpenBLAS to one thread (it was found), allowing ``blocked_gemm`` large blocks.
BLAS_PINNED = openblas_thread_functions("scipy") is not None
conv, elementwise, pool, window = map(_Serialized, (conv_kernels, elementwise_kernels, pool_kernels, window_kernels))


def _refusal_2d(geometry):
    """Why a compiled 2-D kernel cannot take ``geometry`` (None when it can)."""
    if len(geometry.kernel) != 2 or len(geometry.x_shape) != 4:
        return f"a {len(geometry.kernel)}-D op on a {len(geometry.x_shape)}-D input"
    return f"an empty input of shape {geometry.x_shape}" if 0 in geometry.x_shape else None


#: Numba's ``np.dot``, which the blocked convolution calls, runs SciPy's BLAS: without SciPy it cannot compile.
HAS_SCIPY = importlib.util.find_spec("scipy") is not None


def _compiled(*arrays):
    """Whether the compiled window kernels take these arrays: 4-D (2-D windows) and not empty."""
    return all(a.ndim == 4 and a.size for a in arrays)


class BlockedGemmConv(Algorithm):
    """im2col in cache-sized blocks of output rows, each fed to a small GEMM, per sample (:mod:`.numba_kernels.conv`).

    The whole window matrix is never written; the automatic choice takes it for
    the narrow layers where that traffic costs more than the arithmetic.
    """

    name = "blocked_gemm"
    rule = "2-D one-group convolutions (groups=1) of a non-empty batch"

    def refusal(self, geometry):
        if not HAS_SCIPY:
            return "a machine without SciPy (Numba's np.dot needs it: pip install scipy)"
        return _refusal_2d(geometry) or (None if geometry.groups == 1 else f"groups={geometry.groups}")

    def preferred(self, geometry):
        # a plain rule, not a kernel: called directly, not through a serialised launch
        return conv_kernels.applies(geometry.x_shape, geometry.w_shape, geometry.stride, geometry.padding,
                                    geometry.dilation, geometry.groups, BLAS_PINNED)

    def forward(self, backend, x, w, b, geometry, needs):
        args = (geometry.stride, geometry.padding, geometry.dilation)
        y = conv.conv2d_forward(x, w, b, *args, BLAS_PINNED)
        return y, lambda g: conv.conv2d_backward(g, x, w, *args, *needs, BLAS_PINNED)


class CompiledMaxPool(Algorithm):
    """2-D max pooling as one compiled pass over each plane (values and, when backward needs them, indices)."""

    name = "compiled"
    rule = "2-D max pooling of non-empty (N, C, H, W) inputs"

    def refusal(self, geometry):
        return _refusal_2d(geometry)

    def forward(self, backend, x, geometry, needs_grad):
        args = (geometry.kernel, geometry.stride, geometry.padding, geometry.dilation, geometry.ceil_mode)
        if not (needs_grad or geometry.indices):
            return pool.max_pool2d_values(x, *args), None, None
        values, indices = pool.max_pool2d(x, *args)
        return values, indices, lambda g: pool.max_pool2d_backward(g, indices, x.shape)


class CompiledAvgPool(Algorithm):
    """2-D average pooling as one compiled pass, PyTorch's divisor rule."""

    name = "compiled"
    rule = "2-D average pooling of non-empty (N, C, H, W) inputs"

    def refusal(self, geometry):
        return _refusal_2d(geometry)

    def forward(self, backend, x, geometry, count_include_pad, divisor_override):
        args = (geometry.kernel, geometry.stride, geometry.padding, geometry.ceil_mode, count_include_pad,
                divisor_override)
        return pool.avg_pool2d(x, *args), lambda g: pool.avg_pool2d_backward(g, x.shape, *args)


class CompileNotice(event.Listener):
    """Says once, on stderr, when compiling cnnlab's kernels has taken over ``after`` seconds (a cold cache)."""

    def __init__(self, after=1.0, stream=None):
        self.after, self.stream, self.spent, self.said = after, stream, 0.0, False
        self._started = {}

    @staticmethod
    def _ours(event_):
        dispatcher = event_.data.get("dispatcher") if isinstance(event_.data, dict) else None
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "")
        return module.startswith("cnnlab.backend.numba_kernels")

    def on_start(self, event_):  # compiles nest (a kernel compiles its callees): time the outermost
        if self._ours(event_):
            self._started.setdefault(threading.get_ident(), []).append(time.perf_counter())

    def on_end(self, event_):
        stack = self._started.get(threading.get_ident())
        if not self._ours(event_) or not stack:
            return
        started = stack.pop()
        if stack or self.said:
            return
        self.spent += time.perf_counter() - started
        if self.spent > self.after:
            self.said = True
            print("cnnlab: compiling the numba backend's kernels (first run only: they are cached on disk)",
                  file=self.stream or sys.stderr, flush=True)


class NumbaBackend(NumpyBackend):
    """The kernel layer with Numba-compiled window copies, pooling and ReLU."""

    name = "numba"

    def __init__(self):
        self.compile_notice = CompileNotice()
        event.register("numba:compile", self.compile_notice)
    conv_algorithms = (BlockedGemmConv(),) + NumpyBackend.conv_algorithms
    max_pool_algorithms = (CompiledMaxPool(),) + NumpyBackend.max_pool_algorithms
    avg_pool_algorithms = (CompiledAvgPool(),) + NumpyBackend.avg_pool_algorithms

    def im2col(self, x, kernel, stride, padding, dilation, groups, out):
        if not _compiled(x):
            return super().im2col(x, kernel, stride, padding, dilation, groups, out)
        return window.im2col(x, kernel, stride, padding, dilation, groups, out)

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation, out):
        if len(input_shape) != 4 or not cols.size:
            return super().col2im(cols, input_shape, kernel, stride, padding, dilation, out)
        return window.col2im(cols, input_shape, kernel, stride, padding, dilation, out)

    def im2col_channels_last(self, x, kernel, stride, padding, dilation, out):
        if not _compiled(x):
            return super().im2col_channels_last(x, kernel, stride, padding, dilation, out)
        return window.im2col_channels_last(x, kernel, stride, padding, dilation, out)

    def relu(self, x):
        if not _compiled(x):
            return super().relu(x)
        return elementwise.relu(x)

    def relu_backward(self, g, y):
        if not _compiled(g):
            return super().relu_backward(g, y)
        return elementwise.relu_backward(g, y)
