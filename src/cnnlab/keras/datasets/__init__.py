"""``keras.datasets``: ``mnist`` and ``fashion_mnist``, each with Keras's ``load_data()``."""
from . import fashion_mnist, mnist  # noqa: F401
from .._names import suggesting_getattr

__getattr__ = suggesting_getattr(__name__, globals())
