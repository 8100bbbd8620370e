"""pgcore.worked_step: the seed article's numbers for Right and Left, the gradients against finite
differences and torch.autograd, repeated updates (worked_steps, for the Gradient step page), bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.worked_step import worked_step, worked_steps

TOL = 1e-9


def test_worked_step_right_matches_the_article():
    s = worked_step(0.0)
    got = (s.pi_action, s.ret, s.advantage, s.grad_pi, s.grad_log_pi, s.policy_gradient, s.theta_new)
    np.testing.assert_allclose(got, (0.5, 0.9, 0.4, 0.25, 0.5, 0.2, 0.02), rtol=0, atol=TOL)
    assert s.pi_right_new == pytest.approx(1 / (1 + np.exp(-0.02)), abs=TOL)
    assert round(s.pi_right_new, 3) == 0.505


def test_worked_step_left_matches_the_article():
    s = worked_step(0.0, action="left")
    got = (s.pi_action, s.ret, s.advantage, s.grad_pi, s.grad_log_pi, s.policy_gradient, s.theta_new)
    np.testing.assert_allclose(got, (0.5, 0.0, -0.5, -0.25, -0.5, 0.25, 0.025), rtol=0, atol=TOL)
    # Left with negative advantage also favours Right: π(Right) = σ(0.025)
    assert s.pi_right_new == pytest.approx(1 / (1 + np.exp(-0.025)), abs=TOL)
    assert s.pi_right_new > s.pi_right


def article_recurrence(theta: float, steps: int, action: str = "right") -> float:
    """θ ← θ + α ∇log π(a) (G − V̂) with α = 0.1, γ = 0.9, V̂ = 0.5, in plain floats."""
    for _ in range(steps):
        sigma = 1.0 / (1.0 + math.exp(-theta))
        theta += 0.1 * ((1.0 - sigma) * 0.4 if action == "right" else (-sigma) * (-0.5))
    return theta


def test_repeated_steps_climb():
    theta = 0.0
    for _ in range(20):
        theta = worked_step(theta).theta_new
    # each step adds 0.1 · (1 − σ(θ)) · 0.4 ≈ 0.02, shrinking slowly
    assert theta == pytest.approx(article_recurrence(0.0, 20), abs=TOL)
    assert 0.3 < theta < 0.4
    assert worked_step(theta).pi_right == pytest.approx(1 / (1 + math.exp(-theta)), abs=TOL)


@pytest.mark.parametrize("action", ["right", "left"])
@pytest.mark.parametrize("theta", [-2.5, -0.3, 0.0, 0.8, 3.0])
def test_worked_step_gradients_match_finite_differences_and_autograd(theta, action):
    import torch  # only the tests that check against autograd pay for the import

    s = worked_step(theta, action=action)
    h = 1e-6
    pi = lambda t: worked_step(t, action=action).pi_action  # noqa: E731
    fd_pi = (pi(theta + h) - pi(theta - h)) / (2 * h)
    fd_log = (math.log(pi(theta + h)) - math.log(pi(theta - h))) / (2 * h)
    assert s.grad_pi == pytest.approx(fd_pi, rel=1e-6, abs=1e-10)
    assert s.grad_log_pi == pytest.approx(fd_log, rel=1e-6, abs=1e-10)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(t) if action == "right" else 1 - torch.sigmoid(t)
    (g_pi,) = torch.autograd.grad(p, t, retain_graph=True)
    (g_log,) = torch.autograd.grad(torch.log(p), t)
    assert s.grad_pi == pytest.approx(g_pi.item(), rel=1e-12, abs=1e-15)
    assert s.grad_log_pi == pytest.approx(g_log.item(), rel=1e-10, abs=1e-15)
    # the update is the score times the advantage, the advantage G₀ − V̂
    assert s.policy_gradient == pytest.approx(g_log.item() * ((0.9 if action == "right" else 0.0) - 0.5), rel=1e-10)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: worked_step(float("nan")), "theta"),
        (lambda: worked_step(0.0, gamma=1.5), "gamma"),
        (lambda: worked_step(0.0, gamma=-0.1), "gamma"),
        (lambda: worked_step(0.0, alpha=-0.1), "alpha"),
        (lambda: worked_step(0.0, action="up"), "action"),
        (lambda: worked_step(0.0, v_estimate=float("inf")), "v_estimate"),
    ],
)
def test_worked_step_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_first_step_is_the_article_step():
    first = worked_steps(0.0, 1)[0]
    assert first == worked_step(0.0)
    assert first.theta_new == pytest.approx(0.02, abs=1e-12)


def test_steps_chain_and_climb():
    steps = worked_steps(0.0, 20)
    assert len(steps) == 20
    for before, after in zip(steps, steps[1:]):
        assert after.theta == before.theta_new
        assert after.pi_right > before.pi_right
    # against the recurrence θ ← θ + 0.1 · (1 − σ(θ)) · 0.4 in plain floats, not worked_step
    theta = 0.0
    for step in steps:
        theta += 0.1 * (1.0 - 1.0 / (1.0 + math.exp(-theta))) * 0.4
        assert step.theta_new == pytest.approx(theta, abs=1e-9)
    assert [round(s.theta_new, 4) for s in steps[:2]] == [0.02, 0.0398]  # the docstring's numbers


def test_left_steps_use_the_left_numbers():
    steps = worked_steps(0.0, 2, action="left")
    assert steps[0].theta_new == pytest.approx(0.025, abs=1e-12)
    assert steps[1].action == "left"
    # second Left step from θ = 0.025: ∇log π(L) = −σ(θ), A = 0 − 0.5, so θ += 0.1 · 0.5 σ(0.025)
    assert steps[1].theta_new == pytest.approx(0.025 + 0.05 / (1 + math.exp(-0.025)), abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(theta=0.0, n_steps=0), "n_steps"),
        (dict(theta=0.0, n_steps=2.5), "n_steps"),
        (dict(theta=float("nan"), n_steps=1), "theta"),
        (dict(theta=0.0, n_steps=1, alpha=-1.0), "alpha"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        worked_steps(**kwargs)
