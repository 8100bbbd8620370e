"""Policy-gradient training on CartPole-v1: REINFORCE, REINFORCE with the articles'
episode-mean baseline, REINFORCE with a learned value baseline, and advantage
actor-critic (n-step or GAE(λ) targets). This module is the loop (collect a batch, update,
report, check for a solve); the network, Ψ_t and the losses are :mod:`pgcore.cartpole.core`.

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
scaled to mean 0, std 1 over the batch. One Adam step per batch for each network, or
``update_epochs`` of them: the passes after the first use PPO's clipped surrogate
(:func:`pgcore.cartpole.core.clipped_policy_loss`; the fast preset's actor_critic takes 10).
``lr_decay_steps`` > 0 lowers both rates linearly with the env steps taken.

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

**Solved** (the rule: :mod:`pgcore.cartpole.config`). The mean undiscounted return of the last 20
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
environment, the numpy action sampler and a generator for the weight initialisation; the
global RNGs are never touched. Actions are sampled by :mod:`pgcore.cartpole.acting` (a
forward pass over views of the policy's parameters and logistic noise from the run's
generator); log-probabilities are recomputed in one batched pass at update time. Everything
is numpy in float64 (:mod:`pgcore.cartpole.core`: no torch). Same config on the same machine
→ identical episode returns, except when a run is cut by ``max_wall_seconds`` (a BLAS
built for another CPU may round differently, and a run is chaotic enough to show it).

Progress API (what a page needs):

    >>> from pgcore.cartpole.config import preset_config
    >>> run = iter_training(preset_config("fast", "reinforce_value", seed=0, max_env_steps=2000))
    >>> for record in run:           # one UpdateRecord per update; `break` cancels
    ...     pass
    >>> result = run.result()        # TrainResult (also valid after a `break`)
    >>> result.env_steps >= 2000
    True

or ``train(config, callback=..., should_stop=...)`` for the same loop in one call.
The command line is ``python -m pgcore.cartpole`` (:mod:`pgcore.cartpole.__main__`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore.cartpole.acting import Actor
from pgcore.cartpole.config import (
    EVAL_EPISODES,
    NUM_ACTIONS,
    OBS_SIZE,
    SOLVE_THRESHOLD,
    SOLVE_WINDOW,
    TrainConfig,
    check_passed,
    window_solved,
)
from pgcore.cartpole.core import (
    MLP,
    Adam,
    Batch,
    clip_grad_norm,
    clipped_policy_loss,
    log_softmax,
    per_step_grad_variance,
    policy_loss,
    snapshot,
    value_loss,
    weights,
)
from pgcore.cartpole.records import TrainResult, UpdateRecord
from pgcore.returns import normalize

__all__ = ["TrainingRun", "iter_training", "train"]

EVAL_STREAM = 0x5E1F  # tags the seed stream of solve checks (apart from training's)

Array = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# The training run
# ---------------------------------------------------------------------------------------


def _could_solve(returns: list[float]) -> bool:
    """False only when no window of these returns can average ≥ SOLVE_THRESHOLD: all of them
    are below it by more than rounding could make up (a sum of 20 returns ≤ 500 errs by
    < 1e-10, the margin here is ~1e-5). Lets the tally skip the per-episode window check."""
    return bool(returns) and max(returns) >= SOLVE_THRESHOLD * (1 - 1e-9)


def _rows(arrays: list[np.ndarray]) -> np.ndarray:
    """Same-shape per-step arrays ``(N, …)`` → one ``(T, N, …)`` array (``np.stack``'s result,
    through ``np.concatenate``, which skips stack's per-array reshaping: ~3× faster here)."""
    return np.concatenate(arrays).reshape(len(arrays), *arrays[0].shape)


def _stack_batch(
    observations: list[npt.NDArray[np.float32]],
    actions: npt.NDArray[np.int64],
    rewards: list[np.ndarray],
    terminated: npt.NDArray[np.bool_],
    truncated: npt.NDArray[np.bool_],
    valid: npt.NDArray[np.bool_],
) -> Batch:
    """The per-step arrays the env returned (each a fresh array), stacked into a (T, N) :class:`Batch`.

    Collecting references and stacking once costs less than copying each step into
    preallocated arrays; the vector env returns new arrays every step, so nothing aliases."""
    return Batch(_rows(observations), actions, _rows(rewards).astype(np.float64), terminated, truncated, valid)


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
        self._env_seed, action_seed, init_seed = (int(s) for s in seeds)
        self._rng = np.random.default_rng(action_seed)
        init_rng = np.random.default_rng(init_seed)
        self.policy = MLP(config.hidden_size, NUM_ACTIONS, config.activation)
        self.policy.initialise(init_rng, config.orthogonal_init, output_gain=0.01)
        self.policy_optimizer = Adam(self.policy.params, lr=config.policy_lr)
        # views of θ for acting: the optimizer updates the parameters in place
        p = self.policy
        self._actor = Actor((p.w1, p.b1, p.w2, p.b2), config.activation)
        self.value: MLP | None = None
        if config.uses_critic:
            self.value = MLP(config.hidden_size, 1, config.activation)
            self.value.initialise(init_rng, config.orthogonal_init, output_gain=1.0)
            self.value_optimizer = Adam(self.value.params, lr=config.value_lr)
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
        value_weights = None if self.value is None else self.value.state_dict()
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
            policy=snapshot(self.policy, self.config),
            value_weights=value_weights,
            window_solved_at=self.window_solved_at,
            evaluations=self.evaluations,
            eval_mean_return=self.eval_mean_return,
            eval_env_steps=self.eval_env_steps,
        )

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> Generator[UpdateRecord, None, None]:
        import gymnasium as gym

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

    def _record_episodes(self, totals: list[float], lengths: list[int], end_steps: list[int]) -> None:
        """Record finished episodes, in the order they finished, and the env step at which the
        last SOLVE_WINDOW returns first average ≥ SOLVE_THRESHOLD (``window_solved_at``)."""
        self.episode_returns += totals
        self.episode_lengths += lengths
        self.episode_end_steps += end_steps
        if self.window_solved_at is not None or not _could_solve(list(self._window) + totals):
            self._window.extend(totals)
            return
        for total, end_step in zip(totals, end_steps):  # rare: some return is near the threshold
            self._window.append(total)
            if self.window_solved_at is None and window_solved(self._window, validate=False):
                self.window_solved_at = end_step

    def _check_due(self) -> bool:
        """A check runs when the window says solved and 20 episodes have finished since the last one."""
        return (
            not self.solved
            and window_solved(self._window)
            and len(self.episode_returns) - self._episodes_at_last_check >= SOLVE_WINDOW
        )

    def _check_solved(self) -> None:
        """Play EVAL_EPISODES fresh episodes with the current policy, sampling as in training;
        solved if they pass :func:`pgcore.cartpole.config.check_passed`."""
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
        if check_passed(self.eval_mean_return):
            self.steps_to_solve = self.env_steps

    def _act(self, obs: npt.NDArray[np.float32], rng: np.random.Generator | None = None) -> npt.NDArray[np.int64]:
        """a ~ π(· | s) for observations ``(N, 4)`` → actions ``(N,)``, with the current θ and one
        uniform per environment from ``rng`` (default: the run's own generator). See
        :mod:`pgcore.cartpole.acting`."""
        return self._actor.act(obs, self._rng if rng is None else rng)

    # -- collecting batches ------------------------------------------------------------

    def _collect_episodes(self, env: Any, obs: npt.NDArray[np.float32]) -> Batch:
        """One complete episode per environment, all starting from a fresh reset."""
        n = self.config.num_envs
        readout = self._actor.readout()
        hidden = self._actor.scratch(n)
        observations, actions, rewards, terminated, truncated, active = [obs], [], [], [], [], []
        running = np.ones(n, dtype=np.bool_)
        while running.any():
            # one draw of n uniforms per step, as _act makes: the same stream, the same episodes
            threshold = self._actor.thresholds(self._rng, n, readout)
            action = (self._actor.logit_gap(obs, readout, hidden) > threshold).astype(np.int64)
            obs, reward, term, trunc, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(reward)
            terminated.append(term)
            truncated.append(trunc)
            active.append(running)
            running = running & ~(term | trunc)
        batch = _stack_batch(observations, _rows(actions), rewards, _rows(terminated), _rows(truncated), _rows(active))
        lengths = batch.valid.sum(axis=0)
        # An episode ending at step L_n is stamped with the steps every env had taken by then.
        totals, episode_lengths, stamps = [], [], []
        for env_index in np.lexsort((np.arange(n), lengths)):
            length = int(lengths[env_index])
            stamps.append(self.env_steps + int(np.minimum(lengths, length).sum()))
            totals.append(float(batch.rewards[:length, env_index].sum()))
            episode_lengths.append(length)
        self._record_episodes(totals, episode_lengths, stamps)
        self.env_steps += int(lengths.sum())
        return batch

    def _collect_rollout(
        self,
        env: Any,
        obs: npt.NDArray[np.float32],
        needs_reset_step: npt.NDArray[np.bool_],
        episode_return: Array,
        episode_length: npt.NDArray[np.int64],
    ) -> tuple[Batch, npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """``rollout_steps`` steps of every environment, continuing across updates.

        ``needs_reset_step[n]``: env n ended an episode on its last step, so its next step
        is gymnasium's NEXT_STEP autoreset (action ignored, reset obs, reward 0): invalid.
        ``episode_return`` / ``episode_length`` carry the unfinished episodes' tallies (updated
        in place).

        The loop does only what needs the policy (act, step, keep the arrays); validity,
        the env-step count and the finished episodes are worked out after it, from the
        stacked arrays, as if tallied step by step.
        """
        steps, n = self.config.rollout_steps, self.config.num_envs
        # All the rollout's noise in one draw: the same uniforms, in the same order, as one
        # draw of n per step (see logistic_noise).
        readout = self._actor.readout()
        thresholds = self._actor.thresholds(self._rng, (steps, n), readout)
        actions = np.empty((steps, n), dtype=np.int64)
        observations, rewards, terminated, truncated = self._actor.step_through(
            env.step, obs, readout, thresholds, actions
        )
        obs = observations[-1]
        ended, cut = _rows(terminated), _rows(truncated)
        done = ended | cut  # (T, N)
        valid = np.empty((steps, n), dtype=np.bool_)
        valid[0] = ~needs_reset_step
        valid[1:] = ~done[:-1]
        batch = _stack_batch(observations, actions, rewards, ended, cut, valid)
        self._tally_rollout(batch, done, episode_return, episode_length)
        return batch, obs, done[-1]

    def _tally_rollout(
        self, batch: Batch, done: npt.NDArray[np.bool_], episode_return: Array, episode_length: npt.NDArray[np.int64]
    ) -> None:
        """Count a rollout's valid steps and record the episodes that ended in it, in the order
        (step, then environment) and with the env-step stamps that a step-by-step tally gives.

        An episode of env n that ends at step t has return = what it carried in (if it began
        before this rollout) + the rewards since env n's previous end, read off running sums."""
        reward_sums = np.cumsum(batch.rewards, axis=0)  # (T, N): Σ rewards up to step t
        valid_sums = np.cumsum(batch.valid, axis=0)  # (T, N): Σ valid steps up to step t
        steps_after = self.env_steps + np.cumsum(batch.valid.sum(axis=1))  # (T,): env steps after step t
        ends_t, ends_n = np.nonzero(done)  # row-major: step order, then env order
        # Sorted by env, then step, each episode's previous end (if it had one in this rollout)
        # is the entry just before it; an env's first end adds what it carried in instead.
        order = np.lexsort((ends_t, ends_n))
        t_o, n_o = ends_t[order], ends_n[order]
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = n_o[1:] != n_o[:-1]
        reward_o, valid_o = reward_sums[t_o, n_o], valid_sums[t_o, n_o]
        before_r, before_v = np.roll(reward_o, 1), np.roll(valid_o, 1)
        before_r[first] = -episode_return[n_o[first]]  # x − (−carried) = carried + x, exactly
        before_v[first] = -episode_length[n_o[first]]
        totals, lengths = np.empty(len(order)), np.empty(len(order), dtype=np.int64)
        totals[order], lengths[order] = reward_o - before_r, valid_o - before_v
        self._record_episodes(totals.tolist(), lengths.tolist(), steps_after[ends_t].tolist())
        # The episodes still running carry over: what they carried in (0 if they ended here) plus
        # the rewards and valid steps since their env's last end.
        last = np.ones(len(order), dtype=np.bool_)
        last[:-1] = first[1:]
        ended = n_o[last]
        since_r, since_v = np.zeros(done.shape[1]), np.zeros(done.shape[1], dtype=np.int64)
        since_r[ended], since_v[ended] = reward_o[last], valid_o[last]
        episode_return[ended], episode_length[ended] = 0.0, 0
        episode_return[...] = episode_return + reward_sums[-1] - since_r
        episode_length[...] = episode_length + valid_sums[-1] - since_v
        self.env_steps = int(steps_after[-1])

    # -- the update --------------------------------------------------------------------

    def _step(self, network: MLP, optimizer: Adam, x: np.ndarray, hidden: Array, d_out: Array) -> float:
        """Backpropagate ``d_out`` through ``network``, clip the gradient to ``max_grad_norm``
        when that is > 0, take one Adam step; return the gradient's norm before clipping."""
        grad = network.backward(x, hidden, d_out)
        max_norm = self.config.max_grad_norm
        norm = clip_grad_norm(grad, max_norm) if max_norm > 0 else float(np.sqrt(grad @ grad))
        optimizer.step(grad)
        return norm

    def _more_epochs(
        self,
        obs: np.ndarray,
        actions: npt.NDArray[np.int64],
        psi: Array,
        old_log_probs: Array,
        targets: Array | None,
    ) -> None:
        """Passes 2 … ``update_epochs`` over one batch: the policy on PPO's clipped surrogate
        (ratios to the policy that collected the batch), V_φ on the same targets."""
        cfg = self.config
        for _ in range(cfg.update_epochs - 1):
            logits, hidden = self.policy.forward(obs)
            _, d_logits = clipped_policy_loss(logits, actions, psi, old_log_probs, cfg.clip_range, cfg.entropy_coef)
            self._step(self.policy, self.policy_optimizer, obs, hidden, d_logits)
            if self.value is not None and targets is not None:  # V_φ's pass k
                values, hidden = self.value.forward(obs)
                _, d_values = value_loss(values[:, 0], targets)
                self._step(self.value, self.value_optimizer, obs, hidden, d_values[:, None])

    def _update(self, batch: Batch) -> dict[str, Any]:
        """One gradient step for each network on ``batch`` (``update_epochs`` of them); returns
        the record's diagnostics."""
        cfg = self.config
        steps, n = batch.actions.shape
        valid = batch.valid.reshape(-1)  # (T·N,)
        obs = batch.obs.reshape(-1, OBS_SIZE)  # ((T + 1)·N, 4)

        values = value_hidden = None
        if self.value is not None:
            predicted, value_hidden = self.value.forward(obs)  # V(s_0) … V(s_T)
            values = predicted.reshape(steps + 1, n)
        psi, value_targets = weights(cfg, batch, values)
        raw = psi[batch.valid]  # before normalization: the variance a baseline should shrink
        if cfg.normalize_returns:
            psi = normalize(psi, batch.valid)

        if cfg.lr_decay_steps:
            fraction = max(0.0, 1.0 - self.env_steps / cfg.lr_decay_steps)
            self.policy_optimizer.lr = cfg.policy_lr * fraction
            if self.value is not None:
                self.value_optimizer.lr = cfg.value_lr * fraction

        step_obs = obs[: steps * n][valid]  # s_t at the B valid steps, (B, 4)
        step_actions = batch.actions.reshape(-1)[valid]  # (B,)
        step_weights = psi.reshape(-1)[valid]  # (B,)
        logits, hidden = self.policy.forward(step_obs)
        old_log_probs = None
        if cfg.update_epochs > 1:  # π_old(a_t | s_t), before this batch's first step
            old_log_probs = log_softmax(logits)[np.arange(len(step_actions)), step_actions]
        loss, entropy, d_logits = policy_loss(logits, step_actions, step_weights, cfg.entropy_coef)
        grad_norm = self._step(self.policy, self.policy_optimizer, step_obs, hidden, d_logits)
        critic_loss, targets = None, None
        if self.value is not None:
            assert values is not None and value_hidden is not None
            targets = value_targets.reshape(-1)[valid]
            critic_loss, d_step_values = value_loss(values[:-1].reshape(-1)[valid], targets)
            d_values = np.zeros((len(obs), 1))  # only the valid steps s_t are in the loss
            d_values[: steps * n][valid, 0] = d_step_values
            self._step(self.value, self.value_optimizer, obs, value_hidden, d_values)
        if old_log_probs is not None:
            self._more_epochs(step_obs, step_actions, step_weights, old_log_probs, targets)

        return {
            "policy_loss": loss,
            "value_loss": critic_loss,
            "entropy": entropy,
            "weight_mean": float(raw.mean()),
            "weight_variance": float(raw.var()),
            "grad_norm": grad_norm,
            "grad_variance": (
                per_step_grad_variance(self.policy, step_obs, step_actions, step_weights)
                if cfg.measure_grad_variance
                else None
            ),
        }


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
