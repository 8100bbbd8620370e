"""REINFORCE, PPO and GRPO on the GridWorld: unbiasedness against the exact ∇J (within 4
standard errors, fixed seeds), PPO's reduction to the vanilla step, GRPO's group advantages and
its exact expected update, pure step functions, and learning to the optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import (
    ReinforceConfig,
    TrainState,
    copy_rng,
    init_state,
    reinforce_gradient,
    reinforce_step,
    train,
)
from pgcore.gridworld_grpo import (
    GRPOConfig,
    expected_grpo_update,
    group_advantages,
    grpo_gradient,
    grpo_step,
    grpo_update,
    sample_groups,
)
from pgcore.gridworld_ppo import PPOConfig, ppo_advantages, ppo_step, ppo_update, vanilla_pg_step
from pgcore.gridworld_sampling import sample_episodes


def random_theta(env: GridWorld, seed: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=(env.n_states, 4))


def assert_within_4_se(samples: np.ndarray, exact: np.ndarray) -> None:
    """Every component of the sample mean within 4 standard errors of ``exact`` (and not vacuously)."""
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    moving = se > 1e-12
    assert moving.sum() >= 10
    assert np.all(np.abs(mean - exact)[moving] < 4 * se[moving]), np.max(np.abs(mean - exact)[moving] / se[moving])
    np.testing.assert_allclose(mean[~moving], exact[~moving], atol=1e-9)


# -- REINFORCE ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("baseline", ["none", "mean", "value"])
def test_reinforce_gradient_is_unbiased_for_every_baseline(baseline):
    env = GridWorld(size=3, gamma=0.9, max_steps=12)
    theta = random_theta(env, 1)
    rng = np.random.default_rng(2)
    grads = np.array(
        [reinforce_gradient(env, theta, sample_episodes(env, theta, 8, rng), baseline).ravel() for _ in range(3000)]
    )
    assert_within_4_se(grads, env.policy_gradient(theta).ravel())


def test_baselines_cut_the_variance_of_the_reinforce_estimate():
    env = GridWorld(size=4, max_steps=30)
    theta = random_theta(env, 3)
    variance = {}
    for baseline in ("none", "mean", "value"):
        rng = np.random.default_rng(4)
        g = np.array(
            [reinforce_gradient(env, theta, sample_episodes(env, theta, 8, rng), baseline).ravel() for _ in range(400)]
        )
        variance[baseline] = g.var(axis=0).sum()
    assert variance["value"] < variance["mean"] < variance["none"]
    assert variance["value"] < 0.5 * variance["none"]


def test_reinforce_gradient_by_hand_for_one_episode():
    env = GridWorld(size=2)
    theta = random_theta(env, 5)
    eps = sample_episodes(env, theta, 1, np.random.default_rng(1))
    states, actions, rewards = eps.path(0)
    expected = np.zeros_like(theta)
    for t in range(len(actions)):
        expected += rewards[t:].sum() * env.score(theta, int(states[t]), int(actions[t]))
    np.testing.assert_allclose(reinforce_gradient(env, theta, eps, "none"), expected, atol=1e-12)
    # with one episode there is nobody to leave out: the "mean" baseline is 0
    np.testing.assert_allclose(reinforce_gradient(env, theta, eps, "mean"), expected, atol=1e-12)


def test_steps_are_pure_and_seeded():
    env = GridWorld()
    state = init_state(env, seed=3)
    for config in (ReinforceConfig(), PPOConfig(), GRPOConfig()):
        a, info_a = config.step(env, state)
        b, info_b = config.step(env, state)  # the same state again: the same update
        np.testing.assert_array_equal(a.theta, b.theta)
        assert info_a == info_b
        assert not np.array_equal(a.theta, state.theta)
        c, _ = config.step(env, a)  # the generator moved on: a different batch
        assert c.updates == 2 and c.env_steps > a.env_steps > 0
    # the caller's generator is never advanced
    fresh = init_state(env, seed=3)
    assert state.rng.random() == fresh.rng.random()


def test_copy_rng_continues_the_same_stream():
    rng = np.random.default_rng(11)
    rng.random(5)
    twin = copy_rng(rng)
    assert twin is not rng
    np.testing.assert_array_equal(twin.random(4), rng.random(4))


# -- PPO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("advantage", ["rtg", "gae"])
def test_ppo_with_no_clip_one_epoch_one_minibatch_is_the_vanilla_pg_step(advantage):
    env = GridWorld()
    theta = random_theta(env, 6)
    value = np.random.default_rng(7).normal(-100, 30, size=env.n_states)
    eps = sample_episodes(env, theta, 16, np.random.default_rng(8))
    config = PPOConfig(
        learning_rate=0.03,
        epochs=1,
        minibatches=1,
        clip_eps=math.inf,
        advantage=advantage,
        normalize_advantages=False,
    )
    new_theta, _, info = ppo_update(env, theta, value, eps, config, np.random.default_rng(9))
    adv, _ = ppo_advantages(env, eps, value, advantage, config.gae_lambda)
    vanilla = vanilla_pg_step(env, theta, eps, adv, 0.03)
    np.testing.assert_allclose(new_theta, vanilla, rtol=0, atol=1e-12)
    # and the vanilla step written out step by step with the per-step score
    by_hand = np.zeros_like(theta)
    for i in range(eps.n):
        states, actions, _ = eps.path(i)
        for t, (s, a) in enumerate(zip(states[:-1], actions)):
            by_hand += adv[i, t] * env.score(theta, int(s), int(a))
    np.testing.assert_allclose(vanilla, theta + 0.03 * by_hand / eps.env_steps, rtol=0, atol=1e-12)
    assert info.clip_fraction == 0.0


def test_ppo_reward_to_go_with_zero_critic_is_reinforce_rescaled():
    env = GridWorld()
    theta = random_theta(env, 10)
    eps = sample_episodes(env, theta, 12, np.random.default_rng(1))
    adv, target = ppo_advantages(env, eps, np.zeros(env.n_states), "rtg")
    np.testing.assert_array_equal(adv, target)
    step = vanilla_pg_step(env, theta, eps, adv, 1.0) - theta
    np.testing.assert_allclose(step, reinforce_gradient(env, theta, eps, "none") * eps.n / eps.env_steps, atol=1e-10)


def test_gae_limits_lambda_one_is_reward_to_go_minus_v_and_lambda_zero_the_td_error():
    env = GridWorld(size=4, gamma=0.9, max_steps=20)
    theta = random_theta(env, 11)
    eps = sample_episodes(env, theta, 30, np.random.default_rng(2))
    v = np.random.default_rng(3).normal(size=env.n_states)
    gae1, _ = ppo_advantages(env, eps, v, "gae", 1.0)
    rtg, _ = ppo_advantages(env, eps, v, "rtg")
    np.testing.assert_allclose(gae1, rtg, atol=1e-10)
    gae0, target0 = ppo_advantages(env, eps, v, "gae", 0.0)
    for i in range(eps.n):
        states, actions, rewards = eps.path(i)
        for t in range(len(actions)):
            after = v[states[t + 1]] if t + 1 < len(actions) else 0.0
            assert gae0[i, t] == pytest.approx(rewards[t] + 0.9 * after - v[states[t]], abs=1e-12)
            assert target0[i, t] == pytest.approx(rewards[t] + 0.9 * after, abs=1e-12)


def test_ppo_critic_moves_to_the_mean_target_of_each_visited_cell():
    env = GridWorld(size=3)
    theta = random_theta(env, 12)
    eps = sample_episodes(env, theta, 20, np.random.default_rng(4))
    config = PPOConfig(advantage="rtg", value_learning_rate=1.0)
    _, v_new, info = ppo_update(env, theta, np.zeros(env.n_states), eps, config, np.random.default_rng(0))
    rtg = eps.reward_to_go
    for s in range(env.n_states):
        mask = eps.valid & (eps.states == s)
        assert v_new[s] == pytest.approx(rtg[mask].mean() if mask.any() else 0.0, abs=1e-9)
    assert info.value_loss == pytest.approx(np.mean(rtg[eps.valid] ** 2))


def test_ppo_clipping_limits_how_far_many_epochs_move_the_policy():
    env = GridWorld()
    theta = random_theta(env, 13)
    eps = sample_episodes(env, theta, 16, np.random.default_rng(5))
    kls = {}
    for eps_clip in (0.05, math.inf):
        config = PPOConfig(learning_rate=1.0, epochs=20, minibatches=4, clip_eps=eps_clip)
        _, _, info = ppo_update(env, theta, np.zeros(env.n_states), eps, config, np.random.default_rng(1))
        kls[eps_clip] = info
        assert info.approx_kl >= 0.0 and 0.0 <= info.clip_fraction <= 1.0
        assert 0.0 < info.entropy <= math.log(4)
    assert kls[0.05].approx_kl < 0.5 * kls[math.inf].approx_kl
    assert kls[0.05].clip_fraction > 0.0


# -- GRPO: the group advantage -----------------------------------------------------------------


def test_group_advantages_sum_to_zero_and_ignore_shift_and_scale():
    r = np.array([[-69.0, -89.0, -109.0, -500.0], [-69.0, -69.0, -69.0, -69.0]])
    a = group_advantages(r)
    np.testing.assert_allclose(a.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_array_equal(a[1], 0.0)  # all equal: no signal at all
    np.testing.assert_allclose(group_advantages(3.0 * r + 1000.0), a, atol=1e-9)
    centered = r - r.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(group_advantages(r, scale_by_std=False), centered, atol=1e-12)
    # leave one out: R_i minus the mean of the other three = G/(G−1) · (R_i − group mean)
    np.testing.assert_allclose(group_advantages(r, leave_one_out=True, scale_by_std=False), centered * 4 / 3, atol=1e-9)
    # the std is the population std of the group
    assert a[0, 0] == pytest.approx((-69.0 - r[0].mean()) / (r[0].std() + 1e-8))


def test_grpo_first_step_is_the_advantage_weighted_trajectory_score():
    env = GridWorld(size=4, max_steps=20)
    theta = random_theta(env, 14)
    eps = sample_groups(env, theta, 3, 4, np.random.default_rng(6))
    assert np.all(eps.starts.reshape(3, 4) == eps.starts.reshape(3, 4)[:, :1])
    config = GRPOConfig(learning_rate=0.7, prompts=3, group_size=4, clip_eps=math.inf, epochs=1)
    adv = group_advantages(eps.returns.reshape(3, 4)).ravel()
    expected = np.zeros_like(theta)
    for i in range(eps.n):
        states, actions, _ = eps.path(i)
        start = int(states[0])
        expected += adv[i] * env.trajectory_factors(theta, states, actions, start=start).score / eps.n
    np.testing.assert_allclose(grpo_gradient(env, theta, theta, theta, eps, adv, config), expected, atol=1e-12)
    new_theta, info = grpo_update(env, theta, theta, eps, config)
    np.testing.assert_allclose(new_theta, theta + 0.7 * expected, atol=1e-12)
    assert info.kl_to_reference == pytest.approx(info.approx_kl)  # the reference is θ_old here


def test_grpo_kl_penalty_pulls_toward_the_reference():
    env = GridWorld(size=3)
    ref = env.uniform_theta()
    theta = random_theta(env, 15, scale=2.0)
    eps = sample_groups(env, theta, 4, 4, np.random.default_rng(7))
    zero = np.zeros(eps.n)  # no advantage: only the penalty acts
    config = GRPOConfig(prompts=4, group_size=4, beta=1.0)
    grad = grpo_gradient(env, theta, theta, ref, eps, zero, config)
    s, a = eps.states[eps.valid], eps.actions[eps.valid]
    log_ref = env.log_policy(ref)

    def penalty(t):
        lp = env.log_policy(t)[s, a]
        log_rho = log_ref[s, a] - lp
        return (np.expm1(log_rho) - log_rho).sum() / eps.n

    h = 1e-6
    for idx in [(0, 1), (4, 2), (7, 3)]:
        bump = np.zeros_like(theta)
        bump[idx] = h
        fd = (penalty(theta + bump) - penalty(theta - bump)) / (2 * h)
        assert grad[idx] == pytest.approx(-fd, rel=1e-6, abs=1e-9)
    assert penalty(theta + 0.1 * grad) < penalty(theta)


# -- GRPO: the exact expected update -----------------------------------------------------------


def mc_group_estimates(env, theta, group_size, n_batches, rng, per_cell_std=None, leave_one_out=False):
    """One GRPO-style estimate per batch: every non-goal cell a prompt, G episodes each."""
    cells = env.non_goal_cells()
    starts = np.repeat(cells, group_size)
    out = []
    for _ in range(n_batches):
        eps = sample_episodes(env, theta, starts.size, rng, starts=starts)
        r = eps.returns.reshape(cells.size, group_size)
        if per_cell_std is None:
            adv = group_advantages(r, leave_one_out=leave_one_out, scale_by_std=False)
        else:
            adv = (r - r.mean(axis=1, keepdims=True)) / (per_cell_std[:, None] + 1e-8)
        config = GRPOConfig(prompts=cells.size, group_size=group_size)
        out.append(grpo_gradient(env, theta, theta, theta, eps, adv.ravel(), config).ravel())
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize("leave_one_out", [True, False])
def test_expected_dr_grpo_update_matches_monte_carlo(leave_one_out):
    env = GridWorld(size=3, max_steps=12)
    theta = random_theta(env, 16)
    exact = expected_grpo_update(env, theta, 4, leave_one_out=leave_one_out, scale_by_std=False)
    samples = mc_group_estimates(env, theta, 4, 3000, np.random.default_rng(8), leave_one_out=leave_one_out)
    assert_within_4_se(samples, exact.expected_update.ravel())
    factor = 1.0 if leave_one_out else 0.75
    np.testing.assert_allclose(exact.expected_update, factor * exact.prompt_gradient, atol=1e-12)


@pytest.mark.slow
def test_expected_std_normalized_update_matches_monte_carlo_with_the_cell_std():
    env = GridWorld(size=3, max_steps=12)
    theta = random_theta(env, 17)
    exact = expected_grpo_update(env, theta, 4, scale_by_std=True)
    samples = mc_group_estimates(env, theta, 4, 3000, np.random.default_rng(9), per_cell_std=exact.stds)
    assert_within_4_se(samples, exact.expected_update.ravel())


def test_std_normalization_up_weights_the_low_variance_start_cells():
    env = GridWorld()
    theta = random_theta(env, 18)
    e = expected_grpo_update(env, theta, 8, scale_by_std=True)
    dr = expected_grpo_update(env, theta, 8, leave_one_out=True, scale_by_std=False)
    # weights are κ/σ_c: the smallest σ gets the largest weight, in exactly inverse order
    np.testing.assert_allclose(e.weights * (e.stds + 1e-8), 1 - 1 / 8, rtol=1e-12)
    assert np.argmax(e.weights) == np.argmin(e.stds)
    # Dr. GRPO with leave-one-out follows the prompt-averaged objective exactly …
    np.testing.assert_allclose(dr.expected_update, dr.prompt_gradient, atol=1e-12)
    assert dr.cosine_to_prompts == pytest.approx(1.0)
    # … std division tilts it toward the quiet cells, away from it
    assert e.cosine_to_prompts < 1 - 1e-4
    # near the optimum the two cells next to the goal vary least, so they weigh most (~2.5× the far corner)
    near = expected_grpo_update(env, env.greedy_theta(6.0), 8)
    next_to_goal = [env.state_index(3, 4), env.state_index(4, 3)]
    assert set(np.argsort(near.stds)[:2]) == set(next_to_goal)
    assert near.weights[next_to_goal].min() > 2 * near.weights[env.start]
    # and the expected update points away from ∇J, the gradient from (0, 0) alone
    assert near.cosine_to_true < 0.8


# -- training ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("config", [ReinforceConfig(), PPOConfig(), GRPOConfig()], ids=["reinforce", "ppo", "grpo"])
def test_each_algorithm_reaches_within_1_percent_of_the_optimum(config):
    env = GridWorld()
    result = train(env, config, seed=0, updates=3000, stop_at_target=True)
    assert result.reached_at is not None
    target = -69.0 - 0.01 * 69.0
    assert result.expected_return[result.reached_at] >= target
    assert np.all(result.expected_return[: result.reached_at] < target)
    assert result.steps_to_target == result.env_steps[result.reached_at] > 0
    assert len(result.infos) == result.reached_at == result.state.updates
    assert result.expected_return[0] == pytest.approx(env.expected_return(env.uniform_theta()))


def test_train_records_exact_j_and_env_steps_after_every_update():
    env = GridWorld(size=3)
    result = train(env, PPOConfig(episodes_per_update=4), seed=1, updates=15)
    assert result.expected_return.shape == (16,) and result.env_steps.shape == (16,)
    assert result.sampled_return.shape == (15,)
    assert np.all(np.diff(result.env_steps) == [i.env_steps for i in result.infos])
    assert result.expected_return[-1] == pytest.approx(env.expected_return(result.state.theta))
    assert result.optimal_return == -29.0
    again = train(env, PPOConfig(episodes_per_update=4), seed=1, updates=15)
    np.testing.assert_array_equal(result.expected_return, again.expected_return)
    assert isinstance(result.state, TrainState)


def test_reinforce_and_grpo_steps_report_their_diagnostics():
    env = GridWorld()
    state = init_state(env, seed=0)
    _, r = reinforce_step(env, state, ReinforceConfig(episodes_per_update=5))
    assert (r.algorithm, r.episodes) == ("reinforce", 5)
    assert r.gradient_norm > 0 and 0 < r.entropy <= math.log(4)
    _, g = grpo_step(env, state, GRPOConfig(prompts=3, group_size=5, beta=0.1, epochs=3))
    assert (g.algorithm, g.episodes) == ("grpo", 15)
    assert g.kl_to_reference > 0 and g.approx_kl > 0
    assert 0.0 <= g.zero_std_groups <= 1.0
    _, p = ppo_step(env, state, PPOConfig())
    assert p.value_loss > 0
