"""PyTorch twins of the zoo models the benchmarks compare against (the same as the tests' twins).

Each builder returns a ``torch.nn.Module`` whose ``state_dict`` keys and shapes
match the cnnlab model's, so ``load_cnnlab_weights`` can copy the weights over.
"""
import torch
from torch import nn


class _Twin(nn.Module):
    def __init__(self, **parts):
        super().__init__()
        for name, part in parts.items():
            setattr(self, name, part)
        self.order = list(parts)

    def forward(self, x):
        for name in self.order:
            x = getattr(self, name)(x)
        return x


def lenet5():
    return _Twin(features=nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)),
                 classifier=nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                          nn.ReLU(), nn.Linear(84, 10)))


def simple_cnn():
    return _Twin(features=nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                                        nn.ReLU(), nn.MaxPool2d(2)),
                 classifier=nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                          nn.ReLU(), nn.Linear(84, 10)))


def keras_mnist_convnet():
    return _Twin(features=nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(),
                                        nn.MaxPool2d(2), nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 128, 3),
                                        nn.ReLU()),
                 classifier=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5),
                                          nn.Linear(128, 10)))


def tiny_vgg():
    return _Twin(block1=nn.Sequential(nn.Conv2d(3, 10, 3), nn.ReLU(), nn.Conv2d(10, 10, 3), nn.ReLU(),
                                      nn.MaxPool2d(2)),
                 block2=nn.Sequential(nn.Conv2d(10, 10, 3), nn.ReLU(), nn.Conv2d(10, 10, 3), nn.ReLU(),
                                      nn.MaxPool2d(2)),
                 classifier=nn.Sequential(nn.Flatten(), nn.Linear(10 * 13 * 13, 10)))


TWINS = {"lenet5": lenet5, "simple_cnn": simple_cnn, "keras_mnist_convnet": keras_mnist_convnet,
         "tiny_vgg": tiny_vgg}


def twin_of(name, model):
    """The torch twin of zoo model ``name``, carrying a copy of ``model``'s weights."""
    twin = TWINS[name]()
    twin.load_state_dict({k: torch.tensor(v.array) for k, v in model.state_dict().items()})
    return twin
