"""What a training run reports: one :class:`UpdateRecord` per update while it runs, and a
:class:`TrainResult` at the end. Plain data (numpy arrays, the numpy policy), torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore.cartpole.config import SOLVE_WINDOW, TrainConfig
from pgcore.cartpole.policy import PolicySnapshot

__all__ = ["UpdateRecord", "TrainResult"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class UpdateRecord:
    """Progress after one update (one batch → one gradient step per network).

    Attributes:
        update: 1-based update index.
        env_steps: valid env steps taken so far (all environments together).
        episode_returns: undiscounted returns of the episodes finished since the last
            record, in order of finishing, shape ``(k,)`` (k may be 0 for actor_critic).
        episode_lengths: their lengths, shape ``(k,)``.
        episode_end_steps: ``env_steps`` at the end of each of them, shape ``(k,)``.
        avg_return: mean return of the last 20 finished episodes (NaN before any).
        policy_loss: the surrogate −mean(Ψ_t log π(a_t|s_t)) − β·entropy that was minimised.
        value_loss: mean squared error of V_φ against its targets (None without a critic).
        entropy: mean entropy of π(· | s_t) over the batch, in nats (max ln 2 ≈ 0.693).
        weight_mean, weight_variance: mean and variance over the batch of Ψ_t *before*
            normalization (returns for reinforce, advantages otherwise): the "Q-value
            variance" the articles plot; a baseline should shrink it.
        grad_norm: L2 norm of the policy-loss gradient (before clipping).
        grad_variance: if ``measure_grad_variance``: tr Cov of the per-step gradient
            contributions g_t = −Ψ_t ∇_θ log π(a_t | s_t), i.e. (1/B) Σ_t ‖g_t − ḡ‖²; the
            variance of the batch-mean estimate is this / B. Else None.
        batch_steps: B, the valid steps used in this update.
        steps_per_second: env steps of this update / its wall time (rollout + update).
        wall_seconds: time since the run started.
        solved: whether the run has been solved (confirmed; see module docstring).
        steps_to_solve: env steps at the confirming evaluation, or None.
        window_solved_at: env steps when the 20-episode training mean first reached 475.
        eval_mean_return: mean return of the latest evaluation (100 episodes), or None.
    """

    update: int
    env_steps: int
    episode_returns: Array
    episode_lengths: npt.NDArray[np.int64]
    episode_end_steps: npt.NDArray[np.int64]
    avg_return: float
    policy_loss: float
    value_loss: float | None
    entropy: float
    weight_mean: float
    weight_variance: float
    grad_norm: float
    grad_variance: float | None
    batch_steps: int
    steps_per_second: float
    wall_seconds: float
    solved: bool
    steps_to_solve: int | None
    window_solved_at: int | None = None
    eval_mean_return: float | None = None


@dataclass(frozen=True)
class TrainResult:
    """Outcome of a run (complete, stopped by a budget, or cancelled).

    Attributes:
        config: the run's configuration.
        episode_returns: undiscounted return of every finished episode, shape ``(E,)``.
        episode_lengths: their lengths, shape ``(E,)``.
        episode_end_steps: env steps at each episode's end, shape ``(E,)``, nondecreasing.
        env_steps: valid env steps taken in total.
        updates: number of updates made.
        solved: whether a check of the policy on 100 fresh episodes confirmed a mean ≥ 475.
        steps_to_solve: env steps at that confirming check, or None.
        window_solved_at: env steps when the 20-episode training mean first reached 475 (the
            trigger for a check), or None.
        evaluations: how many checks were run.
        eval_mean_return: the mean return of the latest check, or None if none ran.
        eval_env_steps: env steps spent in checks (not part of ``env_steps``).
        wall_seconds: duration of the run.
        stop_reason: ``solved``, ``max_env_steps``, ``max_wall_seconds`` or ``cancelled``.
        policy: the trained policy (numpy weights; save with :func:`save_policy`).
        value_weights: V_φ's weights as numpy arrays, or None without a critic.
    """

    config: TrainConfig
    episode_returns: Array
    episode_lengths: npt.NDArray[np.int64]
    episode_end_steps: npt.NDArray[np.int64]
    env_steps: int
    updates: int
    solved: bool
    steps_to_solve: int | None
    wall_seconds: float
    stop_reason: str
    policy: PolicySnapshot
    value_weights: dict[str, npt.NDArray[np.float32]] | None
    window_solved_at: int | None = None
    evaluations: int = 0
    eval_mean_return: float | None = None
    eval_env_steps: int = 0

    @property
    def final_avg_return(self) -> float:
        """Mean return of the last 20 finished episodes (NaN if none finished)."""
        tail = self.episode_returns[-SOLVE_WINDOW:]
        return float(tail.mean()) if tail.size else float("nan")

    def summary(self) -> dict[str, Any]:
        """The CLI's JSON summary."""
        avg = self.final_avg_return
        return {
            "algo": self.config.algo,
            "seed": self.config.seed,
            "solved": self.solved,
            "steps_to_solve": self.steps_to_solve,
            "window_solved_at": self.window_solved_at,
            "evaluations": self.evaluations,
            "eval_mean_return": None if self.eval_mean_return is None else round(self.eval_mean_return, 3),
            "eval_env_steps": self.eval_env_steps,
            "env_steps": self.env_steps,
            "episodes": int(self.episode_returns.size),
            "wall_seconds": round(self.wall_seconds, 3),
            "final_avg_return": None if math.isnan(avg) else round(avg, 3),
        }
