"""pgcore.logtrick: single-episode estimates, their exact moments by enumeration, Monte Carlo
convergence, the biased ∇π estimator, the S1 decomposition of ∂J/∂θ₁, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgcore.grid1d import (
    enumerate_trajectories,
    expected_return,
    expected_return_grad,
    sample_episodes,
    trajectory_steps,
)
from pgcore.logtrick import (
    _estimates_by_lookup,
    convergence_curve,
    estimator_stats,
    pi_gradient_sum_theta1,
    s1_decomposition,
    sample_sizes,
    single_estimates,
)
from pgcore.policies import two_action_policy

POINTS = [(0.0, 0.0, 0.9), (1.3, -0.7, 0.95), (-2.0, 3.0, 1.0), (0.5, 0.5, 0.3), (4.0, -4.0, 0.99)]
RNG = np.random.default_rng(0)  # for the bad-input cases, which fail before drawing


def walk_sums(theta1: float, loops: int, goal: bool) -> tuple[float, float]:
    """Σ_t ∇θ₁ log π and Σ_t ∇θ₁ π by walking the trajectory step by step (θ₂ plays no part)."""
    pol = two_action_policy(theta1)
    score = grad = 0.0
    for state, action, _, _ in trajectory_steps(loops, goal):
        if state != "S1":
            continue
        score += float(pol.score_right if action == "right" else pol.score_left)
        grad += float(pol.grad_pi_right if action == "right" else pol.grad_pi_left)
    return score, grad


def walked_moments(theta1, theta2, gamma, baseline, divide_by_pi=True, max_loops=400):
    """E[X], sd(X), P(X opposes ∂J/∂θ₁) and P(X = 0), every trajectory walked step by step.

    P(τ) is the product of the step probabilities and G(τ) the discounted sum of the step
    rewards — nothing from grid1d but the list of steps.
    """
    p1, p2 = 1 / (1 + np.exp(-theta1)), 1 / (1 + np.exp(-theta2))
    exact = float(expected_return_grad(theta1, theta2, gamma)[0])
    prob = {("S1", "right"): p1, ("S1", "left"): 1 - p1, ("S2", "right"): p2, ("S2", "left"): 1 - p2}
    mean = second = wrong = zero = 0.0
    for k in range(max_loops + 1):
        for goal in (False, True):
            steps = trajectory_steps(k, goal)
            p = float(np.prod([prob[(state, action)] for state, action, _, _ in steps]))
            ret = sum(gamma**t * reward for t, (_, _, reward, _) in enumerate(steps))
            score, grad = walk_sums(theta1, k, goal)
            x = (ret - baseline) * (score if divide_by_pi else grad)
            mean += p * x
            second += p * x * x
            wrong += p if x * exact < 0 else 0.0
            zero += p if x == 0.0 else 0.0
    return dict(mean=mean, std=np.sqrt(max(second - mean * mean, 0.0)), wrong_way=wrong, zero=zero)


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_scores_match_a_step_by_step_walk(t1, t2, gamma):
    table = enumerate_trajectories(t1, t2, gamma, max_loops=4)
    naive = pi_gradient_sum_theta1(table.episodes)
    for i, (k, goal) in enumerate(zip(table.episodes.loops, table.episodes.reached_goal)):
        score, grad = walk_sums(t1, int(k), bool(goal))
        assert table.score_theta1[i] == pytest.approx(score, abs=1e-12)
        assert naive[i] == pytest.approx(grad, abs=1e-12)


@pytest.mark.parametrize(("t1", "t2"), [(0.0, 0.0), (1.3, -0.7), (-2.0, 3.0)])
def test_scores_match_autograd(t1, t2):
    theta = torch.tensor([t1, t2], dtype=torch.float64, requires_grad=True)
    table = enumerate_trajectories(t1, t2, 0.9, max_loops=3)
    naive = pi_gradient_sum_theta1(table.episodes)
    for i, (k, goal) in enumerate(zip(table.episodes.loops.tolist(), table.episodes.reached_goal.tolist())):
        p1, p2 = torch.sigmoid(theta[0]), torch.sigmoid(theta[1])
        # log P(τ) = k log(p₁(1 − p₂)) + (log p₁p₂ if goal else log(1 − p₁))
        log_p = k * torch.log(p1 * (1 - p2)) + (torch.log(p1 * p2) if goal else torch.log(1 - p1))
        (g_log,) = torch.autograd.grad(log_p, theta, retain_graph=True)
        # Σ_t π(a_t|S1): the function whose θ₁-gradient the biased estimator uses
        pi_sum = (k + (1 if goal else 0)) * p1 + (0 if goal else 1) * (1 - p1)
        (g_pi,) = torch.autograd.grad(pi_sum, theta)
        assert table.score_theta1[i] == pytest.approx(g_log[0].item(), abs=1e-12)
        assert naive[i] == pytest.approx(g_pi[0].item(), abs=1e-12)


@pytest.mark.parametrize(("t1", "t2"), [(0.0, 0.0), (1.3, -0.7), (-2.0, 3.0), (4.0, -4.0)])
def test_scores_match_finite_differences_of_log_probability(t1, t2):
    # ∇θ log P(τ) by central differences of log P(τ) = log Π_t π(a_t|s_t), for both θ₁ and θ₂
    h = 1e-6
    k = np.repeat(np.arange(6), 2)
    goal = np.tile([False, True], 6)

    def log_p(a, b):
        return np.log(enumerate_trajectories(a, b, 0.9, max_loops=5).probability)

    table = enumerate_trajectories(t1, t2, 0.9, max_loops=5)
    np.testing.assert_array_equal(table.episodes.loops, k)
    np.testing.assert_array_equal(table.episodes.reached_goal, goal)
    fd1 = (log_p(t1 + h, t2) - log_p(t1 - h, t2)) / (2 * h)
    fd2 = (log_p(t1, t2 + h) - log_p(t1, t2 - h)) / (2 * h)
    np.testing.assert_allclose(table.episodes.score_theta1, fd1, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(table.episodes.score_theta2, fd2, rtol=1e-6, atol=1e-8)

    # Σ_t ∂π(a_t|S1)/∂θ₁ by central differences of Σ_t π(a_t|S1)
    def pi_sum(a):
        return np.array(
            [
                sum(
                    float(two_action_policy(a).pi_right if act == "right" else two_action_policy(a).pi_left)
                    for state, act, _, _ in trajectory_steps(int(kk), bool(g))
                    if state == "S1"
                )
                for kk, g in zip(k, goal)
            ]
        )

    fd_pi = (pi_sum(t1 + h) - pi_sum(t1 - h)) / (2 * h)
    np.testing.assert_allclose(pi_gradient_sum_theta1(table.episodes), fd_pi, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("t1", "t2"), [(0.0, 0.0), (1.3, -0.7), (-2.0, 3.0)])
def test_theta2_scores_match_autograd(t1, t2):
    theta = torch.tensor([t1, t2], dtype=torch.float64, requires_grad=True)
    table = enumerate_trajectories(t1, t2, 0.9, max_loops=3)
    for i, (k, goal) in enumerate(zip(table.episodes.loops.tolist(), table.episodes.reached_goal.tolist())):
        p1, p2 = torch.sigmoid(theta[0]), torch.sigmoid(theta[1])
        log_p = k * torch.log(p1 * (1 - p2)) + (torch.log(p1 * p2) if goal else torch.log(1 - p1))
        (g_log,) = torch.autograd.grad(log_p, theta)
        assert table.episodes.score_theta2[i] == pytest.approx(g_log[1].item(), abs=1e-12)


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
@pytest.mark.parametrize("baseline", [0.0, 0.5, -0.7])
def test_score_function_estimate_is_unbiased_by_enumeration(t1, t2, gamma, baseline):
    stats = estimator_stats(t1, t2, gamma, baseline)
    assert stats.missing_probability < 1e-15
    assert stats.mean == pytest.approx(expected_return_grad(t1, t2, gamma)[0], abs=1e-12)


# (4, −4, 0.99) loops with q ≈ 0.96 and needs ~1000 loops: too long to walk step by step
@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS[:4])
@pytest.mark.parametrize("baseline", [0.0, 0.5, -0.7])
def test_exact_spread_and_sign_errors_match_a_step_by_step_walk(t1, t2, gamma, baseline):
    stats = estimator_stats(t1, t2, gamma, baseline)
    want = walked_moments(t1, t2, gamma, baseline)
    assert stats.mean == pytest.approx(want["mean"], rel=1e-9, abs=1e-13)
    assert stats.std == pytest.approx(want["std"], rel=1e-9, abs=1e-12)
    assert stats.wrong_way == pytest.approx(want["wrong_way"], abs=1e-12)
    assert stats.zero == pytest.approx(want["zero"], abs=1e-12)


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS[:4])
@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_leaving_out_the_division_by_pi_is_biased(t1, t2, gamma, baseline):
    exact = expected_return_grad(t1, t2, gamma)[0]
    naive = estimator_stats(t1, t2, gamma, baseline, divide_by_pi=False)
    # the same expectation, every trajectory walked step by step (independent of pgcore's sums)
    by_hand = walked_moments(t1, t2, gamma, baseline, divide_by_pi=False)
    assert naive.mean == pytest.approx(by_hand["mean"], rel=1e-9, abs=1e-13)
    assert naive.std == pytest.approx(by_hand["std"], rel=1e-9, abs=1e-13)
    assert naive.bias == pytest.approx(by_hand["mean"] - exact, rel=1e-9, abs=1e-13)
    assert abs(naive.mean - exact) > 1e-3 * max(abs(exact), 1e-3)


def test_without_a_baseline_the_bias_is_the_factor_pi_right():
    # baseline 0: left endings earn 0, and every counted S1 step went Right, so Y = σ(θ₁) X
    for t1 in (-1.0, 0.0, 2.0):
        naive = estimator_stats(t1, 0.4, 0.9, divide_by_pi=False)
        p1 = 1 / (1 + np.exp(-t1))
        assert naive.mean == pytest.approx(p1 * expected_return_grad(t1, 0.4, 0.9)[0], abs=1e-12)


def test_wrong_way_and_zero_probabilities_at_theta_zero():
    q = 0.25  # chance of one more loop at θ = 0
    plain = estimator_stats(0.0)
    # G ≥ 0 and goal episodes have a positive score: never downhill; exactly 0 on left endings
    assert plain.wrong_way == 0.0
    assert plain.zero == pytest.approx(0.5 / (1 - q), abs=1e-12)
    with_baseline = estimator_stats(0.0, baseline=0.5)
    # downhill: goal episodes with γ^{2k+1} < 0.5 (k ≥ 3 at γ = 0.9), and left endings with
    # G − b = −0.5 and score k/2 − 1/2 > 0 (k ≥ 2)
    goal_downhill = sum(q**k * 0.25 for k in range(3, 400))
    left_downhill = sum(q**k * 0.5 for k in range(2, 400))
    assert with_baseline.wrong_way == pytest.approx(goal_downhill + left_downhill, abs=1e-12)
    assert with_baseline.zero == pytest.approx(q * 0.5, abs=1e-12)  # left ending after one loop


def test_exact_std_matches_samples():
    stats = estimator_stats(0.8, -0.5, 0.95, 0.3)
    n = 400_000
    x = single_estimates(sample_episodes(0.8, n, np.random.default_rng(3), theta2=-0.5, gamma=0.95), 0.3)
    # the sample variance is within 4 of its own standard errors, sqrt((μ₄ − σ⁴)/n), of σ²
    se = np.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / n)
    assert abs(x.var(ddof=1) - stats.std**2) < 4 * se
    assert se < 0.02 * stats.std**2  # and that bound is tight enough to mean something


def test_lookup_gives_the_same_estimates():
    eps = sample_episodes(0.7, 50_000, np.random.default_rng(1), theta2=-0.4, gamma=0.93)
    estimate, naive = _estimates_by_lookup(eps, 0.3)
    np.testing.assert_array_equal(estimate, single_estimates(eps, 0.3))
    np.testing.assert_array_equal(naive, single_estimates(eps, 0.3, divide_by_pi=False))


@pytest.mark.parametrize(
    ("t1", "t2", "gamma", "baseline", "seed"),
    [(0.0, 0.0, 0.9, 0.0, 0), (0.8, -0.5, 0.95, 0.5, 1), (-1.0, 1.5, 0.7, 0.0, 2)],
)
def test_monte_carlo_means_within_four_standard_errors(t1, t2, gamma, baseline, seed):
    mc = convergence_curve(t1, t2, gamma, baseline, n_max=50_000, repeats=4, rng=np.random.default_rng(seed))
    exact = expected_return_grad(t1, t2, gamma)[0]
    assert abs(mc.mean - exact) < 4 * mc.standard_error
    assert abs(mc.mean_naive - mc.naive_expectation) < 4 * mc.standard_error_naive
    # and the biased one is far from the truth: more than 10 standard errors away
    assert abs(mc.mean_naive - exact) > 10 * mc.standard_error_naive


def test_error_shrinks_like_one_over_root_n():
    mc = convergence_curve(0.3, 0.2, 0.9, n_max=4000, repeats=200, n_points=9, rng=np.random.default_rng(5))
    ratio = mc.rms_error / mc.predicted
    # RMS over 200 runs: each ratio is within ±4 sd (sd ≈ 1/√400 = 0.05) of 1
    assert np.all(np.abs(ratio - 1) < 0.2), ratio
    # the biased estimator stalls at its bias instead
    assert mc.rms_error_naive[-1] == pytest.approx(mc.predicted_naive[-1], rel=0.2)
    assert mc.rms_error_naive[-1] > 5 * mc.rms_error[-1]


def test_convergence_is_reproducible():
    a = convergence_curve(0.3, n_max=1000, repeats=2, rng=np.random.default_rng(9))
    b = convergence_curve(0.3, n_max=1000, repeats=2, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.rms_error, b.rms_error)
    assert a.n[0] == 10 and a.n[-1] == 1000


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_s1_decomposition_is_the_exact_gradient(t1, t2, gamma):
    d = s1_decomposition(t1, t2, gamma)
    assert d.gradient == pytest.approx(expected_return_grad(t1, t2, gamma)[0], rel=1e-10, abs=1e-14)
    h = 1e-6
    fd = (expected_return(t1 + h, t2, gamma) - expected_return(t1 - h, t2, gamma)) / (2 * h)
    assert d.gradient == pytest.approx(fd, rel=1e-6, abs=1e-10)
    # torch.autograd through the Bellman solution, independent of grid1d's closed form
    theta1 = torch.tensor(t1, dtype=torch.float64, requires_grad=True)
    p1, p2 = torch.sigmoid(theta1), torch.sigmoid(torch.tensor(t2, dtype=torch.float64))
    one = torch.ones((), dtype=torch.float64)
    a = torch.stack([torch.stack([one, -gamma * p1]), torch.stack([-gamma * (1 - p2), one])])
    v = torch.linalg.solve(a, torch.stack([0 * one, p2]))
    (g,) = torch.autograd.grad(v[0], theta1)
    assert d.gradient == pytest.approx(g.item(), rel=1e-9, abs=1e-14)
    # and its two factors: the discounted visits to S1 are 1 / (1 − γ² p₁ (1 − p₂))
    assert d.visits == pytest.approx(1 / (1 - gamma**2 * p1.item() * (1 - p2.item())), rel=1e-12)


def test_s1_decomposition_at_theta_zero():
    d = s1_decomposition(0.0)
    assert d.visits == pytest.approx(1 / 0.7975, abs=1e-12)  # Σ_k (0.81 · 0.25)^k
    assert d.gradient == pytest.approx(0.1125 / 0.7975**2, abs=1e-12)


def test_sample_sizes():
    n = sample_sizes(100_000)
    assert n[0] == 10 and n[-1] == 100_000
    assert np.all(np.diff(n) > 0)
    assert sample_sizes(12, n_points=25).tolist() == [10, 11, 12]


def test_extremes_stay_finite():
    for t1, t2, gamma in [(6.0, -6.0, 1.0), (-6.0, 6.0, 1.0), (6.0, 6.0, 0.0), (-6.0, -6.0, 0.5)]:
        stats = estimator_stats(t1, t2, gamma, 1.0)
        mc = convergence_curve(t1, t2, gamma, 1.0, n_max=2000, repeats=2, rng=np.random.default_rng(0))
        values = [stats.mean, stats.std, mc.mean, mc.mean_naive, *mc.rms_error, *mc.predicted_naive]
        assert np.all(np.isfinite(values)), (t1, t2, gamma)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: convergence_curve(0.0, n_max=0, rng=RNG), "n_max"),
        (lambda: convergence_curve(0.0, repeats=0, rng=RNG), "repeats"),
        (lambda: convergence_curve(0.0, n_max=2_000_000, repeats=3, rng=RNG), "repeats"),
        (lambda: convergence_curve(0.0, rng=-1), "rng"),
        (lambda: convergence_curve(0.0, rng=7), "rng"),
        (lambda: convergence_curve(0.0, baseline=float("nan"), n_max=100, repeats=1, rng=RNG), "baseline"),
        (lambda: convergence_curve(float("inf"), rng=RNG), "theta1"),
        (lambda: estimator_stats(0.0, gamma=1.5), "gamma"),
        (lambda: estimator_stats(0.0, float("nan")), "theta2"),
        (lambda: estimator_stats(0.0, baseline=float("inf")), "baseline"),
        (lambda: sample_sizes(5), "n_min"),
        (lambda: sample_sizes(100, n_points=0), "n_points"),
        (lambda: s1_decomposition(1000.0, -1000.0, 1.0), "loop forever"),
        (lambda: s1_decomposition(0.0, gamma=-0.1), "gamma"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
