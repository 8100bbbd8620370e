"""Issue 13 speed figures on the 5×5 GridWorld (prints measurements; asserts nothing).

Targets: the sampler ≥ 1 M env steps/s; REINFORCE, PPO and GRPO (default settings) each reach
an exact J within 1 % of the optimum (J ≥ J* − 0.01·|J*| = −69.69) in ≤ 2 s wall, median of
10 seeds; the env steps they used to get there are printed beside it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pgcore.gridworld import GridWorld
from pgcore.gridworld_algos import ReinforceConfig, train
from pgcore.gridworld_grpo import GRPOConfig
from pgcore.gridworld_ppo import PPOConfig
from pgcore.gridworld_sampling import sample_episodes

SEEDS = range(10)
MAX_UPDATES = 5000


def sampler_steps_per_s(env: GridWorld, n: int = 20_000, runs: int = 7) -> tuple[float, float]:
    """Median env steps per second of ``sample_episodes`` for the uniform and a half-trained policy."""
    figures = []
    for theta in (env.uniform_theta(), env.greedy_theta(1.5)):
        rates = []
        for seed in range(runs):
            start = time.perf_counter()
            episodes = sample_episodes(env, theta, n, np.random.default_rng(seed))
            rates.append(episodes.env_steps / (time.perf_counter() - start))
        figures.append(statistics.median(rates))
    return figures[0], figures[1]


def time_to_target(env: GridWorld, config: object) -> tuple[float, float | None, int]:
    """Median wall seconds and env steps to J ≥ J* − 1 % |J*| over SEEDS; and how many seeds missed."""
    walls, steps, missed = [], [], 0
    for seed in SEEDS:
        start = time.perf_counter()
        result = train(env, config, seed=seed, updates=MAX_UPDATES, stop_at_target=True)
        walls.append(time.perf_counter() - start)
        if result.steps_to_target is None:
            missed += 1
        else:
            steps.append(result.steps_to_target)
    return statistics.median(walls), (statistics.median(steps) if steps else None), missed


def main() -> None:
    env = GridWorld()
    uniform, trained = sampler_steps_per_s(env)
    print(
        f"sampler, 5×5, 20k episodes: {uniform / 1e6:.1f} M env steps/s (uniform π), {trained / 1e6:.1f} M (greedy-ish π)"
    )
    print(f"J* = {env.optimal_return():g}; target J ≥ {env.optimal_return() * 1.01:g}; median of {len(SEEDS)} seeds")
    configs = [
        ("REINFORCE (mean baseline)", ReinforceConfig()),
        ("REINFORCE (exact-V baseline)", ReinforceConfig(baseline="value")),
        ("REINFORCE (no baseline)", ReinforceConfig(baseline="none")),
        ("PPO (GAE)", PPOConfig()),
        ("GRPO (std, group mean)", GRPOConfig()),
        ("Dr. GRPO (leave-one-out, no std)", GRPOConfig(leave_one_out=True, scale_by_std=False, learning_rate=0.05)),
    ]
    for name, config in configs:
        wall, steps, missed = time_to_target(env, config)
        shown = "—" if steps is None else f"{steps:,.0f}"
        print(f"{name:34s} wall {wall:5.2f} s   env steps {shown:>8s}   missed {missed}/{len(SEEDS)}   {config}")


if __name__ == "__main__":
    main()
