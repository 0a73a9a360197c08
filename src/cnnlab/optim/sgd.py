"""Stochastic gradient descent, with optional (Nesterov) momentum."""
from .optimizer import Optimizer, check_flag, check_number, effective_gradient

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    Args:
        params: Tensors to optimise, or parameter-group dicts.
        lr: learning rate γ (>= 0).
        momentum: momentum factor μ (>= 0).
        dampening: dampening τ for momentum (in [0, 1]).
        weight_decay: L2 penalty λ (>= 0), added to the gradient.
        nesterov: use Nesterov momentum (needs μ > 0 and τ = 0).
        maximize: ascend the objective instead of descending.

    Update, with g = ±∇f + λθ (the sign from ``maximize``)::

        b ← g                    on the first step
        b ← μ b + (1 − τ) g      afterwards
        g ← g + μ b  (nesterov)   or   g ← b
        θ ← θ − γ g

    >>> w = cnnlab.Tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); optimizer.step()
    >>> w
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_number("SGD", "lr", group["lr"], low=0)
        check_number("SGD", "momentum", group["momentum"], low=0)
        check_number("SGD", "dampening", group["dampening"], low=0, high=1)
        check_number("SGD", "weight_decay", group["weight_decay"], low=0)
        check_flag("SGD", "nesterov", group["nesterov"])
        check_flag("SGD", "maximize", group["maximize"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True requires momentum > 0 and dampening = 0, "
                f"got momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, param, grad, state, group):
        lr, momentum = float(group["lr"]), float(group["momentum"])
        direction = effective_gradient(param.array, grad, float(group["weight_decay"]), group["maximize"])
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = direction.copy()
            else:
                buffer *= momentum
                dampening = float(group["dampening"])
                buffer += direction if dampening == 0 else (1 - dampening) * direction
            direction = direction + momentum * buffer if group["nesterov"] else buffer
        param.array -= lr * direction
