"""How biased the articles' episode-mean baseline is, measured: the mean of its own term
Σ_t b̄ ∇log π(a_t|s_t) over many episodes at a policy, against its noise. The CartPole page
quotes the figure that ``scripts/make_reference_curves.py`` stores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pgcore.cartpole.config import TrainConfig
from pgcore.cartpole.core import log_prob_gradients
from pgcore.cartpole.training import TrainingRun
from pgcore.returns import episode_mean_baseline, padded_reward_to_go

__all__ = ["BaselineBias", "measure_baseline_bias"]


@dataclass(frozen=True)
class BaselineBias:
    """How far a baseline's own term is from averaging to zero, measured from episodes.

    A baseline b_t leaves the policy gradient unbiased iff E[Σ_t b_t ∇log π(a_t|s_t)] = 0,
    which holds when b_t does not depend on a_t or later actions. The articles' episode-mean
    baseline b̄ = mean_t G_t uses the whole episode, its later actions included.

    Attributes:
        episodes: how many episodes the averages are over.
        bias_norm: ‖mean over episodes of Σ_t b_t ∇_θ log π(a_t|s_t)‖ (0 for an unbiased baseline,
            up to noise).
        noise_norm: √(Σ_j SE_j²) of that mean: the size ``bias_norm`` has from noise alone.
        gradient_norm: ‖mean of Σ_t G_t ∇_θ log π(a_t|s_t)‖, the no-baseline estimate it is
            compared with.
        angle_degrees: the angle between the estimate's mean with the baseline (plain − term)
            and without it: how far the baseline turns the average step.
    """

    episodes: int
    bias_norm: float
    noise_norm: float
    gradient_norm: float
    angle_degrees: float


def measure_baseline_bias(config: TrainConfig, episodes: int = 2000, constant: float | None = None) -> BaselineBias:
    """Measure the baseline term's mean at ``config``'s initial policy (its seed's init).

    Args:
        config: the policy network and γ (its ``algo`` and learning settings are not used).
        episodes: how many episodes to average over (batches of 100 parallel ones).
        constant: measure a constant baseline b instead of the episode-mean one (a check of
            the measurement: its term must average to zero).
    """
    import gymnasium as gym

    if not isinstance(episodes, int) or not 100 <= episodes <= 100_000:
        raise ValueError(f"episodes must be a whole number from 100 to 100000, got {episodes!r}")
    run = TrainingRun(dataclasses.replace(config, num_envs=100))  # the same initial weights: they depend on the seed
    baseline_terms: list[np.ndarray] = []  # one flat gradient term per episode
    plain_terms: list[np.ndarray] = []
    env = gym.make_vec("CartPole-v1", num_envs=100, vectorization_mode="vector_entry_point")
    try:
        obs, _ = env.reset(seed=run._env_seed)
        while len(baseline_terms) < episodes:
            batch = run._collect_episodes(env, obs)
            obs, _ = env.reset()
            returns = padded_reward_to_go(batch.rewards, batch.terminated, batch.truncated, config.gamma)
            b = np.full_like(returns, constant) if constant is not None else episode_mean_baseline(returns, batch.valid)
            t_idx, n_idx = np.nonzero(batch.valid)
            # ∇_θ log π(a_t|s_t), one row per step
            flat = log_prob_gradients(run.policy, batch.obs[t_idx, n_idx], batch.actions[t_idx, n_idx])
            for n in range(batch.valid.shape[1]):
                rows = n_idx == n
                baseline_terms.append((b[t_idx[rows], n][:, None] * flat[rows]).sum(axis=0))
                plain_terms.append((returns[t_idx[rows], n][:, None] * flat[rows]).sum(axis=0))
    finally:
        env.close()
    bias = np.asarray(baseline_terms[:episodes])
    plain = np.asarray(plain_terms[:episodes])
    se = bias.std(axis=0, ddof=1) / np.sqrt(episodes)
    g, with_baseline = plain.mean(axis=0), plain.mean(axis=0) - bias.mean(axis=0)
    cosine = float(g @ with_baseline / max(np.linalg.norm(g) * np.linalg.norm(with_baseline), 1e-300))
    return BaselineBias(
        episodes,
        float(np.linalg.norm(bias.mean(axis=0))),
        float(np.sqrt(np.sum(se**2))),
        float(np.linalg.norm(g)),
        float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))),
    )
