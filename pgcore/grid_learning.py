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

The exact path beside it (``exact_ascent_step``) takes θ₁ ← θ₁ + α ∂J/∂θ₁ with the
closed-form gradient: gradient ascent without the noise.

Many learners at once, for the Baselines page: ``compare_learning`` runs K learners per
baseline (the estimates of ``estimators``, averaged over a few episodes per update) on common
random numbers, ``learning_curves`` one baseline's run of it, and ``race_step`` one update of
a learner without a baseline beside one with it, on the same episodes.

``reinforce_reference`` computes one episode's estimate the way a textbook writes it, a loop
over the steps; every vectorized estimate in pgcore (``estimate_theta1`` here,
``estimators.gradient_samples``) is tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import (
    choice,
    discount,
    flag,
    generator,
    instance,
    logit,
    logit_array,
    positive_float,
    positive_int,
    reward_shift,
)
from pgcore.estimators import (
    BASELINES,
    _check_baseline,
    _check_baselines,
    _moments_table,
    _terms,
    episode_terms,
    exact_moments,
    leave_one_out_mean,
)
from pgcore.grid1d import (
    Episodes,
    episodes_from_uniforms,
    expected_return,
    expected_return_grad,
    sample_episodes,
    scalar_or_array,
    trajectory_steps,
)
from pgcore.policies import log_sigmoid, sigmoid

__all__ = [
    "ESTIMATORS",
    "LEARNER_THETA_LIMIT",
    "THETA_LIMIT",
    "LearningRun",
    "RaceStep",
    "SampledUpdate",
    "compare_learning",
    "estimate_theta1",
    "exact_ascent_step",
    "expected_estimate",
    "learning_curves",
    "race_step",
    "reinforce_reference",
    "sampled_update",
]

Array = npt.NDArray[np.float64]

#: The single-episode estimates of ∂J/∂θ₁ a learner can use (see the module docstring).
ESTIMATORS = ("return", "reward_to_go", "no_discount")
#: How far θ₁ may go: σ(±20) is within 2e-9 of 0 or 1, the policy is decided.
THETA_LIMIT = 20.0
#: Learners' θ₁ is kept in [−LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT] so a wild step stays finite.
LEARNER_THETA_LIMIT = 20.0


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


# ---------------------------------------------------------------------------------------
# Variance → speed: many learners, sampled gradient ascent on θ₁
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearningRun:
    """K learners climbing J_c by sampled gradient ascent on θ₁ (θ₂ fixed).

    theta: θ₁ after each update, shape (updates + 1, learners), row 0 the start.
    objective: J_c(θ₁) of each learner at each point, same shape.
    """

    baseline: str
    theta: Array
    objective: Array

    @property
    def mean(self) -> Array:
        return self.objective.mean(axis=1)

    @property
    def std(self) -> Array:
        return self.objective.std(axis=1)


def learning_curves(baseline: str, **kwargs: Any) -> LearningRun:
    """One baseline's run of :func:`compare_learning` (same keyword arguments)."""
    name = _check_learning_baseline(baseline)
    return compare_learning((name,), **kwargs)[name]


def _check_learning_baseline(baseline: str) -> str:
    checked = _check_baseline(baseline)
    if not isinstance(checked, str):
        raise ValueError(f"baseline must be one of {', '.join(BASELINES)} for learning; got {baseline!r}")
    return checked


def _learning_step(
    theta: Array,
    rng: np.random.Generator,
    rows: dict[str, int],
    theta2: float,
    gamma: float,
    offset: float,
    m: int,
    alpha: float,
    discount_weight: bool,
) -> tuple[Array, Array]:
    """One update of every learner: θ (baselines, learners) → (new θ, the mean estimates used).

    Draws one (2, 1, learners, m) block of uniforms, shared by every baseline's row (common
    random numbers; see :func:`compare_learning` for the sampling formulas)."""
    learners = theta.shape[1]
    u_loops, u_goal = rng.random((2, 1, learners, m))  # shared by every baseline
    loops, goal = episodes_from_uniforms(u_loops, u_goal, theta[..., None], theta2)
    p1, q1 = np.exp(log_sigmoid(theta)[..., None]), np.exp(log_sigmoid(-theta)[..., None])
    t = _terms(loops, goal, p1, q1, gamma, offset, discount_weight)
    grad_terms = t.weighted.copy()  # "none" keeps X; the others subtract b·Y in their own row
    if "mean" in rows:
        i = rows["mean"]
        grad_terms[i] = t.weighted[i] - leave_one_out_mean(t.ret[i], axis=-1) * t.score[i]
    if "value" in rows:
        i = rows["value"]
        v = np.asarray(expected_return(theta[i], theta2, gamma, offset))
        grad_terms[i] = t.weighted[i] - v[:, None] * t.score[i]
    if "optimal" in rows:
        i = rows["optimal"]
        sums, _, _ = _moments_table(theta[i], theta2, gamma, offset, discount_weight, ("weighted_score", "score_sq"))
        b_star = np.where(sums["score_sq"] > 0, sums["weighted_score"] / np.maximum(sums["score_sq"], 1e-300), 0.0)
        grad_terms[i] = t.weighted[i] - b_star[:, None] * t.score[i]
    estimate = grad_terms.mean(axis=-1)
    return np.clip(theta + alpha * estimate, -LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT), estimate


@dataclass(frozen=True)
class RaceStep:
    """One update of two learners on the same episodes: without a baseline, and with one.

    theta: θ₁ of (no baseline, with baseline) after the update, shape (2,).
    estimate: the gradient estimate each used (mean over the update's episodes), shape (2,).
    objective: J_c at the new θ₁, shape (2,).
    """

    theta: Array
    estimate: Array
    objective: Array


def race_step(
    theta: npt.ArrayLike,
    rng: np.random.Generator,
    *,
    baseline: str = "value",
    theta2: float = 0.0,
    gamma: float = 0.9,
    reward_offset: float = 0.0,
    episodes_per_update: int = 4,
    step_size: float = 1.0,
    discount_weight: bool = True,
) -> RaceStep:
    """θ₁ ← θ₁ + α · (mean of ``episodes_per_update`` estimates) for a learner without a
    baseline and one with ``baseline``, both from the same uniforms (drawn from ``rng``).

    ``theta`` is the pair (no baseline, with baseline), shape (2,). Step after step this is
    exactly :func:`compare_learning` with ``("none", baseline)`` and one learner, when both
    draw from generators in the same state."""
    pair = logit_array("theta", theta)
    if pair.shape != (2,):
        raise ValueError(f"theta must be the pair (no baseline, with baseline), shape (2,), got {pair.shape}")
    name = _check_learning_baseline(baseline)
    if name == "none":
        raise ValueError("baseline must be one of mean, value, optimal: the race compares it with none")
    rng = generator(rng)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    offset = reward_shift("reward_offset", reward_offset)
    m = positive_int("episodes_per_update", episodes_per_update, maximum=10_000)
    if name == "mean" and m < 2:
        raise ValueError("episodes_per_update must be >= 2 for the 'mean' baseline")
    alpha = positive_float("step_size", step_size)
    discount_weight = flag("discount_weight", discount_weight)
    start = np.clip(pair, -LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT)[:, None]  # (2 rows, 1 learner)
    new, estimate = _learning_step(start, rng, {"none": 0, name: 1}, theta2, gamma, offset, m, alpha, discount_weight)
    objective = expected_return(new[:, 0], theta2, gamma, offset)
    return RaceStep(theta=new[:, 0].copy(), estimate=estimate[:, 0].copy(), objective=np.asarray(objective))


def exact_ascent_step(
    theta1: npt.ArrayLike,
    *,
    theta2: float = 0.0,
    gamma: float = 0.9,
    reward_offset: float = 0.0,
    step_size: float = 1.0,
) -> Array | float:
    """One step of gradient ascent with the exact gradient: θ₁ ← θ₁ + α · ∂J_c/∂θ₁.

    The noise-free learner the race's sampled learners are measured against: same start,
    same α, no episodes. ``theta1`` may be an array of any shape (one step for each entry);
    the result has its shape (a float for a scalar) and, like the sampled learners, is
    clipped to ±LEARNER_THETA_LIMIT.

    Example:
        >>> round(exact_ascent_step(0.0, step_size=1.0), 5)  # 0 + 1 · 0.17689…
        0.17689
    """
    t1 = np.clip(logit_array("theta1", theta1), -LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    offset = reward_shift("reward_offset", reward_offset)
    alpha = positive_float("step_size", step_size)
    grad = expected_return_grad(t1, theta2, gamma, offset)[0]
    return scalar_or_array(np.clip(t1 + alpha * grad, -LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT))


def compare_learning(
    baselines: tuple[str, ...] = BASELINES,
    *,
    rng: np.random.Generator,
    theta1_start: float = 0.0,
    theta2: float = 0.0,
    gamma: float = 0.9,
    reward_offset: float = 0.0,
    learners: int = 20,
    updates: int = 60,
    episodes_per_update: int = 4,
    step_size: float = 1.0,
    discount_weight: bool = True,
) -> dict[str, LearningRun]:
    """SGA θ₁ ← θ₁ + α · (mean of ``episodes_per_update`` estimates), for every learner of
    every baseline at once: θ has shape (baselines, learners); every uniform comes from ``rng``.

    Episodes come from shared uniforms (common random numbers): learner i of every baseline
    sees the same u's, so differences between baselines are not luck of the draw
    (grid1d.episodes_from_uniforms: the distribution of grid1d.sample_episodes by inverse CDF).
    "value" and "optimal" use each learner's exact V(S1) and b* at its current θ₁; "mean"
    the other episodes of the same update. θ₁ is clipped to ±LEARNER_THETA_LIMIT.
    """
    names = _check_baselines(baselines, _check_learning_baseline)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"baselines must be a non-empty tuple without repeats, got {baselines!r}")
    theta1_start = logit("theta1_start", theta1_start)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    offset = reward_shift("reward_offset", reward_offset)
    learners = positive_int("learners", learners, maximum=1000)
    updates = positive_int("updates", updates, maximum=10_000)
    m = positive_int("episodes_per_update", episodes_per_update, maximum=10_000)
    if "mean" in names and m < 2:
        raise ValueError("episodes_per_update must be >= 2 for the 'mean' baseline")
    alpha = positive_float("step_size", step_size)
    discount_weight = flag("discount_weight", discount_weight)
    rng = generator(rng)

    rows = {name: i for i, name in enumerate(names)}
    theta = np.full((len(names), learners), float(np.clip(theta1_start, -LEARNER_THETA_LIMIT, LEARNER_THETA_LIMIT)))
    path = np.empty((updates + 1, len(names), learners))
    path[0] = theta
    for step in range(updates):
        theta = _learning_step(theta, rng, rows, theta2, gamma, offset, m, alpha, discount_weight)[0]
        path[step + 1] = theta
    objective = np.asarray(expected_return(path, theta2, gamma, offset))
    return {name: LearningRun(baseline=name, theta=path[:, i], objective=objective[:, i]) for name, i in rows.items()}
