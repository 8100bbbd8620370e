"""Learning θ₁ on the 3-state grid one sampled episode at a time: the loop the Gradient step
page plays (Play / Pause / Step), next to exact gradient ascent on the same J(θ).

Each update samples one episode τ from the *current* policy and moves

    θ₁ ← clip(θ₁ + α ĝ₁, −limit, limit)

with one of three single-episode estimates ĝ₁ of ∂J/∂θ₁ (ψ_t = ∂ log π(a_t|s_t)/∂θ₁,
non-zero only at the steps taken in S1; b is a constant baseline such as the page's V̂):

    "return"          ĝ₁ = (G₀ − b) Σ_t ψ_t            the whole return times ∇θ₁ log P(τ)
    "reward_to_go"    ĝ₁ = Σ_t γᵗ (G_t − b) ψ_t         each step weighted by what followed it
    "no_discount"     ĝ₁ = Σ_t (G_t − b) ψ_t            the γᵗ dropped, as most code does

The first two average to ∂J/∂θ₁ exactly; the third averages to something else whenever
γ < 1 (``expected_estimate`` gives its exact mean). Subtracting a constant b never moves the
mean, since E[Σ_t γᵗ ψ_t] = E[Σ_t ψ_t] = 0.

The exact path beside it (``estimators.exact_ascent_step``) takes θ₁ ← θ₁ + α ∂J/∂θ₁ with
the closed-form gradient: gradient ascent without the noise.

``reinforce_reference`` computes one episode's estimate the way a textbook writes it, a loop
over the steps; every vectorized estimate in pgcore (``estimate_theta1`` here,
``estimators.gradient_samples``) is tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgcore._checks import choice, discount, instance, logit, positive_float, reward_shift
from pgcore.estimators import episode_terms, exact_moments
from pgcore.grid1d import Episodes, expected_return, expected_return_grad, sample_episodes, trajectory_steps
from pgcore.policies import sigmoid

__all__ = [
    "ESTIMATORS",
    "THETA_LIMIT",
    "SampledUpdate",
    "estimate_theta1",
    "expected_estimate",
    "reinforce_reference",
    "sampled_update",
]

#: The single-episode estimates of ∂J/∂θ₁ a learner can use (see the module docstring).
ESTIMATORS = ("return", "reward_to_go", "no_discount")
#: How far θ₁ may go: σ(±20) is within 2e-9 of 0 or 1, the policy is decided.
THETA_LIMIT = 20.0


def reinforce_reference(
    loops: int,
    reached_goal: bool,
    theta1: float,
    *,
    gamma: float = 0.9,
    estimator: str = "return",
    baseline: float = 0.0,
    reward_offset: float = 0.0,
) -> float:
    """One episode's estimate ĝ₁ of ∂J/∂θ₁, step by step: the readable reference implementation.

    The episode is k = ``loops`` loops and then its ending, as the rows (s_t, a_t, r_t) of
    ``grid1d.trajectory_steps``; every reward is shifted by c = ``reward_offset``. Then

        G_t = (r_t + c) + γ G_{t+1}                     the return from step t (G after the end = 0)
        ψ_t = ∂ log π(a_t|s_t)/∂θ₁ = 1 − p₁ for Right in S1, −p₁ for Left in S1, 0 in S2

        "return"          ĝ₁ = (G₀ − b) Σ_t ψ_t
        "reward_to_go"    ĝ₁ = Σ_t γᵗ (G_t − b) ψ_t
        "no_discount"     ĝ₁ = Σ_t (G_t − b) ψ_t

    with b = ``baseline``, one number for the whole episode. Slow (a Python loop over 2k + 2
    steps) and meant to be: the vectorized closed forms are checked against it.

    >>> round(reinforce_reference(0, True, 0.0), 6)   # straight to the goal: G₀ = γ = 0.9, ψ₀ = 1 − ½
    0.45
    """
    theta1 = logit("theta1", theta1)
    gamma = discount(gamma)
    estimator = choice("estimator", estimator, ESTIMATORS)
    b = reward_shift("baseline", baseline)
    c = reward_shift("reward_offset", reward_offset)
    steps = trajectory_steps(loops, reached_goal)  # checks loops and reached_goal
    p1 = float(sigmoid(theta1))
    psi = [((1.0 - p1) if action == "right" else -p1) if state == "S1" else 0.0 for state, action, _, _ in steps]
    returns = [0.0] * len(steps)
    later = 0.0
    for t in reversed(range(len(steps))):
        later = (steps[t][2] + c) + gamma * later
        returns[t] = later
    if estimator == "return":
        return (returns[0] - b) * sum(psi)
    estimate = 0.0
    for t in range(len(steps)):
        weight = gamma**t if estimator == "reward_to_go" else 1.0
        estimate += weight * (returns[t] - b) * psi[t]
    return estimate


def estimate_theta1(episodes: Episodes, estimator: str = "return", baseline: float = 0.0) -> np.ndarray:
    """ĝ₁ for every episode of a batch, shape (n,), by the formula ``estimator`` names.

    Args:
        episodes: from ``grid1d.sample_episodes`` (its θ₁, θ₂ and γ are used).
        estimator: "return", "reward_to_go" or "no_discount".
        baseline: a constant b subtracted from every return G_t.
    """
    episodes = instance("episodes", episodes, Episodes)
    estimator = choice("estimator", estimator, ESTIMATORS)
    b = reward_shift("baseline", baseline)
    if estimator == "return":
        return (episodes.returns - b) * episodes.score_theta1
    # X₀ = Σ_t w_t G_t ψ_t and Y = Σ_t w_t ψ_t with w_t = γᵗ or 1, so the estimate is X₀ − b·Y
    terms = episode_terms(episodes, discount_weight=estimator == "reward_to_go")
    return terms.weighted - b * terms.score


def expected_estimate(theta1: float, theta2: float = 0.0, gamma: float = 0.9, estimator: str = "return") -> float:
    """The exact mean of ĝ₁ under π_θ: ∂J/∂θ₁ for "return" and "reward_to_go", the biased
    E[Σ_t G_t ψ_t] for "no_discount" (summed over every trajectory; independent of b)."""
    estimator = choice("estimator", estimator, ESTIMATORS)
    if estimator == "no_discount":
        return exact_moments(theta1, theta2, gamma, discount_weight=False).mean
    return float(expected_return_grad(logit("theta1", theta1), logit("theta2", theta2), gamma)[0])


@dataclass(frozen=True)
class SampledUpdate:
    """One update of the sampled learner: the episode it drew and where θ₁ went."""

    theta1: float  #: θ₁ before the update
    theta1_new: float  #: θ₁ + α ĝ₁, clipped to ±limit
    loops: int  #: the episode's S1 → S2 → S1 loops k
    reached_goal: bool  #: it ended in S3 (else it went Left in S1)
    ret: float  #: G₀ = γ^{2k+1} at the goal, else 0
    estimate: float  #: ĝ₁
    exact_gradient: float  #: ∂J/∂θ₁ at θ₁
    j_new: float  #: J at the new θ₁
    clipped: bool  #: the step went past ±limit and was held there


def sampled_update(
    theta1: float,
    rng: np.random.Generator,
    *,
    theta2: float = 0.0,
    gamma: float = 0.9,
    step_size: float = 1.0,
    estimator: str = "return",
    baseline: float = 0.0,
    limit: float = THETA_LIMIT,
) -> SampledUpdate:
    """Sample one episode from π_θ (drawing from ``rng``) and take θ₁ ← θ₁ + α ĝ₁.

    The same generator state gives the same episode and the same update."""
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    alpha = positive_float("step_size", step_size)
    limit = positive_float("limit", limit)
    episode = sample_episodes(theta1, 1, rng, theta2=theta2, gamma=gamma)
    estimate = float(estimate_theta1(episode, estimator, baseline)[0])
    exact = float(expected_return_grad(theta1, theta2, episode.gamma)[0])
    moved = theta1 + alpha * estimate
    new = float(np.clip(moved, -limit, limit))
    return SampledUpdate(
        theta1=theta1,
        theta1_new=new,
        loops=int(episode.loops[0]),
        reached_goal=bool(episode.reached_goal[0]),
        ret=float(episode.returns[0]),
        estimate=estimate,
        exact_gradient=exact,
        j_new=float(expected_return(new, theta2, episode.gamma)),
        clipped=new != moved,
    )
