"""Process-wide speed settings, applied only inside a scope the application enters and leaves.

Inside ``with cnnlab.process_tuning():`` cnnlab changes two settings of the whole
process until the outermost scope exits (also on an error): glibc's malloc keeps
freed memory in the heap for the next training step instead of unmapping it and
mapping it afresh (three ``mallopt`` settings, :data:`SETTINGS`), and the GEMM
runs products too small to gain from BLAS threads on one thread (it reads
:func:`tuning_active`). ``fit``, ``evaluate``, ``predict``, ``find_lr`` and the
``cnnlab`` command enter it around their loops; importing cnnlab changes nothing.
The price is that the process keeps its peak heap while inside. Only the main
thread changes the settings. To opt out of the malloc settings set
``CNNLAB_MALLOC_TUNING=0`` or any of glibc's own ``MALLOC_*_`` variables (they
are also left alone off Linux or without glibc); of the pinning,
``CNNLAB_SINGLE_THREAD_FLOPS=0``. Measurements: the "Allocator and BLAS settings"
section of ``benchmarks/RESULTS.md``.
"""
import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys
import threading

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
#: The values set inside :func:`process_tuning`.
SETTINGS = {
    M_MMAP_THRESHOLD: 32 << 20,  # blocks below 32 MiB (glibc's maximum) come from the heap
    M_TRIM_THRESHOLD: 1 << 30,   # keep up to 1 GiB of free heap rather than return it
    M_TOP_PAD: 64 << 20,         # grow the heap 64 MiB at a time
}
#: glibc's defaults (DEFAULT_MMAP_THRESHOLD_MIN, DEFAULT_TRIM_THRESHOLD, DEFAULT_TOP_PAD), restored on exit.
GLIBC_DEFAULTS = {M_MMAP_THRESHOLD: 128 << 10, M_TRIM_THRESHOLD: 128 << 10, M_TOP_PAD: 128 << 10}
#: The environment variables through which glibc reads the same settings.
GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_depth = 0            # how many scopes the main thread is inside
_malloc_tuned = False  # whether the outermost entry changed malloc's settings
_thread_limit = None   # the innermost limited_threads(n)'s n, or None


def wanted(environ=os.environ, platform=sys.platform):
    """Whether :func:`process_tuning` should change malloc: on Linux, unless the user set it or turned this off."""
    if not platform.startswith("linux") or environ.get("CNNLAB_MALLOC_TUNING", "1").strip() == "0":
        return False
    return not any(name in environ for name in GLIBC_VARIABLES)


def tuning_active():
    """Whether the main thread is inside :func:`process_tuning` now (the same answer in every thread)."""
    return _depth > 0


@contextlib.contextmanager
def process_tuning():
    """Apply cnnlab's process-wide speed settings until the outermost ``with`` block exits.

    Re-entrant: nested scopes apply the settings once. A no-op outside the main
    thread (other threads then see :func:`tuning_active` answer for the main one).

    glibc has no getter for its malloc settings, so the exit restores glibc's
    documented defaults (:data:`GLIBC_DEFAULTS`), not the values before entry: a
    program that calls ``mallopt`` itself should opt out. Nor can the exit turn
    glibc's dynamic mmap threshold (raised as large blocks are freed) back on: any
    ``mallopt`` of these settings fixes it for the life of the process, at 128 KiB
    after the exit. The heap kept inside is handed back on exit (``malloc_trim``).

    >>> with cnnlab.process_tuning():
    ...     train_many_models()
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _enter()
    try:
        yield
    finally:
        _exit()


def thread_limit():
    """The most threads a compiled kernel or a BLAS call may use now (:func:`limited_threads`), or None for no limit."""
    return _thread_limit


@contextlib.contextmanager
def limited_threads(threads):
    """Run the compiled kernels and the BLAS on at most ``threads`` threads until the block exits.

    For processes sharing a machine (the ranks of data-parallel training, each given
    its share of the cores). The BLAS's thread count belongs to the whole process, so
    it is lowered on entry and restored on exit; the compiled kernels read
    :func:`thread_limit` at each launch. ``threads=None`` limits nothing. Main thread only,
    like :func:`process_tuning` (elsewhere it is a no-op).
    """
    global _thread_limit
    if threads is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    from .backend.numpy_backend.blas import openblas_thread_functions

    previous, restore = _thread_limit, []
    _thread_limit = threads if previous is None else min(previous, threads)
    try:
        for package in ("numpy", "scipy"):
            functions = openblas_thread_functions(package)
            if functions is not None and functions[0]() > _thread_limit:
                restore.append((functions[1], functions[0]()))
                functions[1](_thread_limit)
        yield
    finally:
        for set_threads, count in reversed(restore):
            set_threads(count)
        _thread_limit = previous


def _enter():
    global _depth, _malloc_tuned
    with _lock:
        _depth += 1
        if _depth == 1 and wanted() and _glibc() is not None:
            _malloc_tuned = True
            _set(SETTINGS)


def _exit():
    global _depth, _malloc_tuned
    with _lock:
        _depth -= 1
        if _depth == 0 and _malloc_tuned:
            _malloc_tuned = False
            _set(GLIBC_DEFAULTS)
            _glibc().malloc_trim(0)  # hand the heap kept inside back, so the defaults apply to new blocks at once


def _set(settings):
    """Pass each ``{parameter: value}`` to glibc's ``mallopt``."""
    for parameter, value in settings.items():
        _glibc().mallopt(parameter, value)


@functools.cache
def _glibc():
    """The C library when it has glibc's ``mallopt`` and ``malloc_trim``; None otherwise (musl has neither)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    except (OSError, AttributeError, TypeError):
        return None
    return libc
