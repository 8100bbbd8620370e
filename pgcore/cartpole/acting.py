"""Acting while training: sample a ~ π_θ(· | s) for a batch of observations with a numpy
forward pass over the current parameters of the policy being trained.

With two actions, π(right | s) = σ(z), z = z_right − z_left, and for u ~ U(0, 1)

    σ(z) > u  ⇔  z > ε,   ε = log(u / (1 − u))  (logistic noise),

so "push right ⇔ z > ε" samples a ~ π(· | s): the Gumbel-max trick for two actions. The
sampler draws one u per environment and step from the run's own ``np.random.Generator``.

**In float32.** The forward pass runs on float32 copies of θ (:meth:`Actor.readout`), the
precision of the observations Gymnasium returns, so ``np.dot`` takes BLAS's float32 path with
no cast of the observations. The copy moves z by ~1e-7 relative, so π(right | s) by at most
~1e-7 (``tests/test_cartpole_update.py`` bounds it by 1e-6 for |z| up to ~30): an action
differs from a float64 forward's only when u falls within that of σ(z). Learning is all
float64 (:mod:`pgcore.cartpole.core`): log π(a | s) and its gradient are recomputed from θ.

Why so terse: acting runs once per env step, beside a vector-env step that costs ~31 µs
(8 envs, 2-core host, quiet). A rollout (:meth:`Actor.step_through`) draws its noise once, as
float32 thresholds ε − b (:meth:`Actor.thresholds`), so per step it pays the forward (one
``np.dot``, a same-shape bias add, the activation, one read-out ``dot``) and one float32
comparison, ~5 µs in the loop. On this project's host the env's own step is also ~3–4 µs
slower right after the first-layer ``np.dot`` or ``np.tanh`` (AVX-512 kernels here, OpenBLAS's
and numpy's), and not after the other calls. With AVX-512 off in both libraries
the penalty is gone (the act-and-step loop goes from ~0.82× to ~0.87× the bare env's rate),
but training to solve takes ~20 % longer, since the updates lose the same kernels, so the
defaults stay. ``benchmarks/bench_acting_cost.py --no-avx512`` measures both;
``benchmarks/bench_cartpole.py --throughput`` the whole collector, and ``--torch`` compares
the sampler with torch's. The float32 copies are remade for every rollout (:meth:`Actor.readout`).

Example:
    >>> import numpy as np
    >>> w1, b1 = np.zeros((3, 4), np.float32), np.zeros(3, np.float32)
    >>> w2, b2 = np.zeros((2, 3), np.float32), np.array([0.0, 50.0], np.float32)  # z = 50: right
    >>> actor = Actor((w1, b1, w2, b2), "tanh")
    >>> actor.act(np.zeros((2, 4), np.float32), np.random.default_rng(0)).tolist()
    [1, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from pgcore._checks import choice, generator
from pgcore.cartpole.config import ACTIVATIONS
from pgcore.cartpole.policy import hidden_layer, policy_shapes

__all__ = ["logistic_noise", "Readout", "Actor"]

ACTING_DTYPE = np.float32
"""The forward pass's precision while acting (see the module docstring)."""

Float32 = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]
Actions = npt.NDArray[np.int64]


def logistic_noise(rng: np.random.Generator, shape: int | tuple[int, ...]) -> npt.NDArray[np.float64]:
    """ε = log(u / (1 − u)) for u ~ U(0, 1) drawn from ``rng``, of the given shape.

    A ``(T, N)`` draw holds the same uniforms, row by row, as T draws of N (a Generator fills
    arrays in order), so a rollout can take all its noise at once and act exactly as a
    step-by-step loop would."""
    u = generator(rng).random(_shape(shape))
    with np.errstate(divide="ignore"):  # u = 0 exactly (p = 2⁻⁵³): −inf, "right", as σ(z) > 0
        return np.log(u) - np.log1p(-u)


MAX_DRAW = 10**8  # noise values in one draw (a rollout takes at most 10,000 steps × 1024 envs)


def _shape(shape: object) -> int | tuple[int, ...]:
    """A draw's shape: a whole number >= 0 or a tuple of them, at most MAX_DRAW values in all,
    else ValueError naming ``shape``."""
    dims = shape if isinstance(shape, tuple) else (shape,)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in dims):
        raise ValueError(f"shape must be a whole number >= 0 or a tuple of them, got {shape!r}")
    if math.prod(int(d) for d in dims) > MAX_DRAW:
        raise ValueError(f"shape must hold at most {MAX_DRAW:,} values, got {shape!r}")
    return shape  # type: ignore[return-value]


class Readout(NamedTuple):
    """z_right − z_left = w · act(W1 s + b1) + b for the current θ, in :data:`ACTING_DTYPE`
    copies: computed, so stale after an update."""

    w1t: Float32
    """W1ᵀ, ``(4, H)``, C-contiguous, so ``np.dot`` takes BLAS's plain path (at 8 envs, float64:
    0.75 µs against 1.3 µs for ``np.matmul`` on the transposed view; float32: 0.5 µs)."""
    b1: Float32
    """``(H,)``."""
    w: Float32
    """W2[1] − W2[0], ``(H,)``."""
    b: float
    """b2[1] − b2[0], in float64 (it shifts the float64 noise)."""


class Actor:
    """Samples actions for a batch of observations from the policy whose parameters are ``weights``.

    Args:
        weights: (W1 ``(H, 4)``, b1 ``(H,)``, W2 ``(2, H)``, b2 ``(2,)``), arrays of one float
            dtype (float32 or float64); pass views of the trained parameters to act with the
            current θ.
        activation: ``"relu"`` or ``"tanh"``.
    """

    def __init__(self, weights: Sequence[Floats], activation: str) -> None:
        self.activation = choice("activation", activation, ACTIVATIONS)
        if not isinstance(weights, (list, tuple)) or len(weights) != 4:
            raise ValueError("weights must be the four arrays (W1, b1, W2, b2)")
        hidden_size = np.shape(weights[1])[0] if np.ndim(weights[1]) == 1 else -1
        dtype = getattr(weights[0], "dtype", None)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"weights: W1 must be a float32 or float64 array, got {weights[0]!r:.80}")
        for name, array, shape in zip(("W1", "b1", "W2", "b2"), weights, policy_shapes(max(hidden_size, 1)).values()):
            if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != shape:
                raise ValueError(f"weights: {name} must be a {dtype} array of shape {shape}, got {array!r:.80}")
        self.weights = tuple(weights)

    @property
    def hidden_size(self) -> int:
        return int(self.weights[1].shape[0])

    def readout(self) -> Readout:
        """What :meth:`logit_gap` needs, for the parameters as they are now (float32 copies)."""
        w1, b1, w2, b2 = self.weights
        return Readout(
            np.ascontiguousarray(w1.T, dtype=ACTING_DTYPE),
            b1.astype(ACTING_DTYPE),
            (w2[1] - w2[0]).astype(ACTING_DTYPE),
            float(b2[1] - b2[0]),
        )

    def scratch(self, batch: int) -> Float32:
        """The ``(batch, H)`` buffer :meth:`logit_gap` writes the hidden layer into."""
        return np.empty((batch, self.hidden_size), dtype=ACTING_DTYPE)

    def logit_gap(self, obs: Float32, readout: Readout, hidden: Float32) -> npt.NDArray[np.float32]:
        """w · act(W1 s + b1) for observations ``(N, 4)`` → ``(N,)``: z_right − z_left without the
        output bias b (the samplers fold b into the noise). ``hidden`` (:meth:`scratch`) is
        overwritten."""
        # ndarray.dot, not @: on (8, H) it costs half as much (0.4 against 0.65 µs), and it runs every env step
        return hidden_layer(obs, readout.w1t, readout.b1, self.activation, out=hidden).dot(readout.w)

    def thresholds(self, rng: np.random.Generator, shape: int | tuple[int, ...], readout: Readout) -> Float32:
        """ε − b for a draw of ``shape`` (``(N,)`` for one step, ``(T, N)`` for a rollout), in
        float32: "push right ⇔ w · h > ε − b" is then one comparison of two float32 arrays, with
        no cast per step. Rounding ε to float32 moves it by ≤ 6e-8 relative: like the float32
        forward, it can flip an action only when u falls that close to σ(z)."""
        return (logistic_noise(rng, shape) - readout.b).astype(ACTING_DTYPE)

    def act(self, obs: Float32, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """a ~ π(· | s) for observations ``(N, 4)`` → actions ``(N,)`` (0 left, 1 right), one
        uniform per observation from ``rng``."""
        readout = self.readout()
        hidden = self.scratch(obs.shape[0])
        return (self.logit_gap(obs, readout, hidden) > self.thresholds(rng, obs.shape[0], readout)).astype(np.int64)

    def step_through(
        self,
        step: Callable[[Actions], tuple[Any, ...]],
        obs: Float32,
        readout: Readout,
        thresholds: Float32,
        actions: Actions,
    ) -> tuple[list[Float32], list[Any], list[Any], list[Any]]:
        """Act and step T times with the current θ: for t = 0 … T − 1, a_t = [w · h(s_t) > thresholds[t]]
        (that is, z_t > ε_t) is written into ``actions[t]`` and the vector env's ``step(a_t)`` is called.

        The same actions as :meth:`act` step by step given the same uniforms (tested); it is the
        one loop the rollout speed depends on, so it keeps per-step work to the forward's calls.

        Args:
            step: the vector env's ``step``.
            obs: s_0, ``(N, 4)`` float32.
            readout: :meth:`readout` for the current θ (the one ``thresholds`` were made with).
            thresholds: ``(T, N)`` from :meth:`thresholds`.
            actions: ``(T, N)`` int64, overwritten.

        Returns:
            The observations s_0 … s_T (T + 1 arrays ``(N, 4)``) and the T rewards, terminated
            and truncated arrays ``(N,)`` the env returned (its own fresh arrays, not copies).
        """
        hidden = self.scratch(obs.shape[0])
        # b1 repeated for every env: a same-shape add skips numpy's broadcasting set-up (~2 % of
        # the rollout's rate, measured at 4 and 8 envs)
        w1t, b1, w = readout.w1t, np.tile(readout.b1, (obs.shape[0], 1)), readout.w
        observations, rewards, terminated, truncated = [obs], [], [], []
        for action, threshold in zip(actions, thresholds):  # row views: a_t (N,), ε_t − b (N,)
            np.greater(hidden_layer(obs, w1t, b1, self.activation, out=hidden).dot(w), threshold, out=action)
            obs, reward, term, trunc, _ = step(action)
            observations.append(obs)
            rewards.append(reward)
            terminated.append(term)
            truncated.append(trunc)
        return observations, rewards, terminated, truncated
