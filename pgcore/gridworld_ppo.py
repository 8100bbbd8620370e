"""PPO on the GridWorld, tabular and in numpy: a batch of episodes, advantages from a learned
tabular V (reward-to-go minus V, or GAE(λ)), then K epochs of minibatch ascent on the clipped
surrogate min(ρ A, clip(ρ, 1−ε, 1+ε) A), ρ = π_θ(a|s) / π_old(a|s).

With ε = ∞, K = 1 and one minibatch, ρ = 1 at the only gradient step and the update is exactly
the vanilla policy-gradient step θ + α · mean_k A_k ∇log π(a_k|s_k) (:func:`vanilla_pg_step`).

Example:
    >>> from pgcore.gridworld_algos import init_state
    >>> env = GridWorld()
    >>> state, info = ppo_step(env, init_state(env, seed=0), PPOConfig(episodes_per_update=4))
    >>> info.algorithm, 0.0 <= info.clip_fraction <= 1.0, info.approx_kl >= 0.0
    ('ppo', True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from pgcore._checks import (
    choice,
    finite_array,
    finite_float,
    flag,
    float_in_range,
    generator,
    instance,
    positive_float,
    positive_int,
)
from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import (
    MAX_EPISODES_PER_UPDATE,
    TrainState,
    UpdateInfo,
    clip_fraction,
    copy_rng,
    flat_steps,
    guard_theta,
    k3,
    log_softmax_rows,
    mean_entropy,
    ratio,
    weighted_score,
)
from pgcore.gridworld_sampling import GridEpisodes, sample_episodes

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["PPOConfig", "ppo_advantages", "ppo_update", "ppo_step", "vanilla_pg_step", "clip_eps_value"]

ADVANTAGES = ("gae", "rtg")
MAX_EPOCHS = 100


def clip_eps_value(value: object, name: str = "clip_eps") -> float:
    """ε > 0; ``math.inf`` is allowed and means "never clip"."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and value == math.inf:
        return math.inf
    return positive_float(name, value)


@dataclass(frozen=True)
class PPOConfig:
    """PPO's hyperparameters (one frozen record, checked on creation)."""

    learning_rate: float = 1.0
    """α for each minibatch ascent step on θ (advantages standardized, so α is in logits per unit A)."""
    episodes_per_update: int = 16
    """N episodes from (0, 0) per update (the batch)."""
    epochs: int = 4
    """K passes over the batch."""
    minibatches: int = 8
    """Minibatches per pass (of the batch's steps, shuffled each pass)."""
    clip_eps: float = 0.2
    """ε of clip(ρ, 1−ε, 1+ε); math.inf turns clipping off."""
    advantage: str = "gae"
    """"gae": GAE(γ, λ) with the learned V; "rtg": reward-to-go minus V(s_t)."""
    gae_lambda: float = 0.95
    """λ of GAE (1: reward-to-go minus V, 0: one-step TD error)."""
    value_learning_rate: float = 0.5
    """β_V: after each update V(s) moves this fraction of the way to the batch's mean target in s."""
    normalize_advantages: bool = True
    """Standardize A over the batch (mean 0, std 1) before the epochs, as common PPO code does."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "learning_rate", positive_float("learning_rate", self.learning_rate))
        object.__setattr__(
            self,
            "episodes_per_update",
            positive_int("episodes_per_update", self.episodes_per_update, maximum=MAX_EPISODES_PER_UPDATE),
        )
        object.__setattr__(self, "epochs", positive_int("epochs", self.epochs, maximum=MAX_EPOCHS))
        object.__setattr__(self, "minibatches", positive_int("minibatches", self.minibatches, maximum=10_000))
        object.__setattr__(self, "clip_eps", clip_eps_value(self.clip_eps))
        object.__setattr__(self, "advantage", choice("advantage", self.advantage, ADVANTAGES))
        object.__setattr__(self, "gae_lambda", float_in_range("gae_lambda", self.gae_lambda, 0.0, 1.0))
        object.__setattr__(
            self,
            "value_learning_rate",
            float_in_range("value_learning_rate", self.value_learning_rate, 0.0, 1.0, low_open=True),
        )
        object.__setattr__(self, "normalize_advantages", flag("normalize_advantages", self.normalize_advantages))

    @property
    def name(self) -> str:
        return "ppo"

    def step(self, env: GridWorld, state: TrainState) -> tuple[TrainState, UpdateInfo]:
        return ppo_step(env, state, self)


def ppo_advantages(
    env: GridWorld, episodes: GridEpisodes, value: npt.ArrayLike, advantage: str = "gae", gae_lambda: float = 0.95
) -> tuple[Array, Array]:
    """Advantages and critic targets, each (n, T) (0 after an episode's end).

    "rtg": A_t = G_t − V(s_t), target G_t.
    "gae": δ_t = r_t + γ V(s_{t+1}) [t+1 < L] − V(s_t);  A_t = δ_t + γλ A_{t+1};  target A_t + V(s_t).
    No bootstrap after the last action, terminated or truncated alike: J counts no reward past
    the cap T, so the future after a cut is worth exactly 0 here (V(s) itself ignores the time left).
    """
    env = instance("env", env, GridWorld)
    episodes = instance("episodes", episodes, GridEpisodes)
    v = _value_array(env, value)
    advantage = choice("advantage", advantage, ADVANTAGES)
    lam = float_in_range("gae_lambda", gae_lambda, 0.0, 1.0)
    valid = episodes.valid
    v_now = np.where(valid, v[episodes.states], 0.0)
    if advantage == "rtg":
        rtg = episodes.reward_to_go
        return np.where(valid, rtg - v_now, 0.0), rtg
    # V(s_{t+1}) is the next row's V(s_t) inside an episode; 0 at and after its last action
    v_next = np.zeros_like(v_now)
    v_next[:, :-1] = v_now[:, 1:]
    deltas = np.where(valid, episodes.rewards + env.gamma * v_next - v_now, 0.0)
    adv = np.zeros_like(deltas)
    running = np.zeros(episodes.n)
    for t in range(deltas.shape[1] - 1, -1, -1):
        running = deltas[:, t] + env.gamma * lam * running
        adv[:, t] = running
    adv = np.where(valid, adv, 0.0)
    return adv, np.where(valid, adv + v_now, 0.0)


def _value_array(env: GridWorld, value: npt.ArrayLike) -> Array:
    v = np.asarray(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value.astype(np.float64)
    if v.shape != (env.n_states,) or not np.all(np.isfinite(v)):
        raise ValueError(f"value must be a finite array of shape ({env.n_states},), got shape {v.shape}")
    return v


def _surrogate_gradient(
    pi: Array, log_pi: Array, old_log_pi: Array, s: IntArray, a: IntArray, adv: Array, clip_eps: float
) -> Array:
    """∇_θ mean_k min(ρ_k A_k, clip(ρ_k) A_k), (S, 4): ρ A ∇log π where the unclipped term is the min."""
    rho = ratio(log_pi[s, a] - old_log_pi[s, a])
    clipped = ((adv > 0) & (rho > 1 + clip_eps)) | ((adv < 0) & (rho < 1 - clip_eps))
    weights = np.where(clipped, 0.0, rho * adv) / s.size
    return weighted_score(pi, s, a, weights)


def ppo_update(
    env: GridWorld,
    theta: npt.ArrayLike,
    value: npt.ArrayLike,
    episodes: GridEpisodes,
    config: PPOConfig,
    rng: np.random.Generator,
) -> tuple[Array, Array, UpdateInfo]:
    """PPO's learning from one batch already sampled with π_θ: returns (θ_new, V_new, info).

    For each of K epochs the batch's valid steps are shuffled with ``rng`` and split into
    minibatches; each minibatch takes θ ← θ + α ∇_θ mean min(ρ A, clip(ρ, 1−ε, 1+ε) A), where the
    gradient of a sample is ρ A e_s ⊗ (onehot(a) − π(·|s)) unless the clip is the min (then 0).
    Then V(s) ← V(s) + β_V (mean target in s − V(s)) for every visited s.
    """
    env = instance("env", env, GridWorld)
    theta_old = env.check_theta(theta)
    v = _value_array(env, value)
    episodes = instance("episodes", episodes, GridEpisodes)
    config = instance("config", config, PPOConfig)
    rng = generator(rng)
    adv_table, targets = ppo_advantages(env, episodes, v, config.advantage, config.gae_lambda)
    episode, t, s, a = flat_steps(episodes)
    adv = adv_table[episode, t]
    if config.normalize_advantages and adv.size > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    old_log_pi = log_softmax_rows(theta_old)
    theta_new = theta_old.copy()
    first_norm = -1.0
    n = s.size
    for _ in range(config.epochs):
        order = rng.permutation(n)
        for chunk in np.array_split(order, min(config.minibatches, n)):
            log_pi = log_softmax_rows(theta_new)
            grad = _surrogate_gradient(
                np.exp(log_pi), log_pi, old_log_pi, s[chunk], a[chunk], adv[chunk], config.clip_eps
            )
            if first_norm < 0:
                first_norm = float(np.linalg.norm(grad))
            theta_new = guard_theta(theta_new + config.learning_rate * grad)
    # the critic, fitted after the actor used it
    target = targets[episode, t]
    value_loss = float(np.mean((target - v[s]) ** 2))
    sums = np.bincount(s, weights=target, minlength=env.n_states)
    counts = np.bincount(s, minlength=env.n_states)
    seen = counts > 0
    v_new = v.copy()
    v_new[seen] += config.value_learning_rate * (sums[seen] / counts[seen] - v[seen])
    new_log_pi = log_softmax_rows(theta_new)
    log_ratio = new_log_pi[s, a] - old_log_pi[s, a]
    clip_eps = config.clip_eps
    info = UpdateInfo(
        algorithm="ppo",
        episodes=episodes.n,
        env_steps=episodes.env_steps,
        mean_return=float(episodes.returns.mean()),
        gradient_norm=max(first_norm, 0.0),
        entropy=mean_entropy(new_log_pi, s),
        approx_kl=float(k3(-log_ratio).mean()),
        clip_fraction=clip_fraction(log_ratio, clip_eps),
        value_loss=value_loss,
    )
    return theta_new, v_new, info


def ppo_step(env: GridWorld, state: TrainState, config: PPOConfig) -> tuple[TrainState, UpdateInfo]:
    """One PPO update: sample N episodes from (0, 0) with π_θ, then :func:`ppo_update`."""
    env = instance("env", env, GridWorld)
    state = instance("state", state, TrainState)
    config = instance("config", config, PPOConfig)
    rng = copy_rng(state.rng)
    episodes = sample_episodes(env, state.theta, config.episodes_per_update, rng)
    value = state.value if state.value.shape == (env.n_states,) else np.zeros(env.n_states)
    theta, v, info = ppo_update(env, state.theta, value, episodes, config, rng)
    new = replace(
        state, theta=theta, value=v, rng=rng, updates=state.updates + 1, env_steps=state.env_steps + info.env_steps
    )
    return new, info


def vanilla_pg_step(
    env: GridWorld, theta: npt.ArrayLike, episodes: GridEpisodes, advantages: npt.ArrayLike, learning_rate: float
) -> Array:
    """θ + α · (1/K) Σ_k A_k ∇_θ log π(a_k|s_k) over the K valid steps of the batch, shape (S, 4).

    ``advantages`` is (n, T) like the batch (entries after an episode's end are ignored). PPO with
    ε = ∞, one epoch and one minibatch (and no advantage standardization) takes exactly this step.
    """
    env = instance("env", env, GridWorld)
    t_arr = env.check_theta(theta)
    episodes = instance("episodes", episodes, GridEpisodes)
    adv = finite_array("advantages", advantages)
    if adv.shape != episodes.states.shape:
        raise ValueError(f"advantages must have shape {episodes.states.shape}, got {adv.shape}")
    learning_rate = finite_float("learning_rate", learning_rate)
    episode, t, s, a = flat_steps(episodes)
    pi = np.exp(log_softmax_rows(t_arr))
    return np.asarray(t_arr + learning_rate * weighted_score(pi, s, a, adv[episode, t]) / s.size, dtype=np.float64)
