"""pgcore.grid1d additions for the Gradient step page: worked_steps, repeated updates."""

from __future__ import annotations

import math

import pytest

from pgcore.grid1d import worked_step, worked_steps


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
