"""cnnlab.functional: torch.nn.functional's names, argument order and defaults.

Each function normalises and validates its arguments (errors name the argument,
the rule and the value received), then calls the array-level ops in
:mod:`cnnlab.ops`.

>>> import cnnlab.functional as F
>>> y = F.relu(F.conv2d(x, w, b, padding="same"))
"""
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
