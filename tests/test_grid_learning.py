"""pgcore.grid_learning: the per-step reference (reinforce_reference) against hand-worked
episodes and, summed over every trajectory, against the exact ∂J/∂θ₁; each vectorized
single-episode estimate against it; its mean against the exact value (4 standard errors, fixed
seed), reproducibility, bad input; the many learners of the Baselines page (compare_learning,
learning_curves, race_step) and exact gradient ascent beside them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcore.estimators import BASELINES
from pgcore.grid1d import (
    enumerate_trajectories,
    expected_return,
    expected_return_grad,
    loop_cap,
    sample_episodes,
)
from pgcore.grid_learning import (
    ESTIMATORS,
    LEARNER_THETA_LIMIT,
    compare_learning,
    estimate_theta1,
    exact_ascent_step,
    expected_estimate,
    learning_curves,
    race_step,
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


# --- many learners: sampled gradient ascent on θ₁ under each baseline -------------------------


def rng(seed):
    return np.random.default_rng(seed)


def expected_gradient(theta1, theta2=0.0, gamma=0.9, reward_offset=0.0):
    """∂J_c/∂θ₁, grid1d's."""
    return expected_return_grad(theta1, theta2, gamma, reward_offset)[0]


def test_learning_curves_shapes_seed_and_variance_helps():
    kwargs = dict(reward_offset=1.0, step_size=3.0, episodes_per_update=2, theta1_start=-2.0, updates=60)
    runs = {b: learning_curves(b, rng=rng(0), **kwargs) for b in BASELINES}
    for run in runs.values():
        assert run.theta.shape == run.objective.shape == (61, 20)
        assert np.all(np.isfinite(run.objective))
        assert run.mean[-1] > run.mean[0] + 2.0  # everyone climbs J_c
    np.testing.assert_array_equal(learning_curves("mean", rng=rng(0), **kwargs).theta, runs["mean"].theta)
    # plain REINFORCE scatters the learners far more than any baseline, and is slower early on
    band = {b: run.std[1:].mean() for b, run in runs.items()}
    for name in ("mean", "value", "optimal"):
        assert band[name] < 0.5 * band["none"], band
    assert runs["optimal"].mean[10] > runs["none"].mean[10]


def test_compare_learning_uses_common_random_numbers():
    kwargs = dict(theta1_start=-1.0, updates=5, episodes_per_update=3)
    together = compare_learning(("none", "value"), rng=rng(2), **kwargs)
    # each learner's first step is drawn from the same uniforms, whichever baselines run alongside
    np.testing.assert_allclose(together["none"].theta, compare_learning(("none",), rng=rng(2), **kwargs)["none"].theta)
    np.testing.assert_allclose(together["value"].theta, learning_curves("value", rng=rng(2), **kwargs).theta)
    with pytest.raises(ValueError, match=r"^baselines\b"):
        compare_learning(("none", "none"), rng=rng(0))


def test_the_learners_bad_inputs():
    with pytest.raises(ValueError, match=r"^episodes_per_update\b"):
        learning_curves("mean", rng=rng(0), episodes_per_update=1)
    with pytest.raises(ValueError, match=r"^baseline\b"):
        learning_curves(0.5, rng=rng(0))
    with pytest.raises(ValueError, match=r"^rng\b"):
        compare_learning(("none",), rng=0)


# --- the race: two learners on the same episodes ----------------------------------------------


@pytest.mark.parametrize("baseline", ["mean", "value", "optimal"])
@pytest.mark.parametrize("weight", [True, False])
def test_a_race_step_by_step_is_compare_learning_with_one_learner(baseline, weight):
    kwargs = dict(
        theta2=0.4, gamma=0.8, reward_offset=0.3, episodes_per_update=5, step_size=2.0, discount_weight=weight
    )
    runs = compare_learning(("none", baseline), rng=rng(9), theta1_start=-1.5, learners=1, updates=12, **kwargs)
    generator = np.random.default_rng(9)
    theta = np.array([-1.5, -1.5])
    for update in range(1, 13):
        step = race_step(theta, generator, baseline=baseline, **kwargs)
        theta = step.theta
        np.testing.assert_allclose(
            theta, [runs["none"].theta[update, 0], runs[baseline].theta[update, 0]], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            step.objective, [runs["none"].objective[update, 0], runs[baseline].objective[update, 0]], rtol=0, atol=1e-12
        )
    assert theta[0] != theta[1]  # the baseline changed the path, not only the bookkeeping


def test_a_race_step_refuses_what_it_cannot_race():
    generator = np.random.default_rng(0)
    with pytest.raises(ValueError, match="baseline"):
        race_step([0.0, 0.0], generator, baseline="none")
    with pytest.raises(ValueError, match="theta"):
        race_step([0.0, 0.0, 0.0], generator)
    with pytest.raises(ValueError, match="episodes_per_update"):
        race_step([0.0, 0.0], generator, baseline="mean", episodes_per_update=1)


# --- the race's noise-free learner: exact gradient ascent ------------------------------------


def test_exact_ascent_is_the_explicit_loop_theta_plus_alpha_times_the_exact_gradient():
    kwargs = dict(theta2=0.4, gamma=0.8, reward_offset=0.3)
    theta, reference = -2.0, -2.0
    for _ in range(40):
        theta = exact_ascent_step(theta, step_size=3.0, **kwargs)
        reference = float(np.clip(reference + 3.0 * expected_gradient(reference, **kwargs), -20, 20))
        assert isinstance(theta, float)
        assert theta == pytest.approx(reference, abs=1e-12)
    assert LEARNER_THETA_LIMIT == 20.0
    # arrays step entry by entry and keep their shape
    start = np.array([[-2.0, 0.0], [1.5, 25.0]]).clip(-20, 20)
    stepped = exact_ascent_step(start, step_size=0.5, **kwargs)
    assert stepped.shape == (2, 2)
    np.testing.assert_allclose(
        stepped, np.clip(start + 0.5 * expected_gradient(start, **kwargs), -20, 20), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("offset", [-2.0, 0.0, 2.0])
def test_exact_ascent_with_a_small_step_never_lowers_j(offset):
    theta = np.linspace(-4.0, 4.0, 17)
    before = expected_return(theta, 0.3, 0.9, offset)
    for _ in range(20):
        theta = exact_ascent_step(theta, theta2=0.3, gamma=0.9, reward_offset=offset, step_size=0.05)
        after = expected_return(theta, 0.3, 0.9, offset)
        assert np.all(after >= before - 1e-12)
        before = after


def test_exact_ascent_refuses_bad_settings():
    for bad in (dict(step_size=0.0), dict(gamma=1.5), dict(theta2=float("nan")), dict(reward_offset=float("inf"))):
        with pytest.raises(ValueError):
            exact_ascent_step(0.0, **bad)
