"""Convnets from well-known tutorials: Keras's MNIST convnet, PyTorch's CIFAR-10 net, an improved CIFAR CNN."""
from .. import nn
from ..shapes import conv_output_size
from .registry import register


@register("keras_mnist_convnet", "conv 64, 64, max pool, conv 128, 128, global average pool, dropout 0.5, dense 10",
          (1, 28, 28), "mnist")
class KerasMNISTConvNet(nn.Module):
    """The Keras-style MNIST convnet: two 3x3 convolutions of 64 filters, 2x2 max pooling, two 3x3
    convolutions of 128 filters (all ReLU, 'valid' padding as Keras's default), global average
    pooling, dropout 0.5 and a dense layer to the classes. Global pooling makes it accept any input
    size from 14x14 up.
    """

    def __init__(self, in_channels=1, num_classes=10, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3), nn.ReLU(),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(),
            nn.Conv2d(128, 128, 3), nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register("simple_cnn", "the PyTorch CIFAR-10 tutorial net: conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, 10",
          (3, 32, 32), "cifar10")
class SimpleCNN(nn.Module):
    """The network of PyTorch's "Training a classifier" CIFAR-10 tutorial: conv 6@5x5, ReLU, 2x2 max
    pool, conv 16@5x5, ReLU, 2x2 max pool, then fully connected layers of 120, 84 and 10 units.
    """

    def __init__(self, in_channels=3, input_size=32, num_classes=10):
        super().__init__()
        side = conv_output_size(conv_output_size(input_size, 5) // 2, 5) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * side * side, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _conv_bn(in_channels, out_channels):
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()]


@register("improved_cnn", "four 3x3 conv layers (32, 64, 128, 128) with batch norm, max pooling, dropout, 3 dense",
          (3, 32, 32), "cifar10")
class ImprovedCNN(nn.Module):
    """A stronger CIFAR-10 CNN in the spirit of the "improving the tutorial net" notes: four 3x3
    convolutions (32, 64, 128, 128 filters, 'same' padding, no bias) each followed by batch norm and
    ReLU, 2x2 max pooling after the second, third and fourth, dropout, then three dense layers
    (256, 128, classes) with dropout between them.
    """

    def __init__(self, in_channels=3, input_size=32, num_classes=10, dropout=0.25):
        super().__init__()
        side = input_size // 2 // 2 // 2
        self.features = nn.Sequential(
            *_conv_bn(in_channels, 32), *_conv_bn(32, 64), nn.MaxPool2d(2),
            *_conv_bn(64, 128), nn.MaxPool2d(2),
            *_conv_bn(128, 128), nn.MaxPool2d(2),
            nn.Dropout(dropout),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * side * side, 256), nn.ReLU(), nn.Dropout(2 * dropout),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(2 * dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register("tiny_vgg", "the CNN Explainer network: four 3x3 convs of 10 filters, two max pools, dense",
          (3, 64, 64), "cifar10")
class TinyVGG(nn.Module):
    """Tiny VGG, the network CNN Explainer (Wang et al., 2020) visualises: two blocks of
    [conv 10@3x3, ReLU, conv 10@3x3, ReLU, 2x2 max pool] with 'valid' padding, then a dense layer
    from the flattened maps to the classes (64x64 inputs give 10x13x13 maps). Any input size and
    class count.
    """

    def __init__(self, in_channels=3, input_size=64, num_classes=10, hidden=10):
        super().__init__()
        side = input_size
        for _ in range(2):
            side = conv_output_size(conv_output_size(side, 3), 3) // 2
        if side < 1:
            raise ValueError(f"TinyVGG: input_size must be at least 10, got input_size={input_size}")
        self.block1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3), nn.ReLU(), nn.Conv2d(hidden, hidden, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.block2 = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3), nn.ReLU(), nn.Conv2d(hidden, hidden, 3), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(hidden * side * side, num_classes))

    def forward(self, x):
        return self.classifier(self.block2(self.block1(x)))
