"""ES (evosax, `algorithm = "es"`) vs PPO on simple_spread and nback at equal env steps.

Each cell trains `--seeds` seeds at once (the `run.num_seeds` vmap axis) of a shipped config
for `--env-steps` env steps (PPO: `ppo.total_env_steps`; ES: `es.total_env_steps`, counting
every member's episodes and the mean's), then plays each seed's final deployed policy (ES: the
distribution mean; PPO: the actor) greedily (mode of its action distribution) on the same
`--episodes` fresh episodes from reset (one key for every cell). A return is the episode sum
of rewards averaged over the agents (the trainer's `return` metric); the table gives mean +-
std over seeds, and the wall time of training (compile included; noisy on a shared machine).

    python benchmarks/es_vs_ppo.py --env-steps 1000000 --seeds 2 --markdown /tmp/es_vs_ppo.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

from marlax.algorithms.es.episodes import Player, episode_returns
from marlax.algorithms.es.solution import PolicySolution
from marlax.algorithms.es.trainer import ESTrainer
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CELLS = (
    ("simple_spread", "es", "es_simple_spread"),
    ("simple_spread", "ppo", "simple_spread"),
    ("nback", "es", "es_nback"),
    ("nback", "ppo", "nback"),
)
EVAL_SEED = 12345
MAX_CALL = 50


def _train(learner: str, config_name: str, env_steps: int, seeds: int):
    """(trainer, final state, actor params per seed, wall seconds)."""
    budget = f"{learner}.total_env_steps={env_steps}"
    config = load_config(CONFIG_DIR / f"{config_name}.json", [budget], num_seeds=seeds)
    started = time.perf_counter()
    trainer = ESTrainer(config) if learner == "es" else Trainer(config)
    state = trainer.init(jax.random.key(config.run.seed))
    done = 0
    while done < trainer.num_updates:
        count = min(MAX_CALL, trainer.num_updates - done)
        state, _ = trainer.update(state, count)
        done += count
    jax.block_until_ready(state)
    wall = time.perf_counter() - started
    if learner == "es":
        solution = trainer.setup.player.solution
        flats = trainer.deployed(state)
        actors = [solution.actor_params(flats[seed]) for seed in range(seeds)]
        return trainer.setup.networks.actor, trainer.setup.player.layout, actors, wall, done
    actors = [
        jax.tree.map(lambda leaf, s=seed: leaf[s], state.params["actor"]) for seed in range(seeds)
    ]
    return trainer.networks.actor, trainer.layout, actors, wall, done


def _evaluate(actor, layout, actor_params, episodes: int) -> float:
    player = Player(actor, layout, PolicySolution.of(actor_params), episodes)
    returns = jax.jit(lambda key, params: episode_returns(key, params, player))(
        jax.random.key(EVAL_SEED), actor_params
    )
    return float(returns.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--cells", nargs="*", default=None, help="e.g. simple_spread:es")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    lines = [
        f"env steps per seed: {args.env_steps:,}; seeds: {args.seeds}; "
        f"greedy evaluation on {args.episodes} episodes",
        "",
        "| env | learner | config | updates | final return (mean +- std over seeds) | wall s |",
        "|---|---|---|---:|---:|---:|",
    ]
    for env_name, learner, config_name in CELLS:
        if args.cells and f"{env_name}:{learner}" not in args.cells:
            continue
        actor, layout, actors, wall, updates = _train(
            learner, config_name, args.env_steps, args.seeds
        )
        returns = np.array([_evaluate(actor, layout, p, args.episodes) for p in actors])
        row = (
            f"| {env_name} | {learner} | configs/{config_name}.json | {updates} | "
            f"{returns.mean():.2f} +- {returns.std():.2f} | {wall:.0f} |"
        )
        lines.append(row)
        print(row, flush=True)
    print("\n".join(lines))
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
