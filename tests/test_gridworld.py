"""pgcore.gridworld: the article's grid and numbers, exact J / V / Q / ∇J against brute-force
enumeration, finite differences and torch.autograd, the trajectory-probability factors, and the
Gymnasium environment. (The sampler against the exact values: test_gridworld_sampling.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.gridworld import ACTIONS, GridWorld
from pgcore.gridworld_sampling import sample_episodes

ARTICLE_START = [0.02, 0.60, 0.35, 0.03]  # π(·|(0,0)) in the article: "mostly right or down"
ARTICLE_NEXT_TO_GOAL = [0.01, 0.95, 0.02, 0.02]  # π(·|(4,3)): "almost certainly right"


def random_theta(env: GridWorld, seed: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=(env.n_states, 4))


def enumerate_episodes(env: GridWorld, theta: np.ndarray, start: int = 0):
    """Every episode from ``start`` by brute force over action sequences: (P(τ), R(τ), states, actions)."""
    pi = env.policy(theta)
    out = []

    def walk(s, t, prob, ret, states, actions):
        for a in range(4):
            nxt = int(env.next_state[s, a])
            p = prob * pi[s, a]
            r = ret + env.gamma**t * env.reward[s, a]
            if nxt == env.goal or t + 1 == env.max_steps:
                out.append((p, r, states + [nxt], actions + [a]))
            else:
                walk(nxt, t + 1, p, r, states + [nxt], actions + [a])

    walk(start, 0, 1.0, 0.0, [start], [])
    return out


# -- the world -------------------------------------------------------------------------


def test_article_grid_shapes_and_random_policy():
    env = GridWorld()
    theta = env.uniform_theta()
    assert theta.shape == (25, 4)  # the article's 25 × 4 table of logits
    assert (env.start, env.goal) == (0, 24)
    assert env.cell(env.goal) == (4, 4)
    np.testing.assert_allclose(env.policy(theta), 0.25, rtol=0, atol=1e-15)
    np.testing.assert_allclose(env.entropy(theta), math.log(4), rtol=1e-14)
    assert ACTIONS == ("up", "right", "down", "left")


def test_article_policy_rows_mean_right_or_down_and_right_into_the_goal():
    env = GridWorld()
    theta = env.uniform_theta()
    theta[env.state_index(0, 0)] = np.log(ARTICLE_START)
    theta[env.state_index(4, 3)] = np.log(ARTICLE_NEXT_TO_GOAL)
    pi = env.policy(theta)
    np.testing.assert_allclose(pi[0], ARTICLE_START, atol=1e-15)
    np.testing.assert_allclose(pi[env.state_index(4, 3)], ARTICLE_NEXT_TO_GOAL, atol=1e-15)
    # right and down move away from the corner; up and left hit the wall and stay
    assert [env.cell(int(s)) for s in env.next_state[0]] == [(0, 0), (0, 1), (1, 0), (0, 0)]
    # from (4, 3) right enters the goal: +1 and the end
    assert env.next_state[env.state_index(4, 3), 1] == env.goal
    assert env.reward[env.state_index(4, 3), 1] == 1.0
    assert env.reward[env.state_index(4, 3), 0] == -10.0


@pytest.mark.parametrize("size", range(2, 11))
def test_moves_and_walls_for_every_size(size):
    env = GridWorld(size=size)
    for s in range(env.n_states):
        r, c = env.cell(s)
        expected = [(max(r - 1, 0), c), (r, min(c + 1, size - 1)), (min(r + 1, size - 1), c), (r, max(c - 1, 0))]
        assert [env.cell(int(x)) for x in env.next_state[s]] == expected
    assert env.shortest_path_length == 2 * (size - 1)


@pytest.mark.parametrize(
    ("size", "gamma", "max_steps", "expected"),
    [
        (5, 1.0, 50, -69.0),  # 7 × (−10) + 1
        (2, 1.0, 50, -9.0),
        (10, 1.0, 50, -169.0),
        (5, 0.9, 50, -10 * (1 - 0.9**7) / 0.1 + 0.9**7),
        (5, 1.0, 7, -70.0),  # the goal is 8 actions away: out of reach, 7 × (−10)
        (5, 0.0, 50, -10.0),
    ],
)
def test_optimal_return_closed_form_matches_dynamic_programming(size, gamma, max_steps, expected):
    env = GridWorld(size=size, gamma=gamma, max_steps=max_steps)
    assert env.shortest_path_return() == pytest.approx(expected, abs=1e-12)
    assert env.optimal_return() == pytest.approx(expected, abs=1e-12)


def test_a_near_deterministic_optimal_policy_approaches_the_optimum():
    env = GridWorld()
    gaps = [env.optimal_return() - env.expected_return(env.greedy_theta(m)) for m in (2.0, 5.0, 10.0, 20.0, 40.0)]
    assert all(g >= -1e-12 for g in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[0] > 5.0
    assert gaps[-2] < 1e-6 and gaps[-1] < 1e-12
    # and the uniform policy is far below: most episodes wander for many steps
    assert env.expected_return(env.uniform_theta()) < -400


# -- exact math against brute force ------------------------------------------------------


@pytest.mark.parametrize(("gamma", "max_steps"), [(1.0, 5), (0.9, 6), (0.5, 4)])
def test_exact_return_value_and_moments_match_enumerating_every_episode(gamma, max_steps):
    env = GridWorld(size=2, gamma=gamma, max_steps=max_steps)
    theta = random_theta(env, 1)
    for start in env.non_goal_cells():
        episodes = enumerate_episodes(env, theta, int(start))
        probs = np.array([e[0] for e in episodes])
        rets = np.array([e[1] for e in episodes])
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        mean, std = env.return_moments(theta)
        assert mean[start] == pytest.approx(probs @ rets, abs=1e-10)
        assert std[start] == pytest.approx(math.sqrt(probs @ (rets - probs @ rets) ** 2), abs=1e-9)
    table = env.value_table(theta)
    assert env.expected_return(theta) == pytest.approx(table[max_steps, env.start], abs=1e-14)


def test_every_trajectory_factor_adds_up_to_j_and_its_gradient():
    """Σ_τ P(τ) = 1, Σ_τ P(τ) R(τ) = J and Σ_τ P(τ) R(τ) ∇log P(τ) = ∇J over all τ (the log trick)."""
    env = GridWorld(size=2, max_steps=5)
    theta = random_theta(env, 2)
    total_p, total_pr, total_grad = 0.0, 0.0, np.zeros_like(theta)
    for prob, ret, states, actions in enumerate_episodes(env, theta):
        f = env.trajectory_factors(theta, states, actions)
        assert f.probability == pytest.approx(prob, rel=1e-12)
        assert f.ret == pytest.approx(ret, abs=1e-12)
        total_p += f.probability
        total_pr += f.probability * f.ret
        total_grad += f.probability * f.ret * f.score
    assert total_p == pytest.approx(1.0, abs=1e-12)
    assert total_pr == pytest.approx(env.expected_return(theta), abs=1e-10)
    np.testing.assert_allclose(total_grad, env.policy_gradient(theta), rtol=0, atol=1e-10)


def test_q_and_v_tables_satisfy_bellman_with_the_time_left():
    env = GridWorld(size=3, gamma=0.9, max_steps=10)
    theta = random_theta(env, 3)
    pi, v, q = env.policy(theta), env.value_table(theta), env.q_table(theta)
    assert v.shape == (11, 9) and q.shape == (11, 9, 4)
    np.testing.assert_array_equal(v[0], 0.0)
    np.testing.assert_array_equal(q[0], 0.0)
    non_goal = env.non_goal_cells()
    np.testing.assert_allclose(q[1][non_goal], env.reward[non_goal], atol=1e-14)
    for k in range(1, 11):
        np.testing.assert_allclose(v[k], (pi * q[k]).sum(axis=1), atol=1e-12)
        expected_q = env.reward + 0.9 * v[k - 1][env.next_state]
        np.testing.assert_allclose(q[k][non_goal], expected_q[non_goal], atol=1e-12)
    assert v[:, env.goal].tolist() == [0.0] * 11
    # with more time left the value can only fall (every step costs −10 … until the goal)
    assert np.all(np.diff(v[:, 0]) <= 1e-12)


@pytest.mark.parametrize(("size", "gamma", "max_steps"), [(3, 0.9, 12), (5, 1.0, 50), (4, 0.95, 30)])
def test_policy_gradient_matches_central_finite_differences(size, gamma, max_steps):
    env = GridWorld(size=size, gamma=gamma, max_steps=max_steps)
    theta = random_theta(env, size)
    grad = env.policy_gradient(theta)
    h = 1e-6
    fd = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        bump = np.zeros_like(theta)
        bump[idx] = h
        fd[idx] = (env.expected_return(theta + bump) - env.expected_return(theta - bump)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)
    # each row of a softmax gradient sums to zero (adding c to a row changes nothing)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-9)


def torch_expected_return(env: GridWorld, theta):
    """J = Σ_t γᵗ Σ_s d_t(s) Σ_a π(a|s) r(s, a) by pushing the start distribution forward (in torch)."""
    import torch

    pi = torch.softmax(theta, dim=1)
    transition = torch.tensor(np.asarray(env._transition))
    moves = torch.einsum("sa,sak->sk", pi, transition)
    alive = torch.ones(env.n_states, dtype=torch.float64)
    alive[env.goal] = 0.0
    reward = torch.tensor(env.reward)
    d = torch.zeros(env.n_states, dtype=torch.float64)
    d[env.start] = 1.0
    total = torch.zeros((), dtype=torch.float64)
    for t in range(env.max_steps):
        total = total + env.gamma**t * (d * (pi * reward).sum(dim=1)).sum()
        d = (d @ moves) * alive
    return total


@pytest.mark.parametrize(("size", "gamma"), [(5, 1.0), (3, 0.8), (7, 0.99)])
def test_policy_gradient_matches_torch_autograd(size, gamma):
    import torch

    env = GridWorld(size=size, gamma=gamma)
    theta = random_theta(env, 10 + size, scale=2.0)
    t = torch.tensor(theta, requires_grad=True)
    j = torch_expected_return(env, t)
    (g,) = torch.autograd.grad(j, t)
    assert env.expected_return(theta) == pytest.approx(j.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(env.policy_gradient(theta), g.numpy(), rtol=1e-9, atol=1e-9)


def test_start_gradients_row_for_the_start_cell_is_the_policy_gradient_and_each_matches_fd():
    env = GridWorld(size=3, max_steps=10)
    theta = random_theta(env, 4)
    grads = env.start_gradients(theta, env.non_goal_cells())
    np.testing.assert_allclose(grads[0], env.policy_gradient(theta), atol=1e-12)
    h = 1e-6
    bump = np.zeros_like(theta)
    bump[4, 2] = h
    fd = (env.return_moments(theta + bump)[0] - env.return_moments(theta - bump)[0]) / (2 * h)
    np.testing.assert_allclose(grads[:, 4, 2], fd[:-1], rtol=1e-6, atol=1e-7)


def test_state_visitation_conserves_probability():
    env = GridWorld()
    theta = random_theta(env, 5)
    d = env.state_visitation(theta)
    assert d.shape == (50, 25)
    assert d[0].tolist() == [1.0] + [0.0] * 24
    np.testing.assert_array_equal(d[:, env.goal], 0.0)
    # still running at t plus already arrived by t is everything
    running = d.sum(axis=1)
    arrived_by = 1.0 - running
    assert np.all(np.diff(arrived_by) >= -1e-14)
    assert arrived_by[-1] <= env.goal_probability(theta) + 1e-12


# -- the trajectory's probability ------------------------------------------------------------


def test_trajectory_factors_of_a_sampled_episode():
    env = GridWorld()
    theta = random_theta(env, 11)
    eps = sample_episodes(env, theta, 5, np.random.default_rng(4))
    states, actions, rewards = eps.path(0)
    f = env.trajectory_factors(theta, states, actions)
    pi = env.policy(theta)
    assert f.start_probability == 1.0
    np.testing.assert_array_equal(f.transition, 1.0)
    np.testing.assert_allclose(f.policy, pi[states[:-1], actions], rtol=1e-14)
    assert f.probability == pytest.approx(np.prod(f.policy), rel=1e-12)
    assert f.log_probability == pytest.approx(np.log(f.policy).sum(), rel=1e-12)
    assert f.ret == pytest.approx(rewards.sum())
    # from another start cell p(s₀) = 0
    assert env.trajectory_factors(theta, states, actions, start=3).probability == 0.0
    # a move the grid cannot make has P(s'|s, a) = 0 and log P = −inf
    bad = states.copy()
    bad[1] = 12 if bad[1] != 12 else 13
    g = env.trajectory_factors(theta, bad, actions)
    assert g.transition[0] == 0.0 and g.probability == 0.0 and g.log_probability == -math.inf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grad_log_p_keeps_only_the_policy_terms_and_matches_finite_differences(seed):
    env = GridWorld()
    theta = random_theta(env, 30 + seed)
    eps = sample_episodes(env, theta, 1, np.random.default_rng(seed))
    states, actions, _ = eps.path(0)
    f = env.trajectory_factors(theta, states, actions)
    h = 1e-6
    fd = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        bump = np.zeros_like(theta)
        bump[idx] = h
        up = env.trajectory_factors(theta + bump, states, actions).log_probability
        down = env.trajectory_factors(theta - bump, states, actions).log_probability
        fd[idx] = (up - down) / (2 * h)
    np.testing.assert_allclose(f.score, fd, rtol=1e-6, atol=1e-7)
    # the sum of per-step scores e_s ⊗ (onehot(a) − π(·|s))
    summed = sum(env.score(theta, int(s), int(a)) for s, a in zip(states[:-1], actions))
    np.testing.assert_allclose(f.score, summed, atol=1e-12)
    # cells never visited get no gradient at all
    unvisited = np.setdiff1d(np.arange(env.n_states), states[:-1])
    np.testing.assert_array_equal(f.score[unvisited], 0.0)


def test_score_is_onehot_minus_pi_in_one_row():
    env = GridWorld(size=2)
    theta = np.log(np.array([ARTICLE_START, [0.25] * 4, [0.1, 0.2, 0.3, 0.4], [0.25] * 4]))
    g = env.score(theta, 0, 1)
    np.testing.assert_allclose(g[0], [-0.02, 0.40, -0.35, -0.03], atol=1e-12)
    np.testing.assert_array_equal(g[1:], 0.0)


# -- Gymnasium ------------------------------------------------------------------------------


def test_gymnasium_env_registers_passes_the_checker_and_replays_sampled_episodes():
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    from pgcore.gridworld_gym import ENV_ID, GridWorldEnv

    check_env(GridWorldEnv(size=3), skip_render_check=True)
    env = gym.make(ENV_ID, size=4, max_steps=15)
    world = GridWorld(size=4, max_steps=15)
    eps = sample_episodes(world, random_theta(world, 12), 60, np.random.default_rng(5))
    for i in range(eps.n):
        states, actions, rewards = eps.path(i)
        obs, _ = env.reset(seed=i)
        assert obs == world.start
        for t, a in enumerate(actions):
            obs, reward, terminated, truncated, info = env.step(int(a))
            assert (obs, reward) == (states[t + 1], rewards[t])
            assert info["cell"] == world.cell(int(obs))
            last = t == len(actions) - 1
            assert terminated == (last and bool(eps.terminated[i]))
            assert truncated == (last and bool(eps.truncated[i]))
    env.close()


def test_gymnasium_env_walls_goal_and_ansi_render():
    from pgcore.gridworld_gym import GridWorldEnv

    env = GridWorldEnv(size=2, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.step(0)[:4] == (0, -10.0, False, False)  # up into the wall: stay
    assert env.step(1)[:4] == (1, -10.0, False, False)
    assert env.render() == ". A\n. G"
    assert env.step(2)[:4] == (3, 1.0, True, False)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    obs, _ = env.reset(options={"start": 2})
    assert obs == 2
