"""The 3-state 1D grid of the worked example: exact J(θ), its exact gradient, V, Q and A,
the article's one-step update, a vectorized episode sampler and trajectory enumeration.

The environment::

    S1 --Right--> S2   (r = 0)          S1 --Left--> episode ends (r = 0)
    S2 --Right--> S3   (r = +1, ends)    S2 --Left--> S1           (r = 0)

The policy is sigmoid in each state: π(Right|S1) = σ(θ₁), π(Right|S2) = σ(θ₂).

Every episode starts in S1 and is "k loops, then an ending": k times S1 →R S2 →L S1, then
either S1 →L (ends, nothing earned, "left") or S1 →R S2 →R S3 (goal). A loop happens with
q = p₁(1 − p₂) per visit to S1, so k is geometric and the episode is fully described by
(k, reached_goal). That is what makes a million episodes cost a few numpy calls.

Example:
    >>> step = worked_step(0.0)
    >>> step.policy_gradient, round(step.theta_new, 12)
    (0.2, 0.02)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import (
    LOGIT_LIMIT,
    choice,
    discount,
    flag,
    logit,
    logit_array,
    non_negative_float,
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
# The article's single update
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkedStep:
    """One policy-gradient update from a single trajectory starting in S1.

    Right: (S1, Right, 0, S2, Right, 1, S3) so G₀ = γ.  Left: the episode ends, G₀ = 0.
    """

    theta: float
    action: str
    gamma: float
    v_estimate: float
    alpha: float
    pi_right: float
    pi_left: float
    pi_action: float  #: π(a|S1)
    ret: float  #: G₀
    advantage: float  #: G₀ − V̂(S1)
    grad_pi: float  #: ∂π(a|S1)/∂θ
    grad_log_pi: float  #: ∂log π(a|S1)/∂θ = ∇π / π
    policy_gradient: float  #: ∇log π · A
    theta_new: float  #: θ + α · policy_gradient
    pi_right_new: float  #: σ(θ_new)


def worked_step(
    theta: float,
    action: str = "right",
    gamma: float = 0.9,
    v_estimate: float = 0.5,
    alpha: float = 0.1,
) -> WorkedStep:
    """The seed article's update for the action taken in S1.

    At the defaults Right gives π = 0.5, G₀ = 0.9, A = 0.4, ∇π = 0.25, ∇log π = 0.5,
    gradient 0.2, θ → 0.02; Left gives 0.5, 0, −0.5, −0.25, −0.5, 0.25, θ → 0.025.
    """
    theta = logit("theta", theta)
    action = choice("action", action, ACTIONS)
    gamma = discount(gamma)
    v_estimate = reward_shift("v_estimate", v_estimate)
    alpha = non_negative_float("alpha", alpha)

    pi_right = float(sigmoid(theta))
    pi_left = float(sigmoid(-theta))
    slope = pi_right * pi_left  # σ(θ)(1 − σ(θ))
    if action == "right":
        pi_action, ret, grad_pi, grad_log_pi = pi_right, gamma * GOAL_REWARD, slope, pi_left
    else:
        pi_action, ret, grad_pi, grad_log_pi = pi_left, 0.0, -slope, -pi_right
    advantage = ret - v_estimate
    policy_gradient = grad_log_pi * advantage
    theta_new = theta + alpha * policy_gradient
    return WorkedStep(
        theta=theta,
        action=action,
        gamma=gamma,
        v_estimate=v_estimate,
        alpha=alpha,
        pi_right=pi_right,
        pi_left=pi_left,
        pi_action=pi_action,
        ret=ret,
        advantage=advantage,
        grad_pi=grad_pi,
        grad_log_pi=grad_log_pi,
        policy_gradient=policy_gradient,
        theta_new=theta_new,
        pi_right_new=float(sigmoid(theta_new)),
    )


def worked_steps(
    theta: float,
    n_steps: int,
    action: str = "right",
    gamma: float = 0.9,
    v_estimate: float = 0.5,
    alpha: float = 0.1,
) -> list[WorkedStep]:
    """``n_steps`` worked updates in a row, each starting where the previous one ended.

    Every step takes the same action with the same γ, V̂ and α, so with Right and the
    defaults θ climbs by 0.1 · (1 − σ(θ)) · 0.4 per step: 0 → 0.02 → 0.0398 → …

    >>> [round(s.theta_new, 4) for s in worked_steps(0.0, 2)]
    [0.02, 0.0398]
    """
    n_steps = positive_int("n_steps", n_steps, maximum=100_000)
    steps = [worked_step(theta, action, gamma, v_estimate, alpha)]
    for step in range(1, n_steps):
        theta_next = steps[-1].theta_new
        if abs(theta_next) > LOGIT_LIMIT:
            # the arguments were each fine; together they throw θ out of range
            raise ValueError(
                f"alpha={alpha!r} with v_estimate={v_estimate!r} moves theta past ±{LOGIT_LIMIT:g} "
                f"after {step} steps; use a smaller α or a V̂ nearer the returns"
            )
        steps.append(worked_step(theta_next, action, gamma, v_estimate, alpha))
    return steps


# ---------------------------------------------------------------------------------------
# Exact values from the Bellman equations
# ---------------------------------------------------------------------------------------
#
#   V(S1) = p₁ γ V(S2)                 V(S2) = p₂ · 1 + (1 − p₂) γ V(S1)
#   ⇒ J = V(S1) = γ p₁ p₂ / D,   D = 1 − γ² p₁ (1 − p₂) = (1 − γ²) + γ²(1 − p₁) + γ² p₁ p₂
#   ∂J/∂θ₁ = γ p₂ p₁(1 − p₁) / D²        ∂J/∂θ₂ = γ p₁ p₂(1 − p₂)(1 − γ² p₁) / D²
#
# D is a sum of non-negative terms, and it is evaluated in log space so that θ = ±1000
# and γ = 1 never divide 0 by 0.


def _log_terms(theta1: Array, theta2: Array, gamma: float) -> dict[str, Any]:
    log_g = np.log(gamma) if gamma > 0 else -np.inf
    log_p1, log_q1 = log_sigmoid(theta1), log_sigmoid(-theta1)  # log p₁, log(1 − p₁)
    log_p2, log_q2 = log_sigmoid(theta2), log_sigmoid(-theta2)
    log_a = np.log1p(-gamma * gamma) if gamma < 1 else -np.inf  # log(1 − γ²)
    log_d = np.logaddexp(np.logaddexp(log_a, 2 * log_g + log_q1), 2 * log_g + log_p1 + log_p2)
    return dict(log_g=log_g, log_p1=log_p1, log_q1=log_q1, log_p2=log_p2, log_q2=log_q2, log_a=log_a, log_d=log_d)


def _thetas(theta1: npt.ArrayLike, theta2: npt.ArrayLike) -> tuple[Array, Array]:
    t1 = logit_array("theta1", theta1)
    t2 = logit_array("theta2", theta2)
    try:
        return tuple(np.broadcast_arrays(t1, t2))  # type: ignore[return-value]
    except ValueError as err:
        raise ValueError(f"theta1 and theta2 shapes {t1.shape} and {t2.shape} do not broadcast") from err


def _as_output(x: Array) -> Array | float:
    return float(x) if np.ndim(x) == 0 else x


def expected_return(theta1: npt.ArrayLike, theta2: npt.ArrayLike = 0.0, gamma: float = 0.9) -> Array | float:
    """J(θ) = V^π(S1) = γ p₁ p₂ / (1 − γ² p₁ (1 − p₂)); a float, or an array for array θ."""
    gamma = discount(gamma)
    t1, t2 = _thetas(theta1, theta2)
    if gamma == 0.0:
        return _as_output(np.zeros_like(t1))
    lt = _log_terms(t1, t2, gamma)
    return _as_output(np.exp(lt["log_g"] + lt["log_p1"] + lt["log_p2"] - lt["log_d"]))


def expected_return_grad(
    theta1: npt.ArrayLike, theta2: npt.ArrayLike = 0.0, gamma: float = 0.9
) -> tuple[Array | float, Array | float]:
    """The exact gradient (∂J/∂θ₁, ∂J/∂θ₂), analytic, from the closed form of J.

    ∂J/∂θ₁ = γ p₂ p₁(1 − p₁) / D²,   ∂J/∂θ₂ = γ p₁ p₂(1 − p₂)(1 − γ² p₁) / D².
    """
    gamma = discount(gamma)
    t1, t2 = _thetas(theta1, theta2)
    if gamma == 0.0:
        zero = _as_output(np.zeros_like(t1))
        return zero, zero
    lt = _log_terms(t1, t2, gamma)
    log_j = lt["log_g"] + lt["log_p1"] + lt["log_p2"] - lt["log_d"]
    d_theta1 = np.exp(log_j + lt["log_q1"] - lt["log_d"])
    # 1 − γ² p₁ = (1 − γ²) + γ²(1 − p₁), both non-negative
    log_one_minus = np.logaddexp(lt["log_a"], 2 * lt["log_g"] + lt["log_q1"])
    d_theta2 = np.exp(log_j + lt["log_q2"] + log_one_minus - lt["log_d"])
    return _as_output(d_theta1), _as_output(d_theta2)


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
        lp = _episode_log_prob(self.loops, self.reached_goal, self.theta1, self.theta2)
        return np.exp(lp)


def _episode_log_prob(
    loops: npt.NDArray[np.int64], reached_goal: npt.NDArray[np.bool_], theta1: float, theta2: float
) -> Array:
    log_loop = float(log_sigmoid(theta1) + log_sigmoid(-theta2))
    log_goal = float(log_sigmoid(theta1) + log_sigmoid(theta2))
    log_left = float(log_sigmoid(-theta1))
    # k · log q with k = 0 must stay 0 even when log q = −inf
    loop_part = np.where(loops > 0, loops * log_loop, 0.0) if np.isinf(log_loop) else loops * log_loop
    return np.asarray(loop_part + np.where(reached_goal, log_goal, log_left), dtype=np.float64)


MAX_SAMPLES = 20_000_000
#: The longest trajectory (in loops S1 → S2 → S1) that is ever listed or drawn.
MAX_LISTED_LOOPS = 10_000


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
    goal with probability p₁p₂ / (1 − q).

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
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    p1, q1 = float(sigmoid(theta1)), float(sigmoid(-theta1))
    p2 = float(sigmoid(theta2))
    stop = q1 + p1 * p2  # 1 − q, written without cancellation
    # A policy that loops forever (|θ| beyond ~700) still has to end in the sampler;
    # 1e-12 keeps the geometric draw defined, and γ^{2k} has long vanished by then.
    loops = rng.geometric(min(max(stop, 1e-12), 1.0), size=n).astype(np.int64) - 1
    reached_goal = rng.random(n) < (p1 * p2) / max(stop, 1e-300)
    return Episodes(loops=loops, reached_goal=reached_goal, theta1=theta1, theta2=theta2, gamma=gamma)


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
    """Every trajectory with k = 0 … max_loops loops and both endings, in order of length."""
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    max_loops = whole_number("max_loops", max_loops, 0, MAX_LISTED_LOOPS)
    k = np.arange(max_loops + 1, dtype=np.int64)
    loops = np.repeat(k, 2)
    reached_goal = np.tile(np.array([False, True]), max_loops + 1)
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
