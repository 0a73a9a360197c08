"""LeNet-5 and the small MNIST CNN."""
from .. import nn
from ..shapes import conv_output_size
from .registry import register

_ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


@register("lenet5", "LeNet-5 (LeCun et al., 1998): 6-16-120-84-10; modern (ReLU, max pool) or classic",
          (1, 28, 28), "mnist")
class LeNet5(nn.Module):
    """LeNet-5, from LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
    recognition" (1998): two convolution/subsampling stages (6 then 16 maps of 5x5 kernels) and three
    fully connected layers (120, 84, 10). The ``classic`` variant keeps the paper's squashing
    activation (tanh, or sigmoid) and average-pool subsampling; ``modern`` uses ReLU and max pooling,
    as most courses now teach it. On 28x28 MNIST the first convolution pads by 2 so the feature maps
    have the paper's 32x32-input sizes (28, 14, 10, 5); on 32x32 inputs it does not pad. C5 is the
    120-unit layer over the 16x5x5 maps, written as Linear(400, 120) as usual.

    Args:
        variant: ``'modern'`` or ``'classic'``.
        activation: override the activation (``'tanh'``, ``'sigmoid'``, ``'relu'``).
        in_channels: 1 for MNIST, 3 for colour inputs.
        input_size: 28 or 32 (any size from 28 up works).
        num_classes: outputs of the last layer.
    """

    def __init__(self, variant="modern", activation=None, in_channels=1, input_size=28, num_classes=10):
        super().__init__()
        if variant not in ("modern", "classic"):
            raise ValueError(f"LeNet5: variant must be 'modern' or 'classic', got variant={variant!r}")
        activation = activation or ("relu" if variant == "modern" else "tanh")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"LeNet5: activation must be one of {sorted(_ACTIVATIONS)}, got activation={activation!r}")
        if input_size < 28:
            raise ValueError(f"LeNet5: input_size must be at least 28, got input_size={input_size}")
        act = _ACTIVATIONS[activation]
        pool = nn.MaxPool2d if variant == "modern" else nn.AvgPool2d
        padding = 2 if input_size < 32 else 0
        side = conv_output_size(input_size, 5, padding=padding) // 2
        side = conv_output_size(side, 5) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=padding), act(), pool(2),
            nn.Conv2d(6, 16, 5), act(), pool(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * side * side, 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register("mnist_cnn", "two 5x5 conv layers (16, 32 filters, padding 2), ReLU, 2x2 max pool, linear to 10",
          (1, 28, 28), "mnist")
class MNISTConvNet(nn.Module):
    """The small MNIST CNN of many tutorials: conv 16@5x5 (padding 2), ReLU, 2x2 max pool, conv 32@5x5
    (padding 2), ReLU, 2x2 max pool, then one linear layer from the 32x7x7 maps to the classes.
    """

    def __init__(self, in_channels=1, input_size=28, num_classes=10):
        super().__init__()
        side = input_size // 2 // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * side * side, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
