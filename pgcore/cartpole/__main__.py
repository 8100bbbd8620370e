"""Command line: ``python -m pgcore.cartpole --algo reinforce_value --seed 0 --max-steps 150000``
trains one agent, prints progress lines, then one JSON summary as its last line."""

from __future__ import annotations

import argparse
import json
import math
import sys

from pgcore.cartpole.config import ALGOS, PRESETS, preset_config
from pgcore.cartpole.policy import save_policy
from pgcore.cartpole.records import UpdateRecord
from pgcore.cartpole.training import train


def _positive_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _non_negative_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 for bad arguments, via argparse)."""
    parser = argparse.ArgumentParser(
        prog="python -m pgcore.cartpole",
        description="Train a policy-gradient agent on CartPole-v1; the last line printed is a JSON summary.",
    )
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--seed", type=_non_negative_int_arg, default=0)
    parser.add_argument("--max-steps", type=_positive_int_arg, default=200_000, help="env-step budget")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="fast")
    parser.add_argument("--max-seconds", type=float, default=0.0, help="wall-clock budget; 0 = none")
    parser.add_argument("--no-stop", action="store_true", help="keep training after solving")
    parser.add_argument("--save", metavar="PATH", help="write the trained policy (.safetensors)")
    parser.add_argument("--quiet", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    try:
        config = preset_config(
            args.preset,
            args.algo,
            args.seed,
            max_env_steps=args.max_steps,
            max_wall_seconds=args.max_seconds,
            stop_when_solved=not args.no_stop,
        )
    except ValueError as err:
        parser.error(str(err))

    last_print = -math.inf

    def progress(record: UpdateRecord) -> None:
        nonlocal last_print
        if args.quiet or record.wall_seconds - last_print < 0.5:
            return
        last_print = record.wall_seconds
        print(
            f"update {record.update:5d}  steps {record.env_steps:8d}  "
            f"avg20 {record.avg_return:6.1f}  entropy {record.entropy:.3f}  "
            f"{record.steps_per_second:8.0f} steps/s",
            flush=True,
        )

    result = train(config, callback=progress)
    if args.save:
        save_policy(result.policy, args.save)
    print(json.dumps(result.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
