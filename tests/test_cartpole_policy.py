"""The numpy policy snapshot: safetensors save/load (and rejecting anything else),
probabilities, and the single-env rollout used for animations."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save, save_file

from pgcore.cartpole.policy import (
    PolicySnapshot,
    load_policy,
    policy_digest,
    policy_from_bytes,
    policy_to_bytes,
    random_policy,
    rollout_episode,
    save_policy,
)

METADATA = {
    "format": "pgcore.cartpole.policy",
    "format_version": "1",
    "hidden_size": "8",
    "activation": "tanh",
    "algo": "reinforce",
}


def weights(hidden=8, seed=0):
    return dict(random_policy(hidden_size=hidden, seed=seed).weights)


def test_save_and_load_round_trip(tmp_path):
    policy = PolicySnapshot(weights(), 8, "tanh", "reinforce_value")
    path = tmp_path / "p.safetensors"
    save_policy(policy, path)
    loaded = load_policy(path)
    assert (loaded.hidden_size, loaded.activation, loaded.algo) == (8, "tanh", "reinforce_value")
    for name, array in policy.weights.items():
        np.testing.assert_array_equal(loaded.weights[name], array)
    obs = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.probabilities(obs), policy.probabilities(obs))
    assert policy_from_bytes(policy_to_bytes(policy)).weights.keys() == policy.weights.keys()


def tampered_files():
    good = weights()
    wrong_shape = dict(good, **{"layer1.weight": np.zeros((9, 4), np.float32)})
    missing = {k: v for k, v in good.items() if k != "layer2.bias"}
    extra = dict(good, extra=np.zeros(3, np.float32))
    nan = dict(good, **{"layer2.bias": np.array([np.nan, 0.0], np.float32)})
    as_float64 = {k: v.astype(np.float64) for k, v in good.items()}
    cases = {
        "wrong shape": save(wrong_shape, metadata=METADATA),
        "missing tensor": save(missing, metadata=METADATA),
        "extra tensor": save(extra, metadata=METADATA),
        "nan weights": save(nan, metadata=METADATA),
        "float64": save(as_float64, metadata=METADATA),
        "no metadata": save(good),
        "other format": save(good, metadata=dict(METADATA, format="someone.else")),
        "hidden size lies": save(good, metadata=dict(METADATA, hidden_size="16")),
        "hidden size not a number": save(good, metadata=dict(METADATA, hidden_size="eight")),
        "bad activation": save(good, metadata=dict(METADATA, activation="gelu")),
        "future version": save(good, metadata=dict(METADATA, format_version="9")),
        "not a policy": save({"embedding": np.zeros((10, 3), np.float32)}, metadata={"format": "x"}),
        "random bytes": np.random.default_rng(0).bytes(300),
        "empty": b"",
        "truncated": save(good, metadata=METADATA)[:-40],
        "header too long": struct.pack("<Q", 10**9) + b"{}",
        "header not json": struct.pack("<Q", 4) + b"\xff\xfe{]",
        "header is a list": struct.pack("<Q", 2) + b"[]",
    }
    # valid header and metadata, but the byte offsets of one tensor point past the data
    header = json.dumps(
        {"__metadata__": METADATA, "layer1.weight": {"dtype": "F32", "shape": [8, 4], "data_offsets": [0, 999]}}
    ).encode()
    cases["bad offsets"] = struct.pack("<Q", len(header)) + header + b"\x00" * 16
    nested = b"[" * 500_000  # parsing this recursed until Python gave up (RecursionError)
    cases["deeply nested header"] = struct.pack("<Q", len(nested)) + nested
    return cases


#: What each refusal must say (a fragment of the message).
REASONS = {
    "wrong shape": "must have shape (8, 4)",
    "missing tensor": "must have exactly the tensors",
    "extra tensor": "must have exactly the tensors",
    "nan weights": "contains NaN or inf",
    "float64": "must be a float32",
    "no metadata": "no metadata",
    "other format": "format is 'someone.else'",
    "hidden size lies": "must have shape (16, 4)",
    "hidden size not a number": "hidden_size metadata is not a whole",
    "bad activation": "activation metadata must be one of",
    "future version": "unsupported format_version",
    "not a policy": "format is 'x'",
    "random bytes": "header length exceeds the file size",
    "empty": "shorter than its 8-byte header",
    "truncated": "not a valid safetensors file",
    "header too long": "header length exceeds",
    "header not json": "header is not JSON",
    "header is a list": "header is not a JSON object",
    "bad offsets": "not a valid safetensors file",
    "deeply nested header": "header is not JSON",
}


@pytest.mark.parametrize("case", list(tampered_files()))
def test_tampered_or_foreign_files_raise_value_error(case, tmp_path):
    data = tampered_files()[case]
    with pytest.raises(ValueError) as err:
        policy_from_bytes(data)
    assert REASONS[case] in str(err.value)
    path = tmp_path / "f.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError) as err:
        load_policy(path)
    assert REASONS[case] in str(err.value)


def test_file_written_by_save_file_with_right_metadata_loads(tmp_path):
    path = tmp_path / "by_hand.safetensors"
    save_file(weights(), str(path), metadata=METADATA)
    assert load_policy(path).hidden_size == 8


def test_snapshot_validates_its_weights():
    with pytest.raises(ValueError, match="hidden_size"):
        PolicySnapshot(weights(), 0, "tanh")
    with pytest.raises(ValueError, match="shape"):
        PolicySnapshot(weights(hidden=8), 16, "tanh")
    with pytest.raises(ValueError, match="activation"):
        PolicySnapshot(weights(), 8, "sigmoid")
    with pytest.raises(ValueError, match="observations"):
        PolicySnapshot(weights(), 8, "tanh").probabilities(np.zeros(3))


def test_rollout_shapes_and_determinism():
    first = rollout_episode(None, seed=3, max_steps=500, hidden_size=16)
    again = rollout_episode(None, seed=3, max_steps=500, hidden_size=16)
    steps = first.actions.shape[0]
    assert first.states.shape == (steps + 1, 4) and first.probabilities.shape == (steps, 2)
    assert first.total_reward == steps and first.terminated and not first.truncated
    assert steps < 200  # an untrained 50/50 policy drops the pole quickly
    np.testing.assert_array_equal(first.states, again.states)
    np.testing.assert_array_equal(first.actions, again.actions)
    other = rollout_episode(None, seed=4, max_steps=500, hidden_size=16)
    assert not np.array_equal(first.states[:5], other.states[:5])


def test_rollout_stops_at_max_steps_and_greedy_follows_argmax():
    # A hand-made controller: push in the direction the pole leans (θ + θ̇ > 0 → right).
    w = {
        "layer1.weight": np.array([[0, 0, 50, 50]], np.float32),
        "layer1.bias": np.zeros(1, np.float32),
        "layer2.weight": np.array([[-1.0], [1.0]], np.float32),
        "layer2.bias": np.zeros(2, np.float32),
    }
    balancer = PolicySnapshot(w, 1, "tanh", "hand-made")
    episode = rollout_episode(balancer, seed=0, max_steps=60, greedy=True)
    assert episode.actions.shape == (60,) and episode.truncated and not episode.terminated
    np.testing.assert_array_equal(episode.actions, np.argmax(episode.probabilities, axis=1))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"max_steps": 0}, "max_steps"), ({"seed": -2}, "seed"), ({"hidden_size": 0}, "hidden_size")],
)
def test_rollout_bad_arguments(kwargs, name):
    args = {"seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        rollout_episode(None, **args)


def test_the_torch_free_modules_do_not_import_torch():
    code = (
        "import sys, pgcore.cartpole.config, pgcore.cartpole.records, pgcore.cartpole.runs, pgcore.cartpole.curves,"
        " pgcore.cartpole.policy as m;"
        " m.rollout_episode(None, seed=0); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_policy_digest_follows_the_weights_not_the_name():
    policy = random_policy(hidden_size=8, seed=3)
    renamed = PolicySnapshot({k: v.copy() for k, v in policy.weights.items()}, 8, policy.activation, "reinforce")
    assert policy_digest(renamed) == policy_digest(policy)
    nudged = {k: v.copy() for k, v in policy.weights.items()}
    nudged["layer2.bias"][1] = np.nextafter(nudged["layer2.bias"][1], np.float32(1))
    assert policy_digest(PolicySnapshot(nudged, 8, policy.activation)) != policy_digest(policy)
    other = "relu" if policy.activation == "tanh" else "tanh"
    assert policy_digest(PolicySnapshot(policy.weights, 8, other)) != policy_digest(policy)
    with pytest.raises(ValueError):
        policy_digest("not a policy")
