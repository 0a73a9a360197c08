"""Array-level ops, each forward beside its backward.

:class:`~cnnlab.tensor.Tensor`'s methods and operators call ``elementwise``,
``reduce``, ``shape`` and ``activation``; the CNN ops (conv, pool, activations,
norms, losses, sampling) are called through :mod:`cnnlab.functional`. Each op
takes its array module from its operands (``get_array_module``).
"""
