"""Plots of what a model learned and how training went: PNG files written atomically.

The plotting functions use matplotlib's object-oriented API (``Figure``, no
pyplot), so they change no global backend and are safe in threads. Names load
lazily: ``import cnnlab.viz`` works without matplotlib, and importing a plot
function raises ImportError when matplotlib is missing, which callers use to
skip plots (``pip install 'cnnlab[viz]'``). :func:`feature_maps` is pure NumPy.

>>> from cnnlab.viz import plot_kernels, plot_feature_maps
>>> plot_kernels(model, "kernels.png")
>>> plot_feature_maps(model, digit, "features.png")
"""
import importlib

_EXPORTS = {
    "save_figure": "figure", "plot_history": "curves", "plot_lr_finder": "curves", "plot_kernels": "kernels",
    "plot_feature_maps": "maps", "plot_confusion": "evaluation", "plot_misclassified": "evaluation",
    "confusion_matrix": "evaluation", "feature_maps": "..inspect",
}

__all__ = ["confusion_matrix", "feature_maps", "plot_confusion", "plot_feature_maps", "plot_history", "plot_kernels",
           "plot_lr_finder", "plot_misclassified", "save_figure"]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _EXPORTS[name]
    return getattr(importlib.import_module(module if module.startswith("..") else "." + module, __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
