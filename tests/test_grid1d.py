"""pgcore.grid1d: exact J and ∇J (also with a reward offset), log D, the loop cap, both samplers
(against each other and the exact probabilities), enumeration, bad input. (The seed's worked
numbers are pgcore.worked_step's, tested in test_worked_step.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgcore.estimators import exact_moments
from pgcore.grid1d import (
    MAX_LISTED_LOOPS,
    TAIL_MASS,
    enumerate_trajectories,
    episodes_from_uniforms,
    exact_values,
    expected_return,
    expected_return_grad,
    log_denominator,
    log_probability,
    loop_cap,
    sample_episodes,
    trajectory_kinds,
    trajectory_steps,
)
from pgcore.policies import sigmoid

TOL = 1e-9


def test_exact_values_from_bellman():
    v = exact_values(0.0)
    # V1 = γ p1 p2 / (1 − γ² p1 (1 − p2)) = 0.225 / 0.7975 at θ = 0
    assert v.v_s1 == pytest.approx(0.225 / 0.7975, abs=1e-12)
    assert v.v_s2 == pytest.approx(0.5 + 0.5 * 0.9 * v.v_s1, abs=1e-12)
    assert v.q_s1_right == pytest.approx(0.9 * v.v_s2, abs=1e-12)
    # V is the π-average of Q in both states
    assert v.v_s1 == pytest.approx(0.5 * v.q_s1_right + 0.5 * v.q_s1_left, abs=1e-12)
    assert v.v_s2 == pytest.approx(0.5 * v.q_s2_right + 0.5 * v.q_s2_left, abs=1e-12)
    assert v.a_s1_right > 0 > v.a_s1_left
    assert v.v_s1 < 0.5  # the article's V estimate 0.5 is too high


POINTS = [(0.0, 0.0, 0.9), (1.3, -0.7, 0.95), (-2.0, 3.0, 1.0), (0.5, 0.5, 0.3), (4.0, -4.0, 0.99)]


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_exact_gradient_matches_finite_differences(t1, t2, gamma):
    h = 1e-6
    fd1 = (expected_return(t1 + h, t2, gamma) - expected_return(t1 - h, t2, gamma)) / (2 * h)
    fd2 = (expected_return(t1, t2 + h, gamma) - expected_return(t1, t2 - h, gamma)) / (2 * h)
    g1, g2 = expected_return_grad(t1, t2, gamma)
    assert g1 == pytest.approx(fd1, rel=1e-6, abs=1e-10)
    assert g2 == pytest.approx(fd2, rel=1e-6, abs=1e-10)


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_exact_gradient_matches_autograd(t1, t2, gamma):
    theta = torch.tensor([t1, t2], dtype=torch.float64, requires_grad=True)
    p1, p2 = torch.sigmoid(theta[0]), torch.sigmoid(theta[1])
    j = gamma * p1 * p2 / (1 - gamma**2 * p1 * (1 - p2))
    (grad,) = torch.autograd.grad(j, theta)
    assert expected_return(t1, t2, gamma) == pytest.approx(j.item(), rel=1e-12)
    np.testing.assert_allclose(expected_return_grad(t1, t2, gamma), grad.numpy(), rtol=1e-10)


# --- J_c: every reward + c ------------------------------------------------------------------

OFFSET_POINTS = [(0.0, 0.0, 0.9, 0.0), (0.8, -1.2, 0.95, 1.5), (-1.0, 2.0, 1.0, -0.7), (3.0, -3.0, 0.6, 2.0)]
OFFSET_POINTS_MORE = OFFSET_POINTS + [(1.3, -0.7, 0.95, -2.0), (0.5, 0.5, 0.3, 0.4), (-2.0, 3.0, 0.0, 1.0)]


@pytest.mark.parametrize("t1, t2, gamma, c", OFFSET_POINTS)
def test_offset_value_solves_bellman_and_matches_grid1d(t1, t2, gamma, c):
    p1, p2 = float(sigmoid(t1)), float(sigmoid(t2))
    # V = r̄ + γ P V with every reward shifted by c, solved as a 2×2 linear system
    a = np.array([[1.0, -gamma * p1], [-gamma * (1 - p2), 1.0]])
    v = np.linalg.solve(a, np.array([c, c + p2]))
    assert expected_return(t1, t2, gamma, c) == pytest.approx(v[0], rel=1e-12)
    assert expected_return(t1, t2, gamma, 0.0) == pytest.approx(expected_return(t1, t2, gamma), rel=1e-12)


@pytest.mark.parametrize("t1, t2, gamma, c", OFFSET_POINTS_MORE)
def test_offset_gradient_by_finite_differences(t1, t2, gamma, c):
    eps = 1e-6
    fd1 = (expected_return(t1 + eps, t2, gamma, c) - expected_return(t1 - eps, t2, gamma, c)) / (2 * eps)
    fd2 = (expected_return(t1, t2 + eps, gamma, c) - expected_return(t1, t2 - eps, gamma, c)) / (2 * eps)
    g1, g2 = expected_return_grad(t1, t2, gamma, c)
    assert g1 == pytest.approx(fd1, rel=1e-6, abs=1e-10)
    assert g2 == pytest.approx(fd2, rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("t1, t2, gamma, c", OFFSET_POINTS_MORE)
def test_offset_gradient_by_torch_autograd(t1, t2, gamma, c):
    import torch  # only the tests that check against autograd pay for the import

    theta = torch.tensor([t1, t2], dtype=torch.float64, requires_grad=True)
    p1, p2 = torch.sigmoid(theta[0]), torch.sigmoid(theta[1])
    one = torch.ones((), dtype=torch.float64)
    a = torch.stack([torch.stack([one, -gamma * p1]), torch.stack([-gamma * (1 - p2), one])])
    v = torch.linalg.solve(a, torch.stack([c * one, c + p2]))
    (grad,) = torch.autograd.grad(v[0], theta)
    assert expected_return(t1, t2, gamma, c) == pytest.approx(v[0].item(), rel=1e-12, abs=1e-15)
    g1, g2 = expected_return_grad(t1, t2, gamma, c)
    assert g1 == pytest.approx(grad[0].item(), rel=1e-10, abs=1e-12)
    assert g2 == pytest.approx(grad[1].item(), rel=1e-10, abs=1e-12)


def test_without_an_offset_the_old_closed_forms_hold_to_1e_12():
    # the closed forms grid1d had before the offset was added, in plain floats
    for t1, t2, gamma in POINTS + [(2.0, -1.0, 1.0), (-3.0, 0.5, 0.3)]:
        p1, p2 = 1 / (1 + math.exp(-t1)), 1 / (1 + math.exp(-t2))
        d = 1 - gamma**2 * p1 * (1 - p2)
        assert expected_return(t1, t2, gamma, 0.0) == pytest.approx(gamma * p1 * p2 / d, rel=1e-12)
        g1, g2 = expected_return_grad(t1, t2, gamma, reward_offset=0.0)
        assert g1 == pytest.approx(gamma * p2 * p1 * (1 - p1) / d**2, rel=1e-12)
        assert g2 == pytest.approx(gamma * p1 * p2 * (1 - p2) * (1 - gamma**2 * p1) / d**2, rel=1e-12)
        # and the offset formula (estimators' before the merge) at c = 0
        v = gamma * p1 * p2 / d
        assert g1 == pytest.approx(gamma * p1 * (1 - p1) * (p2 + gamma * (1 - p2) * v) / d, rel=1e-12)


def test_offset_arrays_broadcast_and_extremes_stay_finite():
    t1, t2 = np.meshgrid(np.linspace(-3, 3, 5), np.linspace(-2, 2, 4))
    j = expected_return(t1, t2, 0.9, 1.5)
    g1, g2 = expected_return_grad(t1, t2, 0.9, 1.5)
    assert j.shape == g1.shape == g2.shape == (4, 5)
    assert expected_return(t1[1, 2], t2[1, 2], 0.9, 1.5) == pytest.approx(j[1, 2], rel=1e-14)
    for a in (-1000.0, 1000.0):
        for b in (-1000.0, 1000.0):
            assert np.all(np.isfinite([expected_return(a, b, 0.9, 1.0), *expected_return_grad(a, b, 0.9, 1.0)]))
    assert expected_return(0.3, -0.2, 0.0, 0.7) == 0.7  # γ = 0: one reward, c
    assert expected_return_grad(0.3, -0.2, 0.0, 0.7) == (0.0, 0.0)


# --- log D ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS + [(0.3, 0.1, 0.0), (2.0, -1.0, 1.0)])
def test_log_denominator_is_log_of_one_minus_gamma_squared_p1_q2(t1, t2, gamma):
    p1, p2 = 1 / (1 + math.exp(-t1)), 1 / (1 + math.exp(-t2))
    assert float(log_denominator(t1, t2, gamma)) == pytest.approx(
        math.log(1 - gamma**2 * p1 * (1 - p2)), rel=1e-12, abs=1e-15
    )


def test_log_denominator_keeps_its_digits_where_d_cancels():
    # p₁ → 1, p₂ → 0, γ = 1: D = (1 − p₁) + p₁p₂ ≈ 2e−30, which 1 − p₁(1 − p₂) rounds to 0
    d = log_denominator(np.array([69.0776, 700.0]), np.array([-69.0776, -700.0]), 1.0)
    assert d[0] == pytest.approx(math.log(2.0) - 69.0776, rel=1e-12)
    assert d[1] == pytest.approx(math.log(2.0) - 700.0, rel=1e-12)


# --- the loop cap: one rule for every enumeration ---------------------------------------------


def test_loop_cap_leaves_out_negligible_mass():
    for t1, t2 in [(0.0, 0.0), (6.0, -6.0), (-6.0, 6.0), (3.0, -1.0)]:
        table = enumerate_trajectories(t1, t2, 1.0, max_loops=loop_cap(t1, t2))
        assert table.missing_probability < 1e-15
    assert loop_cap(1000.0, -1000.0) == 10_000


@pytest.mark.parametrize(("t1", "t2"), [(0.0, 0.0), (3.0, -1.0), (6.0, -6.0), (-2.0, 4.0)])
def test_loop_cap_is_the_fewest_loops_within_one_of_the_tail_rule(t1, t2):
    q = float(sigmoid(t1) * sigmoid(-t2))
    cap = loop_cap(t1, t2)
    assert q ** (cap + 1) < TAIL_MASS  # what is left out weighs less than the tolerance
    assert cap == 1 or q ** (cap - 1) > TAIL_MASS  # and one loop fewer would not do
    # an array of θ₁ gets the cap of its loopiest entry; exact_moments uses the same cap
    assert loop_cap(np.array([t1 - 3.0, t1]), t2) == cap
    assert exact_moments(t1, t2).max_loops == cap
    assert loop_cap(t1, t2, tail_mass=1e-6) <= cap <= MAX_LISTED_LOOPS


def test_trajectory_kinds_and_log_probability_broadcast():
    loops, goal = trajectory_kinds(2)
    assert loops.tolist() == [0, 0, 1, 1, 2, 2] and goal.tolist() == [False, True] * 3
    thetas = np.array([[-1.0], [0.0], [2.0]])
    lp = log_probability(loops[None, :], goal[None, :], thetas, 0.5)
    assert lp.shape == (3, 6)
    for row, t1 in enumerate(thetas[:, 0]):
        np.testing.assert_allclose(
            lp[row], np.log(enumerate_trajectories(t1, 0.5, max_loops=2).probability), rtol=1e-14
        )
    assert log_probability(0, False, 1000.0, -1000.0) == pytest.approx(-1000.0)  # k · log q = 0 at k = 0


# --- the two samplers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("t1", "t2"), [(0.0, 0.0), (1.2, -0.8), (-0.5, 1.5)])
def test_both_samplers_draw_the_exact_distribution(t1, t2):
    # sample_episodes (geometric draws) and episodes_from_uniforms (inverse CDF, used by the
    # learners with shared uniforms): the same distribution of (k, ending), each cell within 4
    # standard errors of the exact P(τ) and of the other sampler
    n = 200_000
    a = sample_episodes(t1, n, np.random.default_rng(31), theta2=t2)
    u = np.random.default_rng(32).random((2, n))
    loops, goal = episodes_from_uniforms(u[0], u[1], t1, t2)
    table = enumerate_trajectories(t1, t2, max_loops=20)
    # the cells expected at least 100 times each (a normal approximation holds), and the rest pooled
    cells = [(k, e, p) for k, e, p in zip(table.episodes.loops, table.episodes.reached_goal, table.probability)]
    cells = [c for c in cells if n * c[2] >= 100]
    listed_a = np.zeros(n, dtype=bool)
    listed_b = np.zeros(n, dtype=bool)
    for k, ending, prob in cells:
        in_a = (a.loops == k) & (a.reached_goal == ending)
        in_b = (loops == k) & (goal == ending)
        listed_a |= in_a
        listed_b |= in_b
        se = math.sqrt(prob * (1 - prob) / n)
        assert abs(in_a.mean() - prob) < 4 * se and abs(in_b.mean() - prob) < 4 * se, (k, ending, prob)
        assert abs(in_a.mean() - in_b.mean()) < 4 * math.sqrt(2) * se
    rest = 1.0 - sum(c[2] for c in cells)
    se = math.sqrt(rest * (1 - rest) / n)
    assert abs((~listed_a).mean() - rest) < 4 * se and abs((~listed_b).mean() - rest) < 4 * se
    # the loop counts' means agree too: E[k] = q / (1 − q)
    q = float(sigmoid(t1) * sigmoid(-t2))
    se_k = math.sqrt(q) / (1 - q) / math.sqrt(n)
    assert abs(a.loops.mean() - q / (1 - q)) < 4 * se_k
    assert abs(loops.mean() - q / (1 - q)) < 4 * se_k


def test_inverse_cdf_sampler_broadcasts_per_learner():
    u = np.random.default_rng(0).random((2, 3, 1000))
    theta1 = np.array([-2.0, 0.0, 3.0])[:, None]
    loops, goal = episodes_from_uniforms(u[0], u[1], theta1, 0.2)
    assert loops.shape == goal.shape == (3, 1000) and loops.dtype == np.int64
    for row in range(3):
        one, _ = episodes_from_uniforms(u[0, row], u[1, row], float(theta1[row, 0]), 0.2)
        np.testing.assert_array_equal(loops[row], one)
    assert goal[0].mean() < goal[2].mean()  # more Right in S1, more goals


@pytest.mark.parametrize(("t1", "t2", "gamma"), POINTS)
def test_enumeration_sums_to_exact_gradient(t1, t2, gamma):
    table = enumerate_trajectories(t1, t2, gamma, max_loops=3000)
    assert table.missing_probability < 1e-12
    assert table.probability.sum() == pytest.approx(1.0, abs=1e-12)
    assert float((table.probability * table.ret).sum()) == pytest.approx(expected_return(t1, t2, gamma), abs=1e-12)
    assert table.gradient_theta1 == pytest.approx(expected_return_grad(t1, t2, gamma)[0], abs=1e-12)


def test_arrays_broadcast_for_contour_maps():
    t1, t2 = np.meshgrid(np.linspace(-3, 3, 5), np.linspace(-2, 2, 4))
    j = expected_return(t1, t2)
    g1, g2 = expected_return_grad(t1, t2)
    assert j.shape == g1.shape == g2.shape == (4, 5)
    for i, k in np.ndindex(j.shape):  # every cell is the scalar evaluation
        assert expected_return(t1[i, k], t2[i, k]) == pytest.approx(j[i, k], rel=1e-14)
        assert expected_return_grad(t1[i, k], t2[i, k]) == pytest.approx((g1[i, k], g2[i, k]), rel=1e-14)


def test_extremes_stay_finite():
    for t1, t2 in [(1000, -1000), (-1000, 1000), (1000, 1000), (-1000, -1000)]:
        for gamma in (0.0, 0.5, 1.0):
            values = [expected_return(t1, t2, gamma), *expected_return_grad(t1, t2, gamma)]
            assert all(np.isfinite(values)), (t1, t2, gamma, values)
            # the limits: J = γ when both states go Right for sure, 0 when S1 goes Left or
            # (γ < 1) the policy loops; at γ = 1 a policy that loops with ε = e^{-1000} on both
            # exits has J = ε/(ε + ε) = 1/2 and slopes ε²/(2ε)² = 1/4.
            degenerate = (t1, t2, gamma) == (1000, -1000, 1.0)
            want_j = gamma if (t1, t2) == (1000, 1000) else 0.5 if degenerate else 0.0
            assert values[0] == pytest.approx(want_j, abs=1e-12)
            assert values[1:] == pytest.approx([0.25, 0.25] if degenerate else [0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize(("t1", "t2", "gamma", "seed"), [(0.0, 0.0, 0.9, 0), (0.8, -0.5, 0.95, 1), (-1.0, 1.5, 0.7, 2)])
def test_monte_carlo_gradient_within_four_standard_errors(t1, t2, gamma, seed):
    episodes = sample_episodes(t1, 200_000, np.random.default_rng(seed), theta2=t2, gamma=gamma)
    estimates = episodes.returns * episodes.score_theta1  # REINFORCE: G(τ) ∇θ₁ log P(τ)
    standard_error = estimates.std(ddof=1) / np.sqrt(estimates.size)
    exact = expected_return_grad(t1, t2, gamma)[0]
    assert abs(estimates.mean() - exact) < 4 * standard_error
    j_err = episodes.returns.std(ddof=1) / np.sqrt(episodes.n)
    assert abs(episodes.returns.mean() - expected_return(t1, t2, gamma)) < 4 * j_err
    est2 = episodes.returns * episodes.score_theta2
    assert abs(est2.mean() - expected_return_grad(t1, t2, gamma)[1]) < 4 * est2.std(ddof=1) / np.sqrt(est2.size)


def test_sampler_is_reproducible_and_matches_probabilities():
    a = sample_episodes(0.3, 50_000, np.random.default_rng(7), theta2=-0.2)
    b = sample_episodes(0.3, 50_000, np.random.default_rng(7), theta2=-0.2)
    np.testing.assert_array_equal(a.loops, b.loops)
    np.testing.assert_array_equal(a.reached_goal, b.reached_goal)
    table = enumerate_trajectories(0.3, -0.2, max_loops=2)
    for k, goal, prob in zip(table.episodes.loops, table.episodes.reached_goal, table.probability):
        freq = np.mean((a.loops == k) & (a.reached_goal == goal))
        assert abs(freq - prob) < 4 * np.sqrt(prob * (1 - prob) / a.n)


def test_trajectory_steps_describe_the_path():
    assert trajectory_steps(0, False) == [("S1", "left", 0.0, "end")]
    steps = trajectory_steps(1, True)
    assert [s[0] for s in steps] == ["S1", "S2", "S1", "S2"]
    assert steps[-1] == ("S2", "right", 1.0, "S3")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: expected_return(float("nan")), "theta1"),
        (lambda: expected_return_grad(0.0, float("inf")), "theta2"),
        (lambda: expected_return(0.0, gamma=2.0), "gamma"),
        (lambda: sample_episodes(0.0, 0, np.random.default_rng(0)), "n"),
        (lambda: sample_episodes(0.0, 10, 42), "rng"),
        (lambda: sample_episodes(0.0, 10, None), "rng"),
        (lambda: expected_return(0.0, reward_offset=float("inf")), "reward_offset"),
        (lambda: expected_return_grad(0.0, reward_offset=float("nan")), "reward_offset"),
        (lambda: loop_cap(0.0, tail_mass=0.0), "tail_mass"),
        (lambda: loop_cap(float("nan")), "theta1"),
        (lambda: trajectory_kinds(-1), "max_loops"),
        (lambda: enumerate_trajectories(0.0, max_loops=-1), "max_loops"),
        (lambda: trajectory_steps(-1, True), "loops"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
