"""Policy parameterizations and their exact gradients: sigmoid (two actions), softmax over
preferences (K actions, with temperature) and softmax over linear preferences θ·φ(s, a).

Every function is numerically stable for extreme inputs (θ = ±1000, logits spanning
thousands) and raises ``ValueError`` naming the argument for NaN/inf or bad shapes.

Example:
    >>> p = two_action_policy(0.0)
    >>> float(p.pi_right), float(p.grad_pi_right), float(p.score_right)
    (0.5, 0.25, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pgcore._checks import finite_array, float_in_range, logit_array

Array = npt.NDArray[np.float64]

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "softmax",
    "log_softmax",
    "two_action_policy",
    "TwoActionPolicy",
    "softmax_policy",
    "SoftmaxPolicy",
    "linear_preferences",
    "linear_softmax_policy",
    "LinearSoftmaxPolicy",
]


# ---------------------------------------------------------------------------------------
# Elementary functions
# ---------------------------------------------------------------------------------------


def _sigmoid(x: Array) -> Array:
    # exp(-|x|) never overflows; the two branches are the same function written so
    # that neither divides large by large.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid(x: npt.ArrayLike) -> Array:
    """σ(x) = 1 / (1 + e^{-x}), elementwise; same shape as ``x``.

    >>> float(sigmoid(0.0))
    0.5
    """
    return _sigmoid(finite_array("x", x))


def log_sigmoid(x: npt.ArrayLike) -> Array:
    """log σ(x) = min(x, 0) − log(1 + e^{−|x|}), elementwise, finite for any finite x."""
    x = finite_array("x", x)
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


#: Temperatures outside [1e-3, 1e3] are refused: below, every softmax is already one-hot to
#: the last digit; above, uniform. Dividing by T = 1e-320 overflowed to inf − inf = NaN.
MIN_TEMPERATURE, MAX_TEMPERATURE = 1e-3, 1e3


def _temperature(value: float) -> float:
    return float_in_range("temperature", value, MIN_TEMPERATURE, MAX_TEMPERATURE)


def _scaled_logits(logits: npt.ArrayLike, temperature: float) -> Array:
    """z / T for logits |z| ≤ 1e6 and T in [1e-3, 1e3]: at most 2·10⁹ apart, so the shifted
    exponents below never overflow."""
    z = logit_array("logits", logits)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits must have at least one entry on the last axis, got shape {z.shape}")
    return z / _temperature(temperature)


def log_softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> Array:
    """log softmax(z / T) over the last axis: z/T − max − log Σ exp(z/T − max). Shape of ``logits``."""
    z = _scaled_logits(logits, temperature)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> Array:
    """softmax(z / T)_a = exp(z_a / T) / Σ_b exp(z_b / T) over the last axis.

    Subtracting the max first keeps every exponent ≤ 0, so nothing overflows.

    >>> np.round(softmax([2.0, 1.0, 0.5]), 2).tolist()
    [0.63, 0.23, 0.14]
    """
    z = _scaled_logits(logits, temperature)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------
# Two actions: π(Right) = σ(θ), π(Left) = 1 − σ(θ)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoActionPolicy:
    """The sigmoid policy at θ, every field the same shape as θ.

    π(R) = σ(θ)              ∇π(R) = σ(1−σ)     ∇log π(R) = 1 − σ
    π(L) = 1 − σ(θ)          ∇π(L) = −σ(1−σ)    ∇log π(L) = −σ
    """

    theta: Array
    pi_right: Array
    pi_left: Array
    grad_pi_right: Array
    grad_pi_left: Array
    score_right: Array
    score_left: Array

    @property
    def mean_score(self) -> Array:
        """E_a[∇log π(a)] = π(R)(1−σ) + π(L)(−σ) — identically zero."""
        return self.pi_right * self.score_right + self.pi_left * self.score_left


def two_action_policy(theta: npt.ArrayLike) -> TwoActionPolicy:
    """The two-action sigmoid policy and its gradients at θ (scalar or array)."""
    theta = finite_array("theta", theta)
    pi_right = _sigmoid(theta)
    pi_left = _sigmoid(-theta)  # 1 − σ(θ), without cancellation for large θ
    slope = pi_right * pi_left
    return TwoActionPolicy(
        theta=theta,
        pi_right=pi_right,
        pi_left=pi_left,
        grad_pi_right=slope,
        grad_pi_left=-slope,
        score_right=pi_left,
        score_left=-pi_right,
    )


# ---------------------------------------------------------------------------------------
# K actions: π(a) = softmax(h / T)_a
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxPolicy:
    """A softmax policy over preferences h (shape (K,)) at temperature T.

    Fields:
        preferences: h, shape (K,).
        temperature: T > 0.
        probs: π(a) = exp(h_a/T) / Σ_b exp(h_b/T), shape (K,).
        log_probs: log π(a), shape (K,).
        jacobian: ∂π(a)/∂h_b = π(a) (δ_ab − π(b)) / T, shape (K, K), row a.
        score: ∂log π(a)/∂h_b = (δ_ab − π(b)) / T — "one-hot minus π" over T, shape (K, K).
    """

    preferences: Array
    temperature: float
    probs: Array
    log_probs: Array
    jacobian: Array
    score: Array

    @property
    def mean_score(self) -> Array:
        """Σ_a π(a) ∇_h log π(a), shape (K,): zero up to rounding."""
        return self.probs @ self.score


def softmax_policy(preferences: npt.ArrayLike, temperature: float = 1.0) -> SoftmaxPolicy:
    """The softmax policy over a 1-D vector of K ≥ 1 preferences, with its gradients."""
    h = logit_array("preferences", preferences)
    if h.ndim != 1 or h.size == 0:
        raise ValueError(f"preferences must be a 1-D array with at least one entry, got shape {h.shape}")
    t = _temperature(temperature)
    probs = softmax(h, t)
    score = (np.eye(h.size) - probs[None, :]) / t
    return SoftmaxPolicy(
        preferences=h,
        temperature=t,
        probs=probs,
        log_probs=log_softmax(h, t),
        jacobian=probs[:, None] * score,
        score=score,
    )


# ---------------------------------------------------------------------------------------
# Linear preferences: h(a) = θ · φ(s, a)
# ---------------------------------------------------------------------------------------


def _check_linear(theta: npt.ArrayLike, features: npt.ArrayLike) -> tuple[Array, Array]:
    th = finite_array("theta", theta)
    phi = finite_array("features", features)
    if th.ndim != 1 or th.size == 0:
        raise ValueError(f"theta must be a 1-D array of d ≥ 1 weights, got shape {th.shape}")
    if phi.ndim != 2 or phi.shape[0] == 0:
        raise ValueError(f"features must be a (K actions, d) matrix, got shape {phi.shape}")
    if phi.shape[1] != th.size:
        raise ValueError(
            f"features has {phi.shape[1]} columns but theta has {th.size} entries; "
            "features must be shaped (K actions, len(theta))"
        )
    return th, phi


def linear_preferences(theta: npt.ArrayLike, features: npt.ArrayLike) -> Array:
    """h(a) = θ · φ(s, a) for every action: features (K, d) @ theta (d,) → (K,)."""
    th, phi = _check_linear(theta, features)
    return phi @ th


@dataclass(frozen=True)
class LinearSoftmaxPolicy:
    """Softmax over linear preferences h(a) = θ·φ(a), with gradients in θ.

    Fields:
        theta: θ, shape (d,).
        features: φ(s, a), shape (K, d).
        temperature: T > 0.
        preferences: h = φ θ, shape (K,).
        probs: π(a), shape (K,).
        score: ∇_θ log π(a) = (φ(a) − Σ_b π(b) φ(b)) / T, shape (K, d), row a.
        grad_pi: ∇_θ π(a) = π(a) ∇_θ log π(a), shape (K, d).
    """

    theta: Array
    features: Array
    temperature: float
    preferences: Array
    probs: Array
    score: Array
    grad_pi: Array

    @property
    def mean_score(self) -> Array:
        """Σ_a π(a) ∇_θ log π(a), shape (d,): zero up to rounding."""
        return self.probs @ self.score


def linear_softmax_policy(
    theta: npt.ArrayLike, features: npt.ArrayLike, temperature: float = 1.0
) -> LinearSoftmaxPolicy:
    """The linear-feature softmax policy at θ with its exact gradients."""
    th, phi = _check_linear(theta, features)
    t = _temperature(temperature)
    h = phi @ th
    probs = softmax(h, t)
    score = (phi - probs @ phi) / t
    return LinearSoftmaxPolicy(
        theta=th,
        features=phi,
        temperature=t,
        preferences=h,
        probs=probs,
        score=score,
        grad_pi=probs[:, None] * score,
    )
