"""Train every algorithm with the ``fast`` preset, plain REINFORCE with normalized Ψ_t (the
same preset, one change), and plain REINFORCE with the articles' preset, on fixed seeds, and
write data/reference_curves.json: the learning curves (env steps → mean return of the last
20 episodes) and confirmed steps to solve that the CartPole page shows and quotes.

    .venv/bin/python scripts/make_reference_curves.py            # ~1.5 minutes on 2 cores

Output (JSON, a few tens of KB):

* ``curves``: one entry per algorithm/preset, averaged over seeds on a common grid of
  env steps: ``name``, ``algo``, ``preset``, ``seeds``, ``env_steps``, ``mean``,
  ``low`` / ``high`` (min / max over seeds), ``steps_to_solve`` (per seed, confirmed by a
  check on 100 fresh episodes; null if not solved within the budget), ``window_solved_at``
  (per seed, when the 20-episode training mean first reached 475), ``max_env_steps``,
  ``normalized`` (Ψ_t normalized per batch).
* ``episode_mean_baseline_bias``: the articles' baseline term E[Σ_t b̄ ∇log π] measured at the
  fast preset's initial policy (see ``pgcore.cartpole.baseline_bias.measure_baseline_bias``).
* ``runs``: each seed's own curve, downsampled: ``algo``, ``preset``, ``seed``,
  ``env_steps`` (at episode ends), ``avg_return`` (20-episode mean), ``steps_to_solve``.

Runs do not stop at solve, so the curves show the plateau after it. Before the first
episode ends a run has no mean return; the grid value there is the first one it has.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from pgcore.cartpole.baseline_bias import measure_baseline_bias
from pgcore.cartpole.config import ALGOS, SOLVE_WINDOW, preset_config
from pgcore.cartpole.runs import running_mean
from pgcore.cartpole.training import train

ROOT = Path(__file__).resolve().parents[1]

SEEDS = {"fast": (0, 1, 2, 3, 4), "articles": (0, 1, 2)}
GRID_POINTS = 101
BIAS_EPISODES = 4000
RUN_POINTS = 120
BUDGETS = {"fast": 150_000, "articles": 200_000}
#: (preset, algorithm, overrides): each fast entry differs from plain REINFORCE in one thing.
PLAN = (
    [("fast", algo, {}) for algo in ALGOS]
    + [("fast", "reinforce", {"normalize_returns": True})]
    + [("articles", "reinforce", {})]
)


def downsample(n: int, points: int) -> np.ndarray:
    """≤ ``points`` indices spread evenly over range(n), always keeping the last."""
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(int))


def on_grid(end_steps: np.ndarray, avg: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The 20-episode mean as it stood at each grid step (the latest episode ended ≤ x)."""
    idx = np.searchsorted(end_steps, grid, side="right") - 1
    return avg[np.clip(idx, 0, None)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "reference_curves.json")
    args = parser.parse_args()

    curves, runs = [], []
    started = time.perf_counter()
    for preset, algo, overrides in PLAN:
        budget = BUDGETS[preset]
        grid = np.linspace(0, budget, GRID_POINTS).round().astype(int)
        on_common_grid, solves, windows = [], [], []
        for seed in SEEDS[preset]:
            config = preset_config(preset, algo, seed, max_env_steps=budget, stop_when_solved=False, **overrides)
            result = train(config)
            avg = running_mean(result.episode_returns, SOLVE_WINDOW)
            ends = result.episode_end_steps
            on_common_grid.append(on_grid(ends, avg, grid))
            solves.append(result.steps_to_solve)
            windows.append(result.window_solved_at)
            keep = downsample(ends.size, RUN_POINTS)
            runs.append(
                {
                    "algo": algo,
                    "preset": preset,
                    "normalized": config.normalize_returns,
                    "seed": seed,
                    "env_steps": ends[keep].tolist(),
                    "avg_return": np.round(avg[keep], 1).tolist(),
                    "steps_to_solve": result.steps_to_solve,
                    "window_solved_at": result.window_solved_at,
                }
            )
            print(
                f"{preset:>8} {algo:<20} seed {seed}: steps_to_solve {result.steps_to_solve} "
                f"({result.wall_seconds:.1f} s)",
                flush=True,
            )
        stacked = np.vstack(on_common_grid)
        normalized = preset_config(preset, algo, 0, **overrides).normalize_returns
        label = preset + (", normalized Ψ" if overrides.get("normalize_returns") else "")
        curves.append(
            {
                "name": f"{algo} ({label})",
                "algo": algo,
                "preset": preset,
                "normalized": normalized,
                "seeds": list(SEEDS[preset]),
                "max_env_steps": budget,
                "env_steps": grid.tolist(),
                "mean": np.round(stacked.mean(axis=0), 1).tolist(),
                "low": np.round(stacked.min(axis=0), 1).tolist(),
                "high": np.round(stacked.max(axis=0), 1).tolist(),
                "steps_to_solve": solves,
                "window_solved_at": windows,
            }
        )

    bias = measure_baseline_bias(preset_config("fast", "reinforce_baseline", 0), episodes=BIAS_EPISODES)
    print(f"episode-mean baseline term at the initial policy: {bias}", flush=True)
    document = {
        "description": (
            "CartPole-v1 learning curves: env steps vs mean undiscounted return of the last "
            "20 finished episodes; solved = after that mean reaches 475, the policy averages >= 475 "
            "on 100 fresh episodes (steps_to_solve is the env step of that check). Made by "
            "scripts/make_reference_curves.py with pgcore.cartpole."
        ),
        "solve_window": SOLVE_WINDOW,
        "solve_threshold": 475.0,
        "curves": curves,
        "episode_mean_baseline_bias": {
            "preset": "fast",
            "seed": 0,
            "policy": "initial",
            **dataclasses.asdict(bias),
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    size_kb = args.out.stat().st_size / 1024
    print(f"wrote {args.out} ({size_kb:.0f} KB) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
