"""The perception -> conception -> action graph agent vs plain MLP / GRU / Transformer models on
energy_flow under PPO, at equal env steps (wall-clock reported beside, including compile).

Each row trains `--seeds` seeds at once (the `run.num_seeds` vmap axis) for `--steps` env steps
per seed from its config (`configs/energy_flow*.json`, `configs/graph_energy_flow.json`: same
env, PPO settings and independent critic; only the model differs), then evaluates the final
policy (sampled actions) and a uniform-random policy on the same fresh full episodes
(`benchmarks/learning.py`'s `evaluate`). Returns are per agent, summed over the 64-step
episode; the table gives mean +- std over seeds.

    python benchmarks/graph_agent.py --steps 65536 --seeds 2 --markdown /tmp/graph_agent.md
    python benchmarks/graph_agent.py --models graph gru --steps 32768

Wall-clock depends on the machine and its load (the CPU may be shared); env-step-matched
returns do not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning import Cell, cell_config, evaluate, train  # noqa: E402

EVAL_SEED = 12345
MODELS = {
    "mlp": Cell("energy_flow_mlp", "energy_flow", 0),
    "gru": Cell("energy_flow_gru", "energy_flow_gru", 0),
    "transformer": Cell("energy_flow_transformer", "energy_flow_transformer", 0),
    "graph": Cell("graph_energy_flow", "graph_energy_flow", 0),
}


def run_model(name: str, steps: int, num_seeds: int, seed: int) -> dict:
    """Train and evaluate one model; returns its table row."""
    cell = Cell(MODELS[name].label, MODELS[name].config, steps)
    config = cell_config(cell, 1.0, num_seeds)
    start = time.perf_counter()
    trainer, state, curves = train(config, jax.random.key(seed))
    jax.block_until_ready(state.params)
    wall = time.perf_counter() - start
    keys = jax.random.split(jax.random.key(EVAL_SEED), num_seeds)
    result = evaluate(trainer, state.params, keys)
    trained = result["trained"][0].mean(axis=-1)  # f32[S]: mean over the eval episodes
    random = result["random"][0].mean(axis=-1)
    num_params = sum(leaf[0].size for leaf in jax.tree.leaves(state.params["actor"]))
    last = curves[:, -max(1, curves.shape[1] // 10) :]
    return {
        "model": name,
        "env_steps": config.ppo.total_env_steps,
        "actor_params": int(num_params),
        "trained": (float(trained.mean()), float(trained.std())),
        "random": (float(random.mean()), float(random.std())),
        "train_return_last10pct": float(np.nanmean(last)),
        "wall_s": wall,
    }


def markdown(rows: list[dict], num_seeds: int) -> str:
    """The comparison as a markdown table."""
    lines = [
        f"| model | env steps / seed | actor params | eval return (mean +- std, {num_seeds} seeds)"
        " | random | train return (last 10%) | wall-clock s (incl. compile) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        trained_mean, trained_std = row["trained"]
        lines.append(
            f"| {row['model']} | {row['env_steps']:,} | {row['actor_params']:,} | "
            f"{trained_mean:.1f} +- {trained_std:.1f} | {row['random'][0]:.1f} | "
            f"{row['train_return_last10pct']:.1f} | {row['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--steps", type=int, default=65_536, help="env steps per seed")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    rows = []
    for name in args.models:
        rows.append(run_model(name, args.steps, args.seeds, args.seed))
        print(f"{name}: {rows[-1]}", flush=True)
    table = markdown(rows, args.seeds)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
