"""The reference for ``benchmarks/bench_cartpole.py``: Stable-Baselines3 PPO (and A2C) with RL
Zoo's tuned CartPole-v1 hyperparameters, on the same seeds, under the same confirmed-solve
rule as pgcore (:mod:`pgcore.cartpole.config`): when the last 20 finished training episodes
average ≥ 475 (and 20 episodes have finished since the last check), the current policy,
*sampling* its actions, plays 100 fresh episodes; solved if they average ≥ 475.
``steps to solve`` is the training env-step count at that check.

RL Zoo (github.com/DLR-RM/rl-baselines3-zoo, hyperparams/ppo.yml and a2c.yml, commit
22e3ff24), CartPole-v1:

* PPO: n_envs 8, n_timesteps 1e5, n_steps 32, batch_size 256, gae_lambda 0.8, gamma 0.98,
  n_epochs 20, ent_coef 0.0, learning_rate lin_0.001, clip_range lin_0.2 (normalize off);
  the linear schedules run over Zoo's n_timesteps (1e5), as in the Zoo.
* A2C: n_envs 8, n_timesteps 5e5, ent_coef 0.0; SB3's defaults otherwise (n_steps 5,
  RMSprop 7e-4, gamma 0.99, gae_lambda 1.0).

The check here runs as soon as the window triggers (inside a rollout, with the policy that
is acting): pgcore waits for the next update boundary, so this is, if anything, in SB3's
favour. The check's env steps are not counted. Wall seconds are measured from outside,
one process per run: they include the process start (importing torch and SB3).

**Environment** (SB3 is never installed in ``.venv`` or requirements.txt; it must not pull
another torch), once, from the repository root (or ``make bench-sb3``)::

    python3 -m venv .bench-venv                 # git-ignored
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \\
        > "$(.bench-venv/bin/python -c 'import site; print(site.getsitepackages()[0])')/main-venv.pth"
    .bench-venv/bin/pip install --no-deps stable-baselines3   # torch, gymnasium, numpy,
                                                # cloudpickle, pandas come from .venv via the .pth
    .bench-venv/bin/python -c "import torch; print(torch.__version__)"   # 2.13.0+cpu, .venv's

Run::

    .bench-venv/bin/python benchmarks/bench_sb3.py                # PPO, 10 seeds (0–9)
    .bench-venv/bin/python benchmarks/bench_sb3.py --algos ppo,a2c --seeds 0,1,2

Prints figures; asserts nothing. Runs two processes at a time (one per core of the host).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SOLVE_WINDOW, SOLVE_THRESHOLD, EVAL_EPISODES = 20, 475.0, 100  # as pgcore.cartpole.config

ZOO = {
    "ppo": dict(
        n_envs=8,
        n_timesteps=100_000,
        kwargs=dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate="lin_0.001",
            clip_range="lin_0.2",
        ),
    ),
    "a2c": dict(n_envs=8, n_timesteps=500_000, kwargs=dict(ent_coef=0.0)),
}


def linear(initial: float):
    """RL Zoo's ``lin_<x>``: x · progress_remaining (1 → 0 over n_timesteps)."""
    return lambda progress_remaining: progress_remaining * initial


def run_one(algo: str, seed: int, budget: int) -> dict:
    """One run in this process: train until the rule confirms a solve or the budget ends."""
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    spec = ZOO[algo]
    kwargs = {
        k: linear(float(v[4:])) if isinstance(v, str) and v.startswith("lin_") else v for k, v in spec["kwargs"].items()
    }
    env = make_vec_env("CartPole-v1", n_envs=spec["n_envs"], seed=seed)
    model = (PPO if algo == "ppo" else A2C)("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)

    class ConfirmedSolve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: list[float] = []
            self.at_last_check = -SOLVE_WINDOW
            self.checks = 0
            self.steps_to_solve: int | None = None
            self.eval_mean: float | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
            window = self.returns[-SOLVE_WINDOW:]
            if (
                len(window) == SOLVE_WINDOW
                and sum(window) / SOLVE_WINDOW >= SOLVE_THRESHOLD
                and len(self.returns) - self.at_last_check >= SOLVE_WINDOW
            ):
                self.at_last_check = len(self.returns)
                self.checks += 1
                self.eval_mean = evaluate(self.model, seed * 1000 + self.checks)
                if self.eval_mean >= SOLVE_THRESHOLD:
                    self.steps_to_solve = self.num_timesteps
                    return False  # stop training
            return self.num_timesteps < budget

    def evaluate(model, eval_seed: int) -> float:
        """100 fresh episodes, the policy sampling (deterministic=False), in one vector env."""
        eval_env = gym.make_vec("CartPole-v1", num_envs=EVAL_EPISODES, vectorization_mode="vector_entry_point")
        obs, _ = eval_env.reset(seed=eval_seed)
        totals = np.zeros(EVAL_EPISODES)
        running = np.ones(EVAL_EPISODES, dtype=bool)
        while running.any():
            action, _ = model.predict(obs, deterministic=False)
            obs, reward, terminated, truncated, _ = eval_env.step(action)
            totals += reward * running
            running &= ~(terminated | truncated)
        eval_env.close()
        return float(totals.mean())

    callback = ConfirmedSolve()
    # Zoo's schedules decay over its n_timesteps; a run past them would not be Zoo's.
    model.learn(total_timesteps=min(budget, spec["n_timesteps"]), callback=callback)
    return {
        "algo": algo,
        "seed": seed,
        "steps_to_solve": callback.steps_to_solve,
        "env_steps": int(model.num_timesteps),
        "checks": callback.checks,
        "eval_mean": callback.eval_mean,
    }


def timed_subprocess(algo: str, seed: int, budget: int) -> dict:
    tic = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--one", f"{algo}:{seed}", "--max-steps", str(budget)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - tic
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="10", help="count (seeds 0..n-1) or comma list")
    parser.add_argument("--algos", default="ppo", help="ppo, a2c or ppo,a2c")
    parser.add_argument("--max-steps", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # algo:seed, run in this process
    args = parser.parse_args()
    if args.one:
        algo, seed = args.one.split(":")
        print(json.dumps(run_one(algo, int(seed), args.max_steps)), flush=True)
        return
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:  # e.g. `make bench` runs every benchmark with .venv, which has no SB3
        print("bench_sb3: stable-baselines3 is not installed here; set up .bench-venv (see the docstring)")
        return
    seeds = [int(s) for s in args.seeds.split(",")] if "," in args.seeds else list(range(int(args.seeds)))
    algos = [a.strip() for a in args.algos.split(",")]
    print(f"SB3 with RL Zoo hyperparameters, seeds {seeds}, budget {args.max_steps}, confirmed-solve rule")
    header = f"{'algo':<10}{'solved':>8}{'median steps [min-max]':>28}{'worst':>9}{'wall med s':>12}{'worst s':>9}"
    print(header)
    print("-" * len(header))
    for algo in algos:
        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(timed_subprocess, [algo] * len(seeds), seeds, [args.max_steps] * len(seeds)))
        for r in results:
            print(
                f"  {algo} seed {r['seed']}: steps_to_solve {r['steps_to_solve']} checks {r['checks']} "
                f"eval {r['eval_mean']} ({r['wall']:.2f} s)",
                file=sys.stderr,
            )
        steps = [r["steps_to_solve"] if r["steps_to_solve"] is not None else args.max_steps for r in results]
        solved = sum(r["steps_to_solve"] is not None for r in results)
        walls = [r["wall"] for r in results]
        span = f"{statistics.median(steps):,.0f} [{min(steps):,}-{max(steps):,}]"
        print(
            f"{algo:<10}{f'{solved}/{len(seeds)}':>8}{span:>28}{max(steps):>9,}"
            f"{statistics.median(walls):>12.2f}{max(walls):>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
