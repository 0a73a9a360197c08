"""cnnlab: convolutional neural networks on NumPy, with an autograd engine you can read.

>>> import cnnlab
>>> import cnnlab.functional as F
>>> from cnnlab import nn, optim
"""

__version__ = "0.1.0"

from .backend import available_backends, get_backend, set_backend, using_backend  # noqa: E402
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor  # noqa: E402
from .ops.elementwise import where  # noqa: E402
from .ops.shape import concat, stack  # noqa: E402
from .factory import arange, from_numpy, full, ones, ones_like, rand, randn, zeros, zeros_like  # noqa: E402
from .factory import randint  # noqa: E402
from .factory import (  # noqa: E402
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
)
from .ops.compare import argmax, argmin, max, maximum, min, minimum  # noqa: E402, A004
from .ops.shape import flatten, reshape, squeeze, unsqueeze  # noqa: E402
from .random import manual_seed  # noqa: E402
from .runtime import process_tuning  # noqa: E402
from . import data, functional, io, kernels, models, nn, optim, shapes, signal  # noqa: E402
from .io import load, save  # noqa: E402
from . import autograd  # noqa: E402
from .summary import summary  # noqa: E402
from .training import evaluate, find_lr, fit, predict  # noqa: E402

cat = concat

# PyTorch's dtype names (cnnlab.float32, cnnlab.long, ...) as NumPy dtypes.
globals().update(factory.DTYPES)

#: Subpackages imported when first used (``cnnlab.onnx.export(...)`` after ``import cnnlab``,
#: as ``torch.onnx``), so that ``import cnnlab`` itself stays light.
_ON_FIRST_USE = ("keras", "onnx", "utils", "vision")


def __getattr__(name):
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
