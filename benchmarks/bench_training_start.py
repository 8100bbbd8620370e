"""Time from Train to the first visible progress (the first update reaching the server),
with a cold worker (spawned at the click) and with a warm spare (spawned and warmed up in
advance, as the server keeps one). Real training worker, fast preset, REINFORCE.

    python benchmarks/bench_training_start.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from app.training_jobs import Limits, RunRequest, TrainingRegistry, warm_up_training


def first_progress(registry: TrainingRegistry, seed: int) -> float:
    start = time.perf_counter()
    job = registry.submit(f"bench-{seed}", [RunRequest("fast", "reinforce", seed, {"max_env_steps": 3000})])
    assert job is not None
    while job.view().env_steps == 0:
        if not job.active:
            raise RuntimeError(f"the job ended without progress: {job.view().errors}")
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    job.cancel()
    job.wait(60)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'worker':<28} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, spares in (("cold (spawned at the click)", 0), ("warm spare", 1)):
        registry = TrainingRegistry(Limits(max_trainings=1), spares=spares, warm_up=warm_up_training)
        times = []
        for seed in range(args.repeats):
            if spares:
                time.sleep(8.0)  # a visitor reads the page meanwhile; the spare finishes warming up
            times.append(first_progress(registry, seed))
        registry.close()
        print(f"{label:<28} {np.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f}")


if __name__ == "__main__":
    main()
