"""REINFORCE, PPO and GRPO side by side on the GridWorld, over seeds, scored by the exact J.

Each learner runs from its seed until it has used a budget of environment steps; after every
update its policy is scored with the exact J(θ) (dynamic programming, no sampling noise). A
run to a smaller budget is a prefix of a run to a larger one (the same seed draws the same
numbers, and the stopping rule only decides where to stop), so one run per (learner, seed)
to the largest budget serves every smaller budget by slicing.

Training all three learners on ten seeds to 50,000 env steps takes ~20 s on a 2-core host, so
the GridWorld page reads those runs from ``data/gridworld_curves.npz``, written by
``scripts/make_gridworld_curves.py``. The file records what made it (the env and each
learner's settings, as their reprs); ``load_curves`` returns None when those differ from the
caller's, and tests/test_gridworld_compare.py retrains seeds from the file and compares.

    >>> from pgcore.gridworld import GridWorld
    >>> from pgcore.gridworld_algos import ReinforceConfig
    >>> env = GridWorld()
    >>> curve = learning_curve(env, ReinforceConfig(), seed=0, budget=2_000)
    >>> int(curve.env_steps[0]), bool(curve.env_steps[-2] < 2_000 <= curve.env_steps[-1])
    (0, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pgcore._checks import instance, positive_float, positive_int
from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import MAX_UPDATES, AlgorithmConfig, ReinforceConfig, target_return, train
from pgcore.gridworld_grpo import GRPOConfig
from pgcore.gridworld_ppo import PPOConfig

__all__ = [
    "COMPARE_BUDGET",
    "COMPARE_SEEDS",
    "Comparison",
    "DEFAULT_LEARNERS",
    "LearningCurve",
    "compare",
    "learning_curve",
    "load_curves",
    "make_curves",
    "save_curves",
    "settings_record",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The largest budget and seed count the page offers, and what the shipped file holds.
COMPARE_BUDGET = 50_000
COMPARE_SEEDS = 10
_MAX_BUDGET = 10_000_000

#: The three learners with their tuned defaults (benchmarks/bench_gridworld.py measures them).
DEFAULT_LEARNERS: dict[str, AlgorithmConfig] = {
    "REINFORCE": ReinforceConfig(),
    "PPO": PPOConfig(),
    "GRPO": GRPOConfig(),
}


@dataclass(frozen=True)
class LearningCurve:
    """One learner's run. Fields: env_steps (U+1,) int, the environment steps used before the
    first update (0) and after each of U updates; expected_return (U+1,), the exact J(θ) then."""

    env_steps: IntArray
    expected_return: Array

    def until(self, budget: int) -> LearningCurve:
        """The run as it would have stopped at ``budget``: every update made while fewer than
        ``budget`` env steps had been used (so the last one may end past it)."""
        budget = positive_int("budget", budget, maximum=_MAX_BUDGET)
        # update u (1 … U) is made iff env_steps[u − 1] < budget
        keep = 1 + int(np.searchsorted(self.env_steps[:-1], budget, side="left"))
        return LearningCurve(self.env_steps[:keep], self.expected_return[:keep])


def learning_curve(env: GridWorld, config: AlgorithmConfig, seed: int, budget: int) -> LearningCurve:
    """Train ``config``'s learner from ``init_state(env, seed)`` until it has used at least
    ``budget`` env steps, recording the exact J after every update (``gridworld_algos.train``)."""
    budget = positive_int("budget", budget, maximum=_MAX_BUDGET)
    result = train(env, config, seed=seed, updates=MAX_UPDATES, budget=budget)
    return LearningCurve(result.env_steps, result.expected_return)


@dataclass(frozen=True)
class Comparison:
    """The learners over seeds on a common env-step grid.

    Fields: grid (P,) env steps 0 … budget; mean and std: {name: (P,)} of the exact J over
    seeds, J between updates being the J of the last update made (a step function);
    reached: {name: [env steps when J first came within the target, or None, per seed]};
    target: that J level.
    """

    grid: Array
    mean: dict[str, Array]
    std: dict[str, Array]
    reached: dict[str, list[int | None]]
    target: float


def compare(
    env: GridWorld,
    curves: Mapping[str, Sequence[LearningCurve]],
    seeds: int,
    budget: int,
    *,
    target_gap: float = 0.01,
    points: int = 201,
) -> Comparison:
    """Seeds 0 … seeds−1 of each learner in ``curves``, cut at ``budget`` (see
    ``LearningCurve.until``), on ``points`` grid points; "reached" is the first update with
    J ≥ J* − target_gap·|J*| made within the budget."""
    env = instance("env", env, GridWorld)
    seeds = positive_int("seeds", seeds)
    budget = positive_int("budget", budget, maximum=_MAX_BUDGET)
    points = positive_int("points", points, maximum=100_000)
    target = target_return(env, positive_float("target_gap", target_gap))
    grid = np.linspace(0.0, budget, points)
    mean, std, reached = {}, {}, {}
    for name, runs in curves.items():
        if len(runs) < seeds:
            raise ValueError(f"seeds: {seeds} asked for, {name} has {len(runs)} runs")
        on_grid, hits = [], []
        for run in runs[:seeds]:
            cut = run.until(budget)
            on_grid.append(cut.expected_return[np.searchsorted(cut.env_steps, grid, side="right") - 1])
            good = np.nonzero((cut.expected_return >= target) & (cut.env_steps <= budget))[0]
            hits.append(int(cut.env_steps[good[0]]) if good.size else None)
        stacked = np.vstack(on_grid)
        mean[name], std[name], reached[name] = stacked.mean(axis=0), stacked.std(axis=0), hits
    return Comparison(grid=grid, mean=mean, std=std, reached=reached, target=target)


def settings_record(env: GridWorld, configs: Mapping[str, AlgorithmConfig], seeds: int, budget: int) -> str:
    """What a set of runs depends on, as one string: the env, each learner's settings, the
    seeds and the budget. Runs made under another record are other runs."""
    parts = [repr(env), *(f"{name}: {config!r}" for name, config in configs.items())]
    return "\n".join([*parts, f"seeds 0-{seeds - 1}, budget {budget}"])


def make_curves(
    env: GridWorld, configs: Mapping[str, AlgorithmConfig], seeds: int = COMPARE_SEEDS, budget: int = COMPARE_BUDGET
) -> dict[str, list[LearningCurve]]:
    """Every learner on seeds 0 … seeds−1 to ``budget`` env steps."""
    seeds = positive_int("seeds", seeds, maximum=1_000)
    return {
        name: [learning_curve(env, config, seed, budget) for seed in range(seeds)] for name, config in configs.items()
    }


def save_curves(
    path: str | Path,
    env: GridWorld,
    configs: Mapping[str, AlgorithmConfig],
    curves: Mapping[str, Sequence[LearningCurve]],
    budget: int,
) -> None:
    """Write ``curves`` (``make_curves(env, configs, seeds, budget)``) and their settings
    record to an .npz file of plain arrays (it loads without pickle)."""
    seeds = min(len(runs) for runs in curves.values())
    arrays: dict[str, np.ndarray] = {"settings": np.array(settings_record(env, configs, seeds, budget))}
    for name, runs in curves.items():
        for seed, run in enumerate(runs[:seeds]):
            arrays[f"{name}/{seed}/env_steps"] = run.env_steps
            arrays[f"{name}/{seed}/expected_return"] = run.expected_return
    np.savez_compressed(path, allow_pickle=False, **arrays)


def load_curves(
    path: str | Path, env: GridWorld, configs: Mapping[str, AlgorithmConfig], seeds: int, budget: int
) -> dict[str, list[LearningCurve]] | None:
    """The runs in ``path`` if it exists and was made with exactly these settings, else None."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        if "settings" not in data.files or str(data["settings"]) != settings_record(env, configs, seeds, budget):
            return None
        return {
            name: [
                LearningCurve(
                    data[f"{name}/{seed}/env_steps"].astype(np.int64),
                    data[f"{name}/{seed}/expected_return"].astype(np.float64),
                )
                for seed in range(seeds)
            ]
            for name in configs
        }
