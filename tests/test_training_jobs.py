"""app.training_jobs: worker processes start, stream, finish and cancel; the server-wide
cap holds and waiting sessions go first come, first served; a dead or abandoned worker
never holds a slot. Most tests use a scripted worker (no training: fast); the slow ones run
the real trainer and check it matches pgcore.cartpole.train exactly."""

from __future__ import annotations

import time

import numpy as np
import pytest

import app.training_jobs as jobs
from app.training_jobs import Job, Limits, RunRequest, TrainingRegistry

WAIT = 60.0  # seconds: a spawned child needs a few to import under a loaded CI machine


def snapshot_weights(update: int) -> dict[str, np.ndarray]:
    """A 4-unit tanh network that pushes the cart the way the pole leans, more firmly with
    each update (so each update's weights differ, and later ones balance longer)."""
    weights = {
        "layer1.weight": np.zeros((4, 4), np.float32),
        "layer1.bias": np.zeros(4, np.float32),
        "layer2.weight": np.zeros((2, 4), np.float32),
        "layer2.bias": np.zeros(2, np.float32),
    }
    weights["layer1.weight"][0] = [0.0, 0.5, 10.0, 2.0]
    weights["layer2.weight"][:, 0] = [-1.5 * update, 1.5 * update]
    return weights


def scripted_worker(requests, limits, out, cancel):
    """A stand-in for training_worker: per request, 3 updates of 2 episodes each (returns
    10, 20, …) and then an end message; ``overrides["hold"]`` keeps it waiting for Stop;
    ``overrides["crash"]`` kills the process without a word; ``overrides["snapshots"]``
    sends a policy snapshot (:func:`snapshot_weights`) after every update, as the real
    worker does every few seconds."""
    import os

    for index, request in enumerate(requests):
        if cancel.is_set():
            break
        if request.overrides.get("crash"):
            os._exit(3)
        out.put(("start", index, {"algo": request.algo, "seed": request.seed}))
        returns, ends, step = [], [], 0
        for update in range(3):
            new = [10.0 * (len(returns) + 1), 10.0 * (len(returns) + 2)]
            new_ends = [step + int(new[0]), step + int(new[0] + new[1])]
            step = new_ends[-1]
            returns += new
            ends += new_ends
            out.put(
                (
                    "update",
                    index,
                    {
                        "update": update + 1,
                        "env_steps": step,
                        "returns": new,
                        "lengths": [int(r) for r in new],
                        "end_steps": new_ends,
                        "weight_variance": 4.0 + update,
                        "weight_mean": 1.0,
                        "entropy": 0.69,
                        "grad_variance": None,
                        "steps_per_second": 1000.0,
                        "wall_seconds": 0.1 * update,
                    },
                )
            )
            if request.overrides.get("snapshots"):
                out.put(
                    (
                        "policy",
                        index,
                        {
                            "update": update + 1,
                            "env_steps": step,
                            "weights": snapshot_weights(update + 1),
                            "hidden_size": 4,
                            "activation": "tanh",
                        },
                    )
                )
        deadline = time.monotonic() + 30
        while request.overrides.get("hold") and not cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        out.put(
            (
                "end",
                index,
                {
                    "config": {"algo": request.algo},
                    "returns": np.array(returns),
                    "lengths": np.array(returns, dtype=int),
                    "end_steps": np.array(ends),
                    "env_steps": step,
                    "wall_seconds": 0.5,
                    "stop_reason": "cancelled" if cancel.is_set() else "max_env_steps",
                    "policy_weights": {
                        "layer1.weight": np.zeros((4, 4), np.float32),
                        "layer1.bias": np.zeros(4, np.float32),
                        "layer2.weight": np.zeros((2, 4), np.float32),
                        "layer2.bias": np.zeros(2, np.float32),
                    },
                    "hidden_size": 4,
                    "activation": "tanh",
                },
            )
        )
        if cancel.is_set():
            break
    out.put(("finished", None, None))


def holding_worker_with_snapshots(requests, limits, out, cancel):
    """:func:`scripted_worker` for the page's own requests: snapshots, then waits for Stop."""
    import dataclasses

    scripted_worker(
        [dataclasses.replace(r, overrides={**r.overrides, "hold": True, "snapshots": True}) for r in requests],
        limits,
        out,
        cancel,
    )


def request(seed=0, **overrides) -> RunRequest:
    return RunRequest("fast", "reinforce", seed, overrides, name=f"run {seed}")


def wait_until(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_job_streams_updates_and_finishes_with_its_runs():
    job = Job([request(0), request(1)], Limits(), target=scripted_worker)
    assert job.wait(WAIT)
    view = job.view()
    assert view.status == "done" and not view.active and view.total == 2
    assert [f.data.name for f in view.finished] == ["run 0", "run 1"]
    first = view.finished[0].data
    assert first.episode_returns.tolist() == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert first.update_steps.tolist() == [30, 100, 210]
    assert first.weight_variance.tolist() == [4.0, 5.0, 6.0]
    assert view.finished[0].policy_weights["layer2.weight"].shape == (2, 4)
    assert view.errors == []


def test_cancel_ends_the_job_early_and_keeps_the_run():
    job = Job([request(0, hold=True), request(1)], Limits(), target=scripted_worker)
    assert wait_until(lambda: job.view().env_steps == 210), "no progress arrived"
    view = job.view()
    assert view.active and view.live is not None and view.live.episode_returns.size == 6
    job.cancel()
    assert job.wait(WAIT)
    view = job.view()
    assert view.status == "cancelled"
    assert [f.data.stop_reason for f in view.finished] == ["cancelled"]  # the second run never started


def test_a_crashed_worker_is_reported_and_frees_its_slot():
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker)
    job = registry.submit("a", [request(0, crash=True)])
    assert job is not None and job.wait(WAIT)
    view = job.view()
    assert view.status == "failed" and "ended unexpectedly" in view.errors[0]
    assert registry.running() == 0


def test_the_cap_makes_others_wait_first_come_first_served():
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker)
    first = registry.submit("a", [request(0, hold=True)])
    assert first is not None and registry.running() == 1
    assert registry.submit("b", [request(1)]) is None
    assert registry.submit("c", [request(2)]) is None
    assert registry.position("b") == 1 and registry.position("c") == 2
    first.cancel()
    assert first.wait(WAIT)
    assert registry.submit("c", [request(2)]) is None, "c is behind b in line"
    second = registry.submit("b", [request(1)])
    assert second is not None and registry.position("b") is None
    assert second.wait(WAIT)
    third = registry.submit("c", [request(2)])
    assert third is not None and third.wait(WAIT)
    assert registry.running() == 0


def test_two_slots_run_two_jobs_at_once():
    registry = TrainingRegistry(Limits(max_trainings=2), target=scripted_worker)
    a = registry.submit("a", [request(0, hold=True)])
    b = registry.submit("b", [request(1, hold=True)])
    assert a is not None and b is not None and registry.running() == 2
    assert registry.submit("c", [request(2)]) is None
    a.cancel(), b.cancel()
    assert a.wait(WAIT) and b.wait(WAIT)
    assert registry.running() == 0


def test_stale_tickets_and_withdrawn_sessions_leave_the_line(monkeypatch):
    registry = TrainingRegistry(Limits(max_trainings=1), target=scripted_worker)
    first = registry.submit("a", [request(0, hold=True)])
    assert registry.submit("gone", [request(1)]) is None
    assert registry.submit("b", [request(2)]) is None
    registry.withdraw("b")
    assert registry.position("b") is None
    monkeypatch.setattr(jobs, "TICKET_TTL_SECONDS", 0.0)
    time.sleep(0.01)
    assert registry.position("gone") is None  # not renewed: dropped
    first.cancel()
    assert first.wait(WAIT)


def test_an_abandoned_job_is_cancelled(monkeypatch):
    monkeypatch.setattr(jobs, "ABANDON_SECONDS", 0.5)
    job = Job([request(0, hold=True)], Limits(), target=scripted_worker)
    # nobody calls view(): the reader thread cancels it after ABANDON_SECONDS
    assert job.wait(WAIT)
    assert job.cancel_requested
    assert job.view().status == "cancelled"


def test_the_job_keeps_the_newest_policy_snapshot_of_the_current_run():
    from pgcore.cartpole.policy import PolicySnapshot, policy_digest

    job = Job([request(0, snapshots=True, hold=True)], Limits(), target=scripted_worker)
    assert wait_until(lambda: job.view().snapshot is not None and job.view().snapshot.update == 3)
    snapshot = job.view().snapshot
    assert snapshot.env_steps == 210 == job.view().env_steps
    for name, weights in snapshot_weights(3).items():
        np.testing.assert_array_equal(snapshot.policy.weights[name], weights)
    assert snapshot.policy.hidden_size == 4 and snapshot.policy.algo == "reinforce"
    assert snapshot.key == policy_digest(PolicySnapshot(snapshot_weights(3), 4, "tanh"))
    assert snapshot.key != policy_digest(PolicySnapshot(snapshot_weights(2), 4, "tanh"))
    job.cancel()
    assert job.wait(WAIT)


def test_a_malformed_snapshot_is_ignored_and_the_last_good_one_kept():
    job = Job([request(0, hold=True)], Limits(), target=scripted_worker)
    assert wait_until(lambda: job.view().env_steps == 210)
    good = {"update": 2, "env_steps": 100, "weights": snapshot_weights(2), "hidden_size": 4, "activation": "tanh"}
    assert job._handle("policy", 0, good) is False
    bad_weights = {**snapshot_weights(3), "layer2.bias": np.array([np.nan, 0.0], np.float32)}
    for bad in (
        {**good, "update": 3, "weights": bad_weights},
        {**good, "update": 3, "hidden_size": 7},
        {"update": 3},
        None,
    ):
        job._handle("policy", 0, bad)
    job._handle("policy", 5, good)  # no such run
    assert job.view().snapshot.update == 2 and job.view().status == "running"
    job.cancel()
    assert job.wait(WAIT)


def test_job_needs_requests():
    with pytest.raises(ValueError):
        Job([], Limits(), target=scripted_worker)


# --- the real worker ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_worker_matches_in_process_training_exactly():
    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import train

    job = Job([RunRequest("fast", "reinforce_baseline", 4, {"max_env_steps": 3000}, name="w")], Limits())
    assert job.wait(120)
    view = job.view()
    assert view.status == "done", view.errors
    (finished,) = view.finished
    expected = train(preset_config("fast", "reinforce_baseline", 4, max_env_steps=3000))
    np.testing.assert_array_equal(finished.data.episode_returns, expected.episode_returns)
    np.testing.assert_array_equal(finished.data.episode_end_steps, expected.episode_end_steps)
    assert finished.data.env_steps == expected.env_steps
    assert finished.data.update_steps.size == expected.updates
    for name, weights in expected.policy.weights.items():
        np.testing.assert_array_equal(finished.policy_weights[name], weights)


@pytest.mark.slow
def test_the_real_worker_honours_the_caps_and_bad_settings():
    job = Job(
        [
            RunRequest("fast", "actor_critic", 0, {"max_env_steps": 10**9}, name="capped"),
            RunRequest("fast", "reinforce", 0, {"gamma": 7.0}, name="bad"),
        ],
        Limits(max_steps=2000, max_seconds=60),
    )
    assert job.wait(120)
    view = job.view()
    (capped,) = view.finished
    assert capped.data.config["max_env_steps"] == 2000
    assert 2000 <= capped.data.env_steps < 2000 + 16 * 16  # one update past the cap at most
    assert any("gamma" in e for e in view.errors)


class _Outbox:
    """A stand-in for the worker's queue, in this process."""

    def __init__(self):
        self.messages = []

    def put(self, message):
        self.messages.append(message)


def worker_messages(request: RunRequest, snapshot_seconds: float) -> list:
    """Everything the real worker sends for ``request``, run in this process."""
    import threading

    out = _Outbox()
    jobs.training_worker([request], Limits(), out, threading.Event(), snapshot_seconds=snapshot_seconds)
    return out.messages


def replay_milestones(records) -> list[int]:
    """The updates whose policy a run keeps for its replay: update 1, and the first update at
    which the 20-episode mean reaches each of REPLAY_MILESTONES (one update may pass several)."""
    kept, passed = [], set()
    for record in records:
        newly = {m for m in jobs.REPLAY_MILESTONES if record.avg_return >= m} - passed
        if record.update == 1 or newly:
            kept.append(record.update)
        passed |= newly
    return kept


@pytest.mark.slow
def test_the_real_worker_keeps_a_policy_at_each_milestone_of_the_training_mean():
    """A run that solves passes every milestone: its policy is sent, marked, at update 1 and at
    the first update whose 20-episode mean reaches 50, 100, 200, 300 and 400; the job keeps
    those for the finished run's replay, oldest first, each the policy of its update."""
    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import iter_training

    config = preset_config("fast", "actor_critic", 0, max_env_steps=30_000)
    request = RunRequest("fast", "actor_critic", 0, {"max_env_steps": 30_000}, name="w")
    messages = worker_messages(request, snapshot_seconds=1e9)  # no timed snapshots: update 1 and milestones
    records = list(iter_training(config))
    expected = replay_milestones(records)
    means = {r.update: r.avg_return for r in records}
    assert len(expected) >= 4, "a run that solves should pass several milestones"
    snapshots = [payload for kind, _, payload in messages if kind == "policy"]
    assert [s["update"] for s in snapshots] == expected
    assert all(s["milestone"] is True for s in snapshots)
    assert [s["avg_return"] for s in snapshots[1:]] == [means[u] for u in expected[1:]]
    assert max(s["avg_return"] for s in snapshots) >= max(jobs.REPLAY_MILESTONES)

    job = Job([request], Limits())
    assert job.wait(120)
    (finished,) = job.view().finished
    assert [m.update for m in finished.milestones] == expected
    assert all(m.milestone for m in finished.milestones)
    run = iter_training(config)
    for record in run:
        if record.update == expected[2]:
            kept = finished.milestones[2].policy.weights
            for name, array in run.policy.state_dict().items():
                np.testing.assert_array_equal(kept[name], array)
            break


@pytest.mark.slow
@pytest.mark.parametrize("every", [0.0, 1e9])
def test_the_real_worker_sends_the_policy_as_it_trains(every):
    """Snapshots after update 1 and then every ``snapshot_seconds``; each one is exactly the
    policy pgcore.cartpole has after that update, and sending them changes nothing."""
    from pgcore.cartpole.config import preset_config
    from pgcore.cartpole.training import iter_training

    messages = worker_messages(RunRequest("fast", "reinforce", 2, {"max_env_steps": 2000}, name="w"), every)
    kinds = [kind for kind, _, _ in messages]
    snapshots = [payload for kind, _, payload in messages if kind == "policy"]
    updates = kinds.count("update")
    assert updates > 3 and kinds[-1] == "finished"
    run = iter_training(preset_config("fast", "reinforce", 2, max_env_steps=2000))
    milestones = replay_milestones(iter_training(preset_config("fast", "reinforce", 2, max_env_steps=2000)))
    assert [s["update"] for s in snapshots] == (list(range(1, updates + 1)) if every == 0 else milestones)
    assert kinds.index("policy") == kinds.index("update") + 1, "the first snapshot follows the first update"
    by_update = {s["update"]: s for s in snapshots}
    for record in run:
        snapshot = by_update.get(record.update)
        if snapshot is None:
            continue
        assert snapshot["env_steps"] == record.env_steps
        for name, array in run.policy.state_dict().items():
            np.testing.assert_array_equal(snapshot["weights"][name], array)
            assert snapshot["weights"][name].dtype == np.float32
    end = next(payload for kind, _, payload in messages if kind == "end")
    np.testing.assert_array_equal(end["returns"], run.result().episode_returns)


@pytest.mark.slow
def test_a_real_job_holds_the_newest_snapshot_and_its_episode_is_a_direct_rollout():
    import functools

    from pgcore.cartpole.policy import PolicySnapshot, policy_digest, rollout_episode

    target = functools.partial(jobs.training_worker, snapshot_seconds=0.0)  # one per update
    job = Job([RunRequest("fast", "reinforce_value", 1, {"max_env_steps": 3000}, name="w")], Limits(), target=target)
    assert job.wait(120)
    view = job.view()
    assert view.status == "done", view.errors
    (finished,) = view.finished
    snapshot = view.snapshot
    assert snapshot is not None and snapshot.update == finished.data.update_steps.size  # the newest: the last update
    assert snapshot.env_steps == finished.data.env_steps
    direct = PolicySnapshot(
        {k: np.asarray(v, np.float32) for k, v in finished.policy_weights.items()},
        finished.hidden_size,
        finished.activation,
    )
    assert snapshot.key == policy_digest(direct)
    for seed in (0, 7):
        mine = rollout_episode(snapshot.policy, seed=seed)
        theirs = rollout_episode(direct, seed=seed)
        np.testing.assert_array_equal(mine.states, theirs.states)
        np.testing.assert_array_equal(mine.actions, theirs.actions)
        assert mine.total_reward == theirs.total_reward
