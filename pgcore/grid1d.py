"""The 3-state 1D grid of the worked example: exact J(θ), its exact gradient, V, Q and A,
a vectorized episode sampler and trajectory enumeration. (The article's hand-worked one-step
update on this grid is :mod:`pgcore.worked_step`.)

The environment::

    S1 --Right--> S2   (r = 0)          S1 --Left--> episode ends (r = 0)
    S2 --Right--> S3   (r = +1, ends)    S2 --Left--> S1           (r = 0)

The policy is sigmoid in each state: π(Right|S1) = σ(θ₁), π(Right|S2) = σ(θ₂).
Below p₁ = σ(θ₁), q₁ = 1 − p₁, p₂ = σ(θ₂), q₂ = 1 − p₂.

This module is the one place that computes the grid's quantities: J and its gradient (also
with a reward offset c added to every reward), log D, the log-probability of a trajectory, the
loop cap of every enumeration, and both samplers. ``estimators``, ``logtrick``,
``grid_learning`` and ``worked_step`` build on it.

Every episode starts in S1 and is "k loops, then an ending": k times S1 →R S2 →L S1, then
either S1 →L (ends, nothing earned, "left") or S1 →R S2 →R S3 (goal). A loop happens with
q = p₁(1 − p₂) per visit to S1, so k is geometric and the episode is fully described by
(k, reached_goal). That is what makes a million episodes cost a few numpy calls.

Example:
    >>> round(float(expected_return(0.0)), 6)  # γ p₁ p₂ / D = 0.225 / (1 − 0.81 · ¼) at θ = 0
    0.282132
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import (
    bool_array,
    discount,
    finite_array,
    flag,
    float_in_range,
    generator,
    logit,
    logit_array,
    positive_int,
    reward_shift,
    whole_number,
)
from pgcore.policies import log_sigmoid, sigmoid

Array = npt.NDArray[np.float64]

ACTIONS = ("right", "left")
STATES = ("S1", "S2", "S3")
GOAL_REWARD = 1.0


# ---------------------------------------------------------------------------------------
# Exact values from the Bellman equations
# ---------------------------------------------------------------------------------------
#
# With every reward shifted by a constant c (c = 0 is the plain task):
#   V(S1) = c + γ p₁ V(S2)            V(S2) = c + p₂ · 1 + γ (1 − p₂) V(S1)
#   ⇒ J_c = V(S1) = (c (1 + γ p₁) + γ p₁ p₂) / D,     D = 1 − γ² p₁ (1 − p₂)
#   ∂J_c/∂θ₁ = γ p₁ q₁ ((c + p₂) + γ q₂ J_c) / D       (q = 1 − p)
#   ∂J_c/∂θ₂ = γ p₁ p₂ q₂ (1 − γ J_c) / D
# At c = 0 these are J = γ p₁ p₂ / D, ∂J/∂θ₁ = γ p₂ p₁ q₁ / D², ∂J/∂θ₂ = γ p₁ p₂ q₂ (1 − γ² p₁) / D²:
# products of non-negative factors, evaluated in log space so that θ = ±1000 and γ = 1 never
# divide 0 by 0. With c ≠ 0 the numerators can change sign, so they are computed directly.


def log_denominator(theta1: npt.ArrayLike, theta2: npt.ArrayLike = 0.0, gamma: float = 0.9) -> Array | float:
    """log D, D = 1 − γ² p₁ (1 − p₂): 1 over the expected discounted number of visits to S1
    (Σ_k (γ² q)^k = 1/D, q = p₁(1 − p₂) the chance of a loop), and the denominator of J.

    Written as D = (1 − γ²) + γ²(1 − p₁) + γ² p₁ p₂, a sum of non-negative terms, and summed
    with ``logaddexp`` from log σ(±θ): no cancellation even when p₁ → 1, p₂ → 0 and γ = 1
    (then D → 0 and log D stays accurate). θ₁, θ₂ broadcast; a float for scalars.

    >>> round(math.exp(log_denominator(0.0)), 12)   # 1 − 0.81 · ½ · ½
    0.7975
    """
    gamma = discount(gamma)
    t1, t2 = _thetas(theta1, theta2)
    return scalar_or_array(_log_d(t1, t2, gamma))


def _log_d(theta1: Array, theta2: Array, gamma: float) -> Array:
    """:func:`log_denominator` for checked arguments (the hot path of J and its gradient)."""
    log_p1, log_q1 = log_sigmoid(theta1), log_sigmoid(-theta1)
    log_p2 = log_sigmoid(theta2)
    log_g2 = 2.0 * math.log(gamma) if gamma > 0 else -np.inf  # log γ²
    log_a = math.log1p(-gamma * gamma) if gamma < 1 else -np.inf  # log(1 − γ²)
    return np.asarray(np.logaddexp(np.logaddexp(log_a, log_g2 + log_q1), log_g2 + log_p1 + log_p2), dtype=np.float64)


def _thetas(theta1: npt.ArrayLike, theta2: npt.ArrayLike) -> tuple[Array, Array]:
    t1 = logit_array("theta1", theta1)
    t2 = logit_array("theta2", theta2)
    try:
        return tuple(np.broadcast_arrays(t1, t2))  # type: ignore[return-value]
    except ValueError as err:
        raise ValueError(f"theta1 and theta2 shapes {t1.shape} and {t2.shape} do not broadcast") from err


def scalar_or_array(x: npt.ArrayLike) -> Array | float:
    """A 0-d result as a Python float, anything else as the array it is (scalar in, scalar out)."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x)  # type: ignore[arg-type]


def _value_and_gradient(t1: Array, t2: Array, gamma: float, c: float) -> tuple[Array, Array, Array]:
    """(J_c, ∂J_c/∂θ₁, ∂J_c/∂θ₂) for checked, broadcast θ arrays: the formulas above."""
    if gamma == 0.0:  # every episode is one step: J_c = c whatever θ
        zero = np.zeros_like(t1)
        return zero + c, zero, zero.copy()
    log_d = _log_d(t1, t2, gamma)
    log_p1, log_q1 = log_sigmoid(t1), log_sigmoid(-t1)
    log_p2, log_q2 = log_sigmoid(t2), log_sigmoid(-t2)
    if c == 0.0:
        log_g = math.log(gamma)
        log_j = log_g + log_p1 + log_p2 - log_d
        d_theta1 = np.exp(log_j + log_q1 - log_d)
        # 1 − γ² p₁ = (1 − γ²) + γ²(1 − p₁), both non-negative
        log_a = math.log1p(-gamma * gamma) if gamma < 1 else -np.inf
        log_one_minus = np.logaddexp(log_a, 2 * log_g + log_q1)
        d_theta2 = np.exp(log_j + log_q2 + log_one_minus - log_d)
        return np.exp(log_j), d_theta1, d_theta2
    p1, q1, p2, q2 = np.exp(log_p1), np.exp(log_q1), np.exp(log_p2), np.exp(log_q2)
    inv_d = np.exp(-log_d)
    value = (c * (1.0 + gamma * p1) + gamma * p1 * p2) * inv_d
    d_theta1 = gamma * p1 * q1 * ((c + p2) + gamma * q2 * value) * inv_d
    d_theta2 = gamma * p1 * p2 * q2 * (1.0 - gamma * value) * inv_d
    return value, d_theta1, d_theta2


def expected_return(
    theta1: npt.ArrayLike, theta2: npt.ArrayLike = 0.0, gamma: float = 0.9, reward_offset: float = 0.0
) -> Array | float:
    """J_c(θ) = V^π(S1) = (c(1 + γp₁) + γp₁p₂) / (1 − γ²p₁(1 − p₂)), c = ``reward_offset``
    added to every reward (c = 0: J = γp₁p₂ / D). θ₁, θ₂ broadcast; a float for scalars, else
    an array of their broadcast shape.

    >>> round(expected_return(0.0), 6)       # 0.225 / 0.7975
    0.282132
    """
    gamma = discount(gamma)
    c = reward_shift("reward_offset", reward_offset)
    t1, t2 = _thetas(theta1, theta2)
    return scalar_or_array(_value_and_gradient(t1, t2, gamma, c)[0])


def expected_return_grad(
    theta1: npt.ArrayLike, theta2: npt.ArrayLike = 0.0, gamma: float = 0.9, reward_offset: float = 0.0
) -> tuple[Array | float, Array | float]:
    """The exact gradient (∂J_c/∂θ₁, ∂J_c/∂θ₂), analytic, from the Bellman equations.

    ∂J_c/∂θ₁ = γ p₁ q₁ ((c + p₂) + γ q₂ J_c) / D,   ∂J_c/∂θ₂ = γ p₁ p₂ q₂ (1 − γ J_c) / D,
    which at c = 0 are γ p₂ p₁q₁ / D² and γ p₁ p₂q₂ (1 − γ² p₁) / D². Shapes as
    :func:`expected_return`; ∂J_c/∂θ₁ is what every unbiased estimator of the Baselines and
    Gradient step pages averages to.

    >>> round(expected_return_grad(0.0)[0], 6)   # 0.1125 / 0.7975²
    0.176885
    """
    gamma = discount(gamma)
    c = reward_shift("reward_offset", reward_offset)
    t1, t2 = _thetas(theta1, theta2)
    _, d_theta1, d_theta2 = _value_and_gradient(t1, t2, gamma, c)
    return scalar_or_array(d_theta1), scalar_or_array(d_theta2)


@dataclass(frozen=True)
class ExactValues:
    """Exact V^π, Q^π and A^π = Q^π − V^π of the grid under the current policy."""

    v_s1: float
    v_s2: float
    q_s1_right: float  #: γ V(S2)
    q_s1_left: float  #: 0: the episode ends
    q_s2_right: float  #: 1
    q_s2_left: float  #: γ V(S1)

    @property
    def a_s1_right(self) -> float:
        return self.q_s1_right - self.v_s1

    @property
    def a_s1_left(self) -> float:
        return self.q_s1_left - self.v_s1

    @property
    def a_s2_right(self) -> float:
        return self.q_s2_right - self.v_s2

    @property
    def a_s2_left(self) -> float:
        return self.q_s2_left - self.v_s2


def exact_values(theta1: float, theta2: float = 0.0, gamma: float = 0.9) -> ExactValues:
    """V^π(S1), V^π(S2) and every Q^π, for scalar θ."""
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    v1 = float(expected_return(theta1, theta2, gamma))
    p2 = float(sigmoid(theta2))
    v2 = p2 * GOAL_REWARD + float(sigmoid(-theta2)) * gamma * v1
    return ExactValues(
        v_s1=v1,
        v_s2=v2,
        q_s1_right=gamma * v2,
        q_s1_left=0.0,
        q_s2_right=GOAL_REWARD,
        q_s2_left=gamma * v1,
    )


# ---------------------------------------------------------------------------------------
# Episodes: sampling and enumeration
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episodes:
    """A batch of n episodes, each "k loops then an ending", with everything derived.

    Fields (all shape (n,)):
        loops: k, the number of S1 → S2 → S1 loops.
        reached_goal: True if the episode ended S1 →R S2 →R S3 (G₀ = γ^{2k+1}), False if
            it ended S1 →L (G₀ = 0).
    """

    loops: npt.NDArray[np.int64]
    reached_goal: npt.NDArray[np.bool_]
    theta1: float
    theta2: float
    gamma: float

    @property
    def n(self) -> int:
        return int(self.loops.size)

    @property
    def length(self) -> npt.NDArray[np.int64]:
        """Number of actions: 2k + 1 (ends left) or 2k + 2 (goal)."""
        return 2 * self.loops + 1 + self.reached_goal

    @property
    def returns(self) -> Array:
        """G₀ = γ^{2k+1} for the goal, 0 otherwise."""
        return np.where(self.reached_goal, self.gamma ** (2.0 * self.loops + 1), 0.0)

    @property
    def score_theta1(self) -> Array:
        """∇θ₁ log P(τ) = Σ_t ∇θ₁ log π(a_t|S1) = k(1 − p₁) + [goal](1 − p₁) − [left] p₁."""
        p1, q1 = float(sigmoid(self.theta1)), float(sigmoid(-self.theta1))
        return np.asarray(self.loops * q1 + np.where(self.reached_goal, q1, -p1), dtype=np.float64)

    @property
    def score_theta2(self) -> Array:
        """∇θ₂ log P(τ) = −k p₂ + [goal](1 − p₂): every loop chose Left in S2."""
        p2, q2 = float(sigmoid(self.theta2)), float(sigmoid(-self.theta2))
        return np.asarray(-self.loops * p2 + np.where(self.reached_goal, q2, 0.0), dtype=np.float64)

    @property
    def probability(self) -> Array:
        """P(τ) = q^k · (p₁p₂ if goal else 1 − p₁), q = p₁(1 − p₂)."""
        return np.exp(log_probability(self.loops, self.reached_goal, self.theta1, self.theta2))


def _loop_counts(name: str, value: Any) -> npt.NDArray[np.int64]:
    """An array of whole numbers >= 0 (loop counts), else ValueError naming it."""
    try:
        array = np.asarray(value) if not isinstance(value, bool) else np.asarray(None)
    except (TypeError, ValueError, OverflowError):  # ragged lists and the like
        array = np.asarray(None)
    if array.dtype.kind not in "iu" or (array.size and array.min() < 0):
        raise ValueError(f"{name} must be whole numbers >= 0, got {value!r}"[:200])
    return array.astype(np.int64)


def log_probability(
    loops: npt.ArrayLike, reached_goal: npt.ArrayLike, theta1: npt.ArrayLike, theta2: npt.ArrayLike
) -> Array:
    """log P(τ) = k log q + (log p₁p₂ if goal else log(1 − p₁)), q = p₁(1 − p₂).

    Every argument broadcasts (e.g. loops of shape (m,) against θ₁ of shape (L, 1) gives
    (L, m)); the result has the broadcast shape.
    """
    k = _loop_counts("loops", loops)
    reached_goal = bool_array("reached_goal", reached_goal)
    t1, t2 = logit_array("theta1", theta1), logit_array("theta2", theta2)
    try:
        np.broadcast_shapes(k.shape, reached_goal.shape, t1.shape, t2.shape)
    except ValueError as err:
        raise ValueError("loops, reached_goal, theta1 and theta2 must broadcast to one shape") from err
    log_loop = log_sigmoid(t1) + log_sigmoid(-t2)
    log_goal = log_sigmoid(t1) + log_sigmoid(t2)
    log_left = log_sigmoid(-t1)
    # k · log q with k = 0 must stay 0 even when log q = −inf
    with np.errstate(invalid="ignore"):
        loop_part = np.where(k > 0, k * log_loop, 0.0)
    return np.asarray(loop_part + np.where(reached_goal, log_goal, log_left), dtype=np.float64)


MAX_SAMPLES = 20_000_000
#: The longest trajectory (in loops S1 → S2 → S1) that is ever listed or drawn.
MAX_LISTED_LOOPS = 10_000
#: Enumerations list enough loops that the trajectories left out carry less probability than this.
TAIL_MASS = 1e-20


def sample_episodes(
    theta1: float,
    n: int,
    rng: np.random.Generator,
    *,
    theta2: float = 0.0,
    gamma: float = 0.9,
) -> Episodes:
    """Sample n independent episodes from S1 with one vectorized draw per quantity.

    k ~ Geometric: P(k) = q^k (1 − q), q = p₁(1 − p₂); the ending is independent of k,
    goal with probability p₁p₂ / (1 − q). (:func:`episodes_from_uniforms` draws the same
    distribution from given uniforms, for learners that share them; tests check the two agree.)

    Args:
        theta1, theta2: the policy parameters in S1 and S2.
        n: number of episodes, 1 … 20,000,000.
        rng: a seeded ``np.random.Generator``; the same seed gives the same episodes.
        gamma: discount in [0, 1].
    """
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    n = positive_int("n", n, maximum=MAX_SAMPLES)
    gamma = discount(gamma)
    rng = generator(rng)
    p1, q1 = float(sigmoid(theta1)), float(sigmoid(-theta1))
    p2 = float(sigmoid(theta2))
    stop = q1 + p1 * p2  # 1 − q, written without cancellation
    # A policy that loops forever (|θ| beyond ~700) still has to end in the sampler;
    # 1e-12 keeps the geometric draw defined, and γ^{2k} has long vanished by then.
    loops = rng.geometric(min(max(stop, 1e-12), 1.0), size=n).astype(np.int64) - 1
    reached_goal = rng.random(n) < (p1 * p2) / max(stop, 1e-300)
    return Episodes(loops=loops, reached_goal=reached_goal, theta1=theta1, theta2=theta2, gamma=gamma)


def _uniforms(name: str, value: Any) -> Array:
    """An array of numbers in [0, 1), else ValueError naming it."""
    array = finite_array(name, value)
    if array.size and (array.min() < 0.0 or array.max() >= 1.0):
        raise ValueError(f"{name} must hold uniforms in [0, 1)")
    return array


def episodes_from_uniforms(
    u_loops: Array, u_goal: Array, theta1: npt.ArrayLike, theta2: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(k, reached_goal) from two uniforms per episode, by inverse CDF: the distribution of
    :func:`sample_episodes`, for learners that must share their random numbers.

    k = ⌊log(1 − u₁) / log q⌋ is Geometric: P(k ≥ j) = P(1 − u₁ ≤ q^j) = q^j. The goal is
    reached when u₂ < p₁p₂ / (1 − q), i.e. u₂ (q₁ + p₁p₂) < p₁p₂. ``u_loops`` and ``u_goal``
    have one shape; θ₁ broadcasts against it (e.g. one θ₁ per learner), θ₂ is one number. The
    results have the broadcast shape of θ₁ and the uniforms.
    """
    u_loops, u_goal = _uniforms("u_loops", u_loops), _uniforms("u_goal", u_goal)
    if u_loops.shape != u_goal.shape:
        raise ValueError(f"u_loops and u_goal must have one shape, got {u_loops.shape} and {u_goal.shape}")
    theta1 = logit_array("theta1", theta1)
    theta2 = logit("theta2", theta2)
    try:
        np.broadcast_shapes(theta1.shape, u_loops.shape)
    except ValueError as err:
        raise ValueError(f"theta1 of shape {theta1.shape} does not broadcast to the uniforms' {u_loops.shape}") from err
    log_p1, log_q1 = log_sigmoid(theta1), log_sigmoid(-theta1)
    p1, q1 = np.exp(log_p1), np.exp(log_q1)
    p2 = math.exp(float(log_sigmoid(theta2)))
    # log of the loop probability, kept < 0 so a policy that loops forever still ends
    log_q = np.minimum(log_p1 + float(log_sigmoid(-theta2)), -1e-12)
    loops = np.floor(np.log1p(-u_loops) / log_q).astype(np.int64)
    reached_goal = u_goal * (q1 + p1 * p2) < p1 * p2
    return loops, reached_goal


def loop_cap(theta1: npt.ArrayLike, theta2: float = 0.0, tail_mass: float = TAIL_MASS) -> int:
    """How many loops an enumeration lists: k_max = ⌈log(tail_mass) / log q⌉, q = p₁(1 − p₂).

    The trajectories with more loops have total probability q^{k_max + 1} ≤ q · tail_mass <
    tail_mass. θ₁ may be an array: the cap then covers its loopiest entry. At least 1, at most
    MAX_LISTED_LOOPS (a policy that loops almost surely). The one rule every enumeration of
    the grid uses (``enumerate_trajectories`` callers, ``estimators.exact_moments``).
    """
    t1 = logit_array("theta1", theta1)
    theta2 = logit("theta2", theta2)
    tail_mass = float_in_range("tail_mass", tail_mass, 0.0, 1.0, low_open=True)
    if t1.size == 0:
        raise ValueError("theta1 must hold at least one number")
    log_q = float(np.max(log_sigmoid(t1))) + float(log_sigmoid(-theta2))
    if log_q > -1e-12:  # q within 1e-12 of 1 (or rounded to it): no cap short of the ceiling
        return MAX_LISTED_LOOPS
    k = math.ceil(math.log(tail_mass) / log_q)
    return int(min(max(k, 1), MAX_LISTED_LOOPS))


def trajectory_kinds(max_loops: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Every (k, reached_goal) with k = 0 … max_loops, shape (2(max_loops + 1),) each, in
    order of length: (0, left), (0, goal), (1, left), (1, goal), … — row 2k + goal."""
    max_loops = whole_number("max_loops", max_loops, 0, MAX_LISTED_LOOPS)
    loops = np.repeat(np.arange(max_loops + 1, dtype=np.int64), 2)
    reached_goal = np.tile(np.array([False, True]), max_loops + 1)
    return loops, reached_goal


@dataclass(frozen=True)
class TrajectoryTable:
    """All trajectories with at most ``max_loops`` loops, one row each (shape (m,) arrays)."""

    episodes: Episodes
    probability: Array  #: P(τ)
    ret: Array  #: G(τ)
    score_theta1: Array  #: ∇θ₁ log P(τ)
    product: Array  #: P(τ) G(τ) ∇θ₁ log P(τ)
    missing_probability: float  #: 1 − Σ P(τ): the mass of longer trajectories

    @property
    def gradient_theta1(self) -> float:
        """Σ_τ P(τ) G(τ) ∇θ₁ log P(τ): the exact ∂J/∂θ₁ as the cap grows."""
        return float(self.product.sum())


def enumerate_trajectories(
    theta1: float, theta2: float = 0.0, gamma: float = 0.9, max_loops: int = 10
) -> TrajectoryTable:
    """Every trajectory with k = 0 … max_loops loops and both endings, in order of length.

    ``max_loops=loop_cap(theta1, theta2)`` lists every trajectory that matters (the rest
    carry less than TAIL_MASS); a small cap shows the first rows of the sum.
    """
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    loops, reached_goal = trajectory_kinds(max_loops)
    eps = Episodes(loops=loops, reached_goal=reached_goal, theta1=theta1, theta2=theta2, gamma=gamma)
    prob = eps.probability
    ret = eps.returns
    score = eps.score_theta1
    return TrajectoryTable(
        episodes=eps,
        probability=prob,
        ret=ret,
        score_theta1=score,
        product=prob * ret * score,
        missing_probability=float(max(0.0, 1.0 - prob.sum())),
    )


def trajectory_steps(loops: int, reached_goal: bool) -> list[tuple[str, str, float, str]]:
    """The episode as (state, action, reward, next_state) rows, e.g. for drawing the path.

    >>> trajectory_steps(0, True)
    [('S1', 'right', 0.0, 'S2'), ('S2', 'right', 1.0, 'S3')]
    """
    loops = whole_number("loops", loops, 0, MAX_LISTED_LOOPS)
    reached_goal = flag("reached_goal", reached_goal)
    steps: list[tuple[str, str, float, str]] = []
    for _ in range(int(loops)):
        steps += [("S1", "right", 0.0, "S2"), ("S2", "left", 0.0, "S1")]
    if reached_goal:
        steps += [("S1", "right", 0.0, "S2"), ("S2", "right", GOAL_REWARD, "S3")]
    else:
        steps += [("S1", "left", 0.0, "end")]
    return steps
