"""Measure CartPole training with the ``fast`` preset over several seeds (solved, median
[min–max] and worst steps to solve, wall seconds per algorithm) and the rollout throughput
of the batched collector against the bare vector env at the same number of envs and a
one-env, one-forward-per-step loop written like the articles' code.

Each run is its own process (``python -m pgcore.cartpole``), two at a time (one per core of
the 2-core host), like ``benchmarks/bench_sb3.py`` (SB3 PPO/A2C with RL Zoo's settings, the
reference of issue 14): "process s" is timed from outside and includes the process start
(importing numpy, Gymnasium, pgcore); "train s" is the run's own ``wall_seconds``.
Steps to solve follow the confirmed-solve rule (:mod:`pgcore.cartpole.config`).

    .venv/bin/python benchmarks/bench_cartpole.py              # 10 seeds, all algorithms
    .venv/bin/python benchmarks/bench_cartpole.py --quick      # 3 seeds, short throughput run
    .venv/bin/python benchmarks/bench_cartpole.py --seeds 0,4 --algos actor_critic
    .venv/bin/python benchmarks/bench_cartpole.py --torch        # acting and one update: numpy vs torch
    .venv/bin/python benchmarks/bench_cartpole.py --articles 3   # also the articles preset (slow)

Prints figures; asserts nothing. A run that does not solve within ``--max-steps`` counts
as ``--max-steps`` in the median and worst columns and is reported in the ``solved`` column.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import numpy as np

from pgcore.cartpole.config import ALGOS, preset_config
from pgcore.cartpole.training import TrainingRun


def parse_seeds(text: str) -> list[int]:
    if "," in text:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    else:
        seeds = list(range(int(text)))
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError("seeds: a count (e.g. 10) or a list (e.g. 0,3,7) of seeds >= 0")
    return seeds


def parse_algos(text: str) -> list[str]:
    algos = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [a for a in algos if a not in ALGOS]
    if not algos or unknown:
        raise argparse.ArgumentTypeError(f"algos: comma-separated subset of {', '.join(ALGOS)}")
    return algos


def batched_rollout_rate(num_envs: int, env_steps: int) -> float:
    """Env steps per second of the training loop's own collector (actor-critic rollouts).

    Counted as the bare env's are: every environment's slot in every ``env.step`` call. The
    run's own ``env_steps`` leaves out NEXT_STEP autoreset slots (not transitions); counting
    those here too makes the ratio to the bare env a ratio of times per ``env.step`` call. With
    this untrained policy (episodes of ~20 steps) the autoreset slots are ~5 % of all."""
    config = preset_config("fast", "actor_critic", 0, num_envs=num_envs, rollout_steps=256)
    run = TrainingRun(config)
    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    needs_reset = np.zeros(num_envs, dtype=bool)
    ret, length = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
    run._collect_rollout(env, obs, needs_reset, ret, length)  # warm-up
    per_rollout = config.rollout_steps * num_envs
    rollouts = max(1, env_steps // per_rollout)
    tic = time.perf_counter()
    for _ in range(rollouts):
        _, obs, needs_reset = run._collect_rollout(env, obs, needs_reset, ret, length)
    rate = rollouts * per_rollout / (time.perf_counter() - tic)
    env.close()
    run.close()
    return rate


def bare_env_rate(num_envs: int, env_steps: int) -> float:
    """Env steps per second of the vector env alone, actions drawn in advance (the ceiling)."""
    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (1024, num_envs))
    calls = max(1, env_steps // num_envs)
    tic = time.perf_counter()
    for i in range(calls):
        env.step(actions[i % 1024])
    rate = calls * num_envs / (time.perf_counter() - tic)
    env.close()
    return rate


def per_step_loop_rate(env_steps: int) -> float:
    """The articles' style: one env, one torch forward per step, torch.multinomial, .item()."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)  # benchmark-only; training never touches the global RNG
    net = torch.nn.Sequential(torch.nn.Linear(4, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
    env = gym.make("CartPole-v1")
    state, _ = env.reset(seed=0)
    tic = time.perf_counter()
    for _ in range(env_steps):
        logits = net(torch.as_tensor(state, dtype=torch.float32))
        probs = torch.softmax(logits, dim=0)
        action = torch.multinomial(probs, num_samples=1).item()
        state, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            state, _ = env.reset()
    rate = env_steps / (time.perf_counter() - tic)
    env.close()
    return rate


def best_microseconds(fn, calls: int, repeats: int = 7) -> float:
    """The fastest of ``repeats`` timings of ``calls`` calls, per call, in µs (the least disturbed)."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - tic) / calls)
    return min(times) * 1e6


def acting_timings(num_envs: int) -> dict[str, float]:
    """µs per vector step: the env, TrainingRun._act (numpy), and torch samplers on the same policy."""
    import torch
    from torch.distributions import Categorical

    from devtools.torch_reference import torch_logits, torch_params

    run = TrainingRun(preset_config("fast", "reinforce", 0, num_envs=num_envs))
    params = [p.detach() for p in torch_params(run.policy, torch.float32)]

    def twin(x: torch.Tensor) -> torch.Tensor:
        return torch_logits(params, "tanh", x)

    obs = np.random.default_rng(0).normal(0, 0.1, (num_envs, 4)).astype(np.float32)
    rng = np.random.default_rng(1)

    @torch.inference_mode()
    def torch_forward() -> np.ndarray:  # the same sampler on a torch forward
        logits = twin(torch.from_numpy(obs)).numpy()
        return (rng.random(num_envs) * (1.0 + np.exp(-(logits[:, 1] - logits[:, 0]))) < 1.0).astype(np.int64)

    @torch.inference_mode()
    def categorical_sample() -> np.ndarray:  # draws from the global torch RNG
        return Categorical(logits=twin(torch.from_numpy(obs))).sample().numpy()

    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    action = np.zeros(num_envs, dtype=np.int64)
    timings = {
        "env.step": best_microseconds(lambda: env.step(action), 20_000),
        "TrainingRun._act (numpy)": best_microseconds(lambda: run._act(obs), 20_000),
        "same sampler, torch forward": best_microseconds(torch_forward, 20_000),
        "Categorical.sample()": best_microseconds(categorical_sample, 20_000),
    }
    env.close()
    return timings


def update_timings(algo: str) -> tuple[int, float, float]:
    """(batch steps, µs per update with pgcore's numpy update, µs with the torch equivalent:
    devtools.torch_reference, float32 autograd + torch.optim.Adam on copies of the networks)."""
    import torch

    from devtools.torch_reference import torch_update

    torch.set_num_threads(1)
    run = TrainingRun(preset_config("fast", algo, 0))
    n = run.config.num_envs
    env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    if algo == "actor_critic":
        batch, _, _ = run._collect_rollout(env, obs, np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n, dtype=np.int64))
    else:
        batch = run._collect_episodes(env, obs)
    env.close()
    with_torch, _, _ = torch_update(run, batch, dtype=torch.float32)
    ours = min(best_microseconds(lambda: run._update(batch), 100) for _ in range(3))
    theirs = min(best_microseconds(with_torch, 100) for _ in range(3))
    return int(batch.valid.sum()), ours, theirs


def torch_comparison() -> None:
    """What torch would cost where pgcore uses numpy: the per-step sampler and one update; and
    what importing it costs a fresh process."""
    print("acting, µs per vector step:")
    for num_envs in (4, 8):
        timings = acting_timings(num_envs)
        print(f"  {num_envs} envs: " + ", ".join(f"{name} {us:.1f}" for name, us in timings.items()))
    print("one update (every pass over the batch), µs: pgcore numpy vs torch autograd + torch.optim.Adam")
    for algo in ("reinforce", "reinforce_value", "actor_critic"):
        steps, ours, theirs = update_timings(algo)
        print(f"  {algo:<16} {steps:>3} steps: {ours:6.0f} vs {theirs:6.0f} ({theirs / ours:.1f}×)")
    for module in ("numpy", "gymnasium", "pgcore.cartpole.training", "torch"):
        times = []
        for _ in range(5):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(out.stdout))
        print(f"  import {module} in a fresh process: {statistics.median(times):.2f} s (median of 5)")


def cli_run(preset: str, algo: str, seed: int, max_steps: int) -> dict:
    """One training in its own process; its JSON summary plus ``process_seconds`` from outside."""
    command = [sys.executable, "-m", "pgcore.cartpole", "--algo", algo, "--seed", str(seed)]
    command += ["--preset", preset, "--max-steps", str(max_steps), "--quiet"]
    tic = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    summary["process_seconds"] = time.perf_counter() - tic
    return summary


def table_row(label: str, runs: list[dict], max_steps: int) -> str:
    steps = [r["steps_to_solve"] if r["solved"] else max_steps for r in runs]
    solved = sum(r["solved"] for r in runs)
    span = f"{statistics.median(steps):,.0f} [{min(steps):,}–{max(steps):,}]"
    if solved == 0:
        span = f"none: > {max_steps:,}"
    train_s = statistics.median(r["wall_seconds"] for r in runs)
    process_s = statistics.median(r["process_seconds"] for r in runs)
    return f"{label:<24}{f'{solved}/{len(runs)}':>7}{span:>28}{max(steps):>9,}{train_s:>9.2f}{process_s:>11.2f}"


def throughput_table(quick: bool) -> None:
    """Env steps per second: the articles' per-step loop, and the batched collector against the
    bare vector env at 4 to 64 envs."""
    n_steps = 20_000 if quick else 80_000
    pairs = 3 if quick else 7
    loop_steps = 5_000 if quick else 20_000
    loop = per_step_loop_rate(loop_steps)
    print()
    print(f"env steps/s: every env's slot in every env.step call; with the policy vs bare, {pairs} pairs")
    print("run back to back (the host's speed drifts), medians shown; the ratio is the median of")
    print("the pairs' ratios")
    print(f"{'rollout':<34}{'env steps/s':>12}{'× per-step loop':>17}{'× bare env':>12}")
    print("-" * 75)
    print(f"{'per-step loop (articles style)':<34}{loop:>12,.0f}{1.0:>17.1f}")
    for num_envs in (4, 8, 16, 32, 64):
        measured = [(batched_rollout_rate(num_envs, n_steps), bare_env_rate(num_envs, n_steps)) for _ in range(pairs)]
        rate = statistics.median(r for r, _ in measured)
        bare = statistics.median(b for _, b in measured)
        ratio = statistics.median(r / b for r, b in measured)
        print(f"{f'bare vector env, {num_envs} envs':<34}{bare:>12,.0f}{bare / loop:>17.1f}{1.0:>12.2f}")
        print(f"{f'batched with policy, {num_envs} envs':<34}{rate:>12,.0f}{rate / loop:>17.1f}{ratio:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=parse_seeds, default=None, help="count or list (default 10)")
    parser.add_argument("--algos", type=parse_algos, default=list(ALGOS))
    parser.add_argument("--max-steps", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="3 seeds, short throughput runs")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--throughput", action="store_true", help="only: env steps/s, with the policy and bare")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (default 2: one per core)")
    parser.add_argument("--articles", type=int, default=0, metavar="N", help="also N seeds of the articles preset")
    parser.add_argument("--torch", action="store_true", help="only: acting and one update, numpy vs torch")
    args = parser.parse_args()
    if args.torch:
        torch_comparison()
        return
    if args.throughput:
        throughput_table(args.quick)
        return
    seeds = args.seeds if args.seeds is not None else list(range(3 if args.quick else 10))

    print(f"seeds {seeds}, budget {args.max_steps:,} env steps, {args.workers} runs at a time")
    header = (
        f"{'preset / algo':<24}{'solved':>7}{'median steps [min–max]':>28}{'worst':>9}{'train s':>9}{'process s':>11}"
    )
    print(header)
    print("-" * len(header))
    plan = [("fast", algo, seeds) for algo in args.algos]
    if args.articles:
        plan.append(("articles", "reinforce", seeds[: args.articles]))
    for preset, algo, run_seeds in plan:
        with ThreadPoolExecutor(args.workers) as pool:
            runs = list(
                pool.map(
                    cli_run,
                    [preset] * len(run_seeds),
                    [algo] * len(run_seeds),
                    run_seeds,
                    [args.max_steps] * len(run_seeds),
                )
            )
        for r in runs:
            print(
                f"  {preset} {algo} seed {r['seed']}: steps_to_solve {r['steps_to_solve']} "
                f"(checks {r['evaluations']}, eval {r['eval_mean_return']}) "
                f"train {r['wall_seconds']:.2f} s, process {r['process_seconds']:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        label = algo if preset == "fast" else "reinforce, articles*"
        print(table_row(label, runs, args.max_steps), flush=True)
    if args.articles:
        print("* the articles' own setting, kept as it is to show what does not work (not tuned)")

    if not args.no_throughput:
        throughput_table(args.quick)


if __name__ == "__main__":
    main()
