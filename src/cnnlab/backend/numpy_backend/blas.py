"""The GEMM of the NumPy backend: NumPy's matmul, with small products on one BLAS thread inside ``process_tuning``.

Multi-threaded OpenBLAS splits even a small GEMM between its threads and waits
for all of them; when another process holds a core, the waiting thread only
gets it back at the next scheduler slice, so small products run many times
slower on two threads than on one (``benchmarks/RESULTS.md``, "Allocator and
BLAS settings"). The BLAS thread count belongs to the whole process, so cnnlab
changes it only inside :func:`cnnlab.process_tuning` (which ``fit``, ``evaluate``
and the command line enter): there, products below ``SINGLE_THREAD_FLOPS`` run
with the BLAS pinned to one thread and the count is restored right after.
Outside it, and in any thread but the main one (OpenBLAS does not expect the
count to change while another thread is inside a BLAS call), every product is a
plain ``a @ b``. ``CNNLAB_SINGLE_THREAD_FLOPS=0`` turns the pinning off.
"""
import ctypes
import functools
import glob
import importlib
import os
import threading
import warnings

import numpy

from ... import runtime


def _threshold_from_environment(default=2 ** 27):
    """``CNNLAB_SINGLE_THREAD_FLOPS`` as a non-negative int; ``default`` when unset, or with a warning when invalid.

    A warning rather than an error: a mistyped setting should cost speed, not every program that trains.
    """
    text = os.environ.get("CNNLAB_SINGLE_THREAD_FLOPS", "").strip()
    if not text:
        return default
    if not text.isdigit():
        warnings.warn(f"CNNLAB_SINGLE_THREAD_FLOPS must be a non-negative integer, got {text!r}; "
                      f"using {default}", RuntimeWarning, stacklevel=2)
        return default
    return int(text)


#: GEMMs of fewer floating-point operations (``2 M N K``) than this run on one BLAS thread inside
#: ``process_tuning``; the environment variable ``CNNLAB_SINGLE_THREAD_FLOPS`` overrides it (0: never).
SINGLE_THREAD_FLOPS = _threshold_from_environment()


@functools.lru_cache(maxsize=None)
def openblas_thread_functions(package="numpy"):
    """``(get, set)`` for the thread count of the OpenBLAS bundled with ``package`` (NumPy's, or SciPy's,
    which Numba's ``np.dot`` calls), or None when there is none."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    folder = os.path.join(os.path.dirname(module.__file__), os.pardir, f"{package}.libs")
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


def _flops(a_shape, b_shape):
    """Floating-point operations of one of the (batched) products: NumPy makes one BLAS call per product."""
    rows = a_shape[-2] if len(a_shape) > 1 else 1
    return 2 * rows * a_shape[-1] * (b_shape[-1] if len(b_shape) > 1 else 1)


def _pinned(a, b):
    """Whether ``a @ b`` should run on one BLAS thread here and now."""
    return (runtime.tuning_active() and _flops(a.shape, b.shape) < SINGLE_THREAD_FLOPS
            and threading.current_thread() is threading.main_thread()
            and openblas_thread_functions() is not None)


def matmul(a, b):
    """``a @ b`` (batched as ``numpy.matmul``); small products on one BLAS thread inside ``process_tuning``.

    >>> matmul(numpy.ones((2, 3)), numpy.ones((3, 4))).shape
    (2, 4)
    """
    if not _pinned(a, b):
        return a @ b
    get, set_ = openblas_thread_functions()
    threads = get()
    if threads <= 1:
        return a @ b
    set_(1)
    try:
        return a @ b
    finally:
        set_(threads)
