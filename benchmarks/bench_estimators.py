"""Measured speed of the Baselines page's math and of the page itself.

1. Per-episode gradient estimates per second on the grid (sampling + closed forms + baseline),
   for each baseline, at N = 1,000,000 and N = 10,000.
2. Server-side rerun time of app/views/baselines.py under AppTest with N = 10,000 samples:
   the median over 30 moves of each of a few sliders.

Run: .venv/bin/python benchmarks/bench_estimators.py
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working directory

import numpy as np  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from pgcore.estimators import BASELINES, gradient_samples  # noqa: E402


def estimates_per_second(baseline: str, n: int, repeats: int) -> float:
    gradient_samples(0.0, n, np.random.default_rng(0), baseline=baseline)  # warm-up
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        gradient_samples(0.0, n, np.random.default_rng(seed), baseline=baseline, reward_offset=0.5)
        times.append(time.perf_counter() - start)
    return n / min(times)


def page_rerun_ms(key: str, values: list[float], section: str) -> float:
    """Median rerun of the page's ``section`` (only the chosen section is built) while ``key`` moves."""
    at = AppTest.from_file(str(ROOT / "app" / "views" / "baselines.py"), default_timeout=120)
    at.query_params["section"] = section
    at.run()
    if any(s.key == "bl_n" for s in at.slider):
        at.slider(key="bl_n").set_value(10_000).run()
    assert not at.exception
    times = []
    for value in values:
        start = time.perf_counter()
        at.slider(key=key).set_value(value).run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception, [e.value for e in at.exception]
    return statistics.median(times)


def main() -> None:
    print("== per-episode estimates of dJ/dθ1 on the grid (sampling included, c = 0.5)")
    for n, repeats in ((1_000_000, 5), (10_000, 50)):
        for baseline in BASELINES + (0.5,):
            rate = estimates_per_second(baseline, n, repeats)
            print(f"  N = {n:>9,}  baseline = {str(baseline):<8}  {rate / 1e6:6.1f} million estimates/s")
    print("== app/views/baselines.py rerun under AppTest, N = 10,000 (median of 30 moves)")
    rng = np.random.default_rng(0)
    moves = {  # key: (values, the section it lives in)
        "bl_theta1": ([round(float(v), 1) for v in rng.uniform(-4, 4, 30)], "Five baselines"),
        "bl_b": ([round(float(v) * 20) / 20 for v in rng.uniform(-2, 3, 30)], "Five baselines"),
        "bl_offset": ([round(float(v), 1) for v in rng.uniform(-2, 2, 30)], "Five baselines"),
        "bl_bandit_b": ([round(float(v), 1) for v in rng.uniform(-15, 15, 30)], "Bandit, exact"),
        # re-runs the 80 learners
        "bl_alpha": ([float(v) for v in rng.choice(np.arange(0.5, 6.01, 0.5), 30)], "Learning race"),
    }
    for key, (values, section) in moves.items():
        print(f"  {key:<12} median rerun {page_rerun_ms(key, values, section):6.1f} ms  ({section})")


if __name__ == "__main__":
    main()
