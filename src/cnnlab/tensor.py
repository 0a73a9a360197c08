"""Tensor: an n-dimensional array with reverse-mode automatic differentiation.

Every op builds its output with :func:`from_op`, giving the parents and a
``backward(grad)`` closure written right beside the forward computation; the
closure returns one gradient array per parent (``None`` where none is needed).
:meth:`Tensor.backward` sorts the graph topologically and walks it once in
reverse, as micrograd does, accumulating into the leaves' ``.grad``.
"""
import threading

from .backend import default_float, is_float, xp

_state = threading.local()


def is_grad_enabled():
    """True unless inside :class:`no_grad`."""
    return getattr(_state, "grad_enabled", True)


class no_grad:
    """Context manager (and decorator) under which ops record no graph.

    >>> with no_grad():
    ...     y = w * 2          # y.requires_grad is False
    """

    _enabled = False

    def __enter__(self):
        self._previous = is_grad_enabled()
        _state.grad_enabled = self._enabled

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = function.__name__, function.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside :class:`no_grad`."""

    _enabled = True


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    array = xp.asarray(data)
    if isinstance(data, (xp.ndarray, xp.generic)):
        # Arrays keep float32/float64 and integer/bool dtypes; other floats become float32.
        if array.dtype.kind == "f" and not is_float(array):
            array = array.astype(default_float)
        return array
    # Python numbers and lists: floating point unless every element is an integer or bool.
    if array.dtype.kind in "fc" or array.dtype == object:
        return array.astype(default_float)
    return array


class Tensor:
    """An array that records the ops applied to it, so gradients can flow back.

    Args:
        data: array-like. Python numbers and lists become float32 (integers stay
            integers); NumPy arrays keep float32, float64, integer and bool dtypes.
        requires_grad: whether ``backward`` should compute a gradient for it.
        dtype: force a dtype (for example ``numpy.float64`` for gradient checks).

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = ("data", "requires_grad", "_grad", "_parents", "_backward", "_retain", "__weakref__")
    # NumPy defers to our reflected operators: ``array * tensor`` gives a Tensor.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        if requires_grad and not is_float(self.data):
            raise TypeError(
                f"Tensor: only float32 and float64 tensors can require gradients, got dtype={self.data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._parents = ()
        self._backward = None
        self._retain = False

    # ----------------------------------------------------------------- basics
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    is_leaf = property(lambda self: self._backward is None)

    def size(self, dim=None):
        """The shape, or its length along ``dim``, as in PyTorch."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def numpy(self):
        """The underlying array (shared, not copied, as ``torch.Tensor.numpy``)."""
        return self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __repr__(self):
        body = xp.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (default_float, xp.int64, xp.bool_):
            extra += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    # ------------------------------------------------------------- gradients
    @property
    def grad(self):
        """The accumulated gradient, a Tensor of this tensor's shape, or None."""
        return None if self._grad is None else Tensor(self._grad)

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad = None
            return
        value = xp.asarray(value.data if isinstance(value, Tensor) else value, dtype=self.data.dtype)
        if value.shape != self.data.shape:
            raise ValueError(f"grad: shape must match the tensor's {self.data.shape}, got {value.shape}")
        self._grad = value

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        self._retain = True

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not is_float(self.data):
            raise TypeError(f"requires_grad_: only float tensors can require gradients, got dtype={self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Args:
            grad: the gradient of the final objective with respect to this tensor;
                may be omitted only when this tensor holds a single element.
            retain_graph: keep the graph's saved arrays so backward can run again
                through it; by default they are freed as the walk passes, as in PyTorch.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; "
                "did you create it under no_grad() or from tensors without requires_grad=True?"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for a single-element tensor, "
                    f"got shape {self.data.shape}; pass grad= of that shape"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = xp.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(f"backward: grad must have shape {self.data.shape}, got {grad.shape}")

        grads = {id(self): grad}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None or node._retain:
                total = g if node._grad is None else node._grad + g
                node._grad = total.astype(node.data.dtype, copy=node._grad is None)
            if node._backward is None:
                continue
            if node._backward is _freed:
                _freed()
            parent_grads = node._backward(g)
            for parent, parent_grad in zip(node._parents, parent_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = parent_grad if key not in grads else grads[key] + parent_grad
            if not retain_graph:
                node._parents, node._backward = (), _freed

    # ------------------------------------------------------------ conversion
    def astype(self, dtype):
        """A copy in ``dtype``; the gradient flows back cast to this tensor's dtype."""
        dtype = xp.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        source = self.data.dtype
        return from_op(self.data.astype(dtype), (self,), lambda g: (g.astype(source),))

    to = astype

    def float(self):
        return self.astype(xp.float32)

    def double(self):
        return self.astype(xp.float64)

    def long(self):
        return Tensor(self.data.astype(xp.int64))

    def argmax(self, dim=None, keepdim=False):
        return Tensor(_arg(xp.argmax, self.data, dim, keepdim))

    def argmin(self, dim=None, keepdim=False):
        return Tensor(_arg(xp.argmin, self.data, dim, keepdim))

    # Comparisons give plain boolean arrays: they carry no gradient.
    def __eq__(self, other):
        return self.data == _raw(other)

    def __ne__(self, other):
        return self.data != _raw(other)

    def __lt__(self, other):
        return self.data < _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)


def _arg(function, data, dim, keepdim):
    if dim is None:
        return xp.asarray(function(data))
    return function(data, axis=dim, keepdims=keepdim)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _freed(*_):
    raise RuntimeError(
        "backward: trying to backward through the graph a second time; its saved arrays were freed. "
        "Pass retain_graph=True to the first backward call if you need to."
    )


def _topological_order(root):
    """Nodes that lead to ``root`` through differentiable ops, parents before children."""
    order, visited = [], {id(root)}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def from_op(data, parents, backward):
    """The Tensor an op computed as ``data`` from ``parents``.

    ``backward(grad)`` receives the gradient with respect to ``data`` and returns a
    sequence with one gradient array (or None) per parent, each of its parent's
    shape; it need only compute the ones whose parent has ``requires_grad``, and
    must not modify ``grad`` in place (it may be shared). No graph is recorded under
    :class:`no_grad` or when no parent requires a gradient.
    """
    out = Tensor.__new__(Tensor)
    out.data = data
    out._grad = None
    out._retain = False
    if is_grad_enabled() and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = tuple(parents)
        out._backward = backward
    else:
        out.requires_grad = False
        out._parents = ()
        out._backward = None
    return out


def as_tensor(value, dtype=None):
    """``value`` itself if it is a Tensor, else a new Tensor without gradient."""
    return value if isinstance(value, Tensor) else Tensor(value, dtype=dtype)


def tensor(data, requires_grad=False, dtype=None):
    """A new Tensor holding a copy of ``data``, as ``torch.tensor`` (lists of floats become float32)."""
    data = _raw(data)
    return Tensor(xp.array(data, copy=True) if isinstance(data, xp.ndarray) else data, requires_grad=requires_grad,
                  dtype=dtype)


# The ops attach themselves to Tensor as methods and operators.
from .ops import activation, elementwise, reduce, shape  # noqa: E402,F401
