"""Plots of what a model learned and how training went: PNG files written atomically.

The plotting functions use matplotlib's object-oriented API (``Figure``, no
pyplot), so they change no global backend and are safe in threads. Names load
lazily: ``import cnnlab.viz`` works without matplotlib, and importing a plot
function raises ImportError when matplotlib is missing. Commands ask
:func:`plots_unavailable` first and skip a plot, or stop, with its one line.
:func:`feature_maps` is pure NumPy.

>>> from cnnlab.viz import plot_kernels, plot_feature_maps
>>> plot_kernels(model, "kernels.png")
>>> plot_feature_maps(model, digit, "features.png")
"""
import importlib
import importlib.util

_EXPORTS = {
    "save_figure": "figure", "plot_history": "curves", "plot_lr_finder": "curves", "plot_kernels": "kernels",
    "plot_feature_maps": "maps", "plot_confusion": "evaluation", "plot_misclassified": "evaluation",
    "confusion_matrix": "evaluation", "feature_maps": "..inspect",
}

__all__ = ["confusion_matrix", "feature_maps", "plot_confusion", "plot_feature_maps", "plot_history", "plot_kernels",
           "plot_lr_finder", "plot_misclassified", "plots_unavailable", "save_figure"]


def plots_unavailable():
    """Why plots cannot be drawn here, as one line naming what to install; None when matplotlib is installed.

    >>> plots_unavailable()   # on an install without the viz extra
    "plots need matplotlib, which is not installed: pip install 'cnnlab[viz]'"
    """
    if importlib.util.find_spec("matplotlib") is None:
        return "plots need matplotlib, which is not installed: pip install 'cnnlab[viz]'"
    return None


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _EXPORTS[name]
    return getattr(importlib.import_module(module if module.startswith("..") else "." + module, __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
