"""A CartPole policy network as plain numpy arrays: evaluate it, save/load it with
safetensors, and roll it out in one environment for an animation. No torch needed.

The network is the one :mod:`pgcore.cartpole.training` trains (:class:`pgcore.cartpole.core.MLP`,
whose forward pass uses this module's :func:`hidden_layer`; a test checks both against torch),

    logits = W2 · act(W1 · s + b1) + b2,   π(a | s) = softmax(logits)_a,

with s the 4-dim CartPole observation (cart x, cart velocity, pole angle, pole angular
velocity), ``act`` = ReLU or tanh, W1: ``(H, 4)``, b1: ``(H,)``, W2: ``(2, H)``, b2: ``(2,)``.
Action 0 pushes the cart left, action 1 pushes it right.

File format (``.safetensors``): four float32 tensors named ``layer1.weight``,
``layer1.bias``, ``layer2.weight``, ``layer2.bias`` and string metadata ``format`` =
``pgcore.cartpole.policy``, ``format_version`` = ``1``, ``hidden_size``, ``activation``,
``algo``. Loading checks all of it and raises ``ValueError`` for anything else (random
bytes, another model's file, edited shapes, NaN weights). Nothing is ever unpickled.

Example:
    >>> policy = random_policy(hidden_size=16, seed=0)
    >>> episode = rollout_episode(policy, seed=1, max_steps=50)
    >>> episode.states.shape[1], episode.states.shape[0] == episode.actions.shape[0] + 1
    (4, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pgcore._checks import choice, finite_array, flag, positive_int
from pgcore._checks import seed as check_seed
from pgcore.cartpole.config import ACTIVATIONS, MAX_EPISODE_STEPS, NUM_ACTIONS, OBS_SIZE

__all__ = [
    "POLICY_FORMAT",
    "PolicySnapshot",
    "random_policy",
    "policy_to_bytes",
    "policy_from_bytes",
    "save_policy",
    "load_policy",
    "EpisodeRollout",
    "rollout_episode",
    "policy_digest",
]

POLICY_FORMAT = "pgcore.cartpole.policy"
FORMAT_VERSION = "1"
MAX_HIDDEN = 4096


def policy_shapes(hidden_size: int) -> dict[str, tuple[int, ...]]:
    """Tensor name → shape for a policy with ``hidden_size`` hidden units."""
    return {
        "layer1.weight": (hidden_size, OBS_SIZE),
        "layer1.bias": (hidden_size,),
        "layer2.weight": (NUM_ACTIONS, hidden_size),
        "layer2.bias": (NUM_ACTIONS,),
    }


@dataclass(frozen=True)
class PolicySnapshot:
    """Weights of a CartPole policy network plus what is needed to rebuild it.

    Attributes:
        weights: tensor name → float32 array (see the module docstring for names/shapes).
        hidden_size: H, the width of the hidden layer.
        activation: ``"relu"`` or ``"tanh"``.
        algo: the algorithm that produced it (free text, e.g. ``"reinforce"``; ``"random"``
            for an untrained network).
    """

    weights: dict[str, npt.NDArray[np.float32]]
    hidden_size: int
    activation: str
    algo: str = "random"

    def __post_init__(self) -> None:
        positive_int("hidden_size", self.hidden_size, maximum=MAX_HIDDEN)
        choice("activation", self.activation, ACTIVATIONS)
        _check_weights(self.weights, self.hidden_size)

    def probabilities(self, observations: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """π(· | s) for observations of shape ``(4,)`` or ``(B, 4)`` → ``(2,)`` or ``(B, 2)``."""
        obs = finite_array("observations", observations)
        if obs.shape[-1:] != (OBS_SIZE,) or obs.ndim > 2:
            raise ValueError(f"observations must have shape (4,) or (B, 4), got {obs.shape}")
        w = {name: value.astype(np.float64) for name, value in self.weights.items()}
        hidden = hidden_layer(obs, w["layer1.weight"].T, w["layer1.bias"], self.activation)
        logits = hidden @ w["layer2.weight"].T + w["layer2.bias"]
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)


def hidden_layer(
    obs: npt.NDArray[np.floating],
    w1t: npt.NDArray[np.floating],
    b1: npt.NDArray[np.floating],
    activation: str,
    out: npt.NDArray[np.floating] | None = None,
) -> npt.NDArray[np.floating]:
    """act(s · W1ᵀ + b1) for observations ``(N, 4)`` → ``(N, H)``: the network's hidden layer, in
    numpy. The one numpy forward pass: :meth:`PolicySnapshot.probabilities` and the training
    sampler (:mod:`pgcore.cartpole.acting`) both build on it. ``b1`` is ``(H,)``, or ``(N, H)``
    (b1 repeated per row: the sampler's same-shape add is cheaper). With ``out`` (``(N, H)``,
    the result's dtype) it writes there and allocates nothing, for the per-step sampler.

    Unchecked, as it runs once per env step: its two callers check their arrays (a snapshot's
    weights when it is built, an observation on every call of ``probabilities``)."""
    out = np.dot(obs, w1t, out=out)  # np.dot: less per-call overhead than np.matmul on small arrays
    out += b1
    if activation == "relu":
        np.maximum(out, 0.0, out=out)
    else:
        np.tanh(out, out=out)
    return out


def _check_weights(weights: object, hidden_size: int) -> None:
    if not isinstance(weights, dict):
        raise ValueError(f"weights must be a dict of arrays, got {type(weights).__name__}")
    expected = policy_shapes(hidden_size)
    if set(weights) != set(expected):
        raise ValueError(f"weights must have exactly the tensors {sorted(expected)}, got {sorted(weights)}")
    for name, shape in expected.items():
        array = weights[name]
        if not isinstance(array, np.ndarray) or array.dtype != np.float32:
            raise ValueError(f"weights[{name!r}] must be a float32 numpy array")
        if array.shape != shape:
            raise ValueError(
                f"weights[{name!r}] must have shape {shape} for hidden_size={hidden_size}, got {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"weights[{name!r}] contains NaN or inf")


#: A file's "algo" note is free text from outside: short, and shown only as plain text.
MAX_ALGO_TEXT = 64


def random_policy(hidden_size: int = 64, seed: int = 0, activation: str = "tanh") -> PolicySnapshot:
    """An untrained network: every weight and bias ~ Uniform(−1/√fan_in, 1/√fan_in).

    That is the distribution torch's ``nn.Linear`` starts from; the output is near the
    uniform policy (≈ 50/50 left/right), which keeps the pole up for ~20 steps.
    """
    hidden_size = positive_int("hidden_size", hidden_size, maximum=MAX_HIDDEN)
    rng = np.random.default_rng(check_seed(seed))
    weights = {}
    for name, shape in policy_shapes(hidden_size).items():
        fan_in = OBS_SIZE if name.startswith("layer1") else hidden_size
        bound = 1.0 / np.sqrt(fan_in)
        weights[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return PolicySnapshot(weights, hidden_size, choice("activation", activation, ACTIVATIONS))


def policy_digest(policy: PolicySnapshot) -> str:
    """A content hash of what decides the policy's actions: its width, activation and every
    weight (name, shape and bytes). Equal networks get equal digests whatever they are
    called, so a cache keyed by it never mixes up two policies that share a name."""
    if not isinstance(policy, PolicySnapshot):
        raise ValueError(f"policy must be a PolicySnapshot, got {type(policy).__name__}")
    digest = hashlib.sha1(f"{policy.hidden_size}:{policy.activation}".encode())
    for name in sorted(policy.weights):
        array = np.ascontiguousarray(policy.weights[name])
        digest.update(f"|{name}:{array.dtype.str}:{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# safetensors files
# ---------------------------------------------------------------------------------------


def _metadata(policy: PolicySnapshot) -> dict[str, str]:
    return {
        "format": POLICY_FORMAT,
        "format_version": FORMAT_VERSION,
        "hidden_size": str(policy.hidden_size),
        "activation": policy.activation,
        "algo": policy.algo,
    }


def policy_to_bytes(policy: PolicySnapshot) -> bytes:
    """The ``.safetensors`` file contents for ``policy`` (e.g. for a download button)."""
    from safetensors.numpy import save

    return save(dict(policy.weights), metadata=_metadata(policy))


def save_policy(policy: PolicySnapshot, path: str | os.PathLike[str]) -> None:
    """Write ``policy`` to ``path`` with ``safetensors.numpy.save_file``."""
    from safetensors.numpy import save_file

    if not isinstance(policy, PolicySnapshot):
        raise ValueError(f"policy must be a PolicySnapshot, got {type(policy).__name__}")
    save_file(dict(policy.weights), os.fspath(path), metadata=_metadata(policy))


def _read_metadata(data: bytes) -> dict[str, str]:
    # safetensors layout: 8-byte little-endian header length, then a JSON header whose
    # optional "__metadata__" entry is a str → str map.
    if len(data) < 8:
        raise ValueError("not a safetensors file: shorter than its 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ValueError("not a safetensors file: header length exceeds the file size")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:  # "[[[[…" nests past the stack
        raise ValueError("not a safetensors file: header is not JSON") from err
    if not isinstance(header, dict):
        raise ValueError("not a safetensors file: header is not a JSON object")
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict):
        raise ValueError(f"not a {POLICY_FORMAT} file: no metadata")
    return metadata


def policy_from_bytes(data: bytes) -> PolicySnapshot:
    """Parse and validate ``.safetensors`` contents written by :func:`policy_to_bytes`.

    Raises:
        ValueError: with a readable reason if ``data`` is not a valid policy file.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    metadata = _read_metadata(data)
    if metadata.get("format") != POLICY_FORMAT:
        raise ValueError(f"not a {POLICY_FORMAT} file: format is {metadata.get('format')!r}")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported format_version {metadata.get('format_version')!r}")
    try:
        hidden_size = int(metadata.get("hidden_size", ""))
    except ValueError as err:
        raise ValueError(f"hidden_size metadata is not a whole number: {metadata!r}") from err
    if not 1 <= hidden_size <= MAX_HIDDEN:
        raise ValueError(f"hidden_size metadata must be in [1, {MAX_HIDDEN}], got {hidden_size}")
    activation = metadata.get("activation")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation metadata must be one of {ACTIVATIONS}, got {activation!r}")
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, TypeError) as err:
        raise ValueError(f"not a valid safetensors file: {err}") from err
    _check_weights(tensors, hidden_size)
    algo = metadata.get("algo", "unknown")
    if not isinstance(algo, str) or len(algo) > MAX_ALGO_TEXT:
        raise ValueError(f"algo metadata must be text of at most {MAX_ALGO_TEXT} characters")
    return PolicySnapshot(tensors, hidden_size, activation, algo)


def load_policy(path: str | os.PathLike[str]) -> PolicySnapshot:
    """Read and validate a policy file written by :func:`save_policy` (never unpickles)."""
    return policy_from_bytes(Path(path).read_bytes())


# ---------------------------------------------------------------------------------------
# One episode for an animation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeRollout:
    """One CartPole episode, frame by frame.

    Attributes:
        states: shape ``(T + 1, 4)``: s_0 … s_T, the observation before each action plus
            the final one (x, ẋ, θ, θ̇).
        actions: shape ``(T,)``, int64, 0 = push left, 1 = push right.
        probabilities: shape ``(T, 2)``: π(· | s_t) at each step.
        total_reward: undiscounted return (= T, CartPole pays +1 per step).
        terminated: the pole fell or the cart left the track at the last step.
        truncated: the episode hit ``max_steps`` (or the 500-step limit) instead.
    """

    states: npt.NDArray[np.float64]
    actions: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    total_reward: float
    terminated: bool
    truncated: bool


def rollout_episode(
    policy: PolicySnapshot | None,
    *,
    seed: int,
    max_steps: int = MAX_EPISODE_STEPS,
    greedy: bool = False,
    hidden_size: int = 64,
) -> EpisodeRollout:
    """Run ``policy`` in one ``CartPole-v1`` for up to ``max_steps`` steps.

    Args:
        policy: a trained (or loaded) snapshot; ``None`` means an untrained network from
            :func:`random_policy` with ``hidden_size`` and ``seed``.
        seed: seeds the start state (``env.reset(seed=seed)``) and the action sampler.
        max_steps: the longest episode, 1 … 10 000 (CartPole-v1's own limit is 500; a larger
            value raises the time limit).
        greedy: take argmax π(· | s) instead of sampling.
        hidden_size: only used when ``policy`` is ``None``.

    Returns:
        :class:`EpisodeRollout` with numpy arrays. Same arguments → same episode.
    """
    import gymnasium as gym

    max_steps = positive_int("max_steps", max_steps, maximum=10_000)
    greedy = flag("greedy", greedy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    if policy is None:
        policy = random_policy(hidden_size=hidden_size, seed=int(seed))
    elif not isinstance(policy, PolicySnapshot):
        raise ValueError(f"policy must be a PolicySnapshot or None, got {type(policy).__name__}")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[1])
    env = gym.make("CartPole-v1", max_episode_steps=max_steps)
    try:
        obs, _ = env.reset(seed=int(seed))
        states, actions, probabilities = [obs.astype(np.float64)], [], []
        terminated = truncated = False
        total = 0.0
        while not (terminated or truncated):
            probs = policy.probabilities(obs)
            action = int(np.argmax(probs)) if greedy else int(rng.random() < probs[1])
            obs, reward, terminated, truncated, _ = env.step(action)
            states.append(obs.astype(np.float64))
            actions.append(action)
            probabilities.append(probs)
            total += float(reward)
    finally:
        env.close()
    return EpisodeRollout(
        states=np.array(states),
        actions=np.array(actions, dtype=np.int64),
        probabilities=np.array(probabilities).reshape(-1, NUM_ACTIONS),
        total_reward=total,
        terminated=bool(terminated),
        truncated=bool(truncated and not terminated),
    )
