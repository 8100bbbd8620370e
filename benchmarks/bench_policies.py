"""Issue 2 speed figures: Home's first render and a slider move on Policies (server-side,
AppTest, median). Targets: Home ≤ 1 s, slider rerun ≤ 50 ms."""

from __future__ import annotations

import statistics
import subprocess
import sys

from _apptest_timing import ROOT, median_rerun_ms, page

FIRST_RENDER = r"""
import sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
assert not at.exception
print(time.perf_counter() - start)
"""


def home_first_render_s() -> float:
    """A fresh interpreter each time: imports and the first run are what a new visitor pays."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_RENDER, str(ROOT / "app" / "Home.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    firsts = [home_first_render_s() for _ in range(5)]
    print(
        f"Home first render (fresh process, incl. imports): median {statistics.median(firsts):.3f} s "
        f"over {len(firsts)} runs (target <= 1 s)"
    )
    at = page("policies")
    theta = median_rerun_ms(at, lambda a, i: a.slider(key="pol_theta").set_value(-5.0 + (i % 20) * 0.5))
    at = page("policies", {"section": "Softmax · K actions"})
    temp = median_rerun_ms(at, lambda a, i: a.slider(key="pol_temperature").set_value(0.5 + (i % 10) * 0.3))
    pref = median_rerun_ms(at, lambda a, i: a.slider(key="pol_h1").set_value(-2.0 + (i % 8) * 0.5))
    print(
        f"Policies slider move rerun, median of 30: theta {theta:.1f} ms, temperature {temp:.1f} ms, "
        f"preference {pref:.1f} ms (target <= 50 ms)"
    )


if __name__ == "__main__":
    main()
