"""The networks and the math of one policy-gradient update on CartPole, in the pieces
Spinning Up's VPG is read in (``core.py`` beside ``vpg.py``): the network with its
backward pass (:class:`MLP`), Ψ_t per algorithm (:func:`weights`), the two losses with
their gradients (:func:`policy_loss`, :func:`clipped_policy_loss`, :func:`value_loss`) and
one optimizer step (:class:`Adam`, :func:`clip_grad_norm`). :mod:`pgcore.cartpole.training`
collects the batches and calls these; nothing here knows about environments or budgets.

All numpy, float64, every gradient written out by hand. Why not torch: the networks are
tiny (4 → 32 → 2), so an update is a few dozen calls on arrays of a few hundred numbers,
and per call numpy costs ~1 µs where torch's dispatch and autograd cost 5–10 µs; and
``import torch`` alone took 0.8 s of a 2.6 s training process (issue 14's "≤ 2 s including
process start"). Every gradient here is tested against finite differences and against
``torch.autograd`` (tests/test_cartpole_core.py).

Shapes: a batch is T steps × N environments (:class:`Batch`); the losses see only its
B valid steps, flattened. A network's parameters live in one flat vector (``params``,
``(P,)``) with named views; its gradient in another of the same layout (``grad``).

Example:
    >>> logits = np.zeros((3, 2))                 # π = 50/50 at three steps
    >>> loss, entropy, d_logits = policy_loss(logits, np.array([0, 1, 1]), np.array([1.0, 2.0, 3.0]), 0.0)
    >>> round(loss, 4), round(entropy, 4)         # −mean(Ψ) · log ½ = 2 ln 2; ln 2
    (1.3863, 0.6931)
    >>> d_logits[0].tolist()                      # −Ψ₀ (onehot(a₀) − π) / B
    [-0.16666666666666666, 0.16666666666666666]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgcore._checks import choice, generator
from pgcore.cartpole.config import ACTIVATIONS, OBS_SIZE, TrainConfig
from pgcore.cartpole.policy import PolicySnapshot, hidden_layer
from pgcore.returns import episode_mean_baseline, gae_advantages, n_step_targets, padded_reward_to_go

__all__ = [
    "MLP",
    "snapshot",
    "Batch",
    "weights",
    "policy_loss",
    "clipped_policy_loss",
    "value_loss",
    "log_softmax",
    "log_prob_gradients",
    "per_step_grad_variance",
    "clip_grad_norm",
    "Adam",
]

Array = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------


class MLP:
    """One hidden layer, ``act(x W1ᵀ + b1) W2ᵀ + b2``: x ``(B, 4)`` → ``(B, outputs)``.

    The policy π_θ has 2 outputs (the logits of push-left, push-right), the critic V_φ one.
    Its numpy twin for a saved policy is :meth:`pgcore.cartpole.policy.PolicySnapshot.probabilities`
    (the same :func:`~pgcore.cartpole.policy.hidden_layer`).

    Attributes:
        params: every parameter, one flat float64 vector ``(P,)``, P = 4H + H + outputs·H + outputs.
        grad: the gradient of the last :meth:`backward`, same layout.
        w1, b1, w2, b2: views into ``params``: ``(H, 4)``, ``(H,)``, ``(outputs, H)``, ``(outputs,)``.
            An optimizer updates ``params`` in place, so the views (and anyone holding them,
            like the sampler) always see the current θ.
    """

    def __init__(self, hidden_size: int, outputs: int, activation: str) -> None:
        self.activation = choice("activation", activation, ACTIVATIONS)
        self.hidden_size, self.outputs = int(hidden_size), int(outputs)
        self.shapes = {
            "layer1.weight": (self.hidden_size, OBS_SIZE),
            "layer1.bias": (self.hidden_size,),
            "layer2.weight": (self.outputs, self.hidden_size),
            "layer2.bias": (self.outputs,),
        }
        self.params = np.zeros(sum(math.prod(s) for s in self.shapes.values()))
        self.grad = np.zeros_like(self.params)
        self.w1, self.b1, self.w2, self.b2 = self._views(self.params)
        self._grads = self._views(self.grad)

    def _views(self, flat: Array) -> list[Array]:
        views, start = [], 0
        for shape in self.shapes.values():
            size = math.prod(shape)
            views.append(flat[start : start + size].reshape(shape))
            start += size
        return views

    def initialise(self, rng: np.random.Generator, orthogonal: bool, output_gain: float) -> None:
        """Orthogonal weights (gain √2 for the hidden layer, ``output_gain`` for the output)
        and zero biases, or ``nn.Linear``'s default U(−1/√fan_in, 1/√fan_in) for weights and
        biases; drawn from ``rng`` in the order W1, (b1,) W2, (b2)."""
        rng = generator(rng)
        for w, b, gain in ((self.w1, self.b1, math.sqrt(2.0)), (self.w2, self.b2, output_gain)):
            fan_in = w.shape[1]
            if orthogonal:
                w[...] = orthogonal_matrix(rng, w.shape, gain)
                b[...] = 0.0
            else:
                bound = 1.0 / math.sqrt(fan_in)
                w[...] = rng.uniform(-bound, bound, size=w.shape)
                b[...] = rng.uniform(-bound, bound, size=b.shape)

    def forward(self, x: npt.NDArray[np.floating]) -> tuple[Array, Array]:
        """The outputs ``(B, outputs)`` and the hidden activations h = act(x W1ᵀ + b1) ``(B, H)``
        (what :meth:`backward` needs)."""
        hidden: Array = np.empty((len(x), self.hidden_size))
        hidden_layer(x, self.w1.T, self.b1, self.activation, out=hidden)
        return hidden @ self.w2.T + self.b2, hidden

    def backward(self, x: npt.NDArray[np.floating], hidden: Array, d_out: Array) -> Array:
        """Backpropagate ∂L/∂outputs ``(B, outputs)`` into ``self.grad`` (overwritten) and return it:

        ∂L/∂W2 = d_outᵀ h,  ∂L/∂b2 = Σ_rows d_out,
        δ = (d_out W2) ⊙ act'(pre),  act' = 1 − h² (tanh) or [h > 0] (ReLU),
        ∂L/∂W1 = δᵀ x,  ∂L/∂b1 = Σ_rows δ.
        """
        g_w1, g_b1, g_w2, g_b2 = self._grads
        np.matmul(d_out.T, hidden, out=g_w2)
        d_out.sum(axis=0, out=g_b2)
        delta = self.hidden_delta(hidden, d_out)
        np.matmul(delta.T, x, out=g_w1)
        delta.sum(axis=0, out=g_b1)
        return self.grad

    def hidden_delta(self, hidden: Array, d_out: Array) -> Array:
        """δ = (d_out W2) ⊙ act'(pre), ``(B, H)``: ∂L/∂(pre-activations), from the hidden
        activations h (tanh' = 1 − h², ReLU' = [h > 0])."""
        delta = d_out @ self.w2
        delta *= (1.0 - hidden * hidden) if self.activation == "tanh" else (hidden > 0.0)
        return delta

    def state_dict(self) -> dict[str, npt.NDArray[np.float32]]:
        """Tensor name → float32 copy (the names and shapes of :mod:`pgcore.cartpole.policy`'s files)."""
        return {name: view.astype(np.float32) for name, view in zip(self.shapes, self._views(self.params))}


def orthogonal_matrix(rng: np.random.Generator, shape: tuple[int, ...], gain: float) -> Array:
    """A random ``(rows, cols)`` matrix with orthonormal rows or columns (whichever are fewer),
    times ``gain``: the QR decomposition of a standard normal matrix, signs fixed by R's diagonal
    so the result is uniform over such matrices (Saxe et al. 2014; torch's ``orthogonal_``)."""
    rows, cols = shape
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return gain * (q.T if rows < cols else q)


def snapshot(policy: MLP, config: TrainConfig) -> PolicySnapshot:
    """The policy network's weights as float32 numpy copies (for saving, animating, the page)."""
    return PolicySnapshot(policy.state_dict(), config.hidden_size, config.activation, config.algo)


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
# The losses, each with its gradient
# ---------------------------------------------------------------------------------------


def log_softmax(logits: Array) -> Array:
    """log π(· | s) = z − logsumexp(z), row-wise, ``(B, 2)`` → ``(B, 2)``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _entropy_and_gradient(log_probs: Array, probs: Array, entropy_coef: float) -> tuple[float, Array]:
    """The mean entropy H̄ = (1/B) Σ_t H(π(· | s_t)), H = −Σ_a π(a) log π(a), and the gradient of
    −β·H̄ with respect to the logits, ``(B, 2)``: ∂H/∂z_a = −π(a)(log π(a) + H)."""
    entropy = -(probs * log_probs).sum(axis=1)  # (B,)
    d_logits = (entropy_coef / len(probs)) * probs * (log_probs + entropy[:, None])
    return float(entropy.mean()), d_logits


def policy_loss(
    logits: Array, actions: npt.NDArray[np.int64], weights: Array, entropy_coef: float
) -> tuple[float, float, Array]:
    """The surrogate whose gradient is the policy-gradient estimate, the mean entropy, and
    the surrogate's gradient with respect to the logits:

        L_π(θ) = −(1/B) Σ_t Ψ_t log π_θ(a_t | s_t) − β · (1/B) Σ_t H(π_θ(· | s_t)),
        ∂L_π/∂z_t = −(Ψ_t / B) (onehot(a_t) − π(· | s_t)) + (β / B) π (log π + H),

    with H in nats (at most ln 2 with two actions).

    Args:
        logits: ``(B, 2)``, the policy network's output at the B valid steps.
        actions: ``(B,)`` int64, the actions taken.
        weights: ``(B,)``, Ψ_t (constants: no gradient flows into them).
        entropy_coef: β ≥ 0.

    Returns:
        ``(L_π, mean entropy, ∂L_π/∂logits (B, 2))``.
    """
    log_probs = log_softmax(logits)
    probs = np.exp(log_probs)
    rows = np.arange(len(actions))
    entropy, d_logits = _entropy_and_gradient(log_probs, probs, entropy_coef)
    scale = weights / len(actions)  # Ψ_t / B
    d_logits += scale[:, None] * probs
    d_logits[rows, actions] -= scale
    loss = -float((weights * log_probs[rows, actions]).mean()) - entropy_coef * entropy
    return loss, entropy, d_logits


def clipped_policy_loss(
    logits: Array,
    actions: npt.NDArray[np.int64],
    weights: Array,
    old_log_probs: Array,
    clip_range: float,
    entropy_coef: float,
) -> tuple[float, Array]:
    """PPO's clipped surrogate, for the passes after the first over one batch, and its gradient
    with respect to the logits:

        L(θ) = −(1/B) Σ_t min(r_t Ψ_t, clip(r_t, 1 − ε, 1 + ε) Ψ_t) − β · mean entropy,
        r_t = π_θ(a_t | s_t) / π_old(a_t | s_t),
        ∂L/∂z_t = −(Ψ_t r_t / B) (onehot(a_t) − π(· | s_t)) where the unclipped term is the
        smaller (else 0), plus the entropy term as in :func:`policy_loss`,

    with π_old the policy that collected the batch (``old_log_probs``, ``(B,)``). At θ = θ_old
    (r = 1) its gradient is :func:`policy_loss`'s; afterwards a step stops pushing a probability
    once it has moved by more than ε in the direction Ψ_t asks.

    Returns:
        ``(L, ∂L/∂logits (B, 2))``.
    """
    log_probs = log_softmax(logits)
    probs = np.exp(log_probs)
    rows = np.arange(len(actions))
    ratio = np.exp(log_probs[rows, actions] - old_log_probs)
    unclipped, clipped = ratio * weights, np.clip(ratio, 1.0 - clip_range, 1.0 + clip_range) * weights
    entropy, d_logits = _entropy_and_gradient(log_probs, probs, entropy_coef)
    # Where the two terms are equal (r inside the clip range) both have gradient r Ψ: take it.
    scale = np.where(unclipped <= clipped, unclipped, 0.0) / len(actions)  # r_t Ψ_t / B where it flows
    d_logits += scale[:, None] * probs
    d_logits[rows, actions] -= scale
    loss = -float(np.minimum(unclipped, clipped).mean()) - entropy_coef * entropy
    return loss, d_logits


def value_loss(values: Array, targets: Array) -> tuple[float, Array]:
    """L_V(φ) = (1/B) Σ_t (V_φ(s_t) − target_t)² and ∂L_V/∂V = 2 (V − target) / B, for
    ``values`` and ``targets`` of shape ``(B,)`` (targets are constants: G_t, or
    Ψ_t + V_φ(s_t) from before the step)."""
    error = values - targets
    return float((error * error).mean()), (2.0 / len(error)) * error


def log_prob_gradients(policy: MLP, obs: npt.NDArray[np.floating], actions: npt.NDArray[np.int64]) -> Array:
    """∇_θ log π_θ(a_t | s_t) for each of B steps, flattened in ``policy.params``' layout:
    ``(B, P)``. Each row is :meth:`MLP.backward` of one step with ∂/∂z = onehot(a_t) − π(· | s_t),
    all rows at once (outer products instead of sums over the batch)."""
    logits, hidden = policy.forward(obs)
    d_logits = -np.exp(log_softmax(logits))
    d_logits[np.arange(len(actions)), actions] += 1.0  # onehot(a) − π, (B, 2)
    delta = policy.hidden_delta(hidden, d_logits)  # (B, H)
    x = np.asarray(obs, dtype=np.float64)
    parts = (
        (delta[:, :, None] * x[:, None, :]).reshape(len(x), -1),  # ∂/∂W1, (B, H·4)
        delta,  # ∂/∂b1
        (d_logits[:, :, None] * hidden[:, None, :]).reshape(len(x), -1),  # ∂/∂W2, (B, 2·H)
        d_logits,  # ∂/∂b2
    )
    return np.concatenate(parts, axis=1)


def per_step_grad_variance(
    policy: MLP, obs: npt.NDArray[np.floating], actions: npt.NDArray[np.int64], weights: Array
) -> float:
    """(1/B) Σ_t ‖g_t − ḡ‖² for g_t = −Ψ_t ∇_θ log π(a_t | s_t): the spread of the per-step
    contributions whose mean is the policy gradient (the variance of that mean is this / B).

    Args:
        policy: π_θ.
        obs: ``(B, 4)``; actions: ``(B,)`` int64; weights: ``(B,)``, Ψ_t.
    """
    per_step = -np.asarray(weights, dtype=np.float64)[:, None] * log_prob_gradients(policy, obs, actions)
    return float(((per_step - per_step.mean(axis=0)) ** 2).sum(axis=1).mean())


# ---------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------


def clip_grad_norm(grad: Array, max_norm: float) -> float:
    """Scale ``grad`` in place so that its L2 norm is at most ``max_norm`` (by
    max_norm / (‖g‖ + 1e-6), as ``torch.nn.utils.clip_grad_norm_``); return ‖g‖ before."""
    norm = float(np.sqrt(grad @ grad))
    coefficient = max_norm / (norm + 1e-6)
    if coefficient < 1.0:
        grad *= coefficient
    return norm


class Adam:
    """Adam (Kingma & Ba) with torch's defaults (β 0.9, 0.999, ε 1e-8, no weight decay) on
    one flat parameter vector, updated in place:

        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
        θ ← θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).

    A test checks it against ``torch.optim.Adam`` step for step. ``lr`` is the rate (the
    trainer's linear decay sets it before each update).
    """

    def __init__(self, params: Array, lr: float) -> None:
        self.params = params
        self.lr = float(lr)
        self.betas = (0.9, 0.999)
        self.eps = 1e-8
        self.steps = 0
        self.exp_avg = np.zeros_like(params)
        self.exp_avg_sq = np.zeros_like(params)
        self._scratch = np.empty_like(params)

    def step(self, grad: Array) -> None:
        """One update of ``params`` with gradient ``grad`` (same shape)."""
        beta1, beta2 = self.betas
        self.steps += 1
        m, v, denominator = self.exp_avg, self.exp_avg_sq, self._scratch
        m *= beta1
        m += (1.0 - beta1) * grad
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        np.sqrt(v, out=denominator)
        denominator /= math.sqrt(1.0 - beta2**self.steps)
        denominator += self.eps
        self.params -= (self.lr / (1.0 - beta1**self.steps)) * m / denominator
