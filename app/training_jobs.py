"""Server-side CartPole training jobs: each runs in its own worker process, at most
``PG_MAX_TRAININGS`` at once across every session of the server.

Why a process: training is CPU-bound Python; in a thread it would hold the GIL and make
every other visitor's page stutter. A "spawn" child (niced, one torch thread) imports
torch and :mod:`pgcore.cartpole` itself — this module never does — streams one small
summary per update over a queue, and sends the final policy weights as numpy arrays.
Stop sets an Event the child checks between updates; the run keeps what it learned.

In the server, one reader thread per job drains its queue into a :class:`Job`, so a page
only ever reads a snapshot (:meth:`Job.view`) and never blocks. A job nobody has looked at
for ``ABANDON_SECONDS`` (a closed tab) is cancelled; with the default caps the per-run
wall-clock limit frees the slot sooner anyway.

The registry (:func:`shared_registry`) is one object per server, via ``st.cache_resource``.
When every slot is busy a session takes a ticket and waits its turn, first come first
served; a ticket not renewed for ``TICKET_TTL_SECONDS`` is dropped.

Limits (environment variables, read once when the registry is created):
    PG_MAX_TRAININGS       trainings at once, server-wide (default 1)
    PG_MAX_TRAIN_STEPS     env-step cap per run (default 200000)
    PG_MAX_TRAIN_SECONDS   wall-clock cap per run in seconds (default 120)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pgcore.cartpole_runs import RunData

ABANDON_SECONDS = 300.0  # longer than the default wall cap: a learner may read another page meanwhile
TICKET_TTL_SECONDS = 20.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Limits:
    """Hosted-demo caps."""

    max_trainings: int = 1
    """Trainings running at once across the whole server."""
    max_steps: int = 200_000
    """Env-step budget cap of one run."""
    max_seconds: float = 120.0
    """Wall-clock cap of one run, seconds."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """Read the caps from ``PG_MAX_TRAININGS`` & co.; bad values fall back to defaults."""
        env = os.environ if environ is None else environ
        default = cls()

        def read(name: str, cast: Callable[[str], Any], fallback: Any, low: float, high: float) -> Any:
            try:
                value = cast(env.get(name, ""))
            except ValueError:
                return fallback
            return value if low <= value <= high else fallback

        return cls(
            max_trainings=read("PG_MAX_TRAININGS", int, default.max_trainings, 1, 64),
            max_steps=read("PG_MAX_TRAIN_STEPS", int, default.max_steps, 1_000, 10_000_000),
            max_seconds=read("PG_MAX_TRAIN_SECONDS", float, default.max_seconds, 1.0, 86_400.0),
        )


@dataclass(frozen=True)
class RunRequest:
    """One training run to do: a preset, an algorithm, a seed and overridden fields."""

    preset: str
    algo: str
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    group: str = ""


# ---------------------------------------------------------------------------------------
# The worker (runs in the child process)
# ---------------------------------------------------------------------------------------


def _update_message(record: Any) -> dict[str, Any]:
    return {
        "update": record.update,
        "env_steps": record.env_steps,
        "returns": record.episode_returns.tolist(),
        "lengths": record.episode_lengths.tolist(),
        "end_steps": record.episode_end_steps.tolist(),
        "weight_variance": record.weight_variance,
        "weight_mean": record.weight_mean,
        "entropy": record.entropy,
        "grad_variance": record.grad_variance,
        "steps_per_second": record.steps_per_second,
        "wall_seconds": record.wall_seconds,
    }


def training_worker(requests: list[RunRequest], limits: Limits, out: Any, cancel: Any) -> None:
    """Child-process entry point: train each request in turn, reporting over ``out``.

    Messages: ``("start", i, config_dict)``, ``("update", i, summary)`` per update,
    ``("end", i, result)`` with the final arrays and policy weights (numpy), ``("error",
    i, text)``, and ``("finished", None, None)`` last.
    """
    try:
        os.nice(10)  # a training must never starve the server's own threads
    except (AttributeError, OSError):
        pass
    try:
        import torch

        torch.set_num_threads(1)
        from pgcore.cartpole import iter_training, preset_config

        for index, request in enumerate(requests):
            if cancel.is_set():
                break
            try:
                config = preset_config(
                    request.preset, request.algo, request.seed,
                    **{**request.overrides,
                       "max_env_steps": min(int(request.overrides.get("max_env_steps", limits.max_steps)),
                                            limits.max_steps),
                       "max_wall_seconds": limits.max_seconds},
                )
            except ValueError as err:
                out.put(("error", index, f"invalid settings: {err}"))
                continue
            out.put(("start", index, config.to_dict()))
            run = iter_training(config)
            for record in run:
                out.put(("update", index, _update_message(record)))
                if cancel.is_set():
                    run.close()
                    break
            result = run.result()
            out.put(("end", index, {
                "config": config.to_dict(),
                "returns": result.episode_returns,
                "lengths": result.episode_lengths,
                "end_steps": result.episode_end_steps,
                "env_steps": result.env_steps,
                "wall_seconds": result.wall_seconds,
                "stop_reason": result.stop_reason,
                "policy_weights": dict(result.policy.weights),
                "hidden_size": result.policy.hidden_size,
                "activation": result.policy.activation,
            }))
    except Exception as err:  # noqa: BLE001 - reported to the page, never silently lost
        out.put(("error", -1, f"{type(err).__name__}: {err}"))
    finally:
        out.put(("finished", None, None))


# ---------------------------------------------------------------------------------------
# The server side
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinishedRun:
    """A completed (or stopped) run: its numbers and its policy's weights."""

    data: RunData
    policy_weights: dict[str, np.ndarray]
    hidden_size: int
    activation: str


@dataclass
class _LiveRun:
    request: RunRequest
    config: dict[str, Any] | None = None
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    end_steps: list[int] = field(default_factory=list)
    update_steps: list[int] = field(default_factory=list)
    weight_variance: list[float] = field(default_factory=list)
    weight_mean: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    grad_variance: list[float] = field(default_factory=list)
    env_steps: int = 0
    steps_per_second: float = 0.0
    wall_seconds: float = 0.0
    final: dict[str, Any] | None = None
    done: FinishedRun | None = None
    error: str | None = None


@dataclass(frozen=True)
class JobView:
    """A consistent snapshot of a job for the page.

    Attributes:
        status: ``starting``, ``running``, ``done``, ``cancelled`` or ``failed``.
        current: index of the run in progress (or the last one).
        total: how many runs the job will do.
        env_steps, episodes, steps_per_second, wall_seconds: of the current run.
        budget_steps: its env-step budget.
        live: the current run so far as :class:`RunData` (None before its first episode).
        finished: the runs completed so far.
        errors: error messages from the worker.
    """

    status: str
    current: int
    total: int
    env_steps: int
    episodes: int
    steps_per_second: float
    wall_seconds: float
    budget_steps: int
    live: RunData | None
    finished: list[FinishedRun]
    errors: list[str]

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")


class Job:
    """One worker process training one or more runs, and the thread that listens to it."""

    def __init__(self, requests: list[RunRequest], limits: Limits,
                 target: Callable[..., None] = training_worker,
                 on_exit: Callable[[Job], None] | None = None) -> None:
        if not requests:
            raise ValueError("requests must not be empty")
        self.id = uuid.uuid4().hex
        self.requests = list(requests)
        self.limits = limits
        self._lock = threading.Lock()
        self._runs = [_LiveRun(r) for r in requests]
        self._current = 0
        self._status = "starting"
        self._errors: list[str] = []
        self._last_seen = time.monotonic()
        self._on_exit = on_exit
        ctx = mp.get_context("spawn")
        self._queue = ctx.Queue()
        self._cancel = ctx.Event()
        self._process = ctx.Process(target=target, args=(self.requests, limits, self._queue, self._cancel),
                                    daemon=True, name=f"cartpole-training-{self.id[:8]}")
        self._process.start()
        self._reader = threading.Thread(target=self._listen, daemon=True, name=f"cartpole-reader-{self.id[:8]}")
        self._reader.start()

    # -- for the page --------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the worker to stop after its current update (keeps what it learned)."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def active(self) -> bool:
        with self._lock:
            return self._status in ("starting", "running")

    def touch(self) -> None:
        """The page is still watching (see ABANDON_SECONDS)."""
        with self._lock:
            self._last_seen = time.monotonic()

    def wait(self, timeout: float) -> bool:
        """Block until the job has ended (tests and benchmarks); True if it did."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def view(self) -> JobView:
        with self._lock:
            self._last_seen = time.monotonic()
            index = min(self._current, len(self._runs) - 1)
            live = self._runs[index]
            live_data = None
            if live.final is None and live.returns:
                live_data = _live_run_data(live, index)
            finished = [run.done for run in self._runs if run.done is not None]
            budget = int((live.config or {}).get("max_env_steps") or min(
                int(live.request.overrides.get("max_env_steps", self.limits.max_steps)), self.limits.max_steps))
            return JobView(
                status=self._status,
                current=index,
                total=len(self._runs),
                env_steps=live.env_steps,
                episodes=len(live.returns),
                steps_per_second=live.steps_per_second,
                wall_seconds=live.wall_seconds,
                budget_steps=budget,
                live=live_data,
                finished=finished,
                errors=list(self._errors),
            )

    # -- the reader thread ---------------------------------------------------------------

    def _listen(self) -> None:
        finished = False
        while not finished:
            try:
                kind, index, payload = self._queue.get(timeout=POLL_SECONDS)
            except queue_module.Empty:
                with self._lock:
                    abandoned = time.monotonic() - self._last_seen > ABANDON_SECONDS
                if abandoned:
                    self._cancel.set()
                if not self._process.is_alive():
                    # the child died without saying "finished" (killed, out of memory…)
                    try:
                        kind, index, payload = self._queue.get(timeout=1.0)
                    except queue_module.Empty:
                        with self._lock:
                            self._errors.append(f"the training process ended unexpectedly "
                                                f"(exit code {self._process.exitcode})")
                        break
                else:
                    continue
            finished = self._handle(kind, index, payload)
        self._process.join(timeout=5)
        with self._lock:
            if self._errors and not any(r.done for r in self._runs):
                self._status = "failed"
            elif self._cancel.is_set():
                self._status = "cancelled"
            else:
                self._status = "done"
        if self._on_exit is not None:
            self._on_exit(self)

    def _handle(self, kind: str, index: Any, payload: Any) -> bool:
        with self._lock:
            if kind == "finished":
                return True
            if kind == "error":
                self._errors.append(str(payload)[:500])
                if isinstance(index, int) and 0 <= index < len(self._runs):
                    self._runs[index].error = str(payload)[:500]
                return False
            if not isinstance(index, int) or not 0 <= index < len(self._runs):
                return False
            run = self._runs[index]
            self._current = index
            self._status = "running"
            if kind == "start":
                run.config = payload
            elif kind == "update":
                run.returns.extend(payload["returns"])
                run.lengths.extend(payload["lengths"])
                run.end_steps.extend(payload["end_steps"])
                run.update_steps.append(payload["env_steps"])
                run.weight_variance.append(payload["weight_variance"])
                run.weight_mean.append(payload["weight_mean"])
                run.entropy.append(payload["entropy"])
                if payload["grad_variance"] is not None:
                    run.grad_variance.append(payload["grad_variance"])
                run.env_steps = payload["env_steps"]
                run.steps_per_second = payload["steps_per_second"]
                run.wall_seconds = payload["wall_seconds"]
            elif kind == "end":
                run.final = payload
                run.env_steps = int(payload["env_steps"])
                run.wall_seconds = float(payload["wall_seconds"])
                try:
                    run.done = _finished(run, index)
                except (ValueError, KeyError, TypeError) as err:
                    self._errors.append(f"run {index + 1} could not be read back: {err}"[:500])
            return False


def _run_data(run: _LiveRun, index: int, returns: Any, lengths: Any, end_steps: Any, *, env_steps: int,
              wall_seconds: float, stop_reason: str) -> RunData:
    request = run.request
    config = {k: v for k, v in (run.config or {}).items() if isinstance(v, (bool, int, float, str)) or v is None}
    grad = run.grad_variance if len(run.grad_variance) == len(run.update_steps) and run.grad_variance else None
    return RunData(
        name=request.name or f"{request.algo} · seed {request.seed} · {index + 1}",
        algo=request.algo, seed=request.seed, preset=request.preset, config=config,
        episode_returns=returns, episode_lengths=lengths, episode_end_steps=end_steps,
        update_steps=run.update_steps, weight_variance=run.weight_variance, weight_mean=run.weight_mean,
        entropy=run.entropy, grad_variance=grad, env_steps=env_steps, wall_seconds=wall_seconds,
        stop_reason=stop_reason, group=request.group,
    )


def _live_run_data(run: _LiveRun, index: int) -> RunData:
    return _run_data(run, index, run.returns, run.lengths, run.end_steps, env_steps=run.env_steps,
                     wall_seconds=run.wall_seconds, stop_reason="cancelled")


def _finished(run: _LiveRun, index: int) -> FinishedRun:
    final = run.final
    assert final is not None
    data = _run_data(run, index, final["returns"], final["lengths"], final["end_steps"],
                     env_steps=int(final["env_steps"]), wall_seconds=float(final["wall_seconds"]),
                     stop_reason=str(final["stop_reason"]))
    return FinishedRun(data, final["policy_weights"], int(final["hidden_size"]), str(final["activation"]))


class TrainingRegistry:
    """Every training job of the server, and the queue of sessions waiting for a slot."""

    def __init__(self, limits: Limits | None = None, target: Callable[..., None] = training_worker) -> None:
        self.limits = limits or Limits.from_env()
        self._target = target
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._waiting: OrderedDict[str, float] = OrderedDict()

    def running(self) -> int:
        """How many jobs hold a slot now."""
        with self._lock:
            return self._running_locked()

    def _running_locked(self) -> int:
        for job_id in [j for j, job in self._jobs.items() if not job.active]:
            del self._jobs[job_id]
        return len(self._jobs)

    def _prune_tickets_locked(self) -> None:
        now = time.monotonic()
        for ticket in [t for t, seen in self._waiting.items() if now - seen > TICKET_TTL_SECONDS]:
            del self._waiting[ticket]

    def submit(self, ticket: str, requests: list[RunRequest]) -> Job | None:
        """Start ``requests`` as one job if a slot is free and ``ticket`` is next in line;
        otherwise (re)join the line and return None. Call again to retry."""
        with self._lock:
            self._prune_tickets_locked()
            self._waiting[ticket] = time.monotonic()
            free = self.limits.max_trainings - self._running_locked()
            if free <= 0 or list(self._waiting).index(ticket) >= free:
                return None
            del self._waiting[ticket]
            job = Job(requests, self.limits, target=self._target)
            self._jobs[job.id] = job
            return job

    def position(self, ticket: str) -> int | None:
        """1-based place in the waiting line, or None if not waiting."""
        with self._lock:
            self._prune_tickets_locked()
            keys = list(self._waiting)
            return keys.index(ticket) + 1 if ticket in keys else None

    def withdraw(self, ticket: str) -> None:
        """Leave the waiting line."""
        with self._lock:
            self._waiting.pop(ticket, None)

    def get(self, job_id: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None


_shared: Callable[[], TrainingRegistry] | None = None


def shared_registry() -> TrainingRegistry:
    """The server-wide registry (one per Streamlit server process, via st.cache_resource).

    streamlit is imported here rather than at the top so that the worker child, which
    imports this module to find :func:`training_worker`, does not pay for it."""
    global _shared
    if _shared is None:
        import streamlit as st

        @st.cache_resource(show_spinner=False)
        def _registry() -> TrainingRegistry:
            return TrainingRegistry()

        _shared = _registry
    return _shared()
