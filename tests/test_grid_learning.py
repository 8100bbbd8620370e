"""pgcore.grid_learning: the per-step reference (reinforce_reference) against hand-worked
episodes and, summed over every trajectory, against the exact ∂J/∂θ₁; each vectorized
single-episode estimate against it; its mean against the exact value (4 standard errors, fixed
seed), reproducibility, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.grid1d import (
    enumerate_trajectories,
    expected_return,
    expected_return_grad,
    loop_cap,
    sample_episodes,
)
from pgcore.grid_learning import (
    ESTIMATORS,
    estimate_theta1,
    expected_estimate,
    reinforce_reference,
    sampled_update,
)


def reference_estimate(loops: int, goal: bool, theta1: float, gamma: float, estimator: str, b: float) -> float:
    """pgcore's per-step reference for one episode."""
    return reinforce_reference(loops, goal, theta1, gamma=gamma, estimator=estimator, baseline=b)


# --- the reference itself -------------------------------------------------------------------


def test_the_reference_on_episodes_worked_by_hand():
    # θ₁ = 0: ψ = +½ for Right in S1, −½ for Left; γ = 0.9
    assert reinforce_reference(0, True, 0.0) == pytest.approx(0.9 * 0.5, abs=1e-15)  # G₀ = γ, one Right
    assert reinforce_reference(0, False, 0.0, baseline=0.2) == pytest.approx((0 - 0.2) * -0.5, abs=1e-15)
    # one loop then the goal: Right, Left (S2), Right, Right (S2); G₀ = γ³, G₂ = γ
    g0, g2 = 0.9**3, 0.9
    assert reinforce_reference(1, True, 0.0) == pytest.approx(g0 * 1.0, abs=1e-15)  # (G₀ − 0) · (½ + ½)
    assert reinforce_reference(1, True, 0.0, estimator="reward_to_go", baseline=0.1) == pytest.approx(
        (g0 - 0.1) * 0.5 + 0.9**2 * (g2 - 0.1) * 0.5, abs=1e-15
    )
    assert reinforce_reference(1, True, 0.0, estimator="no_discount", baseline=0.1) == pytest.approx(
        (g0 - 0.1) * 0.5 + (g2 - 0.1) * 0.5, abs=1e-15
    )
    # a reward offset c = 1 on each of the four steps: G₀ = 1 + γ + γ² + γ³(1 + 1)
    assert reinforce_reference(1, True, 0.0, reward_offset=1.0) == pytest.approx(
        (1 + 0.9 + 0.81 + 0.729 * 2) * 1.0, abs=1e-14
    )


@pytest.mark.parametrize("estimator", ["return", "reward_to_go"])
@pytest.mark.parametrize(
    ("theta1", "theta2", "gamma", "c", "b"), [(0.0, 0.0, 0.9, 0.0, 0.0), (0.7, -0.4, 0.8, 1.2, 0.5)]
)
def test_the_reference_averages_to_the_exact_gradient(estimator, theta1, theta2, gamma, c, b):
    # Σ_τ P(τ) ĝ₁(τ) over every trajectory that matters = ∂J_c/∂θ₁ from the Bellman closed form
    table = enumerate_trajectories(theta1, theta2, gamma, max_loops=loop_cap(theta1, theta2))
    total = sum(
        p * reinforce_reference(int(k), bool(g), theta1, gamma=gamma, estimator=estimator, baseline=b, reward_offset=c)
        for k, g, p in zip(table.episodes.loops, table.episodes.reached_goal, table.probability)
    )
    assert total == pytest.approx(expected_return_grad(theta1, theta2, gamma, c)[0], rel=1e-10, abs=1e-13)


# --- the vectorized estimates against it ------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("theta1", "theta2", "gamma", "b"),
    [(0.0, 0.0, 0.9, 0.0), (1.3, -0.7, 0.8, 0.5), (-2.0, 1.5, 1.0, -0.3), (0.4, 0.2, 0.0, 0.2)],
)
def test_each_estimate_equals_the_per_step_loop(estimator, theta1, theta2, gamma, b):
    episodes = sample_episodes(theta1, 400, np.random.default_rng(3), theta2=theta2, gamma=gamma)
    got = estimate_theta1(episodes, estimator, b)
    want = [
        reference_estimate(int(k), bool(g), theta1, gamma, estimator, b)
        for k, g in zip(episodes.loops, episodes.reached_goal)
    ]
    assert episodes.loops.max() >= 2, "the sample should hold episodes with loops"
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("b", [0.0, 0.6])
def test_the_mean_estimate_is_its_exact_expectation_within_4_standard_errors(estimator, b):
    theta1, theta2, gamma, n = 0.5, -0.5, 0.8, 400_000
    samples = estimate_theta1(
        sample_episodes(theta1, n, np.random.default_rng(11), theta2=theta2, gamma=gamma), estimator, b
    )
    exact = expected_estimate(theta1, theta2, gamma, estimator)
    assert abs(samples.mean() - exact) < 4 * samples.std() / math.sqrt(n)


def test_only_dropping_the_discount_is_biased_and_only_when_gamma_is_below_one():
    true = float(expected_return_grad(0.5, -0.5, 0.8)[0])
    assert expected_estimate(0.5, -0.5, 0.8, "return") == pytest.approx(true, rel=1e-12)
    assert expected_estimate(0.5, -0.5, 0.8, "reward_to_go") == pytest.approx(true, rel=1e-12)
    assert abs(expected_estimate(0.5, -0.5, 0.8, "no_discount") - true) > 0.01
    at_one = float(expected_return_grad(0.5, -0.5, 1.0)[0])
    assert expected_estimate(0.5, -0.5, 1.0, "no_discount") == pytest.approx(at_one, rel=1e-9)


def test_a_sampled_update_moves_theta_by_alpha_times_the_estimate_and_is_reproducible():
    first = sampled_update(
        0.0, np.random.default_rng(5), theta2=0.3, gamma=0.9, step_size=0.7, estimator="reward_to_go", baseline=0.2
    )
    again = sampled_update(
        0.0, np.random.default_rng(5), theta2=0.3, gamma=0.9, step_size=0.7, estimator="reward_to_go", baseline=0.2
    )
    assert first == again
    assert first.theta1_new == pytest.approx(0.7 * first.estimate, abs=1e-15)
    assert first.estimate == pytest.approx(
        reference_estimate(first.loops, first.reached_goal, 0.0, 0.9, "reward_to_go", 0.2), abs=1e-12
    )
    assert first.j_new == pytest.approx(float(expected_return(first.theta1_new, 0.3, 0.9)), abs=1e-15)
    assert first.exact_gradient == pytest.approx(float(expected_return_grad(0.0, 0.3, 0.9)[0]), abs=1e-15)
    assert first.ret == (0.9 ** (2 * first.loops + 1) if first.reached_goal else 0.0)


def test_a_step_past_the_limit_is_held_there():
    rng = np.random.default_rng(0)
    update = next(
        u for u in (sampled_update(1.0, rng, step_size=1e5, limit=3.0) for _ in range(50)) if u.estimate != 0.0
    )
    assert abs(update.theta1_new) == 3.0 and update.clipped


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: estimate_theta1("episodes"), "episodes"),
        (lambda: estimate_theta1(sample_episodes(0.0, 2, np.random.default_rng(0)), "G"), "estimator"),
        (lambda: estimate_theta1(sample_episodes(0.0, 2, np.random.default_rng(0)), baseline=float("nan")), "baseline"),
        (lambda: sampled_update(0.0, 7), "rng"),
        (lambda: sampled_update(float("inf"), np.random.default_rng(0)), "theta1"),
        (lambda: sampled_update(0.0, np.random.default_rng(0), step_size=0.0), "step_size"),
        (lambda: sampled_update(0.0, np.random.default_rng(0), limit=-1.0), "limit"),
        (lambda: expected_estimate(0.0, estimator="x"), "estimator"),
        (lambda: reinforce_reference(-1, True, 0.0), "loops"),
        (lambda: reinforce_reference(0, "yes", 0.0), "reached_goal"),
        (lambda: reinforce_reference(0, True, 0.0, estimator="G"), "estimator"),
        (lambda: reinforce_reference(0, True, 0.0, reward_offset=float("inf")), "reward_offset"),
    ],
)
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
