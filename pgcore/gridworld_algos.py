"""Learning on the GridWorld, one update at a time: the state every learner carries, REINFORCE
with reward-to-go and three baselines, and the ``train`` loop that scores each update with the
exact J(θ). PPO lives in :mod:`pgcore.gridworld_ppo`, GRPO in :mod:`pgcore.gridworld_grpo`.

Every algorithm is a pure step function ``step(env, state, config) -> (new_state, info)``: the
state holds θ, the random generator's position and counters; a step copies the generator, so
stepping the same state twice gives the same update. A page can Play/Step one update at a time
and draw ``env.expected_return(new_state.theta)`` beside the sampled returns.

Example:
    >>> env = GridWorld()
    >>> state = init_state(env, seed=0)
    >>> state, info = reinforce_step(env, state, ReinforceConfig(episodes_per_update=4))
    >>> state.updates, info.episodes, state.env_steps == info.env_steps
    (1, 4, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from pgcore._checks import choice, generator, instance, positive_float, positive_int
from pgcore._checks import seed as check_seed
from pgcore.gridworld import GridWorld
from pgcore.gridworld_sampling import GridEpisodes, sample_episodes

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "TrainState",
    "UpdateInfo",
    "ReinforceConfig",
    "TrainResult",
    "init_state",
    "reinforce_gradient",
    "reinforce_step",
    "train",
    "weighted_score",
]

#: Episodes in one update, at most (the sampler's memory bound is checked as well).
MAX_EPISODES_PER_UPDATE = 100_000
MAX_UPDATES = 1_000_000
#: θ entries beyond this are refused by the exact math; a learner that gets there stops.
THETA_LIMIT = 1e6


@dataclass(frozen=True)
class TrainState:
    """Everything a learner carries from one update to the next.

    Fields:
        theta: (S, 4) logits of the current policy.
        rng: the generator the next update draws from (copied, never advanced in place).
        updates: updates done so far.  env_steps: environment steps sampled so far.
        theta_ref: (S, 4) the initial logits: GRPO's reference policy for its KL penalty.
        value: (S,) PPO's learned tabular V(s); zeros until PPO fits it.
    """

    theta: Array
    rng: np.random.Generator
    updates: int = 0
    env_steps: int = 0
    theta_ref: Array = field(default_factory=lambda: np.zeros((0, 4)))
    value: Array = field(default_factory=lambda: np.zeros(0))


def init_state(env: GridWorld, seed: int = 0, theta: npt.ArrayLike | None = None) -> TrainState:
    """A fresh learner: θ (uniform policy by default), a generator from ``seed``, V = 0."""
    env = instance("env", env, GridWorld)
    seed = check_seed(seed)
    t = env.uniform_theta() if theta is None else env.check_theta(theta).copy()
    return TrainState(theta=t, rng=np.random.default_rng(seed), theta_ref=t.copy(), value=np.zeros(env.n_states))


@dataclass(frozen=True)
class UpdateInfo:
    """Diagnostics of one update (0.0 where a number does not apply to the algorithm).

    Fields:
        algorithm: "reinforce", "ppo" or "grpo".
        episodes: episodes sampled.  env_steps: steps they took.
        mean_return: mean sampled return Σ γᵗ r_t of those episodes (from their own starts).
        gradient_norm: ‖ĝ‖ of the first gradient step (at θ_old, before any clipping acts).
        entropy: mean H(π_new(·|s_t)) over the sampled steps, nats.
        approx_kl: mean k3 = (ρ − 1) − log ρ with ρ = π_new/π_old over the sampled steps ≈ KL(π_old‖π_new).
        clip_fraction: share of sampled steps with |π_new/π_old − 1| > ε after the update.
        value_loss: PPO: mean (target − V(s_t))² before the critic's update.
        kl_to_reference: GRPO: mean k3 with ρ = π_ref/π_new over the sampled steps.
        zero_std_groups: GRPO: share of groups whose G returns were all equal (zero advantage).
    """

    algorithm: str
    episodes: int
    env_steps: int
    mean_return: float
    gradient_norm: float
    entropy: float
    approx_kl: float = 0.0
    clip_fraction: float = 0.0
    value_loss: float = 0.0
    kl_to_reference: float = 0.0
    zero_std_groups: float = 0.0


class AlgorithmConfig(Protocol):
    """What ``train`` needs of a configuration: its name and its step function."""

    @property
    def name(self) -> str: ...

    def step(self, env: GridWorld, state: TrainState) -> tuple[TrainState, UpdateInfo]: ...


# ---------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------


def copy_rng(rng: np.random.Generator) -> np.random.Generator:
    """A new generator at the same position as ``rng`` (same bit generator kind)."""
    rng = generator(rng)
    bit_generator = type(rng.bit_generator)()
    bit_generator.state = rng.bit_generator.state
    return np.random.Generator(bit_generator)


def weighted_score(pi: Array, states: IntArray, actions: IntArray, weights: Array) -> Array:
    """Σ_k w_k ∇_θ log π(a_k|s_k) = Σ_k w_k e_{s_k} ⊗ (onehot(a_k) − π(·|s_k)), shape (S, 4).

    ``pi`` is (S, 4); ``states``, ``actions``, ``weights`` are 1-D of one length (flattened steps).
    Two bincounts, no loop: row s gets (Σ of w per action taken in s) − (Σ of w in s) π(·|s).
    """
    n_states, n_actions = pi.shape
    taken = np.bincount(states * n_actions + actions, weights=weights, minlength=n_states * n_actions)
    visits = np.bincount(states, weights=weights, minlength=n_states)
    return np.asarray(taken.reshape(n_states, n_actions) - visits[:, None] * pi, dtype=np.float64)


def log_softmax_rows(theta: Array) -> Array:
    """log π for (S, 4) logits, row by row (no checks: for θ already validated)."""
    shifted = theta - theta.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), dtype=np.float64)


def mean_entropy(log_pi: Array, states: IntArray) -> float:
    """Mean over the given steps of H(π(·|s_t)) = −Σ_a π log π."""
    h = -(np.exp(log_pi) * log_pi).sum(axis=1)
    return float(h[states].mean()) if states.size else 0.0


#: log ρ is capped here before exponentiating: a ratio of e^80 already means "the policy moved
#: completely", and larger ones would overflow once multiplied and summed.
LOG_RATIO_CAP = 80.0


def ratio(log_ratio: Array) -> Array:
    """ρ = exp(log ρ), with log ρ capped at LOG_RATIO_CAP."""
    return np.asarray(np.exp(np.minimum(log_ratio, LOG_RATIO_CAP)), dtype=np.float64)


def k3(log_ratio: Array) -> Array:
    """The k3 estimator of KL per sample: ρ − 1 − log ρ with log ρ given; ≥ 0, unbiased for KL(q‖p)
    when log ρ = log p(x) − log q(x) and x ~ q."""
    capped = np.minimum(log_ratio, LOG_RATIO_CAP)
    return np.asarray(np.expm1(capped) - capped, dtype=np.float64)


def clip_fraction(log_ratio: Array, clip_eps: float) -> float:
    """Share of samples with |ρ − 1| > ε."""
    return float(np.mean(np.abs(np.expm1(np.minimum(log_ratio, LOG_RATIO_CAP))) > clip_eps)) if log_ratio.size else 0.0


def guard_theta(theta: Array) -> Array:
    """Keep θ inside the range the exact math accepts (a huge learning rate can push it out)."""
    return np.clip(theta, -THETA_LIMIT, THETA_LIMIT)


def flat_steps(episodes: GridEpisodes) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The valid steps of a batch, flattened: (episode index, t, s_t, a_t), each 1-D."""
    episode, t = np.nonzero(episodes.valid)
    return episode, t, episodes.states[episode, t], episodes.actions[episode, t]


# ---------------------------------------------------------------------------------------
# REINFORCE
# ---------------------------------------------------------------------------------------

BASELINES = ("none", "mean", "value")


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE with reward-to-go: θ ← θ + α ĝ, ĝ = (1/N) Σ_i Σ_t γᵗ (G_t − b_t) ∇log π(a_t|s_t)."""

    learning_rate: float = 0.05
    """α, the step size of plain gradient ascent (tuned: median 0.2 s to within 1 % of J* on 5×5)."""
    episodes_per_update: int = 8
    """N, episodes sampled from (0, 0) per update."""
    baseline: str = "mean"
    """"none"; "mean": the mean reward-to-go at the same t of the *other* episodes of the batch
    (leave one out, so still unbiased); "value": the exact V_{T−t}(s_t) (an oracle no real
    learner has, the best state-dependent baseline to compare with)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "learning_rate", positive_float("learning_rate", self.learning_rate))
        object.__setattr__(
            self,
            "episodes_per_update",
            positive_int("episodes_per_update", self.episodes_per_update, maximum=MAX_EPISODES_PER_UPDATE),
        )
        object.__setattr__(self, "baseline", choice("baseline", self.baseline, BASELINES))

    @property
    def name(self) -> str:
        return "reinforce"

    def step(self, env: GridWorld, state: TrainState) -> tuple[TrainState, UpdateInfo]:
        return reinforce_step(env, state, self)


def _baseline(env: GridWorld, theta: Array, episodes: GridEpisodes, rtg: Array, baseline: str) -> Array:
    """b (n, T) for each step; 0 after an episode's end."""
    valid = episodes.valid
    if baseline == "none":
        return np.zeros_like(rtg)
    if baseline == "value":
        values = env.value_table(theta)  # row k: k actions left
        steps_left = env.max_steps - np.arange(env.max_steps)
        return np.where(valid, values[steps_left[None, :], episodes.states], 0.0)
    # leave-one-out mean over the other episodes still running at t
    alive = valid.sum(axis=0, keepdims=True)
    total = np.where(valid, rtg, 0.0).sum(axis=0, keepdims=True)
    others = np.maximum(alive - 1, 1)
    return np.where(valid & (alive > 1), (total - rtg) / others, 0.0)


def reinforce_gradient(env: GridWorld, theta: npt.ArrayLike, episodes: GridEpisodes, baseline: str = "value") -> Array:
    """The REINFORCE estimate of ∇J from a batch, shape (S, 4):

        ĝ = (1/N) Σ_i Σ_{t<L_i} γᵗ (G_{i,t} − b_{i,t}) e_{s_t} ⊗ (onehot(a_t) − π(·|s_t))

    with G_{i,t} the reward-to-go. Unbiased for every baseline offered: E[ĝ] = ∇J.
    """
    env = instance("env", env, GridWorld)
    t_arr = env.check_theta(theta)
    episodes = instance("episodes", episodes, GridEpisodes)
    baseline = choice("baseline", baseline, BASELINES)
    if episodes.states.shape[1] != env.max_steps or episodes.states.max(initial=0) >= env.n_states:
        raise ValueError("episodes must come from this env (same size and max_steps)")
    rtg = episodes.reward_to_go
    weights = (rtg - _baseline(env, t_arr, episodes, rtg, baseline)) * episodes.discounts[None, :]
    episode, t, s, a = flat_steps(episodes)
    pi = np.exp(log_softmax_rows(t_arr))
    return weighted_score(pi, s, a, weights[episode, t]) / episodes.n


def reinforce_step(env: GridWorld, state: TrainState, config: ReinforceConfig) -> tuple[TrainState, UpdateInfo]:
    """One REINFORCE update: sample N episodes from (0, 0), θ ← θ + α ĝ (see reinforce_gradient)."""
    env = instance("env", env, GridWorld)
    state = instance("state", state, TrainState)
    config = instance("config", config, ReinforceConfig)
    rng = copy_rng(state.rng)
    episodes = sample_episodes(env, state.theta, config.episodes_per_update, rng)
    grad = reinforce_gradient(env, state.theta, episodes, config.baseline)
    theta = guard_theta(state.theta + config.learning_rate * grad)
    _, _, s, _ = flat_steps(episodes)
    info = UpdateInfo(
        algorithm="reinforce",
        episodes=episodes.n,
        env_steps=episodes.env_steps,
        mean_return=float(episodes.returns.mean()),
        gradient_norm=float(np.linalg.norm(grad)),
        entropy=mean_entropy(log_softmax_rows(theta), s),
    )
    new = replace(state, theta=theta, rng=rng, updates=state.updates + 1, env_steps=state.env_steps + info.env_steps)
    return new, info


# ---------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    """A training run scored with the exact J after every update.

    Fields:
        expected_return: (U+1,) exact J(θ) before the first update and after each of U updates.
        env_steps: (U+1,) environment steps used by then (0 first).
        sampled_return: (U,) mean sampled return of each update's batch.
        infos: the U UpdateInfo records.  state: the learner after the last update.
        optimal_return: J*.  reached_at: the first update index u (1 … U) with
            J ≥ J* − target_gap·|J*|, or None.  wall_seconds: time the loop took.
    """

    expected_return: Array
    env_steps: IntArray
    sampled_return: Array
    infos: list[UpdateInfo]
    state: TrainState
    optimal_return: float
    reached_at: int | None
    wall_seconds: float

    @property
    def steps_to_target(self) -> int | None:
        """Environment steps used when the target was first met, or None."""
        return None if self.reached_at is None else int(self.env_steps[self.reached_at])


def target_return(env: GridWorld, target_gap: float) -> float:
    """J* − gap·|J*|: "within gap of the optimum" for a J of either sign."""
    best = env.optimal_return()
    return best - target_gap * abs(best)


def train(
    env: GridWorld,
    config: Any,
    *,
    seed: int = 0,
    updates: int = 200,
    theta: npt.ArrayLike | None = None,
    target_gap: float = 0.01,
    stop_at_target: bool = False,
    budget: int | None = None,
) -> TrainResult:
    """Run ``updates`` updates of ``config``'s algorithm from ``init_state(env, seed, theta)``.

    Records the exact J(θ) after every update (not a noisy return) and the environment steps
    used; ``reached_at`` marks the first update with J ≥ J* − target_gap·|J*| (the default: within
    1 % of the optimum), and with ``stop_at_target`` the run stops there. With ``budget`` the run
    also stops once it has used that many env steps (its last update may end past it).
    """
    env = instance("env", env, GridWorld)
    if not callable(getattr(config, "step", None)) or not isinstance(getattr(config, "name", None), str):
        raise ValueError(f"config must be a ReinforceConfig, PPOConfig or GRPOConfig, got {type(config).__name__}")
    updates = positive_int("updates", updates, maximum=MAX_UPDATES)
    target_gap = positive_float("target_gap", target_gap)
    stop_at_target = bool(instance("stop_at_target", stop_at_target, bool))
    budget = None if budget is None else positive_int("budget", budget, maximum=10 * MAX_UPDATES)
    state = init_state(env, seed, theta)
    goal = target_return(env, target_gap)
    exact = [env.expected_return(state.theta)]
    steps = [0]
    sampled: list[float] = []
    infos: list[UpdateInfo] = []
    reached: int | None = 0 if exact[0] >= goal else None
    start = time.perf_counter()
    for u in range(1, updates + 1):
        if (reached is not None and stop_at_target) or (budget is not None and state.env_steps >= budget):
            break
        state, info = config.step(env, state)
        infos.append(info)
        sampled.append(info.mean_return)
        exact.append(env.expected_return(state.theta))
        steps.append(state.env_steps)
        if reached is None and exact[-1] >= goal:
            reached = u
    return TrainResult(
        expected_return=np.array(exact),
        env_steps=np.array(steps, dtype=np.int64),
        sampled_return=np.array(sampled),
        infos=infos,
        state=state,
        optimal_return=env.optimal_return(),
        reached_at=reached,
        wall_seconds=time.perf_counter() - start,
    )
