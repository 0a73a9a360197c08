"""What ``fit`` does differently when several ranks train together (see :mod:`cnnlab.distributed`).

Each step every rank runs forward and backward on its share of the global batch;
:class:`GradientSum` then makes every rank's gradients those of the whole batch
with one in-place ``Allreduce`` over a flat buffer, and :meth:`Replicas.step_totals`
sums the step's loss, metrics, sample count and Ctrl-C flag the same way, so all
ranks take the same update and see the same logs, and decide to stop together.
"""
import numpy as np

from .. import distributed


class GradientSum:
    """The gradients of the optimizer's parameters in one flat buffer, summed over the ranks in place.

    Each rank scales its gradients by its share of the batch (``n_rank / n_batch``),
    so the sum is the gradient of the mean loss over the whole batch, as one process
    computes it. A parameter that has no gradient on any rank (unused by this batch)
    keeps none, so the optimizer skips it as it would in one process.
    """

    def __init__(self, optimizer, world):
        seen, self.params = set(), []
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in seen and p.requires_grad:
                    seen.add(id(p))
                    self.params.append(p)
        self.world = world
        sizes = [p.array.size for p in self.params]
        self.stops = np.cumsum(sizes)
        dtype = np.result_type(*(p.array.dtype for p in self.params)) if self.params else np.float32
        # the gradients, then one count per parameter of the ranks that have its gradient
        self.flat = np.zeros(int(self.stops[-1] if sizes else 0) + len(self.params), dtype=dtype)

    def sum_(self, scale):
        """Replace each gradient by the sum over the ranks of ``scale`` times it; ``scale`` is this rank's weight."""
        flat, count = self.flat, len(self.params)
        presence = flat[len(flat) - count:]
        start = 0
        for k, (p, stop) in enumerate(zip(self.params, self.stops)):
            grad = p._grad
            if grad is None:
                flat[start:stop] = 0
                presence[k] = 0
            else:
                np.multiply(grad.reshape(-1), scale, out=flat[start:stop])
                presence[k] = 1
            start = stop
        self.world.sum_(flat)
        start = 0
        for k, (p, stop) in enumerate(zip(self.params, self.stops)):
            # a view of the buffer: the next step's zero_grad drops it before the buffer is reused
            p._grad = flat[start:stop].reshape(p.array.shape).astype(p.array.dtype, copy=False) \
                if presence[k] > 0 else None
            start = stop


class Replicas:
    """The collective side of one ``fit`` on several ranks: start, each step, each epoch's end, evaluation."""

    def __init__(self, world, model, optimizer, running):
        self.world, self.model, self.running = world, model, running
        self.gradients = GradientSum(optimizer, world) if optimizer is not None else None
        self.tensors = [*model.parameters(), *model.buffers()]

    def broadcast_model(self):
        """Make every rank's weights and buffers rank 0's."""
        for tensor in self.tensors:
            array = np.ascontiguousarray(tensor.array)
            self.world.broadcast_(array)
            tensor.array[...] = array

    def step_totals(self, local, interrupt):
        """Sum ``local`` (``{key: value * n}`` for the running keys, and ``'n'``) and the Ctrl-C flags over the ranks.

        Returns ``(totals, interrupted)``: the whole batch's sums (``'n'`` too) and whether any rank saw a Ctrl-C.
        """
        totals, (n, flags) = sum_totals(self.world, self.running, local, local["n"], float(interrupt))
        return {**totals, "n": int(n)}, flags > 0

    def average_buffers(self):
        """Average the floating-point buffers (batch-norm running statistics) over the ranks; others become rank 0's."""
        for buffer in self.model.buffers():
            array = np.ascontiguousarray(buffer.array)
            if np.issubdtype(array.dtype, np.floating):
                total = self.world.sum_(array.astype(np.float64))
                buffer.array[...] = total / self.world.size
            else:
                buffer.array[...] = self.world.broadcast_(array)


def shard_of(world, n):
    """The indices of this rank's share of ``n`` samples (contiguous), for evaluation."""
    start, stop = distributed.split_evenly(n, world.size, world.rank)
    return np.arange(start, stop)


def sum_totals(world, running, totals, *counts):
    """Sum ``totals`` (``{key: value * n}`` for the ``running`` keys) and the numbers ``counts`` over the ranks.

    One Allreduce of float64 numbers; returns ``(summed totals, [summed counts])``.
    """
    buffer = np.array([*(totals[k] for k in running), *counts], dtype=np.float64)
    world.sum_(buffer)
    return dict(zip(running, buffer[:len(running)].tolist())), buffer[len(running):].tolist()
