"""Coordination inside PPO policies on simple_spread: throughput and return vs plain IPPO.

Every policy is the shipped simple_spread setting (`configs/simple_spread.json`: 64 envs x
128 steps, 4 epochs x 4 minibatches, 64-64 tanh MLP, lr 2.5e-3 annealed, independent critic)
with `model.coordination` = None ("none", plain IPPO), the consensus of
`configs/simple_spread_consensus.json` or the assignment of
`configs/simple_spread_assignment.json` (agents softly assigned to the landmarks). The
coupled policies learn on whole teams (`marlax.algorithms.ppo.teams`).

- throughput: env-steps/s of training (rollout + epochs) = B * T * U / s, the median of
  `--repeats` jitted calls of U updates after a warm-up call (compile s = the first call
  minus the median);
- learning: the per-agent episode return (marlax's `return` metric) at a fixed budget of env
  steps, one seed each, mean over the last 5% of updates; and a uniform-random team's.

    python benchmarks/coordination_in_policy.py --kinds none consensus assignment \
        --budget 1000000 --markdown benchmarks/results/coordination_in_policy.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config
from marlax.envs import make

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "none": ROOT / "configs" / "simple_spread.json",
    "consensus": ROOT / "configs" / "simple_spread_consensus.json",
    "assignment": ROOT / "configs" / "simple_spread_assignment.json",
}
FINAL_FRACTION = 0.05


def trainer_for(kind: str, num_envs: int, total_env_steps: int, log_every: int, seed: int):
    """The shipped config of `kind` at `num_envs` envs and a budget of `total_env_steps`."""
    overrides = [
        f"env.num_envs={num_envs}",
        f"ppo.total_env_steps={total_env_steps}",
        f"run.log_every={log_every}",
        f"run.checkpoint_every={log_every}",
        f"run.seed={seed}",
    ]
    return Trainer(load_config(CONFIGS[kind], overrides))


def throughput(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Env-steps/s of `args.updates`-update calls (median of `args.repeats`), compile s."""
    steps_per_call = args.num_envs * 128 * args.updates
    trainer = trainer_for(
        kind, args.num_envs, steps_per_call * (args.repeats + 1), args.updates, args.seed
    )
    state = trainer.init(jax.random.key(args.seed))
    times = []
    for _ in range(args.repeats + 1):
        start = time.perf_counter()
        state, metrics = trainer.update(state, args.updates)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    median = statistics.median(times[1:])
    return {
        "env_steps_per_s": steps_per_call / median,
        "seconds_per_update": median / args.updates,
        "compile_s": times[0] - median,
    }


def learning(kind: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Per-agent return per update over `args.budget` env steps; the final = last 5% mean."""
    steps_per_update = args.num_envs * 128
    num_updates = max(1, args.budget // steps_per_update)
    log_every = next(n for n in (25, 20, 10, 8, 5, 4, 2, 1) if num_updates % n == 0)
    trainer = trainer_for(kind, args.num_envs, num_updates * steps_per_update, log_every, args.seed)
    start = time.perf_counter()
    state = trainer.init(jax.random.key(args.seed))
    task = progress.add_task(f"learning {kind}", total=num_updates)
    curve = []
    for _ in range(num_updates // log_every):
        state, metrics = trainer.update(state)
        curve.extend(np.asarray(metrics["return"])[0].tolist())
        progress.advance(task, log_every)
    tail = max(1, int(round(num_updates * FINAL_FRACTION)))
    return {
        "final_return": float(np.nanmean(curve[-tail:])),
        "curve": curve,
        "env_steps": num_updates * steps_per_update,
        "wall_s": time.perf_counter() - start,
    }


def random_return(num_envs: int, seed: int) -> float:
    """Per-agent return of uniform-random actions over one 25-step episode, mean over envs."""
    env = make("simple_spread")
    reset_key, loop_key = jax.random.split(jax.random.key(seed))
    _, state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

    def _body(state, step_key):
        """Carries the env states; stacks the mean reward of the step."""
        action_key, env_key = jax.random.split(step_key)
        actions = jax.random.randint(action_key, (num_envs, env.num_agents), 0, 5)
        _, state, reward, _, _ = jax.vmap(env.step)(
            jax.random.split(env_key, num_envs), state, actions
        )
        return state, reward.mean()

    _, reward_t = jax.jit(lambda s: jax.lax.scan(_body, s, jax.random.split(loop_key, 25)))(state)
    return float(reward_t.sum())


def _cells(row: dict[str, Any]) -> list[str]:
    """The table cells of one policy: throughput columns, then learning columns ("-": not run)."""
    speed, learned = row.get("throughput"), row.get("learning")
    cells = ["-"] * 3
    if speed:
        cells = [
            f"{speed['env_steps_per_s']:,.0f}",
            f"{speed['seconds_per_update']:.3f}",
            f"{speed['compile_s']:.1f}",
        ]
    if learned:
        return [*cells, f"{learned['final_return']:.2f}", f"{learned['env_steps']:,}"]
    return [*cells, "-", "-"]


COLUMNS = ("policy", "env-steps/s", "s / update", "compile s", "return", "env steps")


def _table(results: dict[str, dict[str, Any]], random: float | None) -> Table:
    table = Table(title="PPO on simple_spread (3 agents): coordination inside the policy")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "policy" else "right")
    for kind, row in results.items():
        table.add_row(kind, *_cells(row))
    if random is not None:
        table.add_row("uniform random", "-", "-", "-", f"{random:.2f}", "-")
    return table


def _markdown(results: dict, random: float | None, args: argparse.Namespace) -> str:
    lines = [
        "# Coordination inside PPO policies: simple_spread, 3 agents",
        "",
        f"{args.num_envs} envs x 128 steps, U = {args.updates} updates per timed call, median of"
        f" {args.repeats}; learning: {args.budget:,} env steps, seed {args.seed}, return ="
        " per-agent episode return, mean over the last 5% of updates.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * (len(COLUMNS) - 1),
    ]
    lines += [f"| {kind} | " + " | ".join(_cells(row)) + " |" for kind, row in results.items()]
    if random is not None:
        lines.append(f"| uniform random | - | - | - | {random:.2f} | - |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--updates", type=int, default=10, help="updates per timed call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=1_000_000, help="env steps; 0: no run")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    console = Console()
    results: dict[str, dict[str, Any]] = {kind: {} for kind in args.kinds}
    with Progress(console=console, transient=True) as progress:
        for kind in args.kinds:
            if not args.skip_throughput:
                results[kind]["throughput"] = throughput(kind, args)
            if args.budget > 0:
                results[kind]["learning"] = learning(kind, args, progress)
    random = random_return(1024, args.seed) if args.budget > 0 else None
    console.print(_table(results, random))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "random": random}, indent=1))
    if args.markdown:
        args.markdown.write_text(_markdown(results, random, args))


if __name__ == "__main__":
    main()
