"""Reading PyTorch's ``.pt``/``.pth`` files without running code from them, as ``torch.load(weights_only=True)``.

``torch.save`` (since PyTorch 1.6) writes a zip archive with one top folder::

    archive/data.pkl     the object, pickled (protocol 2)
    archive/data/0, 1..  the raw bytes of each storage
    archive/byteorder    'little' or 'big'

In ``data.pkl`` a storage is a persistent id ``('storage', torch.FloatStorage,
key, location, numel)`` naming the record ``data/<key>``; a tensor is the call
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
hooks)``, a view of its storage; a state_dict is a ``collections.OrderedDict``.
Those globals, the storage types and ``torch.Size`` are the only ones resolved:
any other (``os.system``, ``builtins.eval``) is refused before it is imported,
with a message naming it. Dicts, lists, tuples, strings and numbers need no
global. Tensors come back as cnnlab Tensors holding C-contiguous copies (views
of a shared storage no longer share memory; float16 becomes float32, as for
every cnnlab Tensor). PyTorch's older, non-zip format is
refused with a message.
"""
import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy

from .data.unpickle import RestrictedUnpickler, UnsafePickleError

#: PyTorch's storage types and the NumPy dtype of their elements.
STORAGE_DTYPES = {
    "FloatStorage": numpy.float32, "DoubleStorage": numpy.float64, "HalfStorage": numpy.float16,
    "LongStorage": numpy.int64, "IntStorage": numpy.int32, "ShortStorage": numpy.int16,
    "CharStorage": numpy.int8, "ByteStorage": numpy.uint8, "BoolStorage": numpy.bool_,
}  # fmt: skip

_ZIP_MAGIC = b"PK\x03\x04"
#: The start of a legacy (pre-1.6) torch file: pickle protocol 2, then torch's magic number as a LONG1.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")


def torch_format(path):
    """``'zip'`` or ``'legacy'`` for a file ``torch.save`` wrote, else None (judged by its first bytes)."""
    with open(path, "rb") as file:
        head = file.read(len(_LEGACY_MAGIC))
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    return "legacy" if head == _LEGACY_MAGIC else None


class StorageType:
    """A storage type named in the pickle (``torch.FloatStorage``): only its dtype matters."""

    def __init__(self, name):
        self.name, self.dtype = name, numpy.dtype(STORAGE_DTYPES[name])


class _Rebuilt:
    """A tensor as the pickle describes it; turned into a cnnlab Tensor once the whole file is read."""

    __slots__ = ("array", "requires_grad", "parameter")

    def __init__(self, array, requires_grad, parameter=False):
        self.array, self.requires_grad, self.parameter = array, bool(requires_grad), parameter

    def __setstate__(self, state):
        raise UnsafePickleError("the pickle sets attributes on a tensor, which a weights file never does")


def _ints(name, value):
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                               for v in value):
        raise ValueError(f"{name} must be a tuple of non-negative ints, got {value!r:.80}")
    return value


def rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: the view of ``storage`` at ``storage_offset`` with ``size`` and ``stride``.

    The view is checked to lie inside the storage, then copied: element
    ``(i_0, i_1, ...)`` is ``storage[storage_offset + sum(i_k * stride_k)]``.
    """
    if not isinstance(storage, numpy.ndarray):
        raise ValueError(f"a tensor's storage must be a storage record, got {type(storage).__name__}")
    size, stride = _ints("size", tuple(size)), _ints("stride", tuple(stride))
    offset = _ints("storage_offset", (storage_offset,))[0]
    if len(size) != len(stride):
        raise ValueError(f"size {size} and stride {stride} must have the same length")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if all(size) and last >= storage.size:
        raise ValueError(f"a tensor of size {size}, stride {stride} at offset {offset} "
                         f"reaches past its storage of {storage.size} elements")
    if not all(size):
        return _Rebuilt(numpy.zeros(size, storage.dtype), requires_grad)
    view = numpy.lib.stride_tricks.as_strided(storage[offset:], size, [s * storage.itemsize for s in stride])
    return _Rebuilt(numpy.array(view, order="C"), requires_grad)


def rebuild_parameter(data, requires_grad, backward_hooks):
    """``torch._utils._rebuild_parameter``: a saved ``nn.Parameter`` (a tensor that requires grad)."""
    if not isinstance(data, _Rebuilt):
        raise ValueError(f"a parameter's data must be a tensor, got {type(data).__name__}")
    return _Rebuilt(data.array, requires_grad, parameter=True)


def allowed_globals():
    """The globals a weights file may name, and what each resolves to here."""
    allowed = {("collections", "OrderedDict"): OrderedDict, ("torch", "Size"): tuple,
               ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
               ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
               ("torch._utils", "_rebuild_parameter"): rebuild_parameter}
    allowed.update({("torch", name): StorageType(name) for name in STORAGE_DTYPES})
    return allowed


class TorchUnpickler(RestrictedUnpickler):
    """Unpickles ``data.pkl`` of a torch zip archive, reading storages from the archive's ``data/`` records."""

    def __init__(self, raw, archive, prefix, byteorder, path):
        super().__init__(io.BytesIO(raw), encoding="utf-8")
        self.allowed = allowed_globals()
        self.archive, self.prefix, self.byteorder, self.path = archive, prefix, byteorder, path
        self.storages = {}

    def refusal(self, module, name):
        return UnsafePickleError(f"cnnlab.load: {self.path!r} refers to {module}.{name}, which a weights file "
                                 f"never needs; only tensors and plain containers are read")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str)):
            raise ValueError(f"unexpected persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        if key not in self.storages:
            self.storages[key] = self._storage(kind, key, numel)
        return self.storages[key]

    def _storage(self, kind, key, numel):
        dtype = kind.dtype.newbyteorder("<" if self.byteorder == "little" else ">")
        try:
            raw = self.archive.read(f"{self.prefix}data/{key}")
        except KeyError:
            raise ValueError(f"the storage record data/{key} is missing") from None
        if len(raw) != numel * dtype.itemsize:
            raise ValueError(f"the storage record data/{key} holds {len(raw)} bytes, "
                             f"not {numel} {kind.name} elements")
        return numpy.frombuffer(raw, dtype).astype(kind.dtype)


def _convert(value, memo):
    """``value`` with every tensor description turned into a cnnlab Tensor; refuses non-plain objects."""
    from .nn import Parameter
    from .tensor import Tensor

    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, _Rebuilt):
        if value.parameter:
            out = Parameter(value.array, requires_grad=value.requires_grad)
        else:
            out = Tensor(value.array, requires_grad=value.requires_grad and value.array.dtype.kind == "f")
    elif isinstance(value, (dict, list)):
        out = memo[id(value)] = type(value)()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(out, dict):
                out[key] = _convert(item, memo)
            else:
                out.append(_convert(item, memo))
    elif isinstance(value, tuple):
        out = tuple(_convert(item, memo) for item in value)
    elif value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        out = value
    else:
        raise ValueError(f"the file holds a {type(value).__name__}, which is not a tensor or a plain container")
    memo[id(value)] = out
    return out


def _archive_layout(archive):
    """The prefix of the archive's one ``data.pkl`` (``'archive/'``) and its byte order."""
    pickles = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise ValueError(f"expected one data.pkl in the archive, found {len(pickles)}")
    prefix = pickles[0][: -len("data.pkl")]
    names = set(archive.namelist())
    byteorder = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
    if byteorder not in ("little", "big"):
        raise ValueError(f"unknown byteorder {byteorder!r}")
    return prefix, byteorder


def read_torch_file(path):
    """The object ``torch.save`` wrote to ``path``, with tensors as cnnlab Tensors; never runs code from the file.

    A state_dict comes back as an OrderedDict ``name -> Tensor``; a saved tensor
    as a Tensor; dicts, lists and tuples of them as such. Any global other than
    :func:`allowed_globals` raises :class:`~cnnlab.data.UnsafePickleError`
    naming it; a damaged or legacy-format file raises ValueError naming the file.

    >>> model.load_state_dict(read_torch_file("model.pt"))
    """
    path = os.fspath(path)
    if torch_format(path) == "legacy":
        raise ValueError(f"cnnlab.load: {path!r} is in PyTorch's legacy (before 1.6) format, which cnnlab does not "
                         f"read; load it in PyTorch and save it again with torch.save")
    try:
        with zipfile.ZipFile(path) as archive:
            prefix, byteorder = _archive_layout(archive)
            raw = archive.read(prefix + "data.pkl")
            return _convert(TorchUnpickler(raw, archive, prefix, byteorder, path).load(), {})
    except UnsafePickleError as error:
        if str(error).startswith("cnnlab.load"):
            raise
        raise UnsafePickleError(f"cnnlab.load: {path!r}: {error}") from None
    except (ValueError, TypeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, UnicodeDecodeError,
            RecursionError) as error:
        raise ValueError(f"cnnlab.load: {path!r} is not a readable PyTorch weights file ({error})") from None
