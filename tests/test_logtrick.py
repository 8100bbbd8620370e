"""pgcore.logtrick: single-episode estimates, their exact moments by enumeration, Monte Carlo
convergence, the biased ∇π estimator, the S1 decomposition of ∂J/∂θ₁, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgcore.grid1d import enumerate_trajectories, expected_return, expected_return_grad, sample_episodes
from pgcore.grid1d import trajectory_steps
from pgcore.logtrick import (
    _estimates_by_lookup,
    convergence_curve,
    estimator_stats,
    full_table,
    loop_cap,
    pi_gradient_sum_theta1,
    s1_decomposition,
    sample_sizes,
    single_estimates,
)
from pgcore.policies import two_action_policy

POINTS = [(0.0, 0.0, 0.9), (1.3, -0.7, 0.95), (-2.0, 3.0, 1.0), (0.5, 0.5, 0.3), (4.0, -4.0, 0.99)]


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


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
@pytest.mark.parametrize("baseline", [0.0, 0.5, -0.7])
def test_score_function_estimate_is_unbiased_by_enumeration(t1, t2, gamma, baseline):
    stats = estimator_stats(t1, t2, gamma, baseline)
    assert stats.missing_probability < 1e-15
    assert stats.mean == pytest.approx(expected_return_grad(t1, t2, gamma)[0], abs=1e-12)
    assert stats.exact_gradient == pytest.approx(expected_return_grad(t1, t2, gamma)[0], abs=1e-15)
    assert 0.0 <= stats.wrong_way <= 1.0 and 0.0 <= stats.zero <= 1.0


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS[:4])
@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_leaving_out_the_division_by_pi_is_biased(t1, t2, gamma, baseline):
    exact = expected_return_grad(t1, t2, gamma)[0]
    naive = estimator_stats(t1, t2, gamma, baseline, divide_by_pi=False)
    # the same sum, written out over trajectories by hand
    table = full_table(t1, t2, gamma)
    by_hand = float(np.sum(table.probability * (table.ret - baseline) * pi_gradient_sum_theta1(table.episodes)))
    assert naive.mean == pytest.approx(by_hand, abs=1e-14)
    assert abs(naive.mean - exact) > 1e-3 * max(abs(exact), 1e-3)
    assert abs(naive.bias) > 1e-3 * abs(exact)


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
    x = single_estimates(sample_episodes(0.8, 400_000, np.random.default_rng(3), theta2=-0.5, gamma=0.95), 0.3)
    # the sample sd of 400k draws is within a few per cent of σ
    assert x.std(ddof=1) == pytest.approx(stats.std, rel=0.03)


def test_lookup_gives_the_same_estimates():
    eps = sample_episodes(0.7, 50_000, np.random.default_rng(1), theta2=-0.4, gamma=0.93)
    x, y = _estimates_by_lookup(eps, 0.3)
    np.testing.assert_array_equal(x, single_estimates(eps, 0.3))
    np.testing.assert_array_equal(y, single_estimates(eps, 0.3, divide_by_pi=False))


@pytest.mark.parametrize(("t1", "t2", "gamma", "baseline", "seed"),
                         [(0.0, 0.0, 0.9, 0.0, 0), (0.8, -0.5, 0.95, 0.5, 1), (-1.0, 1.5, 0.7, 0.0, 2)])
def test_monte_carlo_means_within_four_standard_errors(t1, t2, gamma, baseline, seed):
    mc = convergence_curve(t1, t2, gamma, baseline, n_max=50_000, repeats=4, seed=seed)
    exact = expected_return_grad(t1, t2, gamma)[0]
    assert abs(mc.mean - exact) < 4 * mc.standard_error
    assert abs(mc.mean_naive - mc.naive_expectation) < 4 * mc.standard_error_naive
    # and the biased one is far from the truth: more than 10 standard errors away
    assert abs(mc.mean_naive - exact) > 10 * mc.standard_error_naive


def test_error_shrinks_like_one_over_root_n():
    mc = convergence_curve(0.3, 0.2, 0.9, n_max=4000, repeats=200, n_points=9, seed=5)
    ratio = mc.rms_error / mc.predicted
    # RMS over 200 runs: each ratio is within ±4 sd (sd ≈ 1/√400 = 0.05) of 1
    assert np.all(np.abs(ratio - 1) < 0.2), ratio
    # the biased estimator stalls at its bias instead
    assert mc.rms_error_naive[-1] == pytest.approx(mc.predicted_naive[-1], rel=0.2)
    assert mc.rms_error_naive[-1] > 5 * mc.rms_error[-1]


def test_convergence_is_reproducible():
    a = convergence_curve(0.3, n_max=1000, repeats=2, seed=9)
    b = convergence_curve(0.3, n_max=1000, repeats=2, seed=9)
    np.testing.assert_array_equal(a.rms_error, b.rms_error)
    assert a.n[0] == 10 and a.n[-1] == 1000


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_s1_decomposition_is_the_exact_gradient(t1, t2, gamma):
    d = s1_decomposition(t1, t2, gamma)
    assert d.gradient == pytest.approx(expected_return_grad(t1, t2, gamma)[0], rel=1e-10, abs=1e-14)
    h = 1e-6
    fd = (expected_return(t1 + h, t2, gamma) - expected_return(t1 - h, t2, gamma)) / (2 * h)
    assert d.gradient == pytest.approx(fd, rel=1e-6, abs=1e-10)


def test_s1_decomposition_at_theta_zero():
    d = s1_decomposition(0.0)
    assert d.visits == pytest.approx(1 / 0.7975, abs=1e-12)  # Σ_k (0.81 · 0.25)^k
    assert d.gradient == pytest.approx(0.1125 / 0.7975**2, abs=1e-12)


def test_loop_cap_leaves_out_negligible_mass():
    for t1, t2 in [(0.0, 0.0), (6.0, -6.0), (-6.0, 6.0), (3.0, -1.0)]:
        table = enumerate_trajectories(t1, t2, 1.0, max_loops=loop_cap(t1, t2))
        assert table.missing_probability < 1e-15
    assert loop_cap(1000.0, -1000.0) == 10_000


def test_sample_sizes():
    n = sample_sizes(100_000)
    assert n[0] == 10 and n[-1] == 100_000
    assert np.all(np.diff(n) > 0)
    assert sample_sizes(12, n_points=25).tolist() == [10, 11, 12]


def test_extremes_stay_finite():
    for t1, t2, gamma in [(6.0, -6.0, 1.0), (-6.0, 6.0, 1.0), (6.0, 6.0, 0.0), (-6.0, -6.0, 0.5)]:
        stats = estimator_stats(t1, t2, gamma, 1.0)
        mc = convergence_curve(t1, t2, gamma, 1.0, n_max=2000, repeats=2)
        values = [stats.mean, stats.std, mc.mean, mc.mean_naive, *mc.rms_error, *mc.predicted_naive]
        assert np.all(np.isfinite(values)), (t1, t2, gamma)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: convergence_curve(0.0, n_max=0), "n_max"),
        (lambda: convergence_curve(0.0, repeats=0), "repeats"),
        (lambda: convergence_curve(0.0, n_max=2_000_000, repeats=3), "repeats"),
        (lambda: convergence_curve(0.0, seed=-1), "seed"),
        (lambda: convergence_curve(0.0, baseline=float("nan"), n_max=100, repeats=1), "baseline"),
        (lambda: convergence_curve(float("inf")), "theta1"),
        (lambda: estimator_stats(0.0, gamma=1.5), "gamma"),
        (lambda: estimator_stats(0.0, float("nan")), "theta2"),
        (lambda: estimator_stats(0.0, baseline=float("inf")), "baseline"),
        (lambda: loop_cap(0.0, tail_mass=0.0), "tail_mass"),
        (lambda: sample_sizes(5), "n_min"),
        (lambda: sample_sizes(100, n_points=0), "n_points"),
        (lambda: s1_decomposition(1000.0, -1000.0, 1.0), "loop forever"),
        (lambda: s1_decomposition(0.0, gamma=-0.1), "gamma"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
