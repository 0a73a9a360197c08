"""The TensorFlow and Keras blocks of notes 002 (convolution layers), on cnnlab.

The notes write ``tf.random.normal``, ``tf.nn.conv2d`` and ``tensorflow.keras.layers``.
cnnlab has no TensorFlow front; its Keras front is the one the notes' Keras lines
run on (``from cnnlab.keras import layers``), and ``tf.nn.conv2d`` maps to
``keras.ops.conv`` for 'SAME'/'VALID' and to ``cnnlab.functional.conv2d`` with
per-side pairs for the explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``
lists. Keras 3 on its torch backend is the oracle.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab  # noqa: E402
import cnnlab.functional as F  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.keras import layers  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

rng = np.random.default_rng(0)
x = rng.normal(size=(2, 5, 5, 3)).astype(np.float32)  # tf.random.normal([2, 5, 5, 3]): 3 channels, 5x5
w = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)  # tf.random.normal([3, 3, 3, 4]): [k, k, cin, cout]


def tf_conv2d_padded(x, w, pads):
    """``tf.nn.conv2d(x, w, strides=1, padding=[[0, 0], [top, bottom], [left, right], [0, 0]])`` on cnnlab."""
    (top, bottom), (left, right) = pads
    out = F.conv2d(cnnlab.tensor(x.transpose(0, 3, 1, 2)), cnnlab.tensor(w.transpose(3, 2, 0, 1)),
                   padding=((top, bottom), (left, right)))
    return out.numpy().transpose(0, 2, 3, 1)


def oracle_padded(x, w, pads):
    padded = np.pad(x, ((0, 0), *pads, (0, 0)))
    return np.asarray(real_keras.ops.convert_to_numpy(real_keras.ops.conv(padded, w, strides=1, padding="valid")))


@pytest.mark.parametrize("pads,shape", [(((0, 0), (0, 0)), (2, 3, 3, 4)), (((1, 1), (1, 1)), (2, 5, 5, 4)),
                                        (((0, 2), (1, 0)), (2, 5, 4, 4))])
def test_tf_nn_conv2d_with_padding_lists(pads, shape):
    out = tf_conv2d_padded(x, w, pads)
    assert out.shape == shape
    np.testing.assert_allclose(out, oracle_padded(x, w, pads), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding,shape", [("SAME", (2, 5, 5, 4)), ("VALID", (2, 3, 3, 4))])
def test_tf_nn_conv2d_same_and_valid(padding, shape):
    out = keras.ops.conv(x, w, strides=1, padding=padding.lower())
    assert tuple(out.shape) == shape
    expected = real_keras.ops.convert_to_numpy(real_keras.ops.conv(x, w, strides=1, padding=padding.lower()))
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_the_notes_keras_conv2d_blocks():
    # ---- the notes' code, with `from cnnlab.keras import layers`
    layer = layers.Conv2D(4, kernel_size=3, padding='SAME', strides=1)
    out = layer(x)
    out.shape
    layer.trainable_variables
    layer = layers.Conv2D(4, kernel_size=(3, 4), padding='SAME', strides=(2, 1))
    # ---- end of the notes' code
    strided = layer(x)
    assert tuple(out.shape) == (2, 5, 5, 4) and tuple(strided.shape) == (2, 3, 5, 4)
    first = layers.Conv2D(4, kernel_size=3, padding='SAME', strides=1)
    first(x)
    assert [tuple(v.shape) for v in first.trainable_variables] == [(3, 3, 3, 4), (4,)]
    for ours in (first, layer):
        theirs = real_keras.layers.Conv2D(4, kernel_size=ours.kernel_size, padding="same", strides=ours.strides)
        theirs(x)
        theirs.set_weights([np.asarray(v) for v in ours.weights])
        expected = real_keras.ops.convert_to_numpy(theirs(x))
        np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-5, atol=1e-5)
