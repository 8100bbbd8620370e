"""Score-function estimates of ∂J/∂θ₁ on the 3-state grid, with and without baselines:
vectorized per-episode samples, their exact mean and variance, and the variance-optimal
baseline (which is not E[G]).

One episode gives one estimate, a sum over its visits to S1 (the only place θ₁ acts)::

    ĝ(b) = Σ_t γᵗ ψ_t (G_t − b) = X − b·Y,     ψ_t = ∂ log π(a_t|S1)/∂θ₁ = 1 − p₁ (Right) or −p₁ (Left)

    X = Σ_t γᵗ ψ_t G_t   ("weighted": the score weighted by the returns)
    Y = Σ_t γᵗ ψ_t       ("score": what a baseline multiplies)

(or both without the γᵗ weight). X and Y mean these two sums everywhere in pgcore and on
the Baselines page; ``EpisodeTerms.weighted`` and ``.score`` hold them.

Every episode is k loops S1 →R S2 →L S1 and then an ending, so S1 is visited at
t = 0, 2, …, 2k, action Right at every visit but possibly the last, and every sum over
visits is a geometric series in k. With g = γ², e = 1 if the goal is reached, c the reward
offset added to every reward, S_g(k) = Σ_{l<k} g^l, M_g(k) = Σ_{l<k} (l+1) g^l and
R_g(k) = Σ_{l<k} (k−l) g^l, the closed forms are

    score, γᵗ dropped      Y_u = Σ_t ψ_t          = k q₁ + ψ_end          (q₁ = 1 − p₁)
    score                  Y   = Σ_t γᵗ ψ_t       = q₁ S_g(k) + ψ_end g^k
    return                 G₀  = c[(1+γ) S_g(k) + (1+eγ) g^k] + e γ g^k
    weighted               X   = Σ_t γᵗ ψ_t G_t   = e γ^{2k+1} Y_u + c[q₁(1+γ) M_g(k) + (1+eγ) g^k Y_u]
    weighted, γᵗ dropped   X_u = Σ_t ψ_t G_t      = e γ[q₁ g S_g(k) + ψ_end]
                                 + c[q₁((1+γ) R_g(k) + (1+eγ) g S_g(k)) + ψ_end (1+eγ)]

Every visit is to S1, so every baseline here (a constant, the batch mean, V(S1), b*) is one
number per episode and ĝ(b) = X − b·Y. Since E[Y] = 0, Var ĝ(b) is a parabola in b with
its minimum at b* = E[X Y] / E[Y²] — a score-weighted average of returns, not E[G].

J_c and ∂J_c/∂θ₁ themselves come from ``grid1d.expected_return`` / ``expected_return_grad``
(with ``reward_offset=c``), trajectories and the loop cap from ``grid1d`` too.

Example:
    >>> x = gradient_samples(0.0, 100_000, np.random.default_rng(1), baseline="optimal")
    >>> bool(abs(x.mean() - 0.177) < 0.01)      # ∂J/∂θ₁ at θ = 0 is 0.17689…
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import (
    discount,
    finite_array,
    flag,
    generator,
    logit,
    positive_int,
    reward_shift,
    reward_shifts,
    whole_number,
)
from pgcore.grid1d import (
    MAX_SAMPLES,
    Episodes,
    log_probability,
    loop_cap,
    sample_episodes,
    scalar_or_array,
    trajectory_kinds,
)
from pgcore.policies import log_sigmoid, sigmoid

Array = npt.NDArray[np.float64]

#: Named baselines; a plain float is a constant baseline.
BASELINES = ("none", "mean", "value", "optimal")


# ---------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------


def _check_baseline(baseline: str | float) -> str | float:
    if isinstance(baseline, str):
        if baseline.lower() not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(BASELINES)} or a number; got {baseline!r}")
        return baseline.lower()
    return reward_shift("baseline", baseline)


def _check_baselines(baselines: Any, check: Any) -> tuple[Any, ...]:
    """A non-empty tuple or list of distinct baselines, each passed through ``check``."""
    if isinstance(baselines, (str, bytes)) or not isinstance(baselines, (tuple, list)) or not baselines:
        raise ValueError(f"baselines must be a non-empty tuple of baselines, got {baselines!r}")
    checked = []
    for index, baseline in enumerate(baselines):
        try:
            checked.append(check(baseline))
        except ValueError as err:
            raise ValueError(f"baselines[{index}]: {err}") from None
    return tuple(checked)


# ---------------------------------------------------------------------------------------
# Geometric sums in k, stable for γ → 1 and exact at γ = 0 and γ = 1
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sums:
    power: Array  #: g^k
    s: Array  #: S_g(k) = Σ_{l<k} g^l
    m: Array | None  #: M_g(k) = Σ_{l<k} (l+1) g^l   (only when asked for)
    r: Array | None  #: R_g(k) = Σ_{l<k} (k−l) g^l   (only when asked for)


def _sums(g: float, loops: npt.NDArray[np.int64], *, want_m: bool = False, want_r: bool = False) -> _Sums:
    k = loops.astype(np.float64)
    if g == 1.0:
        triangle = k * (k + 1.0) / 2.0 if (want_m or want_r) else None
        return _Sums(power=np.ones_like(k), s=k, m=triangle, r=triangle)
    if g == 0.0:
        power = (loops == 0).astype(np.float64)
        s = 1.0 - power
        return _Sums(power=power, s=s, m=s, r=k)
    log_g = math.log(g)
    scaled = k * log_g
    power = np.exp(scaled)
    s = np.expm1(scaled) / math.expm1(log_g)  # (1 − g^k)/(1 − g) without cancellation
    one_minus_g = -math.expm1(log_g)
    m = (s - k * power) / one_minus_g if want_m else None  # (1 − g) M = S − k g^k
    r = (k - g * s) / one_minus_g if want_r else None  # (1 − g) R = k − g S
    return _Sums(power=power, s=s, m=m, r=r)


# ---------------------------------------------------------------------------------------
# Per-episode terms
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeTerms:
    """What one episode contributes, for a whole batch (every field shape (n,)).

    ret:      G₀, the discounted return from t = 0 (with the reward offset).
    weighted: X = Σ_t γᵗ ψ_t G_t, or Σ_t ψ_t G_t without the γᵗ weight.
    score:    Y = Σ_t γᵗ ψ_t, or Σ_t ψ_t without the weight: what a baseline multiplies.
    An estimate with a per-episode baseline b is X − b·Y.
    """

    ret: Array
    weighted: Array
    score: Array


def _terms(
    loops: npt.NDArray[np.int64],
    goal: npt.NDArray[np.bool_],
    p1: Any,
    q1: Any,
    gamma: float,
    offset: float,
    discount_weight: bool,
) -> EpisodeTerms:
    """Closed forms of the module docstring; p1/q1 scalars or arrays broadcasting to loops."""
    with_offset = offset != 0.0
    sums = _sums(
        gamma * gamma, loops, want_m=with_offset and discount_weight, want_r=with_offset and not discount_weight
    )
    e = goal.astype(np.float64)
    psi_end = np.where(goal, q1, -p1)
    score_sum: Any = q1 * loops + psi_end  # Y_u
    end_factor = 1.0 + e * gamma  # 1 + eγ
    ret: Any = offset * ((1.0 + gamma) * sums.s + end_factor * sums.power) + e * gamma * sums.power
    if discount_weight:
        score: Any = q1 * sums.s + psi_end * sums.power
        weighted: Any = e * gamma * sums.power * score_sum
        if with_offset:
            assert sums.m is not None  # asked for above (want_m)
            weighted = weighted + offset * (q1 * (1.0 + gamma) * sums.m + end_factor * sums.power * score_sum)
    else:
        score = score_sum
        g_s = gamma * gamma * sums.s
        weighted = e * gamma * (q1 * g_s + psi_end)
        if with_offset:
            assert sums.r is not None  # asked for above (want_r)
            weighted = weighted + offset * (q1 * ((1.0 + gamma) * sums.r + end_factor * g_s) + psi_end * end_factor)
    return EpisodeTerms(
        ret=np.asarray(ret, dtype=np.float64),
        weighted=np.asarray(weighted, dtype=np.float64),
        score=np.asarray(score, dtype=np.float64),
    )


def episode_terms(episodes: Episodes, *, reward_offset: float = 0.0, discount_weight: bool = True) -> EpisodeTerms:
    """G₀, X and Y for every episode of a batch from ``grid1d.sample_episodes``.

    Args:
        episodes: the batch (its θ₁ and γ are used).
        reward_offset: c, added to every reward of every step.
        discount_weight: keep the γᵗ factor (unbiased for the discounted J) or drop it.
    """
    if not isinstance(episodes, Episodes):
        raise ValueError(f"episodes must be a grid1d.Episodes, got {type(episodes).__name__}")
    offset = reward_shift("reward_offset", reward_offset)
    discount_weight = flag("discount_weight", discount_weight)
    p1, q1 = float(sigmoid(episodes.theta1)), float(sigmoid(-episodes.theta1))
    return _terms(episodes.loops, episodes.reached_goal, p1, q1, episodes.gamma, offset, discount_weight)


def leave_one_out_mean(values: Array, axis: int = -1) -> Array:
    """For each entry, the mean of the *other* entries along ``axis`` (same shape).

    Independent of the entry it is subtracted from, so a baseline built this way stays unbiased.
    """
    values = finite_array("values", values)
    if values.ndim == 0:
        raise ValueError("values must have at least one axis")
    axis = whole_number("axis", axis, -values.ndim, values.ndim - 1)
    n = values.shape[axis]
    if n < 2:
        raise ValueError(f"values must have at least 2 entries along axis {axis} for a leave-one-out mean")
    total = values.sum(axis=axis, keepdims=True)
    return (total - values) / (n - 1)


# ---------------------------------------------------------------------------------------
# Exact moments by enumerating trajectories
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimatorMoments:
    """Exact moments of one episode's (G₀, X, Y), summed over all trajectories with P(τ).

    X is the weighted sum, Y the score (see the module docstring); ĝ(b) = X − bY.
    Var ĝ(b) = E[X²] − 2b E[XY] + b² E[Y²] − E[X]²   (E[Y] = 0), minimal at b* = E[XY]/E[Y²].
    """

    mean: float  #: E[X]: ∂J/∂θ₁ when the γᵗ weight is kept, biased without it
    weighted_sq: float  #: E[X²]
    weighted_score: float  #: E[X Y]
    score_sq: float  #: E[Y²]
    score_mean: float  #: E[Y] — zero: the lemma E[∇log π] = 0, summed over the episode
    return_mean: float  #: E[G₀] = J_c = V(S1)
    return_sq: float  #: E[G₀²]
    missing_probability: float  #: mass of trajectories longer than the enumeration cap
    max_loops: int  #: the cap

    @property
    def optimal_baseline(self) -> float:
        """b* = E[X Y] / E[Y²]: the constant that minimizes the variance."""
        return self.weighted_score / self.score_sq if self.score_sq > 0 else 0.0

    @property
    def return_variance(self) -> float:
        return max(self.return_sq - self.return_mean**2, 0.0)

    def variance(self, b: npt.ArrayLike) -> Array | float:
        """Var ĝ(b) = Var(X − bY) for a constant baseline b (scalar or array of b's, same shape out)."""
        b = finite_array("b", b)
        v = self.weighted_sq - 2.0 * b * self.weighted_score + b * b * self.score_sq - self.mean**2
        return scalar_or_array(np.maximum(v, 0.0))

    def variance_of(self, baseline: str | float, n: int = 2) -> float:
        """Exact variance of one per-episode estimate under a named or constant baseline.

        "mean" is the leave-one-out mean of the other n − 1 returns, independent of the
        episode: Var = Var ĝ(J) + E[Y²] Var(G₀) / (n − 1).
        """
        baseline = _check_baseline(baseline)
        if baseline == "none":
            return float(self.variance(0.0))
        if baseline == "value":
            return float(self.variance(self.return_mean))
        if baseline == "optimal":
            return float(self.variance(self.optimal_baseline))
        if baseline == "mean":
            n = positive_int("n", n)
            if n < 2:
                raise ValueError("n must be >= 2 for the 'mean' baseline (it averages the other episodes)")
            return float(self.variance(self.return_mean)) + self.score_sq * self.return_variance / (n - 1)
        return float(self.variance(baseline))


_ALL_MOMENTS = ("mean", "weighted_sq", "weighted_score", "score_sq", "score_mean", "return_mean", "return_sq")


def _moments_table(
    theta1: Array,
    theta2: float,
    gamma: float,
    offset: float,
    discount_weight: bool,
    want: tuple[str, ...] = _ALL_MOMENTS,
) -> tuple[dict[str, Array], int, Array]:
    """Moment sums for an array of θ₁ (shape (L,)): each a (L,) array, plus cap and missing mass.

    Every trajectory with k ≤ grid1d.loop_cap(θ₁, θ₂) loops (one cap for the loopiest θ₁),
    as a (L, 2(cap + 1)) table of P(τ) and of (G₀, X, Y)."""
    cap = loop_cap(theta1, theta2)
    kinds = trajectory_kinds(cap)
    loops, goal = kinds[0][None, :], kinds[1][None, :]  # (1, 2(cap+1))
    prob = np.exp(log_probability(loops, goal, theta1[:, None], theta2))  # (L, 2(cap+1))
    p1, q1 = np.exp(log_sigmoid(theta1))[:, None], np.exp(log_sigmoid(-theta1))[:, None]
    t = _terms(loops, goal, p1, q1, gamma, offset, discount_weight)
    x, y, g = t.weighted, t.score, t.ret
    products = {
        "mean": lambda: x,
        "weighted_sq": lambda: x * x,
        "weighted_score": lambda: x * y,
        "score_sq": lambda: y * y,
        "score_mean": lambda: y,
        "return_mean": lambda: g,
        "return_sq": lambda: g * g,
    }
    out = {name: (prob * products[name]()).sum(1) for name in want}
    missing = np.maximum(1.0 - prob.sum(1), 0.0)
    return out, cap, missing


def exact_moments(
    theta1: float, theta2: float = 0.0, gamma: float = 0.9, reward_offset: float = 0.0, discount_weight: bool = True
) -> EstimatorMoments:
    """Exact E[X], E[X²], E[XY], E[Y²], E[G₀], E[G₀²] by summing over every trajectory
    with k ≤ grid1d.loop_cap(θ₁, θ₂) loops (tail mass < grid1d.TAIL_MASS, at most
    grid1d.MAX_LISTED_LOOPS)."""
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    gamma = discount(gamma)
    offset = reward_shift("reward_offset", reward_offset)
    discount_weight = flag("discount_weight", discount_weight)
    sums, cap, missing = _moments_table(np.array([theta1]), theta2, gamma, offset, discount_weight)
    return EstimatorMoments(
        **{name: float(v[0]) for name, v in sums.items()}, missing_probability=float(missing[0]), max_loops=cap
    )


def variance_by_offset(
    offsets: npt.ArrayLike,
    theta1: float,
    theta2: float = 0.0,
    gamma: float = 0.9,
    *,
    n: int = 2,
    discount_weight: bool = True,
) -> dict[str, Array]:
    """Exact Var of one estimate for each named baseline at each reward offset c: shape (m,) each."""
    cs = reward_shifts("offsets", offsets).ravel()
    n = positive_int("n", n, maximum=MAX_SAMPLES)
    out = {name: np.empty(cs.size) for name in BASELINES}
    for i, c in enumerate(cs):
        mom = exact_moments(theta1, theta2, gamma, float(c), discount_weight)
        for name in BASELINES:
            out[name][i] = mom.variance_of(name, n)
    return out


# ---------------------------------------------------------------------------------------
# Sampled estimates
# ---------------------------------------------------------------------------------------


def _baseline_per_episode(
    baseline: str | float, terms: EpisodeTerms, moments: EstimatorMoments | None
) -> float | Array:
    if baseline == "none":
        return 0.0
    if baseline == "mean":
        return leave_one_out_mean(terms.ret)
    if baseline in ("value", "optimal"):
        if moments is None:
            raise ValueError(f"baseline {baseline!r} needs the exact moments")
        return moments.return_mean if baseline == "value" else moments.optimal_baseline
    return float(baseline)


def gradient_samples(
    theta1: float,
    n: int,
    rng: np.random.Generator,
    *,
    baseline: str | float = "none",
    gamma: float = 0.9,
    theta2: float = 0.0,
    reward_offset: float = 0.0,
    discount_weight: bool = True,
) -> Array:
    """n per-episode estimates of ∂J/∂θ₁, shape (n,): ĝ(b) = Σ_t γᵗ ψ_t (G_t − b) = X − bY
    over the visits to S1.

    Args:
        theta1, theta2: the policy; gamma: the discount in [0, 1].
        n: number of episodes (1 … 20,000,000; at least 2 for "mean").
        baseline: "none"; a number (a constant b); "mean": the mean G₀ of the *other*
            episodes in the batch (leave-one-out, so unbiased; estimates then share a tiny
            O(1/n²) covariance); "value": the exact V^π(S1) (every visit is to S1);
            "optimal": the exact variance-minimizing constant b* = E[XY]/E[Y²].
        rng: the episodes are drawn from it; generators in the same state give the same
            episodes, whichever baseline.
        reward_offset: c added to every reward (it changes J; see grid1d.expected_return_grad).
        discount_weight: drop γᵗ (as much code does) to see the bias that costs.

    Example:
        >>> gradient_samples(0.0, 3, np.random.default_rng(0)).shape
        (3,)
    """
    n = positive_int("n", n, maximum=MAX_SAMPLES)
    baseline = _check_baseline(baseline)
    if baseline == "mean" and n < 2:
        raise ValueError("n must be >= 2 for the 'mean' baseline (it averages the other episodes)")
    return compare_baselines(
        theta1,
        n,
        rng,
        baselines=(baseline,),
        gamma=gamma,
        theta2=theta2,
        reward_offset=reward_offset,
        discount_weight=discount_weight,
    )[baseline]


def compare_baselines(
    theta1: float,
    n: int,
    rng: np.random.Generator,
    *,
    baselines: tuple[str | float, ...] = BASELINES,
    gamma: float = 0.9,
    theta2: float = 0.0,
    reward_offset: float = 0.0,
    discount_weight: bool = True,
) -> dict[str | float, Array]:
    """The same n episodes (drawn from ``rng``) estimated under each baseline:
    {baseline: shape (n,) array of X − b·Y}."""
    theta1 = logit("theta1", theta1)
    theta2 = logit("theta2", theta2)
    n = positive_int("n", n, maximum=MAX_SAMPLES)
    gamma = discount(gamma)
    rng = generator(rng)
    offset = reward_shift("reward_offset", reward_offset)
    discount_weight = flag("discount_weight", discount_weight)
    checked = _check_baselines(baselines, _check_baseline)
    if "mean" in checked and n < 2:
        raise ValueError("n must be >= 2 for the 'mean' baseline (it averages the other episodes)")
    episodes = sample_episodes(theta1, n, rng, theta2=theta2, gamma=gamma)
    terms = episode_terms(episodes, reward_offset=offset, discount_weight=discount_weight)
    moments = None
    if "value" in checked or "optimal" in checked:
        moments = exact_moments(theta1, theta2, gamma, offset, discount_weight)
    return {b: terms.weighted - _baseline_per_episode(b, terms, moments) * terms.score for b in checked}


def score_samples(theta1: float, n: int, rng: np.random.Generator, *, gamma: float = 0.9, theta2: float = 0.0) -> Array:
    """Σ_t ∇θ₁ log π(a_t|s_t) for n episodes drawn from ``rng``, shape (n,): mean zero (the lemma)."""
    theta1 = logit("theta1", theta1)
    episodes = sample_episodes(
        theta1,
        positive_int("n", n, maximum=MAX_SAMPLES),
        generator(rng),
        theta2=theta2,
        gamma=gamma,
    )
    return episodes.score_theta1


@dataclass(frozen=True)
class SampleSummary:
    """Mean, std, variance and standard error of n estimates, and the reduction vs a reference."""

    mean: float
    std: float
    variance: float
    standard_error: float
    n: int


def summarize(samples: npt.ArrayLike) -> SampleSummary:
    """Mean, sample std (ddof = 1), variance and standard error std/√n of a 1-D array."""
    x = finite_array("samples", samples).ravel()
    if x.size < 2:
        raise ValueError(f"samples must hold at least 2 numbers, got {x.size}")
    var = float(x.var(ddof=1))
    return SampleSummary(
        mean=float(x.mean()), std=math.sqrt(var), variance=var, standard_error=math.sqrt(var / x.size), n=int(x.size)
    )


def empirical_variance_curve(terms_weighted: Array, terms_score: Array, b: npt.ArrayLike) -> Array:
    """Sample variance of X − b·Y over a grid of constant b, shape of b: a measured parabola."""
    x = finite_array("terms_weighted", terms_weighted).ravel()
    y = finite_array("terms_score", terms_score).ravel()
    bs = finite_array("b", b)
    if x.size != y.size or x.size < 2:
        raise ValueError("terms_weighted and terms_score must have the same length >= 2")
    xc, yc = x - x.mean(), y - y.mean()
    vxx, vxy, vyy = (xc @ xc) / (x.size - 1), (xc @ yc) / (x.size - 1), (yc @ yc) / (x.size - 1)
    return np.maximum(vxx - 2.0 * bs * vxy + bs * bs * vyy, 0.0)


def cumulative_mean(samples: npt.ArrayLike, points: int = 400) -> tuple[npt.NDArray[np.int64], Array]:
    """The mean of the first m samples, (1/m) Σ_{i≤m} xᵢ, at ≤ ``points`` log-spaced m from 1
    to len(samples): (m, mean), both shape (≤ points,). Not a moving-window mean."""
    x = finite_array("samples", samples).ravel()
    if x.size == 0:
        raise ValueError("samples must not be empty")
    points = positive_int("points", points)
    m = np.unique(np.geomspace(1, x.size, num=min(points, x.size)).round().astype(np.int64))
    return m, np.cumsum(x)[m - 1] / m


# ---------------------------------------------------------------------------------------
# The seed's two-trajectory arithmetic
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoSampleArithmetic:
    """ψ·G and ψ·(G − b) for a handful of trajectories (every field shape (m,) or a float)."""

    returns: Array
    scores: Array
    baseline: float
    plain: Array  #: ψ_i G_i
    with_baseline: Array  #: ψ_i (G_i − b)
    plain_mean: float
    with_baseline_mean: float
    mean_score: float  #: the sample mean of ψ — zero only in expectation
    shift: float  #: plain_mean − with_baseline_mean = b · mean_score


def baseline_arithmetic(returns: npt.ArrayLike, scores: npt.ArrayLike, baseline: float) -> TwoSampleArithmetic:
    """The seed's example: returns (100, 90), scores (0.5, −0.3), b = 95 → (50, −27) → (2.5, 1.5)."""
    g = finite_array("returns", returns).ravel()
    psi = finite_array("scores", scores).ravel()
    b = reward_shift("baseline", baseline)
    if g.size == 0 or g.size != psi.size:
        raise ValueError(f"returns and scores must have the same non-zero length, got {g.size} and {psi.size}")
    plain, shifted = psi * g, psi * (g - b)
    return TwoSampleArithmetic(
        returns=g,
        scores=psi,
        baseline=b,
        plain=plain,
        with_baseline=shifted,
        plain_mean=float(plain.mean()),
        with_baseline_mean=float(shifted.mean()),
        mean_score=float(psi.mean()),
        shift=float(b * psi.mean()),
    )
