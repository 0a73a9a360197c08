"""cnnlab.onnx: models to and from ONNX files (needs the onnx package: ``pip install 'cnnlab[onnx]'``).

>>> from cnnlab import models, onnx
>>> onnx.export(models.create("lenet5"), "lenet5.onnx", input_shape=(1, 28, 28))
>>> model = onnx.load("lenet5.onnx")

The ``onnx`` package is imported only inside the functions that use it, so
importing this module costs nothing and never shadows the real ``onnx``.
"""
from .export import DEFAULT_OPSET, export

__all__ = ["DEFAULT_OPSET", "export", "load"]


def load(path, *args, **kwargs):
    """A trainable cnnlab module built from the ONNX file ``path`` (see :mod:`cnnlab.onnx.importer`)."""
    from .importer import load as load_onnx

    return load_onnx(path, *args, **kwargs)
