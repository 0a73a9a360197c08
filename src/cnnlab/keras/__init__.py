"""cnnlab.keras: a Keras 3 front on cnnlab's engine, so Keras code runs with one changed import.

>>> from cnnlab import keras
>>> model = keras.Sequential([
...     keras.layers.Input(shape=(28, 28, 1)),
...     keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
...     keras.layers.GlobalAveragePooling2D(),
...     keras.layers.Dense(10, activation="softmax"),
... ])
>>> model.compile(loss=keras.losses.SparseCategoricalCrossentropy(), optimizer=keras.optimizers.Adam(1e-3),
...               metrics=["accuracy"])

Layers keep Keras's layouts (channels-last images, ``(kH, kW, in, out)``
kernels) and defaults (glorot_uniform kernels, zero biases, BatchNormalization
momentum 0.99 and epsilon 1e-3); the optimizers follow Keras's update rules
(Adam's epsilon 1e-7). A misspelt name gets a suggestion:
``keras.losses.SparseCategoricalCrossEntropy`` -> "did you mean
'SparseCategoricalCrossentropy'?".
"""
from . import activations, callbacks, datasets, initializers, layers, losses, metrics, models, ops  # noqa: F401
from . import optimizers, utils  # noqa: F401
from ._names import suggesting_getattr
from .layers import Input, InputLayer, Layer  # noqa: F401
from .models import Model, Sequential  # noqa: F401

__getattr__ = suggesting_getattr(__name__, globals())
