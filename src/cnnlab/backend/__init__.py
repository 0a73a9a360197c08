"""The engine's lower floor: the array module, and the kernel backends behind the hot primitives.

Two ideas live here, kept apart as Chainer keeps them:

- **The array module** (NumPy today, CuPy later) comes from the operands at
  each call: ``xp = get_array_module(x)``. No module keeps a copy of it, so an op
  written against ``xp`` runs on whichever arrays it is given.
- **The kernel backend** implements the primitives that dominate a training
  step: window extraction (im2col) and its adjoint, the GEMM, each convolution
  algorithm and each pooling algorithm, forward and backward, plus the fused
  element-wise passes. ``'numpy'`` is the readable reference; a compiled CPU
  backend or a GPU one is a subclass that overrides what it does faster. The
  Tensor ops in :mod:`cnnlab.ops` reach them only through :func:`active`.

The default is ``'numba'`` where Numba is installed (a core dependency), else
``'numpy'`` with a one-line warning. Choose a backend with :func:`set_backend`,
or for a block of code with :func:`using_backend`::

    >>> import cnnlab
    >>> with cnnlab.using_backend("numpy"):
    ...     y = model(x)

Adding one: write a module with a subclass of
:class:`~cnnlab.backend.numpy_backend.NumpyBackend` (or of another backend)
that overrides the primitives it implements, and name it in :func:`register`
(``register("mine", "package.module:MyBackend")``). A backend whose module
cannot be imported here (its package missing) is listed as unavailable, with
the reason, by :func:`available_backends`.

Random draws (initialisation, dropout, shuffling) stay on NumPy's host
generators for every backend, so a seed gives the same numbers everywhere; a
device backend moves them with its ``asarray``.
"""
import contextlib
import contextvars
import importlib
import threading
import warnings

import numpy

#: dtype of new floating-point tensors, as in PyTorch.
default_float = numpy.float32

_FLOATS = (numpy.float32, numpy.float64)


#: Array modules with NumPy's interface whose arrays the engine accepts (CuPy's once a backend uses it).
ARRAY_MODULES = ("numpy", "cupy")


def _module_of(array):
    name = type(array).__module__.partition(".")[0]
    return name if name in ARRAY_MODULES else "numpy"


def get_array_module(*arrays):
    """The array module (``numpy``, or a GPU module with NumPy's interface) that owns ``arrays``.

    >>> get_array_module(numpy.zeros(3)) is numpy
    True
    """
    for array in arrays:
        name = _module_of(array)
        if name != "numpy":
            return importlib.import_module(name)
    return numpy


def to_numpy(array):
    """``array`` as a NumPy array on the host: where results leave the engine (files, metrics, plots)."""
    return numpy.asarray(array.get() if _module_of(array) != "numpy" else array)


def is_float(array):
    """True for float32 and float64 arrays, the dtypes that carry gradients."""
    return array.dtype in _FLOATS


# ------------------------------------------------------------------ registry
#: Backend name -> where its class lives (``"module:Class"``), in order of preference.
_REGISTRY = {"numpy": "cnnlab.backend.numpy_backend:NumpyBackend",
             "numba": "cnnlab.backend.numba_backend:NumbaBackend"}
_loaded = {}
_lock = threading.Lock()
#: The default is the first of these that loads here; None until an op first asks.
PREFERRED = ("numba", "numpy")
_default = None
_override = contextvars.ContextVar("cnnlab_backend", default=None)


def register(name, location):
    """Make a backend available under ``name``; ``location`` is ``"module:Class"``, imported on first use."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"register: name must be an identifier string, got {name!r}")
    _REGISTRY[name] = location
    _loaded.pop(name, None)


def _load(name):
    """The backend instance called ``name``, or the ImportError that keeps it from loading here."""
    loaded = _loaded.get(name)  # every op asks: no lock once loaded
    if loaded is not None:
        return loaded
    with _lock:
        if name not in _loaded:
            module, attribute = _REGISTRY[name].split(":")
            try:
                _loaded[name] = getattr(importlib.import_module(module), attribute)()
            except ImportError as error:
                _loaded[name] = error
        return _loaded[name]


def names():
    """The registered backends' names, without loading any."""
    return list(_REGISTRY)


def available_backends():
    """``{name: None}`` for each backend that loads here, ``{name: reason}`` for each that does not."""
    return {name: (None if not isinstance(backend, Exception) else f"{type(backend).__name__}: {backend}")
            for name, backend in ((name, _load(name)) for name in _REGISTRY)}


def _checked(where, name):
    """``name``'s backend instance, or a ValueError naming the backends there are."""
    if name not in _REGISTRY:
        listed = ", ".join(map(repr, names()))
        raise ValueError(f"{where}: unknown backend {name!r}; the backends are {listed}")
    backend = _load(name)
    if isinstance(backend, Exception):
        raise ValueError(f"{where}: backend {name!r} is not available here ({type(backend).__name__}: {backend})")
    return backend


def set_backend(name):
    """Use backend ``name`` from now on (in every thread, outside :func:`using_backend` blocks).

    >>> cnnlab.set_backend("numpy")
    """
    global _default
    _checked("set_backend", name)
    _default = name


def get_backend():
    """The name of the backend ops use here and now.

    Unless :func:`set_backend` chose one, the default is the first of
    :data:`PREFERRED` that loads here: ``'numba'`` where Numba is installed,
    else ``'numpy'``, with a one-line warning saying why.

    >>> cnnlab.get_backend()
    'numba'
    """
    return _override.get() or _default or _choose_default()


def _choose_default():
    """The first of :data:`PREFERRED` that loads, remembered; a warning names each one passed over and why."""
    global _default
    missing = []
    for name in PREFERRED:
        backend = _load(name)
        if isinstance(backend, Exception):
            missing.append(f"{name!r} ({type(backend).__name__}: {backend})")
            continue
        if missing:
            warnings.warn(f"cnnlab: backend {', '.join(missing)} is not available here; using {name!r}",
                          RuntimeWarning, stacklevel=3)
        _default = name
        return name
    raise RuntimeError("cnnlab: no backend loads here, not even 'numpy'; this is a bug in cnnlab")


@contextlib.contextmanager
def using_backend(name):
    """Use backend ``name`` inside a ``with`` block (this thread only); the previous one is restored on exit."""
    _checked("using_backend", name)
    token = _override.set(name)
    try:
        yield _load(name)
    finally:
        _override.reset(token)


def active():
    """The backend instance ops dispatch to: the kernel layer's one entry point."""
    return _load(get_backend())


def matmul(a, b):
    """``a @ b`` (batched as ``numpy.matmul``) through the active backend: every GEMM of the engine goes here.

    >>> matmul(numpy.ones((2, 3)), numpy.ones((3, 4))).shape
    (2, 4)
    """
    return active().matmul(a, b)
