"""CartPole training runs as plain data: what the CartPole page stores, compares, draws,
downloads and accepts back as an upload. numpy and json only — no torch, no UI.

A run is a :class:`RunData`: the episodes it finished (return, length, the env step at
which each ended) and one row per update (env steps so far, the variance of the weights
Ψ_t it used, entropy, …). :func:`run_to_json` / :func:`run_from_json` round-trip it;
:func:`run_from_json` is strict because it reads files from strangers: a size cap, an
exact schema, finite numbers only, consistent lengths, and a "solved" claim that must
match the run's own episodes. Anything else raises ``ValueError`` with a readable reason.

The "solved" rule is the training core's (:mod:`pgcore.cartpole`), restated here so that
pages can use it without importing torch: solved at the first moment the mean
undiscounted return of the last 20 finished episodes is ≥ 475.

Example:
    >>> run = RunData(name="demo", algo="reinforce", seed=0, preset="fast", config={},
    ...               episode_returns=[20.0] * 3, episode_lengths=[20] * 3,
    ...               episode_end_steps=[20, 40, 60], update_steps=[60],
    ...               weight_variance=[4.0], weight_mean=[9.0], entropy=[0.69])
    >>> run_from_json(run_to_json(run)).episode_returns.tolist()
    [20.0, 20.0, 20.0]
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pgcore._checks import finite_array, finite_float, positive_int, whole_number
from pgcore.cartpole_config import ALGOS, PRESETS, SOLVE_THRESHOLD, SOLVE_WINDOW, preset_config

__all__ = [
    "ALGOS",
    "ALGO_LABELS",
    "SOLVE_WINDOW",
    "SOLVE_THRESHOLD",
    "RUN_FORMAT",
    "MAX_RUN_BYTES",
    "PAGE_FIELDS",
    "read_presets",
    "RunData",
    "running_mean",
    "first_solve_step",
    "run_to_dict",
    "run_to_json",
    "run_from_json",
    "run_to_csv",
    "downsample_indices",
    "SeedBand",
    "seed_band",
    "AlgoSummary",
    "summarize_by_algo",
    "CartPoleFrames",
    "cartpole_frames",
    "ReferenceCurve",
    "parse_reference_curves",
]

ALGO_LABELS = {
    "reinforce": "REINFORCE",
    "reinforce_baseline": "REINFORCE + mean baseline",
    "reinforce_value": "REINFORCE + value baseline",
    "actor_critic": "Actor-critic",
}
RUN_FORMAT = "pgcore.cartpole.run"
RUN_FORMAT_VERSION = 2  # 2: steps_to_solve is the confirmed solve; window_solved_at, eval_mean_return
MAX_RUN_BYTES = 2_000_000
MAX_EPISODES = 50_000
MAX_UPDATES = 50_000
MAX_EPISODE_LENGTH = 10_000
MAX_NAME = 80
STOP_REASONS = ("solved", "max_env_steps", "max_wall_seconds", "cancelled", "uploaded")

#: The hyperparameters the page exposes (TrainConfig field names).
PAGE_FIELDS = (
    "gamma",
    "policy_lr",
    "value_lr",
    "hidden_size",
    "num_envs",
    "rollout_steps",
    "entropy_coef",
    "normalize_returns",
)


def read_presets() -> dict[str, dict[str, dict[str, Any]]]:
    """Every preset's values for the fields in :data:`PAGE_FIELDS`: preset → algo → field →
    value, straight from :mod:`pgcore.cartpole_config` (torch-free, so the page can show
    them without importing torch, and they can never drift from what training uses)."""
    return {
        name: {algo: {f: getattr(preset_config(name, algo), f) for f in PAGE_FIELDS} for algo in ALGOS}
        for name in PRESETS
    }


Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------


def running_mean(returns: npt.ArrayLike, window: int = SOLVE_WINDOW) -> Array:
    """Mean of the last ``window`` values at each index (fewer at the start).

    Args:
        returns: shape ``(E,)``.
        window: how many values to average, ≥ 1.

    Returns:
        shape ``(E,)``: ``out[i] = mean(returns[max(0, i − window + 1) : i + 1])``.
    """
    x = finite_array("returns", returns)
    if x.ndim != 1:
        raise ValueError(f"returns must be 1-D, got shape {x.shape}")
    window = positive_int("window", window, maximum=1_000_000)
    cumsum = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, x.size + 1)
    start = np.maximum(idx - int(window), 0)
    return (cumsum[idx] - cumsum[start]) / (idx - start)


def first_solve_step(
    returns: npt.ArrayLike,
    end_steps: npt.ArrayLike,
    window: int = SOLVE_WINDOW,
    threshold: float = SOLVE_THRESHOLD,
) -> int | None:
    """The env step at which the mean of the last ``window`` finished episodes first
    reaches ``threshold`` (needs at least ``window`` episodes), or None.

    Args:
        returns: episode returns in order of finishing, shape ``(E,)``.
        end_steps: env steps at each episode's end, shape ``(E,)``.
    """
    x = finite_array("returns", returns)
    steps = finite_array("end_steps", end_steps)
    window = positive_int("window", window, maximum=1_000_000)
    threshold = finite_float("threshold", threshold)
    if x.shape != steps.shape or x.ndim != 1:
        raise ValueError(f"returns and end_steps must be 1-D of equal length, got {x.shape} and {steps.shape}")
    if x.size < window:
        return None
    cumsum = np.concatenate([[0.0], np.cumsum(x)])
    window_means = (cumsum[window:] - cumsum[:-window]) / window  # episodes window-1 … E-1
    hits = np.flatnonzero(window_means >= threshold)
    return None if hits.size == 0 else int(steps[hits[0] + window - 1])


def downsample_indices(n: int, max_points: int) -> IntArray:
    """At most ``max_points`` indices into ``range(n)``, evenly spaced, first and last kept.

    Returns all of ``0 … n−1`` when ``n ≤ max_points``.
    """
    n = whole_number("n", n, 0, 10**12)
    max_points = whole_number("max_points", max_points, 2, 10**7)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


# ---------------------------------------------------------------------------------------
# A run
# ---------------------------------------------------------------------------------------


def _float_array(name: str, value: Any, *, max_size: int) -> Array:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a list of numbers") from err
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat list of numbers, got shape {array.shape}")
    if array.size > max_size:
        raise ValueError(f"{name} has {array.size} entries; at most {max_size} are accepted")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains values that are not finite numbers")
    if np.any(np.abs(array) > 1e12):
        raise ValueError(f"{name} contains absurdly large values (> 1e12)")
    return array


def _int_array(name: str, value: Any, *, max_size: int) -> IntArray:
    array = _float_array(name, value, max_size=max_size)
    if np.any(array != np.round(array)):
        raise ValueError(f"{name} must contain whole numbers")
    return array.astype(np.int64)


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def _text(name: str, value: Any, max_len: int = MAX_NAME) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{name} contains control characters")
    return value


@dataclass(frozen=True)
class RunData:
    """One finished (or stopped) CartPole training run, as numbers.

    Attributes:
        name: unique label within a session, e.g. ``"reinforce · seed 0 · #3"``.
        algo: one of :data:`ALGOS`.
        seed: the run's seed.
        preset: ``fast``, ``articles``, or free text for uploads.
        config: the full training configuration (JSON scalars only).
        episode_returns: undiscounted return of every finished episode, shape ``(E,)``.
        episode_lengths: their lengths, shape ``(E,)``.
        episode_end_steps: env steps at each episode's end, shape ``(E,)``, nondecreasing.
        update_steps: env steps after each update, shape ``(U,)``, nondecreasing.
        weight_variance: variance over each update's batch of the weights Ψ_t before
            normalization (returns for REINFORCE, advantages otherwise), shape ``(U,)``.
        weight_mean: their mean, shape ``(U,)``.
        entropy: mean policy entropy per update (nats), shape ``(U,)``.
        grad_variance: per-update tr Cov of per-step gradient contributions, shape ``(U,)``,
            or None when it was not measured.
        env_steps: env steps taken in total (≥ the last episode's end step).
        wall_seconds: training time.
        stop_reason: ``solved``, ``max_env_steps``, ``max_wall_seconds``, ``cancelled``
            or ``uploaded``.
        group: runs launched together (several seeds, or all algorithms) share a group.
        steps_to_solve: env steps at which a check on 100 fresh episodes confirmed the policy
            averages ≥ 475 (see :mod:`pgcore.cartpole_config`), or None.
        eval_mean_return: that check's mean return (the latest check's if none passed), or None.
        window_solved_at: derived from the episodes by :func:`first_solve_step`: when the
            20-episode training mean first reached 475 (the trigger for a check).
    """

    name: str
    algo: str
    seed: int
    preset: str
    config: dict[str, Any]
    episode_returns: Array
    episode_lengths: IntArray
    episode_end_steps: IntArray
    update_steps: IntArray
    weight_variance: Array
    weight_mean: Array
    entropy: Array
    grad_variance: Array | None = None
    env_steps: int | None = None
    wall_seconds: float = 0.0
    stop_reason: str = "max_env_steps"
    group: str = ""
    steps_to_solve: int | None = None
    eval_mean_return: float | None = None
    window_solved_at: int | None = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "name", _text("name", self.name))
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {', '.join(ALGOS)}; got {self.algo!r}")
        set_(self, "seed", _whole("seed", self.seed, 0, 2**32 - 1))
        set_(self, "preset", _text("preset", self.preset))
        set_(self, "group", _text("group", self.group, 2 * MAX_NAME))
        if not isinstance(self.config, dict) or len(self.config) > 64:
            raise ValueError("config must be a mapping of at most 64 settings")
        for key, value in self.config.items():
            _text("config key", key)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"config[{key!r}] is not finite")
            if not isinstance(value, (bool, int, float, str)) and value is not None:
                raise ValueError(f"config[{key!r}] must be a number, text, true/false or null")
            if isinstance(value, str):
                _text(f"config[{key!r}]", value)
        returns = _float_array("episode_returns", self.episode_returns, max_size=MAX_EPISODES)
        lengths = _int_array("episode_lengths", self.episode_lengths, max_size=MAX_EPISODES)
        ends = _int_array("episode_end_steps", self.episode_end_steps, max_size=MAX_EPISODES)
        if not returns.size == lengths.size == ends.size:
            raise ValueError("episode_returns, episode_lengths and episode_end_steps must have the same length")
        if lengths.size and (lengths.min() < 1 or lengths.max() > MAX_EPISODE_LENGTH):
            raise ValueError(f"episode_lengths must be in [1, {MAX_EPISODE_LENGTH}]")
        if ends.size and (ends.min() < 1 or np.any(np.diff(ends) < 0)):
            raise ValueError("episode_end_steps must be positive and nondecreasing")
        updates = _int_array("update_steps", self.update_steps, max_size=MAX_UPDATES)
        if updates.size and (updates.min() < 0 or np.any(np.diff(updates) < 0)):
            raise ValueError("update_steps must be non-negative and nondecreasing")
        per_update = {}
        for name in ("weight_variance", "weight_mean", "entropy"):
            per_update[name] = _float_array(name, getattr(self, name), max_size=MAX_UPDATES)
        grad_variance = self.grad_variance
        if grad_variance is not None:
            per_update["grad_variance"] = grad_variance = _float_array(
                "grad_variance", grad_variance, max_size=MAX_UPDATES
            )
        for name, array in per_update.items():
            if array.size != updates.size:
                raise ValueError(f"{name} must have one entry per update ({updates.size}), got {array.size}")
        if np.any(per_update["weight_variance"] < 0) or (grad_variance is not None and np.any(grad_variance < 0)):
            raise ValueError("variances must be >= 0")
        last_end = int(ends[-1]) if ends.size else 0
        last_update = int(updates[-1]) if updates.size else 0
        env_steps = max(last_end, last_update) if self.env_steps is None else self.env_steps
        env_steps = _whole("env_steps", env_steps, 0, 10**9)
        if env_steps < max(last_end, last_update):
            raise ValueError("env_steps is smaller than the steps its episodes and updates took")
        wall = self.wall_seconds
        if (
            isinstance(wall, bool)
            or not isinstance(wall, (int, float, np.floating))
            or not math.isfinite(wall)
            or not 0 <= wall <= 1e7
        ):
            raise ValueError("wall_seconds must be a finite number of seconds >= 0")
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {', '.join(STOP_REASONS)}; got {self.stop_reason!r}")
        set_(self, "episode_returns", returns)
        set_(self, "episode_lengths", lengths)
        set_(self, "episode_end_steps", ends)
        set_(self, "update_steps", updates)
        for name, array in per_update.items():
            set_(self, name, array)
        set_(self, "env_steps", env_steps)
        set_(self, "wall_seconds", float(wall))
        window = first_solve_step(returns, ends)
        solve = self.steps_to_solve
        if solve is not None:
            solve = _whole("steps_to_solve", solve, 1, 10**9)
            if window is None or not window <= solve <= env_steps:
                raise ValueError(
                    f"steps_to_solve {solve} is not supported by the run's own episodes: a check can "
                    f"only follow the 20-episode mean reaching 475 (at {window}) and come before "
                    f"the run ended ({env_steps})"
                )
        score = self.eval_mean_return
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, (int, float, np.floating)) or not 0 <= score <= 500:
                raise ValueError("eval_mean_return must be a number from 0 to 500")
            score = float(score)
        if solve is not None and (score is None or score < SOLVE_THRESHOLD):
            raise ValueError(f"steps_to_solve is set but eval_mean_return ({score}) is below {SOLVE_THRESHOLD:g}")
        set_(self, "steps_to_solve", solve)
        set_(self, "eval_mean_return", score)
        set_(self, "window_solved_at", window)

    @property
    def solved(self) -> bool:
        return self.steps_to_solve is not None

    @property
    def mean_last_20(self) -> Array:
        """Running mean of the last 20 episode returns, shape ``(E,)``."""
        return running_mean(self.episode_returns)

    @property
    def label(self) -> str:
        return ALGO_LABELS[self.algo]


_RUN_KEYS = {
    "format",
    "format_version",
    "name",
    "algo",
    "seed",
    "preset",
    "config",
    "group",
    "env_steps",
    "wall_seconds",
    "stop_reason",
    "steps_to_solve",
    "window_solved_at",
    "eval_mean_return",
    "episodes",
    "updates",
}
_EPISODE_KEYS = {"returns", "lengths", "end_steps"}
_UPDATE_KEYS = {"env_steps", "weight_variance", "weight_mean", "entropy", "grad_variance"}


def run_to_dict(run: RunData) -> dict[str, Any]:
    """The JSON-ready dict that :func:`run_from_json` reads back."""
    return {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "name": run.name,
        "algo": run.algo,
        "seed": run.seed,
        "preset": run.preset,
        "group": run.group,
        "config": dict(run.config),
        "env_steps": run.env_steps,
        "wall_seconds": round(run.wall_seconds, 3),
        "stop_reason": run.stop_reason,
        "steps_to_solve": run.steps_to_solve,
        "window_solved_at": run.window_solved_at,
        "eval_mean_return": run.eval_mean_return,
        "episodes": {
            "returns": run.episode_returns.tolist(),
            "lengths": run.episode_lengths.tolist(),
            "end_steps": run.episode_end_steps.tolist(),
        },
        "updates": {
            "env_steps": run.update_steps.tolist(),
            "weight_variance": run.weight_variance.tolist(),
            "weight_mean": run.weight_mean.tolist(),
            "entropy": run.entropy.tolist(),
            "grad_variance": None if run.grad_variance is None else run.grad_variance.tolist(),
        },
    }


def run_to_json(run: RunData) -> str:
    """The run as compact JSON text (finite numbers only, so strict JSON)."""
    return json.dumps(run_to_dict(run), separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> Any:
    # the message avoids the literal words (NaN, Infinity): the page shows it to the learner
    raise ValueError("the file contains a value that is not a finite number, which JSON does not allow")


def run_from_json(data: bytes | str, *, max_bytes: int = MAX_RUN_BYTES) -> RunData:
    """Parse and validate a run file written by :func:`run_to_json`.

    Raises:
        ValueError: with a readable reason for anything else: too large, not UTF-8, not
            JSON, NaN/Infinity, unknown or missing fields, wrong types or sizes, arrays of
            different lengths, or a ``window_solved_at``/``steps_to_solve`` its own episodes
            do not support.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"expected the file's bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise ValueError(f"the file is {len(data) / 1e6:.1f} MB; runs up to {max_bytes / 1e6:.1f} MB are accepted")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError("the file is not UTF-8 text (is it a run JSON downloaded from this page?)") from err
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"the file is not valid JSON ({err.msg} at line {err.lineno})") from err
    except RecursionError as err:
        raise ValueError("the file is nested too deeply to be a run") from err
    if not isinstance(obj, dict):
        raise ValueError("the file's JSON is not an object")
    if obj.get("format") != RUN_FORMAT:
        raise ValueError(f"not a {RUN_FORMAT} file (its 'format' is {str(obj.get('format'))[:40]!r})")
    if obj.get("format_version") != RUN_FORMAT_VERSION:
        raise ValueError(f"unsupported format_version {str(obj.get('format_version'))[:20]!r}")
    _exact_keys("the run", obj, _RUN_KEYS)
    episodes, updates = obj["episodes"], obj["updates"]
    if not isinstance(episodes, dict) or not isinstance(updates, dict):
        raise ValueError("'episodes' and 'updates' must be objects")
    _exact_keys("'episodes'", episodes, _EPISODE_KEYS)
    _exact_keys("'updates'", updates, _UPDATE_KEYS)
    for section, values in (("episodes", episodes), ("updates", updates)):
        for key, value in values.items():
            if value is not None and not isinstance(value, list):
                raise ValueError(f"{section}.{key} must be a list")
    if updates["env_steps"] is None or any(updates[k] is None for k in ("weight_variance", "weight_mean", "entropy")):
        raise ValueError("updates.env_steps, weight_variance, weight_mean and entropy must be lists")
    claimed = obj["window_solved_at"]
    if claimed is not None:
        _whole("window_solved_at", claimed, 1, 10**9)
    run = RunData(
        name=obj["name"],
        algo=obj["algo"],
        seed=obj["seed"],
        preset=obj["preset"],
        config=obj["config"],
        episode_returns=episodes["returns"],
        episode_lengths=episodes["lengths"],
        episode_end_steps=episodes["end_steps"],
        update_steps=updates["env_steps"],
        weight_variance=updates["weight_variance"],
        weight_mean=updates["weight_mean"],
        entropy=updates["entropy"],
        grad_variance=updates["grad_variance"],
        env_steps=obj["env_steps"],
        wall_seconds=obj["wall_seconds"],
        stop_reason=obj["stop_reason"],
        group=obj["group"],
        steps_to_solve=obj["steps_to_solve"],
        eval_mean_return=obj["eval_mean_return"],
    )
    if claimed != run.window_solved_at:
        raise ValueError(f"window_solved_at says {claimed} but the run's own episodes give {run.window_solved_at}")
    return run


def _exact_keys(where: str, obj: dict[str, Any], expected: set[str]) -> None:
    missing = sorted(expected - set(obj))
    extra = sorted(str(k)[:30] for k in set(obj) - expected)
    if missing:
        raise ValueError(f"{where} is missing {', '.join(missing)}")
    if extra:
        raise ValueError(f"{where} has unknown fields: {', '.join(extra[:5])}")


def run_to_csv(run: RunData) -> str:
    """One row per finished episode: episode, end_env_step, return, length, mean_last_20."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["episode", "end_env_step", "return", "length", "mean_last_20"])
    for i, (end, ret, length, mean) in enumerate(
        zip(run.episode_end_steps, run.episode_returns, run.episode_lengths, run.mean_last_20), start=1
    ):
        writer.writerow([i, int(end), f"{ret:.6g}", int(length), f"{mean:.6g}"])
    return out.getvalue()


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
# Drawing the cart-pole
# ---------------------------------------------------------------------------------------

#: Gymnasium's CartPole: the pole's half-length is 0.5 m, the track ends at |x| = 2.4 m.
POLE_LENGTH = 1.0
TRACK_LIMIT = 2.4


@dataclass(frozen=True)
class CartPoleFrames:
    """Geometry of an episode, frame by frame (metres; the cart's top at height 0).

    Attributes:
        steps: the time step of each frame, shape ``(F,)``.
        cart_x: cart position x, shape ``(F,)``.
        tip_x, tip_y: the pole's tip, ``x + L sin θ`` and ``L cos θ``, shape ``(F,)``.
        angle_deg: pole angle θ in degrees (0 = upright, positive leans right), ``(F,)``.
        actions: the push taken at that frame (0 left, 1 right, −1 after the last), ``(F,)``.
    """

    steps: IntArray
    cart_x: Array
    tip_x: Array
    tip_y: Array
    angle_deg: Array
    actions: IntArray


def cartpole_frames(states: npt.ArrayLike, actions: npt.ArrayLike, max_frames: int = 200) -> CartPoleFrames:
    """Frames for an animation from an episode's states ``(T + 1, 4)`` and actions ``(T,)``,
    at most ``max_frames`` of them (evenly spaced; the first and last are kept)."""
    s = finite_array("states", states)
    a = finite_array("actions", actions)
    if not np.all((a == 0) | (a == 1)):
        raise ValueError("actions must be 0 (push left) or 1 (push right)")
    a = a.astype(np.int64)
    max_frames = whole_number("max_frames", max_frames, 2, 100_000)
    if s.ndim != 2 or s.shape[1] != 4 or s.shape[0] < 1:
        raise ValueError(f"states must have shape (T + 1, 4), got {s.shape}")
    if a.shape != (s.shape[0] - 1,):
        raise ValueError(f"actions must have shape ({s.shape[0] - 1},), got {a.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("states must be finite")
    idx = downsample_indices(s.shape[0], max_frames)
    x, theta = s[idx, 0], s[idx, 2]
    padded = np.append(a, -1)
    return CartPoleFrames(
        steps=idx,
        cart_x=x,
        tip_x=x + POLE_LENGTH * np.sin(theta),
        tip_y=POLE_LENGTH * np.cos(theta),
        angle_deg=np.degrees(theta),
        actions=padded[idx],
    )


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


_STEP_KEYS = ("env_steps", "steps", "x")
_MEAN_KEYS = ("mean", "mean_return", "avg_return", "y", "median")
_LOW_KEYS = ("low", "lo", "lower", "q25", "min")
_HIGH_KEYS = ("high", "hi", "upper", "q75", "max")


def _first(entry: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in entry:
            return entry[key]
    return None


def parse_reference_curves(data: bytes | str, *, max_bytes: int = 5_000_000) -> tuple[list[ReferenceCurve], list[str]]:
    """Read reference curves leniently: whatever is usable, plus notes about what was not.

    Accepts a JSON object whose curves sit under ``curves`` or ``algos`` (a mapping name →
    entry, or a list of entries with a ``name``/``algo``), or at the top level. An entry
    needs env steps (``env_steps``/``steps``/``x``) and a mean (``mean``/``mean_return``/
    ``avg_return``/``y``/``median``) of equal length, finite; an optional band
    (``low``/``high`` and synonyms). Arrays longer than 2,000 points are thinned.
    """
    notes: list[str] = []
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        return [], [f"reference file is larger than {max_bytes / 1e6:.0f} MB; ignored"]
    try:
        obj = json.loads(bytes(data).decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        return [], [f"reference file is not readable JSON ({str(err)[:80]})"]
    if not isinstance(obj, dict):
        return [], ["reference file is not a JSON object"]
    container = obj.get("curves", obj.get("algos", obj))
    if isinstance(container, list):
        items = [
            (str(e.get("name", e.get("algo", f"curve {i + 1}"))), e)
            for i, e in enumerate(container)
            if isinstance(e, dict)
        ]
    elif isinstance(container, dict):
        items = [(str(k), v) for k, v in container.items() if isinstance(v, dict)]
    else:
        items = []
    header = ", ".join(
        f"{k} {obj[k]}"
        for k in ("preset", "seeds", "max_env_steps")
        if k in obj and isinstance(obj[k], (int, float, str)) and not isinstance(obj[k], bool)
    )
    curves: list[ReferenceCurve] = []
    for name, entry in items[:16]:
        steps, mean = _first(entry, _STEP_KEYS), _first(entry, _MEAN_KEYS)
        if steps is None or mean is None:
            notes.append(f"reference curve {name[:30]!r} has no steps/mean arrays; skipped")
            continue
        try:
            x = _float_array("steps", steps, max_size=1_000_000)
            y = _float_array("mean", mean, max_size=1_000_000)
            low, high = _first(entry, _LOW_KEYS), _first(entry, _HIGH_KEYS)
            lo = _float_array("low", low, max_size=1_000_000) if low is not None else None
            hi = _float_array("high", high, max_size=1_000_000) if high is not None else None
        except ValueError as err:
            notes.append(f"reference curve {name[:30]!r}: {err}; skipped")
            continue
        if (
            x.size != y.size
            or x.size == 0
            or (lo is not None and lo.size != x.size)
            or (hi is not None and hi.size != x.size)
        ):
            notes.append(f"reference curve {name[:30]!r} has arrays of different lengths; skipped")
            continue
        idx = downsample_indices(x.size, 2000)
        algo = entry.get("algo", name)
        algo = algo if algo in ALGOS else (name if name in ALGOS else None)
        seeds = entry.get("seeds", obj.get("seeds"))
        note = header
        if isinstance(seeds, (int, list)) and not isinstance(seeds, bool):
            note = f"{len(seeds) if isinstance(seeds, list) else seeds} seeds" + (f", {header}" if header else "")
        preset = entry.get("preset")
        preset = preset[:30] if isinstance(preset, str) else None
        solves = entry.get("steps_to_solve")
        solves = (
            tuple(
                int(v)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                else None
                for v in solves[:100]
            )
            if isinstance(solves, list)
            else ()
        )
        normalized = entry.get("normalized")
        budget = entry.get("max_env_steps")
        budget = int(budget) if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0 else None
        curves.append(
            ReferenceCurve(
                name,
                algo,
                x[idx],
                y[idx],
                None if lo is None else lo[idx],
                None if hi is None else hi[idx],
                note,
                preset,
                solves,
                normalized if isinstance(normalized, bool) else None,
                budget,
            )
        )
    if not curves and not notes:
        notes.append("reference file has no curves")
    return curves, notes
