"""The networks and the math of one policy-gradient update on CartPole, in the pieces
Spinning Up's VPG is read in (``core.py`` beside ``vpg.py``): the network, Ψ_t per
algorithm (:func:`weights`), the two losses (:func:`policy_loss`, :func:`value_loss`) and
one optimizer step (:func:`gradient_step`). :mod:`pgcore.cartpole.training` collects the
batches and calls these; nothing here knows about environments or budgets.

Shapes: a batch is T steps × N environments (:class:`Batch`); the losses see only its
B valid steps, flattened.

Example:
    >>> import torch
    >>> logits = torch.zeros(3, 2)             # π = 50/50 at three steps
    >>> loss, entropy = policy_loss(logits, torch.tensor([0, 1, 1]), torch.tensor([1.0, 2.0, 3.0]), 0.0)
    >>> round(float(loss), 4), round(float(entropy), 4)   # −mean(Ψ) · log ½ = 2 ln 2; ln 2
    (1.3863, 0.6931)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from pgcore.cartpole.config import NUM_ACTIONS, OBS_SIZE, TrainConfig
from pgcore.cartpole.policy import PolicySnapshot
from pgcore.returns import episode_mean_baseline, gae_advantages, n_step_targets, padded_reward_to_go

__all__ = [
    "MLP",
    "snapshot",
    "Batch",
    "weights",
    "policy_loss",
    "clipped_policy_loss",
    "value_loss",
    "Adam",
    "gradient_step",
    "per_step_grad_variance",
]

Array = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------


class _UninitialisedLinear(nn.Linear):
    """``nn.Linear`` with its parameters left empty (``torch.empty``): :meth:`MLP.initialise`
    fills them. Not ``device="meta"`` then ``to_empty``: that first ``to_empty`` imports
    sympy through torch's symbolic shapes, 0.3–0.4 s of a training process's start."""

    def reset_parameters(self) -> None:
        pass


class MLP(nn.Module):
    """One hidden layer, ``layer2(act(layer1(x)))``: x ``(B, 4)`` → ``(B, outputs)``.

    The policy π_θ has 2 outputs (the logits of push-left, push-right), the critic V_φ one.
    Parameters are created empty, then initialised from a private generator
    (:meth:`initialise`), so the global torch RNG is never used. Its numpy twin is
    :meth:`pgcore.cartpole.policy.PolicySnapshot.probabilities` (tested to agree).
    """

    def __init__(self, hidden_size: int, outputs: int, activation: str) -> None:
        super().__init__()
        self.layer1 = _UninitialisedLinear(OBS_SIZE, hidden_size)
        self.layer2 = _UninitialisedLinear(hidden_size, outputs)
        self.activation = activation

    def initialise(self, generator: torch.Generator, orthogonal: bool, output_gain: float) -> None:
        """Orthogonal weights (gain √2, then ``output_gain``) and zero biases, or torch's
        ``nn.Linear`` default U(−1/√fan_in, 1/√fan_in), drawn from ``generator``."""
        with torch.no_grad():
            for layer, gain in ((self.layer1, math.sqrt(2.0)), (self.layer2, output_gain)):
                if orthogonal:
                    nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
                    layer.bias.zero_()
                else:
                    bound = 1.0 / math.sqrt(layer.in_features)
                    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Functional calls rather than the submodules', and the activation in place: this
        # pass runs once per env step while acting, where module calls and an extra tensor
        # cost ~3 µs of its ~16 (2-core host). In place is safe under autograd: linear's
        # backward does not need its output, tanh's and relu's use their result.
        hidden = nn.functional.linear(x, self.layer1.weight, self.layer1.bias)
        hidden = hidden.relu_() if self.activation == "relu" else hidden.tanh_()
        return nn.functional.linear(hidden, self.layer2.weight, self.layer2.bias)


def snapshot(policy: MLP, config: TrainConfig) -> PolicySnapshot:
    """The policy network's weights as float32 numpy copies (for saving, animating, the page)."""
    arrays = {name: t.detach().cpu().numpy().astype(np.float32).copy() for name, t in policy.state_dict().items()}
    return PolicySnapshot(arrays, config.hidden_size, config.activation, config.algo)


# ---------------------------------------------------------------------------------------
# Ψ_t: what each algorithm weights ∇ log π(a_t | s_t) by
# ---------------------------------------------------------------------------------------


@dataclass
class Batch:
    """T steps of N environments, padded; ``obs`` has one extra row (the next observations).

    Attributes:
        obs: ``(T + 1, N, 4)`` float32: s_0 … s_T.
        actions: ``(T, N)`` int64: a_t.
        rewards: ``(T, N)``: the reward for a_t.
        terminated, truncated: ``(T, N)`` bool: the episode ended at step t (pole fell or
            cart left the track / the 500-step time limit).
        valid: ``(T, N)`` bool: step t is a real transition (not padding after an episode
            ended, not gymnasium's autoreset step).
    """

    obs: npt.NDArray[np.float32]
    actions: npt.NDArray[np.int64]
    rewards: Array
    terminated: npt.NDArray[np.bool_]
    truncated: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]


def weights(config: TrainConfig, batch: Batch, values: Array | None) -> tuple[Array, Array]:
    """Ψ_t for every step of the batch, and the critic's targets; shapes ``(T, N)`` each.

    * ``reinforce``: Ψ_t = G_t, the discounted reward-to-go (no baseline);
    * ``reinforce_baseline``: Ψ_t = G_t − mean of the same episode's G (the articles' baseline);
    * ``reinforce_value``: Ψ_t = G_t − V_φ(s_t);
    * ``actor_critic``: Ψ_t = the GAE(γ, λ) advantage, or the n-step target − V_φ(s_t).

    Value targets are G_t (REINFORCE family) or Ψ_t + V_φ(s_t) (actor_critic). A truncated
    episode bootstraps with γ·V(s_final) when ``values`` is given. Entries at invalid steps
    are meaningless.

    Args:
        config: the algorithm and γ, λ, n.
        batch: the steps.
        values: V_φ(s_0) … V_φ(s_T), shape ``(T + 1, N)``; None without a critic.
    """
    if config.algo == "actor_critic":
        assert values is not None
        if config.advantage_estimator == "gae":
            advantages = gae_advantages(
                batch.rewards, values, batch.terminated, batch.truncated, config.gamma, config.gae_lambda
            )
        else:
            targets = n_step_targets(
                batch.rewards, values, batch.terminated, batch.truncated, config.gamma, config.n_steps
            )
            advantages = targets - values[:-1]
        return advantages, advantages + values[:-1]
    returns = padded_reward_to_go(batch.rewards, batch.terminated, batch.truncated, config.gamma, values=values)
    if config.algo == "reinforce":
        return returns, returns
    if config.algo == "reinforce_baseline":
        return returns - episode_mean_baseline(returns, batch.valid), returns
    assert values is not None
    return returns - values[:-1], returns


# ---------------------------------------------------------------------------------------
# The losses and the step
# ---------------------------------------------------------------------------------------


def policy_loss(
    logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor, entropy_coef: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The surrogate whose gradient is the policy-gradient estimate, and the mean entropy:

        L_π(θ) = −(1/B) Σ_t Ψ_t log π_θ(a_t | s_t) − β · (1/B) Σ_t H(π_θ(· | s_t)),
        H(π) = −Σ_a π(a) log π(a)  (nats; at most ln 2 with two actions).

    Args:
        logits: ``(B, 2)``, the policy network's output at the B valid steps.
        actions: ``(B,)`` int64, the actions taken.
        weights: ``(B,)`` float32, Ψ_t (constants: no gradient flows into them).
        entropy_coef: β ≥ 0.

    Returns:
        ``(L_π, mean entropy)``, two scalar tensors (the loss with its graph).

    Written with ``log_softmax`` rather than ``torch.distributions.Categorical``
    (``dist.log_prob(a)``, ``dist.entropy()``): measured on the 2-core host, Categorical makes
    the whole update 14–22 % slower (reinforce, 68-step batch: 720 → 882 µs; actor_critic,
    32 steps: 1235 → 1402 µs, +10 % of its update cycle with the rollout), and its
    log-probabilities differ from these in the last float32 bit, which would change every
    seeded run (``benchmarks/bench_cartpole.py --categorical``). The sampler is apart: see
    ``TrainingRun._act``.
    """
    log_probs = torch.log_softmax(logits, dim=-1)  # log π(· | s_t), (B, 2)
    log_prob_taken = log_probs.gather(1, actions[:, None]).squeeze(1)  # log π(a_t | s_t), (B,)
    entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
    return -(weights * log_prob_taken).mean() - entropy_coef * entropy, entropy


def clipped_policy_loss(
    logits: torch.Tensor,
    actions: torch.Tensor,
    weights: torch.Tensor,
    old_log_probs: torch.Tensor,
    clip_range: float,
    entropy_coef: float,
) -> torch.Tensor:
    """PPO's clipped surrogate, for the passes after the first over one batch:

        L(θ) = −(1/B) Σ_t min(r_t Ψ_t, clip(r_t, 1 − ε, 1 + ε) Ψ_t) − β · mean entropy,
        r_t = π_θ(a_t | s_t) / π_old(a_t | s_t),

    with π_old the policy that collected the batch (``old_log_probs``, ``(B,)``). At θ = θ_old
    its gradient is :func:`policy_loss`'s; afterwards a step stops pushing a probability once it
    has moved by more than ε in the direction Ψ_t asks.
    """
    log_probs = torch.log_softmax(logits, dim=-1)
    ratio = torch.exp(log_probs.gather(1, actions[:, None]).squeeze(1) - old_log_probs)
    surrogate = torch.min(ratio * weights, ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * weights)
    entropy = -(log_probs.exp() * log_probs).sum(dim=-1).mean()
    return -surrogate.mean() - entropy_coef * entropy


def value_loss(values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_V(φ) = (1/B) Σ_t (V_φ(s_t) − target_t)², ``values`` and ``targets`` of shape ``(B,)``
    (targets are constants: G_t, or Ψ_t + V_φ(s_t) from before the step)."""
    return ((values - targets) ** 2).mean()


class Adam:
    """Adam (Kingma & Ba), the arithmetic of ``torch.optim.Adam``'s single-tensor path with its
    defaults (β 0.9, 0.999, ε 1e-8, no weight decay), step for step; a test checks the two
    agree. Not ``torch.optim.Adam`` itself: creating the first one imports ``torch._dynamo``,
    0.8–0.9 s of every training process's start on the 2-core host, for a tiny network.

    ``param_groups[0]["lr"]`` is the rate (the trainer's linear decay sets it).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = list(params)
        self.param_groups = [{"lr": float(lr)}]
        self.betas = (0.9, 0.999)
        self.eps = 1e-8
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """θ ← θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε), with m ← lerp(m, g, 1 − β₁) and
        v ← β₂ v + (1 − β₂) g², over every parameter with a gradient.

        Each line is one ``torch._foreach_*`` call over all the parameters (the same kernels,
        per tensor, as torch.optim.Adam's single-tensor path: bit for bit the same numbers),
        rather than a Python loop of six calls per parameter: for a 4-tensor network that is
        7 calls instead of 24, and the optimizer runs 10–20 times per batch."""
        beta1, beta2 = self.betas
        self.steps += 1
        step_size = self.param_groups[0]["lr"] / (1 - beta1**self.steps)
        correction2_sqrt = math.sqrt(1 - beta2**self.steps)
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params = [self.params[i] for i in live]
        grads = [self.params[i].grad for i in live]
        exp_avg = [self.exp_avg[i] for i in live]
        exp_avg_sq = [self.exp_avg_sq[i] for i in live]
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - beta2)
        denominator = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denominator, correction2_sqrt)
        torch._foreach_add_(denominator, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denominator, value=-step_size)


def gradient_step(
    loss: torch.Tensor, networks: Sequence[tuple[nn.Module, Adam]], max_grad_norm: float, report_norm: bool = True
) -> float | None:
    """One step on ``loss`` for each of ``networks`` ((module, optimizer) pairs): zero their
    gradients, backpropagate once, clip each network's gradient to L2 norm ``max_grad_norm``
    when that is > 0, step each optimizer.

    ``loss`` may be a sum of losses of networks with disjoint graphs (the policy's and V_φ's):
    one backward pass then gives each network exactly its own loss's gradient (∂(L_π + L_V)/∂θ =
    ∂L_π/∂θ), for half the autograd calls of two steps.

    Returns the first network's gradient norm before clipping (None if not ``report_norm``).
    """
    for _, optimizer in networks:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(networks[0][0]) if report_norm else None
    for module, optimizer in networks:
        if max_grad_norm > 0:
            nn.utils.clip_grad_norm_(module.parameters(), max_grad_norm)
        optimizer.step()
    return norm


def grad_norm(module: nn.Module) -> float:
    """‖∇‖₂ over every parameter of ``module`` that has a gradient (0 if none has)."""
    squares = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def per_step_grad_variance(policy: MLP, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> float:
    """(1/B) Σ_t ‖g_t − ḡ‖² for g_t = −Ψ_t ∇_θ log π(a_t | s_t): the spread of the per-step
    contributions whose mean is the policy gradient (the variance of that mean is this / B).

    Args:
        policy: π_θ.
        obs: ``(B, 4)``; actions: ``(B,)`` int64; weights: ``(B,)``, Ψ_t.

    Per-step gradients come from ``torch.func`` (vmap over the batch; the network is tiny).
    """
    from torch.func import functional_call, grad, vmap

    params = {name: p.detach() for name, p in policy.named_parameters()}
    one_hot = torch.nn.functional.one_hot(actions, NUM_ACTIONS).float()

    def step_loss(p: dict[str, torch.Tensor], s: torch.Tensor, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        log_probs = torch.log_softmax(functional_call(policy, p, (s[None],)), dim=-1)[0]
        return -w * (log_probs * a).sum()

    per_step = vmap(grad(step_loss), in_dims=(None, 0, 0, 0))(params, obs, one_hot, weights)
    flat = torch.cat([g.reshape(g.shape[0], -1) for g in per_step.values()], dim=1)
    return float(((flat - flat.mean(dim=0)) ** 2).sum(dim=1).mean())
