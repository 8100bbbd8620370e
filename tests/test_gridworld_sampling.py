"""pgcore.gridworld_sampling: the sampler is reproducible, follows the dynamics and the
terminated / truncated flags, and agrees with pgcore.gridworld's exact J, return spread and state
visitation (4 standard errors, fixed seeds); starts are honoured, zero-probability actions never
drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.gridworld import GridWorld
from pgcore.gridworld_sampling import sample_episodes


def random_theta(env: GridWorld, seed: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=(env.n_states, 4))


def test_same_seed_same_episodes_and_other_seed_other_episodes():
    env = GridWorld()
    theta = random_theta(env, 6)
    a = sample_episodes(env, theta, 200, np.random.default_rng(7))
    b = sample_episodes(env, theta, 200, np.random.default_rng(7))
    c = sample_episodes(env, theta, 200, np.random.default_rng(8))
    for field in ("states", "actions", "rewards", "lengths", "terminated", "final_states"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.actions, c.actions)


def test_sampled_episodes_follow_the_dynamics_and_flags():
    env = GridWorld(size=4, max_steps=20)
    theta = random_theta(env, 7)
    eps = sample_episodes(env, theta, 500, np.random.default_rng(1))
    assert eps.states.shape == eps.actions.shape == eps.rewards.shape == (500, 20)
    assert np.all(eps.terminated ^ eps.truncated)
    assert eps.terminated.any() and eps.truncated.any()
    assert eps.env_steps == int(eps.valid.sum())
    for i in range(eps.n):
        states, actions, rewards = eps.path(i)
        assert states[0] == env.start
        np.testing.assert_array_equal(env.next_state[states[:-1], actions], states[1:])
        np.testing.assert_array_equal(env.reward[states[:-1], actions], rewards)
        assert (states[-1] == env.goal) == eps.terminated[i]
        assert env.goal not in states[:-1]
        assert eps.truncated[i] == (eps.lengths[i] == 20 and states[-1] != env.goal)
    np.testing.assert_array_equal(eps.rewards[~eps.valid], 0.0)
    np.testing.assert_allclose(eps.returns, eps.reward_to_go[:, 0])


@pytest.mark.parametrize(("size", "gamma", "seed"), [(5, 1.0, 0), (3, 0.9, 1), (5, 1.0, 2)])
def test_monte_carlo_mean_return_is_within_4_standard_errors_of_exact_j(size, gamma, seed):
    env = GridWorld(size=size, gamma=gamma)
    theta = random_theta(env, 20 + seed)
    eps = sample_episodes(env, theta, 40_000, np.random.default_rng(seed))
    r = eps.returns
    se = r.std(ddof=1) / math.sqrt(r.size)
    assert se > 0
    assert abs(r.mean() - env.expected_return(theta)) < 4 * se
    # the spread too: sample std within a few percent of the exact σ
    assert r.std() == pytest.approx(env.return_moments(theta)[1][env.start], rel=0.03)


def test_monte_carlo_visitation_matches_exact_state_visitation():
    env = GridWorld(size=4, max_steps=25)
    theta = random_theta(env, 9)
    n = 40_000
    eps = sample_episodes(env, theta, n, np.random.default_rng(3))
    exact = env.state_visitation(theta).sum(axis=0)  # expected visits per cell
    visits = np.zeros((n, env.n_states))
    rows = np.repeat(np.arange(n), eps.lengths)
    np.add.at(visits, (rows, eps.states[eps.valid]), 1.0)
    mean, se = visits.mean(axis=0), visits.std(axis=0, ddof=1) / math.sqrt(n)
    reached = se > 0
    assert reached.sum() == env.n_states - 1  # every cell but the goal is visited
    assert np.all(np.abs(mean - exact)[reached] < 4 * se[reached])
    assert eps.terminated.mean() == pytest.approx(env.goal_probability(theta), abs=4 * 0.5 / math.sqrt(n))


def test_starts_are_honoured_and_zero_probability_actions_never_drawn():
    env = GridWorld(size=3)
    theta = env.uniform_theta()
    theta[:, 0] = -1e4  # "up" has probability 0 (to the last digit) everywhere
    starts = np.array([1, 4, 7] * 100)
    eps = sample_episodes(env, theta, 300, np.random.default_rng(0), starts=starts)
    np.testing.assert_array_equal(eps.starts, starts)
    np.testing.assert_array_equal(eps.states[:, 0], starts)
    assert not np.any(eps.actions[eps.valid] == 0)


def test_sampler_handles_a_deterministic_policy():
    env = GridWorld()
    eps = sample_episodes(env, env.greedy_theta(1e4), 50, np.random.default_rng(0))
    assert eps.lengths.tolist() == [8] * 50
    assert eps.returns.tolist() == [-69.0] * 50
