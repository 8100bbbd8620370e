"""pgcore.bandit: exact ∇J, variance parabola, optimal baselines, against closed forms,
finite differences, torch.autograd and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgcore.bandit import Bandit

WORKED = Bandit(preferences=(2.0, 1.0, 0.5), means=(2.0, 0.0, 0.5), noise_std=0.5)


def test_probabilities_are_the_seed_softmax():
    np.testing.assert_allclose(np.round(WORKED.probs, 2), [0.63, 0.23, 0.14])
    np.testing.assert_allclose(WORKED.probs, np.exp([2.0, 1.0, 0.5]) / np.exp([2.0, 1.0, 0.5]).sum(), rtol=1e-12)


@pytest.mark.parametrize("preferences", [(2.0, 1.0, 0.5), (-1.0, 0.3, 0.3, 2.2), (0.0, 0.0)])
def test_score_by_finite_differences_and_torch(preferences):
    # row a of the score is ∇_h log π(a)
    bandit = Bandit(preferences=preferences, means=np.zeros(len(preferences)))
    h = np.array(preferences)
    eps = 1e-6
    fd = np.stack(
        [
            (np.log(Bandit(h + eps * e, bandit.means).probs) - np.log(Bandit(h - eps * e, bandit.means).probs))
            / (2 * eps)
            for e in np.eye(h.size)
        ],
        axis=1,
    )
    np.testing.assert_allclose(bandit.score, fd, rtol=1e-6, atol=1e-10)
    jac = torch.autograd.functional.jacobian(lambda x: torch.log_softmax(x, 0), torch.tensor(h))
    np.testing.assert_allclose(bandit.score, jac.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "preferences, means", [((-1.0, 0.3, 0.3, 2.2), (0.5, -2.0, 1.0, 3.0)), ((0.0, 0.0), (1.0, 0.0))]
)
def test_gradient_by_finite_differences_and_torch_at_other_policies(preferences, means):
    bandit = Bandit(preferences, means)
    h = np.array(preferences)
    eps = 1e-6
    fd = np.array(
        [
            (Bandit(h + eps * e, means).expected_reward - Bandit(h - eps * e, means).expected_reward) / (2 * eps)
            for e in np.eye(h.size)
        ]
    )
    np.testing.assert_allclose(bandit.gradient, fd, rtol=1e-6, atol=1e-10)
    ht = torch.tensor(h, requires_grad=True)
    (torch.softmax(ht, 0) @ torch.tensor(means, dtype=torch.float64)).backward()
    np.testing.assert_allclose(bandit.gradient, ht.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_gradient_by_finite_differences_and_torch():
    h = np.array(WORKED.preferences)
    eps = 1e-6
    fd = np.array(
        [
            (Bandit(h + eps * e, WORKED.means).expected_reward - Bandit(h - eps * e, WORKED.means).expected_reward)
            / (2 * eps)
            for e in np.eye(3)
        ]
    )
    np.testing.assert_allclose(WORKED.gradient, fd, rtol=1e-6, atol=1e-10)
    ht = torch.tensor(h, requires_grad=True)
    (torch.softmax(ht, 0) @ torch.tensor(WORKED.means)).backward()
    np.testing.assert_allclose(WORKED.gradient, ht.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_variance_closed_form_by_direct_sum():
    b = 0.7
    pi, mu, s = WORKED.probs, WORKED.means, WORKED.noise_std
    want = np.zeros(3)
    for a in range(3):
        psi = np.eye(3)[a] - pi
        want += pi[a] * psi**2 * ((mu[a] - b) ** 2 + s**2)
    want -= WORKED.gradient**2
    np.testing.assert_allclose(WORKED.variance(b), want, rtol=1e-12)
    assert WORKED.variance(np.array([0.0, 1.0, 2.0])).shape == (3, 3)
    assert WORKED.total_variance(b) == pytest.approx(want.sum(), rel=1e-12)


def test_optimal_baselines_minimize_their_parabolas():
    grid = np.linspace(-3, 5, 80_001)
    var = WORKED.variance(grid)  # (m, K)
    np.testing.assert_allclose(grid[var.argmin(axis=0)], WORKED.optimal_baselines, atol=1e-4)
    assert grid[WORKED.total_variance(grid).argmin()] == pytest.approx(WORKED.optimal_baseline, abs=1e-4)
    # and it is not E[R] for this skewed policy
    assert abs(WORKED.optimal_baseline - WORKED.expected_reward) > 0.5
    assert WORKED.total_variance(WORKED.optimal_baseline) < WORKED.total_variance(WORKED.expected_reward)


def test_two_arms_weight_each_arm_by_the_other_probability():
    bandit = Bandit(preferences=(1.2, 0.0), means=(3.0, -1.0))
    p1, p2 = bandit.probs
    assert bandit.optimal_baseline == pytest.approx(p2 * 3.0 + p1 * -1.0, rel=1e-12)
    assert bandit.expected_reward == pytest.approx(p1 * 3.0 + p2 * -1.0, rel=1e-12)


def test_b_star_equals_expected_reward_when_scores_have_equal_size():
    uniform = Bandit(preferences=(0.3, 0.3, 0.3, 0.3), means=(1.0, -2.0, 0.5, 4.0), noise_std=1.0)
    assert uniform.optimal_baseline == pytest.approx(uniform.expected_reward, rel=1e-12)
    assert np.ptp(uniform.score_size) < 1e-15


def test_noise_does_not_move_b_star_but_adds_variance():
    quiet = Bandit(WORKED.preferences, WORKED.means, 0.0)
    assert quiet.optimal_baseline == pytest.approx(WORKED.optimal_baseline, rel=1e-12)
    # noise adds σ² E[|ψ|²] = σ² Σ_a π_a |ψ(a)|² to the total variance, whatever b is
    pi = WORKED.probs
    extra = 0.5**2 * sum(pi[a] * np.sum((np.eye(3)[a] - pi) ** 2) for a in range(3))
    for b in (0.0, 1.0, WORKED.optimal_baseline):
        assert WORKED.total_variance(b) - quiet.total_variance(b) == pytest.approx(extra, rel=1e-12)


def test_an_offset_explodes_the_plain_variance_and_leaves_b_star_flat():
    for c in (0.0, 5.0, 50.0):
        shifted = Bandit(WORKED.preferences, np.array(WORKED.means) + c, WORKED.noise_std)
        np.testing.assert_allclose(shifted.gradient, WORKED.gradient, atol=1e-12)  # ∇J is unchanged
        assert shifted.optimal_baseline == pytest.approx(WORKED.optimal_baseline + c, rel=1e-12)
        assert shifted.total_variance(shifted.optimal_baseline) == pytest.approx(
            WORKED.total_variance(WORKED.optimal_baseline), rel=1e-9
        )
    big = Bandit(WORKED.preferences, np.array(WORKED.means) + 50.0, WORKED.noise_std)
    assert big.total_variance(0.0) > 1000 * WORKED.total_variance(WORKED.optimal_baseline)


@pytest.mark.parametrize("b", [0.0, 1.0, "optimal"])
def test_monte_carlo_mean_and_variance(b):
    b = WORKED.optimal_baseline if b == "optimal" else b
    n = 400_000
    s = WORKED.sample(n, np.random.default_rng(7), b=b)
    g = s.estimates
    se = g.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(g.mean(axis=0) - WORKED.gradient) < 4 * se)
    var = g.var(axis=0, ddof=1)
    var_se = np.sqrt((np.mean((g - g.mean(0)) ** 4, axis=0) - g.var(0) ** 2) / n)
    assert np.all(np.abs(var - WORKED.variance(b)) < 4 * var_se)
    counts = np.bincount(s.arms, minlength=3) / n
    assert np.all(np.abs(counts - WORKED.probs) < 4 * np.sqrt(WORKED.probs * (1 - WORKED.probs) / n))


def test_same_seed_same_samples():
    a = WORKED.sample(100, np.random.default_rng(1), b=0.5).estimates
    np.testing.assert_array_equal(a, WORKED.sample(100, np.random.default_rng(1), b=0.5).estimates)


def test_extreme_preferences_stay_finite():
    bandit = Bandit(preferences=(1000.0, -1000.0, 0.0), means=(1.0, 2.0, 3.0), noise_std=2.0)
    assert np.all(np.isfinite(bandit.variance(np.linspace(-5, 5, 11))))
    assert np.isfinite(bandit.optimal_baseline)
    assert np.all(np.isfinite(bandit.optimal_baselines))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(preferences=(0.0, float("nan")), means=(1.0, 2.0)), "preferences"),
        (dict(preferences=(0.0, 1.0), means=(1.0,)), "means"),
        (dict(preferences=[[0.0, 1.0]], means=[[1.0, 2.0]]), "preferences"),
        (dict(preferences=(0.0, 1.0), means=(1.0, 2.0), noise_std=-1.0), "noise_std"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        Bandit(**kwargs)


def test_bad_sampling_input():
    with pytest.raises(ValueError, match=r"^n\b"):
        WORKED.sample(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^rng\b"):
        WORKED.sample(10, 0)
    with pytest.raises(ValueError, match=r"^b\b"):
        WORKED.variance(float("inf"))


def test_variance_by_offset_helper():
    from pgcore.bandit import variance_by_offset

    cs = [-10.0, 0.0, 10.0]
    v = variance_by_offset(WORKED, cs)
    for i, c in enumerate(cs):  # against rebuilding the shifted bandit
        moved = Bandit(WORKED.preferences, np.array(WORKED.means) + c, WORKED.noise_std)
        assert v["b = 0"][i] == pytest.approx(moved.total_variance(0.0), rel=1e-12)
        assert v["b = b*"][i] == pytest.approx(moved.total_variance(moved.optimal_baseline), rel=1e-9)
    assert np.ptp(v["b = b*"]) < 1e-9 and np.ptp(v["b = E[R]"]) < 1e-9
    assert v["b = 0"][0] > 10 * v["b = 0"][1] and v["b = 0"][2] > 10 * v["b = 0"][1]


def test_b_star_equals_expected_reward_exactly_when_the_covariance_is_zero():
    rng = np.random.default_rng(4)
    for _ in range(50):
        k = int(rng.integers(2, 6))
        bandit = Bandit(rng.normal(0, 1.5, k), rng.normal(0, 3, k))
        gap = bandit.optimal_baseline - bandit.expected_reward
        predicted = -2.0 * bandit.probability_reward_covariance / float(bandit.probs @ bandit.score_size)
        assert gap == pytest.approx(predicted, rel=1e-9, abs=1e-12)
    # unequal preferences and unequal payoffs, yet uncorrelated: b* = E[R] all the same
    probs_equal_payoff = Bandit([0.0, 0.0, np.log(2.0)], [1.0, 3.0, 2.0])  # π = (¼, ¼, ½), μ₃ = mean of the others
    assert probs_equal_payoff.probability_reward_covariance == pytest.approx(0.0, abs=1e-12)
    assert probs_equal_payoff.optimal_baseline == pytest.approx(probs_equal_payoff.expected_reward, abs=1e-12)
