"""Matrix products that run small GEMMs on one BLAS thread.

Multi-threaded OpenBLAS splits even a small GEMM between its threads and waits
for all of them; when another process holds a core, the waiting thread only gets
it back at the next scheduler slice. Measured on 2 cores with both busy (NumPy
2.4, OpenBLAS 0.3.31, float32): ``(128, 120) @ (120, 400)`` takes 16 ms on two
threads and 0.1 ms on one; the im2col GEMM of lenet5's second layer,
``(16, 150) @ (150, 12800)``, 16 ms against 0.9 ms. Products below
``SINGLE_THREAD_FLOPS`` therefore run with the BLAS pinned to one thread (the
thread count is restored afterwards); larger ones, where threads pay, are left
alone. The price on an idle machine, where two threads would have helped a
little: lenet5 training 7% slower, simple_cnn 11%; with another process holding
both cores it is 54% and 38% faster. Set ``CNNLAB_SINGLE_THREAD_FLOPS=0`` on a
machine known to be idle. When the BLAS is not NumPy's bundled OpenBLAS the
products run unchanged.

The thread count is a process-wide setting that OpenBLAS does not expect to
change while another thread is inside a BLAS call, so only the main thread pins
it; products computed in other threads (the explain server's handlers, a user's
thread pool) run unchanged.
"""
import ctypes
import glob
import os
import threading
import warnings

from ..backend import xp


def _threshold_from_environment(default=2 ** 27):
    """``CNNLAB_SINGLE_THREAD_FLOPS`` as a non-negative int; ``default`` when unset, or with a warning when invalid.

    A warning rather than an error: the variable is read when cnnlab is imported,
    and a mistyped setting should cost speed, not every program that imports it.
    """
    text = os.environ.get("CNNLAB_SINGLE_THREAD_FLOPS", "").strip()
    if not text:
        return default
    if not text.isdigit():
        warnings.warn(f"CNNLAB_SINGLE_THREAD_FLOPS must be a non-negative integer, got {text!r}; "
                      f"using {default}", RuntimeWarning, stacklevel=2)
        return default
    return int(text)


#: GEMMs of fewer floating-point operations (``2 M N K``) than this run on one BLAS thread;
#: the environment variable ``CNNLAB_SINGLE_THREAD_FLOPS`` overrides it (0 turns the pinning off).
SINGLE_THREAD_FLOPS = _threshold_from_environment()


def _openblas_thread_functions():
    """``(get, set)`` for the thread count of NumPy's bundled OpenBLAS, or None when there is none."""
    folder = os.path.join(os.path.dirname(xp.__file__), os.pardir, xp.__name__ + ".libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"), ("openblas", "")):
            get = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
            set_ = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                return get, set_
    return None


_THREADS = _openblas_thread_functions()


def _flops(a_shape, b_shape):
    """Floating-point operations of one of the (batched) products: NumPy makes one BLAS call per product."""
    rows = a_shape[-2] if len(a_shape) > 1 else 1
    return 2 * rows * a_shape[-1] * (b_shape[-1] if len(b_shape) > 1 else 1)


def matmul(a, b):
    """``a @ b`` (batched as ``numpy.matmul``), on one BLAS thread when one product has fewer than ``SINGLE_THREAD_FLOPS``.

    >>> matmul(numpy.ones((2, 3)), numpy.ones((3, 4))).shape
    (2, 4)
    """
    if (_THREADS is None or _flops(a.shape, b.shape) >= SINGLE_THREAD_FLOPS
            or threading.current_thread() is not threading.main_thread()):
        return a @ b
    get, set_ = _THREADS
    threads = get()
    if threads <= 1:
        return a @ b
    set_(1)
    try:
        return a @ b
    finally:
        set_(threads)
