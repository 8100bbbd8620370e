"""The numpy CartPole core (:mod:`pgcore.cartpole.core`) checked three ways: every hand-written
gradient against central finite differences, the losses, the whole network's backward pass and
the optimizer step against torch (float64, autograd), and the small contracts the trainer relies
on (the clip's zero gradients, per-step gradients, initialisation, parameter views).

Tolerances: finite differences use ε = 1e-6 and rtol 1e-6 / atol 1e-8 (truncation error ~ε²,
rounding ~1e-16/ε); comparisons with torch use rtol 1e-12 relative to the largest entry of the
expected array (same float64 arithmetic, only the order of operations differs)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from devtools.torch_reference import torch_logits, torch_params
from pgcore.cartpole.core import (
    MLP,
    Adam,
    clip_grad_norm,
    clipped_policy_loss,
    log_prob_gradients,
    log_softmax,
    orthogonal_matrix,
    per_step_grad_variance,
    policy_loss,
    value_loss,
)

FD_EPS = 1e-6
FD_RTOL, FD_ATOL = 1e-6, 1e-8
TORCH_RTOL = 1e-12
ACTIVATIONS = ("tanh", "relu")
HIDDEN = 8
BATCH = 7


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def central_difference(f, x: np.ndarray, eps: float = FD_EPS) -> np.ndarray:
    """∂f/∂x by (f(x + eps) − f(x − eps)) / 2 eps, one entry at a time; ``x`` is perturbed in
    place (so views of it, like an MLP's weights, see the perturbation) and restored."""
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "x must be contiguous so the perturbation reaches f"
    grad = np.empty(x.size)
    for i in range(x.size):
        original = flat[i]
        flat[i] = original + eps
        up = f()
        flat[i] = original - eps
        down = f()
        flat[i] = original
        grad[i] = (up - down) / (2.0 * eps)
    return grad.reshape(x.shape)


def assert_fd_close(analytic: np.ndarray, numeric: np.ndarray) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=FD_RTOL, atol=FD_ATOL)


def assert_torch_close(actual, expected) -> None:
    """Equal up to TORCH_RTOL relative to the largest entry of ``expected``."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    scale = max(float(np.abs(expected).max()), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=TORCH_RTOL, atol=TORCH_RTOL * scale)


def random_policy_inputs(rng: np.random.Generator, batch: int = BATCH):
    """Logits ``(B, 2)``, actions ``(B,)`` and weights Ψ ``(B,)`` of both signs."""
    logits = rng.normal(scale=1.5, size=(batch, 2))
    actions = rng.integers(0, 2, size=batch)
    weights = rng.normal(scale=2.0, size=batch)
    return logits, actions, weights


def clip_inputs(rng: np.random.Generator, clip_range: float):
    """Logits, actions, Ψ and old log-probs giving chosen ratios: some inside (1 − ε, 1 + ε),
    some below or above it, with Ψ of both signs, none within 1e-2 of the kinks 1 ± ε."""
    ratios = np.array([0.5, 0.7, 0.9, 1.0, 1.1, 1.15, 1.3, 1.6, 0.6, 1.4, 0.95, 1.05])
    weights = np.array([1.5, -2.0, 0.7, -1.1, 2.2, -0.4, 1.8, -1.3, -0.9, 0.6, 1.0, -1.7])
    batch = len(ratios)
    logits = rng.normal(scale=1.5, size=(batch, 2))
    actions = rng.integers(0, 2, size=batch)
    log_probs = log_softmax(logits)[np.arange(batch), actions]
    old_log_probs = log_probs - np.log(ratios)
    actual = np.exp(log_softmax(logits)[np.arange(batch), actions] - old_log_probs)
    assert np.all(np.abs(actual - (1.0 - clip_range)) > 1e-2)
    assert np.all(np.abs(actual - (1.0 + clip_range)) > 1e-2)
    inside = np.abs(actual - 1.0) < clip_range
    assert inside.any() and (~inside).any()
    return logits, actions, weights, old_log_probs, actual


def relu_safe_inputs(rng: np.random.Generator, mlp: MLP, batch: int = BATCH) -> np.ndarray:
    """Observations whose pre-activations are all at least 1e-2 away from 0 (ReLU's kink), with
    both signs present, so finite differences never cross the kink."""
    for _ in range(1000):
        x = rng.normal(size=(batch, 4))
        pre = x @ mlp.w1.T + mlp.b1
        if np.abs(pre).min() > 1e-2 and (pre > 0).any() and (pre < 0).any():
            return x
    raise AssertionError("no observations with pre-activations away from 0 in 1000 draws")


def make_mlp(rng: np.random.Generator, outputs: int, activation: str, orthogonal: bool = False) -> MLP:
    mlp = MLP(HIDDEN, outputs, activation)
    mlp.initialise(rng, orthogonal=orthogonal, output_gain=1.0)
    return mlp


def torch_forward(mlp: MLP, x: np.ndarray):
    """The same two-layer net by torch (devtools.torch_reference), float64, on leaf copies of
    the MLP's own weights: (outputs, leaves)."""
    leaves = torch_params(mlp)
    return torch_logits(leaves, mlp.activation, x), leaves


def flat_torch_grad(leaves) -> np.ndarray:
    return np.concatenate([leaf.grad.detach().numpy().reshape(-1) for leaf in leaves])


def torch_policy_loss(logits_t, actions, weights, entropy_coef):
    dist = torch.distributions.Categorical(logits=logits_t)
    log_probs = dist.log_prob(torch.tensor(actions))
    entropy = dist.entropy().mean()
    loss = -(torch.tensor(weights) * log_probs).mean() - entropy_coef * entropy
    return loss, entropy


def torch_clipped_loss(logits_t, actions, weights, old_log_probs, clip_range, entropy_coef):
    dist = torch.distributions.Categorical(logits=logits_t)
    ratio = torch.exp(dist.log_prob(torch.tensor(actions)) - torch.tensor(old_log_probs))
    psi = torch.tensor(weights)
    surrogate = torch.min(ratio * psi, ratio.clamp(1.0 - clip_range, 1.0 + clip_range) * psi)
    return -surrogate.mean() - entropy_coef * dist.entropy().mean()


def per_step_backward(mlp: MLP, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """∇ log π(a_t | s_t) one step at a time through MLP.backward, ``(B, P)``."""
    rows = []
    for t in range(len(actions)):
        x = obs[t : t + 1]
        logits, hidden = mlp.forward(x)
        d_out = -np.exp(log_softmax(logits))
        d_out[0, actions[t]] += 1.0
        rows.append(mlp.backward(x, hidden, d_out).copy())
    return np.array(rows)


# ---------------------------------------------------------------------------------------
# 1. Finite differences
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("entropy_coef", [0.0, 0.3])
def test_policy_loss_gradient_matches_finite_differences(entropy_coef):
    """policy_loss's d_logits is the central-difference gradient of its loss (with and without entropy)."""
    rng = np.random.default_rng(1)
    logits, actions, weights = random_policy_inputs(rng)
    _, _, d_logits = policy_loss(logits, actions, weights, entropy_coef)
    numeric = central_difference(lambda: policy_loss(logits, actions, weights, entropy_coef)[0], logits)
    assert_fd_close(d_logits, numeric)


@pytest.mark.parametrize("entropy_coef", [0.0, 0.3])
def test_clipped_policy_loss_gradient_matches_finite_differences(entropy_coef):
    """clipped_policy_loss's d_logits is the central-difference gradient with ratios inside and outside the clip."""
    rng = np.random.default_rng(2)
    clip_range = 0.2
    logits, actions, weights, old, _ = clip_inputs(rng, clip_range)
    _, d_logits = clipped_policy_loss(logits, actions, weights, old, clip_range, entropy_coef)
    numeric = central_difference(
        lambda: clipped_policy_loss(logits, actions, weights, old, clip_range, entropy_coef)[0], logits
    )
    assert_fd_close(d_logits, numeric)


def test_value_loss_gradient_matches_finite_differences():
    """value_loss's d_values is the central-difference gradient of the mean squared error."""
    rng = np.random.default_rng(3)
    values, targets = rng.normal(size=BATCH), rng.normal(scale=3.0, size=BATCH)
    _, d_values = value_loss(values, targets)
    numeric = central_difference(lambda: value_loss(values, targets)[0], values)
    assert_fd_close(d_values, numeric)


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_backward_matches_finite_differences(activation, outputs):
    """MLP.backward is the central-difference gradient of sum(d_out · out) wrt the flat params."""
    rng = np.random.default_rng(4)
    mlp = make_mlp(rng, outputs, activation)
    x = relu_safe_inputs(rng, mlp) if activation == "relu" else rng.normal(size=(BATCH, 4))
    d_out = rng.normal(size=(BATCH, outputs))
    out, hidden = mlp.forward(x)
    assert out.shape == (BATCH, outputs) and hidden.shape == (BATCH, HIDDEN)
    grad = mlp.backward(x, hidden, d_out).copy()
    numeric = central_difference(lambda: float((d_out * mlp.forward(x)[0]).sum()), mlp.params)
    assert_fd_close(grad, numeric)
    assert np.array_equal(grad, mlp.grad)  # the forward passes since backward left its gradient alone


# ---------------------------------------------------------------------------------------
# 2. Agreement with torch.autograd
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("entropy_coef", [0.0, 0.3])
def test_policy_loss_matches_torch_categorical(entropy_coef):
    """policy_loss's loss, entropy and d_logits equal torch's Categorical log_prob/entropy surrogate under autograd."""
    rng = np.random.default_rng(5)
    logits, actions, weights = random_policy_inputs(rng)
    loss, entropy, d_logits = policy_loss(logits, actions, weights, entropy_coef)
    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t, entropy_t = torch_policy_loss(logits_t, actions, weights, entropy_coef)
    loss_t.backward()
    assert_torch_close(loss, loss_t)
    assert_torch_close(entropy, entropy_t)
    assert_torch_close(d_logits, logits_t.grad)
    assert_torch_close(log_softmax(logits), torch.log_softmax(torch.tensor(logits), dim=1))


@pytest.mark.parametrize("entropy_coef", [0.0, 0.3])
def test_clipped_policy_loss_matches_torch(entropy_coef):
    """clipped_policy_loss's loss and d_logits equal torch.min(r·Ψ, clamp(r)·Ψ) under autograd."""
    rng = np.random.default_rng(6)
    clip_range = 0.2
    logits, actions, weights, old, _ = clip_inputs(rng, clip_range)
    loss, d_logits = clipped_policy_loss(logits, actions, weights, old, clip_range, entropy_coef)
    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t = torch_clipped_loss(logits_t, actions, weights, old, clip_range, entropy_coef)
    loss_t.backward()
    assert_torch_close(loss, loss_t)
    assert_torch_close(d_logits, logits_t.grad)


def test_value_loss_matches_torch_mse():
    """value_loss's loss and d_values equal torch's mse_loss under autograd."""
    rng = np.random.default_rng(7)
    values, targets = rng.normal(size=BATCH), rng.normal(scale=3.0, size=BATCH)
    loss, d_values = value_loss(values, targets)
    values_t = torch.tensor(values, requires_grad=True)
    loss_t = F.mse_loss(values_t, torch.tensor(targets))
    loss_t.backward()
    assert_torch_close(loss, loss_t)
    assert_torch_close(d_values, values_t.grad)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_policy_network_gradient_matches_torch(activation):
    """forward + policy_loss + MLP.backward give torch's logits, loss and autograd gradient (W1, b1, W2, b2 order)."""
    rng = np.random.default_rng(8)
    mlp = make_mlp(rng, 2, activation)
    x = rng.normal(size=(BATCH, 4))
    actions, weights = rng.integers(0, 2, size=BATCH), rng.normal(size=BATCH)
    logits, hidden = mlp.forward(x)
    loss, _, d_logits = policy_loss(logits, actions, weights, 0.01)
    grad = mlp.backward(x, hidden, d_logits)
    logits_t, leaves = torch_forward(mlp, x)
    loss_t, _ = torch_policy_loss(logits_t, actions, weights, 0.01)
    loss_t.backward()
    assert_torch_close(logits, logits_t)
    assert_torch_close(loss, loss_t)
    assert_torch_close(grad, flat_torch_grad(leaves))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_value_network_gradient_matches_torch(activation):
    """forward + value_loss + MLP.backward (one output) give torch's mse loss and autograd gradient in params order."""
    rng = np.random.default_rng(9)
    mlp = make_mlp(rng, 1, activation)
    x, targets = rng.normal(size=(BATCH, 4)), rng.normal(size=BATCH)
    values, hidden = mlp.forward(x)
    loss, d_values = value_loss(values[:, 0], targets)
    grad = mlp.backward(x, hidden, d_values[:, None])
    values_t, leaves = torch_forward(mlp, x)
    loss_t = F.mse_loss(values_t[:, 0], torch.tensor(targets))
    loss_t.backward()
    assert_torch_close(loss, loss_t)
    assert_torch_close(grad, flat_torch_grad(leaves))


# ---------------------------------------------------------------------------------------
# 3. The clip's special cases
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("entropy_coef", [0.0, 0.3])
def test_clipped_gradient_equals_policy_gradient_at_ratio_one(entropy_coef):
    """With old_log_probs = the current log-probs (r = 1) the clipped surrogate's gradient is policy_loss's."""
    rng = np.random.default_rng(10)
    logits, actions, weights = random_policy_inputs(rng)
    old = log_softmax(logits)[np.arange(BATCH), actions]
    _, d_clipped = clipped_policy_loss(logits, actions, weights, old, 0.2, entropy_coef)
    _, _, d_plain = policy_loss(logits, actions, weights, entropy_coef)
    np.testing.assert_allclose(d_clipped, d_plain, rtol=1e-14, atol=1e-16)


def test_clipped_gradient_is_zero_where_the_clip_is_active():
    """Rows with r > 1+ε and Ψ > 0, or r < 1−ε and Ψ < 0, have exactly zero gradient; the others do not."""
    rng = np.random.default_rng(11)
    clip_range = 0.2
    logits, actions, weights, old, ratios = clip_inputs(rng, clip_range)
    _, d_logits = clipped_policy_loss(logits, actions, weights, old, clip_range, 0.0)
    active = ((ratios > 1.0 + clip_range) & (weights > 0)) | ((ratios < 1.0 - clip_range) & (weights < 0))
    assert active.sum() >= 2 and (~active).sum() >= 2
    assert np.all(d_logits[active] == 0.0)
    assert np.all(np.abs(d_logits[~active]) > 0.0)


# ---------------------------------------------------------------------------------------
# 4. Per-step gradients
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_log_prob_gradients_rows_equal_single_step_backward(activation):
    """Each row of log_prob_gradients is MLP.backward of that one step with d_out = onehot(a) − π."""
    rng = np.random.default_rng(12)
    mlp = make_mlp(rng, 2, activation)
    obs = rng.normal(size=(BATCH, 4)).astype(np.float32)
    actions = rng.integers(0, 2, size=BATCH)
    rows = log_prob_gradients(mlp, obs, actions)
    assert rows.shape == (BATCH, mlp.params.size)
    np.testing.assert_allclose(rows, per_step_backward(mlp, obs, actions), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mean_of_per_step_gradients_is_the_policy_gradient(activation):
    """mean_t(−Ψ_t ∇log π(a_t|s_t)) from log_prob_gradients equals policy_loss + MLP.backward (β = 0)."""
    rng = np.random.default_rng(13)
    mlp = make_mlp(rng, 2, activation)
    obs, actions, weights = rng.normal(size=(BATCH, 4)), rng.integers(0, 2, size=BATCH), rng.normal(size=BATCH)
    per_step = -weights[:, None] * log_prob_gradients(mlp, obs, actions)
    logits, hidden = mlp.forward(obs)
    _, _, d_logits = policy_loss(logits, actions, weights, 0.0)
    np.testing.assert_allclose(per_step.mean(axis=0), mlp.backward(obs, hidden, d_logits), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_per_step_grad_variance_equals_explicit_loop(activation):
    """per_step_grad_variance equals (1/B) Σ_t ‖g_t − ḡ‖² computed with per-step MLP.backward in a loop."""
    rng = np.random.default_rng(14)
    mlp = make_mlp(rng, 2, activation)
    obs = rng.normal(size=(BATCH, 4)).astype(np.float32)
    actions, weights = rng.integers(0, 2, size=BATCH), rng.normal(size=BATCH)
    grads = [-weights[t] * g for t, g in enumerate(per_step_backward(mlp, obs, actions))]
    mean = sum(grads) / len(grads)
    expected = sum(float(np.sum((g - mean) ** 2)) for g in grads) / len(grads)
    assert expected > 0.0
    assert per_step_grad_variance(mlp, obs, actions, weights) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------
# 5–6. The optimizer step
# ---------------------------------------------------------------------------------------


def run_adam_against_torch(rng: np.random.Generator, steps: int, lr_schedule: dict[int, float]) -> None:
    params = rng.normal(size=37)
    start = params.copy()
    adam = Adam(params, lr=1e-2)
    param_t = torch.tensor(params.copy(), requires_grad=True)
    adam_t = torch.optim.Adam([param_t], lr=1e-2)
    for step in range(steps):
        if step in lr_schedule:
            adam.lr = lr_schedule[step]
            for group in adam_t.param_groups:
                group["lr"] = lr_schedule[step]
        grad = rng.normal(scale=10.0 ** rng.uniform(-3, 1), size=params.size)
        adam.step(grad)
        param_t.grad = torch.tensor(grad.copy())
        adam_t.step()
        assert_torch_close(params, param_t)
    assert adam.params is params
    assert not np.allclose(params, start)


def test_adam_matches_torch():
    """Adam.step equals torch.optim.Adam (float64, default betas/eps) over 20 steps of random gradients."""
    run_adam_against_torch(np.random.default_rng(15), 20, {})


def test_adam_matches_torch_after_learning_rate_change():
    """After setting Adam.lr mid-way (and torch's param_groups lr alike) the two still agree step for step."""
    run_adam_against_torch(np.random.default_rng(16), 20, {8: 3e-3, 14: 5e-4})


def test_clip_grad_norm_matches_torch_above_max():
    """clip_grad_norm returns the norm before and scales the vector exactly as torch's clip_grad_norm_."""
    rng = np.random.default_rng(17)
    grad = rng.normal(scale=3.0, size=41)
    max_norm = 0.5
    assert np.linalg.norm(grad) > max_norm
    param_t = torch.zeros(41, dtype=torch.float64, requires_grad=True)
    param_t.grad = torch.tensor(grad.copy())
    norm_t = torch.nn.utils.clip_grad_norm_([param_t], max_norm)
    norm = clip_grad_norm(grad, max_norm)
    assert_torch_close(norm, norm_t)
    assert_torch_close(grad, param_t.grad)
    assert np.linalg.norm(grad) == pytest.approx(max_norm, rel=1e-5)
    assert np.linalg.norm(grad) < max_norm


def test_clip_grad_norm_leaves_small_gradient_unchanged():
    """A gradient with norm below max_norm is left bit-for-bit unchanged and its norm returned."""
    rng = np.random.default_rng(18)
    grad = rng.normal(scale=0.01, size=41)
    before = grad.copy()
    norm = clip_grad_norm(grad, 0.5)
    assert np.array_equal(grad, before)
    assert norm == pytest.approx(np.linalg.norm(before), rel=1e-14)
    param_t = torch.zeros(41, dtype=torch.float64, requires_grad=True)
    param_t.grad = torch.tensor(before.copy())
    assert_torch_close(norm, torch.nn.utils.clip_grad_norm_([param_t], 0.5))
    assert_torch_close(grad, param_t.grad)


# ---------------------------------------------------------------------------------------
# 7. Initialisation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "gain"), [((32, 4), math.sqrt(2.0)), ((2, 32), 0.01), ((1, 32), 1.0)])
def test_orthogonal_matrix_is_orthonormal_and_reproducible(shape, gain):
    """orthogonal_matrix / gain has orthonormal columns or rows (the fewer), and the same seed gives the same matrix."""
    matrix = orthogonal_matrix(np.random.default_rng(19), shape, gain)
    assert matrix.shape == shape
    q = matrix / gain
    gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    assert np.array_equal(matrix, orthogonal_matrix(np.random.default_rng(19), shape, gain))
    assert not np.array_equal(matrix, orthogonal_matrix(np.random.default_rng(20), shape, gain))


@pytest.mark.parametrize("outputs", [1, 2])
def test_default_initialisation_is_within_fan_in_bounds(outputs):
    """initialise(orthogonal=False) draws every weight and bias inside ±1/√fan_in of its layer (4, then H)."""
    mlp = MLP(32, outputs, "tanh")
    mlp.initialise(np.random.default_rng(21), orthogonal=False, output_gain=0.01)
    for name, array, fan_in in (("w1", mlp.w1, 4), ("b1", mlp.b1, 4), ("w2", mlp.w2, 32), ("b2", mlp.b2, 32)):
        assert np.all(np.abs(array) <= 1.0 / math.sqrt(fan_in)), name
        assert np.all(array != 0.0), name
    assert np.abs(mlp.w1).max() > 1.0 / math.sqrt(32)  # layer 1 uses its own, wider bound


@pytest.mark.parametrize("outputs", [1, 2])
def test_orthogonal_initialisation_zeroes_biases(outputs):
    """initialise(orthogonal=True) zeroes both biases; weights are gain × orthonormal (√2, then output_gain)."""
    mlp = MLP(32, outputs, "relu")
    mlp.initialise(np.random.default_rng(22), orthogonal=True, output_gain=0.01)
    assert np.all(mlp.b1 == 0.0) and np.all(mlp.b2 == 0.0)
    w1, w2 = mlp.w1 / math.sqrt(2.0), mlp.w2 / 0.01
    np.testing.assert_allclose(w1.T @ w1, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(w2 @ w2.T, np.eye(outputs), atol=1e-12)


# ---------------------------------------------------------------------------------------
# 8. Views and saving
# ---------------------------------------------------------------------------------------


def test_views_see_adam_updates_without_copying():
    """w1, b1, w2, b2 are views of params: after Adam.step (held references included) they show the new values."""
    rng = np.random.default_rng(23)
    mlp = make_mlp(rng, 2, "tanh")
    held = (mlp.w1, mlp.b1, mlp.w2, mlp.b2)
    before = [v.copy() for v in held]
    Adam(mlp.params, lr=0.1).step(rng.normal(size=mlp.params.size))
    expected, start = [], 0
    for view in held:
        assert np.shares_memory(view, mlp.params)
        expected.append(mlp.params[start : start + view.size].reshape(view.shape))
        start += view.size
    assert start == mlp.params.size
    for view, old, new in zip(held, before, expected):
        assert np.array_equal(view, new)
        assert not np.array_equal(view, old)
    for view, current in zip(held, (mlp.w1, mlp.b1, mlp.w2, mlp.b2)):
        assert view is current


@pytest.mark.parametrize("outputs", [1, 2])
def test_state_dict_names_shapes_and_float32(outputs):
    """state_dict gives float32 copies named layer1.weight/bias, layer2.weight/bias with the network's shapes."""
    mlp = make_mlp(np.random.default_rng(24), outputs, "relu")
    state = mlp.state_dict()
    shapes = {
        "layer1.weight": (HIDDEN, 4),
        "layer1.bias": (HIDDEN,),
        "layer2.weight": (outputs, HIDDEN),
        "layer2.bias": (outputs,),
    }
    assert list(state) == list(shapes)
    for (name, array), view in zip(state.items(), (mlp.w1, mlp.b1, mlp.w2, mlp.b2)):
        assert array.dtype == np.float32, name
        assert array.shape == shapes[name], name
        assert np.array_equal(array, view.astype(np.float32)), name
        assert not np.shares_memory(array, mlp.params), name
