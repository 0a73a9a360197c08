"""Keras's automatic names and the "did you mean" error for misspelt public names."""
import difflib
import itertools
import re

_counters = {}


def to_snake_case(name):
    """``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``, as Keras names layers."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix):
    """``prefix``, then ``prefix_1``, ``prefix_2``... for each later call (Keras's per-name counters)."""
    counter = _counters.setdefault(prefix, itertools.count())
    number = next(counter)
    return prefix if number == 0 else f"{prefix}_{number}"


def clear_names():
    """Restart every counter, so the next ``Conv2D`` is named ``conv2d`` again."""
    _counters.clear()


def suggesting_getattr(module_name, namespace):
    """A module ``__getattr__`` whose AttributeError suggests the closest public names.

    >>> keras.losses.SparseCategoricalCrossEntropy
    AttributeError: module 'cnnlab.keras.losses' has no attribute 'SparseCategoricalCrossEntropy';
    did you mean 'SparseCategoricalCrossentropy'?
    """
    def __getattr__(name):
        public = [key for key in namespace if not key.startswith("_")]
        by_case = {key.lower(): key for key in public}
        near = [by_case[name.lower()]] if name.lower() in by_case else difflib.get_close_matches(name, public, n=3)
        hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}{hint}")

    return __getattr__
