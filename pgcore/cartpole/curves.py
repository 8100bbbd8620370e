"""Learning curves across runs: a mean ± std band over seeds, a per-algorithm summary, and
the reference curves ("what good looks like") that ``scripts/make_reference_curves.py``
writes to ``data/reference_curves.json``. numpy and json only — no torch, no UI.

Example:
    >>> curves, notes = parse_reference_curves(
    ...     '{"curves": [{"name": "reinforce (fast)", "algo": "reinforce", "seeds": [0, 1],'
    ...     ' "env_steps": [0, 1000], "mean": [20.0, 60.0]}]}')
    >>> curves[0].algo, curves[0].note, curves[0].mean.tolist(), notes
    ('reinforce', '2 seeds', [20.0, 60.0], [])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore.cartpole.config import ALGOS
from pgcore.cartpole.runs import RunData, downsample_indices, float_array, reject_constant

__all__ = [
    "SeedBand",
    "seed_band",
    "AlgoSummary",
    "summarize_by_algo",
    "ReferenceCurve",
    "parse_reference_curves",
]

Array = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------------
# Comparing runs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedBand:
    """Mean ± one standard deviation across runs of the 20-episode mean return.

    Attributes:
        env_steps: the common grid, shape ``(P,)``.
        mean, low, high: shape ``(P,)``; low/high = mean ∓ std, clipped to [min, max] of
            the runs at that step.
        runs: how many runs were combined.
    """

    env_steps: Array
    mean: Array
    low: Array
    high: Array
    runs: int


def seed_band(runs: list[RunData], points: int = 200) -> SeedBand | None:
    """Combine runs on a common env-step grid; None if fewer than two runs have episodes.

    Each run contributes, at env step s, its 20-episode mean return as of the last episode
    that ended at or before s; a run that stopped (solved, or budget) keeps its last value.
    The grid starts where every run has finished its first episode.
    """
    usable = [r for r in runs if r.episode_returns.size]
    if len(usable) < 2:
        return None
    start = max(float(r.episode_end_steps[0]) for r in usable)
    stop = max(float(r.env_steps if r.env_steps is not None else r.episode_end_steps[-1]) for r in usable)
    grid = np.linspace(start, max(stop, start + 1.0), points)
    curves = np.empty((len(usable), points))
    for i, run in enumerate(usable):
        idx = np.searchsorted(run.episode_end_steps, grid, side="right") - 1
        curves[i] = run.mean_last_20[np.clip(idx, 0, None)]
    mean = curves.mean(axis=0)
    std = curves.std(axis=0)
    low = np.maximum(mean - std, curves.min(axis=0))
    high = np.minimum(mean + std, curves.max(axis=0))
    return SeedBand(grid, mean, low, high, len(usable))


@dataclass(frozen=True)
class AlgoSummary:
    """What the runs of one algorithm measured.

    Attributes:
        algo: the algorithm.
        runs: number of runs.
        solved: how many solved.
        median_steps_to_solve: over the solved runs (None if none solved).
        min_steps_to_solve, max_steps_to_solve: over the solved runs.
        median_weight_variance: median over all updates of all runs of Var(Ψ_t).
        median_grad_variance: same for the per-step gradient variance, if measured.
    """

    algo: str
    runs: int
    solved: int
    median_steps_to_solve: float | None
    min_steps_to_solve: int | None
    max_steps_to_solve: int | None
    median_weight_variance: float | None
    median_grad_variance: float | None


def summarize_by_algo(runs: list[RunData]) -> list[AlgoSummary]:
    """One :class:`AlgoSummary` per algorithm present, in :data:`ALGOS` order."""
    out = []
    for algo in ALGOS:
        mine = [r for r in runs if r.algo == algo]
        if not mine:
            continue
        solved = [r.steps_to_solve for r in mine if r.steps_to_solve is not None]
        variances = np.concatenate([r.weight_variance for r in mine])
        grads = [r.grad_variance for r in mine if r.grad_variance is not None and r.grad_variance.size]
        out.append(
            AlgoSummary(
                algo=algo,
                runs=len(mine),
                solved=len(solved),
                median_steps_to_solve=float(np.median(solved)) if solved else None,
                min_steps_to_solve=min(solved) if solved else None,
                max_steps_to_solve=max(solved) if solved else None,
                median_weight_variance=float(np.median(variances)) if variances.size else None,
                median_grad_variance=float(np.median(np.concatenate(grads))) if grads else None,
            )
        )
    return out


# ---------------------------------------------------------------------------------------
# Reference curves ("what good looks like")
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceCurve:
    """A precomputed learning curve: mean (and optional band) of the 20-episode mean
    return over env steps, with how it was made."""

    name: str
    algo: str | None
    env_steps: Array
    mean: Array
    low: Array | None
    high: Array | None
    note: str
    preset: str | None = None
    steps_to_solve: tuple[int | None, ...] = ()
    """One entry per seed: env steps to solve (confirmed), None for a seed that did not."""
    normalized: bool | None = None
    """Whether Ψ_t was normalized per batch (None if the file does not say)."""
    max_env_steps: int | None = None
    """The budget each seed had."""


MAX_REFERENCE_CURVES = 16
MAX_REFERENCE_POINTS = 2000


def parse_reference_curves(data: bytes | str, *, max_bytes: int = 5_000_000) -> tuple[list[ReferenceCurve], list[str]]:
    """Read the file ``scripts/make_reference_curves.py`` writes: every usable curve, plus a
    note for each part that is not (the page shows the notes instead of failing).

    The file is a JSON object whose ``curves`` is a list of entries, each with ``name``,
    ``algo``, ``preset``, ``normalized``, ``seeds`` (the list of seeds), ``max_env_steps``,
    ``env_steps`` and ``mean`` (equal length, finite), ``low`` / ``high`` (min / max over the
    seeds, optional) and ``steps_to_solve`` (one per seed, null for a seed that did not
    solve). An entry without usable ``env_steps`` and ``mean`` is skipped with a note;
    arrays longer than 2,000 points are thinned; at most 16 curves are read.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        return [], [f"reference file is larger than {max_bytes / 1e6:.0f} MB; ignored"]
    try:
        obj = json.loads(bytes(data).decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        return [], [f"reference file is not readable JSON ({str(err)[:80]})"]
    if not isinstance(obj, dict):
        return [], ["reference file is not a JSON object"]
    entries = obj.get("curves")
    if not isinstance(entries, list):
        return [], ["reference file has no 'curves' list"]
    curves: list[ReferenceCurve] = []
    notes: list[str] = []
    for i, entry in enumerate(entries[:MAX_REFERENCE_CURVES]):
        if not isinstance(entry, dict):
            notes.append(f"reference curve {i + 1} is not an object; skipped")
            continue
        curve = _reference_curve(str(entry.get("name", f"curve {i + 1}")), entry, notes)
        if curve is not None:
            curves.append(curve)
    if not curves and not notes:
        notes.append("reference file has no curves")
    return curves, notes


def _reference_curve(name: str, entry: dict[str, Any], notes: list[str]) -> ReferenceCurve | None:
    """One entry of ``curves`` as a :class:`ReferenceCurve`, or None with a note saying why."""
    shown = repr(name[:30])
    if entry.get("env_steps") is None or entry.get("mean") is None:
        notes.append(f"reference curve {shown} has no env_steps/mean arrays; skipped")
        return None
    try:
        arrays = {
            key: float_array(key, entry[key], max_size=1_000_000)
            for key in ("env_steps", "mean", "low", "high")
            if entry.get(key) is not None
        }
    except ValueError as err:
        notes.append(f"reference curve {shown}: {err}; skipped")
        return None
    size = arrays["env_steps"].size
    if size == 0 or any(array.size != size for array in arrays.values()):
        notes.append(f"reference curve {shown} has arrays of different lengths; skipped")
        return None
    idx = downsample_indices(size, MAX_REFERENCE_POINTS)
    low, high = arrays.get("low"), arrays.get("high")
    algo, seeds, preset = entry.get("algo"), entry.get("seeds"), entry.get("preset")
    solves, normalized, budget = entry.get("steps_to_solve"), entry.get("normalized"), entry.get("max_env_steps")
    return ReferenceCurve(
        name=name,
        algo=algo if algo in ALGOS else None,
        env_steps=arrays["env_steps"][idx],
        mean=arrays["mean"][idx],
        low=None if low is None else low[idx],
        high=None if high is None else high[idx],
        note=f"{len(seeds)} seeds" if isinstance(seeds, list) else "",
        preset=preset[:30] if isinstance(preset, str) else None,
        steps_to_solve=tuple(_steps(v) for v in solves[:100]) if isinstance(solves, list) else (),
        normalized=normalized if isinstance(normalized, bool) else None,
        max_env_steps=_steps(budget) if isinstance(budget, int) else None,
    )


def _steps(value: Any) -> int | None:
    """A positive step count from JSON, or None (null, text, NaN, ≤ 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return int(value)
    return None
