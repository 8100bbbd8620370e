"""Train REINFORCE, PPO and GRPO (the GridWorld page's defaults) on seeds 0-9 to 50,000 env
steps each and write data/gridworld_curves.npz, which the page's Compare section reads.

    .venv/bin/python scripts/make_gridworld_curves.py        # ~20 s on 2 cores

Run it again after changing a learner's defaults or the page's grid: the page finds
the file's settings record different from its own and trains on demand instead.
"""

from __future__ import annotations

import time
from pathlib import Path

from pgcore.gridworld import GridWorld
from pgcore.gridworld_compare import COMPARE_BUDGET, COMPARE_SEEDS, DEFAULT_LEARNERS, make_curves, save_curves

OUT = Path(__file__).resolve().parents[1] / "data" / "gridworld_curves.npz"


def main() -> None:
    start = time.perf_counter()
    env = GridWorld()  # the article's grid, as on the page
    curves = make_curves(env, DEFAULT_LEARNERS, COMPARE_SEEDS, COMPARE_BUDGET)
    save_curves(OUT, env, DEFAULT_LEARNERS, curves, COMPARE_BUDGET)
    updates = sum(len(run.env_steps) - 1 for runs in curves.values() for run in runs)
    print(f"{OUT.name}: {updates:,} updates over {COMPARE_SEEDS} seeds in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
