"""CartPole training runs as plain data: what the CartPole page stores, compares, draws,
downloads and accepts back as an upload. numpy and json only — no torch, no UI.

A run is a :class:`RunData`: the episodes it finished (return, length, the env step at
which each ended) and one row per update (env steps so far, the variance of the weights
Ψ_t it used, entropy, …). :func:`run_to_json` / :func:`run_from_json` round-trip it;
:func:`run_from_json` is strict because it reads files from strangers: a size cap, an
exact schema, finite numbers only, consistent lengths, and a "solved" claim that must
match the run's own episodes. Anything else raises ``ValueError`` with a readable reason.

The "solved" rule is stated once, in :mod:`pgcore.cartpole.config`; :func:`first_solve_step`
replays its trigger over a finished run's episodes. Comparing runs and reading the reference
curves is :mod:`pgcore.cartpole.curves`.

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
from pgcore.cartpole.config import ALGOS, SOLVE_THRESHOLD, SOLVE_WINDOW, check_passed

__all__ = [
    "RUN_FORMAT",
    "MAX_RUN_BYTES",
    "RunData",
    "running_mean",
    "first_solve_step",
    "run_to_dict",
    "run_to_json",
    "run_from_json",
    "run_to_csv",
    "downsample_indices",
]

RUN_FORMAT = "pgcore.cartpole.run"
RUN_FORMAT_VERSION = 2  # 2: steps_to_solve is the confirmed solve; window_solved_at, eval_mean_return
MAX_RUN_BYTES = 2_000_000
MAX_EPISODES = 50_000
MAX_UPDATES = 50_000
MAX_EPISODE_LENGTH = 10_000
MAX_NAME = 80
STOP_REASONS = ("solved", "max_env_steps", "max_wall_seconds", "cancelled", "uploaded")

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


def float_array(name: str, value: Any, *, max_size: int) -> Array:
    """``value`` as a flat float64 array of at most ``max_size`` finite numbers (|x| ≤ 1e12), or ValueError."""
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
    array = float_array(name, value, max_size=max_size)
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
            averages ≥ 475 (see :mod:`pgcore.cartpole.config`), or None.
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
        returns = float_array("episode_returns", self.episode_returns, max_size=MAX_EPISODES)
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
            per_update[name] = float_array(name, getattr(self, name), max_size=MAX_UPDATES)
        grad_variance = self.grad_variance
        if grad_variance is not None:
            per_update["grad_variance"] = grad_variance = float_array(
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
        if solve is not None and (score is None or not check_passed(score)):
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


def reject_constant(name: str) -> Any:
    """``json.loads(..., parse_constant=reject_constant)``: refuse NaN and ±Infinity."""
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
        obj = json.loads(text, parse_constant=reject_constant)
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
