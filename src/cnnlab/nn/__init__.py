"""cnnlab.nn: layers as Modules with PyTorch's names, arguments, defaults and state_dict keys.

>>> from cnnlab import nn
>>> lenet = nn.Sequential(
...     nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
>>> lenet(cnnlab.randn(1, 1, 28, 28)).shape
(1, 10)
"""
from .. import functional  # noqa: F401  (nn.functional, as torch.nn.functional)
from . import init  # noqa: F401
from .activation import *  # noqa: F401,F403
from .container import ModuleList, Sequential  # noqa: F401
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module, Parameter  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
