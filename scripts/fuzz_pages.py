"""Exploratory fuzzing beyond CI: many random widget settings per page, several seeds.

    .venv/bin/python scripts/fuzz_pages.py --combinations 500 --seeds 1 2 3

Prints, per page and seed, how many combinations ran and the first failure (if any).
CI runs the fixed 200-combination version in tests/test_pages_robust.py.
"""

from __future__ import annotations

import argparse
import sys
import time

from app.pages_index import available_pages
from devtools.app_testing import fuzz_page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combinations", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    failures = 0
    for info in available_pages():
        if info.default:
            continue
        name = info.file.removesuffix(".py")
        for seed in args.seeds:
            start = time.perf_counter()
            try:
                tried = fuzz_page(name, args.combinations, seed)
                print(
                    f"{name:20s} seed {seed}: {args.combinations} combinations over {len(tried)} controls, no failure ({time.perf_counter() - start:.0f} s)"
                )
            except AssertionError as err:
                failures += 1
                print(f"{name:20s} seed {seed}: FAILED: {err}\n    cause: {err.__cause__}")
    print(f"total failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
