"""pgcore.gridworld_compare: a run cut at a budget is the run trained to that budget, the
comparison is the plain mean over seeds, and the shipped file is what training produces now."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import ReinforceConfig, init_state, target_return
from pgcore.gridworld_compare import (
    COMPARE_BUDGET,
    COMPARE_SEEDS,
    DEFAULT_LEARNERS,
    LearningCurve,
    compare,
    learning_curve,
    load_curves,
    make_curves,
    save_curves,
    settings_record,
)

ENV = GridWorld()
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "gridworld_curves.npz"


@pytest.mark.parametrize("name", list(DEFAULT_LEARNERS))
def test_a_run_cut_at_a_budget_is_the_run_trained_to_that_budget(name):
    config = DEFAULT_LEARNERS[name]
    long = learning_curve(ENV, config, seed=3, budget=6_000)
    for budget in (1, 999, 2_000, 2_001, 6_000):
        short = learning_curve(ENV, config, seed=3, budget=budget)
        cut = long.until(budget)
        np.testing.assert_array_equal(cut.env_steps, short.env_steps)
        np.testing.assert_array_equal(cut.expected_return, short.expected_return)


def test_learning_curve_scores_every_update_with_the_exact_j():
    config = ReinforceConfig()
    curve = learning_curve(ENV, config, seed=1, budget=800)
    state = init_state(ENV, 1)
    expected = [ENV.expected_return(state.theta)]
    steps = [0]
    while state.env_steps < 800:  # the plain loop, written out
        state, _ = config.step(ENV, state)
        expected.append(ENV.expected_return(state.theta))
        steps.append(state.env_steps)
    np.testing.assert_array_equal(curve.env_steps, steps)
    np.testing.assert_allclose(curve.expected_return, expected, rtol=0, atol=1e-12)
    assert curve.env_steps[-2] < 800 <= curve.env_steps[-1]


def test_compare_is_the_mean_and_std_of_the_held_j_and_finds_the_first_hit():
    # two hand-made runs: J held between updates, the first update at or over the target counted
    target = target_return(ENV, 0.01)
    runs = [
        LearningCurve(np.array([0, 40, 100, 170]), np.array([-500.0, -300.0, target + 1.0, target + 2.0])),
        LearningCurve(np.array([0, 60, 130]), np.array([-500.0, -100.0, -90.0])),
    ]
    result = compare(ENV, {"A": runs}, seeds=2, budget=120, points=7)  # grid 0, 20, …, 120
    np.testing.assert_array_equal(result.grid, np.linspace(0, 120, 7))
    first = np.array([-500, -500, -300, -300, -300, target + 1, target + 1])
    second = np.array([-500, -500, -500, -100, -100, -100, -100])
    np.testing.assert_allclose(result.mean["A"], (first + second) / 2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.std["A"], np.abs(first - second) / 2, rtol=0, atol=1e-12)
    assert result.reached == {"A": [100, None]}
    assert result.target == target
    # a budget that stops before the hit: the first run's hit at 100 steps is not made
    assert compare(ENV, {"A": runs}, seeds=2, budget=90, points=5).reached == {"A": [None, None]}


def test_saved_curves_load_back_only_under_the_same_settings(tmp_path):
    configs = {"REINFORCE": ReinforceConfig(), "other": ReinforceConfig(learning_rate=0.2)}
    curves = make_curves(ENV, configs, seeds=2, budget=500)
    path = tmp_path / "curves.npz"
    save_curves(path, ENV, configs, curves, budget=500)
    loaded = load_curves(path, ENV, configs, seeds=2, budget=500)
    assert loaded is not None
    for name in configs:
        for run, back in zip(curves[name], loaded[name]):
            np.testing.assert_array_equal(run.env_steps, back.env_steps)
            np.testing.assert_array_equal(run.expected_return, back.expected_return)
    changed = {**configs, "other": ReinforceConfig(learning_rate=0.3)}
    assert load_curves(path, ENV, changed, seeds=2, budget=500) is None
    assert load_curves(path, GridWorld(step_reward=-1.0), configs, seeds=2, budget=500) is None
    assert load_curves(path, ENV, configs, seeds=3, budget=500) is None
    assert load_curves(tmp_path / "missing.npz", ENV, configs, seeds=2, budget=500) is None


def test_the_shipped_file_matches_the_defaults_it_was_made_with():
    with np.load(SHIPPED, allow_pickle=False) as data:
        recorded = str(data["settings"])
    assert recorded == settings_record(ENV, DEFAULT_LEARNERS, COMPARE_SEEDS, COMPARE_BUDGET), (
        "data/gridworld_curves.npz was made with other settings: run scripts/make_gridworld_curves.py"
    )
    assert load_curves(SHIPPED, ENV, DEFAULT_LEARNERS, COMPARE_SEEDS, COMPARE_BUDGET) is not None


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, COMPARE_SEEDS - 1])
def test_the_shipped_runs_are_what_training_gives_now(seed):
    shipped = load_curves(SHIPPED, ENV, DEFAULT_LEARNERS, COMPARE_SEEDS, COMPARE_BUDGET)
    assert shipped is not None
    for name, config in DEFAULT_LEARNERS.items():
        fresh = learning_curve(ENV, config, seed, COMPARE_BUDGET)
        np.testing.assert_array_equal(shipped[name][seed].env_steps, fresh.env_steps)
        np.testing.assert_allclose(shipped[name][seed].expected_return, fresh.expected_return, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("argument", "call"),
    [
        ("budget", lambda: learning_curve(ENV, ReinforceConfig(), 0, 0)),
        ("budget", lambda: learning_curve(ENV, ReinforceConfig(), 0, 10**12)),
        ("config", lambda: learning_curve(ENV, object(), 0, 100)),
        ("env", lambda: learning_curve("grid", ReinforceConfig(), 0, 100)),
        ("seed", lambda: learning_curve(ENV, ReinforceConfig(), -1, 100)),
        ("budget", lambda: LearningCurve(np.array([0, 5]), np.array([-1.0, -2.0])).until(0)),
        ("seeds", lambda: compare(ENV, {"A": [learning_curve(ENV, ReinforceConfig(), 0, 50)]}, 2, 50)),
        ("seeds", lambda: compare(ENV, {}, 0, 50)),
        ("points", lambda: compare(ENV, {}, 1, 50, points=0)),
        ("target_gap", lambda: compare(ENV, {}, 1, 50, target_gap=-0.1)),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()
