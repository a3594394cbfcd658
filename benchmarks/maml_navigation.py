"""MAML vs a pretrained multi-task policy vs the goal-conditioned oracle on navigation_2d.

Finn et al. (2017), Fig. 5 (2-D navigation): the mean return on held-out goals after 0, 1, 2
and 3 inner policy-gradient steps (same step size, same K trajectories per step) of
- MAML: meta-trained with three inner steps (configs/maml_navigation.json; `--set
  maml.inner_steps=1 --maml-steps 1` for the one-step variant);
- pretrained: the same learner with inner_steps = 0 (plain multi-task policy gradient), given
  (inner steps + 1) times the outer updates so it sees the same env steps, then adapted at
  test time exactly like MAML (configs/maml_navigation_pretrained.json);
- oracle: pretrained, but the goal is in the observation (configs/maml_navigation_oracle.json).
The held-out goals come from their own root key (`EVAL_SEED`), not from the training seeds'
key tree. Prints one markdown table (mean over seeds, +- the std over seeds).

    python benchmarks/maml_navigation.py                       # CPU-sized: see --help
    python benchmarks/maml_navigation.py --updates 250 --seeds 3 --eval-tasks 40   # full
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from rich.progress import Progress

from marlax.algorithms.maml.adaptation import adaptation_returns
from marlax.algorithms.maml.trainer import MAMLTrainer
from marlax.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EVAL_SEED = 2_024_031_7
"""Root key of the held-out goals (training keys are split from run.seed)."""
ARMS = {
    "MAML": "maml_navigation.json",
    "pretrained (multi-task PG)": "maml_navigation_pretrained.json",
    "oracle (goal observed)": "maml_navigation_oracle.json",
}


def train(config_name: str, updates: int, seeds: int, overrides: list[str], progress) -> tuple:
    """(trainer, final state with S seeds, seconds) of one arm."""
    config = load_config(
        ROOT / "configs" / config_name,
        [*overrides, f"maml.num_updates={updates}"],
        num_seeds=seeds,
    )
    trainer = MAMLTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))
    task = progress.add_task(config_name, total=updates)
    started = time.perf_counter()
    done = 0
    while done < updates:
        chunk = min(10, updates - done)
        state, metrics = trainer.update(state, chunk)
        done += chunk
        score = float(np.mean(metrics["return"][:, -1]))
        progress.update(task, completed=done, description=f"{config_name} return {score:.1f}")
    jax.block_until_ready(state)
    return trainer, state, time.perf_counter() - started


def evaluate(trainer: MAMLTrainer, state, eval_tasks: int, steps: int) -> np.ndarray:
    """f32[S, steps + 1]: each seed's mean return over the held-out goals after 0..steps."""
    setup = trainer.setup
    root = jax.random.key(EVAL_SEED)
    task_key, episode_key = jax.random.split(root)
    tasks = jax.vmap(setup.env.sample_task)(jax.random.split(task_key, eval_tasks))
    episode_keys = jax.random.split(episode_key, eval_tasks)

    def _seed_curve(params):
        def _task_curve(key, task):
            return adaptation_returns(key, params, setup.inner, task, steps)

        return jax.vmap(_task_curve)(episode_keys, tasks).mean(axis=0)

    curves = [
        _seed_curve(jax.tree.map(lambda leaf, s=s: leaf[s], state.params))
        for s in range(int(state.update.shape[0]))
    ]
    return np.asarray(jnp.stack(curves))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100, help="MAML outer updates")
    parser.add_argument(
        "--maml-steps", type=int, default=3, help="MAML's training inner steps (1..3)"
    )
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--eval-tasks", type=int, default=20)
    parser.add_argument("--steps", type=int, default=3, help="inner steps at test time")
    parser.add_argument("--set", action="append", default=[], help="override for all arms")
    args = parser.parse_args()
    rows = []
    with Progress() as progress:
        for label, config_name in ARMS.items():
            # the baselines play one stage per update, MAML inner steps + 1: equal env steps
            is_maml = config_name == ARMS["MAML"]
            factor = 1 if is_maml else args.maml_steps + 1
            overrides = [*args.set, f"maml.inner_steps={args.maml_steps}"] if is_maml else args.set
            trainer, state, seconds = train(
                config_name, args.updates * factor, args.seeds, overrides, progress
            )
            label = f"MAML ({args.maml_steps} inner steps)" if is_maml else label
            curves = evaluate(trainer, state, args.eval_tasks, args.steps)
            rows.append((label, curves, seconds, args.updates * factor))
    heads = " | ".join(f"after {k}" for k in range(args.steps + 1))
    print(f"\n| arm | outer updates | {heads} | train s |")
    print("|---|---" + "|---" * (args.steps + 1) + "|---|")
    for label, curves, seconds, updates in rows:
        cells = " | ".join(
            f"{m:.1f} ± {s:.1f}" for m, s in zip(curves.mean(0), curves.std(0), strict=True)
        )
        print(f"| {label} | {updates} | {cells} | {seconds:.0f} |")
    print(f"\nseeds {args.seeds}; held-out goals {args.eval_tasks}; per-seed curves:")
    for label, curves, _, _ in rows:
        print(f"  {label}: {np.round(curves, 1).tolist()}")


if __name__ == "__main__":
    main()
