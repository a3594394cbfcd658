"""Memory table: MLP / GRU / Transformer / selective SSM / S5 on POPGym Medium and MemoryChain.

    python benchmarks/memory_table.py --models mlp gru s5 --seeds 3 --json /tmp/memory.json
    python benchmarks/memory_table.py --tasks count_recall --models transformer --steps 2000000

Every cell trains `--seeds` seeds in one program (PPO's seed axis) for `--steps` env steps per
seed with the same PPO settings (`SHARED`: 128 envs, rollouts of 128 steps, 4 epochs of 2
minibatches, lr 5e-4, entropy 0.01, gamma 0.99) and the model's default core (the Transformer
with a context of 32, so two layers see 63 steps back: RepeatPrevious Medium asks for the card
31 steps back). Each final policy then plays one full episode from reset in each of the 128
envs (sampled actions, `learning.evaluate`); a random policy plays the same episodes. The table
gives the mean return over seeds with the spread (min..max) across seeds.

Self-contained: needs only the installed `marlax` (with the `popgym`/`gymnax` extras not
required: the POPGym ports are pure JAX; MemoryChain needs `gymnax`) and `configs/`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np
from rich.progress import Progress

from learning import Cell, run_cell

TASKS = {
    "repeat_previous": ("popgym_repeat_previous", ()),
    "count_recall": ("popgym_count_recall", ()),
    "autoencode": ("popgym_autoencode", ()),
    # bsuite's MemoryChain: the context bit shown at step 0 must be recalled at the last step;
    # an episode is memory_length + 1 steps, so that is the evaluation's episode length
    "memory_chain_10": (
        "gymnax_memorychain",
        ('env.params={"memory_length": 10, "max_steps": 11}',),
    ),
    "memory_chain_30": (
        "gymnax_memorychain",
        ('env.params={"memory_length": 30, "max_steps": 31}',),
    ),
}
MODELS = {
    "mlp": ("model.name=mlp", "model.core={}"),
    "gru": ("model.name=gru", "model.core={}"),
    "transformer": ("model.name=transformer", 'model.core={"context_length": 32}'),
    "ssm": ("model.name=ssm", "model.core={}"),
    "s5": ("model.name=s5", "model.core={}"),
}
SHARED = (
    "env.num_envs=128",
    "env.num_resets=16",
    "ppo.rollout_length=128",
    "ppo.num_epochs=4",
    "ppo.num_minibatches=2",
    "ppo.learning_rate=0.0005",
    "ppo.entropy_coef=0.01",
    "ppo.gamma=0.99",
)


def cell(task: str, model: str, steps: int) -> Cell:
    """The (task, model) cell at `steps` env steps per seed."""
    config, task_overrides = TASKS[task]
    return Cell(f"{task}/{model}", config, steps, (*task_overrides, *MODELS[model], *SHARED))


def _spread(values: list[float]) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} ({values.min():.3f}..{values.max():.3f})"


def markdown(rows: list[dict], models: list[str]) -> str:
    """Rows: tasks; columns: random, then each model's final return (and wall seconds)."""
    by_cell = {row["cell"]: row for row in rows}
    tasks = list(dict.fromkeys(row["cell"].split("/")[0] for row in rows))
    lines = [
        "| task | env steps / seed | random | " + " | ".join(models) + " |",
        "|---|---:|---:|" + "---:|" * len(models),
    ]
    for task in tasks:
        present = [by_cell.get(f"{task}/{model}") for model in models]
        first = next(row for row in present if row is not None)
        cells = [_spread(row["trained"]) if row else "-" for row in present]
        lines.append(
            f"| {task} | {first['env_steps']:,} | {_spread(first['random'])} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "Wall seconds per cell (all seeds, training + evaluation):",
        "",
        "| task | " + " | ".join(models) + " |",
        "|---|" + "---:|" * len(models),
    ]
    for task in tasks:
        present = [by_cell.get(f"{task}/{model}") for model in models]
        lines.append(
            f"| {task} | "
            + " | ".join(f"{row['seconds']:.0f}" if row else "-" for row in present)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--steps", type=int, default=2_000_000, help="env steps per seed")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (vmap axis)")
    parser.add_argument("--seed", type=int, default=0, help="root training seed")
    parser.add_argument("--json", default=None, help="merge result rows into this JSON file")
    parser.add_argument("--markdown", default=None, help="write the table here")
    args = parser.parse_args()

    rows: list[dict] = []
    if args.json and Path(args.json).exists():
        rows = json.loads(Path(args.json).read_text())
    cells = [cell(task, model, args.steps) for task in args.tasks for model in args.models]
    with Progress() as progress:
        bar = progress.add_task("memory table", total=len(cells))
        for chosen in cells:
            progress.update(bar, description=f"{chosen.label} ({args.steps:,} steps)")
            # budget scale 1: the cell's budget is already --steps
            new_rows = run_cell(chosen, 1.0, args.seeds, args.seed)
            rows = [row for row in rows if row["cell"] != chosen.label] + new_rows
            for row in new_rows:
                progress.console.print(
                    f"{row['cell']}: random {_spread(row['random'])} trained"
                    f" {_spread(row['trained'])} ({row['seconds']:.0f} s)"
                )
            if args.json:
                Path(args.json).write_text(json.dumps(rows, default=float))
            progress.advance(bar)
    text = (
        f"{args.seeds} seeds (root seed {args.seed}), device {jax.devices()[0].platform}.\n\n"
        + markdown(rows, [m for m in MODELS if any(r["model"] == m for r in rows)])
    )
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
