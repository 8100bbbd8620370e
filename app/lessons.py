"""Lesson text worded from measured numbers, so that what a page says follows what was
measured (no sentence is written for one outcome and shown for another)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Medians this many times apart count as a clear difference with a handful of seeds.
CLEAR_RATIO = 1.5


def baseline_lesson(curves: list[Any]) -> str:
    """What the reference runs say about baselines, worded from their numbers: each variant
    changes one thing from plain REINFORCE (fast preset, same seeds)."""
    def stats(algo: str, preset: str, normalized: bool) -> tuple[int, int, float] | None:
        for ref in curves:
            if (ref.algo, ref.preset, bool(ref.normalized)) == (algo, preset, normalized) and ref.steps_to_solve:
                solved = [v for v in ref.steps_to_solve if v is not None]
                return len(solved), len(ref.steps_to_solve), float(np.median(solved)) if solved else float("inf")
        return None

    plain = stats("reinforce", "fast", False)
    if plain is None:
        return ""
    variants = [("the articles' episode-mean baseline", stats("reinforce_baseline", "fast", False)),
                ("a learned V(s) baseline", stats("reinforce_value", "fast", False)),
                ("normalized Ψ_t (a batch-mean baseline and a rescaled step)", stats("reinforce", "fast", True))]
    plain_note = " (the median of the seeds that solved)" if 0 < plain[0] < plain[1] else ""
    lines = [f"**One change at a time** (fast preset, the same {plain[1]} seeds): plain REINFORCE, with no "
             f"baseline and no normalization, solved {plain[0]} of {plain[1]}"
             + (f", median {plain[2]:,.0f} steps{plain_note}." if plain[0] else ".")]
    for label, found in variants:
        if found is None:
            continue
        solved, seeds, median = found
        if solved >= plain[0] and median * CLEAR_RATIO <= plain[2]:
            verdict = f"clearly fewer steps than plain REINFORCE ({plain[2] / median:.1f}× fewer)"
        elif solved >= plain[0] and median < plain[2]:
            verdict = "a little fewer steps than plain REINFORCE, within what seeds alone can change"
        else:
            verdict = "not faster than plain REINFORCE here"
        amount = f"median {median:,.0f} steps" if solved else "no solve"
        lines.append(f"- with {label}: solved {solved} of {seeds}, {amount}: {verdict}.")
    articles = stats("reinforce", "articles", True)
    if articles is not None:
        budget = next((r.max_env_steps for r in curves if r.preset == "articles" and r.max_env_steps), None)
        outcome = (f"solved {articles[0]} of {articles[1]} seeds" + (f" within {budget:,} steps" if budget else "")
                   + (f", median {articles[2]:,.0f}." if articles[0] else " here."))
        lines.append(f"- the articles' own settings (one episode per update, γ 0.9, Adam 3e-4): {outcome}")
    lines.append(f"Seeds vary a lot (see the band): with a handful of them, a median less than "
                 f"{CLEAR_RATIO:g}× apart is not a reliable ranking.")
    return "\n".join(lines)
