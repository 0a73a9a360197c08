"""Array-level ops, each forward beside its backward.

``elementwise``, ``reduce`` and ``shape`` attach themselves to :class:`Tensor`
as methods and operators; the CNN ops (conv, pool, activations, norms, losses,
sampling) are called through :mod:`cnnlab.functional`.
"""
