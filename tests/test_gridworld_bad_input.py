"""Bad input to the GridWorld modules: a ValueError whose message names the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import ReinforceConfig, init_state, reinforce_gradient, reinforce_step, train
from pgcore.gridworld_grpo import GRPOConfig, expected_grpo_update, group_advantages
from pgcore.gridworld_ppo import PPOConfig, ppo_advantages, vanilla_pg_step
from pgcore.gridworld_sampling import sample_episodes

ENV = GridWorld()
THETA = ENV.uniform_theta()
NAN_THETA = THETA.copy()
NAN_THETA[3, 1] = math.nan


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


CASES = [
    ("size", lambda: GridWorld(size=1)),
    ("size", lambda: GridWorld(size=11)),
    ("size", lambda: GridWorld(size=5.0)),
    ("gamma", lambda: GridWorld(gamma=-0.1)),
    ("gamma", lambda: GridWorld(gamma=1.5)),
    ("gamma", lambda: GridWorld(gamma=math.nan)),
    ("max_steps", lambda: GridWorld(max_steps=0)),
    ("max_steps", lambda: GridWorld(max_steps=10**9)),
    ("step_reward", lambda: GridWorld(step_reward=math.inf)),
    ("goal_reward", lambda: GridWorld(goal_reward="big")),
    ("theta", lambda: ENV.expected_return(np.zeros((24, 4)))),
    ("theta", lambda: ENV.expected_return(np.zeros((25, 3)))),
    ("theta", lambda: ENV.policy_gradient(NAN_THETA)),
    ("theta", lambda: ENV.value_table([[0.0] * 4] * 9)),
    ("env", lambda: sample_episodes("grid", THETA, 5, rng())),
    ("theta", lambda: sample_episodes(ENV, NAN_THETA, 5, rng())),
    ("n", lambda: sample_episodes(ENV, THETA, 0, rng())),
    ("n", lambda: sample_episodes(ENV, THETA, 10**12, rng())),
    ("rng", lambda: sample_episodes(ENV, THETA, 5, 42)),
    ("rng", lambda: sample_episodes(ENV, THETA, 5, np.random.RandomState(0))),
    ("starts", lambda: sample_episodes(ENV, THETA, 2, rng(), starts=[0, 24])),
    ("starts", lambda: sample_episodes(ENV, THETA, 2, rng(), starts=[0, 1, 2])),
    ("starts", lambda: ENV.start_gradients(THETA, [])),
    ("state", lambda: ENV.score(THETA, 25, 0)),
    ("action", lambda: ENV.score(THETA, 0, 4)),
    ("states", lambda: ENV.trajectory_factors(THETA, [0, 1, 2], [1])),
    ("states", lambda: ENV.trajectory_factors(THETA, [0, 24, 23], [1, 3])),
    ("actions", lambda: ENV.trajectory_factors(THETA, [0, 1], [7])),
    ("learning_rate", lambda: ReinforceConfig(learning_rate=0.0)),
    ("episodes_per_update", lambda: ReinforceConfig(episodes_per_update=0)),
    ("baseline", lambda: ReinforceConfig(baseline="median")),
    ("baseline", lambda: reinforce_gradient(ENV, THETA, sample_episodes(ENV, THETA, 2, rng()), "critic")),
    ("clip_eps", lambda: PPOConfig(clip_eps=0.0)),
    ("clip_eps", lambda: PPOConfig(clip_eps=-0.2)),
    ("clip_eps", lambda: GRPOConfig(clip_eps=0.0)),
    ("clip_eps", lambda: PPOConfig(clip_eps=math.nan)),
    ("epochs", lambda: PPOConfig(epochs=0)),
    ("minibatches", lambda: PPOConfig(minibatches=0)),
    ("advantage", lambda: PPOConfig(advantage="td")),
    ("gae_lambda", lambda: PPOConfig(gae_lambda=1.5)),
    ("value_learning_rate", lambda: PPOConfig(value_learning_rate=0.0)),
    ("normalize_advantages", lambda: PPOConfig(normalize_advantages="yes")),
    ("value", lambda: ppo_advantages(ENV, sample_episodes(ENV, THETA, 2, rng()), np.zeros(3))),
    ("advantages", lambda: vanilla_pg_step(ENV, THETA, sample_episodes(ENV, THETA, 2, rng()), np.zeros(3), 0.1)),
    ("group_size", lambda: GRPOConfig(group_size=1)),
    ("group_size", lambda: expected_grpo_update(ENV, THETA, group_size=1)),
    ("prompts", lambda: GRPOConfig(prompts=0)),
    ("beta", lambda: GRPOConfig(beta=-0.1)),
    ("leave_one_out", lambda: GRPOConfig(leave_one_out=1)),
    ("returns", lambda: group_advantages([[1.0], [2.0]])),
    ("returns", lambda: group_advantages([[1.0, math.nan]])),
    ("theta", lambda: expected_grpo_update(ENV, NAN_THETA)),
    ("seed", lambda: init_state(ENV, seed=-1)),
    ("env", lambda: init_state("grid")),
    ("state", lambda: reinforce_step(ENV, "state", ReinforceConfig())),
    ("config", lambda: reinforce_step(ENV, init_state(ENV), PPOConfig())),
    ("config", lambda: train(ENV, object())),
    ("updates", lambda: train(ENV, ReinforceConfig(), updates=0)),
    ("target_gap", lambda: train(ENV, ReinforceConfig(), target_gap=-0.01)),
    ("budget", lambda: train(ENV, ReinforceConfig(), budget=0)),
    ("theta", lambda: train(ENV, ReinforceConfig(), theta=np.zeros((2, 2)))),
]


@pytest.mark.parametrize(("argument", "call"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


def test_infinite_clip_is_allowed_and_means_no_clipping():
    assert PPOConfig(clip_eps=math.inf).clip_eps == math.inf
    assert GRPOConfig(clip_eps=math.inf).clip_eps == math.inf


def test_extreme_but_valid_settings_stay_finite():
    env = GridWorld(size=10, max_steps=1000, gamma=1.0)
    theta = env.greedy_theta(1e6)
    assert math.isfinite(env.expected_return(theta))
    assert np.all(np.isfinite(env.policy_gradient(theta)))
    result = train(GridWorld(size=2), ReinforceConfig(learning_rate=1e6), seed=0, updates=5)
    assert np.all(np.isfinite(result.expected_return))
    big = train(GridWorld(size=3), GRPOConfig(learning_rate=1e5, prompts=2, group_size=2), seed=0, updates=5)
    assert np.all(np.isfinite(big.expected_return))
