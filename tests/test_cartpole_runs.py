"""pgcore.cartpole.runs: run (de)serialization and its strict validation, the solve rule
replayed over a run — and agreement with the training loop (pgcore.cartpole.training)
where both apply the same rule."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import numpy as np
import pytest

from pgcore.cartpole.runs import (
    MAX_RUN_BYTES,
    RUN_FORMAT,
    RunData,
    downsample_indices,
    first_solve_step,
    run_from_json,
    run_to_csv,
    run_to_dict,
    run_to_json,
    running_mean,
)


def make_run(returns=(10.0, 30.0, 500.0), algo="reinforce", name="demo", **kwargs) -> RunData:
    returns = np.asarray(returns, dtype=float)
    lengths = np.maximum(returns.astype(int), 1)
    ends = np.cumsum(lengths)
    updates = ends[::2] if ends.size else np.zeros(0, dtype=int)
    defaults = dict(
        name=name,
        algo=algo,
        seed=3,
        preset="fast",
        config={"gamma": 0.99, "hidden_size": 32},
        episode_returns=returns,
        episode_lengths=lengths,
        episode_end_steps=ends,
        update_steps=updates,
        weight_variance=np.linspace(1.0, 2.0, updates.size),
        weight_mean=np.zeros(updates.size),
        entropy=np.full(updates.size, 0.6),
    )
    defaults.update(kwargs)
    return RunData(**defaults)


# --- the solve rule and running mean ----------------------------------------------------------


def test_running_mean_is_the_mean_of_the_last_window_values():
    x = np.arange(1.0, 31.0)
    out = running_mean(x, window=20)
    assert out[0] == 1.0
    assert out[19] == pytest.approx(np.mean(x[:20]), abs=1e-12)
    assert out[29] == pytest.approx(np.mean(x[10:30]), abs=1e-12)


def test_running_mean_agrees_with_a_plain_loop():
    x = np.random.default_rng(0).uniform(0, 500, 300)
    loop = [np.mean(x[max(0, i - 19) : i + 1]) for i in range(x.size)]
    np.testing.assert_allclose(running_mean(x), loop, rtol=0, atol=1e-9)


def brute_force_solve(returns, ends, window=20, threshold=475.0):
    for i in range(window - 1, len(returns)):
        if np.mean(returns[i - window + 1 : i + 1]) >= threshold:
            return int(ends[i])
    return None


def test_first_solve_step_matches_a_direct_search():
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(0, 80))
        returns = rng.choice([100.0, 470.0, 480.0, 500.0], size=n)
        ends = np.cumsum(rng.integers(1, 500, size=n))
        assert first_solve_step(returns, ends) == brute_force_solve(returns, ends)


def test_first_solve_step_needs_a_full_window():
    assert first_solve_step([500.0] * 19, np.arange(1, 20)) is None
    assert first_solve_step([500.0] * 20, np.arange(1, 21) * 500) == 10_000


@pytest.mark.slow
def test_steps_to_solve_agrees_with_a_real_training_run():
    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import train

    result = train(preset_config("fast", "actor_critic", seed=0, max_env_steps=100_000))
    assert result.solved, "the fast preset's actor_critic solves seed 0 within 100k steps (~17k measured)"
    assert first_solve_step(result.episode_returns, result.episode_end_steps) == result.window_solved_at
    assert result.window_solved_at <= result.steps_to_solve <= result.env_steps
    assert result.eval_mean_return >= 475.0
    assert running_mean(result.episode_returns)[-1] == pytest.approx(result.final_avg_return, abs=1e-9)


# --- round trips ----------------------------------------------------------------------------


def test_json_round_trip_keeps_every_number():
    run = make_run(
        [20.0] * 5 + [500.0] * 25,
        grad_variance=None,
        wall_seconds=1.25,
        group="g",
        steps_to_solve=12_600,
        eval_mean_return=488.5,
    )
    back = run_from_json(run_to_json(run))
    for field in dataclasses.fields(RunData):
        a, b = getattr(run, field.name), getattr(back, field.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, field.name
    assert back.solved and back.steps_to_solve == 12_600 and back.window_solved_at == run.window_solved_at


def test_json_round_trip_with_gradient_variance_and_bytes_input():
    run = make_run([50.0] * 7, grad_variance=np.arange(4.0))
    back = run_from_json(run_to_json(run).encode())
    np.testing.assert_array_equal(back.grad_variance, run.grad_variance)


def test_csv_has_one_row_per_episode_with_the_running_mean():
    run = make_run([10.0, 20.0, 30.0])
    rows = list(csv.DictReader(io.StringIO(run_to_csv(run))))
    assert [int(r["episode"]) for r in rows] == [1, 2, 3]
    assert [float(r["return"]) for r in rows] == [10.0, 20.0, 30.0]
    assert float(rows[-1]["mean_last_20"]) == pytest.approx(20.0)
    assert [int(r["end_env_step"]) for r in rows] == [10, 30, 60]


def test_an_empty_run_is_valid():
    run = make_run([])
    assert run.env_steps == 0 and not run.solved
    assert run_from_json(run_to_json(run)).episode_returns.size == 0


# --- strict upload validation -----------------------------------------------------------------


def good_dict() -> dict:
    return run_to_dict(make_run([30.0, 40.0, 50.0, 60.0]))


def mutated(change) -> bytes:
    d = good_dict()
    change(d)
    return json.dumps(d).encode()


BAD_FILES = {
    "not json": b"{this is not json",
    "random bytes": bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)),
    "a list": b"[1, 2, 3]",
    "wrong format": mutated(lambda d: d.update(format="something.else")),
    "wrong version": mutated(lambda d: d.update(format_version=99)),
    "missing field": mutated(lambda d: d.pop("episodes")),
    "unknown field": mutated(lambda d: d.update(extra=1)),
    "NaN return": json.dumps(good_dict()).replace('"returns": [30.0', '"returns": [NaN').encode(),
    "Infinity": json.dumps(good_dict()).replace('"returns": [30.0', '"returns": [Infinity').encode(),
    "string in array": mutated(lambda d: d["episodes"].update(returns=["a", 1, 2, 3])),
    "ragged lengths": mutated(lambda d: d["episodes"].update(lengths=[1, 2])),
    "update arrays differ": mutated(lambda d: d["updates"].update(entropy=[0.1])),
    "negative variance": mutated(
        lambda d: d["updates"].update(weight_variance=[-1.0] * len(d["updates"]["env_steps"]))
    ),
    "decreasing end steps": mutated(lambda d: d["episodes"].update(end_steps=[100, 50, 200, 260])),
    "bad algo": mutated(lambda d: d.update(algo="ppo")),
    "bool seed": mutated(lambda d: d.update(seed=True)),
    "nested config": mutated(lambda d: d["config"].update(net={"a": 1})),
    "false solve claim": mutated(lambda d: d.update(steps_to_solve=123)),
    "false window claim": mutated(lambda d: d.update(window_solved_at=77)),
    "env steps too small": mutated(lambda d: d.update(env_steps=1)),
    "control chars in name": mutated(lambda d: d.update(name="a\nb")),
    "huge values": mutated(lambda d: d["episodes"].update(returns=[1e300, 1, 2, 3])),
}


#: What each refusal must say (a fragment of the message): the reason, not just "an error".
REASONS = {
    "not json": "not valid JSON",
    "random bytes": "not UTF-8",
    "a list": "not an object",
    "wrong format": "not a pgcore.cartpole.run file",
    "wrong version": "unsupported format_version",
    "missing field": "missing episodes",
    "unknown field": "unknown fields: extra",
    "NaN return": "not a finite number",
    "Infinity": "not a finite number",
    "string in array": "episode_returns must be a list of numbers",
    "ragged lengths": "must have the same length",
    "update arrays differ": "entropy must have one entry per update",
    "negative variance": "variances must be >= 0",
    "decreasing end steps": "positive and nondecreasing",
    "bad algo": "algo must be one of",
    "bool seed": "seed must be a whole number",
    "nested config": "config['net'] must be a number",
    "false solve claim": "steps_to_solve 123 is not supported",
    "false window claim": "window_solved_at says 77",
    "env steps too small": "env_steps is smaller",
    "control chars in name": "name contains control characters",
    "huge values": "absurdly large",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_run_files_are_refused_with_a_reason(name):
    with pytest.raises(ValueError) as err:
        run_from_json(BAD_FILES[name])
    assert REASONS[name] in str(err.value)


def test_nan_and_infinity_files_really_contain_them():
    assert b"[NaN" in BAD_FILES["NaN return"] and b"[Infinity" in BAD_FILES["Infinity"]


def test_oversized_file_is_refused_before_parsing():
    big = b" " * (MAX_RUN_BYTES + 1)
    with pytest.raises(ValueError, match="MB"):
        run_from_json(big)


def test_too_many_episodes_are_refused():
    d = good_dict()
    n = 50_001
    d["episodes"] = {"returns": [1.0] * n, "lengths": [1] * n, "end_steps": list(range(1, n + 1))}
    d["env_steps"] = n
    with pytest.raises(ValueError, match="at most"):
        run_from_json(json.dumps(d), max_bytes=10**8)


def test_the_good_file_itself_parses():
    assert run_from_json(json.dumps(good_dict())).episode_returns.tolist() == [30.0, 40.0, 50.0, 60.0]


def test_downsample_keeps_ends_and_caps_the_count():
    idx = downsample_indices(10_000, 2000)
    assert idx[0] == 0 and idx[-1] == 9999 and len(idx) <= 2000
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(downsample_indices(5, 2000), np.arange(5))
    assert downsample_indices(0, 10).size == 0


# --- files saved before pgcore.cartpole became a package ------------------------------------------

#: Written by pgcore/cartpole_runs.py (the flat module, before the package): same format string and version.
OLD_RUN_FILE = (
    '{"format":"pgcore.cartpole.run","format_version":2,"name":"reinforce \\u00b7 seed 0 \\u00b7 #1","algo":"reinforce",'
    '"seed":0,"preset":"fast","group":"g","config":{"gamma":0.99,"normalize_returns":false},"env_steps":10042,'
    '"wall_seconds":1.5,"stop_reason":"solved","steps_to_solve":10042,"window_solved_at":9542,"eval_mean_return":488.5,'
    '"episodes":{"returns":[12.0,30.0' + ",500.0" * 20 + '],"lengths":[12,30' + ",500" * 20 + "],"
    '"end_steps":[12,42,542,1042,1542,2042,2542,3042,3542,4042,4542,5042,5542,6042,6542,7042,7542,8042,8542,9042,'
    '9542,10042]},"updates":{"env_steps":[42,10042],"weight_variance":[4.5,120.25],"weight_mean":[9.0,40.5],'
    '"entropy":[0.69,0.41],"grad_variance":null}}'
)


def test_a_run_file_saved_by_the_flat_module_still_loads():
    run = run_from_json(OLD_RUN_FILE)
    assert RUN_FORMAT == "pgcore.cartpole.run"
    assert run.name == "reinforce · seed 0 · #1" and run.solved and run.steps_to_solve == 10_042
    assert run.window_solved_at == 9542 and run.episode_returns.size == 22
    assert json.loads(run_to_json(run)) == json.loads(OLD_RUN_FILE)  # and is written back byte for byte the same data
