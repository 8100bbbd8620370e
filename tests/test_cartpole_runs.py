"""pgcore.cartpole_runs: run (de)serialization and its strict validation, the solve rule,
bands and summaries, animation geometry, reference-curve reading — and agreement with
the training core (pgcore.cartpole) where both define the same thing."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import numpy as np
import pytest

from pgcore.cartpole_runs import (
    ALGOS,
    MAX_RUN_BYTES,
    RunData,
    cartpole_frames,
    downsample_indices,
    first_solve_step,
    parse_reference_curves,
    run_from_json,
    run_to_csv,
    run_to_dict,
    run_to_json,
    running_mean,
    seed_band,
    summarize_by_algo,
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
    from pgcore.cartpole import preset_config, train

    result = train(preset_config("fast", "reinforce_baseline", seed=0, max_env_steps=150_000))
    assert result.solved, "the fast preset should solve within 150k steps at seed 0"
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


# --- comparisons ---------------------------------------------------------------------------


def test_downsample_keeps_ends_and_caps_the_count():
    idx = downsample_indices(10_000, 2000)
    assert idx[0] == 0 and idx[-1] == 9999 and len(idx) <= 2000
    assert np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(downsample_indices(5, 2000), np.arange(5))
    assert downsample_indices(0, 10).size == 0


def test_seed_band_of_identical_runs_has_zero_width():
    a, b = make_run([100.0] * 30, name="a"), make_run([100.0] * 30, name="b")
    band = seed_band([a, b], points=50)
    assert band is not None and band.runs == 2
    np.testing.assert_allclose(band.mean, 100.0)
    np.testing.assert_allclose(band.high - band.low, 0.0, atol=1e-12)


def test_seed_band_is_mean_plus_minus_std_within_the_runs_range():
    a, b = make_run([100.0] * 30, name="a"), make_run([300.0] * 30, name="b")
    band = seed_band([a, b], points=20)
    # at step 3000 both runs are past their first episode (ends at 100 and 300)
    np.testing.assert_allclose(band.mean, 200.0)
    np.testing.assert_allclose(band.low, 100.0)  # mean − std = 100 exactly
    np.testing.assert_allclose(band.high, 300.0)
    assert seed_band([a]) is None


def test_summary_counts_solved_runs_and_medians():
    solved_fast = make_run([500.0] * 20, name="s1", steps_to_solve=10_000, eval_mean_return=490.0)
    solved_slow = make_run([100.0] * 10 + [500.0] * 25, name="s2", steps_to_solve=13_000, eval_mean_return=480.0)
    window_only = make_run([500.0] * 20, name="w", eval_mean_return=300.0)  # the check failed
    unsolved = make_run([100.0] * 30, name="u")
    other = make_run([50.0] * 5, algo="actor_critic", name="ac")
    summary = summarize_by_algo([solved_fast, solved_slow, window_only, unsolved, other])
    assert [s.algo for s in summary] == ["reinforce", "actor_critic"]
    r = summary[0]
    assert window_only.window_solved_at == 10_000 and not window_only.solved
    assert (r.runs, r.solved) == (4, 2)
    assert r.median_steps_to_solve == pytest.approx(11_500)
    assert r.min_steps_to_solve == 10_000
    assert summary[1].solved == 0 and summary[1].median_steps_to_solve is None


# --- the animation geometry ------------------------------------------------------------------


def test_frames_put_the_pole_tip_at_x_plus_l_sin_theta():
    states = np.array([[0.0, 0, 0.0, 0], [0.5, 0, np.pi / 6, 0], [-1.0, 0, -np.pi / 2, 0]])
    frames = cartpole_frames(states, np.array([1, 0]))
    np.testing.assert_allclose(frames.cart_x, [0.0, 0.5, -1.0])
    np.testing.assert_allclose(frames.tip_x, [0.0, 0.5 + 0.5, -2.0], atol=1e-12)
    np.testing.assert_allclose(frames.tip_y, [1.0, np.sqrt(3) / 2, 0.0], atol=1e-12)
    np.testing.assert_allclose(frames.angle_deg, [0.0, 30.0, -90.0])
    assert frames.actions.tolist() == [1, 0, -1]


def test_frames_are_capped():
    states = np.zeros((501, 4))
    frames = cartpole_frames(states, np.zeros(500, dtype=int), max_frames=200)
    assert frames.steps.size <= 200 and frames.steps[-1] == 500


def test_frames_reject_bad_shapes():
    with pytest.raises(ValueError):
        cartpole_frames(np.zeros((3, 3)), np.zeros(2))
    with pytest.raises(ValueError):
        cartpole_frames(np.zeros((3, 4)), np.zeros(5))


# --- reference curves --------------------------------------------------------------------------


def test_reference_curves_in_several_layouts():
    layouts = [
        {"curves": {"reinforce": {"env_steps": [0, 1, 2], "mean": [1, 2, 3], "low": [0, 1, 2], "high": [2, 3, 4]}}},
        {"algos": {"actor_critic": {"steps": [0, 1], "mean_return": [5, 6]}}},
        {"curves": [{"algo": "reinforce_value", "x": [0, 1], "y": [1, 1], "seeds": 10}]},
    ]
    for layout in layouts:
        curves, notes = parse_reference_curves(json.dumps(layout))
        assert len(curves) == 1 and not notes, (layout, notes)
        assert curves[0].algo in ALGOS


def test_reference_curves_skip_what_is_broken_and_say_so():
    data = {
        "curves": {
            "reinforce": {"env_steps": [0, 1], "mean": [1]},
            "b": {"foo": 1},
            "reinforce_value": {"env_steps": [0, 1], "mean": [1, 2]},
        }
    }
    curves, notes = parse_reference_curves(json.dumps(data))
    assert [c.name for c in curves] == ["reinforce_value"]
    assert len(notes) == 2
    for garbage in (b"\xff\xfe", b"[1]", b'{"curves": 3}', b"NaN"):
        curves, notes = parse_reference_curves(garbage)
        assert curves == [] and notes


def test_the_shipped_reference_file_is_read_completely():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "reference_curves.json"
    assert path.exists(), (
        "data/reference_curves.json is shipped with the app; regenerate it with scripts/make_reference_curves.py"
    )
    curves, notes = parse_reference_curves(path.read_bytes())
    assert curves and not notes
    assert {c.algo for c in curves} <= set(ALGOS) and all(c.algo for c in curves)
    assert all(c.low is not None and c.high is not None and c.steps_to_solve for c in curves)
    assert all(np.all(np.diff(c.env_steps) >= 0) for c in curves)


def test_policy_digest_follows_the_weights_not_the_name():
    from pgcore.cartpole_policy import PolicySnapshot, policy_digest, random_policy

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
