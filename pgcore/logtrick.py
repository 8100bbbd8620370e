"""The log-derivative trick on the 3-state grid, in numbers: single-episode gradient
estimates, their exact mean and spread by enumeration, Monte Carlo convergence curves, and
the biased estimator that forgets to divide by π.

Everything is about ∂J/∂θ₁, the parameter of the policy in S1. One episode τ gives

    ĝ(τ)   = (G(τ) − b) · Σ_t ∇θ₁ log π(a_t|s_t)        (the score-function estimate)
    ĝ_π(τ) = (G(τ) − b) · Σ_t ∇θ₁ π(a_t|s_t)            ("naive": the same, without dividing by π)

E[ĝ] = ∂J/∂θ₁ for any constant b; E[ĝ_π] is not, because ∇π = π ∇log π weights every step
by one extra factor π(a_t|s_t). (X and Y are kept for the two sums of ``estimators``.)

Example:
    >>> stats = estimator_stats(0.0)
    >>> round(stats.mean - stats.exact_gradient, 12)
    0.0
    >>> round(estimator_stats(0.0, divide_by_pi=False).mean / stats.exact_gradient, 12)
    0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgcore._checks import flag, generator, instance, positive_int, reward_shift
from pgcore.grid1d import (
    MAX_LISTED_LOOPS,
    Episodes,
    TrajectoryTable,
    enumerate_trajectories,
    exact_values,
    expected_return_grad,
    log_denominator,
    loop_cap,
    sample_episodes,
)
from pgcore.policies import sigmoid

Array = npt.NDArray[np.float64]


def pi_gradient_sum_theta1(episodes: Episodes) -> Array:
    """Σ_t ∂π(a_t|s_t)/∂θ₁ per episode, shape (n,): the score with the division by π left out.

    Only visits to S1 depend on θ₁: each Right adds σ(θ₁)(1 − σ(θ₁)), each Left subtracts it.
    An episode with k loops makes k + 1 Right moves in S1 if it reaches the goal, and k
    Right moves then one Left otherwise.
    """
    episodes = instance("episodes", episodes, Episodes)
    slope = float(sigmoid(episodes.theta1) * sigmoid(-episodes.theta1))
    return np.asarray(slope * (episodes.loops + np.where(episodes.reached_goal, 1.0, -1.0)), dtype=np.float64)


def single_estimates(episodes: Episodes, baseline: float = 0.0, *, divide_by_pi: bool = True) -> Array:
    """One gradient estimate per episode, shape (n,).

    divide_by_pi=True:  ĝ   = (G − b) · ∇θ₁ log P(τ)        (unbiased: E[ĝ] = ∂J/∂θ₁)
    divide_by_pi=False: ĝ_π = (G − b) · Σ_t ∇θ₁ π(a_t|s_t)  (biased)
    """
    episodes = instance("episodes", episodes, Episodes)
    baseline = reward_shift("baseline", baseline)
    divide_by_pi = flag("divide_by_pi", divide_by_pi)
    score = episodes.score_theta1 if divide_by_pi else pi_gradient_sum_theta1(episodes)
    return (episodes.returns - baseline) * score


def gradient_estimates(episodes: Episodes, baseline: float = 0.0) -> tuple[Array, Array]:
    """Both components of the score-function estimate per episode, shapes (n,) and (n,):
    ((G − b) ∇θ₁ log P(τ), (G − b) ∇θ₂ log P(τ)). Each averages to ∂J/∂θ₁, ∂J/∂θ₂."""
    episodes = instance("episodes", episodes, Episodes)
    baseline = reward_shift("baseline", baseline)
    weight = episodes.returns - baseline
    return weight * episodes.score_theta1, weight * episodes.score_theta2


def full_table(theta1: float, theta2: float = 0.0, gamma: float = 0.9) -> TrajectoryTable:
    """Every trajectory that matters: enumerated up to ``grid1d.loop_cap`` loops (the rest
    carry less than grid1d.TAIL_MASS)."""
    return enumerate_trajectories(theta1, theta2, gamma, max_loops=loop_cap(theta1, theta2))


@dataclass(frozen=True)
class EstimatorStats:
    """The exact distribution summary of one single-episode estimate, from enumeration."""

    exact_gradient: float  #: ∂J/∂θ₁, closed form
    mean: float  #: E[ĝ], Σ_τ P(τ) ĝ(τ)
    std: float  #: the standard deviation of ĝ over episodes
    wrong_way: float  #: P(ĝ has the opposite sign to ∂J/∂θ₁); 0 when ∂J/∂θ₁ = 0
    zero: float  #: P(ĝ = 0): episodes that do not move θ₁ at all
    missing_probability: float  #: mass of the trajectories left out (< TAIL_MASS unless looping forever)

    @property
    def bias(self) -> float:
        return self.mean - self.exact_gradient


def estimator_stats(
    theta1: float,
    theta2: float = 0.0,
    gamma: float = 0.9,
    baseline: float = 0.0,
    *,
    divide_by_pi: bool = True,
) -> EstimatorStats:
    """Mean, spread and sign errors of ĝ (or ĝ_π) by summing over all trajectories.

    mean = Σ_τ P(τ) ĝ(τ),   std = √(Σ_τ P(τ) ĝ(τ)² − mean²).
    """
    divide_by_pi = flag("divide_by_pi", divide_by_pi)
    table = full_table(theta1, theta2, gamma)
    estimate = single_estimates(table.episodes, baseline, divide_by_pi=divide_by_pi)
    p = table.probability
    mean = float(np.sum(p * estimate))
    second = float(np.sum(p * estimate * estimate))
    exact = float(expected_return_grad(table.episodes.theta1, table.episodes.theta2, gamma)[0])
    wrong = float(np.sum(p[estimate * exact < 0])) if exact != 0.0 else 0.0
    return EstimatorStats(
        exact_gradient=exact,
        mean=mean,
        std=math.sqrt(max(second - mean * mean, 0.0)),
        wrong_way=wrong,
        zero=float(np.sum(p[estimate == 0.0])),
        missing_probability=table.missing_probability,
    )


@dataclass(frozen=True)
class Convergence:
    """Sample means of N single-episode estimates against N, for both estimators.

    Fields of shape (m,) are indexed by the sample sizes in ``n``. Errors are root mean
    squares over ``repeats`` independent runs: √(mean_r (mean of N estimates − ∂J/∂θ₁)²).
    """

    n: npt.NDArray[np.int64]  #: sample sizes N, from 10 up to n_max, log-spaced
    rms_error: Array  #: of the ∇log π estimator: shrinks like σ/√N
    rms_error_naive: Array  #: of the ∇π estimator: stalls at its bias
    predicted: Array  #: σ/√N from the exact σ
    predicted_naive: Array  #: √(bias² + σ_π²/N), σ_π the spread of ĝ_π
    exact_gradient: float
    mean: float  #: pooled mean of all repeats · n_max estimates ĝ
    standard_error: float  #: its standard error, from the sample
    mean_naive: float  #: pooled mean of the estimates ĝ_π
    standard_error_naive: float
    naive_expectation: float  #: E[ĝ_π], exact
    repeats: int


def sample_sizes(n_max: int, n_points: int = 25, n_min: int = 10) -> npt.NDArray[np.int64]:
    """Distinct log-spaced sample sizes from n_min to n_max (inclusive), shape (≤ n_points,)."""
    n_max = positive_int("n_max", n_max, maximum=10**12)
    n_points = positive_int("n_points", n_points, maximum=1000)
    n_min = positive_int("n_min", n_min, maximum=10**12)
    if n_min > n_max:
        raise ValueError(f"n_min must be <= n_max, got n_min={n_min}, n_max={n_max}")
    return np.unique(np.round(np.geomspace(n_min, n_max, n_points)).astype(np.int64))


def _cumulative_means(estimates: Array, n: npt.NDArray[np.int64]) -> Array:
    """Mean of the first n[i] entries of every row, shape (rows, len(n)), without a full cumsum
    (what ``estimators.cumulative_mean`` gives for one row)."""
    starts = np.concatenate(([0], n[:-1]))
    block_sums = np.add.reduceat(estimates, starts, axis=1)
    return np.cumsum(block_sums, axis=1) / n


def _estimates_by_lookup(episodes: Episodes, baseline: float) -> tuple[Array, Array]:
    """ĝ and ĝ_π for every episode, shape (n,) each.

    Both depend only on (loops, reached_goal), so they are computed once per kind of
    trajectory (row 2k + goal of the enumeration) and gathered: the same numbers as
    ``single_estimates`` on the episodes, several times faster for long batches.
    """
    most_loops = int(episodes.loops.max())
    if most_loops > MAX_LISTED_LOOPS:
        return (single_estimates(episodes, baseline), single_estimates(episodes, baseline, divide_by_pi=False))
    kinds = enumerate_trajectories(episodes.theta1, episodes.theta2, episodes.gamma, max_loops=most_loops).episodes
    row = 2 * episodes.loops + episodes.reached_goal
    return (single_estimates(kinds, baseline)[row], single_estimates(kinds, baseline, divide_by_pi=False)[row])


def convergence_curve(
    theta1: float,
    theta2: float = 0.0,
    gamma: float = 0.9,
    baseline: float = 0.0,
    *,
    n_max: int = 100_000,
    n_points: int = 25,
    repeats: int = 4,
    rng: np.random.Generator,
) -> Convergence:
    """Monte Carlo error against the number of episodes N, for ĝ and ĝ_π on the same episodes.

    Draws ``repeats`` independent runs of n_max episodes with ``sample_episodes``, all from
    ``rng`` one after the other, and measures each run's cumulative mean at the sizes
    ``sample_sizes(n_max, n_points)``. The pooled mean uses all repeats · n_max episodes.
    """
    n_max = positive_int("n_max", n_max, maximum=2_000_000)
    repeats = positive_int("repeats", repeats, maximum=1000)
    if repeats * n_max > 4_000_000:
        raise ValueError(f"repeats * n_max must be <= 4,000,000, got {repeats} * {n_max}")
    rng = generator(rng)
    n = sample_sizes(n_max, n_points)
    exact = estimator_stats(theta1, theta2, gamma, baseline)
    naive = estimator_stats(theta1, theta2, gamma, baseline, divide_by_pi=False)
    means, means_naive = np.empty((repeats, n.size)), np.empty((repeats, n.size))
    # totals of ĝ, ĝ², ĝ_π, ĝ_π² over everything, for the pooled means and standard errors
    totals = np.zeros(4)
    for r in range(repeats):  # one run at a time: arrays that fit in cache are much faster
        episodes = sample_episodes(theta1, n_max, rng, theta2=theta2, gamma=gamma)
        estimate, naive_estimate = _estimates_by_lookup(episodes, baseline)
        means[r] = _cumulative_means(estimate[None, :], n)[0]
        means_naive[r] = _cumulative_means(naive_estimate[None, :], n)[0]
        # not np.dot: BLAS threads cost more here
        totals += (estimate.sum(), (estimate * estimate).sum(), naive_estimate.sum(), (naive_estimate**2).sum())
    g = exact.exact_gradient
    size = float(repeats * n_max)

    def pooled(total: float, total_sq: float) -> tuple[float, float]:
        mean = total / size
        if size < 2:
            return mean, 0.0
        variance = max(total_sq - size * mean * mean, 0.0) / (size - 1)
        return mean, math.sqrt(variance / size)

    mean, se = pooled(totals[0], totals[1])
    mean_naive, se_naive = pooled(totals[2], totals[3])
    return Convergence(
        n=n,
        rms_error=np.sqrt(np.mean((means - g) ** 2, axis=0)),
        rms_error_naive=np.sqrt(np.mean((means_naive - g) ** 2, axis=0)),
        predicted=exact.std / np.sqrt(n),
        predicted_naive=np.sqrt(naive.bias**2 + naive.std**2 / n),
        exact_gradient=g,
        mean=mean,
        standard_error=se,
        mean_naive=mean_naive,
        standard_error_naive=se_naive,
        naive_expectation=naive.mean,
        repeats=repeats,
    )


@dataclass(frozen=True)
class S1Decomposition:
    """∂J/∂θ₁ by the policy gradient theorem: (discounted visits to S1) × (one visit's gradient).

    one_visit = Σ_a ∇θ₁π(a|S1) Q^π(S1, a) = E_a[∇θ₁ log π(a|S1) A^π(S1, a)]
              = σ(θ₁)(1 − σ(θ₁)) (Q^π(S1, Right) − Q^π(S1, Left))
    visits    = Σ_k (γ² σ(θ₁)(1 − σ(θ₂)))^k = 1 / (1 − γ² σ(θ₁)(1 − σ(θ₂)))
    """

    visits: float
    one_visit: float

    @property
    def gradient(self) -> float:
        return self.visits * self.one_visit


def s1_decomposition(theta1: float, theta2: float = 0.0, gamma: float = 0.9) -> S1Decomposition:
    """The two factors of ∂J/∂θ₁ in S1 (the only state θ₁ acts in); their product is exact.

    The visits are 1/D with D = 1 − γ²σ(θ₁)(1 − σ(θ₂)) from ``grid1d.log_denominator`` (a sum
    of non-negative terms, so nothing cancels). D is 0 only for a policy that loops forever at
    γ = 1 (then it underflows to 0 once |θ| ≳ 745).
    """
    values = exact_values(theta1, theta2, gamma)  # checks θ₁, θ₂ and γ
    p1, q1 = float(sigmoid(theta1)), float(sigmoid(-theta1))
    stop = math.exp(float(log_denominator(float(theta1), float(theta2), float(gamma))))
    if stop <= 0.0:
        raise ValueError(f"theta1={theta1!r}, theta2={theta2!r} at gamma=1 loop forever: S1 is visited without end")
    return S1Decomposition(visits=1.0 / stop, one_visit=p1 * q1 * (values.q_s1_right - values.q_s1_left))
