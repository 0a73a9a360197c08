"""The zoo's registry: model names, their builders and their default input shapes."""
from dataclasses import dataclass, field

_MODELS = {}
#: Classes ``cnnlab.load`` may rebuild from a file's architecture description.
MODEL_CLASSES = {}


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry: how to build the model and what it expects."""

    name: str
    cls: type
    summary: str
    input_shape: tuple  # (channels, height, width) of one sample
    dataset: str  # the dataset it is meant for by default
    defaults: dict = field(default_factory=dict)

    def build(self, **kwargs):
        return self.cls(**{**self.defaults, **kwargs})


def register(name, summary, input_shape, dataset, **defaults):
    """Class decorator adding a model to the zoo under ``name``."""
    def add(cls):
        _MODELS[name] = ModelSpec(name, cls, summary, tuple(input_shape), dataset, defaults)
        MODEL_CLASSES[cls.__name__] = cls
        return cls
    return add


def names():
    """The registered model names."""
    return sorted(_MODELS)


def spec(name):
    """The :class:`ModelSpec` called ``name``; unknown names get the nearest suggestions."""
    if name not in _MODELS:
        import difflib

        near = difflib.get_close_matches(name, _MODELS, n=3, cutoff=0.4)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise ValueError(f"unknown model {name!r}{hint} (available: {', '.join(names())})")
    return _MODELS[name]


def create(name, **kwargs):
    """Build the zoo model ``name`` with its defaults overridden by ``kwargs``.

    >>> model = create("lenet5", variant="classic")
    """
    return spec(name).build(**kwargs)
