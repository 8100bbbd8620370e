"""Issue 3 speed figures: a million sampled grid episodes with their REINFORCE estimates,
and slider moves on the Gradient step page (server-side, AppTest, median).
Targets: 1M episodes ≤ 0.5 s; slider rerun ≤ 50 ms."""

from __future__ import annotations

import statistics
import time

import numpy as np

from _apptest_timing import median_rerun_ms, page
from pgcore.grid1d import sample_episodes


def million_episodes_s(runs: int = 7) -> list[float]:
    """Sampling plus returns · score for 10⁶ episodes, a fresh seed each run."""
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        episodes = sample_episodes(0.0, 1_000_000, np.random.default_rng(seed))
        estimates = episodes.returns * episodes.score_theta1
        float(estimates.mean())
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    times = million_episodes_s()
    print(f"1,000,000 episodes sampled + returns * score_theta1: median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s over {len(times)} runs (target <= 0.5 s)")
    at = page("gradient_step")
    theta = median_rerun_ms(at, lambda a, i: a.slider(key="gs_theta").set_value(-3.0 + (i % 30) * 0.2))
    gamma = median_rerun_ms(at, lambda a, i: a.slider(key="gs_gamma").set_value(0.5 + (i % 25) * 0.02))
    v_hat = median_rerun_ms(at, lambda a, i: a.slider(key="gs_v").set_value(-0.9 + (i % 30) * 0.06))
    seed = median_rerun_ms(at, lambda a, i: a.slider(key="gs_seed").set_value(10 + i))
    print(f"Gradient step slider move rerun, median of 30 distinct values: theta1 {theta:.1f} ms, "
          f"gamma {gamma:.1f} ms, V-hat {v_hat:.1f} ms, seed {seed:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
