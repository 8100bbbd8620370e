"""Discounted returns, reward-to-go, baselines and advantages (n-step, GAE(λ)) in numpy.

Two layouts are supported:

* one episode as a 1-D array ``rewards`` of shape ``(T,)`` (:func:`reward_to_go`,
  :func:`episode_returns`);
* a padded batch of shape ``(T, N)``: ``N`` parallel environments, ``T`` time steps, with
  boolean ``terminated`` / ``truncated`` flags per step and an optional ``values`` array of
  shape ``(T + 1, N)`` holding V(s_0) … V(s_T). Row ``t + 1`` of ``values`` is the value of
  the observation that *followed* step ``t``; when step ``t`` ended an episode this is the
  episode's final observation (not the reset observation). 1-D inputs of shape ``(T,)`` with
  ``values`` of shape ``(T + 1,)`` are accepted too and treated as ``N = 1``.

Terminated and truncated differ in what comes after the last reward:

* ``terminated[t]`` (the pole fell): the future is worth exactly 0 — never bootstrap.
* ``truncated[t]`` (time limit): the episode was cut, the future is worth V(s_{t+1}) —
  bootstrap with ``values[t + 1]`` when a critic exists (``values`` given).

Either flag ends the episode, so nothing after step ``t`` flows back into step ``t``.
If both are set, termination wins. Steps after an episode's end inside a padded batch (or
the reset step of a vector environment) are junk: mask them out with ``valid`` in the loss;
the functions here never let them leak into a valid step that precedes an episode end.

Example:
    >>> reward_to_go([1.0, 1.0, 1.0], gamma=0.5)
    array([1.75, 1.5 , 1.  ])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pgcore._checks import bool_array, discount, finite_array, float_in_range, positive_float, positive_int

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "reward_to_go",
    "episode_returns",
    "padded_reward_to_go",
    "episode_mean_baseline",
    "n_step_targets",
    "gae_advantages",
    "normalize",
]


# ---------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------


def _flags(name: str, value: npt.ArrayLike, shape: tuple[int, ...], like: str = "rewards") -> BoolArray:
    array = bool_array(name, value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} like {like}, got {array.shape}")
    return array


def _batch(
    rewards: npt.ArrayLike,
    terminated: npt.ArrayLike,
    truncated: npt.ArrayLike,
    values: npt.ArrayLike | None,
) -> tuple[Array, BoolArray, BoolArray, Array | None, bool]:
    """Check a padded batch; return 2-D arrays and whether the input was 1-D."""
    r = finite_array("rewards", rewards)
    if r.ndim not in (1, 2) or r.shape[0] == 0:
        raise ValueError(f"rewards must have shape (T,) or (T, N) with T >= 1, got {r.shape}")
    one_d = r.ndim == 1
    term = _flags("terminated", terminated, r.shape)
    trunc = _flags("truncated", truncated, r.shape)
    v = None
    if values is not None:
        v = finite_array("values", values)
        expected = (r.shape[0] + 1, *r.shape[1:])
        if v.shape != expected:
            raise ValueError(
                f"values must have shape {expected} (one more row than rewards: V(s_0)…V(s_T)), got {v.shape}"
            )
    if one_d:
        r, term, trunc = r[:, None], term[:, None], trunc[:, None]
        v = None if v is None else v[:, None]
    return r, term, trunc, v, one_d


# ---------------------------------------------------------------------------------------
# Monte Carlo returns
# ---------------------------------------------------------------------------------------


def reward_to_go(rewards: npt.ArrayLike, gamma: float) -> Array:
    """Discounted reward-to-go of one complete episode.

    G_t = Σ_{k=t}^{T-1} γ^{k-t} r_k, computed backwards as G_t = r_t + γ G_{t+1}, G_T = 0.

    Args:
        rewards: shape ``(T,)``, the rewards r_0 … r_{T-1} of one episode (T may be 0).
        gamma: discount γ in [0, 1].

    Returns:
        shape ``(T,)``: G_0 … G_{T-1}. G_0 is the discounted return of the whole episode.

    >>> reward_to_go([0.0, 0.0, 1.0], gamma=0.9)
    array([0.81, 0.9 , 1.  ])
    """
    r = finite_array("rewards", rewards)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D (one episode), got shape {r.shape}")
    g = discount(gamma)
    returns = np.empty_like(r)
    running = 0.0
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + g * running
        returns[t] = running
    return returns


def episode_returns(episodes: Sequence[npt.ArrayLike], gamma: float) -> list[Array]:
    """:func:`reward_to_go` for each episode of a batch; episode ``i`` has shape ``(T_i,)``."""
    if isinstance(episodes, (str, bytes)) or not isinstance(episodes, Sequence):
        raise ValueError(f"episodes must be a sequence of 1-D reward arrays, got {episodes!r}")
    returns = []
    for index, rewards in enumerate(episodes):
        try:
            returns.append(reward_to_go(rewards, gamma))
        except ValueError as err:
            if "gamma" in str(err):
                raise
            raise ValueError(f"episodes[{index}] is not a 1-D reward array: {err}") from None
    return returns


def padded_reward_to_go(
    rewards: npt.ArrayLike,
    terminated: npt.ArrayLike,
    truncated: npt.ArrayLike,
    gamma: float,
    values: npt.ArrayLike | None = None,
) -> Array:
    """Discounted reward-to-go for a padded batch ``(T, N)`` with episode ends marked.

    Backwards over t, with done_t = terminated_t or truncated_t:

        G_t = r_t + γ · [ (1 − done_t) · G_{t+1}  +  boot_t · V(s_{t+1}) ]

    where boot_t = truncated_t and not terminated_t when ``values`` is given (bootstrap a
    time-limit cut with the critic), else 0 (plain Monte Carlo: a cut episode is scored as
    if it had ended). At the last row, G_T is V(s_T) = ``values[T]`` if ``values`` is given
    (the rollout stopped mid-episode) and 0 otherwise.

    Args:
        rewards: shape ``(T, N)`` or ``(T,)``.
        terminated, truncated: booleans, same shape as ``rewards``.
        gamma: discount γ in [0, 1].
        values: optional, shape ``(T + 1, N)`` or ``(T + 1,)``: V(s_0) … V(s_T).

    Returns:
        ``G``, same shape as ``rewards``.

    >>> padded_reward_to_go([1.0, 1.0, 1.0], [False, True, False], [False] * 3, gamma=0.5)
    array([1.5, 1. , 1. ])
    """
    r, term, trunc, v, one_d = _batch(rewards, terminated, truncated, values)
    g = discount(gamma)
    done = term | trunc
    returns = np.empty_like(r)
    if v is None:
        running = np.zeros(r.shape[1])
        boot = np.zeros_like(r)
    else:
        running = v[-1].copy()
        boot = np.where(trunc & ~term, v[1:], 0.0)
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + g * (np.where(done[t], 0.0, running) + boot[t])
        returns[t] = running
    return returns[:, 0] if one_d else returns


def episode_mean_baseline(returns: npt.ArrayLike, valid: npt.ArrayLike) -> Array:
    """The articles' baseline: each episode's own mean discounted return.

    For a padded batch where column n holds one episode in its valid rows,

        b_n = (1 / L_n) Σ_{t valid} G_{t,n},   L_n = number of valid rows in column n,

    broadcast to every row of the column. ``returns − b`` then has mean 0 within each
    episode. (b depends on the whole episode, including actions after t, so strictly it is
    not an unbiased baseline; it is what the source articles use.)

    Args:
        returns: shape ``(T, N)`` (or ``(T,)``), e.g. from :func:`padded_reward_to_go`.
        valid: booleans, same shape; at least one valid row per column.

    Returns:
        shape like ``returns``; 0 in invalid rows.
    """
    g = finite_array("returns", returns)
    if g.ndim not in (1, 2):
        raise ValueError(f"returns must have shape (T,) or (T, N), got {g.shape}")
    mask = _flags("valid", valid, g.shape, like="returns")
    counts = mask.sum(axis=0)
    if np.any(counts == 0):
        raise ValueError("valid must mark at least one step in every episode (column)")
    means = np.where(mask, g, 0.0).sum(axis=0) / counts
    return np.where(mask, np.broadcast_to(means, g.shape), 0.0)


# ---------------------------------------------------------------------------------------
# Bootstrapped targets
# ---------------------------------------------------------------------------------------


def n_step_targets(
    rewards: npt.ArrayLike,
    values: npt.ArrayLike,
    terminated: npt.ArrayLike,
    truncated: npt.ArrayLike,
    gamma: float,
    n: int,
) -> Array:
    """n-step bootstrapped return targets for a padded batch.

        G^{(n)}_t = Σ_{k=0}^{m−1} γ^k r_{t+k}  +  γ^m · V(s_{t+m}) · [no termination]

    where m ≤ n is cut short by the end of the episode (a termination adds no bootstrap,
    a truncation bootstraps with V of its final observation) or by the end of the rollout
    (bootstrap with ``values[T]``). n = 1 is the TD(0) target r_t + γ V(s_{t+1}); n ≥ T
    is the Monte Carlo return bootstrapped only at the cut.

    Args:
        rewards: shape ``(T, N)`` or ``(T,)``.
        values: shape ``(T + 1, N)`` or ``(T + 1,)``: V(s_0) … V(s_T).
        terminated, truncated: booleans shaped like ``rewards``.
        gamma: discount γ in [0, 1].
        n: number of reward steps before bootstrapping, 1 ≤ n ≤ 100000.

    Returns:
        targets shaped like ``rewards``. The advantage is ``targets − values[:-1]``.
    """
    if values is None:
        raise ValueError("values must be given: V(s_0) … V(s_T), one more row than rewards")
    r, term, trunc, v, one_d = _batch(rewards, terminated, truncated, values)
    assert v is not None  # for the type checker: _batch returns values when given
    g = discount(gamma)
    n = positive_int("n", n, maximum=100_000)
    steps = r.shape[0]
    t = np.arange(steps)
    targets = np.zeros_like(r)
    alive = np.ones(r.shape, dtype=np.bool_)
    for k in range(min(n, steps)):
        idx = np.minimum(t + k, steps - 1)  # rows where idx is clamped are no longer alive
        targets += np.where(alive, g**k * r[idx], 0.0)
        ends = term[idx] | trunc[idx] | (idx == steps - 1)[:, None]
        bootstrap = alive & ~term[idx] & (ends | (k == n - 1))
        targets += np.where(bootstrap, g ** (k + 1) * v[idx + 1], 0.0)
        alive &= ~ends
    return targets[:, 0] if one_d else targets


def gae_advantages(
    rewards: npt.ArrayLike,
    values: npt.ArrayLike,
    terminated: npt.ArrayLike,
    truncated: npt.ArrayLike,
    gamma: float,
    lam: float,
) -> Array:
    """Generalized advantage estimates GAE(γ, λ) for a padded batch.

        δ_t = r_t + γ · (1 − terminated_t) · V(s_{t+1}) − V(s_t)
        A_t = δ_t + γ λ · (1 − done_t) · A_{t+1},    A_T = 0

    A truncated step keeps its bootstrap V(s_{t+1}) (the final observation) inside δ_t but
    stops the recursion; a terminated step has neither. λ = 0 gives the TD error δ_t,
    λ = 1 the Monte Carlo return minus V(s_t) (bootstrapped at cuts).

    Args:
        rewards: shape ``(T, N)`` or ``(T,)``.
        values: shape ``(T + 1, N)`` or ``(T + 1,)``: V(s_0) … V(s_T).
        terminated, truncated: booleans shaped like ``rewards``.
        gamma: discount γ in [0, 1].
        lam: λ in [0, 1].

    Returns:
        advantages shaped like ``rewards``; the critic's targets are ``A + values[:-1]``.
    """
    if values is None:
        raise ValueError("values must be given: V(s_0) … V(s_T), one more row than rewards")
    r, term, trunc, v, one_d = _batch(rewards, terminated, truncated, values)
    assert v is not None  # for the type checker: _batch returns values when given
    g = discount(gamma)
    lam = float_in_range("lam", lam, 0.0, 1.0)
    deltas = r + g * np.where(term, 0.0, v[1:]) - v[:-1]
    carry = g * lam * ~(term | trunc)
    advantages = np.empty_like(r)
    running = np.zeros(r.shape[1])
    for t in range(r.shape[0] - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages[:, 0] if one_d else advantages


def normalize(x: npt.ArrayLike, valid: npt.ArrayLike | None = None, eps: float = 1e-8) -> Array:
    """(x − mean) / (std + eps) over the valid entries; invalid entries become 0.

    With a single valid entry the result is 0 there (its std is 0). Shape of ``x``.
    """
    a = finite_array("x", x)
    eps = positive_float("eps", eps)
    mask = np.ones(a.shape, dtype=np.bool_) if valid is None else _flags("valid", valid, a.shape, like="x")
    if not mask.any():
        raise ValueError("x has no valid entry to normalize (valid marks none, or x is empty)")
    chosen = a[mask]
    scaled = (a - chosen.mean()) / (chosen.std() + eps)
    return np.where(mask, scaled, 0.0)
