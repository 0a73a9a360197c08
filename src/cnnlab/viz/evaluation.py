"""How a classifier errs: the confusion matrix and the misclassified images."""
import math

import numpy as np

from .figure import image_tiles, new_figure, save_figure


def confusion_matrix(targets, predicted, num_classes):
    """``(num_classes, num_classes)`` counts: row = true class, column = predicted class.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2)
    array([[1, 0],
           [1, 1]])
    """
    targets, predicted = np.asarray(targets, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if targets.shape != predicted.shape:
        raise ValueError(f"confusion_matrix: targets and predicted need the same shape, "
                         f"got {targets.shape} and {predicted.shape}")
    for name, values in (("targets", targets), ("predicted", predicted)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must be class indices in 0..{num_classes - 1}, "
                             f"got values from {values.min()} to {values.max()}")
    return np.bincount(targets * num_classes + predicted, minlength=num_classes ** 2).reshape(num_classes, -1)


def plot_confusion(matrix, classes, path):
    """Draw a confusion matrix (rows: true class, columns: predicted) with its counts to ``path`` (PNG).

    >>> plot_confusion(confusion_matrix(y, predictions, 10), dataset.classes, "confusion.png")
    """
    matrix = np.asarray(matrix)
    n = len(classes)
    if matrix.shape != (n, n):
        raise ValueError(f"plot_confusion: matrix must be ({n}, {n}) for {n} classes, got shape {matrix.shape}")
    total = int(matrix.sum())
    side = min(4 + 0.45 * n, 14)
    figure = new_figure(side + 1, side)
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label="images")
    if n <= 30:  # a count per cell while they stay legible
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, col), count in np.ndenumerate(matrix):
            ax.text(col, row, str(count), ha="center", va="center", fontsize=8 if n <= 15 else 6,
                    color="white" if count > threshold else ("black" if count else "0.7"))
    labels = [str(c) for c in classes]
    ax.set_xticks(range(n), labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                  if max(map(len, labels)) > 2 else "center", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(matrix) / total if total else float("nan")
    ax.set_title(f"confusion matrix: {total} images, accuracy {accuracy:.1%}")
    return save_figure(figure, path)


def plot_misclassified(images, targets, predicted, classes, path, max_images=25):
    """Draw up to ``max_images`` images whose prediction differs from the target, labelled, to ``path`` (PNG).

    Args:
        images: ``(N, C, H, W)`` or ``(N, H, W)``, uint8 or float (floats are stretched per image).
        targets, predicted: ``(N,)`` class indices.
        classes: class names, indexed by the targets.
        max_images: the first this many mistakes are drawn; the title gives the total.
    """
    targets, predicted = np.asarray(targets), np.asarray(predicted)
    wrong = np.flatnonzero(targets != predicted)
    shown = wrong[:max_images]
    cols = max(1, min(len(shown), 5))
    rows = max(1, math.ceil(len(shown) / cols))
    figure = new_figure(1.9 * cols, 2.1 * rows + 0.4)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    tiles = image_tiles(np.asarray(images)[shown]) if len(shown) else []
    for ax, index, tile in zip(axes, shown, tiles):
        ax.imshow(tile, cmap="gray", interpolation="nearest")
        ax.set_title(f"#{index}\ntrue {classes[targets[index]]}\npredicted {classes[predicted[index]]}",
                     fontsize=8, color="tab:red")
    for ax in axes:
        ax.set_axis_off()
    if not len(wrong):
        axes[0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    note = f", first {len(shown)} shown" if len(shown) < len(wrong) else ""
    figure.suptitle(f"{len(wrong)} of {len(targets)} images misclassified{note}", fontsize=10)
    return save_figure(figure, path)
