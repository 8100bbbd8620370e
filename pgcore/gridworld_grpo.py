"""GRPO on the GridWorld, and exactly what its group normalization does to the gradient.

Each update draws M start cells ("prompts") and G episodes from each ("a group"); episode i's
advantage is its return against its group, A_i = (R_i − mean_group) / (std_group + 1e-8), shared
by all its steps; no value function. θ ascends the clipped surrogate with a KL penalty to the
initial policy (the k3 estimator), for K epochs over the batch:

    L(θ) = (1/(M G)) Σ_i Σ_t [ min(ρ_t A_i, clip(ρ_t, 1−ε, 1+ε) A_i) − β k3_t ],
    ρ_t = π_θ(a_t|s_t) / π_old(a_t|s_t),   k3_t = π_ref/π_θ − 1 − log(π_ref/π_θ) at (s_t, a_t).

Options for the fixes proposed after GRPO: ``leave_one_out`` (each episode's baseline is the
mean of the *other* G − 1 returns: unbiased) and ``scale_by_std=False`` (Dr. GRPO: no division
by the group's std). Steps are summed per episode (``length_normalize`` divides each episode
by its length, as the original GRPO loss does; Dr. GRPO drops that too).

:func:`expected_grpo_update` computes E[ĝ] exactly on this grid and sets it beside the true
gradients: the std division weights each start cell by 1/σ_c, so cells whose return hardly
varies (next to the goal, or under a near-deterministic policy) are pushed hardest.

Example:
    >>> from pgcore.gridworld_algos import init_state
    >>> env = GridWorld(size=3)
    >>> state, info = grpo_step(env, init_state(env, seed=0), GRPOConfig(prompts=2, group_size=4))
    >>> info.episodes, info.algorithm
    (8, 'grpo')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from pgcore._checks import flag, generator, instance, non_negative_float, positive_float, positive_int, whole_number
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
from pgcore.gridworld_ppo import MAX_EPOCHS, clip_eps_value
from pgcore.gridworld_sampling import GridEpisodes, sample_episodes

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "GRPOConfig",
    "GRPOExpectation",
    "expected_grpo_update",
    "group_advantages",
    "grpo_gradient",
    "grpo_step",
    "grpo_update",
]

STD_EPS = 1e-8
MAX_GROUP = 10_000


@dataclass(frozen=True)
class GRPOConfig:
    """GRPO's hyperparameters (one frozen record, checked on creation)."""

    learning_rate: float = 4.0
    """α for each ascent step on θ (advantages are in units of the group's std)."""
    prompts: int = 4
    """M start cells per update, drawn uniformly (with replacement) from every cell but the goal."""
    group_size: int = 8
    """G ≥ 2 episodes per start cell."""
    clip_eps: float = 0.2
    """ε of clip(ρ, 1−ε, 1+ε); math.inf turns clipping off."""
    beta: float = 0.0
    """β, weight of the KL penalty β·k3 to the initial (reference) policy."""
    epochs: int = 2
    """K full-batch ascent steps on the same batch."""
    leave_one_out: bool = False
    """Baseline: the mean of the other G − 1 returns (True) or of all G (False, GRPO's)."""
    scale_by_std: bool = True
    """Divide by the group's std + 1e-8 (GRPO) or not (Dr. GRPO)."""
    length_normalize: bool = False
    """Divide each episode's summed steps by its length (the original GRPO loss)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "learning_rate", positive_float("learning_rate", self.learning_rate))
        object.__setattr__(self, "prompts", positive_int("prompts", self.prompts, maximum=MAX_EPISODES_PER_UPDATE))
        object.__setattr__(self, "group_size", whole_number("group_size", self.group_size, 2, MAX_GROUP))
        if self.prompts * self.group_size > MAX_EPISODES_PER_UPDATE:
            raise ValueError(
                f"prompts × group_size must be at most {MAX_EPISODES_PER_UPDATE}, got {self.prompts} × {self.group_size}"
            )
        object.__setattr__(self, "clip_eps", clip_eps_value(self.clip_eps))
        object.__setattr__(self, "beta", non_negative_float("beta", self.beta))
        object.__setattr__(self, "epochs", positive_int("epochs", self.epochs, maximum=MAX_EPOCHS))
        object.__setattr__(self, "leave_one_out", flag("leave_one_out", self.leave_one_out))
        object.__setattr__(self, "scale_by_std", flag("scale_by_std", self.scale_by_std))
        object.__setattr__(self, "length_normalize", flag("length_normalize", self.length_normalize))

    @property
    def name(self) -> str:
        return "grpo"

    def step(self, env: GridWorld, state: TrainState) -> tuple[TrainState, UpdateInfo]:
        return grpo_step(env, state, self)


def group_advantages(returns: npt.ArrayLike, leave_one_out: bool = False, scale_by_std: bool = True) -> Array:
    """A for returns of shape (M, G): (R − b) / (std + 1e-8) or R − b, same shape.

    b is the group mean (1/G) Σ_j R_j, or with ``leave_one_out`` the mean of the other G − 1;
    std is the group's population std (ddof = 0). With the group mean, each row sums to 0, and
    adding a constant to every reward, or (with the std) multiplying them by c > 0, leaves A as it was.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2 or not np.all(np.isfinite(r)):
        raise ValueError(f"returns must be a finite (M, G) array with G ≥ 2, got shape {r.shape}")
    leave_one_out = flag("leave_one_out", leave_one_out)
    scale_by_std = flag("scale_by_std", scale_by_std)
    g = r.shape[1]
    total = r.sum(axis=1, keepdims=True)
    baseline = (total - r) / (g - 1) if leave_one_out else total / g
    centered = r - baseline
    if not scale_by_std:
        return np.asarray(centered, dtype=np.float64)
    return np.asarray(centered / (r.std(axis=1, keepdims=True) + STD_EPS), dtype=np.float64)


def _episode_weights(episodes: GridEpisodes, advantages: Array, length_normalize: bool) -> Array:
    """Per-episode weight of every step: A_i / (M G), or A_i / (M G L_i)."""
    w = advantages / episodes.n
    return np.asarray(w / episodes.lengths if length_normalize else w, dtype=np.float64)


def grpo_gradient(
    env: GridWorld,
    theta: npt.ArrayLike,
    theta_old: npt.ArrayLike,
    theta_ref: npt.ArrayLike,
    episodes: GridEpisodes,
    advantages: npt.ArrayLike,
    config: GRPOConfig,
) -> Array:
    """∇_θ L(θ) of the module docstring, shape (S, 4), for one batch:

        Σ_i w_i Σ_t [ρ_t A_i [unclipped is the min] − β (1 − π_ref/π_θ)] e_{s_t} ⊗ (onehot(a_t) − π_θ(·|s_t))

    with w_i = 1/(M G) (or 1/(M G L_i)); ``advantages`` has shape (n,), one per episode. At
    θ = θ_old with β = 0 this is Σ_i w_i A_i ∇log P(τ_i).
    """
    env = instance("env", env, GridWorld)
    t_now, t_old, t_ref = (
        env.check_theta(x, name) for x, name in ((theta, "theta"), (theta_old, "theta_old"), (theta_ref, "theta_ref"))
    )
    episodes = instance("episodes", episodes, GridEpisodes)
    config = instance("config", config, GRPOConfig)
    adv = np.asarray(advantages, dtype=np.float64)
    if adv.shape != (episodes.n,) or not np.all(np.isfinite(adv)):
        raise ValueError(f"advantages must be finite with shape ({episodes.n},), got {adv.shape}")
    episode, _, s, a = flat_steps(episodes)
    log_pi = log_softmax_rows(t_now)
    return _gradient(log_pi, log_softmax_rows(t_old), log_softmax_rows(t_ref), episode, s, a, adv, episodes, config)


def _gradient(
    log_pi: Array,
    old_log_pi: Array,
    ref_log_pi: Array,
    episode: IntArray,
    s: IntArray,
    a: IntArray,
    adv: Array,
    episodes: GridEpisodes,
    config: GRPOConfig,
) -> Array:
    step_adv = adv[episode]
    rho = ratio(log_pi[s, a] - old_log_pi[s, a])
    eps = config.clip_eps
    clipped = ((step_adv > 0) & (rho > 1 + eps)) | ((step_adv < 0) & (rho < 1 - eps))
    per_step = np.where(clipped, 0.0, rho * step_adv)
    if config.beta > 0:
        # d k3 / dθ = (1 − π_ref/π_θ) ∇log π_θ, and the penalty is subtracted
        per_step = per_step + config.beta * (ratio(ref_log_pi[s, a] - log_pi[s, a]) - 1.0)
    scale = _episode_weights(episodes, np.ones(episodes.n), config.length_normalize)[episode]
    return weighted_score(np.exp(log_pi), s, a, per_step * scale)


def grpo_update(
    env: GridWorld,
    theta: npt.ArrayLike,
    theta_ref: npt.ArrayLike,
    episodes: GridEpisodes,
    config: GRPOConfig,
) -> tuple[Array, UpdateInfo]:
    """GRPO's learning from one batch of M·G episodes sampled with π_θ, grouped by consecutive
    runs of G (episodes i·G … i·G + G − 1 share a start): returns (θ_new, info)."""
    env = instance("env", env, GridWorld)
    theta_old = env.check_theta(theta)
    ref = env.check_theta(theta_ref, "theta_ref")
    episodes = instance("episodes", episodes, GridEpisodes)
    config = instance("config", config, GRPOConfig)
    if episodes.n % config.group_size:
        raise ValueError(f"episodes must come in whole groups of group_size={config.group_size}, got {episodes.n}")
    groups = episodes.returns.reshape(-1, config.group_size)
    adv = group_advantages(groups, config.leave_one_out, config.scale_by_std).ravel()
    episode, _, s, a = flat_steps(episodes)
    old_log_pi = log_softmax_rows(theta_old)
    ref_log_pi = log_softmax_rows(ref)
    theta_new = theta_old.copy()
    first_norm = -1.0
    for _ in range(config.epochs):
        grad = _gradient(log_softmax_rows(theta_new), old_log_pi, ref_log_pi, episode, s, a, adv, episodes, config)
        if first_norm < 0:
            first_norm = float(np.linalg.norm(grad))
        theta_new = guard_theta(theta_new + config.learning_rate * grad)
    new_log_pi = log_softmax_rows(theta_new)
    log_ratio = new_log_pi[s, a] - old_log_pi[s, a]
    info = UpdateInfo(
        algorithm="grpo",
        episodes=episodes.n,
        env_steps=episodes.env_steps,
        mean_return=float(episodes.returns.mean()),
        gradient_norm=first_norm,
        entropy=mean_entropy(new_log_pi, s),
        approx_kl=float(k3(-log_ratio).mean()),
        clip_fraction=clip_fraction(log_ratio, config.clip_eps),
        kl_to_reference=float(k3(ref_log_pi[s, a] - new_log_pi[s, a]).mean()),
        zero_std_groups=float(np.mean(groups.std(axis=1) == 0.0)),
    )
    return theta_new, info


def sample_groups(
    env: GridWorld, theta: npt.ArrayLike, prompts: int, group_size: int, rng: np.random.Generator
) -> GridEpisodes:
    """M start cells uniform over the non-goal cells, G episodes from each, in consecutive runs of G."""
    rng = generator(rng)
    cells = rng.choice(env.non_goal_cells(), size=prompts)
    return sample_episodes(env, theta, prompts * group_size, rng, starts=np.repeat(cells, group_size))


def grpo_step(env: GridWorld, state: TrainState, config: GRPOConfig) -> tuple[TrainState, UpdateInfo]:
    """One GRPO update: :func:`sample_groups`, then :func:`grpo_update` against ``state.theta_ref``."""
    env = instance("env", env, GridWorld)
    state = instance("state", state, TrainState)
    config = instance("config", config, GRPOConfig)
    rng = copy_rng(state.rng)
    episodes = sample_groups(env, state.theta, config.prompts, config.group_size, rng)
    ref = state.theta_ref if state.theta_ref.shape == state.theta.shape else state.theta
    theta, info = grpo_update(env, state.theta, ref, episodes, config)
    new = replace(state, theta=theta, rng=rng, updates=state.updates + 1, env_steps=state.env_steps + info.env_steps)
    return new, info


# ---------------------------------------------------------------------------------------
# The exact expected update
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GRPOExpectation:
    """E[ĝ] of GRPO's first step (θ = θ_old, β = 0, steps summed per episode) against the truth.

    Fields (C = S − 1 start cells, every cell but the goal):
        cells: (C,) the start cells.  values: (C,) V_c = E[R | start c].  stds: (C,) σ_c.
        cell_gradients: (C, S, 4) ∇_θ V_c.
        weights: (C,) w_c with E[ĝ] = mean_c w_c ∇V_c.
        expected_update: (S, 4) E[ĝ].
        true_gradient: (S, 4) ∇J = ∇V_(0,0), the objective the grid is scored on.
        prompt_gradient: (S, 4) mean_c ∇V_c, the gradient of the average over start cells
            that GRPO's prompts sample.
    """

    cells: IntArray
    values: Array
    stds: Array
    cell_gradients: Array
    weights: Array
    expected_update: Array
    true_gradient: Array
    prompt_gradient: Array

    @property
    def cosine_to_true(self) -> float:
        """cos∠(E[ĝ], ∇J)."""
        return _cosine(self.expected_update, self.true_gradient)

    @property
    def cosine_to_prompts(self) -> float:
        """cos∠(E[ĝ], mean_c ∇V_c)."""
        return _cosine(self.expected_update, self.prompt_gradient)


def _cosine(x: Array, y: Array) -> float:
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    return 0.0 if nx == 0.0 or ny == 0.0 else float((x * y).sum() / (nx * ny))


def expected_grpo_update(
    env: GridWorld,
    theta: npt.ArrayLike,
    group_size: int = 8,
    leave_one_out: bool = False,
    scale_by_std: bool = True,
) -> GRPOExpectation:
    """E[ĝ] for GRPO's first step on this grid, from exact values and gradients (nothing sampled).

    An episode's steps sum to ∇log P(τ), and E[(R − b) ∇log P(τ)] = ∇V_c for any b independent
    of τ, so with start c uniform over the C non-goal cells, E[ĝ] = mean_c w_c ∇V_c with:

    * Dr. GRPO (no std): w_c = 1 with the leave-one-out mean; w_c = 1 − 1/G with the group mean
      (the episode's own return is 1/G of its baseline). Exact for every G.
    * std division: w_c = κ / (σ_c + 1e-8), σ_c the exact std of the return from c and κ as above:
      the group's std replaced by its value σ_c (exact for an estimator that divides by σ_c;
      GRPO's sample std tends to it as G grows). The 1/σ_c is what up-weights the start cells
      whose return varies least.
    """
    env = instance("env", env, GridWorld)
    t_arr = env.check_theta(theta)
    group_size = whole_number("group_size", group_size, 2, MAX_GROUP)
    leave_one_out = flag("leave_one_out", leave_one_out)
    scale_by_std = flag("scale_by_std", scale_by_std)
    cells = env.non_goal_cells()
    grads = env.start_gradients(t_arr, cells)
    mean, std = env.return_moments(t_arr)
    kappa = 1.0 if leave_one_out else 1.0 - 1.0 / group_size
    weights = np.full(cells.size, kappa)
    if scale_by_std:
        weights = weights / (std[cells] + STD_EPS)
    return GRPOExpectation(
        cells=cells,
        values=mean[cells],
        stds=std[cells],
        cell_gradients=grads,
        weights=weights,
        expected_update=np.einsum("c,csa->sa", weights, grads) / cells.size,
        true_gradient=grads[env.start].copy(),
        prompt_gradient=grads.mean(axis=0),
    )
