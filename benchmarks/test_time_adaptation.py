"""Test-time training of a PPO policy with a next-observation head, in and out of distribution.

    marlax train -c configs/ttt_spread_family.json --set run.name=ttt-spread
    python benchmarks/test_time_adaptation.py --run ttt-spread --tasks 64 --steps 5

For each regime (the training distribution, and shifts of spread_family's agent speeds it
never saw) the run adapts with each `--lrs` step size, and once with a vanishing one (1e-30:
the control, whose parameters never move). All curves use the same episode keys, so point s
of an adapted curve and of the control start the same episodes of the same tasks: the table
gives the adapted return minus the control's at each point (paired over tasks, with a 95%
bootstrap interval of the mean difference), and the next-observation error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import Progress

from marlax.evaluation.adapt_run import AdaptRequest, adapt_run
from marlax.evaluation.summary import estimate

REGIMES = {
    "trained speeds [0.5, 1.5]": {},
    "faster [2.5, 3.5]": {"speed_low": 2.5, "speed_high": 3.5},
    "slower [0.1, 0.3]": {"speed_low": 0.1, "speed_high": 0.3},
}
CONTROL_LR = 1e-30


def curve(args: argparse.Namespace, shift: dict, learning_rate: float):
    request = AdaptRequest(
        task_seed=args.task_seed,
        tasks=args.tasks,
        steps=args.steps,
        episodes=args.episodes,
        learning_rate=learning_rate,
        gradient_steps=args.gradient_steps,
        env_overrides=shift,
    )
    return adapt_run(Path(args.runs_dir), args.run, request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--gradient-steps", type=int, default=4)
    parser.add_argument("--task-seed", type=int, default=100)
    parser.add_argument("--lrs", type=float, nargs="*", default=[1e-3, 1e-2])
    args = parser.parse_args()

    lines = [
        "| regime | lr | return at step 0 | return at step "
        f"{args.steps} (control) | adapted - control at step {args.steps} [95% CI] |"
        f" next-obs error step 0 -> {args.steps} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    with Progress() as progress:
        bar = progress.add_task("test-time adaptation", total=len(REGIMES) * (1 + len(args.lrs)))
        for regime, shift in REGIMES.items():
            progress.update(bar, description=f"{regime}: control")
            control = curve(args, shift, CONTROL_LR)
            progress.advance(bar)
            for learning_rate in args.lrs:
                progress.update(bar, description=f"{regime}: lr {learning_rate:g}")
                adapted = curve(args, shift, learning_rate)
                progress.advance(bar)
                difference = estimate(adapted.returns[-1] - control.returns[-1])
                lines.append(
                    f"| {regime} | {learning_rate:g} | {adapted.returns[0].mean():.2f} |"
                    f" {adapted.returns[-1].mean():.2f} ({control.returns[-1].mean():.2f}) |"
                    f" {difference.mean:+.2f} [{difference.low:+.2f}, {difference.high:+.2f}] |"
                    f" {adapted.losses[0].mean():.3f} -> {adapted.losses[-1].mean():.3f} |"
                )
                progress.console.print(lines[-1])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
