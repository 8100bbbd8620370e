"""Training core on CartPole: config validation, the NEXT_STEP autoreset bookkeeping,
determinism, a smoke run of every algorithm, progress/cancel API, CLI, and one slow
end-to-end solve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from devtools.torch_reference import torch_logits, torch_params
from pgcore.cartpole.__main__ import main
from pgcore.cartpole.config import ALGOS, SOLVE_THRESHOLD, SOLVE_WINDOW, TrainConfig, preset_config
from pgcore.cartpole.core import per_step_grad_variance
from pgcore.cartpole.policy import random_policy
from pgcore.cartpole.runs import running_mean
from pgcore.cartpole.training import TrainingRun, iter_training, train

REPO = Path(__file__).resolve().parents[1]


def small(algo: str, seed: int = 0, **overrides) -> TrainConfig:
    return preset_config("fast", algo, seed, **{"max_env_steps": 3000, **overrides})


# ---------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("algo", "ppo"),
        ("seed", -1),
        ("seed", 1.5),
        ("gamma", 1.2),
        ("gamma", float("nan")),
        ("policy_lr", 0.0),
        ("value_lr", -1e-3),
        ("hidden_size", 0),
        ("activation", "gelu"),
        ("num_envs", 0),
        ("rollout_steps", 0),
        ("advantage_estimator", "td"),
        ("gae_lambda", 1.5),
        ("n_steps", 0),
        ("entropy_coef", -0.1),
        ("max_grad_norm", -1.0),
        ("lr_decay_steps", -1),
        ("lr_decay_steps", 1.5),
        ("update_epochs", 0),
        ("clip_range", 0.0),
        ("max_env_steps", 0),
        ("max_wall_seconds", -1.0),
        ("normalize_returns", "yes"),
    ],
)
def test_bad_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_articles_preset_matches_the_articles():
    config = preset_config("articles", "reinforce", seed=3)
    assert (config.gamma, config.hidden_size, config.policy_lr) == (0.9, 128, 3e-4)
    assert config.normalize_returns and config.num_envs == 1 and config.activation == "relu"
    assert config.seed == 3


def test_preset_config_overrides_and_rejects_unknown_fields():
    assert preset_config("fast", "actor_critic", 1, gae_lambda=0.5).gae_lambda == 0.5
    with pytest.raises(ValueError, match="overrides"):
        preset_config("fast", "reinforce", 0, learning_rate=1.0)
    with pytest.raises(ValueError, match="name"):
        preset_config("slow", "reinforce", 0)


def test_the_defaults_are_the_fast_preset_reinforce():
    assert TrainConfig() == preset_config("fast", "reinforce", 0)


def test_config_is_frozen():
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.gamma = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# Environment bookkeeping
# ---------------------------------------------------------------------------------------


def test_vector_cartpole_autoresets_on_the_next_step():
    # What the training loop relies on: the ending step returns the final observation
    # (outside the bounds), the following step returns the reset observation with
    # reward 0 and no flags.
    env = gym.make_vec("CartPole-v1", num_envs=1, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(np.ones(1, dtype=np.int64))
        done = bool(terminated[0] or truncated[0])
    assert terminated[0] and reward[0] == 1.0
    assert abs(obs[0, 0]) > 2.4 or abs(obs[0, 2]) > 12 * 2 * np.pi / 360
    obs, reward, terminated, truncated, _ = env.step(np.ones(1, dtype=np.int64))
    assert reward[0] == 0.0 and not terminated[0] and not truncated[0]
    assert np.all(np.abs(obs) <= 0.05)
    env.close()


def test_actor_critic_rollout_masks_the_reset_step_and_keeps_the_final_observation():
    config = small("actor_critic", num_envs=4, rollout_steps=200)
    run = TrainingRun(config)
    env = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    in_progress = np.zeros(4, dtype=np.int64)
    batch, _, _ = run._collect_rollout(env, obs, np.zeros(4, dtype=bool), np.zeros(4), in_progress)
    env.close()
    done = batch.terminated | batch.truncated
    assert done.sum() > 4  # an untrained policy drops the pole every ~20 steps
    # invalid exactly on the step after an episode end
    expected_valid = np.ones_like(batch.valid)
    expected_valid[1:] = ~done[:-1]
    np.testing.assert_array_equal(batch.valid, expected_valid)
    assert np.all(batch.rewards[~batch.valid] == 0.0)
    # the stored next observation after a termination is the final (out-of-bounds) one
    t, n = np.nonzero(batch.terminated)
    final = batch.obs[t + 1, n]
    assert np.all((np.abs(final[:, 0]) > 2.4) | (np.abs(final[:, 2]) > 0.2094))
    # env steps count valid transitions only; every finished episode's length adds up
    assert run.env_steps == int(batch.valid.sum())
    assert sum(run.episode_lengths) + in_progress.sum() == run.env_steps
    assert np.all(np.array(run.episode_returns) == np.array(run.episode_lengths))


def test_reinforce_batch_holds_one_episode_per_env():
    run = TrainingRun(small("reinforce", num_envs=5))
    record = next(run)
    run.close()
    assert record.episode_returns.size == 5
    assert record.env_steps == record.episode_lengths.sum() == record.batch_steps
    assert np.all(np.diff(record.episode_end_steps) >= 0)
    assert record.episode_end_steps[-1] == record.env_steps


# ---------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algorithm_runs_and_reports_progress(algo):
    records = []
    result = train(small(algo, measure_grad_variance=True), callback=records.append)
    assert result.stop_reason == "max_env_steps"
    assert result.env_steps >= 3000 and result.updates == len(records)
    steps = [r.env_steps for r in records]
    assert steps == sorted(steps) and steps[-1] == result.env_steps
    finished = np.concatenate([r.episode_returns for r in records])
    np.testing.assert_array_equal(finished, result.episode_returns)
    np.testing.assert_array_equal(result.episode_returns, result.episode_lengths)  # +1 per step
    assert np.all(np.diff(result.episode_end_steps) >= 0)
    last = records[-1]
    assert 0.0 < last.entropy <= np.log(2) + 1e-6
    assert last.grad_variance is not None and last.grad_variance > 0
    assert np.isfinite(last.policy_loss) and last.weight_variance >= 0
    assert (last.value_loss is not None) == (algo in ("reinforce_value", "actor_critic"))
    assert last.steps_per_second > 0
    assert result.policy.algo == algo
    obs = np.random.default_rng(0).normal(size=(16, 4))
    np.testing.assert_allclose(
        result.policy.probabilities(obs), torch_probabilities(result.policy, obs), rtol=1e-12, atol=1e-15
    )


def torch_probabilities(snapshot, obs):
    """π(·|s) from torch (float64) with the snapshot's weights."""
    names = ("layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias")
    params = [torch.from_numpy(snapshot.weights[name].astype(np.float64)) for name in names]
    with torch.no_grad():
        return torch.softmax(torch_logits(params, snapshot.activation, obs), dim=-1).numpy()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_numpy_snapshot_probabilities_match_the_torch_network(activation):
    # Two implementations of one forward pass: pgcore's numpy one, and torch's.
    snapshot = random_policy(hidden_size=16, seed=3, activation=activation)
    obs = np.random.default_rng(1).normal(scale=2.0, size=(64, 4))
    got = snapshot.probabilities(obs)
    np.testing.assert_allclose(got, torch_probabilities(snapshot, obs), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(snapshot.probabilities(obs[5]), got[5], rtol=1e-15)
    assert np.ptp(got[:, 0]) > 1e-3  # the observations actually move the policy


@pytest.mark.parametrize("algo", ["reinforce_baseline", "actor_critic"])
def test_same_seed_same_returns_different_seed_different_returns(algo):
    first = train(small(algo, seed=7))
    second = train(small(algo, seed=7))
    other = train(small(algo, seed=8))
    np.testing.assert_array_equal(first.episode_returns, second.episode_returns)
    for name, array in first.policy.weights.items():
        np.testing.assert_array_equal(array, second.policy.weights[name])
    assert not np.array_equal(first.episode_returns[:20], other.episode_returns[:20])


def test_nstep_estimator_runs():
    result = train(small("actor_critic", advantage_estimator="nstep", n_steps=3))
    assert result.env_steps >= 3000


def test_global_numpy_rng_is_left_alone():
    state = np.random.get_state()
    train(small("reinforce_value", max_env_steps=500))
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_training_never_imports_torch():
    """The whole loop is numpy (pgcore.cartpole.core): a run in a fresh interpreter leaves torch unimported."""
    code = (
        "import sys; from pgcore.cartpole.config import preset_config; from pgcore.cartpole.training import train;"
        " from pgcore.cartpole.baseline_bias import measure_baseline_bias;"
        " train(preset_config('fast', 'actor_critic', 0, max_env_steps=300)); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_cancel_with_should_stop_and_with_break():
    calls = []
    result = train(small("reinforce"), callback=calls.append, should_stop=lambda: len(calls) >= 2)
    assert result.updates == 2 and result.stop_reason == "cancelled"

    run = iter_training(small("actor_critic"))
    for record in run:
        if record.update == 3:
            break
    partial = run.result()
    assert partial.updates == 3 and partial.stop_reason == "cancelled"
    assert partial.env_steps == record.env_steps


def test_wall_clock_budget_stops_the_run():
    result = train(small("reinforce", max_env_steps=10_000_000, max_wall_seconds=0.3))
    assert result.stop_reason == "max_wall_seconds"
    assert result.wall_seconds < 3.0


def test_solved_is_the_first_20_episode_mean_at_or_above_475():
    # A run that never solves reports None; running_mean is the quantity solved is based on.
    result = train(small("reinforce", max_env_steps=2000))
    assert not result.solved and result.steps_to_solve is None
    means = running_mean(result.episode_returns, SOLVE_WINDOW)
    assert np.all(means[SOLVE_WINDOW - 1 :] < SOLVE_THRESHOLD)
    np.testing.assert_allclose(running_mean([1.0, 3.0, 5.0], 2), [1.0, 2.0, 4.0])


def test_per_step_grad_variance_matches_torch_autograd_step_by_step():
    """Per-step gradients −Ψ_t ∇ log π(a_t|s_t) from torch.autograd, one backward per step, then
    (1/B) Σ ‖g_t − ḡ‖²: the same number as pgcore's outer-product formula."""
    run = TrainingRun(small("reinforce", max_env_steps=100))
    rng = np.random.default_rng(0)
    obs, actions, weights = rng.normal(size=(6, 4)), np.array([0, 1, 1, 0, 1, 0]), rng.normal(size=6)
    params = torch_params(run.policy)
    grads = []
    for s, a, w in zip(obs, actions, weights):
        loss = -w * torch.log_softmax(torch_logits(params, "tanh", s[None]), dim=-1)[0, a]
        grads.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    flat = torch.stack(grads)
    expected = float(((flat - flat.mean(0)) ** 2).sum(1).mean())
    assert per_step_grad_variance(run.policy, obs, actions, weights) == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_reinforce_value_fast_preset_solves_within_150k_steps():
    result = train(preset_config("fast", "reinforce_value", seed=0, max_env_steps=150_000))
    assert result.solved, result.summary()
    assert result.steps_to_solve <= 150_000
    assert result.final_avg_return >= SOLVE_THRESHOLD


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgcore.cartpole", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


BAD_ARGUMENTS = [
    ["--algo", "ppo"],
    ["--algo", "reinforce", "--max-steps", "0"],
    ["--algo", "reinforce", "--max-steps", "-5"],
    ["--algo", "reinforce", "--max-steps", "lots"],
    ["--algo", "reinforce", "--seed", "-1"],
    ["--algo", "reinforce", "--preset", "turbo"],
    ["--seed", "1"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS)
def test_cli_bad_arguments_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "error" in captured.err and captured.out == ""


@pytest.mark.parametrize("args", [BAD_ARGUMENTS[0], BAD_ARGUMENTS[1]])
def test_cli_bad_arguments_exit_2_in_a_real_process(args):
    out = run_cli(*args)
    assert out.returncode == 2
    assert "error" in out.stderr and out.stdout == ""


def test_cli_short_run_prints_json_last(tmp_path):
    path = tmp_path / "policy.safetensors"
    out = run_cli("--algo", "actor_critic", "--seed", "2", "--max-steps", "2000", "--save", str(path))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "algo",
        "seed",
        "solved",
        "steps_to_solve",
        "window_solved_at",
        "evaluations",
        "eval_mean_return",
        "eval_env_steps",
        "env_steps",
        "episodes",
        "wall_seconds",
        "final_avg_return",
    }
    assert summary["algo"] == "actor_critic" and summary["seed"] == 2
    assert summary["solved"] is False and summary["steps_to_solve"] is None
    assert summary["window_solved_at"] is None and summary["evaluations"] == 0
    assert summary["episodes"] > 0 and summary["final_avg_return"] > 0
    assert path.stat().st_size > 0


# ---------------------------------------------------------------------------------------
# Reference curves (data/reference_curves.json, made by scripts/make_reference_curves.py)
# ---------------------------------------------------------------------------------------


def test_reference_curves_file_is_small_complete_and_consistent():
    path = REPO / "data" / "reference_curves.json"
    assert path.stat().st_size < 200_000
    document = json.loads(path.read_text())
    names = {(c["algo"], c["preset"], c["normalized"]) for c in document["curves"]}
    assert names == (
        {(algo, "fast", False) for algo in ALGOS} | {("reinforce", "fast", True)} | {("reinforce", "articles", True)}
    )
    for curve in document["curves"]:
        size = len(curve["env_steps"])
        assert len(curve["mean"]) == len(curve["low"]) == len(curve["high"]) == size
        assert np.all(np.diff(curve["env_steps"]) > 0)
        assert np.all(np.array(curve["low"]) <= np.array(curve["mean"]) + 1e-9)
        assert np.all(np.array(curve["mean"]) <= np.array(curve["high"]) + 1e-9)
        key = (curve["algo"], curve["preset"], curve["normalized"])
        runs = [r for r in document["runs"] if (r["algo"], r["preset"], r["normalized"]) == key]
        assert [r["steps_to_solve"] for r in runs] == curve["steps_to_solve"]
        assert [r["window_solved_at"] for r in runs] == curve["window_solved_at"]
    for run in document["runs"]:
        assert len(run["env_steps"]) == len(run["avg_return"]) <= 150
        if run["steps_to_solve"] is not None:  # confirmed only after the 20-episode window said so
            assert run["window_solved_at"] is not None and run["window_solved_at"] <= run["steps_to_solve"]
            solved_at = np.searchsorted(run["env_steps"], run["window_solved_at"])
            assert max(run["avg_return"][solved_at:]) >= SOLVE_THRESHOLD
