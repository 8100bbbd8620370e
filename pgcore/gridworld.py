"""The size×size GridWorld of the REINFORCE → PPO → GRPO story, with a tabular softmax policy
and every quantity exact: J(θ), V, Q, ∇J, state visitation, the return's mean and spread from
each cell, the optimum and the factors of a trajectory's probability. Sampling episodes from
the policy is :mod:`pgcore.gridworld_sampling`.

The world: cells (row, col), row 0 at the top; the agent starts in (0, 0) and the goal is
(size−1, size−1). Actions 0 up, 1 right, 2 down, 3 left move one cell; a move into the wall
leaves the agent where it is. A step that enters the goal earns ``goal_reward`` and ends the
episode (terminated); every other step earns ``step_reward``. After ``max_steps`` actions an
episode that has not reached the goal is cut (truncated). Cell (row, col) is state
``row · size + col``, so θ has shape (size², 4): one row of logits per cell.

Because the episode is cut after T = ``max_steps`` actions, the value of a cell depends on how
many actions are left: V_k(s) is the expected (discounted) return from s with k actions left,
and J(θ) = V_T(start). Everything exact here is computed by backward induction over k, or by
pushing the start distribution forward over t = 0 … T−1; nothing is sampled.

Example:
    >>> env = GridWorld()
    >>> env.optimal_return()  # 7 steps at −10, then +1 for entering the goal
    -69.0
    >>> theta = env.uniform_theta()
    >>> env.policy(theta)[0].tolist()
    [0.25, 0.25, 0.25, 0.25]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import REWARD_LIMIT, bounded_float, discount, logit_array, whole_number

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "ACTIONS",
    "GridWorld",
    "TrajectoryFactors",
]

#: Action names in index order; ``MOVES[a]`` is the (row, col) change of action a.
ACTIONS = ("up", "right", "down", "left")
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)
N_ACTIONS = 4
MIN_SIZE, MAX_SIZE = 2, 10
#: The longest episode the exact tables and the sampler (``gridworld_sampling``) accept.
MAX_STEPS_LIMIT = 1000


@dataclass(frozen=True)
class GridWorld:
    """The grid, its rewards and episode cap, with the exact math of a tabular softmax policy.

    Args:
        size: cells per side, 2 … 10 (5 in the article: 25 states × 4 actions).
        step_reward: reward of a step that does not enter the goal (−10 in the article).
        goal_reward: reward of the step that enters the goal (+1).
        max_steps: T, the most actions in one episode, 1 … 1000.
        gamma: discount γ in [0, 1]; J = E[Σ_{t<T} γᵗ r_t].

    Derived tables (not arguments): ``next_state`` (S, 4) int, the cell each action leads to;
    ``reward`` (S, 4), the reward of taking a in s. The goal's own rows are never used: the
    episode has ended there.
    """

    size: int = 5
    step_reward: float = -10.0
    goal_reward: float = 1.0
    max_steps: int = 50
    gamma: float = 1.0
    next_state: IntArray = field(init=False, repr=False, compare=False, hash=False)
    reward: Array = field(init=False, repr=False, compare=False, hash=False)
    _transition: Array = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        size = whole_number("size", self.size, MIN_SIZE, MAX_SIZE)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "step_reward", bounded_float("step_reward", self.step_reward, REWARD_LIMIT))
        object.__setattr__(self, "goal_reward", bounded_float("goal_reward", self.goal_reward, REWARD_LIMIT))
        object.__setattr__(self, "max_steps", whole_number("max_steps", self.max_steps, 1, MAX_STEPS_LIMIT))
        object.__setattr__(self, "gamma", discount(self.gamma))
        cells = np.arange(size * size)
        rows, cols = cells // size, cells % size
        new_rows = np.clip(rows[:, None] + MOVES[None, :, 0], 0, size - 1)
        new_cols = np.clip(cols[:, None] + MOVES[None, :, 1], 0, size - 1)
        nxt = (new_rows * size + new_cols).astype(np.int64)
        goal = size * size - 1
        reward = np.where(nxt == goal, self.goal_reward, self.step_reward).astype(np.float64)
        # (S, 4, S) one-hot of the next cell: P(s'|s, a) ∈ {0, 1}
        transition = np.zeros((size * size, N_ACTIONS, size * size))
        transition[cells[:, None], np.arange(N_ACTIONS)[None, :], nxt] = 1.0
        for name, value in (("next_state", nxt), ("reward", reward), ("_transition", transition)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    # -- layout ---------------------------------------------------------------------------

    @property
    def n_states(self) -> int:
        """S = size²."""
        return self.size * self.size

    @property
    def n_actions(self) -> int:
        return N_ACTIONS

    @property
    def start(self) -> int:
        """The start cell (0, 0) as a state index: 0."""
        return 0

    @property
    def goal(self) -> int:
        """The goal cell (size−1, size−1) as a state index: S − 1."""
        return self.n_states - 1

    @property
    def shortest_path_length(self) -> int:
        """L = 2(size − 1): the fewest actions from (0, 0) to the goal."""
        return 2 * (self.size - 1)

    def cell(self, state: int) -> tuple[int, int]:
        """(row, col) of a state index."""
        state = whole_number("state", state, 0, self.n_states - 1)
        return divmod(state, self.size)

    def state_index(self, row: int, col: int) -> int:
        """The state index row · size + col."""
        row = whole_number("row", row, 0, self.size - 1)
        col = whole_number("col", col, 0, self.size - 1)
        return row * self.size + col

    # -- the policy -----------------------------------------------------------------------

    def uniform_theta(self) -> Array:
        """θ = 0, shape (S, 4): π(a|s) = 1/4 everywhere, the article's random policy."""
        return np.zeros((self.n_states, N_ACTIONS))

    def check_theta(self, theta: npt.ArrayLike, name: str = "theta") -> Array:
        """θ as a float64 (S, 4) array of finite logits, else ValueError naming it."""
        array = logit_array(name, theta)
        if array.shape != (self.n_states, N_ACTIONS):
            raise ValueError(f"{name} must have shape ({self.n_states}, {N_ACTIONS}), got {array.shape}")
        return array

    def log_policy(self, theta: npt.ArrayLike) -> Array:
        """log π(a|s) = θ[s, a] − log Σ_b exp θ[s, b], shape (S, 4), stable for any finite logits."""
        t = self.check_theta(theta)
        return _log_softmax_rows(t)

    def policy(self, theta: npt.ArrayLike) -> Array:
        """π(a|s) = exp θ[s, a] / Σ_b exp θ[s, b], shape (S, 4); each row sums to 1."""
        return np.exp(self.log_policy(theta))

    def entropy(self, theta: npt.ArrayLike) -> Array:
        """H(π(·|s)) = −Σ_a π(a|s) log π(a|s) in nats, shape (S,); log 4 ≈ 1.386 for uniform."""
        log_pi = self.log_policy(theta)
        return np.asarray(-(np.exp(log_pi) * log_pi).sum(axis=1), dtype=np.float64)

    def score(self, theta: npt.ArrayLike, state: int, action: int) -> Array:
        """∇_θ log π(a|s) = e_s ⊗ (onehot(a) − π(·|s)), shape (S, 4): only row s is non-zero."""
        pi = self.policy(theta)
        state = whole_number("state", state, 0, self.n_states - 1)
        action = whole_number("action", action, 0, N_ACTIONS - 1)
        grad = np.zeros_like(pi)
        grad[state] = -pi[state]
        grad[state, action] += 1.0
        return grad

    def summed_score(self, theta: npt.ArrayLike, states: npt.ArrayLike, actions: npt.ArrayLike) -> Array:
        """Σ_t ∇_θ log π(a_t|s_t) over the given steps, shape (S, 4).

        Row s is Σ_{t: s_t = s} (onehot(a_t) − π(·|s)) = (count of each action in s) − n_s π(·|s).
        ``states`` and ``actions`` are 1-D of one length (the steps of one or many episodes).
        """
        pi = self.policy(theta)
        s, a = self._steps(states, actions)
        counts = np.bincount(s * N_ACTIONS + a, minlength=self.n_states * N_ACTIONS).reshape(pi.shape)
        visits = counts.sum(axis=1, keepdims=True)
        return np.asarray(counts - visits * pi, dtype=np.float64)

    def _steps(self, states: npt.ArrayLike, actions: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        s = _index_array("states", states, self.n_states - 1)
        a = _index_array("actions", actions, N_ACTIONS - 1)
        if s.ndim != 1 or a.shape != s.shape:
            raise ValueError(f"states and actions must be 1-D of one length, got {s.shape} and {a.shape}")
        return s, a

    # -- exact tables ---------------------------------------------------------------------

    def _backward(self, pi: Array) -> tuple[Array, Array]:
        """W (T+1, S) and Q (T, S, 4) by absolute time t: W[t, s] is the value at time t (T−t
        actions left), Q[t, s, a] = r(s, a) + γ W[t+1, s'(s, a)]; the goal is worth 0."""
        T, S = self.max_steps, self.n_states
        w = np.zeros((T + 1, S))
        q = np.zeros((T, S, N_ACTIONS))
        for t in range(T - 1, -1, -1):
            q[t] = self.reward + self.gamma * w[t + 1][self.next_state]
            q[t, self.goal] = 0.0
            w[t] = (pi * q[t]).sum(axis=1)
        return w, q

    def value_table(self, theta: npt.ArrayLike) -> Array:
        """V_k(s), shape (T+1, S): the expected return from s with k = 0 … T actions left.

        V_0 = 0, V_k(goal) = 0, and V_k(s) = Σ_a π(a|s) [r(s, a) + γ V_{k−1}(s'(s, a))].
        Row T is the value of starting an episode in each cell; J(θ) = V_T(start).
        """
        w, _ = self._backward(self.policy(theta))
        return w[::-1].copy()

    def q_table(self, theta: npt.ArrayLike) -> Array:
        """Q_k(s, a), shape (T+1, S, 4): r(s, a) + γ V_{k−1}(s'(s, a)) with k actions left.

        Row k = 0 is all zeros (no action left); the goal's rows are zero too.
        """
        _, q = self._backward(self.policy(theta))
        out = np.zeros((self.max_steps + 1, self.n_states, N_ACTIONS))
        out[1:] = q[::-1]
        return out

    def expected_return(self, theta: npt.ArrayLike) -> float:
        """J(θ) = E[Σ_{t<T} γᵗ r_t] from (0, 0) with the cap T, by backward induction (exact)."""
        w, _ = self._backward(self.policy(theta))
        return float(w[0, self.start])

    def _forward(self, pi: Array, starts: IntArray) -> tuple[Array, Array]:
        """d (T, C, S): P(s_t = s and the episode still running) from each of C starts, and
        arrive (C, T): P(the action at time t enters the goal)."""
        T, S = self.max_steps, self.n_states
        moves = np.einsum("sa,sak->sk", pi, self._transition)  # P_π(s'|s)
        moves[self.goal] = 0.0
        d = np.zeros((T, starts.size, S))
        arrive = np.zeros((starts.size, T))
        d[0, np.arange(starts.size), starts] = 1.0
        for t in range(T):
            nxt = d[t] @ moves
            arrive[:, t] = nxt[:, self.goal]
            if t + 1 < T:
                nxt[:, self.goal] = 0.0
                d[t + 1] = nxt
        return d, arrive

    def state_visitation(self, theta: npt.ArrayLike) -> Array:
        """d_t(s) = P(s_t = s, episode not over), shape (T, S), from (0, 0).

        d_0 = e_start, d_{t+1}(s') = Σ_s d_t(s) Σ_a π(a|s) [s'(s, a) = s'] for s' ≠ goal.
        ``.sum(axis=0)`` is the expected number of actions taken in each cell; the sum of
        everything is the expected episode length.
        """
        d, _ = self._forward(self.policy(theta), np.array([self.start]))
        return d[:, 0, :].copy()

    def goal_probability(self, theta: npt.ArrayLike) -> float:
        """P(the episode reaches the goal within T actions) from (0, 0)."""
        _, arrive = self._forward(self.policy(theta), np.array([self.start]))
        return float(arrive.sum())

    def policy_gradient(self, theta: npt.ArrayLike) -> Array:
        """The exact ∇_θ J, shape (S, 4), by the policy-gradient theorem with time-indexed values:

            ∂J/∂θ[s, b] = Σ_t γᵗ d_t(s) π(b|s) (Q_t(s, b) − V_t(s))

        where d_t is :meth:`state_visitation` and Q_t, V_t have T − t actions left.
        """
        return self._gradients(self.check_theta(theta), np.array([self.start]))[0]

    def _gradients(self, theta: Array, starts: IntArray) -> Array:
        """∇_θ V_T(c) for each start c, shape (C, S, 4)."""
        pi = _softmax_rows(theta)
        w, q = self._backward(pi)
        d, _ = self._forward(pi, starts)
        weight = d * (self.gamma ** np.arange(self.max_steps, dtype=np.float64))[:, None, None]
        advantage = pi[None] * (q - w[:-1, :, None])  # (T, S, 4): π(b|s)(Q_t − V_t)
        return np.asarray(np.einsum("tcs,tsa->csa", weight, advantage), dtype=np.float64)

    def start_gradients(self, theta: npt.ArrayLike, starts: npt.ArrayLike) -> Array:
        """∇_θ V_T(c) for each start cell c in ``starts`` (1-D), shape (C, S, 4).

        The same formula as :meth:`policy_gradient` with d_0 = e_c; used by the GRPO analysis,
        whose "prompts" are start cells.
        """
        t = self.check_theta(theta)
        return self._gradients(t, self.check_starts(starts))

    def check_starts(self, starts: npt.ArrayLike) -> IntArray:
        """``starts`` as a non-empty 1-D int array of cells other than the goal, else ValueError naming it."""
        c = _index_array("starts", starts, self.n_states - 1)
        if c.ndim != 1 or c.size == 0:
            raise ValueError(f"starts must be a non-empty 1-D array of cells, got shape {c.shape}")
        if np.any(c == self.goal):
            raise ValueError(f"starts must not contain the goal cell {self.goal}: an episode there has ended")
        return c

    def return_moments(self, theta: npt.ArrayLike) -> tuple[Array, Array]:
        """Mean and standard deviation of the return G = Σ_{t<T} γᵗ r_t from every start cell.

        Returns (mean, std), each shape (S,), both 0 at the goal. With W, M the first and second
        moments at time t: M_t(s) = Σ_a π(a|s) E[(r + γ G')²] = Σ_a π (r² + 2γ r W_{t+1}(s') +
        γ² M_{t+1}(s')); Var = M_0 − W_0².
        """
        pi = self.policy(theta)
        w, _ = self._backward(pi)
        m = np.zeros(self.n_states)
        r = self.reward
        for t in range(self.max_steps - 1, -1, -1):
            nw, nm = w[t + 1][self.next_state], m[self.next_state]
            m = (pi * (r * r + 2 * self.gamma * r * nw + self.gamma**2 * nm)).sum(axis=1)
            m[self.goal] = 0.0
        var = np.maximum(m - w[0] ** 2, 0.0)
        return w[0].copy(), np.sqrt(var)

    def non_goal_cells(self) -> IntArray:
        """Every state but the goal, shape (S − 1,): the possible start cells ("prompts")."""
        return np.arange(self.n_states - 1, dtype=np.int64)

    # -- the optimum ----------------------------------------------------------------------

    def shortest_path_return(self) -> float:
        """The return of a shortest path, in closed form (L = 2(size − 1) actions):

            Σ_{t<L−1} γᵗ · step_reward + γ^{L−1} · goal_reward      if L ≤ T,
            Σ_{t<T} γᵗ · step_reward                                 otherwise (goal out of reach).

        For the article's grid: 7 · (−10) + 1 = −69.
        """
        L, T, g = self.shortest_path_length, self.max_steps, self.gamma
        if L > T:
            return float(self.step_reward * _geometric_sum(g, T))
        return float(self.step_reward * _geometric_sum(g, L - 1) + g ** (L - 1) * self.goal_reward)

    def optimal_return(self) -> float:
        """max over policies of J: the best action in every cell and time, by backward induction.

        Equal to :meth:`shortest_path_return` whenever step_reward ≤ 0 and goal_reward ≥
        step_reward (every detour then costs); other rewards can make wandering pay.
        """
        w = np.zeros(self.n_states)
        for _ in range(self.max_steps):
            q = self.reward + self.gamma * w[self.next_state]
            w = q.max(axis=1)
            w[self.goal] = 0.0
        return float(w[self.start])

    def greedy_theta(self, margin: float = 10.0) -> Array:
        """A near-deterministic optimal θ, shape (S, 4): logit ``margin`` on one shortest-path action
        in every cell (right until the last column, then down), 0 on the other three.

        With margin m the other actions get probability e^{−m}/(1 + 3e^{−m}) each; J → the
        optimum as m grows.
        """
        margin = bounded_float("margin", margin, 1e6)
        theta = self.uniform_theta()
        cols = np.arange(self.n_states) % self.size
        best = np.where(cols < self.size - 1, 1, 2)  # right, then down along the last column
        theta[np.arange(self.n_states), best] = margin
        return theta

    # -- one trajectory's probability -----------------------------------------------------

    def trajectory_factors(
        self, theta: npt.ArrayLike, states: npt.ArrayLike, actions: npt.ArrayLike, start: int | None = None
    ) -> TrajectoryFactors:
        """Every factor of P(τ|θ) = p(s₀) Π_t π_θ(a_t|s_t) P(s_{t+1}|s_t, a_t) for one trajectory.

        Args:
            theta: logits, shape (S, 4).
            states: s_0 … s_L, shape (L+1,) (the cell after the last action included).
            actions: a_0 … a_{L−1}, shape (L,), 1 ≤ L ≤ T.
            start: the cell episodes start in (p(s₀) = 1 there, 0 elsewhere); default (0, 0).

        The environment factors are 1 along any trajectory the grid can produce (it is
        deterministic) and 0 otherwise; so ∇_θ log P(τ) = Σ_t ∇_θ log π_θ(a_t|s_t): only the
        policy terms survive (``score``).
        """
        log_pi = self.log_policy(theta)
        s_all = _index_array("states", states, self.n_states - 1)
        a = _index_array("actions", actions, N_ACTIONS - 1)
        if s_all.ndim != 1 or a.ndim != 1 or s_all.size != a.size + 1 or not 1 <= a.size <= self.max_steps:
            raise ValueError(
                f"states must hold one more cell than actions (1 … {self.max_steps} actions), "
                f"got shapes {s_all.shape} and {a.shape}"
            )
        s = s_all[:-1]
        if np.any(s == self.goal):
            raise ValueError("states must not visit the goal before the last cell: the episode ends there")
        first = self.start if start is None else whole_number("start", start, 0, self.n_states - 2)
        start_probability = 1.0 if s[0] == first else 0.0
        policy_factors = np.exp(log_pi[s, a])
        transition = (self.next_state[s, a] == s_all[1:]).astype(np.float64)
        with np.errstate(divide="ignore"):
            log_probability = float(np.log(start_probability) + log_pi[s, a].sum() + np.log(transition).sum())
        score = self.summed_score(theta, s, a)
        return TrajectoryFactors(
            states=s_all,
            actions=a,
            start_probability=start_probability,
            policy=policy_factors,
            transition=transition,
            rewards=self.reward[s, a].copy(),
            probability=float(start_probability * np.prod(policy_factors) * np.prod(transition)),
            log_probability=log_probability,
            score=score,
        )


@dataclass(frozen=True)
class TrajectoryFactors:
    """The pieces of P(τ|θ) for one trajectory of L actions.

    Fields:
        states (L+1,), actions (L,), rewards (L,): the trajectory.
        start_probability: p(s₀), 1 for the start cell.
        policy: (L,) π_θ(a_t|s_t), the factors we control.
        transition: (L,) P(s_{t+1}|s_t, a_t), 1 (or 0 for a move the grid cannot make).
        probability: p(s₀) Π π Π P.  log_probability: log p(s₀) + Σ log π + Σ log P.
        score: (S, 4) ∇_θ log P(τ) = Σ_t e_{s_t} ⊗ (onehot(a_t) − π(·|s_t)).
    """

    states: IntArray
    actions: IntArray
    start_probability: float
    policy: Array
    transition: Array
    rewards: Array
    probability: float
    log_probability: float
    score: Array

    @property
    def ret(self) -> float:
        """R(τ) = Σ_t r_t (undiscounted, as in the article)."""
        return float(self.rewards.sum())


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _log_softmax_rows(theta: Array) -> Array:
    shifted = theta - theta.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), dtype=np.float64)


def _softmax_rows(theta: Array) -> Array:
    return np.exp(_log_softmax_rows(theta))


def _geometric_sum(gamma: float, k: int) -> float:
    """Σ_{t<k} γᵗ."""
    return float(k) if gamma == 1.0 else float((1.0 - gamma**k) / (1.0 - gamma))


def _index_array(name: str, value: Any, high: int) -> IntArray:
    """An integer array with every entry in [0, high], else ValueError naming it."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be an array of whole numbers, got {value!r}") from err
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.dtype == np.bool_:
        raise ValueError(f"{name} must be an array of whole numbers, got {value!r}")
    if array.size and (array.min() < 0 or array.max() > high):
        raise ValueError(f"{name} must be whole numbers from 0 to {high}, got {value!r}")
    return array.astype(np.int64)
