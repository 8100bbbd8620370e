"""pgcore.estimators: closed forms vs the per-step reference (grid_learning.reinforce_reference),
unbiasedness, variance ordering, b*, the lemma, seed 004's arithmetic. (J_c and its gradient
with a reward offset are grid1d's, tested in test_grid1d.py; the learners that use these
estimates are grid_learning's, tested in test_grid_learning.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from pgcore.estimators import (
    BASELINES,
    baseline_arithmetic,
    compare_baselines,
    cumulative_mean,
    empirical_variance_curve,
    episode_terms,
    exact_moments,
    gradient_samples,
    leave_one_out_mean,
    score_samples,
    summarize,
    variance_by_offset,
)
from pgcore.grid1d import expected_return, expected_return_grad, sample_episodes, trajectory_steps
from pgcore.grid_learning import reinforce_reference


def rng(seed):
    return np.random.default_rng(seed)


def expected_gradient(theta1, theta2=0.0, gamma=0.9, reward_offset=0.0):
    """∂J_c/∂θ₁, grid1d's."""
    return expected_return_grad(theta1, theta2, gamma, reward_offset)[0]


# ---------------------------------------------------------------------------------------
# The per-step reference: walk every step of every episode (pgcore.grid_learning)
# ---------------------------------------------------------------------------------------


def loop_reference(loops, reached_goal, theta1, gamma, offset, discount_weight, baselines):
    """Σ_t w_t ψ_t (G_t − b) per episode by reinforce_reference's per-step loop; baselines (n,)."""
    estimator = "reward_to_go" if discount_weight else "no_discount"
    return np.array(
        [
            reinforce_reference(
                int(k), bool(goal), theta1, gamma=gamma, estimator=estimator, baseline=b, reward_offset=offset
            )
            for k, goal, b in zip(loops, reached_goal, baselines)
        ]
    )


def loop_returns(loops, reached_goal, gamma, offset):
    out = []
    for k, goal in zip(loops, reached_goal):
        steps = trajectory_steps(int(k), bool(goal))
        out.append(sum(gamma**j * (r + offset) for j, (_, _, r, _) in enumerate(steps)))
    return np.array(out)


CASES = [
    (0.0, 0.0, 0.9, 0.0, True),
    (0.7, -1.0, 0.9, 1.3, True),
    (0.7, -1.0, 0.9, 1.3, False),
    (1.5, -2.0, 1.0, -0.6, True),
    (1.5, -2.0, 1.0, -0.6, False),
    (-0.4, 0.3, 0.99, 2.0, True),
    (-0.4, 0.3, 0.99, 2.0, False),
    (0.2, 0.1, 0.0, 0.5, True),
    (0.2, 0.1, 0.5, 0.0, False),
]


@pytest.mark.parametrize("theta1, theta2, gamma, offset, weighted", CASES)
@pytest.mark.parametrize("baseline", ["none", 0.37, "mean", "value", "optimal"])
def test_vectorized_equals_per_step_loop(theta1, theta2, gamma, offset, weighted, baseline):
    n, seed = 300, 11
    got = gradient_samples(
        theta1,
        n,
        rng(seed),
        baseline=baseline,
        gamma=gamma,
        theta2=theta2,
        reward_offset=offset,
        discount_weight=weighted,
    )
    ep = sample_episodes(theta1, n, np.random.default_rng(seed), theta2=theta2, gamma=gamma)
    returns = loop_returns(ep.loops, ep.reached_goal, gamma, offset)
    moments = exact_moments(theta1, theta2, gamma, offset, weighted)
    if baseline == "none":
        b = np.zeros(n)
    elif baseline == "mean":
        b = np.array([np.delete(returns, i).mean() for i in range(n)])
    elif baseline == "value":
        b = np.full(n, moments.return_mean)
    elif baseline == "optimal":
        b = np.full(n, moments.optimal_baseline)
    else:
        b = np.full(n, baseline)
    want = loop_reference(ep.loops, ep.reached_goal, theta1, gamma, offset, weighted, b)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert ep.loops.max() >= 2  # the sample exercises the loop sums, not just k = 0


def test_episode_returns_match_loop():
    ep = sample_episodes(1.0, 200, np.random.default_rng(4), theta2=-1.5, gamma=0.95)
    terms = episode_terms(ep, reward_offset=0.8)
    np.testing.assert_allclose(terms.ret, loop_returns(ep.loops, ep.reached_goal, 0.95, 0.8), rtol=1e-12)
    # without an offset G₀ is grid1d's own return, and the unweighted score sum its score
    plain = episode_terms(ep, discount_weight=False)
    np.testing.assert_allclose(plain.ret, ep.returns, rtol=1e-13)
    np.testing.assert_allclose(plain.score, ep.score_theta1, rtol=1e-13)


# ---------------------------------------------------------------------------------------
# Extreme θ (J_c and its gradient themselves: test_grid1d.py)
# ---------------------------------------------------------------------------------------

OFFSET_POINTS = [(0.0, 0.0, 0.9, 0.0), (0.8, -1.2, 0.95, 1.5), (-1.0, 2.0, 1.0, -0.7), (3.0, -3.0, 0.6, 2.0)]


def test_extreme_thetas_stay_finite():
    for t1 in (-1000.0, 1000.0):
        for t2 in (-1000.0, 1000.0):
            assert np.isfinite(expected_gradient(t1, t2, 0.9, 1.0))
            mom = exact_moments(t1, t2, 0.9, 1.0)
            assert np.isfinite([mom.mean, mom.weighted_sq, mom.optimal_baseline]).all()
            assert np.all(
                np.isfinite(
                    gradient_samples(t1, 1000, rng(0), baseline="optimal", gamma=0.9, theta2=t2, reward_offset=1.0)
                )
            )


# ---------------------------------------------------------------------------------------
# Exact moments
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("t1, t2, gamma, c", OFFSET_POINTS)
def test_enumerated_mean_is_the_exact_gradient_and_score_mean_is_zero(t1, t2, gamma, c):
    mom = exact_moments(t1, t2, gamma, c)
    assert mom.missing_probability < 1e-15
    assert mom.mean == pytest.approx(expected_gradient(t1, t2, gamma, c), rel=1e-10, abs=1e-13)
    assert mom.return_mean == pytest.approx(expected_return(t1, t2, gamma, c), rel=1e-10, abs=1e-13)
    assert abs(mom.score_mean) < 1e-13  # E[Σ γᵗ ψ_t] = 0
    assert abs(exact_moments(t1, t2, gamma, c, discount_weight=False).score_mean) < 1e-12


def test_dropping_the_discount_weight_biases_the_estimator():
    mom = exact_moments(0.0, 0.0, 0.9, 0.0, discount_weight=False)
    truth = expected_gradient(0.0)
    assert mom.mean > truth * 1.05  # later visits are over-credited
    x = gradient_samples(0.0, 400_000, rng(5), discount_weight=False)
    s = summarize(x)
    assert abs(s.mean - mom.mean) < 4 * s.standard_error
    assert abs(s.mean - truth) > 4 * s.standard_error


def test_optimal_baseline_is_not_expected_return():
    mom = exact_moments(0.0)
    # b* = E[X₀Y]/E[Y²] with the expectations summed over trajectories walked step by step:
    # X(b) = X₀ − bY, so the per-step loop at b = 0 and b = 1 gives X₀ and Y.
    k = np.repeat(np.arange(120), 2)
    goal = np.tile([False, True], 120)
    prob = 0.25**k * np.where(goal, 0.25, 0.5)  # θ = 0: a loop 1/4, goal 1/4, left 1/2
    x0 = loop_reference(k, goal, 0.0, 0.9, 0.0, True, np.zeros(k.size))
    y = x0 - loop_reference(k, goal, 0.0, 0.9, 0.0, True, np.ones(k.size))
    assert mom.optimal_baseline == pytest.approx(np.sum(prob * x0 * y) / np.sum(prob * y * y), rel=1e-10)
    assert mom.return_mean == pytest.approx(np.sum(prob * loop_returns(k, goal, 0.9, 0.0)), rel=1e-10)
    assert abs(mom.optimal_baseline - mom.return_mean) > 0.1  # 0.409 vs J = 0.282
    grid = np.linspace(-1, 2, 3001)
    assert grid[np.argmin(mom.variance(grid))] == pytest.approx(mom.optimal_baseline, abs=1e-3)
    assert mom.variance(mom.optimal_baseline) < mom.variance(mom.return_mean)


def test_exact_variance_matches_sample_variance_for_every_baseline():
    n = 200_000
    mom = exact_moments(0.5, -0.5, 0.9, 0.4)
    samples = compare_baselines(0.5, n, rng(9), theta2=-0.5, reward_offset=0.4)
    for name in BASELINES:
        x = samples[name]
        exact = mom.variance_of(name, n)
        # the sample variance's own standard error: sqrt((μ₄ − σ⁴)/n)
        se = np.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / n)
        assert abs(x.var(ddof=1) - exact) < 4 * se, name


# ---------------------------------------------------------------------------------------
# Monte Carlo: unbiased, ordered, b* minimizes the measured parabola
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("theta1", [-1.5, 0.0, 1.0, 2.5])
def test_every_baseline_is_unbiased(theta1):
    truth = expected_return_grad(theta1, 0.3, 0.9)[0]
    samples = compare_baselines(theta1, 200_000, rng(21), baselines=BASELINES + (2.0, -1.0), theta2=0.3)
    for name, x in samples.items():
        s = summarize(x)
        assert abs(s.mean - truth) < 4 * s.standard_error, (name, s.mean, truth)


@pytest.mark.parametrize("offset", [-2.0, 1.0, 3.0])
def test_every_baseline_is_unbiased_with_a_reward_offset(offset):
    truth = expected_gradient(0.4, -0.2, 0.9, offset)
    samples = compare_baselines(0.4, 200_000, rng(3), theta2=-0.2, reward_offset=offset)
    for name, x in samples.items():
        s = summarize(x)
        assert abs(s.mean - truth) < 4 * s.standard_error, (name, offset)


def test_variance_ordering_at_the_defaults():
    n = 2000
    mom = exact_moments(0.0)
    exact = {name: mom.variance_of(name, n) for name in BASELINES}
    assert exact["optimal"] <= exact["mean"] < exact["none"]
    assert exact["optimal"] <= exact["value"] < exact["none"]
    measured = {name: x.var(ddof=1) for name, x in compare_baselines(0.0, 100_000, rng(1)).items()}
    assert measured["optimal"] <= measured["mean"] < measured["none"]


def test_optimal_baseline_minimizes_the_empirical_parabola():
    n = 400_000
    ep = sample_episodes(0.3, n, np.random.default_rng(8), theta2=-0.8)
    terms = episode_terms(ep, reward_offset=0.5)
    grid = np.linspace(-2, 4, 6001)
    curve = empirical_variance_curve(terms.weighted, terms.score, grid)
    b_hat = grid[np.argmin(curve)]
    b_star = exact_moments(0.3, -0.8, 0.9, 0.5).optimal_baseline
    # the measured minimizer is Cov(X,Y)/Var(Y): bootstrap-free bound from its delta-method error
    y = terms.score - terms.score.mean()
    resid = terms.weighted - b_star * terms.score
    se = np.sqrt(np.mean((resid - resid.mean()) ** 2 * y**2) / n) / np.mean(y**2)
    assert abs(b_hat - b_star) < 4 * se + 1e-3
    assert abs(b_star - exact_moments(0.3, -0.8, 0.9, 0.5).return_mean) > 20 * se


def test_score_has_mean_zero():
    for theta1 in (-2.0, 0.0, 1.5):
        y = score_samples(theta1, 300_000, rng(2), theta2=-0.5)
        s = summarize(y)
        assert abs(s.mean) < 4 * s.standard_error
    m, means = cumulative_mean(score_samples(0.0, 10_000, rng(1)), points=200)
    assert m[0] == 1 and m[-1] == 10_000 and len(m) <= 200
    assert abs(means[-1]) < 4 * np.sqrt(exact_moments(0.0, discount_weight=False).score_sq / 10_000)


def test_offset_variance_grows_fastest_without_a_baseline():
    # Adding c to every *step* of an episodic task is not a harmless shift: longer episodes
    # collect more c, so J, ∂J/∂θ₁ and every estimator's spread move with c. Without a
    # baseline the spread grows like c² E[Y²·(Σγᵗ)²]; a baseline removes the bulk of it.
    cs = np.array([0.0, 1.0, 2.0, 4.0])
    v = variance_by_offset(cs, 0.0, n=2000)
    assert np.all(np.diff(v["none"]) > 0)
    assert v["none"][-1] > 100 * v["none"][0]
    assert v["none"][-1] / v["none"][-2] == pytest.approx(4.0, rel=0.25)  # ~ c² once c dominates
    for name in ("value", "optimal", "mean"):
        assert np.all(v[name] < 0.4 * v["none"]), name
    # the optimal baseline is never worse than any other constant
    assert np.all(v["optimal"] <= v["value"] + 1e-15)


def test_same_seed_same_samples_and_seed_matters():
    a = gradient_samples(0.2, 1000, rng(4), baseline="mean")
    np.testing.assert_array_equal(a, gradient_samples(0.2, 1000, rng(4), baseline="mean"))
    assert not np.array_equal(a, gradient_samples(0.2, 1000, rng(5), baseline="mean"))


def test_leave_one_out_mean():
    np.testing.assert_allclose(leave_one_out_mean(np.array([1.0, 2.0, 6.0])), [4.0, 3.5, 1.5])


# ---------------------------------------------------------------------------------------
# Seed 004's arithmetic, learning, bad input
# ---------------------------------------------------------------------------------------


def test_two_trajectory_arithmetic_from_seed_004():
    r = baseline_arithmetic([100.0, 90.0], [0.5, -0.3], 95.0)
    np.testing.assert_allclose(r.plain, [50.0, -27.0], atol=1e-9)
    np.testing.assert_allclose(r.with_baseline, [2.5, 1.5], atol=1e-9)
    assert r.mean_score == pytest.approx(0.1, abs=1e-12)  # two scores do not average to 0
    assert r.plain_mean - r.with_baseline_mean == pytest.approx(r.shift, abs=1e-9)
    assert r.shift == pytest.approx(9.5, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(theta1=float("nan"), n=10), "theta1"),
        (dict(theta1=0.0, n=0), "n"),
        (dict(theta1=0.0, n=1, baseline="mean"), "n"),
        (dict(theta1=0.0, n=10, baseline="median"), "baseline"),
        (dict(theta1=0.0, n=10, baseline=float("inf")), "baseline"),
        (dict(theta1=0.0, n=10, rng=-1), "rng"),
        (dict(theta1=0.0, n=10, rng=0), "rng"),
        (dict(theta1=0.0, n=10, gamma=1.5), "gamma"),
        (dict(theta1=0.0, n=10, theta2="x"), "theta2"),
        (dict(theta1=0.0, n=10, reward_offset=float("nan")), "reward_offset"),
        (dict(theta1=0.0, n=10, discount_weight="yes"), "discount_weight"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        gradient_samples(**{"rng": rng(0), **kwargs})


def test_other_bad_inputs():
    with pytest.raises(ValueError, match=r"^reward_offset\b"):
        expected_return_grad(0.0, 0.0, 0.9, float("inf"))
    with pytest.raises(ValueError, match=r"^gamma\b"):
        exact_moments(0.0, gamma=-0.1)
    with pytest.raises(ValueError, match="returns and scores"):
        baseline_arithmetic([1.0], [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match=r"^samples\b"):
        summarize([1.0])
