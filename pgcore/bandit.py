"""The K-armed bandit, where every quantity of a baselined score-function gradient is exact.

One step: pick arm A ~ π = softmax(h), receive R ~ N(μ_A, σ²). With ψ(a) = ∇_h log π(a)
= e_a − π (one-hot minus π, shape (K,)) and a constant baseline b, one estimate is

    ĝ = ψ(A) (R − b),      E[ĝ] = ∇_h J = π ⊙ (μ − J),   J = E[R] = π·μ

    Var ĝ_j(b) = Σ_a π_a ψ_j(a)² ((μ_a − b)² + σ²) − (∇_j J)²        (one parameter j)

Each Var ĝ_j is a parabola in b with its minimum at b*_j = E[ψ_j² R] / E[ψ_j²]; the single
b minimizing the total Σ_j Var ĝ_j is b* = E[|ψ|² R] / E[|ψ|²]. These equal E[R] = J only
when |ψ(a)| is the same for every arm with π_a > 0 (e.g. a uniform policy) or every arm
pays the same. With two arms, b* = π₂ μ₁ + π₁ μ₂: each arm weighted by the *other's* probability.

Example:
    >>> bandit = Bandit(preferences=(0.0, 0.0), means=(1.0, 0.0))
    >>> float(bandit.optimal_baseline), float(bandit.expected_reward)
    (0.5, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pgcore._checks import finite_array, instance, non_negative_float, positive_int, reward_shift, reward_shifts
from pgcore.policies import softmax

Array = npt.NDArray[np.float64]

MAX_ARMS = 50
MAX_SAMPLES = 5_000_000


@dataclass(frozen=True)
class Bandit:
    """A K-armed Gaussian bandit under a softmax policy (temperature 1).

    Fields:
        preferences: h, shape (K,); π = softmax(h).
        means: μ, shape (K,), the mean reward of each arm.
        noise_std: σ ≥ 0, the reward noise (the same for every arm).
    Derived in ``__post_init__``:
        probs: π, shape (K,).
        score: ψ, shape (K, K): row a is ∇_h log π(a) = e_a − π.
    """

    # Typed as arrays, which they are after __post_init__; any array-like (a list, a tuple) is
    # accepted at construction and converted there.
    preferences: Array
    means: Array
    noise_std: float = 0.0
    probs: Array = field(init=False)
    score: Array = field(init=False)

    def __post_init__(self) -> None:
        h = finite_array("preferences", self.preferences)
        mu = finite_array("means", self.means)
        if h.ndim != 1 or not 1 <= h.size <= MAX_ARMS:
            raise ValueError(f"preferences must be a 1-D array of 1 … {MAX_ARMS} entries, got shape {h.shape}")
        if mu.shape != h.shape:
            raise ValueError(f"means must have the same shape as preferences {h.shape}, got {mu.shape}")
        sigma = non_negative_float("noise_std", self.noise_std)
        probs = softmax(h)
        object.__setattr__(self, "preferences", h)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "noise_std", sigma)
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "score", np.eye(h.size) - probs[None, :])

    @property
    def k(self) -> int:
        return int(self.probs.size)

    @property
    def expected_reward(self) -> float:
        """J = E[R] = Σ_a π_a μ_a."""
        return float(self.probs @ self.means)

    @property
    def gradient(self) -> Array:
        """∇_h J = π ⊙ (μ − J), shape (K,)."""
        return self.probs * (self.means - self.expected_reward)

    @property
    def score_size(self) -> Array:
        """|ψ(a)|² = Σ_j (δ_aj − π_j)² = 1 − 2π_a + Σ_j π_j², shape (K,)."""
        return (self.score**2).sum(axis=1)

    def variance(self, b: npt.ArrayLike) -> Array:
        """Var ĝ_j for each constant baseline b: shape (*b.shape, K)."""
        bs = finite_array("b", b)
        sq = (self.means[None, :] - bs.reshape(-1, 1)) ** 2 + self.noise_std**2  # (m, K): E[(R−b)²|a]
        second = (sq * self.probs[None, :]) @ (self.score**2)  # Σ_a π_a ψ_j(a)² E[(R−b)²|a]
        var = np.maximum(second - self.gradient[None, :] ** 2, 0.0)
        return var.reshape(*bs.shape, self.k)

    def total_variance(self, b: npt.ArrayLike) -> Array | float:
        """Σ_j Var ĝ_j(b), the trace of the covariance; shape of b (a float for scalar b)."""
        total = self.variance(b).sum(axis=-1)
        return float(total) if np.ndim(total) == 0 else total

    @property
    def optimal_baselines(self) -> Array:
        """b*_j = E[ψ_j² R] / E[ψ_j²] for each parameter j, shape (K,)."""
        weights = self.probs[:, None] * self.score**2  # (a, j): π_a ψ_j(a)²
        mass = weights.sum(axis=0)
        safe = np.where(mass > 0, mass, 1.0)
        return np.where(mass > 0, (weights * self.means[:, None]).sum(axis=0) / safe, self.expected_reward)

    @property
    def optimal_baseline(self) -> float:
        """b* = E[|ψ|² R] / E[|ψ|²]: the one constant minimizing the total variance."""
        weights = self.probs * self.score_size
        mass = float(weights.sum())
        return float(weights @ self.means / mass) if mass > 0 else self.expected_reward

    @property
    def probability_reward_covariance(self) -> float:
        """Cov_π(π_a, μ_a) = Σ_a π_a² μ_a − (Σ_a π_a²)(Σ_a π_a μ_a).

        b* weights arm a by π_a |ψ(a)|² with |ψ(a)|² = 1 − 2π_a + Σπ², an affine function of
        π_a, so b* − E[R] = −2 Cov_π(π_a, μ_a) / E[|ψ|²]: b* = E[R] exactly when this is 0.
        """
        return float(self.probs**2 @ self.means - (self.probs @ self.probs) * self.expected_reward)

    def sample(self, n: int, rng: np.random.Generator, b: float = 0.0) -> BanditSamples:
        """n independent one-step estimates ĝ = ψ(A)(R − b), from a seeded Generator."""
        n = positive_int("n", n, maximum=MAX_SAMPLES)
        b = reward_shift("b", b)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        arms = np.minimum(np.searchsorted(np.cumsum(self.probs), rng.random(n), side="right"), self.k - 1)
        rewards = self.means[arms] + self.noise_std * rng.standard_normal(n)
        return BanditSamples(arms=arms, rewards=rewards, estimates=self.score[arms] * (rewards - b)[:, None])


@dataclass(frozen=True)
class BanditSamples:
    """arms (n,), rewards (n,), estimates ĝ (n, K)."""

    arms: npt.NDArray[np.int64]
    rewards: Array
    estimates: Array


def shifted(bandit: Bandit, offset: float) -> Bandit:
    """The same bandit with c added to every arm's mean: ∇J is unchanged, b* moves by c."""
    bandit = instance("bandit", bandit, Bandit)
    return Bandit(bandit.preferences, bandit.means + reward_shift("offset", offset), bandit.noise_std)


def variance_by_offset(bandit: Bandit, offsets: npt.ArrayLike) -> dict[str, Array]:
    """Total variance at each reward offset c for b = 0, b = E[R] and b = b*: shape (m,) each.

    b = 0 grows like c² E[|ψ|²]; the other two follow the shift and stay exactly flat.
    """
    bandit = instance("bandit", bandit, Bandit)
    cs = reward_shifts("offsets", offsets).ravel()
    # means + c with b = 0 is the same estimator as the original means with b = −c
    plain = np.atleast_1d(bandit.total_variance(-cs))
    # b = E[R] and b = b* move with the shift, so (R − b) and the variance do not change
    return {
        "b = 0": plain,
        "b = E[R]": np.full(cs.size, float(bandit.total_variance(bandit.expected_reward))),
        "b = b*": np.full(cs.size, float(bandit.total_variance(bandit.optimal_baseline))),
    }
