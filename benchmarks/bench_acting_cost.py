"""Where acting's cost goes inside a rollout: how long the vector env's ``step`` takes right
after each numpy call of the policy's forward pass, against right after nothing.

The training loop (:meth:`pgcore.cartpole.acting.Actor.step_through`) alternates one forward
pass, w · tanh(s W1ᵀ + b1) > ε − b, with one ``env.step``. This script times the same
alternation with one call at a time put before ``env.step``, for the fast preset's untrained
actor_critic policy (8 envs, H = 32), and the whole forward pass against nothing.

``--no-avx512`` also runs everything in a child process with the AVX-512 kernels of numpy and
OpenBLAS switched off (``NPY_DISABLE_CPU_FEATURES``, ``OPENBLAS_CORETYPE=Haswell``; both are
read only at import), alternating with a child that keeps them, and times fast-preset
actor_critic training to solve under both, so the trade-off is one command:

    .venv/bin/python benchmarks/bench_acting_cost.py               # this process only
    .venv/bin/python benchmarks/bench_acting_cost.py --no-avx512   # with and without AVX-512

Prints figures; asserts nothing. Timings are medians over interleaved repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from pgcore.cartpole.config import preset_config
from pgcore.cartpole.training import TrainingRun, train

NUM_ENVS, STEPS = 8, 256
NO_AVX512 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"}


def forward_calls(run: TrainingRun, num_envs: int) -> dict[str, Callable[[np.ndarray, int], object]]:
    """The forward pass's numpy calls one at a time, each taking (observations, step), on the
    run's own float32 read-out; plus nothing, and all of them in order."""
    actor = run._actor
    readout = actor.readout()
    w1t, b1, w = readout.w1t, np.tile(readout.b1, (num_envs, 1)), readout.w
    hidden = actor.scratch(num_envs)
    hidden[:] = 0.5  # a typical pre-activation, so tanh and the read-out see ordinary numbers
    thresholds = actor.thresholds(np.random.default_rng(1), (STEPS, num_envs), readout)
    gap = np.zeros(num_envs, np.float32)
    actions = np.zeros((STEPS, num_envs), np.int64)

    def whole(obs: np.ndarray, t: int) -> object:
        np.dot(obs, w1t, out=hidden)
        np.add(hidden, b1, out=hidden)
        np.tanh(hidden, out=hidden)
        return np.greater(hidden.dot(w), thresholds[t], out=actions[t])

    return {
        "nothing": lambda obs, t: None,
        "first layer: np.dot(s, W1ᵀ)": lambda obs, t: np.dot(obs, w1t, out=hidden),
        "bias add: h += b1": lambda obs, t: np.add(hidden, b1, out=hidden),
        "activation: np.tanh(h)": lambda obs, t: np.tanh(hidden, out=hidden),
        "read-out: h.dot(w)": lambda obs, t: hidden.dot(w),
        "compare: w·h > ε − b": lambda obs, t: np.greater(gap, thresholds[t], out=actions[t]),
        "the whole forward pass": whole,
    }


def time_calls(repeats: int) -> dict[str, tuple[float, float]]:
    """{call: (its own µs, env.step's µs right after it)}, medians over ``repeats`` rounds that
    interleave the calls (the host's speed drifts)."""
    run = TrainingRun(preset_config("fast", "actor_critic", 0, num_envs=NUM_ENVS))
    env = gym.make_vec("CartPole-v1", num_envs=NUM_ENVS, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (STEPS, NUM_ENVS))
    calls = forward_calls(run, NUM_ENVS)
    clock = time.perf_counter
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            own = stepping = 0.0
            for t in range(STEPS):
                tic = clock()
                call(obs, t)
                mid = clock()
                obs, *_ = env.step(actions[t])
                own, stepping = own + mid - tic, stepping + clock() - mid
            samples[name].append((own / STEPS * 1e6, stepping / STEPS * 1e6))
    env.close()
    run.close()
    return {
        name: (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs))
        for name, pairs in samples.items()
    }


def time_training(seeds: int) -> float:
    """Median train seconds (the run's own ``wall_seconds``) of fast-preset actor_critic to solve."""
    return statistics.median(train(preset_config("fast", "actor_critic", seed)).wall_seconds for seed in range(seeds))


def print_calls(label: str, timings: dict[str, tuple[float, float]]) -> None:
    base = timings["nothing"][1]
    print(f"\n{label}: {NUM_ENVS} envs, H = 32, µs per step (median)")
    print(f"{'call before env.step':<30}{'call':>8}{'env.step':>10}{'env.step − bare':>17}")
    print("-" * 65)
    for name, (own, stepping) in timings.items():
        print(f"{name:<30}{own:>8.2f}{stepping:>10.2f}{stepping - base:>+17.2f}")
    own, stepping = timings["the whole forward pass"]
    print(f"act-and-step loop against the bare env: {base / (own + stepping):.3f}× its rate")


def child(repeats: int, seeds: int) -> None:
    print(json.dumps({"calls": time_calls(repeats), "train_s": time_training(seeds) if seeds else None}))


def run_child(extra_env: dict[str, str], repeats: int, seeds: int) -> dict:
    command = [sys.executable, __file__, "--child", "--repeats", str(repeats), "--train-seeds", str(seeds)]
    out = subprocess.run(command, env={**os.environ, **extra_env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="interleaved rounds per call")
    parser.add_argument("--no-avx512", action="store_true", help="also without AVX-512 (child processes)")
    parser.add_argument("--rounds", type=int, default=2, help="with --no-avx512: child pairs")
    parser.add_argument("--train-seeds", type=int, default=5, help="with --no-avx512: seeds trained per child")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.repeats, args.train_seeds)
        return
    if not args.no_avx512:
        print_calls("this process", time_calls(args.repeats))
        return
    for round_ in range(1, args.rounds + 1):
        for label, extra in (("AVX-512 on (numpy's and OpenBLAS's defaults)", {}), ("AVX-512 off", NO_AVX512)):
            result = run_child(extra, args.repeats, args.train_seeds)
            print_calls(f"round {round_}, {label}", result["calls"])
            print(f"actor_critic, fast preset, seeds 0–{args.train_seeds - 1}: median train {result['train_s']:.2f} s")


if __name__ == "__main__":
    main()
