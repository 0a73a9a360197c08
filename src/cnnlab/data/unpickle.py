"""Reading the CIFAR pickles without letting them run code.

A pickle is a small program: its GLOBAL opcodes import any callable by name and
its REDUCE opcodes call it, so ``pickle.load`` on an untrusted file can run
``os.system(...)``. Our rule is that loading a data file never executes code.
Every global a pickle asks for passes through ``Unpickler.find_class``; ours
allows only what numpy needs to rebuild an ndarray (``_reconstruct``,
``ndarray``, ``dtype``) and refuses everything else before it is imported or
called. Dicts, lists, tuples, strings, bytes and numbers are built by opcodes of
their own and need no global, so the CIFAR files load unchanged.
"""
import _compat_pickle
import io
import pickle

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

#: The only globals a data pickle may name, and what they resolve to. The first
#: two are the same function under numpy 1's and numpy 2's module names.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """The pickle names a global outside :data:`ALLOWED_GLOBALS` (a ValueError too, like other bad files)."""


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that resolves only the globals in ``allowed`` and refuses any other.

    Subclasses for other file kinds set ``allowed`` (a dict ``(module, name) -> object``)
    and override :meth:`refusal` to word the error.
    """

    allowed = ALLOWED_GLOBALS

    def find_class(self, module, name):
        # Protocol 2 pickles name Python 2 modules (``__builtin__``); use Python 3's names, as pickle does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise self.refusal(module, name) from None

    def refusal(self, module, name):
        """The error for a global outside ``allowed``."""
        return UnsafePickleError(
            f"refusing to load global '{module}.{name}': data pickles may only hold "
            f"dicts, lists, strings, bytes, numbers and numpy arrays"
        )


def restricted_loads(raw, encoding="latin1"):
    """Unpickle ``raw`` (bytes) allowing only plain data and numpy arrays.

    ``encoding='latin1'`` reads Python 2 pickles such as CIFAR's, whose byte
    strings become ``str`` and whose numpy buffers load unchanged.

    >>> restricted_loads(pickle.dumps({"labels": [3, 8]}))
    {'labels': [3, 8]}
    """
    return RestrictedUnpickler(io.BytesIO(raw), encoding=encoding).load()
