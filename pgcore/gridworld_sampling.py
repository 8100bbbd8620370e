"""Sampled episodes on the GridWorld: ``sample_episodes`` draws a batch of n episodes under
π_θ, all at once (one numpy step per time step t), and returns them as :class:`GridEpisodes`,
(n, T) arrays padded after each episode's end, with their returns and rewards-to-go.

Everything exact about the same world and policy (J, V, Q, ∇J, visitation, one trajectory's
probability) is in :mod:`pgcore.gridworld`; the sampler is checked against it (the mean return
within 4 standard errors of J, the visits per cell against the exact visitation).

Example:
    >>> env = GridWorld()
    >>> episodes = sample_episodes(env, env.greedy_theta(1e4), 3, np.random.default_rng(0))
    >>> episodes.lengths.tolist(), episodes.returns.tolist()  # 7 steps at −10, then +1
    ([8, 8, 8], [-69.0, -69.0, -69.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgcore._checks import generator, instance, positive_int, whole_number
from pgcore.gridworld import GridWorld

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "GridEpisodes",
    "sample_episodes",
]

#: Upper bound on n · max_steps for one call to the sampler (~4 arrays of this many entries).
MAX_SAMPLED_ENTRIES = 20_000_000


def sample_episodes(
    env: GridWorld,
    theta: npt.ArrayLike,
    n: int,
    rng: np.random.Generator,
    starts: npt.ArrayLike | None = None,
) -> GridEpisodes:
    """Sample n independent episodes under π_θ, all at once: one numpy step per time step t.

    Each step draws u ~ U[0, 1) per running episode and picks the action whose cumulative
    probability interval holds u; episodes that reach the goal drop out of the batch.

    Args:
        theta: logits, shape (S, 4).
        n: number of episodes, 1 … MAX_SAMPLED_ENTRIES / max_steps.
        rng: a ``numpy.random.Generator``; the same seed gives the same episodes.
        starts: start cell of each episode, shape (n,), none of them the goal; default (0, 0).

    Returns:
        :class:`GridEpisodes` with (n, T) arrays padded after each episode's end.
    """
    env = instance("env", env, GridWorld)
    pi = env.policy(theta)
    n = positive_int("n", n, maximum=MAX_SAMPLED_ENTRIES // env.max_steps)
    rng = generator(rng)
    if starts is None:
        first = np.full(n, env.start, dtype=np.int64)
    else:
        first = env.check_starts(starts)
        if first.shape != (n,):
            raise ValueError(f"starts must have shape ({n},), got {first.shape}")
    T = env.max_steps
    cdf = np.cumsum(pi, axis=1)
    cdf = cdf[:, :-1] / cdf[:, -1:]  # an action of probability 0 can never be drawn
    states = np.zeros((T, n), dtype=np.int64)
    actions = np.zeros((T, n), dtype=np.int64)
    rewards = np.zeros((T, n))
    lengths = np.full(n, T, dtype=np.int64)
    final = np.empty(n, dtype=np.int64)
    running = np.arange(n)
    s = first.copy()
    for t in range(T):
        u = rng.random(running.size)
        a = (u[:, None] >= cdf[s]).sum(axis=1)
        nxt = env.next_state[s, a]
        states[t, running] = s
        actions[t, running] = a
        rewards[t, running] = env.reward[s, a]
        done = nxt == env.goal
        if done.any():
            ended = running[done]
            lengths[ended] = t + 1
            final[ended] = env.goal
            keep = ~done
            running, s = running[keep], nxt[keep]
        else:
            s = nxt
        if running.size == 0:
            break
    final[running] = s
    terminated = final == env.goal  # the goal on the very last action too: a termination, not a cut
    return GridEpisodes(
        states=np.ascontiguousarray(states.T),
        actions=np.ascontiguousarray(actions.T),
        rewards=np.ascontiguousarray(rewards.T),
        lengths=lengths,
        terminated=terminated,
        truncated=~terminated,
        starts=first,
        final_states=final,
        gamma=env.gamma,
    )


@dataclass(frozen=True)
class GridEpisodes:
    """A batch of n sampled episodes, padded to T = max_steps steps.

    Fields:
        states: (n, T) int, s_t (the cell the action at t was taken in); 0 after the end.
        actions: (n, T) int, a_t ∈ {0 up, 1 right, 2 down, 3 left}; 0 after the end.
        rewards: (n, T) float, r_t; 0 after the end.
        lengths: (n,) int, the number of actions taken, 1 … T.
        terminated: (n,) bool, reached the goal; truncated: (n,) bool, cut at T actions.
        starts: (n,) int, s_0; final_states: (n,) int, the cell after the last action.
        gamma: the discount used by ``returns`` and ``reward_to_go``.
    """

    states: IntArray
    actions: IntArray
    rewards: Array
    lengths: IntArray
    terminated: BoolArray
    truncated: BoolArray
    starts: IntArray
    final_states: IntArray
    gamma: float

    @property
    def n(self) -> int:
        return int(self.lengths.size)

    @property
    def valid(self) -> BoolArray:
        """(n, T) bool: t < length, the steps that happened."""
        return np.arange(self.states.shape[1])[None, :] < self.lengths[:, None]

    @property
    def env_steps(self) -> int:
        """Σ lengths: the environment steps this batch cost."""
        return int(self.lengths.sum())

    @property
    def discounts(self) -> Array:
        """(T,) γᵗ."""
        return self.gamma ** np.arange(self.states.shape[1], dtype=np.float64)

    @property
    def returns(self) -> Array:
        """(n,) G = Σ_t γᵗ r_t."""
        return np.asarray(self.rewards @ self.discounts, dtype=np.float64)

    @property
    def reward_to_go(self) -> Array:
        """(n, T) G_t = Σ_{k≥t} γ^{k−t} r_k (0 after the end)."""
        out = np.zeros_like(self.rewards)
        running = np.zeros(self.n)
        for t in range(self.rewards.shape[1] - 1, -1, -1):
            running = self.rewards[:, t] + self.gamma * running
            out[:, t] = running
        return out

    def path(self, i: int) -> tuple[IntArray, IntArray, Array]:
        """Episode i as (states s_0 … s_L shape (L+1,), actions (L,), rewards (L,))."""
        i = whole_number("i", i, 0, self.n - 1)
        L = int(self.lengths[i])
        states = np.append(self.states[i, :L], self.final_states[i])
        return states, self.actions[i, :L].copy(), self.rewards[i, :L].copy()
