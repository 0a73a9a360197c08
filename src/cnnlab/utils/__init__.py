"""PyTorch's ``torch.utils`` names: ``cnnlab.utils.data`` (``import cnnlab.utils.data as data``)."""
from . import data  # noqa: F401
