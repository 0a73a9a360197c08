"""The IDX file format of MNIST and Fashion-MNIST: read (gzipped or plain) and write.

Layout (all integers big-endian)::

    bytes 0-1   0x0000
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 d bytes   the size of each dimension, uint32
    the rest    the elements, row-major

>>> images = read_idx("train-images-idx3-ubyte.gz")     # uint8 (60000, 28, 28)
"""
import gzip
import os
import zlib

import numpy as np

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("=").str.lstrip("<>|="): k for k, v in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({error})") from None


def parse_idx(raw, name="<bytes>"):
    """The array stored in the IDX bytes ``raw``; ``name`` only labels error messages."""
    if len(raw) < 4:
        raise ValueError(f"{name}: too short for an IDX header: {len(raw)} bytes, need at least 4")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{name}: not an IDX file: magic number must start with 0x0000; got 0x{raw[:4].hex()}")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise ValueError(f"{name}: unknown IDX element type 0x{code:02x} (magic 0x{raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes; got {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        problem = "truncated" if len(raw) - header < expected else "has trailing bytes"
        raise ValueError(
            f"{name}: {problem}: header says shape {shape} ({expected} bytes of data); "
            f"got {len(raw) - header} bytes"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path):
    """The array in IDX file ``path`` (gzipped or plain, told apart by the gzip magic bytes).

    Raises ValueError naming the file for a corrupt gzip stream, a wrong magic
    number, or a size that does not match the header.
    """
    return parse_idx(_read_bytes(path), os.fspath(path))


def idx_bytes(array):
    """The IDX encoding of ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str.lstrip("<>|=")
    if key not in _CODES:
        raise ValueError(
            f"idx_bytes: IDX stores uint8, int8, int16, int32, float32 or float64; got dtype {array.dtype}"
        )
    code = _CODES[key]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, _DTYPES[code]).tobytes()


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file; gzip it when ``compress`` is True (default: when ``path`` ends in .gz)."""
    raw = idx_bytes(array)
    if compress if compress is not None else os.fspath(path).endswith(".gz"):
        raw = gzip.compress(raw, mtime=0)
    with open(path, "wb") as f:
        f.write(raw)
