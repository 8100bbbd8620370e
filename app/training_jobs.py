"""Server-side CartPole training jobs: each runs in its own worker process, at most
``PG_MAX_TRAININGS`` at once across every session of the server.

Why a process: training is CPU-bound Python; in a thread it would hold the GIL and make
every other visitor's page stutter. A "spawn" child (niced) imports Gymnasium and
:mod:`pgcore.cartpole.training` itself — this module never does — streams one small
summary per update over a queue, a copy of the current policy's weights (numpy arrays)
every ``SNAPSHOT_SECONDS`` so the page can show the newest policy balancing while it
trains, and the final policy weights at the end.
Stop sets an Event the child checks between updates; the run keeps what it learned.

In the server, one reader thread per job drains its queue into a :class:`Job`, so a page
only ever reads a snapshot (:meth:`Job.view`) and never blocks.

Nothing outlives what it belongs to:
- a job whose browser tab has gone (its Streamlit session disconnected for
  ``DISCONNECT_GRACE_SECONDS``) is cancelled; one nobody has looked at for
  ``ABANDON_SECONDS`` too;
- the server enforces the time cap itself: a worker still alive ``GRACE_SECONDS`` after its
  runs' caps (plus ``STARTUP_SECONDS`` to start) is terminated, then killed — a frozen worker
  never reads the Stop flag;
- a slot is held for as long as the worker *process* is alive, not merely until the reader
  thread gives up on it;
- a worker exits as soon as its server process is gone (crash, out-of-memory kill): a
  thread in the child waits on the parent's sentinel.

The registry (:func:`shared_registry`) is one object per server, via ``st.cache_resource``.
When every slot is busy a session takes a ticket and waits its turn, first come first
served; a ticket not renewed for ``TICKET_TTL_SECONDS`` is dropped.

Limits (environment variables, read once when the registry is created):
    PG_MAX_TRAININGS       trainings at once, server-wide (default 1; 0 turns training off)
    PG_MAX_TRAIN_STEPS     env-step cap per run (default 200000, at least 1000)
    PG_MAX_TRAIN_SECONDS   wall-clock cap per run in seconds (default 120, at least 1)
    PG_WARM_WORKERS        started, warmed-up workers kept in reserve (default 1, 0–4): Train
                           then shows progress at once instead of after the imports;
                           each idle one holds a Python process with numpy and Gymnasium
An invalid value (text, NaN, below the minimum) is refused: training is turned off and the
CartPole page and the server log say which variable is wrong — never a silent fallback to a
looser default. A value above its ceiling is lowered to the ceiling, with a log line.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import multiprocessing.spawn as mp_spawn
import os
import queue as queue_module
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pgcore.cartpole.policy import PolicySnapshot, policy_digest
from pgcore.cartpole.runs import RunData

ABANDON_SECONDS = 300.0  # no page view for this long: cancelled (a tab left open on another page)
DISCONNECT_GRACE_SECONDS = 15.0  # the tab's session gone this long (closed, not a network blip): cancelled
STARTUP_SECONDS = 30.0  # allowance for a spawned worker to start and import before its caps start
GRACE_SECONDS = 15.0  # past its caps by this much, a worker is terminated by the server
TICKET_TTL_SECONDS = 20.0
POLL_SECONDS = 0.1
SNAPSHOT_SECONDS = 3.0  # a worker sends its current policy's weights after update 1, then this often
# The policy is also kept, for the replay under "Watch it balance", after update 1 and at the first
# update whose 20-episode training mean reaches each of these returns: a fast run is over in a
# second or two, too soon for the live view to show much of the learning.
REPLAY_MILESTONES = (50.0, 100.0, 200.0, 300.0, 400.0)

MAX_TRAININGS_CEILING = 64
MAX_STEPS_CEILING = 10_000_000
MAX_SECONDS_CEILING = 3_600.0

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Hosted-demo caps."""

    max_trainings: int = 1
    """Trainings running at once across the whole server; 0 turns training off."""
    max_steps: int = 200_000
    """Env-step budget cap of one run."""
    max_seconds: float = 120.0
    """Wall-clock cap of one run, seconds."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """Read the caps from ``PG_MAX_TRAININGS`` & co. (unset or empty: the default).

        Raises:
            ValueError: a value is not a number of the right kind or is below its minimum;
                the message names the variable and what it must be.
        A value above its ceiling is lowered to the ceiling and logged (stricter, never looser).
        """
        env = os.environ if environ is None else environ
        default = cls()

        def read(name: str, whole: bool, fallback: float, low: float, ceiling: float) -> Any:
            raw = env.get(name, "").strip()
            if not raw:
                return fallback
            try:
                value: float = int(raw) if whole else float(raw)
            except ValueError:
                kind = "not a whole number" if whole else "not a finite number"
                raise ValueError(f"{name}={raw!r} is {kind}; unset it or give one of at least {low:g}") from None
            if not math.isfinite(value):
                raise ValueError(f"{name}={raw!r} is not a finite number; unset it or give one of at least {low:g}")
            if value < low:
                raise ValueError(f"{name}={raw!r} is too small: it must be at least {low:g}")
            if value > ceiling:
                _LOG.warning("%s=%s is above this app's ceiling; lowered to %g", name, raw, ceiling)
                value = type(value)(ceiling)
            return value

        return cls(
            max_trainings=read("PG_MAX_TRAININGS", True, default.max_trainings, 0, MAX_TRAININGS_CEILING),
            max_steps=read("PG_MAX_TRAIN_STEPS", True, default.max_steps, 1_000, MAX_STEPS_CEILING),
            max_seconds=read("PG_MAX_TRAIN_SECONDS", False, default.max_seconds, 1.0, MAX_SECONDS_CEILING),
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


def _policy_message(run: Any, record: Any, milestone: bool = False) -> dict[str, Any]:
    """The policy network of ``run`` (a :class:`pgcore.cartpole.training.TrainingRun`) right after
    ``record``'s update, as float32 numpy copies. Reading the weights changes nothing in the
    run (no random numbers are drawn), so a run with snapshots trains exactly as one without.
    ``milestone``: keep it for the run's replay (see :data:`REPLAY_MILESTONES`)."""
    return {
        "update": record.update,
        "env_steps": record.env_steps,
        "avg_return": record.avg_return,
        "milestone": milestone,
        "weights": run.policy.state_dict(),  # float32 copies
        "hidden_size": run.config.hidden_size,
        "activation": run.config.activation,
    }


def _exit_with_parent() -> None:
    """In a worker: end this process the moment its parent (the server) is gone.

    A daemon thread waits on the parent's sentinel, which becomes ready when the parent
    exits for any reason, SIGKILL included. Without it an orphaned worker trains to its cap
    and then blocks for ever flushing its last message into a pipe nobody reads."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _worker_entry(
    target: Callable[..., None], warm_up: Callable[[], None] | None, inbox: Any, limits: Limits, out: Any, cancel: Any
) -> None:
    """What every worker process runs: never outlive the server, never starve it; do the
    slow imports (``warm_up``) before any work arrives; then do the one job it is given."""
    _exit_with_parent()
    try:
        os.nice(10)  # a training must never starve the server's own threads
    except (AttributeError, OSError):
        pass
    if warm_up is not None:
        warm_up()
    requests = inbox.get()
    if requests is None:  # retired without work
        return
    target(requests, limits, out, cancel)


def warm_up_training() -> None:
    """Everything a training pays for before its first update, paid in advance: importing
    Gymnasium and pgcore.cartpole.training, creating a vector env, and one tiny update of
    the training's own network (numpy's first calls of each kind load their code paths)."""
    import gymnasium

    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import iter_training

    env = gymnasium.make_vec("CartPole-v1", num_envs=1, vectorization_mode="vector_entry_point")
    env.close()
    run = iter_training(preset_config("fast", "actor_critic", 0, hidden_size=4, num_envs=1, max_env_steps=1))
    for _ in run:  # one update, then the budget stops it
        pass


WORKER_NAME = "cartpole-training"


def _without_main_script(prepare: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """Wrap multiprocessing's spawn preparation so that *our* workers skip re-running the
    parent's main script.

    "spawn" starts a fresh interpreter and, before unpickling the target, re-imports the
    parent's ``__main__`` as ``__mp_main__``. Under ``streamlit run`` (and under AppTest)
    ``__main__`` is whatever page script is running at that moment: the child would run a
    page — importing Streamlit, printing warnings, and, on the CartPole page, starting a
    worker of its own mid-bootstrap, which multiprocessing refuses. The workers' targets
    and arguments are importable by module name, so they need no main script at all.
    """

    def get_preparation_data(name: str) -> dict[str, Any]:
        data = prepare(name)
        if name.startswith(WORKER_NAME):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data.__wrapped__ = prepare  # type: ignore[attr-defined]
    return get_preparation_data


if not hasattr(mp_spawn.get_preparation_data, "__wrapped__"):  # once per process
    mp_spawn.get_preparation_data = _without_main_script(mp_spawn.get_preparation_data)


class WorkerProcess:
    """A spawned worker process and its channels; started empty, given one job later.

    Starting a process and importing takes a while; a registry keeps a started,
    warmed-up one in reserve so that Train shows progress at once."""

    def __init__(self, target: Callable[..., None], limits: Limits, warm_up: Callable[[], None] | None = None) -> None:
        ctx = mp.get_context("spawn")
        self.out = ctx.Queue()
        self.cancel = ctx.Event()
        self._inbox = ctx.Queue()
        self.process = ctx.Process(
            target=_worker_entry,
            args=(target, warm_up, self._inbox, limits, self.out, self.cancel),
            daemon=True,
            name=WORKER_NAME,
        )
        self.process.start()
        self.assigned = False

    def assign(self, requests: list[RunRequest]) -> None:
        self.assigned = True
        self._inbox.put(list(requests))

    def retire(self) -> None:
        """An unused spare: let it exit."""
        if not self.assigned:
            self._inbox.put(None)
        self.process.join(timeout=3.0)
        if self.process.is_alive():
            self.process.kill()


def training_worker(
    requests: list[RunRequest], limits: Limits, out: Any, cancel: Any, snapshot_seconds: float = SNAPSHOT_SECONDS
) -> None:
    """Child-process entry point: train each request in turn, reporting over ``out``.

    Messages: ``("start", i, config_dict)``, ``("update", i, summary)`` per update,
    ``("policy", i, weights)`` after the first update and then after the first update at
    least ``snapshot_seconds`` after the previous one (the current policy's numpy weights,
    see :func:`_policy_message`), and at each replay milestone (marked as one; see
    :data:`REPLAY_MILESTONES`), ``("end", i, result)`` with the final arrays and policy
    weights (numpy), ``("error", i, text)``, and ``("finished", None, None)`` last.
    """
    try:
        from pgcore.cartpole.config import preset_config
        from pgcore.cartpole.training import iter_training

        for index, request in enumerate(requests):
            if cancel.is_set():
                break
            try:
                config = preset_config(
                    request.preset,
                    request.algo,
                    request.seed,
                    **{
                        **request.overrides,
                        "max_env_steps": min(
                            int(request.overrides.get("max_env_steps", limits.max_steps)), limits.max_steps
                        ),
                        "max_wall_seconds": limits.max_seconds,
                    },
                )
            except ValueError as err:
                out.put(("error", index, f"invalid settings: {err}"))
                continue
            out.put(("start", index, config.to_dict()))
            run = iter_training(config)
            last_snapshot: float | None = None
            milestones_passed = 0
            for record in run:
                out.put(("update", index, _update_message(record)))
                now = time.monotonic()
                # NaN (no episode finished yet) reaches no milestone
                reached = sum(record.avg_return >= m for m in REPLAY_MILESTONES)
                milestone = record.update == 1 or reached > milestones_passed
                milestones_passed = max(milestones_passed, reached)
                if milestone or last_snapshot is None or now - last_snapshot >= snapshot_seconds:
                    out.put(("policy", index, _policy_message(run, record, milestone)))
                    last_snapshot = now
                if cancel.is_set():
                    run.close()
                    break
            result = run.result()
            out.put(
                (
                    "end",
                    index,
                    {
                        "config": config.to_dict(),
                        "returns": result.episode_returns,
                        "lengths": result.episode_lengths,
                        "end_steps": result.episode_end_steps,
                        "env_steps": result.env_steps,
                        "wall_seconds": result.wall_seconds,
                        "stop_reason": result.stop_reason,
                        "steps_to_solve": result.steps_to_solve,
                        "eval_mean_return": result.eval_mean_return,
                        "policy_weights": dict(result.policy.weights),
                        "hidden_size": result.policy.hidden_size,
                        "activation": result.policy.activation,
                    },
                )
            )
    except Exception as err:  # noqa: BLE001 - reported to the page, never silently lost
        out.put(("error", -1, f"{type(err).__name__}: {err}"))
    finally:
        out.put(("finished", None, None))


# ---------------------------------------------------------------------------------------
# The server side
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinishedRun:
    """A completed (or stopped) run: its numbers, its policy's weights, and the policies kept
    along the way for its replay (``milestones``, oldest first; see :data:`REPLAY_MILESTONES`)."""

    data: RunData
    policy_weights: dict[str, np.ndarray]
    hidden_size: int
    activation: str
    milestones: tuple[LivePolicy, ...] = ()


@dataclass(frozen=True)
class LivePolicy:
    """The newest policy a running training sent: its weights and when in the run they are from.

    Attributes:
        policy: the network (validated: float32, right shapes, finite).
        update: the update it is the result of (1-based).
        env_steps: the run's training env steps at that update.
        key: :func:`pgcore.cartpole.policy.policy_digest` of ``policy``: a cache key by content.
        avg_return: the 20-episode training mean at that update (NaN before any episode ended).
        milestone: kept for the run's replay.
    """

    policy: PolicySnapshot
    update: int
    env_steps: int
    key: str
    avg_return: float = float("nan")
    milestone: bool = False


def _live_policy(payload: Any, algo: str) -> LivePolicy:
    """A worker's ``("policy", …)`` payload as a :class:`LivePolicy`; ValueError if it is
    not a valid network (a run whose weights went NaN, say)."""
    try:
        weights = {str(name): np.asarray(value) for name, value in payload["weights"].items()}
        policy = PolicySnapshot(weights, int(payload["hidden_size"]), str(payload["activation"]), algo)
        return LivePolicy(
            policy,
            int(payload["update"]),
            int(payload["env_steps"]),
            policy_digest(policy),
            float(payload.get("avg_return", float("nan"))),
            payload.get("milestone") is True,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"malformed policy snapshot: {err}") from err


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
    snapshot: LivePolicy | None = None
    milestones: list[LivePolicy] = field(default_factory=list)
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
        snapshot: the newest policy the current run sent (None before its first update).
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
    snapshot: LivePolicy | None = None

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")


class Job:
    """One worker process training one or more runs, and the thread that listens to it."""

    def __init__(
        self,
        requests: list[RunRequest],
        limits: Limits,
        target: Callable[..., None] = training_worker,
        on_exit: Callable[[Job], None] | None = None,
        session_alive: Callable[[], bool] | None = None,
        worker: WorkerProcess | None = None,
    ) -> None:
        """Start the worker process (or hand the job to a warm one) and its reader thread.

        Args:
            requests: the runs to do, in order (at least one).
            limits: the caps every run is held to.
            target: the worker function (tests pass a scripted stand-in).
            on_exit: called once the job has ended and its process is gone.
            session_alive: True while the browser tab that started the job is connected;
                the job is cancelled once it has been False for DISCONNECT_GRACE_SECONDS.
            worker: a started, unassigned :class:`WorkerProcess` to use instead of a new one.
        """
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
        self._session_alive = session_alive
        self._gone_since: float | None = None
        if worker is None or worker.assigned or not worker.process.is_alive():
            worker = WorkerProcess(target, limits)
        # Kept: its queues' semaphores must outlive the child's start-up (spawn unpickles them).
        self._worker = worker
        self._queue, self._cancel, self._process = worker.out, worker.cancel, worker.process
        worker.assign(self.requests)
        # The server's own deadline: every run's wall cap, time to start, and some grace.
        self._deadline = time.monotonic() + STARTUP_SECONDS + len(self.requests) * limits.max_seconds + GRACE_SECONDS
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
        """Running, or its process not yet gone: either way it holds a slot."""
        with self._lock:
            if self._status in ("starting", "running"):
                return True
        return self._process.is_alive()

    @property
    def process_alive(self) -> bool:
        return self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        return self._process.pid

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
            budget = int(
                (live.config or {}).get("max_env_steps")
                or min(int(live.request.overrides.get("max_env_steps", self.limits.max_steps)), self.limits.max_steps)
            )
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
                snapshot=live.snapshot,
            )

    # -- the reader thread ---------------------------------------------------------------

    def _listen(self) -> None:
        finished = False
        while not finished:
            try:
                kind, index, payload = self._queue.get(timeout=POLL_SECONDS)
            except queue_module.Empty:
                if self._watch():
                    break  # stopped by the server: nothing more will come
                if not self._process.is_alive():
                    # the child died without saying "finished" (killed, out of memory…)
                    try:
                        kind, index, payload = self._queue.get(timeout=1.0)
                    except queue_module.Empty:
                        with self._lock:
                            self._errors.append(
                                f"the training process ended unexpectedly (exit code {self._process.exitcode})"
                            )
                        break
                else:
                    continue
            finished = self._handle(kind, index, payload)
        self._end_process()
        with self._lock:
            if self._errors and not any(r.done for r in self._runs):
                self._status = "failed"
            elif self._cancel.is_set():
                self._status = "cancelled"
            else:
                self._status = "done"
        if self._on_exit is not None:
            self._on_exit(self)

    def _watch(self) -> bool:
        """Between messages: cancel a job whose tab is gone or that nobody watches; stop a
        worker past its time cap. True if the worker had to be stopped."""
        now = time.monotonic()
        with self._lock:
            abandoned = now - self._last_seen > ABANDON_SECONDS
        if self._session_alive is not None:
            if self._session_alive():
                self._gone_since = None
            else:
                self._gone_since = self._gone_since or now
                abandoned |= now - self._gone_since > DISCONNECT_GRACE_SECONDS
        if abandoned:
            self._cancel.set()
        if now > self._deadline and self._process.is_alive():
            with self._lock:
                self._errors.append(
                    "the training passed its time cap and did not stop, so the server "
                    "stopped it; what it had sent so far is kept"
                )
            self._end_process(patience=0.0)
            return True
        return False

    def _end_process(self, patience: float = 5.0) -> None:
        """Wait for the worker to exit on its own; then terminate it, then kill it."""
        self._process.join(timeout=patience)
        for stop in (self._process.terminate, self._process.kill):
            if not self._process.is_alive():
                break
            stop()
            self._process.join(timeout=3.0)

    def _handle(self, kind: str, index: Any, payload: Any) -> bool:
        snapshot = None
        if kind == "policy" and isinstance(index, int) and 0 <= index < len(self._runs):
            try:  # validated and hashed outside the lock: a page's view() never waits for it
                snapshot = _live_policy(payload, self._runs[index].request.algo)
            except ValueError:
                return False  # the newest valid snapshot stays; the run itself reports what went wrong
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
            elif kind == "policy":
                run.snapshot = snapshot
                if snapshot is not None and snapshot.milestone:
                    run.milestones.append(snapshot)
            elif kind == "end":
                run.final = payload
                run.env_steps = int(payload["env_steps"])
                run.wall_seconds = float(payload["wall_seconds"])
                try:
                    run.done = _finished(run, index)
                except (ValueError, KeyError, TypeError) as err:
                    self._errors.append(f"run {index + 1} could not be read back: {err}"[:500])
            return False


def _run_data(
    run: _LiveRun,
    index: int,
    returns: Any,
    lengths: Any,
    end_steps: Any,
    *,
    env_steps: int,
    wall_seconds: float,
    stop_reason: str,
    steps_to_solve: int | None = None,
    eval_mean_return: float | None = None,
) -> RunData:
    request = run.request
    config = {k: v for k, v in (run.config or {}).items() if isinstance(v, (bool, int, float, str)) or v is None}
    grad = run.grad_variance if len(run.grad_variance) == len(run.update_steps) and run.grad_variance else None
    return RunData(
        name=request.name or f"{request.algo} · seed {request.seed} · {index + 1}",
        algo=request.algo,
        seed=request.seed,
        preset=request.preset,
        config=config,
        episode_returns=returns,
        episode_lengths=lengths,
        episode_end_steps=end_steps,
        update_steps=run.update_steps,
        weight_variance=run.weight_variance,
        weight_mean=run.weight_mean,
        entropy=run.entropy,
        grad_variance=grad,
        env_steps=env_steps,
        wall_seconds=wall_seconds,
        stop_reason=stop_reason,
        group=request.group,
        steps_to_solve=steps_to_solve,
        eval_mean_return=eval_mean_return,
    )


def _live_run_data(run: _LiveRun, index: int) -> RunData:
    return _run_data(
        run,
        index,
        run.returns,
        run.lengths,
        run.end_steps,
        env_steps=run.env_steps,
        wall_seconds=run.wall_seconds,
        stop_reason="cancelled",
    )


def _finished(run: _LiveRun, index: int) -> FinishedRun:
    final = run.final
    assert final is not None
    data = _run_data(
        run,
        index,
        final["returns"],
        final["lengths"],
        final["end_steps"],
        env_steps=int(final["env_steps"]),
        wall_seconds=float(final["wall_seconds"]),
        stop_reason=str(final["stop_reason"]),
        steps_to_solve=final.get("steps_to_solve"),
        eval_mean_return=final.get("eval_mean_return"),
    )
    return FinishedRun(
        data, final["policy_weights"], int(final["hidden_size"]), str(final["activation"]), tuple(run.milestones)
    )


class TrainingRegistry:
    """Every training job of the server, and the queue of sessions waiting for a slot.

    ``disabled_reason`` is set when training is off on this server (``PG_MAX_TRAININGS=0``
    or an invalid limit, see :func:`registry_from_environment`); ``submit`` then starts
    nothing and the page shows the reason.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        target: Callable[..., None] = training_worker,
        disabled_reason: str | None = None,
        session_watch: Callable[[], Callable[[], bool] | None] | None = None,
        spares: int = 0,
        warm_up: Callable[[], None] | None = None,
    ) -> None:
        """Args:
        limits: the caps (default: from the environment).
        target: the worker function.
        disabled_reason: set to turn training off, with the reason shown to visitors.
        session_watch: called in the submitting session's thread; returns a check
            "is that tab still connected?" (or None).
        spares: how many started, warmed-up worker processes to keep in reserve.
        warm_up: what a spare does while it waits (see :func:`warm_up_training`).
        """
        self.limits = limits or Limits.from_env()
        self._target = target
        self._warm_up = warm_up
        self._spare_count = spares
        if disabled_reason is None and self.limits.max_trainings == 0:
            disabled_reason = "Training is turned off on this server (PG_MAX_TRAININGS=0)."
        self.disabled_reason = disabled_reason
        # Called in the submitting session's thread: returns "is that tab still there?"
        self._session_watch = session_watch
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._waiting: OrderedDict[str, float] = OrderedDict()
        self._spares: list[WorkerProcess] = []
        if self.disabled_reason is None:
            self._refill_spares()

    def _refill_spares(self) -> None:
        self._spares = [w for w in self._spares if w.process.is_alive() and not w.assigned]
        while len(self._spares) < self._spare_count:
            self._spares.append(WorkerProcess(self._target, self.limits, self._warm_up))

    def close(self) -> None:
        """Retire the spare workers (jobs in progress run to their end)."""
        with self._lock:
            spares, self._spares, self._spare_count = self._spares, [], 0
        for worker in spares:
            worker.retire()

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
        otherwise (re)join the line and return None. Call again to retry. Returns None
        always when training is off (``disabled_reason``)."""
        if self.disabled_reason is not None:
            return None
        session_alive = self._session_watch() if self._session_watch is not None else None
        with self._lock:
            self._prune_tickets_locked()
            self._waiting[ticket] = time.monotonic()
            free = self.limits.max_trainings - self._running_locked()
            if free <= 0 or list(self._waiting).index(ticket) >= free:
                return None
            del self._waiting[ticket]
            spare = next((w for w in self._spares if w.process.is_alive() and not w.assigned), None)
            job = Job(requests, self.limits, target=self._target, session_alive=session_alive, worker=spare)
            self._jobs[job.id] = job
            self._refill_spares()  # the next visitor's worker starts warming up now
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


def registry_from_environment(target: Callable[..., None] = training_worker) -> TrainingRegistry:
    """The registry with the limits in the environment; if they are invalid, a registry with
    training turned off whose ``disabled_reason`` names the bad variable (also logged)."""
    try:
        limits = Limits.from_env()
        spares = _read_spares()
    except ValueError as err:
        _LOG.error("CartPole training is turned off: %s", err)
        return TrainingRegistry(
            Limits(max_trainings=0),
            target=target,
            disabled_reason=f"{err}. Training is turned off on this server until it is fixed.",
            session_watch=_streamlit_session_watch,
        )
    return TrainingRegistry(
        limits,
        target=target,
        session_watch=_streamlit_session_watch,
        spares=spares,
        warm_up=warm_up_training if target is training_worker else None,
    )


def _read_spares(environ: dict[str, str] | None = None) -> int:
    """``PG_WARM_WORKERS``: started, warmed-up workers kept in reserve (default 1, 0–4)."""
    raw = (os.environ if environ is None else environ).get("PG_WARM_WORKERS", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) > 4:
        raise ValueError(f"PG_WARM_WORKERS={raw!r} is not a whole number from 0 to 4")
    return int(raw)


def _streamlit_session_watch() -> Callable[[], bool] | None:
    """In a Streamlit script thread: a check that the current session (browser tab) is
    still connected; None outside a running Streamlit server."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


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
            return registry_from_environment()

        _shared = _registry
    return _shared()
