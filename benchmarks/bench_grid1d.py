"""Issue 3 speed figures: a million sampled grid episodes with their REINFORCE estimates,
and slider moves on the Gradient step page (server-side, AppTest, median).
Targets: 1M episodes ≤ 0.5 s; slider rerun ≤ 50 ms."""

from __future__ import annotations

import statistics
import time

import numpy as np
from _apptest_timing import page

from pgcore.grid1d import sample_episodes


def median_rerun(at, move, moves: int = 30, warmup: int = 3) -> tuple[float, float]:
    """Median wall and CPU (this process) milliseconds of ``move(at, i); at.run()``.

    CPU time is printed next to wall time because the machine is shared: when other jobs
    compete for the cores, wall time grows while the page's own work does not.
    """
    walls, cpus = [], []
    for i in range(warmup + moves):
        move(at, i)
        wall, cpu = time.perf_counter(), time.process_time()
        at.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert not at.exception, [e.value for e in at.exception]
        if i >= warmup:
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
    return statistics.median(walls), statistics.median(cpus)


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
    print(
        f"1,000,000 episodes sampled + returns * score_theta1: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s over {len(times)} runs (target <= 0.5 s)"
    )
    # (the section the page is opened on: only the chosen section is built)
    hill, trick = "The hill J(θ)", "Log-derivative trick"
    moves = {
        "theta1": (hill, lambda a, i: a.slider(key="gs_theta").set_value(-3.0 + (i % 30) * 0.2)),
        "theta2": (hill, lambda a, i: a.slider(key="gs_theta2").set_value(-3.0 + (i % 30) * 0.2)),
        "gamma": (hill, lambda a, i: a.slider(key="gs_gamma").set_value(0.4 + (i % 30) * 0.02)),
        "V-hat": (hill, lambda a, i: a.slider(key="gs_v").set_value(-0.9 + (i % 30) * 0.06)),
        "seed": (hill, lambda a, i: a.slider(key="gs_seed").set_value(10 + i)),
        "cap": (trick, lambda a, i: a.slider(key="gs_cap").set_value(i % 31)),
    }
    print("Gradient step slider move rerun, median of 30 distinct values (target <= 50 ms):")
    pages = {section: page("gradient_step", {"section": section}) for section in (hill, trick)}
    for name, (section, move) in moves.items():
        wall, cpu = median_rerun(pages[section], move)
        print(f"  {name:7s} wall {wall:5.1f} ms   cpu {cpu:5.1f} ms  ({section})")


if __name__ == "__main__":
    main()
