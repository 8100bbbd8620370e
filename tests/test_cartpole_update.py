"""The CartPole learning step checked against plain loops: Ψ_t per algorithm against a
per-episode reward-to-go loop, the policy-gradient step against the mean of Ψ_t ∇log π
computed one step at a time with autograd, the sampler against π, and the confirmed-solve
rule."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from devtools.torch_reference import torch_logits, torch_params, torch_update
from pgcore.cartpole.config import preset_config, window_solved
from pgcore.cartpole.core import policy_loss, weights
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
        values = run.value.forward(batch.obs.reshape(-1, 4))[0].reshape(batch.obs.shape[:2])
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
    # one step at a time: -(1/B) Σ_t Ψ_t ∇ log π(a_t | s_t), with torch.autograd per step
    params = torch_params(run.policy)
    expected = [torch.zeros_like(p) for p in params]
    steps = [(t, n) for t in range(batch.actions.shape[0]) for n in range(NUM_ENVS) if batch.valid[t, n]]
    for t, n in steps:
        logits = torch_logits(params, run.config.activation, batch.obs[t, n][None])
        grads = torch.autograd.grad(torch.log_softmax(logits, dim=-1)[0, int(batch.actions[t, n])], params)
        for acc, g in zip(expected, grads):
            acc -= float(psi[t, n]) * g / len(steps)
    # the trainer's batched loss (pgcore.cartpole.core.policy_loss) and the network's backward pass
    valid = batch.valid.reshape(-1)
    obs = batch.obs[:-1].reshape(-1, 4)[valid]
    logits, hidden = run.policy.forward(obs)
    _, _, d_logits = policy_loss(logits, batch.actions.reshape(-1)[valid], psi.reshape(-1)[valid], entropy_coef=0.0)
    run.policy.backward(obs, hidden, d_logits)
    for got, e in zip(run.policy._views(run.policy.grad), expected):
        np.testing.assert_allclose(got, e.numpy(), rtol=1e-10, atol=1e-13)


def test_max_grad_norm_clips_the_gradient_the_optimizer_sees():
    """No preset sets max_grad_norm; it is there for clipping experiments, and it is wired:
    the update reports the norm before clipping and Adam receives the clipped gradient."""
    norms, seen = [], []
    for max_grad_norm in (0.0, 1e-3):
        run, batch, _ = one_batch("reinforce", max_grad_norm=max_grad_norm)
        step = run.policy_optimizer.step
        run.policy_optimizer.step = lambda grad, step=step: (seen.append(float(np.linalg.norm(grad))), step(grad))
        norms.append(run._update(batch)["grad_norm"])
    assert norms[0] == pytest.approx(norms[1], rel=1e-12) and norms[0] > 1e-3  # same batch, same gradient
    assert seen[0] == pytest.approx(norms[0], rel=1e-12)  # unclipped
    assert seen[1] == pytest.approx(1e-3, rel=1e-3)  # clipped to the norm asked for


def test_sampled_actions_follow_pi_within_four_standard_errors():
    run = TrainingRun(preset_config("fast", "reinforce", 0))
    # a policy far from 50/50, so a wrong sign or a swapped action shows
    run.policy.w2[...] = np.random.default_rng(0).normal(0.0, 2.0, run.policy.w2.shape)
    obs = np.random.default_rng(1).normal(0, 0.5, (4, 4)).astype(np.float32)
    with torch.no_grad():
        p_right = torch.softmax(torch_logits(torch_params(run.policy), "tanh", obs), dim=-1)[:, 1].numpy()
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
        run._record_episodes([500.0], [500], [step * 500])  # a lucky window …
    assert run.window_solved_at == 10_000 and run._check_due()
    run._check_solved()  # … but the untrained policy averages ~20 on fresh episodes
    assert run.evaluations == 1 and run.eval_mean_return < 100 and not run.solved
    assert not run._check_due(), "the next check waits for 20 more finished episodes"
    assert run.eval_env_steps > 0 and run.env_steps == 0  # checks are not training steps


@pytest.mark.parametrize(
    "returns",
    [
        [30.0] * 25 + [500.0] * 20 + [10.0] * 5,  # solves at the 20th 500
        [500.0] * 19 + [474.0] * 2 + [500.0] * 30,  # two dips delay it
        [float(np.nextafter(475.0, 0.0))] * 30,  # just below the threshold: rounding decides
        [474.9] * 40,  # never
    ],
)
def test_recording_episodes_in_bulk_finds_the_window_a_one_by_one_record_finds(returns):
    """The rollout tally records a rollout's episodes at once and skips the window check when
    no return is near 475; it must stamp the same ``window_solved_at`` as recording them one
    at a time, for any split of the episodes into rollouts."""
    config = preset_config("fast", "actor_critic", 0)
    one_by_one, in_bulk = TrainingRun(config), TrainingRun(config)
    stamps = [100 * (i + 1) for i in range(len(returns))]
    for total, stamp in zip(returns, stamps):
        one_by_one._record_episodes([total], [1], [stamp])
    for start, stop in ((0, 7), (7, 20), (20, 21), (21, 44), (44, len(returns))):
        in_bulk._record_episodes(returns[start:stop], [1] * (stop - start), stamps[start:stop])
    assert in_bulk.window_solved_at == one_by_one.window_solved_at
    assert in_bulk.episode_returns == one_by_one.episode_returns == returns
    assert list(in_bulk._window) == list(one_by_one._window)
    expected = next((stamps[i] for i in range(len(returns)) if window_solved(returns[: i + 1])), None)
    assert one_by_one.window_solved_at == expected


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


def test_update_epochs_and_the_rate_decay_are_wired():
    """update_epochs = k: k Adam steps per network per batch; lr_decay_steps: the rates fall
    linearly with the env steps taken before the update."""
    run, batch, _ = one_batch("actor_critic", update_epochs=3, lr_decay_steps=100)
    run.env_steps = 25
    run._update(batch)
    assert run.policy_optimizer.steps == 3 and run.value_optimizer.steps == 3
    assert run.policy_optimizer.lr == pytest.approx(run.config.policy_lr * 0.75)
    assert run.value_optimizer.lr == pytest.approx(run.config.value_lr * 0.75)
    plain, batch, _ = one_batch("reinforce")
    plain._update(batch)
    assert plain.policy_optimizer.steps == 1 and plain.policy_optimizer.lr == plain.config.policy_lr


def test_the_acting_forward_reads_the_live_parameters():
    """_act's forward reads the parameters as they are: after an optimizer step it still agrees
    with π(right | s) computed by torch from the updated parameters."""
    run, batch, _ = one_batch("actor_critic")
    run._update(batch)
    obs = np.random.default_rng(0).normal(0, 0.5, (64, 4)).astype(np.float32)
    u = np.random.default_rng(1).random(64)
    with torch.no_grad():
        p_right = torch.softmax(torch_logits(torch_params(run.policy), "tanh", obs), dim=-1)[:, 1].numpy()
    actions = run._act(obs, np.random.default_rng(1))
    decided = np.abs(u - p_right) > 1e-6  # away from the boundary, where float32 acting may round
    np.testing.assert_array_equal(actions[decided], (u < p_right).astype(np.int64)[decided])


def test_acting_in_float32_moves_pi_by_less_than_1e6():
    """The actor's float32 copy of θ gives π(right | s) within 1e-6 of the float64 network's,
    for large weights (|z| up to ~30) and states out to the termination bounds."""
    run = TrainingRun(preset_config("fast", "actor_critic", 0))
    rng = np.random.default_rng(3)
    run.policy.params[...] = rng.normal(0.0, 1.5, run.policy.params.shape)
    obs = (rng.uniform(-1, 1, (4096, 4)) * [2.4, 3.0, 0.21, 3.0]).astype(np.float32)
    actor, readout = run._actor, run._actor.readout()
    z32 = actor.logit_gap(obs, readout, actor.scratch(len(obs))).astype(np.float64) + readout.b
    logits, _ = run.policy.forward(obs.astype(np.float64))
    z64 = logits[:, 1] - logits[:, 0]
    assert np.abs(z64).max() > 10, "the test policy should reach far from 50/50"
    p32, p64 = 1 / (1 + np.exp(-z32)), 1 / (1 + np.exp(-z64))
    assert np.abs(p32 - p64).max() < 1e-6


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_rollout_loop_is_a_step_by_step_loop_of_act(activation):
    """_collect_rollout draws the rollout's noise at once and tallies episodes after its loop;
    a plain loop of _act (n uniforms a step from the same generator) and a running tally per
    step give the same actions, batch, episode records and env-step count, across updates."""
    config = preset_config("fast", "actor_critic", 3, num_envs=4, rollout_steps=40, activation=activation)
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
                plain._record_episodes([float(ret[n])], [int(length[n])], [plain.env_steps])
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
        plain.policy.params[...] = fast.policy.params
    assert len(fast.episode_returns) > 5
    for env in envs:
        env.close()


@pytest.mark.parametrize("algo", ["reinforce", "reinforce_value", "actor_critic"])
def test_one_update_moves_both_networks_as_torch_autograd_and_adam_would(algo):
    """The trainer's whole update (Ψ_t, the losses, the backward passes, clipped epochs, Adam)
    against the same update written with torch.autograd and torch.optim.Adam in float64, from
    the same weights on the same batch: the new parameters agree to rounding."""
    run, batch, _ = one_batch(algo, seed=4, update_epochs=3 if algo == "actor_critic" else 1)
    with_torch, policy, value = torch_update(run, batch)  # copies of the networks as they are now
    with_torch()
    run._update(batch)
    for network, expected in ((run.policy, policy), (run.value, value)):
        if network is None:
            continue
        for got, e in zip((network.w1, network.b1, network.w2, network.b2), expected):
            np.testing.assert_allclose(got, e.detach().numpy(), rtol=1e-9, atol=1e-12)
    start = TrainingRun(run.config).policy.params
    assert np.abs(run.policy.params - start).max() > 1e-4, "the update moved the policy"
