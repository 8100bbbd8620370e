"""Policy-gradient training on CartPole-v1: REINFORCE, REINFORCE with the articles'
episode-mean baseline, REINFORCE with a learned value baseline, and advantage
actor-critic (n-step or GAE(λ) targets).

Algorithms (``TrainConfig.algo``), with Ψ_t the weight on ∇ log π(a_t | s_t):

* ``reinforce``: Ψ_t = G_t, the discounted reward-to-go of the episode.
* ``reinforce_baseline``: Ψ_t = G_t − b, b = mean of the episode's G_t (as in the source
  articles; see :func:`pgcore.returns.episode_mean_baseline`).
* ``reinforce_value``: Ψ_t = G_t − V_φ(s_t); V_φ is fitted to G_t by least squares.
* ``actor_critic``: Ψ_t = GAE(γ, λ) advantage or n-step target − V_φ(s_t), from
  fixed-length rollouts of ``rollout_steps`` steps per environment; V_φ is fitted to
  Ψ_t + V_φ(s_t).

Policy loss = −mean_t(Ψ_t log π(a_t | s_t)) − β · mean_t(entropy of π(· | s_t)), averaged
over all valid steps of the update batch; with ``normalize_returns`` the Ψ_t are first
scaled to mean 0, std 1 over the batch. One Adam step per batch for each network.

**Batches.** The REINFORCE variants collect exactly one complete episode from each of
``num_envs`` parallel environments per update (so ``num_envs`` = episodes per update),
starting every batch from a fresh reset; an environment that finishes early idles (its
further steps are discarded and not counted). ``actor_critic`` keeps the environments
running across updates and learns from ``rollout_steps × num_envs`` steps at a time.

**Environment and episode ends.** ``gymnasium.make_vec("CartPole-v1", num_envs=N,
vectorization_mode="vector_entry_point")`` is CartPole's own numpy vector env; it only
supports autoreset mode NEXT_STEP: the step that ends an episode returns the episode's
*final* observation, and the *next* step ignores the action, returns the reset
observation with reward 0 and both flags False. That step is not a transition of any
episode: it is marked invalid, excluded from losses and from the env-step count. Because
the final observation arrives in the ordinary observation stream, V(final observation) is
simply V of the next stored observation, and :mod:`pgcore.returns` uses it: a truncation
(500-step time limit) bootstraps with γ·V(s_final) when a critic exists
(``reinforce_value``, ``actor_critic``); a termination (pole fell, cart off the track)
never bootstraps. Without a critic, truncated episodes are scored as if they ended.

**Env steps** count valid transitions only (each one an action the agent took).

**Solved** (see :mod:`pgcore.cartpole_config`). The mean undiscounted return of the last 20
finished training episodes reaching ≥ 475 is only the *trigger* (``window_solved_at``: the
env step at the end of the episode that completed that window; within a batch of parallel
episodes, an episode that ends at time t is stamped with the steps all environments had
taken by then). At the next update boundary the current policy, acting exactly as in
training (sampling), plays 100 fresh episodes; the run is *solved* if their mean return is
≥ 475, and ``steps_to_solve`` is the env-step count at that check. If the check fails,
training goes on and the next check waits for 20 more finished episodes with the window
still ≥ 475. Evaluation episodes are not training steps: they are counted apart
(``eval_env_steps``). Training stops after a successful check if ``stop_when_solved``.

**Reproducibility.** ``config.seed`` feeds one ``np.random.SeedSequence`` that seeds the
environment, the numpy action sampler and a private ``torch.Generator`` for the weight
initialisation; the global RNGs are never touched. Actions are sampled in numpy from
probabilities computed in one batched forward pass under ``torch.inference_mode()``;
log-probabilities are recomputed in one batched pass at update time. Rollout and update
run on one CPU thread (``torch.set_num_threads(1)``, set process-wide). Same config →
identical episode returns, except when a run is cut by ``max_wall_seconds``.

Progress API (what a page needs):

    >>> run = iter_training(preset_config("fast", "reinforce_value", seed=0, max_env_steps=2000))
    >>> for record in run:           # one UpdateRecord per update; `break` cancels
    ...     pass
    >>> result = run.result()        # TrainResult (also valid after a `break`)
    >>> result.env_steps >= 2000
    True

or ``train(config, callback=..., should_stop=...)`` for the same loop in one call.

Command line: ``python -m pgcore.cartpole --algo reinforce_value --seed 0 --max-steps 150000``
prints progress lines, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from pgcore.cartpole_config import (
    ALGOS,
    EVAL_EPISODES,
    PRESETS,
    SOLVE_THRESHOLD,
    SOLVE_WINDOW,
    TrainConfig,
    preset_config,
)
from pgcore.cartpole_policy import (
    EpisodeRollout,
    PolicySnapshot,
    load_policy,
    policy_from_bytes,
    policy_to_bytes,
    random_policy,
    rollout_episode,
    save_policy,
)
from pgcore.cartpole_runs import running_mean
from pgcore.returns import (
    episode_mean_baseline,
    gae_advantages,
    n_step_targets,
    normalize,
    padded_reward_to_go,
)

__all__ = [
    "ALGOS",
    "PRESETS",
    "SOLVE_THRESHOLD",
    "SOLVE_WINDOW",
    "TrainConfig",
    "preset_config",
    "UpdateRecord",
    "TrainResult",
    "TrainingRun",
    "iter_training",
    "train",
    "running_mean",
    "PolicySnapshot",
    "EpisodeRollout",
    "random_policy",
    "rollout_episode",
    "save_policy",
    "load_policy",
    "policy_to_bytes",
    "policy_from_bytes",
    "main",
    "BaselineBias",
    "measure_baseline_bias",
]

OBS_SIZE = 4
NUM_ACTIONS = 2
MAX_EPISODE_STEPS = 500  # CartPole-v1's time limit
EVAL_STREAM = 0x5E1F  # tags the seed stream of solve checks (apart from training's)

Array = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------


class MLP(nn.Module):
    """One hidden layer: ``layer2(act(layer1(x)))``; parameters created empty, then
    initialised from a private generator so the global torch RNG is never used."""

    def __init__(self, hidden_size: int, outputs: int, activation: str) -> None:
        super().__init__()
        self.layer1 = nn.Linear(OBS_SIZE, hidden_size, device="meta")
        self.layer2 = nn.Linear(hidden_size, outputs, device="meta")
        self.layer1 = self.layer1.to_empty(device="cpu")
        self.layer2 = self.layer2.to_empty(device="cpu")
        self.act = nn.ReLU() if activation == "relu" else nn.Tanh()

    def initialise(self, generator: torch.Generator, orthogonal: bool, output_gain: float) -> None:
        with torch.no_grad():
            for layer, gain in ((self.layer1, math.sqrt(2.0)), (self.layer2, output_gain)):
                if orthogonal:
                    nn.init.orthogonal_(layer.weight, gain=gain, generator=generator)
                    layer.bias.zero_()
                else:  # torch's nn.Linear default: U(−1/√fan_in, 1/√fan_in)
                    bound = 1.0 / math.sqrt(layer.in_features)
                    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(self.act(self.layer1(x)))


def _snapshot(policy: MLP, config: TrainConfig) -> PolicySnapshot:
    weights = {name: t.detach().cpu().numpy().astype(np.float32).copy() for name, t in policy.state_dict().items()}
    return PolicySnapshot(weights, config.hidden_size, config.activation, config.algo)


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# The training run
# ---------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """A padded batch of T steps × N envs; obs has one extra row (the next observations)."""

    obs: npt.NDArray[np.float32]  # (T + 1, N, 4)
    actions: npt.NDArray[np.int64]  # (T, N)
    rewards: Array  # (T, N)
    terminated: npt.NDArray[np.bool_]  # (T, N)
    truncated: npt.NDArray[np.bool_]  # (T, N)
    valid: npt.NDArray[np.bool_]  # (T, N)


class _Buffers:
    """Preallocated (T_max, N) arrays filled one env step at a time."""

    def __init__(self, max_steps: int, num_envs: int) -> None:
        self.obs = np.empty((max_steps + 1, num_envs, OBS_SIZE), dtype=np.float32)
        self.actions = np.empty((max_steps, num_envs), dtype=np.int64)
        self.rewards = np.empty((max_steps, num_envs), dtype=np.float64)
        self.terminated = np.empty((max_steps, num_envs), dtype=np.bool_)
        self.truncated = np.empty((max_steps, num_envs), dtype=np.bool_)
        self.valid = np.empty((max_steps, num_envs), dtype=np.bool_)

    def store(
        self,
        t: int,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        self.obs[t + 1] = next_obs
        self.actions[t] = action
        self.rewards[t] = reward
        self.terminated[t] = terminated
        self.truncated[t] = truncated
        self.valid[t] = valid

    def batch(self, steps: int) -> _Batch:
        return _Batch(
            self.obs[: steps + 1],
            self.actions[:steps],
            self.rewards[:steps],
            self.terminated[:steps],
            self.truncated[:steps],
            self.valid[:steps],
        )


class TrainingRun:
    """Iterate to train: each ``next()`` does one update and returns its :class:`UpdateRecord`.

    Stop early by simply not iterating further (``break``); :meth:`result` then reports the
    run so far with ``stop_reason == "cancelled"``. Not thread-safe; one run per object.
    """

    def __init__(self, config: TrainConfig) -> None:
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
        self.config = config
        seeds = np.random.SeedSequence(config.seed).generate_state(3)
        self._env_seed, action_seed, torch_seed = (int(s) for s in seeds)
        self._rng = np.random.default_rng(action_seed)
        generator = torch.Generator().manual_seed(torch_seed)
        self.policy = MLP(config.hidden_size, NUM_ACTIONS, config.activation)
        self.policy.initialise(generator, config.orthogonal_init, output_gain=0.01)
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.policy_lr)
        self.value: MLP | None = None
        if config.uses_critic:
            self.value = MLP(config.hidden_size, 1, config.activation)
            self.value.initialise(generator, config.orthogonal_init, output_gain=1.0)
            self.value_optimizer = torch.optim.Adam(self.value.parameters(), lr=config.value_lr)
        self.env_steps = 0
        self.updates = 0
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.episode_end_steps: list[int] = []
        self._window: deque[float] = deque(maxlen=SOLVE_WINDOW)
        self.steps_to_solve: int | None = None
        self.window_solved_at: int | None = None
        self.evaluations = 0
        self.eval_mean_return: float | None = None
        self.eval_env_steps = 0
        self._episodes_at_last_check = -SOLVE_WINDOW
        # Checks use their own streams, so a check never changes the training that follows.
        eval_seeds = np.random.SeedSequence([config.seed, EVAL_STREAM]).generate_state(2)
        self._eval_env_seed = int(eval_seeds[0]) % 2**31
        self._eval_rng = np.random.default_rng(int(eval_seeds[1]))
        self.stop_reason = "cancelled"
        self._started = time.perf_counter()
        self._finished_at: float | None = None
        self._generator = self._run()

    # -- iteration ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[UpdateRecord]:
        return self

    def __next__(self) -> UpdateRecord:
        return next(self._generator)

    def close(self) -> None:
        """Release the environment (also done automatically at the end of iteration)."""
        self._generator.close()

    @property
    def solved(self) -> bool:
        return self.steps_to_solve is not None

    def result(self) -> TrainResult:
        """The run so far as a :class:`TrainResult` (call any time; typically at the end)."""
        end = self._finished_at if self._finished_at is not None else time.perf_counter()
        value_weights = None
        if self.value is not None:
            value_weights = {
                k: v.detach().numpy().astype(np.float32).copy() for k, v in self.value.state_dict().items()
            }
        return TrainResult(
            config=self.config,
            episode_returns=np.array(self.episode_returns, dtype=np.float64),
            episode_lengths=np.array(self.episode_lengths, dtype=np.int64),
            episode_end_steps=np.array(self.episode_end_steps, dtype=np.int64),
            env_steps=self.env_steps,
            updates=self.updates,
            solved=self.solved,
            steps_to_solve=self.steps_to_solve,
            wall_seconds=end - self._started,
            stop_reason=self.stop_reason,
            policy=_snapshot(self.policy, self.config),
            value_weights=value_weights,
            window_solved_at=self.window_solved_at,
            evaluations=self.evaluations,
            eval_mean_return=self.eval_mean_return,
            eval_env_steps=self.eval_env_steps,
        )

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> Generator[UpdateRecord, None, None]:
        import gymnasium as gym

        torch.set_num_threads(1)
        cfg = self.config
        env = gym.make_vec("CartPole-v1", num_envs=cfg.num_envs, vectorization_mode="vector_entry_point")
        self._started = time.perf_counter()
        try:
            obs, _ = env.reset(seed=self._env_seed)
            needs_reset_step = np.zeros(cfg.num_envs, dtype=np.bool_)  # NEXT_STEP autoreset
            episode_return = np.zeros(cfg.num_envs)
            episode_length = np.zeros(cfg.num_envs, dtype=np.int64)
            while True:
                if self.solved and cfg.stop_when_solved:
                    self.stop_reason = "solved"
                    break
                if self.env_steps >= cfg.max_env_steps:
                    self.stop_reason = "max_env_steps"
                    break
                if cfg.max_wall_seconds and time.perf_counter() - self._started >= cfg.max_wall_seconds:
                    self.stop_reason = "max_wall_seconds"
                    break
                tic = time.perf_counter()
                steps_before = self.env_steps
                first_new = len(self.episode_returns)
                if cfg.algo == "actor_critic":
                    batch, obs, needs_reset_step = self._collect_rollout(
                        env, obs, needs_reset_step, episode_return, episode_length
                    )
                else:
                    if self.updates > 0:
                        obs, _ = env.reset()
                    batch = self._collect_episodes(env, obs)
                stats = self._update(batch)
                self.updates += 1
                if self._check_due():
                    self._check_solved()
                now = time.perf_counter()
                yield UpdateRecord(
                    update=self.updates,
                    env_steps=self.env_steps,
                    episode_returns=np.array(self.episode_returns[first_new:], dtype=np.float64),
                    episode_lengths=np.array(self.episode_lengths[first_new:], dtype=np.int64),
                    episode_end_steps=np.array(self.episode_end_steps[first_new:], dtype=np.int64),
                    avg_return=float(np.mean(self._window)) if self._window else float("nan"),
                    batch_steps=int(batch.valid.sum()),
                    steps_per_second=(self.env_steps - steps_before) / max(now - tic, 1e-9),
                    wall_seconds=now - self._started,
                    solved=self.solved,
                    steps_to_solve=self.steps_to_solve,
                    window_solved_at=self.window_solved_at,
                    eval_mean_return=self.eval_mean_return,
                    **stats,
                )
        finally:
            self._finished_at = time.perf_counter()
            env.close()

    def _record_episode(self, total: float, length: int, end_step: int) -> None:
        self.episode_returns.append(float(total))
        self.episode_lengths.append(int(length))
        self.episode_end_steps.append(int(end_step))
        self._window.append(float(total))
        if self.window_solved_at is None and self._window_says_solved():
            self.window_solved_at = int(end_step)

    def _window_says_solved(self) -> bool:
        return len(self._window) == SOLVE_WINDOW and sum(self._window) / SOLVE_WINDOW >= SOLVE_THRESHOLD

    def _check_due(self) -> bool:
        """A check runs when the window says solved and 20 episodes have finished since the last one."""
        return (
            not self.solved
            and self._window_says_solved()
            and len(self.episode_returns) - self._episodes_at_last_check >= SOLVE_WINDOW
        )

    def _check_solved(self) -> None:
        """Play EVAL_EPISODES fresh episodes with the current policy, sampling as in training;
        solved if their mean return is ≥ SOLVE_THRESHOLD."""
        import gymnasium as gym

        self.evaluations += 1
        self._episodes_at_last_check = len(self.episode_returns)
        env = gym.make_vec("CartPole-v1", num_envs=EVAL_EPISODES, vectorization_mode="vector_entry_point")
        try:
            obs, _ = env.reset(seed=self._eval_env_seed + self.evaluations)
            totals = np.zeros(EVAL_EPISODES)
            running = np.ones(EVAL_EPISODES, dtype=np.bool_)
            while running.any():
                action = self._act(obs, self._eval_rng)
                obs, reward, terminated, truncated, _ = env.step(action)
                totals += reward * running
                self.eval_env_steps += int(running.sum())
                running &= ~(terminated | truncated)
        finally:
            env.close()
        self.eval_mean_return = float(totals.mean())
        if self.eval_mean_return >= SOLVE_THRESHOLD:
            self.steps_to_solve = self.env_steps

    @torch.inference_mode()
    def _act(self, obs: npt.NDArray[np.float32], rng: np.random.Generator | None = None) -> npt.NDArray[np.int64]:
        """Sample a ~ π(· | s) for a batch of observations ``(N, 4)`` → actions ``(N,)``.

        The forward pass is written with raw ops (this runs once per env step, and module
        call overhead would be a third of it). With two actions,
        π(right | s) = σ(z_right − z_left), so a ~ π ⇔ u · (1 + e^{−(z_right − z_left)}) < 1
        for u ~ U(0, 1) from the run's numpy generator.
        """
        layer1, layer2 = self.policy.layer1, self.policy.layer2
        hidden = torch.addmm(layer1.bias, torch.from_numpy(obs), layer1.weight.t())
        hidden = hidden.relu_() if self.config.activation == "relu" else hidden.tanh_()
        logits = torch.addmm(layer2.bias, hidden, layer2.weight.t()).numpy()
        preference = logits[:, 1] - logits[:, 0]
        u = (self._rng if rng is None else rng).random(preference.shape[0])
        with np.errstate(over="ignore"):  # exp overflow → inf → "left", which is right
            return (u * (1.0 + np.exp(-preference)) < 1.0).astype(np.int64)

    def _collect_episodes(self, env: Any, obs: npt.NDArray[np.float32]) -> _Batch:
        """One complete episode per environment, all starting from a fresh reset."""
        n = self.config.num_envs
        buffers = _Buffers(MAX_EPISODE_STEPS, n)
        active = np.ones(n, dtype=np.bool_)
        buffers.obs[0] = obs
        t = 0
        while active.any():
            action = self._act(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            buffers.store(t, obs, action, reward, terminated, truncated, active)
            active &= ~(terminated | truncated)
            t += 1
        batch = buffers.batch(t)
        lengths = batch.valid.sum(axis=0)
        # An episode ending at step L_n is stamped with the steps every env had taken by then.
        for env_index in np.lexsort((np.arange(n), lengths)):
            length = int(lengths[env_index])
            stamp = self.env_steps + int(np.minimum(lengths, length).sum())
            total = float(batch.rewards[:length, env_index].sum())
            self._record_episode(total, length, stamp)
        self.env_steps += int(lengths.sum())
        return batch

    def _collect_rollout(
        self,
        env: Any,
        obs: npt.NDArray[np.float32],
        needs_reset_step: npt.NDArray[np.bool_],
        episode_return: Array,
        episode_length: npt.NDArray[np.int64],
    ) -> tuple[_Batch, npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """``rollout_steps`` steps of every environment, continuing across updates.

        ``needs_reset_step[n]``: env n ended an episode on its last step, so its next step
        is gymnasium's NEXT_STEP autoreset (action ignored, reset obs, reward 0): invalid.
        ``episode_return`` / ``episode_length`` carry the unfinished episodes' tallies.
        """
        steps = self.config.rollout_steps
        buffers = _Buffers(steps, self.config.num_envs)
        buffers.obs[0] = obs
        for t in range(steps):
            action = self._act(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            is_valid = ~needs_reset_step
            buffers.store(t, obs, action, reward, terminated, truncated, is_valid)
            self.env_steps += int(is_valid.sum())
            episode_return += reward  # the reset step pays 0
            episode_length += is_valid
            needs_reset_step = terminated | truncated
            if needs_reset_step.any():
                for env_index in np.flatnonzero(needs_reset_step):
                    self._record_episode(episode_return[env_index], episode_length[env_index], self.env_steps)
                episode_return[needs_reset_step] = 0.0
                episode_length[needs_reset_step] = 0
        return buffers.batch(steps), obs, needs_reset_step

    # -- the update --------------------------------------------------------------------

    def _weights(self, batch: _Batch, values: Array | None) -> tuple[Array, Array]:
        """Ψ_t for every step of the batch, and the value targets, shapes ``(T, N)`` each.

        * reinforce: Ψ_t = G_t, the discounted reward-to-go (no baseline);
        * reinforce_baseline: G_t − mean of the same episode's G (the articles' baseline);
        * reinforce_value: G_t − V_φ(s_t);
        * actor_critic: the GAE(γ, λ) advantage, or the n-step target − V_φ(s_t).
        Value targets are G_t (REINFORCE family) or Ψ_t + V_φ(s_t) (actor_critic). Entries
        at invalid steps are meaningless. ``values``: V_φ(s_0) … V_φ(s_T), shape ``(T + 1, N)``.
        """
        cfg = self.config
        if cfg.algo == "actor_critic":
            assert values is not None
            if cfg.advantage_estimator == "gae":
                advantages = gae_advantages(
                    batch.rewards, values, batch.terminated, batch.truncated, cfg.gamma, cfg.gae_lambda
                )
            else:
                targets = n_step_targets(
                    batch.rewards, values, batch.terminated, batch.truncated, cfg.gamma, cfg.n_steps
                )
                advantages = targets - values[:-1]
            return advantages, advantages + values[:-1]
        returns = padded_reward_to_go(batch.rewards, batch.terminated, batch.truncated, cfg.gamma, values=values)
        if cfg.algo == "reinforce":
            return returns, returns
        if cfg.algo == "reinforce_baseline":
            return returns - episode_mean_baseline(returns, batch.valid), returns
        assert values is not None
        return returns - values[:-1], returns

    def _update(self, batch: _Batch) -> dict[str, Any]:
        cfg = self.config
        steps, n = batch.actions.shape
        valid = batch.valid
        obs = torch.from_numpy(batch.obs.reshape(-1, OBS_SIZE))  # ((T + 1)·N, 4)

        value_loss_t = None
        values = None
        if self.value is not None:
            predicted = self.value(obs).reshape(steps + 1, n)  # V(s_0) … V(s_T), with grad
            values = predicted.detach().numpy().astype(np.float64)

        weights, value_targets = self._weights(batch, values)

        raw = weights[valid]
        weight_mean, weight_variance = float(raw.mean()), float(raw.var())
        if cfg.normalize_returns:
            weights = normalize(weights, valid)

        mask = torch.from_numpy(valid.reshape(-1))
        step_obs = obs.reshape(steps + 1, n, OBS_SIZE)[:-1].reshape(-1, OBS_SIZE)[mask]
        step_actions = torch.from_numpy(batch.actions.reshape(-1))[mask]
        step_weights = torch.from_numpy(weights.reshape(-1)[valid.reshape(-1)]).float()

        # One batched pass recomputes log π(a_t | s_t) for every valid step.
        log_probs_all = torch.log_softmax(self.policy(step_obs), dim=-1)
        log_probs = log_probs_all.gather(1, step_actions[:, None]).squeeze(1)
        entropy = -(log_probs_all.exp() * log_probs_all).sum(dim=-1).mean()
        policy_loss = -(step_weights * log_probs).mean() - cfg.entropy_coef * entropy
        self.policy_optimizer.zero_grad(set_to_none=True)
        policy_loss.backward()
        grad_norm = _grad_norm(self.policy)
        if cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
        self.policy_optimizer.step()

        if self.value is not None:
            v_now = predicted[:-1].reshape(-1)[mask]
            target = torch.from_numpy(value_targets.reshape(-1)[valid.reshape(-1)]).float()
            value_loss_t = ((v_now - target) ** 2).mean()
            self.value_optimizer.zero_grad(set_to_none=True)
            value_loss_t.backward()
            if cfg.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(self.value.parameters(), cfg.max_grad_norm)
            self.value_optimizer.step()

        grad_variance = None
        if cfg.measure_grad_variance:
            grad_variance = _per_step_grad_variance(self.policy, step_obs, step_actions, step_weights)

        return {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": None if value_loss_t is None else float(value_loss_t.detach()),
            "entropy": float(entropy.detach()),
            "weight_mean": weight_mean,
            "weight_variance": weight_variance,
            "grad_norm": grad_norm,
            "grad_variance": grad_variance,
        }


def _grad_norm(module: nn.Module) -> float:
    squares = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def _per_step_grad_variance(policy: MLP, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> float:
    """(1/B) Σ_t ‖g_t − ḡ‖² for g_t = −Ψ_t ∇_θ log π(a_t | s_t), with per-step gradients
    from ``torch.func`` (vmap over the batch; the network is tiny so this is cheap)."""
    from torch.func import functional_call, grad, vmap

    params = {name: p.detach() for name, p in policy.named_parameters()}
    one_hot = torch.nn.functional.one_hot(actions, NUM_ACTIONS).float()

    def step_loss(p: dict[str, torch.Tensor], s: torch.Tensor, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        log_probs = torch.log_softmax(functional_call(policy, p, (s[None],)), dim=-1)[0]
        return -w * (log_probs * a).sum()

    per_step = vmap(grad(step_loss), in_dims=(None, 0, 0, 0))(params, obs, one_hot, weights)
    flat = torch.cat([g.reshape(g.shape[0], -1) for g in per_step.values()], dim=1)
    return float(((flat - flat.mean(dim=0)) ** 2).sum(dim=1).mean())


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
    from torch.func import functional_call, grad, vmap

    if not isinstance(episodes, int) or not 100 <= episodes <= 100_000:
        raise ValueError(f"episodes must be a whole number from 100 to 100000, got {episodes!r}")
    run = TrainingRun(dataclasses.replace(config, num_envs=100))  # the same initial weights: they depend on the seed
    policy = run.policy
    params = {name: p.detach() for name, p in policy.named_parameters()}

    def log_pi(p: dict[str, torch.Tensor], s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return (torch.log_softmax(functional_call(policy, p, (s[None],)), dim=-1)[0] * a).sum()  # a: one-hot

    score = vmap(grad(log_pi), in_dims=(None, 0, 0))  # ∇_θ log π(a_t|s_t), one row per step
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
            one_hot = torch.nn.functional.one_hot(torch.from_numpy(batch.actions[t_idx, n_idx]), NUM_ACTIONS).float()
            grads = score(params, torch.from_numpy(batch.obs[t_idx, n_idx]), one_hot)
            flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1).double().numpy()
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


def iter_training(config: TrainConfig) -> TrainingRun:
    """Start a run you drive by iterating: one :class:`UpdateRecord` per update.

    Nothing runs until the first ``next()``. Stop by breaking out of the loop; afterwards
    ``run.result()`` is the :class:`TrainResult` so far.
    """
    return TrainingRun(config)


def train(
    config: TrainConfig,
    callback: Callable[[UpdateRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train to the end of the budget (or to solve) and return the :class:`TrainResult`.

    Args:
        config: the run.
        callback: called with each :class:`UpdateRecord` right after its update.
        should_stop: polled between updates; returning True cancels the run
            (``stop_reason == "cancelled"``).
    """
    run = TrainingRun(config)
    for record in run:
        if callback is not None:
            callback(record)
        if should_stop is not None and should_stop():
            run.close()
            break
    return run.result()


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def _positive_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _non_negative_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 for bad arguments, via argparse)."""
    parser = argparse.ArgumentParser(
        prog="python -m pgcore.cartpole",
        description="Train a policy-gradient agent on CartPole-v1; the last line printed is a JSON summary.",
    )
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--seed", type=_non_negative_int_arg, default=0)
    parser.add_argument("--max-steps", type=_positive_int_arg, default=200_000, help="env-step budget")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="fast")
    parser.add_argument("--max-seconds", type=float, default=0.0, help="wall-clock budget; 0 = none")
    parser.add_argument("--no-stop", action="store_true", help="keep training after solving")
    parser.add_argument("--save", metavar="PATH", help="write the trained policy (.safetensors)")
    parser.add_argument("--quiet", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    try:
        config = preset_config(
            args.preset,
            args.algo,
            args.seed,
            max_env_steps=args.max_steps,
            max_wall_seconds=args.max_seconds,
            stop_when_solved=not args.no_stop,
        )
    except ValueError as err:
        parser.error(str(err))

    last_print = -math.inf

    def progress(record: UpdateRecord) -> None:
        nonlocal last_print
        if args.quiet or record.wall_seconds - last_print < 0.5:
            return
        last_print = record.wall_seconds
        print(
            f"update {record.update:5d}  steps {record.env_steps:8d}  "
            f"avg20 {record.avg_return:6.1f}  entropy {record.entropy:.3f}  "
            f"{record.steps_per_second:8.0f} steps/s",
            flush=True,
        )

    result = train(config, callback=progress)
    if args.save:
        save_policy(result.policy, args.save)
    print(json.dumps(result.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
