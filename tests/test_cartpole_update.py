"""The CartPole learning step checked against plain loops: Ψ_t per algorithm against a
per-episode reward-to-go loop, the policy-gradient step against the mean of Ψ_t ∇log π
computed one step at a time with autograd, the sampler against π, and the confirmed-solve
rule."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from pgcore.cartpole.config import preset_config
from pgcore.cartpole.core import Adam, clipped_policy_loss, gradient_step, policy_loss, value_loss, weights
from pgcore.cartpole.training import TrainingRun, train

NUM_ENVS = 3


def one_batch(algo: str, seed: int = 1, **overrides):
    run = TrainingRun(preset_config("fast", algo, seed, num_envs=NUM_ENVS, rollout_steps=16, **overrides))
    env = gym.make_vec("CartPole-v1", num_envs=NUM_ENVS, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    if algo == "actor_critic":
        state = (np.zeros(NUM_ENVS, dtype=np.bool_), np.zeros(NUM_ENVS), np.zeros(NUM_ENVS, dtype=np.int64))
        batch, _, _ = run._collect_rollout(env, obs, *state)
    else:
        batch = run._collect_episodes(env, obs)
    env.close()
    values = None
    if run.value is not None:
        with torch.no_grad():
            values = run.value(torch.from_numpy(batch.obs.reshape(-1, 4))).reshape(batch.obs.shape[:2]).double().numpy()
    return run, batch, values


def loop_returns(rewards: np.ndarray, gamma: float) -> list[float]:
    """G_t = r_{t+1} + γ r_{t+2} + … for one episode (rewards[t] is the reward for a_t)."""
    returns, running = [], 0.0
    for reward in reversed(rewards.tolist()):
        running = reward + gamma * running
        returns.append(running)
    return returns[::-1]


@pytest.mark.parametrize("algo", ["reinforce", "reinforce_baseline", "reinforce_value"])
def test_psi_matches_a_per_episode_loop(algo):
    run, batch, values = one_batch(algo)
    psi, _ = weights(run.config, batch, values)
    gamma = run.config.gamma
    for n in range(NUM_ENVS):
        length = int(batch.valid[:, n].sum())
        assert batch.terminated[length - 1, n], "a random policy's episode ends by falling, well before 500 steps"
        g = loop_returns(batch.rewards[:length, n], gamma)
        if algo == "reinforce":
            expected = g
        elif algo == "reinforce_baseline":
            expected = [x - sum(g) / length for x in g]
        else:
            expected = [x - values[t, n] for t, x in enumerate(g)]
        np.testing.assert_allclose(psi[:length, n], expected, rtol=1e-12, atol=1e-12)


def test_plain_reinforce_and_the_episode_mean_baseline_now_differ():
    """With normalization off, 'reinforce' has no baseline at all: the two runs differ."""
    a = train(preset_config("fast", "reinforce", 3, max_env_steps=3000))
    b = train(preset_config("fast", "reinforce_baseline", 3, max_env_steps=3000))
    assert not np.array_equal(a.policy.weights["layer2.weight"], b.policy.weights["layer2.weight"])


def test_with_normalization_and_one_episode_per_update_they_are_the_same_algorithm():
    """The page says so for the articles' setting; here is the proof."""
    kwargs = dict(max_env_steps=2000, normalize_returns=True, num_envs=1)
    a = train(preset_config("fast", "reinforce", 3, **kwargs))
    b = train(preset_config("fast", "reinforce_baseline", 3, **kwargs))
    np.testing.assert_array_equal(a.episode_returns, b.episode_returns)
    np.testing.assert_allclose(a.policy.weights["layer2.weight"], b.policy.weights["layer2.weight"], atol=1e-6)


@pytest.mark.parametrize("algo", ["reinforce", "reinforce_value", "actor_critic"])
def test_the_policy_gradient_is_the_mean_of_psi_times_the_score(algo):
    run, batch, values = one_batch(algo, seed=2)
    psi, _ = weights(run.config, batch, values)
    # one step at a time: -(1/B) Σ_t Ψ_t ∇ log π(a_t | s_t), with autograd per step
    params = list(run.policy.parameters())
    expected = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    steps = [(t, n) for t in range(batch.actions.shape[0]) for n in range(NUM_ENVS) if batch.valid[t, n]]
    for t, n in steps:
        logits = run.policy(torch.from_numpy(batch.obs[t, n][None]))
        log_pi = torch.log_softmax(logits, dim=-1)[0, int(batch.actions[t, n])]
        grads = torch.autograd.grad(log_pi, params)
        for acc, g in zip(expected, grads):
            acc -= float(psi[t, n]) * g.double() / len(steps)
    # the trainer's batched loss (pgcore.cartpole.core.policy_loss), differentiated once
    run.policy_optimizer.zero_grad()
    mask = torch.from_numpy(batch.valid.reshape(-1))
    obs = torch.from_numpy(batch.obs[:-1].reshape(-1, 4))[mask]
    actions = torch.from_numpy(batch.actions.reshape(-1))[mask]
    step_weights = torch.from_numpy(psi.reshape(-1)[batch.valid.reshape(-1)]).float()
    loss, _ = policy_loss(run.policy(obs), actions, step_weights, entropy_coef=0.0)
    loss.backward()
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.grad.double().numpy(), e.numpy(), rtol=1e-4, atol=1e-6)


def test_the_losses_are_the_textbook_formulas_and_agree_with_categorical():
    """policy_loss is −mean(Ψ log π(a|s)) − β·mean(H), written with log_softmax for speed
    (see its docstring); torch.distributions.Categorical gives the same to float32 rounding."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 2, generator=generator) * 3
    actions = torch.randint(0, 2, (50,), generator=generator)
    psi = torch.randn(50, generator=generator)
    loss, entropy = policy_loss(logits, actions, psi, entropy_coef=0.1)
    dist = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(entropy, dist.entropy().mean())
    torch.testing.assert_close(loss, -(psi * dist.log_prob(actions)).mean() - 0.1 * dist.entropy().mean())
    values, targets = torch.randn(50, generator=generator), torch.randn(50, generator=generator)
    torch.testing.assert_close(value_loss(values, targets), torch.nn.functional.mse_loss(values, targets))


def test_max_grad_norm_clips_the_gradient_the_optimizer_sees():
    """No preset sets max_grad_norm; it is there for clipping experiments, and it is wired."""
    run = TrainingRun(preset_config("fast", "reinforce", 0))
    seen = []
    step = run.policy_optimizer.step

    def recording_step(*args, **kwargs):
        seen.append(float(torch.cat([p.grad.reshape(-1) for p in run.policy.parameters()]).norm()))
        return step(*args, **kwargs)

    run.policy_optimizer.step = recording_step
    obs = torch.from_numpy(np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32))
    actions, psi = torch.randint(0, 2, (32,)), torch.full((32,), 50.0)
    norms = []
    for max_grad_norm in (0.0, 1e-3):
        loss, _ = policy_loss(run.policy(obs), actions, psi, entropy_coef=0.0)
        norms.append(gradient_step(loss, [(run.policy, run.policy_optimizer)], max_grad_norm))
    assert seen[0] == pytest.approx(norms[0], rel=1e-5) and norms[1] > 1e-3  # unclipped, then clipped
    assert seen[1] == pytest.approx(1e-3, rel=1e-3)


def test_sampled_actions_follow_pi_within_four_standard_errors():
    run = TrainingRun(preset_config("fast", "reinforce", 0))
    with torch.no_grad():  # a policy far from 50/50, so a wrong sign or a swapped action shows
        run.policy.layer2.weight.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(0))
    obs = np.random.default_rng(1).normal(0, 0.5, (4, 4)).astype(np.float32)
    with torch.no_grad():
        p_right = torch.softmax(run.policy(torch.from_numpy(obs)), dim=-1)[:, 1].numpy().astype(float)
    draws = 20_000
    rng = np.random.default_rng(7)
    counts = np.zeros(4)
    for _ in range(draws):
        counts += run._act(obs, rng)
    freq = counts / draws
    se = np.sqrt(p_right * (1 - p_right) / draws)
    assert np.all(np.abs(freq - p_right) <= 4 * se + 1e-12), (freq, p_right)
    assert np.ptp(p_right) > 0.2, "the test policy should not be near 50/50 everywhere"


def test_a_window_that_says_solved_is_not_enough():
    """A run whose 20-episode window reaches 475 but whose check fails is not solved."""
    run = TrainingRun(preset_config("fast", "reinforce", 0))
    for step in range(1, 21):
        run._record_episode(500.0, 500, step * 500)  # a lucky window …
    assert run.window_solved_at == 10_000 and run._check_due()
    run._check_solved()  # … but the untrained policy averages ~20 on fresh episodes
    assert run.evaluations == 1 and run.eval_mean_return < 100 and not run.solved
    assert not run._check_due(), "the next check waits for 20 more finished episodes"
    assert run.eval_env_steps > 0 and run.env_steps == 0  # checks are not training steps


@pytest.mark.slow
def test_a_confirmed_solve_really_averages_475_on_fresh_episodes():
    result = train(preset_config("fast", "reinforce_baseline", 2, max_env_steps=150_000))
    assert result.solved and result.eval_mean_return >= 475.0
    assert result.window_solved_at <= result.steps_to_solve <= result.env_steps
    # the same policy, sampling, on 100 other fresh episodes: still near 500
    from pgcore.cartpole.policy import rollout_episode

    totals = [rollout_episode(result.policy, seed=10_000 + i).total_reward for i in range(100)]
    assert np.mean(totals) >= 450.0


@pytest.mark.slow
def test_the_baseline_bias_measurement_finds_none_for_a_constant_and_some_for_the_episode_mean():
    from pgcore.cartpole.baseline_bias import measure_baseline_bias

    config = preset_config("fast", "reinforce_baseline", 0)
    constant = measure_baseline_bias(config, episodes=2000, constant=20.0)
    # E‖mean‖² = Σ SE² for a term that averages to zero: 4 noise norms is a wide margin
    assert constant.bias_norm <= 4 * constant.noise_norm, constant
    episode_mean = measure_baseline_bias(config, episodes=2000)
    assert episode_mean.bias_norm > 4 * episode_mean.noise_norm, episode_mean
    assert episode_mean.gradient_norm == pytest.approx(constant.gradient_norm)  # same episodes, same plain estimate


def test_adam_is_torch_adam_step_for_step():
    """core.Adam (no torch._dynamo import at creation) does torch.optim.Adam's arithmetic,
    bit for bit, including a rate changed between steps (the linear decay)."""
    generator = torch.Generator().manual_seed(0)
    ours = torch.randn(5, 3, generator=generator, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    optimizers = (Adam([ours], lr=0.01), torch.optim.Adam([theirs], lr=0.01))
    for i in range(40):
        x = torch.randn(3, generator=generator)
        for param, optimizer in zip((ours, theirs), optimizers):
            optimizer.param_groups[0]["lr"] = 0.01 * (1 - i / 50)
            optimizer.zero_grad()
            (param @ x).sin().sum().backward()
            optimizer.step()
    assert torch.equal(ours, theirs)


def test_the_clipped_surrogate_starts_as_the_policy_gradient_and_stops_past_the_clip():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(20, 2, generator=generator, requires_grad=True)
    actions = torch.randint(0, 2, (20,), generator=generator)
    psi = torch.randn(20, generator=generator)
    old = torch.log_softmax(logits.detach(), dim=-1).gather(1, actions[:, None]).squeeze(1)
    (plain_grad,) = torch.autograd.grad(policy_loss(logits, actions, psi, 0.0)[0], logits)
    (clipped_grad,) = torch.autograd.grad(clipped_policy_loss(logits, actions, psi, old, 0.2, 0.0), logits)
    torch.testing.assert_close(clipped_grad, plain_grad)
    # moved far in the direction Ψ asks (ratio > 1.2 where Ψ > 0, < 0.8 where Ψ < 0): no gradient
    moved = logits.detach().clone()
    moved[torch.arange(20), actions] += 5.0 * torch.sign(psi)
    moved.requires_grad_(True)
    (grad,) = torch.autograd.grad(clipped_policy_loss(moved, actions, psi, old, 0.2, 0.0), moved)
    ratio = torch.exp(torch.log_softmax(moved.detach(), dim=-1).gather(1, actions[:, None]).squeeze(1) - old)
    past = torch.where(psi > 0, ratio > 1.2, ratio < 0.8)  # (a probability near 1 cannot rise by 20 %)
    assert int(past.sum()) >= 10
    assert float(grad[past].abs().max()) == 0.0 and float(grad[~past].abs().min()) > 0.0


def test_update_epochs_and_the_rate_decay_are_wired():
    """update_epochs = k: k Adam steps per network per batch; lr_decay_steps: the rates fall
    linearly with the env steps taken before the update."""
    run, batch, _ = one_batch("actor_critic", update_epochs=3, lr_decay_steps=100)
    run.env_steps = 25
    run._update(batch)
    assert run.policy_optimizer.steps == 3 and run.value_optimizer.steps == 3
    assert run.policy_optimizer.param_groups[0]["lr"] == pytest.approx(run.config.policy_lr * 0.75)
    assert run.value_optimizer.param_groups[0]["lr"] == pytest.approx(run.config.value_lr * 0.75)
    plain, batch, _ = one_batch("reinforce")
    plain._update(batch)
    assert plain.policy_optimizer.steps == 1 and plain.policy_optimizer.param_groups[0]["lr"] == plain.config.policy_lr


def test_the_numpy_acting_forward_is_the_torch_network():
    """_act's numpy forward reads the live parameters: after an optimizer step it still
    agrees with the torch network's π(right | s)."""
    run, batch, _ = one_batch("actor_critic")
    run._update(batch)
    obs = np.random.default_rng(0).normal(0, 0.5, (64, 4)).astype(np.float32)
    u = np.random.default_rng(1).random(64)
    with torch.no_grad():
        p_right = torch.softmax(run.policy(torch.from_numpy(obs)), dim=-1)[:, 1].double().numpy()
    actions = run._act(obs, np.random.default_rng(1))
    decided = np.abs(u - p_right) > 1e-5  # away from float32 rounding at the boundary
    np.testing.assert_array_equal(actions[decided], (u < p_right).astype(np.int64)[decided])


def test_the_rollout_loop_is_a_step_by_step_loop_of_act():
    """_collect_rollout draws the rollout's noise at once and tallies episodes after its loop;
    a plain loop of _act (n uniforms a step from the same generator) and a running tally per
    step give the same actions, batch, episode records and env-step count, across updates."""
    config = preset_config("fast", "actor_critic", 3, num_envs=4, rollout_steps=40)
    fast, plain = TrainingRun(config), TrainingRun(config)
    envs = [gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point") for _ in range(2)]
    obs_fast, _ = envs[0].reset(seed=5)
    obs, _ = envs[1].reset(seed=5)
    state = (np.zeros(4, dtype=np.bool_), np.zeros(4), np.zeros(4, dtype=np.int64))
    needs_reset, ret, length = np.zeros(4, dtype=np.bool_), np.zeros(4), np.zeros(4, dtype=np.int64)
    for _ in range(3):  # three rollouts: episodes run across their boundaries
        batch, obs_fast, reset_fast = fast._collect_rollout(envs[0], obs_fast, *state)
        state = (reset_fast, state[1], state[2])
        actions = []
        for _ in range(config.rollout_steps):
            action = plain._act(obs, plain._rng)
            obs, reward, terminated, truncated, _ = envs[1].step(action)
            actions.append(action)
            valid = ~needs_reset
            plain.env_steps += int(valid.sum())
            ret += reward
            length += valid
            needs_reset = terminated | truncated
            for n in np.flatnonzero(needs_reset):
                plain._record_episode(ret[n], length[n], plain.env_steps)
            ret[needs_reset], length[needs_reset] = 0.0, 0
        np.testing.assert_array_equal(batch.actions, np.stack(actions))
        np.testing.assert_array_equal(obs_fast, obs)
        np.testing.assert_array_equal(state[1], ret)
        np.testing.assert_array_equal(state[2], length)
        assert fast.env_steps == plain.env_steps
        assert (fast.episode_returns, fast.episode_lengths, fast.episode_end_steps) == (
            plain.episode_returns,
            plain.episode_lengths,
            plain.episode_end_steps,
        )
        fast._update(batch)  # both policies take the same step, so the next rollout acts alike
        plain.policy.load_state_dict(fast.policy.state_dict())
    assert len(fast.episode_returns) > 5
    for env in envs:
        env.close()
