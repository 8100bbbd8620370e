"""app.training_jobs when things go wrong: the server dies, a worker freezes, a tab is
closed, the operator mistypes a limit. No worker outlives its server, no slot is held by a
process nobody can stop, and no limit is loosened silently."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import app.training_jobs as jobs
from app.training_jobs import Job, Limits, TrainingRegistry
from tests.test_training_jobs import WAIT, request, scripted_worker, wait_until

ROOT = Path(__file__).resolve().parents[1]


def frozen_worker(requests, limits, out, cancel):
    """Says it started, then hangs without ever reading ``cancel`` (a stuck C call, a
    deadlock): only the server can end it."""
    out.put(("start", 0, {"algo": "reinforce"}))
    while True:
        time.sleep(1.0)


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state or "\nState:\tX" in state


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads process states from /proc (Linux)")
def test_a_worker_exits_when_its_server_is_killed():
    server = textwrap.dedent(
        """
        import time
        from app.training_jobs import Job, Limits
        from tests.test_training_jobs import request, scripted_worker
        job = Job([request(0, hold=True)], Limits(), target=scripted_worker)
        time.sleep(1.0)
        print(job.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", server], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        worker_pid = int(parent.stdout.readline())
        assert not _gone(worker_pid), "the worker should be running while its server lives"
        parent.send_signal(signal.SIGKILL)  # a crash or the OOM killer: no cleanup code runs
        parent.wait(10)
        assert wait_until(lambda: _gone(worker_pid), timeout=15), "the worker outlived its server"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_server_stops_a_frozen_worker_after_its_time_cap_and_only_then_frees_the_slot(monkeypatch):
    monkeypatch.setattr(jobs, "STARTUP_SECONDS", 2.0)
    monkeypatch.setattr(jobs, "GRACE_SECONDS", 1.0)
    registry = TrainingRegistry(Limits(max_trainings=1, max_seconds=1.0), target=frozen_worker)
    job = registry.submit("a", [request(0)])
    assert job is not None
    time.sleep(0.5)
    assert registry.running() == 1
    assert registry.submit("b", [request(1)]) is None, "the frozen worker still holds the slot"
    assert job.wait(jobs.STARTUP_SECONDS + 1.0 + jobs.GRACE_SECONDS + 15)
    view = job.view()
    assert view.status == "failed"
    assert any("time cap" in error for error in view.errors), view.errors
    assert not job.process_alive
    assert registry.running() == 0
    second = registry.submit("b", [request(1)])
    assert second is not None and second.wait(WAIT)


def test_a_slot_is_held_while_the_worker_process_is_alive(monkeypatch):
    """The slot counts live processes, not the reader thread's opinion."""
    job = Job([request(0, hold=True)], Limits(), target=scripted_worker)
    assert wait_until(lambda: job.view().env_steps > 0)
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker)
    registry._jobs[job.id] = job  # as submit() would have
    with job._lock:
        job._status = "done"  # the reader believes it is over …
    assert job.process_alive and job.active  # … but the process is still there
    assert registry.running() == 1
    job.cancel()
    assert job.wait(WAIT)
    assert wait_until(lambda: registry.running() == 0)


def test_a_job_whose_tab_was_closed_is_cancelled_soon(monkeypatch):
    monkeypatch.setattr(jobs, "DISCONNECT_GRACE_SECONDS", 0.3)
    watching = {"open": True}
    job = Job([request(0, hold=True)], Limits(), target=scripted_worker, session_alive=lambda: watching["open"])
    assert wait_until(lambda: job.view().env_steps > 0)
    time.sleep(0.6)
    assert job.active and not job.cancel_requested, "an open tab keeps its training"
    watching["open"] = False  # the tab is closed
    assert wait_until(lambda: job.cancel_requested, timeout=10)
    assert job.wait(WAIT)


# --- limits from the environment ------------------------------------------------------------


def test_limits_default_when_unset_and_read_valid_values():
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"PG_MAX_TRAININGS": "", "PG_MAX_TRAIN_STEPS": " "}) == Limits()
    got = Limits.from_env({"PG_MAX_TRAININGS": "3", "PG_MAX_TRAIN_STEPS": "5000", "PG_MAX_TRAIN_SECONDS": "9.5"})
    assert got == Limits(3, 5000, 9.5)


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("PG_MAX_TRAININGS", "zero", "not a whole number"),
        ("PG_MAX_TRAININGS", "-1", "too small: it must be at least 0"),
        ("PG_MAX_TRAININGS", "1.5", "not a whole number"),
        ("PG_MAX_TRAIN_STEPS", "1e6", "not a whole number"),
        ("PG_MAX_TRAIN_STEPS", "0", "too small: it must be at least 1000"),
        ("PG_MAX_TRAIN_STEPS", "-4", "too small: it must be at least 1000"),
        ("PG_MAX_TRAIN_SECONDS", "nan", "not a finite number"),
        ("PG_MAX_TRAIN_SECONDS", "inf", "not a finite number"),
        ("PG_MAX_TRAIN_SECONDS", "0", "too small: it must be at least 1"),
        ("PG_MAX_TRAIN_SECONDS", "ten", "not a finite number"),
    ],
)
def test_an_invalid_limit_is_refused_with_a_message_naming_it(name, raw, reason):
    with pytest.raises(ValueError, match="^" + re.escape(f"{name}={raw!r} is {reason}")):
        Limits.from_env({name: raw})


@pytest.mark.parametrize(
    ("name", "raw", "field", "clamped"),
    [
        ("PG_MAX_TRAININGS", "1000", "max_trainings", jobs.MAX_TRAININGS_CEILING),
        ("PG_MAX_TRAIN_STEPS", "999999999999", "max_steps", jobs.MAX_STEPS_CEILING),
        ("PG_MAX_TRAIN_SECONDS", "1e9", "max_seconds", jobs.MAX_SECONDS_CEILING),
    ],
)
def test_a_limit_above_its_ceiling_is_clamped_down_and_logged(name, raw, field, clamped, caplog):
    limits = Limits.from_env({name: raw})
    assert getattr(limits, field) == clamped
    assert any(name in record.getMessage() and "lowered" in record.getMessage() for record in caplog.records)


def test_zero_trainings_turns_training_off_rather_than_falling_back_to_one():
    registry = TrainingRegistry(Limits.from_env({"PG_MAX_TRAININGS": "0"}), target=scripted_worker)
    assert registry.disabled_reason is not None and "PG_MAX_TRAININGS" in registry.disabled_reason
    assert registry.submit("a", [request(0)]) is None


def test_a_registry_built_from_a_bad_environment_is_off_and_says_why(monkeypatch):
    monkeypatch.setenv("PG_MAX_TRAIN_STEPS", "lots")
    registry = jobs.registry_from_environment(target=scripted_worker)
    assert registry.disabled_reason is not None
    assert registry.disabled_reason.startswith("PG_MAX_TRAIN_STEPS='lots' is not a whole number")
    assert registry.submit("a", [request(0)]) is None
    assert registry.running() == 0


# --- the worker's entry point -----------------------------------------------------------------


def test_a_spawned_worker_does_not_run_the_main_script(tmp_path, monkeypatch):
    """multiprocessing's spawn re-runs the parent's ``__main__`` in the child. Under
    ``streamlit run`` or AppTest that is a page script (the CartPole page would even start a
    worker of its own mid-bootstrap, which multiprocessing refuses). Workers skip it."""
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page ran in the worker')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    job = Job([request(0)], Limits(), target=scripted_worker)
    assert job.wait(WAIT)
    assert job.view().status == "done", job.view().errors
    assert not marker.exists(), "the worker ran the parent's main script"


# --- warm workers -----------------------------------------------------------------------------


def test_a_warm_spare_takes_the_next_job_and_another_starts_warming():
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker, spares=1)
    (spare,) = registry._spares
    job = registry.submit("a", [request(0)])
    assert job is not None and job.pid == spare.process.pid, "the job did not use the warm worker"
    (next_spare,) = registry._spares
    assert next_spare.process.pid != spare.process.pid and not next_spare.assigned
    assert job.wait(WAIT)
    assert job.view().finished[0].data.episode_returns.tolist() == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    registry.close()
    assert wait_until(lambda: not next_spare.process.is_alive())


def test_a_dead_spare_is_not_used():
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker, spares=1)
    (spare,) = registry._spares
    spare.process.kill()
    spare.process.join(5)
    job = registry.submit("a", [request(0)])
    assert job is not None and job.pid != spare.process.pid
    assert job.wait(WAIT) and job.view().status == "done"
    registry.close()


@pytest.mark.parametrize("raw", ["-1", "five", "9", "1.5"])
def test_warm_workers_setting_is_checked(raw):
    with pytest.raises(ValueError, match="^" + re.escape(f"PG_WARM_WORKERS={raw!r} is not a whole number from 0 to 4")):
        jobs._read_spares({"PG_WARM_WORKERS": raw})
    assert jobs._read_spares({}) == 1 and jobs._read_spares({"PG_WARM_WORKERS": "0"}) == 0


@pytest.mark.slow
def test_a_warmed_real_worker_trains_like_a_cold_one():
    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import train

    registry = TrainingRegistry(Limits(max_trainings=1), spares=1, warm_up=jobs.warm_up_training)
    job = registry.submit("a", [jobs.RunRequest("fast", "reinforce", 3, {"max_env_steps": 2000}, name="w")])
    assert job is not None and job.wait(120)
    (finished,) = job.view().finished
    expected = train(preset_config("fast", "reinforce", 3, max_env_steps=2000))
    assert finished.data.episode_returns.tolist() == expected.episode_returns.tolist()
    registry.close()
