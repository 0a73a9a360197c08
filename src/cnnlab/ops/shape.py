"""Ops that move elements without changing them: reshape, permute, index, concat, contiguous."""
import builtins
import itertools

from ..backend import get_array_module
from ..tensor import Tensor, from_op
from .elementwise import unbroadcast
from .reduce import normalize_dims


def _shape_arg(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def reshape(a, *shape):
    """The same elements in a new shape (one dimension may be -1)."""
    shape = _shape_arg(shape)
    try:
        out = a.array.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.array.size} elements) "
                         f"into shape {shape}") from None
    return from_op(out, (a,), lambda g: (g.reshape(a.shape),))


def flatten(a, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` through ``end_dim`` into one."""
    if a.ndim == 0:
        return reshape(a, 1)
    start, end = (d % a.ndim for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim must not come after end_dim, got start_dim={start_dim}, end_dim={end_dim}")
    merged = 1
    for n in a.shape[start:end + 1]:
        merged *= n
    return reshape(a, a.shape[:start] + (merged,) + a.shape[end + 1:])


def permute(a, *dims):
    """Reorder the dimensions: output dimension i is input dimension ``dims[i]``."""
    dims = _shape_arg(dims)
    if sorted(d % builtins.max(a.ndim, 1) for d in dims) != list(range(a.ndim)):
        raise ValueError(f"permute: dims must be a permutation of 0..{a.ndim - 1}, got dims={dims}")
    axes = [d % a.ndim for d in dims]
    inverse = tuple(sorted(range(a.ndim), key=axes.__getitem__))
    return from_op(a.array.transpose(dims), (a,), lambda g: (g.transpose(inverse),))


def transpose(a, dim0, dim1):
    """Swap two dimensions."""
    dims = list(range(a.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(a, dims)


def squeeze(a, dim=None):
    if dim is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = normalize_dims(dim, a.ndim, "squeeze")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if not (i in axes and n == 1)))


def unsqueeze(a, dim):
    dim = dim % (a.ndim + 1)
    return reshape(a, a.shape[:dim] + (1,) + a.shape[dim:])


def expand(a, *shape):
    """Broadcast to ``shape`` without copying (-1 keeps a dimension)."""
    shape = _shape_arg(shape)
    lead = len(shape) - a.ndim
    shape = tuple(a.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return from_op(get_array_module(a.array).broadcast_to(a.array, shape), (a,), lambda g: (unbroadcast(g, a.shape),))


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


def getitem(a, index):
    """``a[index]`` with NumPy's basic and advanced indexing."""
    if isinstance(index, tuple):
        index = tuple(p.array if isinstance(p, Tensor) else p for p in index)
    elif isinstance(index, Tensor):
        index = index.array
    out = a.array[index]
    advanced = _is_advanced(index)
    xp = get_array_module(a.array)

    def backward(g):
        grad = xp.zeros_like(a.array)
        if advanced:
            xp.add.at(grad, index, g)  # repeated indices accumulate
        else:
            grad[index] = g
        return (grad,)
    return from_op(out, (a,), backward)


def concat(tensors, dim=0):
    """Join tensors along an existing dimension (``torch.cat``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat: tensors must not be empty, got an empty sequence")
    ndim = tensors[0].ndim
    for t in tensors:
        if t.ndim != ndim:
            raise ValueError(f"concat: all tensors need the same number of dimensions, got shapes "
                             f"{[t.shape for t in tensors]}")
    (axis,) = normalize_dims(dim, ndim, "concat")
    xp = get_array_module(*(t.array for t in tensors))
    try:
        out = xp.concatenate([t.array for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"concat: shapes must agree except in dim={dim}, got {[t.shape for t in tensors]}") from None
    bounds = list(itertools.accumulate(t.shape[axis] for t in tensors))[:-1]
    return from_op(out, tensors, lambda g: xp.split(g, bounds, axis=axis))


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: tensors must not be empty, got an empty sequence")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}")
    axis = dim % (tensors[0].ndim + 1)
    return concat([unsqueeze(t, axis) for t in tensors], axis)



def contiguous(a):
    """``a`` itself if its data is C-contiguous, else a C-ordered copy (of a channels-last view, say).

    The gradient passes through unchanged.
    """
    if a.array.flags.c_contiguous:
        return a
    return from_op(get_array_module(a.array).ascontiguousarray(a.array), (a,), lambda g: (g,))
