"""Training: the fit loop, its callbacks and metrics."""
from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from .lr_finder import LRFinderResult, find_lr
from .trainer import Trainer, evaluate, fit, predict

__all__ = [
    "CSVLogger", "Callback", "EarlyStopping", "History", "LearningRateScheduler", "ModelCheckpoint", "ProgressBar",
    "ReduceLROnPlateau", "TerminateOnNaN", "Trainer", "LRFinderResult", "evaluate", "find_lr", "fit", "predict",
]
