"""cnnlab.optim: optimizers and learning-rate schedulers, with torch.optim's names, defaults and update rules.

>>> from cnnlab.optim import SGD
>>> from cnnlab.optim.lr_scheduler import StepLR
>>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
>>> scheduler = StepLR(optimizer, step_size=30)
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
