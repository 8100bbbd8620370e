"""Shared timing helpers for page benchmarks: median server-side rerun time under AppTest."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Streamlit reads .streamlit/config.toml from the working directory; measure the app as
# `make run` serves it (from the repository root), wherever the script was started.
ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402


def page(name: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "views" / f"{name}.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def median_rerun_ms(at: AppTest, move: Callable[[AppTest, int], Any], moves: int = 30, warmup: int = 3) -> float:
    """Median wall time of ``move(at, i).run()`` in milliseconds, after a few warm-up moves."""
    times = []
    for i in range(warmup + moves):
        move(at, i)
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        assert not at.exception, [e.value for e in at.exception]
        if i >= warmup:
            times.append(elapsed * 1000)
    return statistics.median(times)
