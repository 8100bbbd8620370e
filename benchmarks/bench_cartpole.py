"""Measure CartPole training with the ``fast`` preset over several seeds (median and worst
steps-to-solve and wall seconds per algorithm) and the rollout throughput of the batched
collector against a one-env, one-forward-per-step loop written like the articles' code.

    .venv/bin/python benchmarks/bench_cartpole.py              # 10 seeds, all algorithms
    .venv/bin/python benchmarks/bench_cartpole.py --quick      # 3 seeds, short throughput run
    .venv/bin/python benchmarks/bench_cartpole.py --seeds 0,4 --algos actor_critic
    .venv/bin/python benchmarks/bench_cartpole.py --categorical  # the sampler and losses vs Categorical

Prints figures; asserts nothing. A run that does not solve within ``--max-steps`` counts
as ``--max-steps`` in the worst column and is reported in the ``solved`` column.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import gymnasium as gym
import numpy as np
import torch

from pgcore.cartpole import training
from pgcore.cartpole.config import ALGOS, preset_config
from pgcore.cartpole.training import TrainingRun, train


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
    """Env steps per second of the training loop's own collector (actor-critic rollouts)."""
    config = preset_config("fast", "actor_critic", 0, num_envs=num_envs, rollout_steps=256)
    run = TrainingRun(config)
    torch.set_num_threads(1)
    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    needs_reset = np.zeros(num_envs, dtype=bool)
    ret, length = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
    run._collect_rollout(env, obs, needs_reset, ret, length)  # warm-up
    start_steps = run.env_steps
    tic = time.perf_counter()
    while run.env_steps - start_steps < env_steps:
        _, obs, needs_reset = run._collect_rollout(env, obs, needs_reset, ret, length)
    rate = (run.env_steps - start_steps) / (time.perf_counter() - tic)
    env.close()
    run.close()
    return rate


def per_step_loop_rate(env_steps: int) -> float:
    """The articles' style: one env, one forward per step, torch.multinomial, .item()."""
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
    """µs per vector step: the env, TrainingRun._act, and two Categorical samplers."""
    from torch.distributions import Categorical

    run = TrainingRun(preset_config("fast", "reinforce", 0, num_envs=num_envs))
    obs = np.random.default_rng(0).normal(0, 0.1, (num_envs, 4)).astype(np.float32)
    rng = np.random.default_rng(1)

    @torch.inference_mode()
    def categorical_probs() -> np.ndarray:  # same numpy u, probabilities from Categorical
        p = Categorical(logits=run.policy(torch.from_numpy(obs))).probs.numpy()
        return (rng.random(num_envs) < p[:, 1]).astype(np.int64)

    @torch.inference_mode()
    def categorical_sample() -> np.ndarray:  # draws from the global torch RNG
        return Categorical(logits=run.policy(torch.from_numpy(obs))).sample().numpy()

    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    action = np.zeros(num_envs, dtype=np.int64)
    timings = {
        "env.step": best_microseconds(lambda: env.step(action), 20_000),
        "TrainingRun._act": best_microseconds(lambda: run._act(obs), 20_000),
        "Categorical(logits).probs + numpy u": best_microseconds(categorical_probs, 20_000),
        "Categorical.sample()": best_microseconds(categorical_sample, 20_000),
    }
    env.close()
    return timings


def update_timings(algo: str) -> tuple[int, float, float]:
    """(batch steps, µs per update with core.policy_loss, µs with a Categorical policy loss)."""
    from torch.distributions import Categorical

    def categorical_loss(logits, actions, weights, entropy_coef):
        dist = Categorical(logits=logits)
        entropy = dist.entropy().mean()
        return -(weights * dist.log_prob(actions)).mean() - entropy_coef * entropy, entropy

    run = TrainingRun(preset_config("fast", algo, 0))
    n = run.config.num_envs
    env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    if algo == "actor_critic":
        batch, _, _ = run._collect_rollout(env, obs, np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n, dtype=np.int64))
    else:
        batch = run._collect_episodes(env, obs)
    env.close()
    plain = training.policy_loss
    timings = []
    try:
        for loss in (plain, categorical_loss):
            training.policy_loss = loss
            timings.append(min(best_microseconds(lambda: run._update(batch), 200) for _ in range(3)))
    finally:
        training.policy_loss = plain
    return int(batch.valid.sum()), timings[0], timings[1]


def categorical_comparison() -> None:
    """What torch.distributions.Categorical would cost where pgcore does without it: the
    per-step sampler (TrainingRun._act) and the losses of one update (core.policy_loss)."""
    torch.set_num_threads(1)
    print("acting, µs per vector step:")
    for num_envs in (4, 8):
        timings = acting_timings(num_envs)
        print(f"  {num_envs} envs: " + ", ".join(f"{name} {us:.1f}" for name, us in timings.items()))
    print("one update, µs: policy_loss with log_softmax vs with Categorical")
    for algo in ("reinforce", "reinforce_value", "actor_critic"):
        steps, plain, categorical = update_timings(algo)
        print(f"  {algo:<16} {steps:>3} steps: {plain:6.0f} vs {categorical:6.0f} ({categorical / plain - 1:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=parse_seeds, default=None, help="count or list (default 10)")
    parser.add_argument("--algos", type=parse_algos, default=list(ALGOS))
    parser.add_argument("--max-steps", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="3 seeds, short throughput runs")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--categorical", action="store_true", help="only: the sampler and losses vs Categorical")
    args = parser.parse_args()
    if args.categorical:
        categorical_comparison()
        return
    seeds = args.seeds if args.seeds is not None else list(range(3 if args.quick else 10))

    print(f"fast preset, seeds {seeds}, budget {args.max_steps} env steps, torch threads 1")
    header = f"{'algo':<20}{'solved':>8}{'median steps':>14}{'worst steps':>13}{'median s':>10}{'worst s':>9}"
    print(header)
    print("-" * len(header))
    for algo in args.algos:
        steps, seconds = [], []
        for seed in seeds:
            result = train(preset_config("fast", algo, seed, max_env_steps=args.max_steps))
            steps.append(result.steps_to_solve if result.solved else args.max_steps)
            seconds.append(result.wall_seconds)
            print(
                f"  {algo} seed {seed}: steps_to_solve {result.steps_to_solve} ({result.wall_seconds:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
        solved = sum(s < args.max_steps for s in steps)
        print(
            f"{algo:<20}{f'{solved}/{len(seeds)}':>8}{statistics.median(steps):>14,.0f}"
            f"{max(steps):>13,}{statistics.median(seconds):>10.2f}{max(seconds):>9.2f}",
            flush=True,
        )

    if not args.no_throughput:
        n_steps = 50_000 if args.quick else 400_000
        loop_steps = 5_000 if args.quick else 20_000
        loop = per_step_loop_rate(loop_steps)
        print()
        print(f"{'rollout':<34}{'env steps/s':>12}{'× per-step loop':>17}")
        print("-" * 63)
        print(f"{'per-step loop (articles style)':<34}{loop:>12,.0f}{1.0:>17.1f}")
        for num_envs in (4, 8, 16, 32, 64):
            rate = batched_rollout_rate(num_envs, n_steps)
            print(f"{f'batched, {num_envs} envs':<34}{rate:>12,.0f}{rate / loop:>17.1f}")


if __name__ == "__main__":
    main()
