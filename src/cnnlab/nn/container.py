"""Sequential and ModuleList: modules that hold other modules, keyed "0", "1", ... as in PyTorch."""
import operator
from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """Modules applied one after another: ``forward(x)`` is ``m_n(...m_1(x))``.

    Args:
        *modules: the layers in order (keyed "0", "1", ...), or one OrderedDict of
            name -> module.

    Indexing gives a layer, slicing a new Sequential sharing the layers.

    >>> net = Sequential(Conv2d(1, 6, 5), ReLU(), MaxPool2d(2))
    >>> net[0]
    Conv2d(1, 6, kernel_size=5)
    >>> len(net[1:])
    2
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def _key(self, index):
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: index must be an int or a slice, "
                            f"got {type(index).__name__}") from None
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {size} modules")
        return list(self._modules)[index % size]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        self.add_module(self._key(index), module)

    def __delitem__(self, index):
        """Remove the module(s) at ``index``; the rest are renumbered "0", "1", ... as torch does."""
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]
        for key in keys:
            del self._modules[key]
        modules = list(self._modules.values())
        self._modules.clear()
        self._modules.update((str(i), module) for i, module in enumerate(modules))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end (keyed by the current length); returns self."""
        self.add_module(str(len(self)), module)
        return self

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters the parent registers; it has no forward of its own.

    >>> blocks = ModuleList([Linear(8, 8) for _ in range(3)])
    >>> [name for name, _ in blocks.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, index):
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"ModuleList: index {index} is out of range for {size} modules")
        return index % size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(self._index(operator.index(index)))]

    def __setitem__(self, index, module):
        self.add_module(str(self._index(operator.index(index))), module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        del modules[index]
        self._modules.clear()
        self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList: it has no forward(); iterate over it in the parent's forward")
