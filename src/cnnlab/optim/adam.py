"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""
from ..backend import get_array_module
from .optimizer import Optimizer, check_flag, check_number, effective_gradient, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980), as ``torch.optim.Adam``.

    Args:
        params: Tensors to optimise, or parameter-group dicts.
        lr: learning rate γ (>= 0).
        betas: (β1, β2), decay rates of the moment estimates, each in [0, 1).
        eps: ε (>= 0), added to the denominator for stability.
        weight_decay: L2 penalty λ (>= 0), added to the gradient.
        amsgrad: normalise by the running maximum of v (Reddi et al., 2018).
        maximize: ascend the objective instead of descending.

    Update at step t (counted per parameter), with g = ±∇f + λθ::

        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²            (amsgrad: v̂ ← max(v̂, v), used below instead of v)
        θ ← θ − γ / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε)

    >>> optimizer = Adam(model.parameters(), lr=1e-3)
    """

    #: AdamW decays the weights directly instead of adding λθ to the gradient.
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=_pair(self, betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = self._name
        check_number(name, "lr", group["lr"], low=0)
        betas = group["betas"] = _pair(self, group["betas"])
        check_number(name, "betas[0]", betas[0], low=0, high=1, high_open=True)
        check_number(name, "betas[1]", betas[1], low=0, high=1, high_open=True)
        check_number(name, "eps", group["eps"], low=0)
        check_number(name, "weight_decay", group["weight_decay"], low=0)
        check_flag(name, "amsgrad", group["amsgrad"])
        check_flag(name, "maximize", group["maximize"])

    def _update(self, param, grad, state, group):
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        xp = get_array_module(param.array)
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.array)
            state["exp_avg_sq"] = xp.zeros_like(param.array)
        state["step"] += 1
        step = state["step"]
        if self.decoupled_weight_decay:
            if weight_decay != 0:
                param.array *= 1 - lr * weight_decay
            grad = effective_gradient(param.array, grad, 0.0, group["maximize"])
        else:
            grad = effective_gradient(param.array, grad, weight_decay, group["maximize"])

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        scratch = xp.empty_like(param.array)
        lerp_(exp_avg, grad, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        xp.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq += scratch
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = xp.zeros_like(param.array)
            exp_avg_sq = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])

        step_size = lr / (1 - beta1**step)
        denominator = xp.sqrt(exp_avg_sq, out=scratch)
        denominator /= (1 - beta2**step) ** 0.5
        denominator += eps
        update = xp.divide(exp_avg, denominator, out=scratch)
        update *= step_size
        param.array -= update


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101), as ``torch.optim.AdamW``.

    Adam whose weight decay shrinks the weights directly, ``θ ← θ (1 − γλ)``, before
    the Adam step, instead of entering the moments as an L2 gradient. Same
    arguments as :class:`Adam`; ``weight_decay`` defaults to 1e-2.

    >>> optimizer = AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


def _pair(optimizer, betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{type(optimizer).__name__}: betas must be a pair (beta1, beta2), got betas={betas!r}")
    return tuple(betas)
