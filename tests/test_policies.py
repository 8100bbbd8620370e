"""pgcore.policies: exact values, finite differences, torch.autograd, properties, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pgcore.policies import (
    linear_preferences,
    linear_softmax_policy,
    log_sigmoid,
    log_softmax,
    sigmoid,
    softmax,
    softmax_policy,
    two_action_policy,
)

EPS = 1e-6


def central_difference(f, x: np.ndarray) -> np.ndarray:
    """∂f/∂x by central differences in float64; f maps (n,) → (m,), result (m, n)."""
    x = np.asarray(x, dtype=np.float64)
    columns = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = EPS
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * EPS))
    return np.stack(columns, axis=-1)


# --- exact values ---------------------------------------------------------------------


def test_sigmoid_of_zero_is_one_half():
    assert sigmoid(0.0) == 0.5
    p = two_action_policy(0.0)
    assert (p.pi_right, p.pi_left, p.grad_pi_right, p.grad_pi_left, p.score_right, p.score_left) == (
        0.5,
        0.5,
        0.25,
        -0.25,
        0.5,
        -0.5,
    )


def test_worked_softmax_preferences():
    probs = softmax([2.0, 1.0, 0.5])
    np.testing.assert_allclose(probs, [0.63, 0.23, 0.14], atol=0.005)
    np.testing.assert_allclose(probs, np.exp([2.0, 1.0, 0.5]) / np.exp([2.0, 1.0, 0.5]).sum(), rtol=1e-12)


def test_temperature_divides_the_logits():
    np.testing.assert_allclose(softmax([2.0, 1.0, 0.5], temperature=2.0), softmax([1.0, 0.5, 0.25]), rtol=1e-12)
    np.testing.assert_allclose(log_softmax([3.0, 1.0], 0.5), np.log(softmax([6.0, 2.0])), rtol=1e-12)


def test_log_sigmoid_matches_reference():
    x = np.linspace(-30, 30, 61)
    # log σ(x) = −log(1 + e^{−x}); numpy's logaddexp is an independent stable reference
    np.testing.assert_allclose(log_sigmoid(x), -np.logaddexp(0.0, -x), rtol=1e-13)
    np.testing.assert_allclose(log_sigmoid(x[:40]), np.log(sigmoid(x[:40])), rtol=1e-9)


def test_two_action_softmax_is_sigmoid_of_difference():
    for h1, h2, t in [(0.3, -1.2, 1.0), (2.0, 1.0, 0.25), (-4.0, 5.0, 3.0)]:
        assert softmax([h1, h2], t)[0] == pytest.approx(float(sigmoid((h1 - h2) / t)), rel=1e-12)


def test_linear_preferences_are_phi_times_theta():
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(linear_preferences([2.0, -1.0], phi), [2.0, -1.0, 0.5])


# --- gradients: finite differences -------------------------------------------------------


@pytest.mark.parametrize("theta", [-3.0, -0.4, 0.0, 0.7, 2.5])
def test_sigmoid_gradients_match_finite_differences(theta):
    p = two_action_policy(theta)
    d_pi = central_difference(
        lambda t: [two_action_policy(t[0]).pi_right, two_action_policy(t[0]).pi_left], np.array([theta])
    )[:, 0]
    d_log = central_difference(
        lambda t: [np.log(two_action_policy(t[0]).pi_right), np.log(two_action_policy(t[0]).pi_left)], np.array([theta])
    )[:, 0]
    np.testing.assert_allclose([p.grad_pi_right, p.grad_pi_left], d_pi, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose([p.score_right, p.score_left], d_log, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_softmax_gradients_match_finite_differences(temperature):
    h = np.array([0.4, -1.1, 2.0, 0.0])
    policy = softmax_policy(h, temperature)
    jac = central_difference(lambda x: softmax(x, temperature), h)
    score = central_difference(lambda x: log_softmax(x, temperature), h)
    np.testing.assert_allclose(policy.jacobian, jac, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(policy.score, score, rtol=1e-6, atol=1e-10)


def test_linear_gradients_match_finite_differences():
    phi = np.array([[1.0, 0.2, -0.5], [0.0, 1.0, 0.3], [0.5, -0.5, 1.0]])
    theta = np.array([0.3, -0.8, 1.1])
    policy = linear_softmax_policy(theta, phi, 0.7)
    score = central_difference(lambda t: log_softmax(phi @ t, 0.7), theta)
    grad = central_difference(lambda t: softmax(phi @ t, 0.7), theta)
    np.testing.assert_allclose(policy.score, score, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(policy.grad_pi, grad, rtol=1e-6, atol=1e-10)


# --- gradients: torch.autograd -----------------------------------------------------------


def test_sigmoid_gradients_match_autograd():
    for theta in (-2.0, 0.0, 0.02, 1.3):
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        p = two_action_policy(theta)
        expected = []
        for f in (
            lambda x: torch.sigmoid(x),
            lambda x: 1 - torch.sigmoid(x),
            lambda x: torch.nn.functional.logsigmoid(x),
            lambda x: torch.nn.functional.logsigmoid(-x),
        ):
            (g,) = torch.autograd.grad(f(t), t)
            expected.append(g.item())
        np.testing.assert_allclose(
            [p.grad_pi_right, p.grad_pi_left, p.score_right, p.score_left], expected, rtol=1e-12, atol=1e-15
        )


def test_softmax_gradients_match_autograd():
    h = np.array([2.0, 1.0, 0.5, -0.3])
    policy = softmax_policy(h, 0.8)
    th = torch.tensor(h, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda x: torch.softmax(x / 0.8, dim=-1), th).numpy()
    score = torch.autograd.functional.jacobian(lambda x: torch.log_softmax(x / 0.8, dim=-1), th).numpy()
    np.testing.assert_allclose(policy.jacobian, jac, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(policy.score, score, rtol=1e-12, atol=1e-15)


def test_linear_gradients_match_autograd():
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    theta = np.array([0.5, -0.5])
    policy = linear_softmax_policy(theta, phi, 1.5)
    tphi = torch.tensor(phi)
    score = torch.autograd.functional.jacobian(lambda t: torch.log_softmax(tphi @ t / 1.5, -1), torch.tensor(theta))
    grad = torch.autograd.functional.jacobian(lambda t: torch.softmax(tphi @ t / 1.5, -1), torch.tensor(theta))
    np.testing.assert_allclose(policy.score, score.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(policy.grad_pi, grad.numpy(), rtol=1e-12, atol=1e-15)


# --- properties ---------------------------------------------------------------------------

logit_vectors = arrays(np.float64, st.integers(1, 8), elements=st.floats(-1000, 1000))


@settings(deadline=None, max_examples=60)
@given(logit_vectors, st.floats(0.05, 20))
def test_softmax_sums_to_one_and_is_finite(logits, temperature):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = softmax(logits, temperature)
        logp = log_softmax(logits, temperature)
    assert np.all(np.isfinite(probs)) and np.all(np.isfinite(logp))
    assert np.all(probs >= 0)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


@settings(deadline=None, max_examples=60)
@given(logit_vectors, st.floats(-500, 500))
def test_softmax_is_shift_invariant(logits, shift):
    np.testing.assert_allclose(softmax(logits + shift), softmax(logits), atol=1e-12)


@settings(deadline=None, max_examples=60)
@given(st.floats(-1000, 1000))
def test_sigmoid_policy_finite_and_mean_score_zero(theta):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = two_action_policy(theta)
    values = [p.pi_right, p.pi_left, p.grad_pi_right, p.grad_pi_left, p.score_right, p.score_left]
    assert all(np.isfinite(v) for v in values)
    assert p.pi_right + p.pi_left == pytest.approx(1.0, abs=1e-15)
    assert p.mean_score == pytest.approx(0.0, abs=1e-15)


@settings(deadline=None, max_examples=40)
@given(arrays(np.float64, st.integers(2, 6), elements=st.floats(-1000, 1000)), st.floats(0.1, 5))
def test_softmax_mean_score_is_zero(h, temperature):
    policy = softmax_policy(h, temperature)
    np.testing.assert_allclose(policy.mean_score, 0.0, atol=1e-12 / temperature + 1e-12)


def test_extremes_are_finite_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = two_action_policy(np.array([-1000.0, 1000.0]))
        s = softmax_policy([-1000.0, 1000.0, 0.0])
        lsig = log_sigmoid(np.array([-1000.0, 1000.0]))
    assert p.pi_right.tolist() == [0.0, 1.0]
    assert s.probs.tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_allclose(lsig, [-1000.0, 0.0])


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sigmoid(float("nan")), "x"),
        (lambda: two_action_policy(float("inf")), "theta"),
        (lambda: softmax([1.0, float("nan")]), "logits"),
        (lambda: softmax([1.0, 2.0], temperature=0.0), "temperature"),
        (lambda: softmax([1.0, 2.0], temperature=-1.0), "temperature"),
        (lambda: softmax([1.0, 2.0], temperature=float("nan")), "temperature"),
        (lambda: softmax_policy([[1.0, 2.0]]), "preferences"),
        (lambda: softmax_policy([]), "preferences"),
        (lambda: linear_softmax_policy([1.0, 2.0], np.ones((3, 3))), "features"),
        (lambda: linear_softmax_policy([1.0, float("inf")], np.ones((3, 2))), "theta"),
        (lambda: linear_preferences([1.0], np.ones(3)), "features"),
        (lambda: log_softmax("abc"), "logits"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
