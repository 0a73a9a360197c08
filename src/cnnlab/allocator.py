"""Keep freed memory in the process for the next training step (glibc's malloc only).

A training step allocates and frees the same large arrays every time: im2col
matrices, activations, gradients. With glibc's defaults each array above its
mmap threshold (128 KiB, raised as large blocks are freed) is mapped fresh from
the kernel and unmapped when freed, and the heap above 128 KiB of free space is
handed back, so every step pays a page fault per 4 KiB it touches, plus the
unmapping (freeing one 192 KB gradient took 1.2 ms). Raising three settings
makes the heap keep and reuse that memory instead: measured on 2 cores,
alternating runs in separate processes, lenet5 training 5.6-6.4k -> 9.4-9.6k
img/s and batch-512 inference 25.3-25.9k -> 29.2k img/s, tiny_vgg training
580-590 -> 720-730 img/s; simple_cnn and keras_mnist_convnet level.

The price is that the process keeps its peak heap between steps rather than
returning it, which a training loop reaches again at the next step anyway.
The settings are the process's, so :func:`tune` leaves them alone when the user
chose any of them (a ``MALLOC_*_`` environment variable is set) or turned this
off (``CNNLAB_MALLOC_TUNING=0``), and off glibc.
"""
import ctypes
import ctypes.util
import os
import sys

# mallopt's parameter numbers (glibc's malloc.h) and the values cnnlab sets.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {
    M_MMAP_THRESHOLD: 32 << 20,  # blocks below 32 MiB (glibc's maximum) come from the heap
    M_TRIM_THRESHOLD: 1 << 30,   # keep up to 1 GiB of free heap rather than return it
    M_TOP_PAD: 64 << 20,         # grow the heap 64 MiB at a time
}
#: The environment variables through which glibc reads the same settings.
GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def wanted(environ=os.environ, platform=sys.platform):
    """Whether :func:`tune` should change the allocator: on Linux, unless the user set it or turned this off."""
    if not platform.startswith("linux") or environ.get("CNNLAB_MALLOC_TUNING", "1").strip() == "0":
        return False
    return not any(name in environ for name in GLIBC_VARIABLES)


def tune():
    """Apply :data:`SETTINGS` through glibc's ``mallopt`` when :func:`wanted`; True when all were applied."""
    if not wanted():
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl has no mallopt), or no C library found
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS.items())


TUNED = tune()
