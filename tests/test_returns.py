"""Returns, baselines and advantages: hand-computed values, loop-vs-vectorized agreement,
and the termination / truncation distinction."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgcore.returns import (
    episode_mean_baseline,
    episode_returns,
    gae_advantages,
    n_step_targets,
    normalize,
    padded_reward_to_go,
    reward_to_go,
)

# ---------------------------------------------------------------------------------------
# Plain-Python references: one scalar at a time, written the way a textbook states them.
# ---------------------------------------------------------------------------------------


def loop_gae(rewards, values, terminated, truncated, gamma, lam):
    steps, envs = len(rewards), len(rewards[0])
    out = [[0.0] * envs for _ in range(steps)]
    for n in range(envs):
        next_advantage = 0.0
        for t in reversed(range(steps)):
            next_value = 0.0 if terminated[t][n] else values[t + 1][n]
            delta = rewards[t][n] + gamma * next_value - values[t][n]
            if terminated[t][n] or truncated[t][n]:
                next_advantage = 0.0
            next_advantage = delta + gamma * lam * next_advantage
            out[t][n] = next_advantage
    return np.array(out)


def loop_n_step(rewards, values, terminated, truncated, gamma, n_steps):
    steps, envs = len(rewards), len(rewards[0])
    out = [[0.0] * envs for _ in range(steps)]
    for n in range(envs):
        for t in range(steps):
            total, discount = 0.0, 1.0
            for k in range(n_steps):
                i = t + k
                total += discount * rewards[i][n]
                discount *= gamma
                if terminated[i][n]:
                    break
                if truncated[i][n] or i == steps - 1 or k == n_steps - 1:
                    total += discount * values[i + 1][n]
                    break
            out[t][n] = total
    return np.array(out)


def random_batch(seed, steps=12, envs=3, p_term=0.15, p_trunc=0.1):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(steps, envs))
    values = rng.normal(size=(steps + 1, envs))
    terminated = rng.random((steps, envs)) < p_term
    truncated = rng.random((steps, envs)) < p_trunc
    return rewards, values, terminated, truncated


# ---------------------------------------------------------------------------------------
# Hand-computed values
# ---------------------------------------------------------------------------------------


def test_reward_to_go_by_hand():
    # γ = 0.9, rewards 1, 2, 3: G_2 = 3, G_1 = 2 + 0.9·3 = 4.7, G_0 = 1 + 0.9·4.7 = 5.23
    np.testing.assert_allclose(reward_to_go([1.0, 2.0, 3.0], 0.9), [5.23, 4.7, 3.0])
    np.testing.assert_allclose(reward_to_go([1.0, 1.0, 1.0, 1.0], 1.0), [4.0, 3.0, 2.0, 1.0])
    assert reward_to_go([], 0.9).shape == (0,)


def test_cartpole_returns_approach_one_over_one_minus_gamma():
    # 500 rewards of +1 with γ = 0.9: G_0 = (1 − 0.9^500) / 0.1 ≈ 10
    np.testing.assert_allclose(reward_to_go(np.ones(500), 0.9)[0], (1 - 0.9**500) / 0.1)


def test_episode_returns_handles_a_ragged_batch():
    out = episode_returns([[1.0], [1.0, 1.0]], 0.5)
    np.testing.assert_allclose(out[0], [1.0])
    np.testing.assert_allclose(out[1], [1.5, 1.0])


def test_padded_reward_to_go_matches_per_episode_returns():
    # column 0: one episode of length 3 then junk; column 1: an episode of length 4.
    rewards = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [99.0, 1.0]])
    terminated = np.array([[0, 0], [0, 0], [1, 0], [0, 1]], dtype=bool)
    truncated = np.zeros_like(terminated)
    returns = padded_reward_to_go(rewards, terminated, truncated, 0.9)
    np.testing.assert_allclose(returns[:3, 0], reward_to_go([1.0, 2.0, 3.0], 0.9))
    np.testing.assert_allclose(returns[:, 1], reward_to_go([1.0] * 4, 0.9))


def test_episode_mean_baseline_by_hand():
    returns = np.array([[5.23, 2.0], [4.7, 1.0], [3.0, 7.0]])
    valid = np.array([[1, 1], [1, 1], [1, 0]], dtype=bool)
    baseline = episode_mean_baseline(returns, valid)
    np.testing.assert_allclose(baseline[:, 0], [12.93 / 3] * 3)
    np.testing.assert_allclose(baseline[:, 1], [1.5, 1.5, 0.0])
    advantage = np.where(valid, returns - baseline, 0.0)
    np.testing.assert_allclose(advantage.sum(axis=0), [0.0, 0.0], atol=1e-12)


def test_td_error_and_gae_by_hand():
    # two steps, γ = 0.5, λ = 0.5, V = [1, 2, 4]:
    # δ_1 = 1 + 0.5·4 − 2 = 1,  δ_0 = 1 + 0.5·2 − 1 = 1,  A_1 = 1,  A_0 = 1 + 0.25·1 = 1.25
    advantages = gae_advantages([1.0, 1.0], [1.0, 2.0, 4.0], [False] * 2, [False] * 2, 0.5, 0.5)
    np.testing.assert_allclose(advantages, [1.25, 1.0])
    # λ = 0 is the one-step TD error
    td = gae_advantages([1.0, 1.0], [1.0, 2.0, 4.0], [False] * 2, [False] * 2, 0.5, 0.0)
    np.testing.assert_allclose(td, [1.0, 1.0])


def test_n_step_by_hand():
    # γ = 0.5, rewards 1, 1, 1, V = [0, 0, 0, 8]; 2-step targets:
    # G_0 = 1 + 0.5 + 0.25·V(s_2)=0 → 1.5; G_1 = 1 + 0.5 + 0.25·8 = 3.5; G_2 = 1 + 0.5·8 = 5
    targets = n_step_targets([1.0] * 3, [0.0, 0.0, 0.0, 8.0], [False] * 3, [False] * 3, 0.5, 2)
    np.testing.assert_allclose(targets, [1.5, 3.5, 5.0])


def test_gae_with_lambda_one_is_bootstrapped_return_minus_value():
    rewards, values, terminated, truncated = random_batch(3)
    advantages = gae_advantages(rewards, values, terminated, truncated, 0.9, 1.0)
    returns = padded_reward_to_go(rewards, terminated, truncated, 0.9, values=values)
    np.testing.assert_allclose(advantages, returns - values[:-1], atol=1e-12)


def test_n_step_with_long_horizon_is_bootstrapped_return():
    rewards, values, terminated, truncated = random_batch(4)
    targets = n_step_targets(rewards, values, terminated, truncated, 0.9, 100)
    returns = padded_reward_to_go(rewards, terminated, truncated, 0.9, values=values)
    np.testing.assert_allclose(targets, returns, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Vectorized vs loop
# ---------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 10_000),
    gamma=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 1.0),
    steps=st.integers(1, 15),
)
def test_gae_vectorized_matches_loop(seed, gamma, lam, steps):
    rewards, values, terminated, truncated = random_batch(seed, steps=steps)
    expected = loop_gae(rewards.tolist(), values.tolist(), terminated.tolist(), truncated.tolist(), gamma, lam)
    got = gae_advantages(rewards, values, terminated, truncated, gamma, lam)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 10_000),
    gamma=st.floats(0.0, 1.0),
    n=st.integers(1, 20),
    steps=st.integers(1, 15),
)
def test_n_step_vectorized_matches_loop(seed, gamma, n, steps):
    rewards, values, terminated, truncated = random_batch(seed, steps=steps)
    expected = loop_n_step(rewards.tolist(), values.tolist(), terminated.tolist(), truncated.tolist(), gamma, n)
    got = n_step_targets(rewards, values, terminated, truncated, gamma, n)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------
# Termination vs truncation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["gae", "nstep", "mc"])
def test_bootstrap_only_at_truncation(estimator):
    # Identical rewards; the episode ends at step 1 either by termination or by the time
    # limit. V(final observation) = 100 must count only after a truncation.
    rewards = np.array([1.0, 1.0, 1.0])
    values = np.array([0.0, 0.0, 100.0, 0.0])  # values[2] = V(final obs of the episode)
    ended = np.array([False, True, False])
    no = np.zeros(3, dtype=bool)

    def estimate(terminated, truncated):
        if estimator == "gae":
            return gae_advantages(rewards, values, terminated, truncated, 0.5, 1.0)
        if estimator == "nstep":
            return n_step_targets(rewards, values, terminated, truncated, 0.5, 3)
        return padded_reward_to_go(rewards, terminated, truncated, 0.5, values=values)

    after_termination = estimate(ended, no)
    after_truncation = estimate(no, ended)
    # termination: G_1 = 1, G_0 = 1.5; truncation: G_1 = 1 + 0.5·100 = 51, G_0 = 26.5
    np.testing.assert_allclose(after_termination[:2], [1.5, 1.0])
    np.testing.assert_allclose(after_truncation[:2], [26.5, 51.0])
    # both: termination wins
    np.testing.assert_allclose(estimate(ended, ended)[:2], [1.5, 1.0])
    # the step after the end (a new episode) never flows back into the old one
    changed = rewards.copy()
    changed[2] = 1e6
    if estimator == "gae":
        later = gae_advantages(changed, values, ended, no, 0.5, 1.0)
    elif estimator == "nstep":
        later = n_step_targets(changed, values, ended, no, 0.5, 3)
    else:
        later = padded_reward_to_go(changed, ended, no, 0.5, values=values)
    np.testing.assert_allclose(later[:2], after_termination[:2])


def test_monte_carlo_without_critic_does_not_bootstrap_truncation():
    returns = padded_reward_to_go([1.0, 1.0], [False, False], [False, True], 0.5)
    np.testing.assert_allclose(returns, [1.5, 1.0])


# ---------------------------------------------------------------------------------------
# normalize and bad input
# ---------------------------------------------------------------------------------------


def test_normalize_uses_only_valid_entries():
    x = np.array([[1.0, 3.0], [1000.0, 5.0]])
    valid = np.array([[True, True], [False, True]])
    out = normalize(x, valid)
    assert out[1, 0] == 0.0
    np.testing.assert_allclose(out[valid].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(out[valid].std(), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: reward_to_go([1.0, np.nan], 0.9), "rewards"),
        (lambda: reward_to_go([[1.0]], 0.9), "rewards"),
        (lambda: reward_to_go([1.0], 1.5), "gamma"),
        (lambda: gae_advantages([1.0], [0.0], [False], [False], 0.9, 0.9), "values"),
        (lambda: gae_advantages([1.0], [0.0, 0.0], [False], [False], 0.9, -0.1), "lam"),
        (lambda: gae_advantages([1.0], [0.0, 0.0], [2], [False], 0.9, 0.5), "terminated"),
        (lambda: n_step_targets([1.0], [0.0, 0.0], [False], [False, True], 0.9, 1), "truncated"),
        (lambda: n_step_targets([1.0], [0.0, 0.0], [False], [False], 0.9, 0), "n"),
        (lambda: episode_mean_baseline([[1.0]], [[False]]), "valid"),
        (lambda: episode_returns("abc", 0.9), "episodes"),
        (lambda: padded_reward_to_go(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), 0.9), "rewards"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_importing_returns_does_not_import_torch():
    code = "import sys, pgcore, pgcore.returns; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------
# Gradients: every estimator is linear in (rewards, values). Its Jacobian is checked three
# ways — central finite differences of the numpy code, torch.autograd through an
# independent torch implementation (CleanRL's loop), and the closed form (γλ)^{k−t}.
# ---------------------------------------------------------------------------------------


def torch_gae(rewards, values, terminated, truncated, gamma, lam):
    """CleanRL-style GAE in torch: δ_t = r_t + γ(1 − term_t)V_{t+1} − V_t, A_t = δ_t + γλ(1 − done_t)A_{t+1}."""
    term = torch.as_tensor(terminated, dtype=torch.float64)
    done = torch.as_tensor(terminated | truncated, dtype=torch.float64)
    rows, next_advantage = [], torch.zeros(rewards.shape[1], dtype=torch.float64)
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * (1 - term[t]) * values[t + 1] - values[t]
        next_advantage = delta + gamma * lam * (1 - done[t]) * next_advantage
        rows.append(next_advantage)
    return torch.stack(rows[::-1])


def torch_reward_to_go(rewards, terminated, truncated, gamma, values):
    done = torch.as_tensor(terminated | truncated, dtype=torch.float64)
    boot = torch.as_tensor(truncated & ~terminated, dtype=torch.float64) * values[1:]
    rows, running = [], values[-1]
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * ((1 - done[t]) * running + boot[t])
        rows.append(running)
    return torch.stack(rows[::-1])


def numpy_jacobian(f, x, eps=1e-6):
    """Central differences of f at x, result shape (*f(x).shape, *x.shape)."""
    x = np.asarray(x, dtype=np.float64)
    columns = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        columns.append((f(x + step) - f(x - step)) / (2 * eps))
    jac = np.stack(columns, axis=-1)
    return jac.reshape(*jac.shape[:-1], *x.shape)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gae_torch_implementation_agrees_and_jacobians_match(seed):
    rewards, values, terminated, truncated = random_batch(seed, steps=8, envs=2, p_term=0.2, p_trunc=0.2)
    gamma, lam = 0.93, 0.8
    r = torch.tensor(rewards, requires_grad=True)
    v = torch.tensor(values, requires_grad=True)
    got = gae_advantages(rewards, values, terminated, truncated, gamma, lam)
    np.testing.assert_allclose(
        got, torch_gae(r, v, terminated, truncated, gamma, lam).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    jac_r, jac_v = torch.autograd.functional.jacobian(
        lambda a, b: torch_gae(a, b, terminated, truncated, gamma, lam), (r, v)
    )
    fd_r = numpy_jacobian(lambda a: gae_advantages(a, values, terminated, truncated, gamma, lam), rewards)
    fd_v = numpy_jacobian(lambda b: gae_advantages(rewards, b, terminated, truncated, gamma, lam), values)
    np.testing.assert_allclose(fd_r, jac_r.reshape(fd_r.shape).numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fd_v, jac_v.reshape(fd_v.shape).numpy(), rtol=1e-6, atol=1e-9)
    # closed form: ∂A_t/∂r_k = (γλ)^{k−t} for k ≥ t up to and including the episode's last step
    done = terminated | truncated
    for n in range(rewards.shape[1]):
        for t in range(rewards.shape[0]):
            for k in range(rewards.shape[0]):
                ended_before_k = k > t and done[t:k, n].any()
                want = 0.0 if k < t or ended_before_k else (gamma * lam) ** (k - t)
                assert fd_r[t, n, k, n] == pytest.approx(want, abs=1e-8), (t, k, n)
        assert np.all(np.abs(fd_r[:, n, :, 1 - n]) < 1e-12)  # environments never mix


@pytest.mark.parametrize("seed", [3, 4])
def test_reward_to_go_torch_implementation_agrees_and_jacobians_match(seed):
    rewards, values, terminated, truncated = random_batch(seed, steps=8, envs=2, p_term=0.2, p_trunc=0.2)
    gamma = 0.9
    r = torch.tensor(rewards, requires_grad=True)
    v = torch.tensor(values, requires_grad=True)
    got = padded_reward_to_go(rewards, terminated, truncated, gamma, values=values)
    np.testing.assert_allclose(
        got, torch_reward_to_go(r, terminated, truncated, gamma, v).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    jac_r, jac_v = torch.autograd.functional.jacobian(
        lambda a, b: torch_reward_to_go(a, terminated, truncated, gamma, b), (r, v)
    )
    fd_r = numpy_jacobian(lambda a: padded_reward_to_go(a, terminated, truncated, gamma, values=values), rewards)
    fd_v = numpy_jacobian(lambda b: padded_reward_to_go(rewards, terminated, truncated, gamma, values=b), values)
    np.testing.assert_allclose(fd_r, jac_r.reshape(fd_r.shape).numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fd_v, jac_v.reshape(fd_v.shape).numpy(), rtol=1e-6, atol=1e-9)
    # G never depends on V(s_0): values[0] only enters through the critic's own loss
    assert np.all(np.abs(fd_v[:, :, 0, :]) < 1e-12)


def test_n_step_jacobian_matches_finite_differences_and_autograd_of_the_loop():
    rewards, values, terminated, truncated = random_batch(5, steps=7, envs=2, p_term=0.2, p_trunc=0.2)
    gamma, n = 0.8, 3
    r = torch.tensor(rewards, requires_grad=True)
    v = torch.tensor(values, requires_grad=True)
    # the plain-Python loop reference, run on tensors, is differentiable as written
    stacked = torch.stack([torch.stack(row) for row in _loop_n_step_rows(r, v, terminated, truncated, gamma, n)])
    np.testing.assert_allclose(
        n_step_targets(rewards, values, terminated, truncated, gamma, n),
        stacked.detach().numpy(),
        rtol=1e-12,
        atol=1e-12,
    )
    jac_r, jac_v = torch.autograd.functional.jacobian(
        lambda a, b: torch.stack(
            [torch.stack(row) for row in _loop_n_step_rows(a, b, terminated, truncated, gamma, n)]
        ),
        (r, v),
    )
    fd_r = numpy_jacobian(lambda a: n_step_targets(a, values, terminated, truncated, gamma, n), rewards)
    fd_v = numpy_jacobian(lambda b: n_step_targets(rewards, b, terminated, truncated, gamma, n), values)
    np.testing.assert_allclose(fd_r, jac_r.reshape(fd_r.shape).numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fd_v, jac_v.reshape(fd_v.shape).numpy(), rtol=1e-6, atol=1e-9)


def _loop_n_step_rows(rewards, values, terminated, truncated, gamma, n_steps):
    """loop_n_step on tensors: rows of per-env targets, without converting to numpy."""
    steps, envs = rewards.shape
    out = []
    for t in range(steps):
        row = []
        for n in range(envs):
            total, discount = torch.zeros((), dtype=torch.float64), 1.0
            for k in range(n_steps):
                i = t + k
                total = total + discount * rewards[i, n]
                discount *= gamma
                if terminated[i, n]:
                    break
                if truncated[i, n] or i == steps - 1 or k == n_steps - 1:
                    total = total + discount * values[i + 1, n]
                    break
            row.append(total)
        out.append(row)
    return out
