"""Discrete MADDPG (Gumbel-softmax) vs a uniform-random policy on simple_spread.

Trains MADDPG on simple_spread's 5 discrete moves with the shipped off-policy defaults
(`configs/maddpg_discrete_simple_spread.json`'s settings: 16 envs) for each seed and
estimator, then plays 256 episodes (eval key 1) greedily (legal argmax) and sampled
(Gumbel-max), beside a uniform-random policy on the same keys. Returns are the team return
(mean over agents) +- the standard error over episodes.

    python benchmarks/maddpg_discrete.py --env-steps 200000 --seeds 0 1 2
    python benchmarks/maddpg_discrete.py --env-steps 1000000 --seeds 0 --estimators straight_through

Self-contained: needs only the installed `marlax`.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.algorithms.common.policy import StatelessPolicy
from marlax.algorithms.off_policy.policy import ActorPolicy
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer, make_setup
from marlax.config.actor_critic import OffPolicyConfig
from marlax.config.schema import OptimizerConfig
from marlax.envs.registry import make
from marlax.evaluation.episodes import jitted_run_episodes

EVAL_KEY = 1
EVAL_EPISODES = 256


def mean_and_error(env, policy) -> tuple[float, float]:
    """(mean, standard error) of the team return over `EVAL_EPISODES` episodes."""
    result = jitted_run_episodes(
        jax.random.key(EVAL_KEY), env=env, policy=policy, num_episodes=EVAL_EPISODES
    )
    returns = np.asarray(result.returns)
    return float(returns.mean()), float(returns.std() / np.sqrt(returns.size))


def train_and_score(env, env_steps: int, estimator: str, seed: int) -> dict:
    """Train one seed; its greedy and sampled scores and the training seconds."""
    settings = OffPolicyConfig(total_env_steps=env_steps, gumbel_estimator=estimator)
    setup = make_setup("maddpg", env, num_envs=16, off_policy=settings, optimizer=OptimizerConfig())
    trainer = OffPolicyTrainer(setup)
    start = time.perf_counter()
    state, _ = trainer.update(trainer.init(jax.random.key(seed)), trainer.num_updates)
    jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    actor = jax.tree.map(lambda leaf: leaf[0], state.params["actor"])
    return {
        "greedy": mean_and_error(env, ActorPolicy(actor, setup.networks, env=env)),
        "sampled": mean_and_error(env, ActorPolicy(actor, setup.networks, sample=True, env=env)),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env-steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument(
        "--estimators", nargs="*", default=["soft", "straight_through"], help="gumbel_estimator"
    )
    args = parser.parse_args()
    env = make("simple_spread")
    random_policy = StatelessPolicy(
        lambda key, obs, state: env.action_space.sample(key, (env.num_agents,))
    )
    console = Console()
    rows = []
    with Progress(console=console) as progress:
        cells = [(estimator, seed) for estimator in args.estimators for seed in args.seeds]
        task = progress.add_task("train + eval", total=len(cells))
        for estimator, seed in cells:
            rows.append((estimator, seed, train_and_score(env, args.env_steps, estimator, seed)))
            progress.advance(task)
    random_mean, random_error = mean_and_error(env, random_policy)
    table = Table(title=f"discrete MADDPG on simple_spread, {args.env_steps:,} env steps")
    for column in ("estimator", "seed", "greedy", "sampled", "train s"):
        table.add_column(column)
    for estimator, seed, row in rows:
        table.add_row(
            estimator,
            str(seed),
            "{:.2f} +- {:.2f}".format(*row["greedy"]),
            "{:.2f} +- {:.2f}".format(*row["sampled"]),
            f"{row['seconds']:.0f}",
        )
    table.add_row("uniform random", "-", f"{random_mean:.2f} +- {random_error:.2f}", "-", "-")
    console.print(table)


if __name__ == "__main__":
    main()
