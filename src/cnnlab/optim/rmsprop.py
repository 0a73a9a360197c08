"""RMSprop: gradient descent scaled by a running root-mean-square of the gradient."""
from ..backend import get_array_module
from .optimizer import Optimizer, check_flag, check_number, effective_gradient, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e; centred form from Graves, 2013), as ``torch.optim.RMSprop``.

    Args:
        params: Tensors to optimise, or parameter-group dicts.
        lr: learning rate γ (>= 0).
        alpha: smoothing constant α of the running averages (in [0, 1]).
        eps: ε (>= 0), added to the denominator for stability.
        weight_decay: L2 penalty λ (>= 0), added to the gradient.
        momentum: momentum factor μ (>= 0).
        centered: divide by the gradient's estimated standard deviation instead of its RMS.
        maximize: ascend the objective instead of descending.

    Update, with g = ±∇f + λθ::

        v ← α v + (1 − α) g²
        d ← √(v − ḡ²) + ε   with ḡ ← α ḡ + (1 − α) g   (centered)   or   d ← √v + ε
        b ← μ b + g / d,  θ ← θ − γ b   (momentum > 0)   or   θ ← θ − γ g / d

    >>> optimizer = RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_number("RMSprop", "lr", group["lr"], low=0)
        check_number("RMSprop", "alpha", group["alpha"], low=0, high=1)
        check_number("RMSprop", "eps", group["eps"], low=0)
        check_number("RMSprop", "weight_decay", group["weight_decay"], low=0)
        check_number("RMSprop", "momentum", group["momentum"], low=0)
        check_flag("RMSprop", "centered", group["centered"])
        check_flag("RMSprop", "maximize", group["maximize"])

    def _update(self, param, grad, state, group):
        lr, alpha, eps, momentum = (float(group[k]) for k in ("lr", "alpha", "eps", "momentum"))
        xp = get_array_module(param.array)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param.array)
        state["step"] += 1
        grad = effective_gradient(param.array, grad, float(group["weight_decay"]), group["maximize"])

        square_avg = state["square_avg"]
        scratch = xp.multiply(grad, grad)
        scratch *= 1 - alpha
        square_avg *= alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", param)
            lerp_(grad_avg, grad, 1 - alpha, scratch)
            denominator = xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, denominator, out=denominator)
            xp.sqrt(denominator, out=denominator)
        else:
            denominator = xp.sqrt(square_avg, out=scratch)
        denominator += eps

        if momentum > 0:
            buffer = _buffer(state, "momentum_buffer", param)
            buffer *= momentum
            buffer += xp.divide(grad, denominator, out=denominator)
            param.array -= lr * buffer
        else:
            update = xp.divide(grad, denominator, out=denominator)
            update *= lr
            param.array -= update


def _buffer(state, name, param):
    """``state[name]``, created as zeros shaped like ``param`` on first use."""
    if name not in state:
        state[name] = get_array_module(param.array).zeros_like(param.array)
    return state[name]
