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
from .trainer import DivergedError, Trainer, TrainingInterrupted, evaluate, fit, predict

__all__ = [
    "CSVLogger", "Callback", "DivergedError", "EarlyStopping", "History", "LearningRateScheduler", "ModelCheckpoint",
    "ProgressBar", "ReduceLROnPlateau", "TerminateOnNaN", "Trainer", "TrainingInterrupted", "LRFinderResult",
    "evaluate", "find_lr", "fit", "predict",
]
