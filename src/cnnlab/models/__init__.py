"""The model zoo: the networks of the notes, by name.

>>> from cnnlab import models
>>> models.names()
['improved_cnn', 'keras_mnist_convnet', 'lenet5', 'mnist_cnn', 'simple_cnn', 'stn', 'tiny_vgg']
>>> net = models.create("lenet5", variant="classic")
"""
from .convnets import ImprovedCNN, KerasMNISTConvNet, SimpleCNN, TinyVGG
from .lenet import LeNet5, MNISTConvNet
from .registry import MODEL_CLASSES, ModelSpec, create, names, register, spec
from .stn import SpatialTransformerNet

# Lower-case names, as torchvision's model builders.
lenet5, mnist_cnn, keras_mnist_convnet = LeNet5, MNISTConvNet, KerasMNISTConvNet
simple_cnn, improved_cnn, tiny_vgg, stn = SimpleCNN, ImprovedCNN, TinyVGG, SpatialTransformerNet

__all__ = [
    "ImprovedCNN", "KerasMNISTConvNet", "LeNet5", "MNISTConvNet", "MODEL_CLASSES", "ModelSpec", "SimpleCNN",
    "SpatialTransformerNet", "TinyVGG", "create", "improved_cnn", "keras_mnist_convnet", "lenet5", "mnist_cnn", "names",
    "register", "simple_cnn", "spec", "stn", "tiny_vgg",
]
