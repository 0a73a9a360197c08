"""Tensor: an n-dimensional array with reverse-mode automatic differentiation.

Every op builds its output with :func:`from_op`, giving the parents and a
``backward(grad)`` closure written right beside the forward computation; the
closure returns one gradient array per parent (``None`` where none is needed).
:meth:`Tensor.backward` sorts the graph topologically and walks it once in
reverse, as micrograd does, accumulating into the leaves' ``.grad``.

The methods and operators of :class:`Tensor` delegate to the op functions in
:mod:`cnnlab.ops`. Those modules import :class:`Tensor` and :func:`from_op` from
here, so each delegation imports its op module when called, not this module
when loaded: there is no import cycle. The imports are absolute because an
absolute import of a loaded module is a dictionary lookup, while a relative one
runs Python-level import machinery on every call.
"""
import threading

import numpy

from .backend import default_float, get_array_module, is_float, to_numpy

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
    """``data`` as an array: arrays stay in their module; Python numbers and lists become NumPy arrays (on the host)."""
    if isinstance(data, Tensor):
        data = data.array
    xp = get_array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    array = xp.asarray(data)
    if isinstance(data, (xp.ndarray, numpy.generic)):
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

    The storage is :attr:`array`, the NumPy (or CuPy) array itself, as Chainer's
    ``Variable.array``; :attr:`data` is PyTorch's ``.data``, a Tensor on the same array.

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = ("array", "requires_grad", "_grad", "_parents", "_backward", "_retain", "__weakref__")
    # NumPy defers to our reflected operators: ``array * tensor`` gives a Tensor.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        self.array = _to_array(data, dtype)
        if requires_grad and not is_float(self.array):
            raise TypeError(
                f"Tensor: only float32 and float64 tensors can require gradients, got dtype={self.array.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        self._grad = None
        self._parents = ()
        self._backward = None
        self._retain = False

    # ----------------------------------------------------------------- basics
    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    is_leaf = property(lambda self: self._backward is None)

    def size(self, dim=None):
        """The shape, or its length along ``dim``, as in PyTorch."""
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self):
        return self.array.size

    def dim(self):
        return self.array.ndim

    def __len__(self):
        return len(self.array)

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def numpy(self):
        """The underlying array (shared, not copied, as ``torch.Tensor.numpy``)."""
        return self.array

    def item(self):
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __repr__(self):
        body = numpy.array2string(to_numpy(self.array), separator=", ", prefix="tensor(")
        extra = ""
        if self.array.dtype not in (default_float, numpy.int64, numpy.bool_):
            extra += f", dtype={self.array.dtype}"
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
        xp = get_array_module(self.array)
        value = xp.asarray(value.array if isinstance(value, Tensor) else value, dtype=self.array.dtype)
        if value.shape != self.array.shape:
            raise ValueError(f"grad: shape must match the tensor's {self.array.shape}, got {value.shape}")
        self._grad = value

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        self._retain = True

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not is_float(self.array):
            raise TypeError(f"requires_grad_: only float tensors can require gradients, got dtype={self.array.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.array)

    @property
    def data(self):
        """As ``torch.Tensor.data``: a Tensor on this tensor's array (shared, not copied), outside the graph.

        Assigning ``t.data = other`` (a Tensor or array-like) makes ``other``'s array t's
        own: shape and dtype follow ``other``; a ``.grad`` that no longer fits is dropped.

        >>> pred_y = cnnlab.max(test_output, 1)[1].data.numpy().squeeze()
        """
        return self.detach()

    @data.setter
    def data(self, value):
        array = _to_array(value, None)
        if self.requires_grad and not is_float(array):
            raise TypeError("Tensor.data: value must be a float32 or float64 array for a tensor that requires grad, "
                            f"got dtype={array.dtype}")
        if self._grad is not None and (self._grad.shape, self._grad.dtype) != (array.shape, array.dtype):
            self._grad = None
        self.array = array

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
        xp = get_array_module(self.array)
        if grad is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for a single-element tensor, "
                    f"got shape {self.array.shape}; pass grad= of that shape"
                )
            grad = xp.ones_like(self.array)
        else:
            grad = xp.asarray(grad.array if isinstance(grad, Tensor) else grad, dtype=self.array.dtype)
            if grad.shape != self.array.shape:
                raise ValueError(f"backward: grad must have shape {self.array.shape}, got {grad.shape}")

        grads = {id(self): grad}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None or node._retain:
                total = g if node._grad is None else node._grad + g
                node._grad = total.astype(node.array.dtype, copy=node._grad is None)
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
        dtype = numpy.dtype(dtype)
        if dtype == self.array.dtype:
            return self
        source = self.array.dtype
        return from_op(self.array.astype(dtype), (self,), lambda g: (g.astype(source),))

    to = astype

    def float(self):
        return self.astype(numpy.float32)

    def double(self):
        return self.astype(numpy.float64)

    def long(self):
        return Tensor(self.array.astype(numpy.int64))

    def type(self, dtype=None):
        """As ``torch.Tensor.type``: with no argument the type's name (``'cnnlab.FloatTensor'``), else a cast.

        ``dtype`` is a tensor type (``cnnlab.FloatTensor``), its name (``'torch.LongTensor'``) or a dtype.

        >>> x.type(cnnlab.FloatTensor).type()
        'cnnlab.FloatTensor'
        """
        import cnnlab.factory as factory
        if dtype is None:
            return factory.tensor_type_name(self.array.dtype)
        dtype = factory.type_dtype(dtype)
        if dtype.kind == "f" or dtype == self.array.dtype:
            return self.astype(dtype)
        return Tensor(self.array.astype(dtype))  # integer results carry no gradient, as long() does

    def argmax(self, dim=None, keepdim=False):
        return Tensor(self.array.argmax() if dim is None else self.array.argmax(axis=dim, keepdims=keepdim))

    def argmin(self, dim=None, keepdim=False):
        return Tensor(self.array.argmin() if dim is None else self.array.argmin(axis=dim, keepdims=keepdim))

    # Comparisons give plain boolean arrays: they carry no gradient.
    def __eq__(self, other):
        return self.array == _raw(other)

    def __ne__(self, other):
        return self.array != _raw(other)

    def __lt__(self, other):
        return self.array < _raw(other)

    def __le__(self, other):
        return self.array <= _raw(other)

    def __gt__(self, other):
        return self.array > _raw(other)

    def __ge__(self, other):
        return self.array >= _raw(other)

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.add(self, elementwise.operand(other, self))

    def __radd__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.add(elementwise.operand(other, self), self)

    def __sub__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.sub(self, elementwise.operand(other, self))

    def __rsub__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.sub(elementwise.operand(other, self), self)

    def __mul__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.mul(self, elementwise.operand(other, self))

    def __rmul__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.mul(elementwise.operand(other, self), self)

    def __truediv__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.div(self, elementwise.operand(other, self))

    def __rtruediv__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.div(elementwise.operand(other, self), self)

    def __pow__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.power(self, elementwise.operand(other, self))

    def __rpow__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.power(elementwise.operand(other, self), self)

    def __matmul__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.matmul(self, elementwise.operand(other, self))

    def __rmatmul__(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.matmul(elementwise.operand(other, self), self)

    def __neg__(self):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.neg(self)

    def __pos__(self):
        return self

    def matmul(self, other):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.matmul(self, other)

    def exp(self):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.exp(self)

    def log(self):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.log(self)

    def sqrt(self):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.sqrt(self)

    def abs(self):
        import cnnlab.ops.elementwise as elementwise
        return elementwise.abs(self)

    def clip(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        """Clamp into ``[min, max]``; the gradient passes where the input was inside."""
        import cnnlab.ops.elementwise as elementwise
        return elementwise.clip(self, min, max)

    clamp = clip

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        import cnnlab.ops.reduce as reduce
        return reduce.sum(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        import cnnlab.ops.reduce as reduce
        return reduce.mean(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        import cnnlab.ops.reduce as reduce
        return reduce.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        import cnnlab.ops.reduce as reduce
        return reduce.amin(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """As ``torch.max``: the largest value, or ``(values, indices)`` along ``dim``."""
        import cnnlab.ops.reduce as reduce
        return reduce.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """As ``torch.min``: the smallest value, or ``(values, indices)`` along ``dim``."""
        import cnnlab.ops.reduce as reduce
        return reduce.min(self, dim, keepdim)

    def var(self, dim=None, correction=1, keepdim=False, unbiased=None):
        import cnnlab.ops.reduce as reduce
        return reduce.var(self, dim, correction, keepdim, unbiased)

    def std(self, dim=None, correction=1, keepdim=False, unbiased=None):
        import cnnlab.ops.reduce as reduce
        return reduce.std(self, dim, correction, keepdim, unbiased)

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape):
        import cnnlab.ops.shape as shape_ops
        return shape_ops.reshape(self, *shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        import cnnlab.ops.shape as shape
        return shape.flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        import cnnlab.ops.shape as shape
        return shape.permute(self, *dims)

    def transpose(self, dim0, dim1):
        import cnnlab.ops.shape as shape
        return shape.transpose(self, dim0, dim1)

    @property
    def T(self):
        """The dimensions in reverse order."""
        import cnnlab.ops.shape as shape
        return shape.permute(self, tuple(reversed(range(self.ndim))))

    def squeeze(self, dim=None):
        import cnnlab.ops.shape as shape
        return shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        import cnnlab.ops.shape as shape
        return shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        import cnnlab.ops.shape as shape
        return shape.expand(self, *sizes)

    def __getitem__(self, index):
        import cnnlab.ops.shape as shape
        return shape.getitem(self, index)

    def __setitem__(self, index, value):
        """Write ``value`` into this tensor's array in place, as ``p.data[i] = v`` does in PyTorch.

        Refused for a tensor that requires grad while gradients are recorded (an
        in-place write would corrupt the graph); write through ``.data`` or under
        :func:`no_grad`, as in PyTorch.
        """
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("Tensor.__setitem__: a tensor that requires grad cannot be written in place while "
                               "gradients are recorded; write to its .data, or inside cnnlab.no_grad()")
        self.array[index] = value.array if isinstance(value, Tensor) else value

    def is_contiguous(self):
        """True when the data is laid out in C (row-major) order, as ``torch.Tensor.is_contiguous``."""
        return self.array.flags.c_contiguous

    def contiguous(self):
        """This tensor if :meth:`is_contiguous`, else a C-ordered copy (the gradient passes unchanged)."""
        import cnnlab.ops.shape as shape
        return shape.contiguous(self)

    # ----------------------------------------------------------- activations
    def relu(self):
        import cnnlab.ops.activation as activation
        return activation.relu(self)

    def sigmoid(self):
        import cnnlab.ops.activation as activation
        return activation.sigmoid(self)

    def tanh(self):
        import cnnlab.ops.activation as activation
        return activation.tanh(self)

    def softmax(self, dim):
        import cnnlab.ops.activation as activation
        return activation.softmax(self, dim)

    def log_softmax(self, dim):
        import cnnlab.ops.activation as activation
        return activation.log_softmax(self, dim)


def _raw(value):
    return value.array if isinstance(value, Tensor) else value


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
    out.array = data
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
    out = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    if out.array is data:
        out.array = data.copy()
    return out
