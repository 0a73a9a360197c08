"""The learning-rate range test (Smith, 2017; popularised by fastai's ``lr_find``).

Train for a few hundred batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, record the smoothed loss, stop once it diverges, and
suggest the rate where the loss fell fastest. The model's weights are restored
afterwards, so the test leaves no trace.
"""
from dataclasses import dataclass

import numpy as np

from ..data import DataLoader
from ..runtime import process_tuning
from .trainer import Trainer, as_dataset


@dataclass
class LRFinderResult:
    """What the range test saw: the rates tried, the smoothed losses, and the suggested rate."""

    lrs: list
    losses: list
    suggestion: float

    def __str__(self):
        return f"suggested learning rate: {self.suggestion:.3g} ({len(self.lrs)} steps)"


def suggest(lrs, losses, skip_start=5, skip_end=2):
    """The rate at the steepest descent of the loss against log(lr); the loss minimum / 10 as fallback."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    window = slice(skip_start, len(lrs) - skip_end if len(lrs) - skip_end > skip_start + 1 else len(lrs))
    if len(lrs[window]) < 3:
        return float(lrs[int(np.argmin(losses))] / 10)
    slopes = np.gradient(losses[window], np.log(lrs[window]))
    return float(lrs[window][int(np.argmin(slopes))])


def find_lr(model, train, *, loss="cross_entropy", optimizer="sgd", start_lr=1e-7, end_lr=10.0, num_iter=100,
            batch_size=64, smooth=0.98, diverge=4.0, seed=0, transform=None):
    """Run the LR range test on ``model`` and ``train``; returns an :class:`LRFinderResult`.

    Args:
        model: the model to probe (its weights are restored at the end).
        train: a Dataset or a pair of arrays.
        loss: loss callable or name.
        optimizer: an Optimizer or a name (``'sgd'`` with momentum 0.9, ``'adam'``, ...).
        start_lr, end_lr: the range, swept exponentially over ``num_iter`` steps.
        smooth: the exponential smoothing factor of the loss (with bias correction).
        diverge: stop when the smoothed loss exceeds ``diverge`` times its best value.

    >>> result = cnnlab.find_lr(model, (x, y), num_iter=100)
    >>> result.suggestion
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"find_lr: need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if num_iter < 3:
        raise ValueError(f"find_lr: num_iter must be at least 3, got num_iter={num_iter}")
    saved = {k: v.array.copy() for k, v in model.state_dict().items()}
    trainer = Trainer(model, optimizer, loss, metrics=(), lr=start_lr)
    loader = DataLoader(as_dataset(train, "train"), batch_size=batch_size, shuffle=True, seed=seed,
                        transform=transform)
    factor = (end_lr / start_lr) ** (1 / (num_iter - 1))
    lrs, losses, average, best = [], [], 0.0, np.inf
    model.train()
    with process_tuning():
        try:
            step = 0
            while step < num_iter:
                for x, y in loader:
                    lr = start_lr * factor ** step
                    for group in trainer.optimizer.param_groups:
                        group["lr"] = lr
                    _, value = trainer.train_step(x, y)
                    value = value.item()
                    average = smooth * average + (1 - smooth) * value
                    smoothed = average / (1 - smooth ** (step + 1))
                    if not np.isfinite(smoothed) or (step > 0 and smoothed > diverge * best):
                        step = num_iter
                        break
                    best = min(best, smoothed)
                    lrs.append(lr)
                    losses.append(smoothed)
                    step += 1
                    if step >= num_iter:
                        break
                if len(loader) == 0:
                    raise ValueError("find_lr: the training data gives no batch")
        finally:
            model.load_state_dict(saved)
    if len(lrs) < 2:
        raise ValueError(f"find_lr: the loss diverged at once (start_lr={start_lr}); try a smaller start_lr")
    return LRFinderResult(lrs, losses, suggest(lrs, losses))
